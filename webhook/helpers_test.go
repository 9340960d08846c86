package webhook

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// syncBuffer collects log lines written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is the App served in-process against the fake GitHub: a repository
// with a users table on main, the App installed.
type env struct {
	t      *testing.T
	f      *githubfake.Fake
	srv    *Server
	ts     *httptest.Server
	repo   *githubfake.Repo
	inst   *githubfake.Installation
	author *githubfake.User
	logs   *syncBuffer
}

const usersTable = "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  email text NOT NULL,\n  legacy text\n);\n"

func newEnv(t *testing.T, tune func(*Config), opts ...githubfake.Option) *env {
	t.Helper()
	f := githubfake.New(t, opts...)
	repo := f.AddRepo("acme/billing")
	inst := f.Install("acme", repo)
	author := f.AddUser("alice")
	f.SetRole(repo, author, "write")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	logs := &syncBuffer{}
	cfg := Config{
		AppID:         f.App().ID,
		PrivateKey:    f.PrivateKeyPEM(),
		WebhookSecret: f.WebhookSecret(),
		APIURL:        f.URL(),
		Workers:       4,
		Limits:        Limits{WriteInterval: -1, RetryBaseDelay: 10 * time.Millisecond, SecondaryMinWait: 200 * time.Millisecond},
		JobTimeout:    time.Minute,
		Logger: slog.New(NewRedactingHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
			f.WebhookSecret(), string(f.PrivateKeyPEM()))),
	}
	// MIGRATION_GUARD_TEST_QUEUE=sqlite runs the in-process tests on the
	// served App's queue (River on SQLite) instead of the memory queue.
	if os.Getenv("MIGRATION_GUARD_TEST_QUEUE") == "sqlite" {
		cfg.QueueDataDir = t.TempDir()
	}
	if tune != nil {
		tune(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	f.SetWebhookURL(ts.URL + "/webhook")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return &env{t: t, f: f, srv: srv, ts: ts, repo: repo, inst: inst, author: author, logs: logs}
}

// deliver sends d and expects status.
func (e *env) deliver(d *githubfake.Delivery, status int, opts ...githubfake.DeliveryOption) {
	e.t.Helper()
	got, err := e.f.Deliver(d, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	if got != status {
		e.t.Fatalf("delivering %s.%s: status %d, want %d (%s)", d.Event, d.Action, got, status, d.ResponseBody)
	}
}

// wait blocks until no job waits or runs.
func (e *env) wait() {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !e.srv.queue.idle() {
		if time.Now().After(deadline) {
			e.t.Fatalf("jobs still running after 30s; logs:\n%s", e.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openPR commits files on a branch and opens a pull request from it.
func (e *env) openPR(branch string, files map[string]string) (*githubfake.PullRequest, *githubfake.Delivery) {
	e.repo.CommitOn(branch, files)
	return e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: branch})
}

// ourRuns are the App's check runs on sha.
func (e *env) ourRuns(sha string) []githubfake.CheckRun {
	var out []githubfake.CheckRun
	for _, r := range e.f.CheckRuns(e.repo, sha) {
		if r.App.ID == e.f.App().ID && r.Name == checklist.CheckRunName {
			out = append(out, r)
		}
	}
	return out
}

// onlyRun is the one check run of the App on sha.
func (e *env) onlyRun(sha string) githubfake.CheckRun {
	e.t.Helper()
	runs := e.ourRuns(sha)
	if len(runs) != 1 {
		e.t.Fatalf("%d check runs on %s, want 1; logs:\n%s", len(runs), sha, e.logs.String())
	}
	return runs[0]
}

func (e *env) stickies(pr *githubfake.PullRequest) []githubfake.IssueComment {
	var out []githubfake.IssueComment
	for _, c := range e.f.IssueComments(pr) {
		if checklist.IsStickyComment(c.Body) {
			out = append(out, c)
		}
	}
	return out
}

// writes counts the mutations by operation id.
func writes(ms []githubfake.Mutation) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		out[m.OperationID]++
	}
	return out
}

func newTestServer(t *testing.T, srv *Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return ts
}

func newIssueComment(body string) *github.IssueComment { return &github.IssueComment{Body: &body} }

func (t *etagTransport) hitCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hits
}

// waitFor polls cond for up to 10s.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("waited 10s for %s; logs:\n%s", what, e.logs.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}
