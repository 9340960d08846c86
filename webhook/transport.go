package webhook

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The HTTP stack of one installation's client, outermost first:
//
//	etagTransport   conditional GETs: a 304 costs no rate limit
//	limitTransport  rate limits, write spacing, retries (a retry passes
//	                through ghinstallation again, so a token that
//	                expired while waiting is renewed)
//	ghinstallation  the installation token
//	metricsTransport one series per attempt; rate limit gauge
//	http.Transport

// Limits tune how the App treats GitHub's limits. Zero values take the
// defaults in parentheses.
type Limits struct {
	// WriteInterval spaces POST, PATCH, PUT and DELETE requests of one
	// installation, as GitHub asks of content-creating requests (1s).
	WriteInterval time.Duration
	// RetryBaseDelay is the first retry's delay; each retry doubles it,
	// with jitter (1s).
	RetryBaseDelay time.Duration
	// MaxAttempts is how many times an idempotent request is tried on a
	// 5xx answer or a timeout (4).
	MaxAttempts int
	// RequestTimeout bounds one attempt (30s).
	RequestTimeout time.Duration
	// SecondaryMinWait is the wait after a secondary rate limit answer
	// without Retry-After; it doubles while the limit persists (1m).
	SecondaryMinWait time.Duration
	// MaxRateLimitWait is the longest a request waits for a rate limit to
	// lift; beyond it, or beyond the job's deadline, the request fails at
	// once with the time the limit lifts (15m).
	MaxRateLimitWait time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.WriteInterval < 0 {
		l.WriteInterval = 0
	} else if l.WriteInterval == 0 {
		l.WriteInterval = time.Second
	}
	if l.RetryBaseDelay <= 0 {
		l.RetryBaseDelay = time.Second
	}
	if l.MaxAttempts <= 0 {
		l.MaxAttempts = 4
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = 30 * time.Second
	}
	if l.SecondaryMinWait <= 0 {
		l.SecondaryMinWait = time.Minute
	}
	if l.MaxRateLimitWait <= 0 {
		l.MaxRateLimitWait = 15 * time.Minute
	}
	return l
}

// ErrRateLimited is returned when a rate limit holds longer than the
// request may wait.
var ErrRateLimited = errors.New("GitHub rate limit exceeded")

// rateState is shared by every request of one installation, so that one
// job's rate limit answer holds back the others instead of each running
// into it.
type rateState struct {
	mu           sync.Mutex
	blockedUntil time.Time
	blockKind    string
	nextWrite    time.Time
	secondaryRun int // consecutive secondary limit answers
}

type limitTransport struct {
	next         http.RoundTripper
	limits       Limits
	state        *rateState
	metrics      *metrics
	log          *slog.Logger
	installation int64
	prefix       string
	// slotReserved, when set, is told each write slot as it is reserved
	// (tests assert on the reservations, not on wall-clock gaps).
	slotReserved func(time.Time)
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// idempotent methods are retried on 5xx and timeouts: the App's PATCH and
// PUT requests set state, so repeating them is harmless; a POST could
// create a second comment.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the request body: %w", err)
		}
		body = b
	}
	route := routeOf(strings.TrimPrefix(req.URL.Path, t.prefix))
	retries, rateWaits := 0, 0
	for {
		if err := t.waitBlocked(ctx, req.Method, route); err != nil {
			return nil, err
		}
		if isWrite(req.Method) {
			if err := t.waitWriteSlot(ctx); err != nil {
				return nil, err
			}
		}
		actx, cancel := context.WithTimeout(ctx, t.limits.RequestTimeout)
		attempt := req.Clone(actx)
		if body != nil {
			attempt.Body = io.NopCloser(bytes.NewReader(body))
			attempt.ContentLength = int64(len(body))
		}
		resp, err := t.next.RoundTrip(attempt)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if idempotent(req.Method) && retries+1 < t.limits.MaxAttempts {
				retries++
				t.log.Warn("retrying a GitHub request after an error", "method", req.Method, "route", route, "attempt", retries+1, "error", err.Error())
				if err := sleep(ctx, t.backoff(retries)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}

		if kind, wait := t.rateLimited(resp); kind != "" {
			rateWaits++
			until := time.Now().Add(wait)
			if rateWaits > 6 || wait > t.limits.MaxRateLimitWait || pastDeadline(ctx, until) {
				// Waiting would not help this request: hand the answer
				// back, and go-github turns it into a rate limit error.
				t.block(kind, until)
				return resp, nil
			}
			drain(resp)
			t.block(kind, until)
			t.metrics.rateLimitWaits.WithLabelValues(kind).Inc()
			t.log.Warn("waiting for a GitHub rate limit", "kind", kind, "method", req.Method, "route", route, "wait", wait.String(), "installation", t.installation)
			continue
		}
		t.clearSecondary()
		if resp.StatusCode >= 500 && idempotent(req.Method) && retries+1 < t.limits.MaxAttempts {
			retries++
			drain(resp)
			t.log.Warn("retrying a GitHub request after a server error", "method", req.Method, "route", route, "status", resp.StatusCode, "attempt", retries+1)
			if err := sleep(ctx, t.backoff(retries)); err != nil {
				return nil, err
			}
			continue
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			// The last call of the window succeeded; the next one would
			// not before the reset.
			if reset, ok := resetTime(resp.Header); ok {
				t.block("primary", reset)
			}
		}
		return resp, nil
	}
}

