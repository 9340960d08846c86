package githubfake

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		match string
		fault Fault
		check func(t *testing.T, resp *github.Response, err error)
	}{
		{
			name:  "primary rate limit 403",
			match: "pulls/get",
			fault: RateLimited(http.StatusForbidden, time.Minute),
			check: func(t *testing.T, resp *github.Response, err error) {
				var rl *github.RateLimitError
				if !errors.As(err, &rl) {
					t.Fatalf("err = %v, want RateLimitError", err)
				}
				if rl.Rate.Remaining != 0 || time.Until(rl.Rate.Reset.Time) < 50*time.Second || !strings.Contains(rl.Message, "API rate limit exceeded for installation ID") {
					t.Fatalf("rate = %+v message %q", rl.Rate, rl.Message)
				}
			},
		},
		{
			name:  "primary rate limit 429",
			match: "GET /repos/{owner}/{repo}/pulls/{pull_number}",
			fault: RateLimited(http.StatusTooManyRequests, time.Minute),
			check: func(t *testing.T, resp *github.Response, err error) {
				if resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("X-RateLimit-Remaining") != "0" || resp.Header.Get("X-RateLimit-Reset") == "" {
					t.Fatalf("resp = %+v, err %v", resp, err)
				}
			},
		},
		{
			name:  "secondary rate limit",
			match: "pulls/get",
			fault: SecondaryRateLimited(30 * time.Second),
			check: func(t *testing.T, resp *github.Response, err error) {
				var ab *github.AbuseRateLimitError
				if !errors.As(err, &ab) {
					t.Fatalf("err = %v, want AbuseRateLimitError", err)
				}
				if ab.RetryAfter == nil || *ab.RetryAfter != 30*time.Second || !strings.Contains(ab.Message, "secondary rate limit") {
					t.Fatalf("retry after %v message %q", ab.RetryAfter, ab.Message)
				}
			},
		},
		{
			name:  "bad gateway",
			match: "pulls/get",
			fault: ServerError(http.StatusBadGateway),
			check: func(t *testing.T, resp *github.Response, err error) {
				if resp == nil || resp.StatusCode != http.StatusBadGateway {
					t.Fatalf("resp %+v err %v", resp, err)
				}
			},
		},
		{
			name:  "not found",
			match: "pulls/get",
			fault: NotFound(),
			check: func(t *testing.T, resp *github.Response, err error) {
				if resp == nil || resp.StatusCode != http.StatusNotFound {
					t.Fatalf("resp %+v err %v", resp, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{now: time.Now()}
			e := newEnv(t, WithClock(clock.Now))
			e.f.FailNext(tt.match, tt.fault, 1)
			_, resp, err := e.gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number)
			tt.check(t, resp, err)
			// A fresh client each time: go-github refuses to call again
			// before a primary limit resets, and the point is what the
			// fake answers.
			gh := tokenClient(t, e.f, e.f.InstallationToken(e.inst))
			if tt.fault.resetIn != 0 {
				// The installation stays limited until the reset.
				if _, resp, _ := gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number); resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("before the reset: %v", resp)
				}
				clock.Advance(tt.fault.resetIn + time.Second)
				gh = tokenClient(t, e.f, e.f.InstallationToken(e.inst))
			}
			if _, _, err := gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number); err != nil {
				t.Fatalf("after the fault: %v", err)
			}
		})
	}
}

func TestFailNextCount(t *testing.T) {
	e := newEnv(t)
	e.f.FailNext("checks/create", ServerError(http.StatusInternalServerError), 2)
	opts := github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA}
	var statuses []int
	for i := 0; i < 3; i++ {
		_, resp, _ := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", opts)
		statuses = append(statuses, resp.StatusCode)
	}
	if statuses[0] != 500 || statuses[1] != 500 || statuses[2] != 201 {
		t.Fatalf("statuses = %v, want 500 500 201", statuses)
	}
	if n := len(e.f.CheckRuns(e.repo, "")); n != 1 {
		t.Fatalf("check runs = %d, want 1: failed requests must not change state", n)
	}
	ms := e.f.Mutations()
	if len(ms) != 2 || ms[1].OperationID != "checks/create" || ms[1].Body.(map[string]any)["head_sha"] != e.pr.HeadSHA || ms[1].ObjectID == 0 {
		t.Fatalf("mutations = %+v, want the token then one check run", ms)
	}
	if got := e.f.Count("checks/create"); got != 3 {
		t.Fatalf("Count(checks/create) = %d, want 3", got)
	}
}

func TestSlowResponseTimesOut(t *testing.T) {
	e := newEnv(t)
	e.f.FailNext("pulls/get", Slow(5*time.Second), 1)
	gh := tokenClient(t, e.f, e.f.InstallationToken(e.inst))
	ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := gh.PullRequests.Get(ctx, "acme", "billing", e.pr.Number)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	e.f.FailNext("pulls/get", Slow(50*time.Millisecond), 1)
	if _, _, err := gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number); err != nil {
		t.Fatalf("a slow answer within the deadline failed: %v", err)
	}
}

