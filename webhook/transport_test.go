package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

func TestRouteTemplates(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/app", "/app"},
		{"/app/installations/12/access_tokens", "/app/installations/{installation_id}/access_tokens"},
		{"/repos/acme/billing/pulls/7", "/repos/{owner}/{repo}/pulls/{pull_number}"},
		{"/repos/acme/billing/pulls/7/files", "/repos/{owner}/{repo}/pulls/{pull_number}/files"},
		{"/repos/acme/billing/pulls/comments/99", "/repos/{owner}/{repo}/pulls/comments/{comment_id}"},
		{"/repos/acme/billing/pulls/7/comments", "/repos/{owner}/{repo}/pulls/{pull_number}/comments"},
		{"/repos/acme/billing/contents/.github/migration-guard.yml", "/repos/{owner}/{repo}/contents/{path...}"},
		{"/repos/acme/billing/git/trees/abc", "/repos/{owner}/{repo}/git/trees/{tree_sha}"},
		{"/repos/acme/billing/commits/abc/check-runs", "/repos/{owner}/{repo}/commits/{ref}/check-runs"},
		{"/repos/acme/billing/issues/comments/5", "/repos/{owner}/{repo}/issues/comments/{comment_id}"},
		{"/repos/acme/billing/secret-scanning/alerts", "other"},
		{"/", "other"},
	}
	for _, tt := range tests {
		if got := routeOf(tt.path); got != tt.want {
			t.Errorf("routeOf(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestRedaction(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil), "hook-secret-value", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtopsecretline\n-----END RSA PRIVATE KEY-----\n"))
	tests := []struct {
		name, in string
		leak     string
	}{
		{"installation token", "token ghs_16C7e42F292c6912E7710c838347Ae178B4a in a URL", "ghs_16C7e42F"},
		{"personal token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "11ABCDEFG"},
		{"jwt", "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIxMjMifQ.c2lnbmF0dXJl", "eyJhbGciOi"},
		{"webhook secret", "secret is hook-secret-value!", "hook-secret-value"},
		{"key line", "oops MIIEowIBAAKCAQEAtopsecretline", "topsecret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			log.Info(tt.in, "error", io.ErrUnexpectedEOF, "detail", tt.in, "list", []string{"ok", tt.in}, slog.Group("g", "nested", tt.in))
			if strings.Contains(buf.String(), tt.leak) {
				t.Errorf("leaked: %s", buf.String())
			}
			if !strings.Contains(buf.String(), redacted) {
				t.Errorf("nothing redacted: %s", buf.String())
			}
		})
	}
	buf.Reset()
	log.Info("ordinary", "word", "eyJ", "sha", "0123456789abcdef")
	if strings.Contains(buf.String(), redacted) {
		t.Errorf("over-redacted: %s", buf.String())
	}
}

// TestWriteSpacing: writes of one installation are spaced; reads are not.
func TestWriteSpacing(t *testing.T) {
	const interval = 40 * time.Millisecond
	var mu sync.Mutex
	var writes, slots []time.Time
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		if r.Method != http.MethodGet {
			writes = append(writes, time.Now())
		}
		mu.Unlock()
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
	})
	lt := &limitTransport{next: next, limits: Limits{WriteInterval: interval}.withDefaults(), state: &rateState{}, metrics: newMetrics(), log: slog.New(slog.DiscardHandler),
		slotReserved: func(s time.Time) { mu.Lock(); slots = append(slots, s); mu.Unlock() }}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, "https://api.example/repos/o/r/issues/1/comments", strings.NewReader(`{"body":"x"}`))
			resp, err := lt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, "https://api.example/repos/o/r", nil)
			resp, err := lt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if len(writes) != 4 || len(slots) != 4 {
		t.Fatalf("%d writes, %d slots reserved; want 4 of each (reads take no slot)", len(writes), len(slots))
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].Before(slots[j]) })
	sort.Slice(writes, func(i, j int) bool { return writes[i].Before(writes[j]) })
	for i := 1; i < len(slots); i++ {
		// Reservations are exact: each slot is at least one interval after
		// the one before, however the goroutines were scheduled.
		if d := slots[i].Sub(slots[i-1]); d < interval {
			t.Errorf("slots %d and %d are %v apart, want at least %v", i-1, i, d, interval)
		}
	}
	for i := range writes {
		// Every write waits for its slot: the i-th write to be sent is never
		// earlier than the i-th slot. (Being late is the scheduler's right.)
		if writes[i].Before(slots[i]) {
			t.Errorf("write %d sent %v before its slot", i, slots[i].Sub(writes[i]))
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRetryReplaysBody: a retried PATCH sends its body again; a POST is
// not retried on a 5xx.
func TestRetryReplaysBody(t *testing.T) {
	var bodies []string
	var calls atomic.Int32
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		status := 200
		if calls.Add(1) == 1 {
			status = 502
		}
		return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
	})
	lt := &limitTransport{next: next, limits: Limits{WriteInterval: -1, RetryBaseDelay: time.Millisecond}.withDefaults(), state: &rateState{}, metrics: newMetrics(), log: slog.New(slog.DiscardHandler)}
	req, _ := http.NewRequest(http.MethodPatch, "https://api.example/repos/o/r/check-runs/1", strings.NewReader(`{"status":"completed"}`))
	resp, err := lt.RoundTrip(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PATCH: %v %v", resp, err)
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] || bodies[1] == "" {
		t.Errorf("bodies sent: %q", bodies)
	}
	calls.Store(0)
	req, _ = http.NewRequest(http.MethodPost, "https://api.example/repos/o/r/issues/1/comments", strings.NewReader(`{"body":"x"}`))
	resp, err = lt.RoundTrip(req)
	if err != nil || resp.StatusCode != 502 || calls.Load() != 1 {
		t.Errorf("POST retried: %d calls, status %v", calls.Load(), resp.StatusCode)
	}
}