// rateLimited tells a rate limit answer and how long to wait. A primary
// limit lifts at X-RateLimit-Reset; a secondary one after Retry-After or,
// without it, after at least SecondaryMinWait, doubling while it lasts.
func (t *limitTransport) rateLimited(resp *http.Response) (string, time.Duration) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return "", 0
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && secs >= 0 {
			return "secondary", time.Duration(secs)*time.Second + jitter(time.Second/4)
		}
		if when, err := http.ParseTime(ra); err == nil {
			return "secondary", time.Until(when) + jitter(time.Second/4)
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, ok := resetTime(resp.Header); ok {
			// One second on top: GitHub's clock and ours differ.
			return "primary", max(time.Until(reset), 0) + time.Second
		}
	}
	secondary := resp.StatusCode == http.StatusTooManyRequests
	if !secondary {
		// A 403 is a secondary limit only if GitHub says so; otherwise it
		// is a permission answer the caller must see.
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
		secondary = err == nil && bytes.Contains(bytes.ToLower(b), []byte("secondary rate limit"))
	}
	if !secondary {
		return "", 0
	}
	t.state.mu.Lock()
	n := t.state.secondaryRun
	t.state.secondaryRun++
	t.state.mu.Unlock()
	wait := t.limits.SecondaryMinWait << min(n, 4)
	return "secondary", wait + jitter(wait/4)
}

func (t *limitTransport) clearSecondary() {
	t.state.mu.Lock()
	t.state.secondaryRun = 0
	t.state.mu.Unlock()
}

func resetTime(h http.Header) (time.Time, bool) {
	v, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(v, 0), true
}

func (t *limitTransport) block(kind string, until time.Time) {
	t.state.mu.Lock()
	defer t.state.mu.Unlock()
	if until.After(t.state.blockedUntil) {
		t.state.blockedUntil, t.state.blockKind = until, kind
	}
}

func (t *limitTransport) waitBlocked(ctx context.Context, method, route string) error {
	t.state.mu.Lock()
	until, kind := t.state.blockedUntil, t.state.blockKind
	t.state.mu.Unlock()
	wait := time.Until(until)
	if wait <= 0 {
		return nil
	}
	if wait > t.limits.MaxRateLimitWait || pastDeadline(ctx, until) {
		return fmt.Errorf("%w (%s) for installation %d until %s: %s %s not sent", ErrRateLimited, kind, t.installation, until.UTC().Format(time.RFC3339), method, route)
	}
	return sleep(ctx, wait)
}

// waitWriteSlot reserves the next write slot of the installation and waits
// for it.
func (t *limitTransport) waitWriteSlot(ctx context.Context) error {
	if t.limits.WriteInterval <= 0 {
		return nil
	}
	t.state.mu.Lock()
	now := time.Now()
	slot := t.state.nextWrite
	if slot.Before(now) {
		slot = now
	}
	t.state.nextWrite = slot.Add(t.limits.WriteInterval)
	t.state.mu.Unlock()
	if t.slotReserved != nil {
		t.slotReserved(slot)
	}
	return sleep(ctx, time.Until(slot))
}

