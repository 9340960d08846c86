package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

func TestSignature(t *testing.T) {
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	good := githubfake.Sign("s3cret", body)
	tests := []struct {
		name   string
		header string
		want   bool
	}{
		{"valid", good, true},
		{"other secret", githubfake.Sign("other", body), false},
		{"missing", "", false},
		{"sha1 only", "sha1=" + strings.Repeat("0", 40), false},
		{"not hex", "sha256=zz", false},
		{"truncated", good[:len(good)-2], false},
		{"upper-case prefix", "SHA256=" + strings.TrimPrefix(good, "sha256="), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validSignature("s3cret", body, tt.header); got != tt.want {
				t.Errorf("validSignature = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBadSignatureQueuesNothing: 401, and GitHub is never called.
func TestBadSignatureQueuesNothing(t *testing.T) {
	e := newEnv(t, nil)
	_, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusUnauthorized, githubfake.WrongSignature())
	e.deliver(opened, http.StatusUnauthorized, githubfake.MissingSignature())
	e.wait()
	if n := len(e.f.Requests()); n != 0 {
		t.Errorf("%d GitHub requests after unsigned deliveries", n)
	}
	// The same delivery, correctly signed, is not a duplicate: the
	// rejected attempts were not remembered.
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	if len(e.f.Mutations()) == 0 {
		t.Error("the signed delivery did nothing")
	}
}

// TestOversizedBody: 413, whether the length is announced or not.
func TestOversizedBody(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 1 << 10 })
	big := bytes.Repeat([]byte("x"), 4<<10)
	for _, chunked := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/webhook", bytes.NewReader(big))
		if chunked {
			// No Content-Length: the cap must hold while reading.
			req.ContentLength = -1
			req.Body = io.NopCloser(bytes.NewReader(big))
		}
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("big-%v", chunked))
		req.Header.Set("X-Hub-Signature-256", githubfake.Sign(e.f.WebhookSecret(), big))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked=%v: status %d, want 413", chunked, resp.StatusCode)
		}
	}
}

// TestIgnoredEvents: 202 without a job. (A closed pull request is not
// among them: its head commit may be shared by other pull requests, whose
// conclusion is derived again.)
func TestIgnoredEvents(t *testing.T) {
	e := newEnv(t, nil)
	pr, _ := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	ready := e.f.SetDraft(pr, true)
	titled := e.f.EditPR(pr, e.author, githubfake.PREdit{Title: "A better title"})
	installed := e.f.InstallationEvent(e.inst, "created", e.author)
	for _, d := range []*githubfake.Delivery{ready, titled, installed} {
		e.deliver(d, http.StatusAccepted)
		if !strings.Contains(d.ResponseBody, "ignored") {
			t.Errorf("%s.%s: %q", d.Event, d.Action, d.ResponseBody)
		}
	}
	e.wait()
	if n := len(e.f.Requests()); n != 0 {
		t.Errorf("%d GitHub requests for ignored events", n)
	}
}

// TestBaseChangeRechecks: editing the base branch re-checks against it.
func TestBaseChangeRechecks(t *testing.T) {
	e := newEnv(t, nil)
	e.repo.CommitOn("release", map[string]string{"db/migrations/001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n"})
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	edited := e.f.EditPR(pr, e.author, githubfake.PREdit{Base: "release"})
	e.deliver(edited, http.StatusAccepted)
	e.wait()
	if n := len(e.ourRuns(pr.HeadSHA)); n != 2 {
		t.Errorf("%d check runs after the base change, want a second one", n)
	}
}

// TestDuplicateDeliveries: the same delivery id again, and the same event
// under two ids at once, change nothing on GitHub.
func TestDuplicateDeliveries(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	before := len(e.f.Mutations())

	e.deliver(opened, http.StatusAccepted) // same GUID: a redelivery
	if !strings.Contains(opened.ResponseBody, "duplicate") {
		t.Errorf("redelivery answered %q", opened.ResponseBody)
	}
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := e.f.PullRequestEvent(pr, "opened", e.author) // a new GUID each
			if status, err := e.f.Deliver(d); err != nil || status != http.StatusAccepted {
				t.Errorf("concurrent duplicate: %d %v", status, err)
			}
		}()
	}
	wg.Wait()
	e.wait()
	if after := e.f.Mutations(); len(after) != before {
		t.Errorf("duplicates wrote %d more times: %v", len(after)-before, writes(after[before:]))
	}
	if n := len(e.stickies(pr)); n != 1 {
		t.Errorf("%d sticky comments", n)
	}
}

// TestConcurrentFirstDeliveries: two ids for the same event at the same
// moment, before anything exists: one check run, one sticky comment, one
// set of inline comments.
func TestConcurrentFirstDeliveries(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	again := e.f.PullRequestEvent(pr, "opened", e.author)
	var wg sync.WaitGroup
	for _, d := range []*githubfake.Delivery{opened, again} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, err := e.f.Deliver(d); err != nil || status != http.StatusAccepted {
				t.Errorf("delivery: %d %v", status, err)
			}
		}()
	}
	wg.Wait()
	e.wait()
	w := writes(e.f.Mutations())
	if w["checks/create"] != 1 || w["issues/create-comment"] != 1 || w["pulls/create-review"] != 1 {
		t.Errorf("writes: %v", w)
	}
}

// TestQueueFull: beyond the queue's bound, 503 so that the delivery shows
// as failed in GitHub and can be redelivered; the id is not remembered.
func TestQueueFull(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Workers, c.QueueSize = 1, 1 })
	// Hold the one worker on a slow call.
	e.f.FailNext("pulls/get", githubfake.Slow(700*time.Millisecond), 1)
	var prs []*githubfake.Delivery
	for i := 0; i < 3; i++ {
		_, d := e.openPR(fmt.Sprintf("b%d", i), map[string]string{fmt.Sprintf("f%d.txt", i): "x\n"})
		prs = append(prs, d)
	}
	e.deliver(prs[0], http.StatusAccepted)
	e.waitFor("the worker to take the first job", func() bool { return e.srv.queue.Len() == 0 })
	e.deliver(prs[1], http.StatusAccepted)
	e.deliver(prs[2], http.StatusServiceUnavailable)
	e.wait()
	e.deliver(prs[2], http.StatusAccepted) // the redelivery
	e.wait()
}

// TestReadiness: ready with a working key; not ready while shutting down.
func TestReadiness(t *testing.T) {
	e := newEnv(t, nil)
	get := func(path string) int {
		resp, err := http.Get(e.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("/healthz"); c != 200 {
		t.Errorf("healthz: %d", c)
	}
	if c := get("/readyz"); c != 200 {
		t.Errorf("readyz: %d", c)
	}
	if c := get("/metrics"); c != 200 {
		t.Errorf("metrics: %d", c)
	}
	_ = e.srv.Shutdown(t.Context())
	if c := get("/readyz"); c != 503 {
		t.Errorf("readyz while shutting down: %d", c)
	}
	_, d := e.openPR("late", map[string]string{"x.txt": "x\n"})
	e.deliver(d, http.StatusServiceUnavailable)
}