// TestRateLimitBeyondDeadline: a limit that lifts after the job's
// deadline fails at once, saying when it lifts.
func TestRateLimitBeyondDeadline(t *testing.T) {
	var sent atomic.Int32
	lt := &limitTransport{next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		h := http.Header{}
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", itoa(time.Now().Add(time.Hour).Unix()))
		return &http.Response{StatusCode: 403, Header: h, Body: io.NopCloser(strings.NewReader(`{"message":"API rate limit exceeded"}`)), Request: r}, nil
	}), limits: Limits{}.withDefaults(), state: &rateState{}, metrics: newMetrics(), log: slog.New(slog.DiscardHandler), installation: 7}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example/repos/o/r", nil)
	resp, err := lt.RoundTrip(req)
	if err != nil || resp.StatusCode != 403 {
		t.Fatalf("first answer: %v %v", resp, err)
	}
	resp.Body.Close()
	_, err = lt.RoundTrip(req)
	// It fails without waiting: the context (one second) is still live, and
	// the request never reached GitHub.
	if err == nil || !strings.Contains(err.Error(), "rate limit") || ctx.Err() != nil || sent.Load() != 1 {
		t.Errorf("second request: %v (context %v, %d requests sent)", err, ctx.Err(), sent.Load())
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestTruncatedTree: when GitHub truncates the recursive listing, the
// migration folders are listed one by one, and the analysis still sees
// the base schema.
func TestTruncatedTree(t *testing.T) {
	f := githubfake.New(t)
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	author := f.AddUser("alice")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable, "docs/a.md": "a\n", "src/x.go": "package x\n"})
	repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	pr, opened := f.OpenPR(repo, githubfake.PROptions{Author: author, Head: "drop"})
	commits := map[string]bool{pr.BaseSHA: true, pr.HeadSHA: true}

	var truncatedServed atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/")
		if len(parts) == 7 && parts[4] == "git" && parts[5] == "trees" && commits[parts[6]] && r.URL.Query().Has("recursive") {
			rec := httptest.NewRecorder()
			f.Handler().ServeHTTP(rec, r)
			var tree map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &tree)
			tree["truncated"] = true
			tree["tree"] = tree["tree"].([]any)[:2] // GitHub keeps some entries
			truncatedServed.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(tree)
			return
		}
		f.Handler().ServeHTTP(w, r)
	}))
	defer proxy.Close()

	logs := &syncBuffer{}
	srv, err := New(Config{AppID: f.App().ID, PrivateKey: f.PrivateKeyPEM(), WebhookSecret: f.WebhookSecret(), APIURL: proxy.URL,
		Limits: Limits{WriteInterval: -1}, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, srv)
	f.SetWebhookURL(ts.URL + "/webhook")
	e := &env{t: t, f: f, srv: srv, ts: ts, repo: repo, logs: logs}
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	if truncatedServed.Load() != 2 {
		t.Fatalf("%d truncated listings served", truncatedServed.Load())
	}
	run := e.onlyRun(pr.HeadSHA)
	if run.Conclusion != "action_required" {
		t.Fatalf("check: %s %q; logs:\n%s", run.Conclusion, run.Output.Summary, logs)
	}
	if _, ok := annotationOf(run, "drop-column"); !ok {
		t.Error("the base schema was not seen: no drop-column finding")
	}
}
