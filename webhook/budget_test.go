package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestUnverifiedBytesBounded: many unsigned large bodies sent at once
// cannot hold more unverified bytes than the budget: beyond it they are
// refused with 503 before a byte is read; the budget is given back, and a
// signed delivery gets through afterwards.
func TestUnverifiedBytesBounded(t *testing.T) {
	const body = 1 << 20
	const budget = 4 * body
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 2 * body; c.UnverifiedBytes = budget })
	h := e.srv.Handler()

	const senders = 40
	codes := make([]int, senders)
	writers := make([]*io.PipeWriter, senders)
	var wg sync.WaitGroup
	for i := range senders {
		pr, pw := io.Pipe()
		writers[i] = pw
		req := httptest.NewRequest(http.MethodPost, "/webhook", pr)
		req.ContentLength = body
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("forged-%d", i))
		req.Header.Set("X-Hub-Signature-256", "sha256="+fmt.Sprintf("%064d", 0))
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			codes[i] = rec.Code
			// Unblock a writer whose request was refused unread.
			_ = pr.CloseWithError(io.ErrClosedPipe)
		}()
	}
	// Each sender sends half its body and stalls: the ones admitted hold
	// their reservation while the rest come in. Writes to a refused
	// request fail at once.
	half := bytes.Repeat([]byte("x"), body/2)
	for _, pw := range writers {
		_, _ = pw.Write(half)
	}
	if used, _ := e.srv.unverified.state(); used > budget {
		t.Fatalf("%d unverified bytes held, budget %d", used, budget)
	}
	for _, pw := range writers {
		_, _ = pw.Write(half)
		_ = pw.Close()
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	// Four fit the budget at a time and fail the signature; the others are
	// refused unread.
	if count[http.StatusUnauthorized] != budget/body || count[http.StatusServiceUnavailable] != senders-budget/body {
		t.Errorf("answers %v, want %d x 401 and %d x 503", count, budget/body, senders-budget/body)
	}
	used, peak := e.srv.unverified.state()
	if peak > budget || used != 0 {
		t.Errorf("unverified bytes: peak %d (budget %d), still held %d", peak, budget, used)
	}

	// Bodies of unknown length are reserved as they are read.
	req := httptest.NewRequest(http.MethodPost, "/webhook", io.MultiReader(bytes.NewReader(make([]byte, 3*body))))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: %d", rec.Code)
	}
	if used, peak := e.srv.unverified.state(); used != 0 || peak > budget {
		t.Errorf("after a chunked body: held %d, peak %d", used, peak)
	}

	// A signed delivery goes through.
	pr, d := e.openPR("ok", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(d, http.StatusAccepted)
	e.wait()
	if run := e.onlyRun(pr.HeadSHA); run.Conclusion != "action_required" {
		t.Errorf("signed delivery after the flood: check %s", run.Conclusion)
	}
}