func (t *limitTransport) backoff(retry int) time.Duration {
	d := t.limits.RetryBaseDelay << min(retry-1, 6)
	// Full jitter between half and all of d, so that jobs that failed
	// together do not retry together.
	return d/2 + jitter(d/2)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

func pastDeadline(ctx context.Context, t time.Time) bool {
	dl, ok := ctx.Deadline()
	return ok && t.After(dl)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}

// cancelBody ends an attempt's context when its body is closed: ending it
// earlier would cut the body off mid-read.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// etagTransport makes repeated GETs conditional. GitHub does not count a
// 304 against the rate limit, and the App reads the same lists (comments,
// review comments, the configuration at a base) on every push.
type etagTransport struct {
	next     http.RoundTripper
	mu       sync.Mutex
	entries  map[string]*list.Element
	order    *list.List
	maxItems int
	maxBody  int
	hits     int
}

type etagEntry struct {
	key    string
	etag   string
	header http.Header
	body   []byte
}

func newETagTransport(next http.RoundTripper) *etagTransport {
	return &etagTransport{next: next, entries: map[string]*list.Element{}, order: list.New(), maxItems: 512, maxBody: 1 << 20}
}

func (t *etagTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" {
		return t.next.RoundTrip(req)
	}
	key := req.URL.String() + "\x00" + req.Header.Get("Accept")
	t.mu.Lock()
	var cached *etagEntry
	if el, ok := t.entries[key]; ok {
		cached = el.Value.(*etagEntry)
		t.order.MoveToFront(el)
	}
	t.mu.Unlock()
	if cached != nil {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", cached.etag)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && cached != nil:
		drain(resp)
		h := cached.header.Clone()
		for k, vs := range resp.Header {
			if strings.HasPrefix(k, "X-Ratelimit-") {
				h[k] = vs
			}
		}
		t.mu.Lock()
		t.hits++
		t.mu.Unlock()
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(bytes.NewReader(cached.body)), ContentLength: int64(len(cached.body)), Request: req,
		}, nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "":
		b, err := io.ReadAll(io.LimitReader(resp.Body, int64(t.maxBody)+1))
		if err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("reading %s: %w", routeOf(req.URL.Path), err)
		}
		if len(b) > t.maxBody {
			// Too large to keep: hand back what was read and the rest.
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
			return resp, nil
		}
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		t.store(&etagEntry{key: key, etag: resp.Header.Get("ETag"), header: resp.Header.Clone(), body: b})
	}
	return resp, nil
}

func (t *etagTransport) store(e *etagEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.entries[e.key]; ok {
		el.Value = e
		t.order.MoveToFront(el)
		return
	}
	t.entries[e.key] = t.order.PushFront(e)
	for t.order.Len() > t.maxItems {
		last := t.order.Back()
		t.order.Remove(last)
		delete(t.entries, last.Value.(*etagEntry).key)
	}
}

// metricsTransport counts and times every attempt, and keeps the rate
// limit gauge of the installation.
type metricsTransport struct {
	next         http.RoundTripper
	metrics      *metrics
	log          *slog.Logger
	installation int64
	prefix       string // the API URL's path, e.g. /api/v3 on GitHub Enterprise Server
}

func (t *metricsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	route := routeOf(strings.TrimPrefix(req.URL.Path, t.prefix))
	resp, err := t.next.RoundTrip(req)
	elapsed := time.Since(start)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
		if rem := resp.Header.Get("X-RateLimit-Remaining"); rem != "" {
			if n, perr := strconv.ParseFloat(rem, 64); perr == nil {
				t.metrics.rateRemaining.WithLabelValues(installationLabel(t.installation)).Set(n)
			}
		}
	}
	t.metrics.githubCalls.WithLabelValues(req.Method, route, status).Inc()
	t.metrics.githubLatency.WithLabelValues(req.Method, route).Observe(elapsed.Seconds())
	t.log.Debug("github request", "method", req.Method, "route", route, "status", status, "duration_ms", elapsed.Milliseconds(), "installation", t.installation)
	return resp, err
}