// TestRateLimitHeadersAndExhaustion proves every answer carries GitHub's
// rate limit headers and that running out gives the 403 go-github knows.
func TestRateLimitHeadersAndExhaustion(t *testing.T) {
	e := newEnv(t, WithRateLimit(3))
	gh := tokenClient(t, e.f, e.f.InstallationToken(e.inst))
	for i := 1; i <= 3; i++ {
		_, resp, err := gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number)
		if err != nil {
			t.Fatal(err)
		}
		h := resp.Header
		if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != strconv.Itoa(3-i) || h.Get("X-RateLimit-Used") != strconv.Itoa(i) || h.Get("X-RateLimit-Resource") != "core" || h.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("request %d headers: %v", i, h)
		}
	}
	_, _, err := gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("4th request: %v, want RateLimitError", err)
	}
}

// TestDeletedBranchAndForgottenSHA proves what the App sees after a branch
// is deleted or a force-pushed-away commit is collected.
func TestDeletedBranchAndForgottenSHA(t *testing.T) {
	e := newEnv(t)
	old := e.pr.HeadSHA
	rewritten := e.repo.CommitWith(CommitOptions{Parent: e.repo.Branch("main"), Files: map[string]string{"migrations/002_orders.sql": "CREATE TABLE orders ();\n"}})
	e.f.Push(e.pr, rewritten)
	if _, _, _, err := e.gh.Repositories.GetContents(e.ctx, "acme", "billing", "migrations/002_orders.sql", &github.RepositoryContentGetOptions{Ref: old}); err != nil {
		t.Fatalf("a force-pushed-away commit stays readable until collected: %v", err)
	}
	e.repo.ForgetCommit(old)
	e.repo.DeleteBranch("feature")
	tests := []struct {
		name string
		call func() (*github.Response, error)
		want int
	}{
		{"contents at forgotten sha", func() (*github.Response, error) {
			_, _, r, err := e.gh.Repositories.GetContents(e.ctx, "acme", "billing", "migrations/002_orders.sql", &github.RepositoryContentGetOptions{Ref: old})
			return r, err
		}, http.StatusNotFound},
		{"commit at forgotten sha", func() (*github.Response, error) {
			_, r, err := e.gh.Repositories.GetCommit(e.ctx, "acme", "billing", old, nil)
			return r, err
		}, http.StatusUnprocessableEntity},
		{"deleted branch", func() (*github.Response, error) {
			_, r, err := e.gh.Repositories.GetBranch(e.ctx, "acme", "billing", "feature", 0)
			return r, err
		}, http.StatusNotFound},
		{"compare with deleted branch", func() (*github.Response, error) {
			_, r, err := e.gh.Repositories.CompareCommits(e.ctx, "acme", "billing", "main", "feature", nil)
			return r, err
		}, http.StatusNotFound},
		{"check run on forgotten sha", func() (*github.Response, error) {
			_, r, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: old})
			return r, err
		}, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.call()
			if resp == nil || resp.StatusCode != tt.want {
				t.Fatalf("got %v (%v), want %d", resp, err, tt.want)
			}
		})
	}
}

// The primary limit belongs to the installation: a fresh token does not
// reset it.
func TestRateLimitIsPerInstallation(t *testing.T) {
	e := newEnv(t, WithRateLimit(2))
	for i := 0; i < 3; i++ {
		gh := tokenClient(t, e.f, e.f.InstallationToken(e.inst))
		_, _, err := gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number)
		var rl *github.RateLimitError
		if (i < 2) != (err == nil) || (i == 2 && !errors.As(err, &rl)) {
			t.Fatalf("call %d with a new token: %v", i+1, err)
		}
	}
}

// TestHoldUntilReleasedOrGivenUp: a held request is answered normally
// once released, and ends when the client gives up; the test learns of
// its arrival from the channel, not from a delay.
func TestHoldUntilReleasedOrGivenUp(t *testing.T) {
	e := newEnv(t)
	gh := tokenClient(t, e.f, e.f.InstallationToken(e.inst))
	release := make(chan struct{})
	fault, reached := Hold(release)
	e.f.FailNext("pulls/get", fault, 1)
	type result struct {
		pr  *github.PullRequest
		err error
	}
	done := make(chan result, 1)
	go func() {
		pr, _, err := gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number)
		done <- result{pr, err}
	}()
	<-reached
	select {
	case r := <-done:
		t.Fatalf("answered while held: %+v", r)
	default:
	}
	close(release)
	if r := <-done; r.err != nil || r.pr.GetNumber() != e.pr.Number {
		t.Fatalf("after the release: %+v", r)
	}

	fault, reached = Hold(make(chan struct{}))
	e.f.FailNext("pulls/get", fault, 1)
	ctx, cancel := context.WithCancel(e.ctx)
	go func() {
		<-reached
		cancel()
	}()
	if _, _, err := gh.PullRequests.Get(ctx, "acme", "billing", e.pr.Number); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
}
