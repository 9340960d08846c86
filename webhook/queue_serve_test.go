package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// waitUntil polls cond (a check run completed, say) until it holds; the
// deadline only ends a test that hangs.
func waitUntil(t *testing.T, what string, limit time.Duration, logs func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s\n%s", what, limit, logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// completedRun is the App's completed check run on sha, if any.
func completedRun(f *githubfake.Fake, repo *githubfake.Repo, sha string) (githubfake.CheckRun, bool) {
	for _, r := range f.CheckRuns(repo, sha) {
		if r.App.ID == f.App().ID && r.Status == "completed" {
			return r, true
		}
	}
	return githubfake.CheckRun{}, false
}

// TestQueueSurvivesKill: the default queue (River on a SQLite file in
// QUEUE_DATA_DIR) keeps a delivery answered 202 and not yet processed
// when the process is killed with SIGKILL; the next process on the same
// directory runs it. One worker is held on a first pull request, so the
// second pull request's job is accepted and still waiting at the kill.
func TestQueueSurvivesKill(t *testing.T) {
	f := githubfake.New(t)
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	author := f.AddUser("alice")
	f.SetRole(repo, author, "write")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	dir := t.TempDir()
	env := []string{"SETUP_OUTPUT_PATH=", "WORKERS=1", "QUEUE_DATA_DIR=" + dir, "RECONCILE_ON_START=false"}
	p := startProcess(t, f, env...)

	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	fault, reached := githubfake.Hold(release)
	f.FailNext("pulls/get", fault, 1)
	repo.CommitOn("first", map[string]string{"db/migrations/002_a.sql": dropLegacy})
	_, first := f.OpenPR(repo, githubfake.PROptions{Author: author, Head: "first"})
	if code, err := f.Deliver(first); err != nil || code != http.StatusAccepted {
		t.Fatalf("first delivery: %d %v", code, err)
	}
	<-reached
	repo.CommitOn("second", map[string]string{"db/migrations/003_b.sql": "ALTER TABLE users ADD COLUMN note text;\n"})
	second, d := f.OpenPR(repo, githubfake.PROptions{Author: author, Head: "second"})
	if code, err := f.Deliver(d); err != nil || code != http.StatusAccepted || !strings.HasPrefix(d.ResponseBody, "queued") {
		t.Fatalf("second delivery: %d %v %q", code, err, d.ResponseBody)
	}
	if n := p.Metric("migration_guard_queue_jobs", `state="waiting"`); n != 1 {
		t.Fatalf("%v jobs waiting before the kill, want the second pull request's", n)
	}
	p.Kill()
	if len(f.CheckRuns(repo, second.HeadSHA)) != 0 {
		t.Fatal("the second pull request was processed before the kill: the test proves nothing")
	}

	// A second process may not open the same directory while one runs.
	p = startProcess(t, f, env...)
	waitUntil(t, "the second pull request's check after the restart", 30*time.Second, p.Logs.String, func() bool {
		_, ok := completedRun(f, repo, second.HeadSHA)
		return ok
	})
	run, _ := completedRun(f, repo, second.HeadSHA)
	if run.Conclusion != "success" {
		t.Errorf("second pull request: %s, want success", run.Conclusion)
	}
	if !strings.Contains(p.Logs.String(), d.GUID) {
		t.Errorf("the restarted process does not name the delivery it ran:\n%s", p.Logs)
	}
}

// TestQueueDirOwnedByOneProcess: a second process on the same
// QUEUE_DATA_DIR fails at once, naming the directory, and the first keeps
// serving.
func TestQueueDirOwnedByOneProcess(t *testing.T) {
	f := githubfake.New(t)
	dir := t.TempDir()
	p := startProcess(t, f, "QUEUE_DATA_DIR="+dir)
	out, err := runServe(t, f, "QUEUE_DATA_DIR="+dir)
	if err == nil || !strings.Contains(out, "QUEUE_DATA_DIR "+dir+" is in use by another migration-guard process") {
		t.Fatalf("second process: %v\n%s", err, out)
	}
	resp, err := http.Get(p.Base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var status map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&status); err != nil {
		t.Fatal(err)
	}
	if status["queue"] != "open" {
		t.Errorf("readyz of the first process: %v", status)
	}
}

// runServe runs serve as the fake's App until it exits (within 20s) and
// returns what it wrote to standard error.
func runServe(t *testing.T, f *githubfake.Fake, env ...string) (string, error) {
	t.Helper()
	keyPath := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyPath, f.PrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, servedBinary(t), "serve")
	cmd.Env = append(os.Environ(), "GITHUB_APP_ID="+strconv.FormatInt(f.App().ID, 10), "GITHUB_PRIVATE_KEY_PATH="+keyPath,
		"GITHUB_PRIVATE_KEY=", "GITHUB_WEBHOOK_SECRET="+f.WebhookSecret(), "GITHUB_API_URL="+f.URL(), "LISTEN_ADDR=127.0.0.1:0", "SETUP_OUTPUT_PATH=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
