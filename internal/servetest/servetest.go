// Package servetest runs the real `migration-guard serve` binary against the
// fake GitHub for end-to-end tests: the program as it runs in production,
// driven only through its environment, its HTTP endpoints and signals.
package servetest

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// Buffer collects a process's output; safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Process is one run of `migration-guard serve`.
type Process struct {
	// Base is the server's URL, http://127.0.0.1:PORT.
	Base string
	// Logs holds what it wrote to standard error.
	Logs   *Buffer
	t      testing.TB
	cmd    *exec.Cmd
	exited chan error
}

// Start runs binary serve as the fake's App, talking to GitHub at apiURL
// (the fake's URL, or a proxy in front of it), with env added to its
// environment, points the fake's webhooks at it, and returns once /healthz
// answers. The process is stopped when the test ends.
func Start(t testing.TB, binary string, f *githubfake.Fake, apiURL string, env ...string) *Process {
	t.Helper()
	keyPath := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyPath, f.PrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &Process{t: t, Base: "http://" + addr, Logs: &Buffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(binary, "serve")
	p.cmd.Env = append(os.Environ(),
		"GITHUB_APP_ID="+strconv.FormatInt(f.App().ID, 10),
		"GITHUB_PRIVATE_KEY_PATH="+keyPath,
		"GITHUB_PRIVATE_KEY=",
		"GITHUB_WEBHOOK_SECRET="+f.WebhookSecret(),
		"GITHUB_API_URL="+apiURL,
		"LISTEN_ADDR="+addr,
		"WRITE_INTERVAL=0",
		"RETRY_BASE_DELAY=10ms",
	)
	// The default queue's file, unless the test names its queue: a
	// restart that should find it passes the same QUEUE_DATA_DIR again.
	named := false
	for _, e := range env {
		named = named || strings.HasPrefix(e, "QUEUE_DATA_DIR=") || strings.HasPrefix(e, "QUEUE_DATABASE_URL=")
	}
	if !named {
		p.cmd.Env = append(p.cmd.Env, "QUEUE_DATA_DIR="+t.TempDir())
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stderr = p.Logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(p.Stop)
	f.SetWebhookURL(p.Base + "/webhook")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(p.Base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.exited:
			t.Fatalf("serve exited: %v\n%s", err, p.Logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not healthy after 20s:\n%s", p.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop sends SIGTERM and expects a clean exit (graceful shutdown).
func (p *Process) Stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Errorf("serve exited with %v after SIGTERM:\n%s", err, p.Logs)
		}
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		p.t.Errorf("serve did not stop on SIGTERM")
	}
}

// Kill sends SIGKILL, as a crash or an OOM kill would, and waits for the
// process to be gone: nothing of it runs its shutdown.
func (p *Process) Kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.t.Errorf("serve did not die on SIGKILL")
	}
}

// Metric sums the samples of a Prometheus metric whose line contains match
// ("" for all of them).
func (p *Process) Metric(name, match string) float64 {
	resp, err := http.Get(p.Base + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if match != "" && !strings.Contains(line, match) {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			v, _ := strconv.ParseFloat(line[i+1:], 64)
			sum += v
		}
	}
	return sum
}
