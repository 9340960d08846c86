package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/internal/pgtest"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// cutProxy forwards TCP connections to a server until cut: then it
// closes every connection and refuses new ones, as a database that went
// away would, until healed.
type cutProxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// viaProxy is dbURL with its host replaced by the proxy's.
func (p *cutProxy) viaProxy(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		p.t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

func readyz(t *testing.T, base string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var status map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&status); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, status
}

// TestQueueEngineDown: with the queue's PostgreSQL database out of reach,
// a delivery is answered 503 (never 202: nothing was committed) within
// seconds and /readyz turns unready; the process keeps running, and once
// the database is back it accepts and checks deliveries again without a
// restart.
func TestQueueEngineDown(t *testing.T) {
	dbURL := pgtest.Scratch(t)
	u, _ := url.Parse(dbURL)
	proxy := newCutProxy(t, u.Host)
	e := newEnv(t, func(c *Config) { c.QueueDataDir, c.QueueDatabaseURL = "", proxy.viaProxy(dbURL) })

	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	waitUntil(t, "the first check", 30*time.Second, e.logs.String, func() bool { _, ok := completedRun(e.f, e.repo, pr.HeadSHA); return ok })
	if code, status := readyz(t, e.ts.URL); status["queue"] != "open" {
		t.Fatalf("readyz before the outage: %d %v", code, status)
	}

	proxy.setCut(true)
	pr2, opened2 := e.openPR("add", map[string]string{"db/migrations/003_add.sql": "ALTER TABLE users ADD COLUMN note text;\n"})
	start := time.Now()
	e.deliver(opened2, http.StatusServiceUnavailable)
	if took := time.Since(start); took > 3*engineTimeout {
		t.Errorf("the 503 took %s", took)
	}
	if code, status := readyz(t, e.ts.URL); code != http.StatusServiceUnavailable || status["queue"] == "open" {
		t.Errorf("readyz during the outage: %d %v", code, status)
	}
	if len(e.f.CheckRuns(e.repo, pr2.HeadSHA)) != 0 {
		t.Fatal("a delivery refused with 503 was processed")
	}

	proxy.setCut(false)
	// GitHub's redelivery carries the same id: it is accepted now.
	waitUntil(t, "the redelivery accepted", 30*time.Second, e.logs.String, func() bool {
		code, err := e.f.Deliver(opened2)
		return err == nil && code == http.StatusAccepted
	})
	waitUntil(t, "the check after the outage", 60*time.Second, e.logs.String, func() bool { _, ok := completedRun(e.f, e.repo, pr2.HeadSHA); return ok })
	if run, _ := completedRun(e.f, e.repo, pr2.HeadSHA); run.Conclusion != "success" {
		t.Errorf("after the outage: %s", run.Conclusion)
	}
	if code, status := readyz(t, e.ts.URL); status["queue"] != "open" {
		t.Errorf("readyz after the outage: %d %v", code, status)
	}
}

// TestShutdownHandsJobBack: on the durable queue, a job that would
// outlive the shutdown deadline goes back to the queue with its check run
// left in progress; the next process on the same queue runs it again and
// takes that run over: one run on the head, completed.
func TestShutdownHandsJobBack(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, func(c *Config) { c.QueueDataDir = dir })
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.f.FailNext("git/get-tree", githubfake.Slow(5*time.Second), 1)
	e.deliver(opened, http.StatusAccepted)
	e.waitFor("the job to start", func() bool { return len(e.ourRuns(pr.HeadSHA)) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
	if run := e.onlyRun(pr.HeadSHA); run.Status == "completed" {
		t.Fatalf("the job handed back closed its run: %s %q", run.Conclusion, run.Output.Summary)
	}
	if !strings.Contains(e.logs.String(), `"outcome":"handed_back"`) {
		t.Fatalf("no job handed back:\n%s", e.logs)
	}

	cfg := Config{
		AppID: e.f.App().ID, PrivateKey: e.f.PrivateKeyPEM(), WebhookSecret: e.f.WebhookSecret(), APIURL: e.f.URL(),
		Limits: Limits{WriteInterval: -1, RetryBaseDelay: 10 * time.Millisecond}, JobTimeout: time.Minute,
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil)), QueueDataDir: dir,
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	newTestServer(t, srv)
	waitUntil(t, "the job handed back to run again", 30*time.Second, e.logs.String, func() bool { _, ok := completedRun(e.f, e.repo, pr.HeadSHA); return ok })
	run := e.onlyRun(pr.HeadSHA)
	if run.Conclusion != "action_required" {
		t.Errorf("after the restart: %s/%s", run.Status, run.Conclusion)
	}
}

// TestLeaseLostHandsJobBack: when the session holding a running job's
// lease fails (the database cut off), the runner's heartbeat stops the
// job and hands it back, writing nothing more, before the lock could pass
// to another runner; once the database is back the job runs again and
// takes its check run over: one run, completed with the real verdict.
func TestLeaseLostHandsJobBack(t *testing.T) {
	dbURL := pgtest.Scratch(t)
	u, _ := url.Parse(dbURL)
	proxy := newCutProxy(t, u.Host)
	e := newEnv(t, func(c *Config) { c.QueueDataDir, c.QueueDatabaseURL = "", proxy.viaProxy(dbURL) })
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	fault, reached := githubfake.Hold(release)
	e.f.FailNext("git/get-tree", fault, 1)
	pr, d := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(d, http.StatusAccepted)
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		t.Fatalf("the job did not reach its tree\n%s", e.logs)
	}
	// The server ends a session whose peer vanished within seconds.
	q := e.srv.queue.(*durableQueue)
	for name, want := range keepaliveParams {
		got := ""
		riverQuery(t, q, "SHOW "+name, func(scan func(...any) error) error { return scan(&got) })
		if got != want {
			t.Errorf("%s = %q on the queue's sessions, want %s", name, got, want)
		}
	}
	proxy.setCut(true)
	e.waitFor("the job to stop on its lost lease", func() bool {
		return strings.Contains(e.logs.String(), `"outcome":"handed_back"`)
	})
	if run := e.onlyRun(pr.HeadSHA); run.Status == "completed" {
		t.Fatalf("the job that lost its lease closed its run: %s", run.Conclusion)
	}
	proxy.setCut(false)
	waitUntil(t, "the job run again", 60*time.Second, e.logs.String, func() bool { _, ok := completedRun(e.f, e.repo, pr.HeadSHA); return ok })
	if run := e.onlyRun(pr.HeadSHA); run.Conclusion != "action_required" {
		t.Errorf("after the rescue: %s/%s", run.Status, run.Conclusion)
	}
	// The job's row went back to waiting (its closing write came through
	// once the database was back) or stayed running (the rescue ran it as
	// cut short): either way it ran again, in the one run.
	if logs := e.logs.String(); !strings.Contains(logs, "lease of its pull request was lost") {
		t.Errorf("the logs do not say the lease was lost:\n%s", logs)
	}
}
