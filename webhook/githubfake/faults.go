package githubfake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is an answer the fake gives instead of (or, for a delay, before)
// the normal one. Build faults with the constructors below.
type Fault struct {
	Status  int
	Message string
	DocURL  string
	Header  http.Header
	// Delay is waited before answering; the wait ends early when the
	// client gives up, which is how timeouts are exercised.
	Delay time.Duration
	// resetIn makes the answer a primary rate limit one: the credential's
	// remaining calls are reported as zero until now+resetIn.
	resetIn time.Duration
	// hold, when set, holds the request until it is closed or the client
	// gives up; reached is closed when the request arrives.
	hold    <-chan struct{}
	reached chan struct{}
	arrive  *sync.Once
	// holdAnswer, when set, carries the request out and then holds its
	// answer until it is closed or the client gives up: the change is made
	// whether or not the client ever reads that it was.
	holdAnswer <-chan struct{}
}

const (
	docPrimaryRateLimit   = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
	docSecondaryRateLimit = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	msgSecondaryRateLimit = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID %s."
)

// RateLimited exhausts the caller's primary rate limit (the installation's
// or the App's) until resetIn from now: the matching request and every
// later one from the same caller until then get status (403 or 429) with
// X-RateLimit-Remaining: 0 and X-RateLimit-Reset, as on GitHub, where
// retrying before the reset does not help.
func RateLimited(status int, resetIn time.Duration) Fault {
	return Fault{Status: status, DocURL: docPrimaryRateLimit, resetIn: resetIn}
}

// SecondaryRateLimited answers 403 with Retry-After and GitHub's
// secondary rate limit message.
func SecondaryRateLimited(retryAfter time.Duration) Fault {
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(int(retryAfter.Round(time.Second)/time.Second)))
	return Fault{Status: http.StatusForbidden, Message: msgSecondaryRateLimit, DocURL: docSecondaryRateLimit, Header: h}
}

// ServerError answers status (500, 502, 503, 504) with GitHub's bodies.
func ServerError(status int) Fault {
	msg := "Server Error"
	switch status {
	case http.StatusBadGateway:
		msg = "Bad Gateway"
	case http.StatusServiceUnavailable:
		msg = "Service Unavailable"
	case http.StatusGatewayTimeout:
		msg = "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists."
	}
	return Fault{Status: status, Message: msg}
}

// Hold holds the matching request, before anything is answered or
// changed, until release is closed or the client gives up (a process
// killed mid-request). The returned channel is closed when the request
// arrives, so that a test can act at exactly that point rather than after
// a guessed delay.
func Hold(release <-chan struct{}) (Fault, <-chan struct{}) {
	reached := make(chan struct{})
	return Fault{hold: release, reached: reached, arrive: &sync.Once{}}, reached
}

// HoldAnswer carries the matching request out (a check run is created, a
// comment edited) and holds the answer until release is closed or the
// client gives up, as when a connection drops after GitHub acted. The
// returned channel is closed once the change is made.
func HoldAnswer(release <-chan struct{}) (Fault, <-chan struct{}) {
	reached := make(chan struct{})
	return Fault{holdAnswer: release, reached: reached, arrive: &sync.Once{}}, reached
}

// Slow delays the normal answer by d.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// NotFound answers 404 Not Found, as for a deleted branch or a SHA that
// was force-pushed away and collected.
func NotFound() Fault { return Fault{Status: http.StatusNotFound, Message: "Not Found"} }

// Unprocessable answers 422 with message, e.g. for review comment lines.
func Unprocessable(message string) Fault {
	return Fault{Status: http.StatusUnprocessableEntity, Message: message}
}

type faultRule struct {
	match string
	// agent, when set, limits the rule to requests whose User-Agent
	// contains it (one process of several).
	agent string
	fault Fault
	left  int
}

// FailNext answers the next count requests matching match with fault.
// match is an operation id ("checks/create"), a method and path template
// ("POST /repos/{owner}/{repo}/check-runs"), or "*" for any request.
// Rules are tried in the order added.
func (f *Fake) FailNext(match string, fault Fault, count int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &faultRule{match: match, fault: fault, left: count})
}

// ClearFaults drops every fault rule still pending: GitHub recovers.
// Requests held by a Hold fault stay held until it is released.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// FailNextFrom is FailNext for the requests whose User-Agent contains
// agent only: the App names its replica there.
func (f *Fake) FailNextFrom(agent, match string, fault Fault, count int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &faultRule{match: match, agent: agent, fault: fault, left: count})
}

func (f *Fake) takeFault(rt *route, userAgent string) (Fault, bool) {
	for _, rule := range f.faults {
		if rule.left <= 0 || (rule.agent != "" && !strings.Contains(userAgent, rule.agent)) {
			continue
		}
		if rule.match == "*" || rule.match == rt.id || strings.EqualFold(rule.match, rt.method+" "+rt.template) {
			rule.left--
			return rule.fault, true
		}
	}
	return Fault{}, false
}

// rateWindow is one credential's primary rate limit window.
type rateWindow struct {
	limit     int
	used      int
	reset     time.Time
	exhausted time.Time // set by a RateLimited fault: zero remaining until then
}

func (f *Fake) rateFor(key string, limit int) *rateWindow {
	w, ok := f.rate[key]
	now := f.now()
	if !ok || !now.Before(w.reset) {
		w = &rateWindow{limit: limit, reset: now.Add(time.Hour).Truncate(time.Second)}
		f.rate[key] = w
	}
	return w
}

func (w *rateWindow) remaining(now time.Time) int {
	if now.Before(w.exhausted) {
		return 0
	}
	if r := w.limit - w.used; r > 0 {
		return r
	}
	return 0
}

func (w *rateWindow) setHeaders(h http.Header, now time.Time) {
	reset := w.reset
	if now.Before(w.exhausted) {
		reset = w.exhausted
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(w.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(w.remaining(now)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(w.used))
	h.Set("X-RateLimit-Resource", "core")
}

func primaryLimitMessage(cred *credential) string {
	switch cred.kind {
	case "installation":
		return fmt.Sprintf("API rate limit exceeded for installation ID %d. If you reach out to GitHub Support for help, please include the request ID %%s and timestamp %%s.", cred.token.inst.ID)
	case "app":
		return fmt.Sprintf("API rate limit exceeded for app ID %d.", cred.app.ID)
	}
	return "API rate limit exceeded. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
}
