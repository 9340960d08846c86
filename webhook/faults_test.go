package webhook

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// TestRateLimitsMidJob: the job waits out a secondary limit (with and
// without Retry-After) and a primary one, then completes.
func TestRateLimitsMidJob(t *testing.T) {
	tests := []struct {
		name  string
		op    string
		fault githubfake.Fault
		kind  string
	}{
		{"secondary with Retry-After on a review", "pulls/create-review", githubfake.SecondaryRateLimited(time.Second), "secondary"},
		{"secondary without Retry-After on a blob", "git/get-blob", githubfake.Fault{Status: http.StatusForbidden,
			Message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}, "secondary"},
		{"primary on the check run update", "checks/update", githubfake.RateLimited(http.StatusForbidden, 1500*time.Millisecond), "primary"},
		{"primary 429 on listing files", "pulls/list-files", githubfake.RateLimited(http.StatusTooManyRequests, time.Second), "primary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.f.FailNext(tt.op, tt.fault, 1)
			pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
			start := time.Now()
			e.deliver(opened, http.StatusAccepted)
			e.wait()
			run := e.onlyRun(pr.HeadSHA)
			if run.Conclusion != "action_required" {
				t.Fatalf("check: %s/%s %q; logs:\n%s", run.Status, run.Conclusion, run.Output.Summary, e.logs)
			}
			if len(ruleComments(e.f.ReviewComments(pr), "drop-column")) != 1 || len(e.stickies(pr)) != 1 {
				t.Error("the job did not finish its comments")
			}
			if time.Since(start) < 150*time.Millisecond {
				t.Error("the job did not wait")
			}
			if !strings.Contains(e.logs.String(), `"kind":"`+tt.kind+`"`) {
				t.Errorf("no %s rate limit wait logged", tt.kind)
			}
		})
	}
}

// TestServerErrorsRetried: idempotent calls are retried on 5xx and
// timeouts; the job completes.
func TestServerErrorsRetried(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Limits.RequestTimeout = 300 * time.Millisecond })
	e.f.FailNext("git/get-blob", githubfake.ServerError(http.StatusBadGateway), 2)
	e.f.FailNext("checks/update", githubfake.ServerError(http.StatusInternalServerError), 1)
	e.f.FailNext("issues/list-comments", githubfake.Slow(2*time.Second), 1)
	e.f.FailNext("git/get-tree", githubfake.ServerError(http.StatusServiceUnavailable), 1)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	if run := e.onlyRun(pr.HeadSHA); run.Conclusion != "action_required" {
		t.Fatalf("check: %s %q; logs:\n%s", run.Conclusion, run.Output.Summary, e.logs)
	}
	if n := strings.Count(e.logs.String(), "retrying a GitHub request"); n < 5 {
		t.Errorf("%d retries logged, want 5", n)
	}
}

// TestJobThatCannotFinish: a check run never stays in progress; it fails
// with the reason, and a write that failed is not repeated blindly.
func TestJobThatCannotFinish(t *testing.T) {
	e := newEnv(t, nil)
	e.f.FailNext("pulls/list-files", githubfake.ServerError(http.StatusBadGateway), 4) // every attempt
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr.HeadSHA)
	if run.Status != "completed" || run.Conclusion != "failure" || !strings.Contains(run.Output.Summary, "listing the changed files") {
		t.Fatalf("check: %s/%s %q", run.Status, run.Conclusion, run.Output.Summary)
	}
	if strings.Contains(run.Output.Summary, "ghs_") || strings.Contains(run.Output.Summary, e.f.WebhookSecret()) {
		t.Error("a secret in the check run")
	}

	// A POST that fails is not retried: it might have been applied.
	e.f.FailNext("issues/create-comment", githubfake.ServerError(http.StatusBadGateway), 1)
	again := e.repo.CommitOn("drop", map[string]string{"db/migrations/003_more.sql": "ALTER TABLE users DROP COLUMN email;\n"})
	e.deliver(e.f.Push(pr, again), http.StatusAccepted)
	e.wait()
	if run := e.onlyRun(again); run.Conclusion != "failure" {
		t.Fatalf("check: %s", run.Conclusion)
	}
	if n := e.f.Count("issues/create-comment"); n != 1 {
		t.Errorf("create-comment sent %d times, want once", n)
	}
	// A re-run request heals it.
	rerun, err := e.f.CheckRunEvent(e.onlyRun(again).ID, "rerequested", e.author)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(rerun, http.StatusAccepted)
	e.wait()
	runs := e.ourRuns(again)
	if len(runs) != 2 || runs[1].Conclusion != "action_required" || len(e.stickies(pr)) != 1 {
		t.Fatalf("after the re-run: %d runs, last %s, %d stickies", len(runs), runs[len(runs)-1].Conclusion, len(e.stickies(pr)))
	}
}

// TestForcePushWhileRunning: the job for the old head is cancelled and
// cannot overwrite the new head's results; the newer head wins.
func TestForcePushWhileRunning(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	old := pr.HeadSHA
	e.f.FailNext("git/get-tree", githubfake.Slow(time.Second), 1)
	e.deliver(opened, http.StatusAccepted)
	e.waitFor("the old head's job to start", func() bool { return len(e.ourRuns(old)) == 1 })

	// A force-push: a new commit on main's tip, not on the old head.
	forced := e.repo.CommitWith(githubfake.CommitOptions{Branch: "drop", Parent: e.repo.Branch("main"),
		Files: map[string]string{"db/migrations/002_drop.sql": "ALTER TABLE users ADD COLUMN note text;\n"}})
	e.deliver(e.f.Push(pr, forced), http.StatusAccepted)
	e.wait()

	if run := e.onlyRun(forced); run.Conclusion != "success" {
		t.Errorf("new head: %s; logs:\n%s", run.Conclusion, e.logs)
	}
	if run := e.onlyRun(old); run.Status != "completed" || run.Conclusion == "action_required" || run.Conclusion == "success" {
		t.Errorf("old head: %s/%s, want closed without a verdict", run.Status, run.Conclusion)
	}
	sticky := e.stickies(pr)
	if len(sticky) != 1 || !strings.Contains(sticky[0].Body, forced[:7]) {
		t.Errorf("sticky: %+v", sticky)
	}
	if n := len(ruleComments(e.f.ReviewComments(pr), "drop-column")); n != 0 {
		t.Errorf("%d comments about the old head's DROP COLUMN", n)
	}
}

// TestThreeThousandFiles: every page is listed, and only the migrations'
// contents are read: the base's from its blob, the changed ones from the
// listing's patches.
func TestThreeThousandFiles(t *testing.T) {
	e := newEnv(t, nil)
	files := map[string]string{
		"db/migrations/002_drop.sql": dropLegacy,
		"db/migrations/003_note.sql": "ALTER TABLE users ADD COLUMN note text;\n",
	}
	for i := 0; len(files) < 3000; i++ {
		files[fmt.Sprintf("src/gen/file_%04d.go", i)] = fmt.Sprintf("package gen // %d\n", i)
	}
	pr, opened := e.openPR("big", files)
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr.HeadSHA)
	if run.Conclusion != "action_required" {
		t.Fatalf("check: %s %q", run.Conclusion, run.Output.Summary)
	}
	if n := e.f.Count("pulls/list-files"); n != 30 {
		t.Errorf("%d pages listed, want 30", n)
	}
	// 001 at the base (shared with the head); 002 and 003 are rebuilt
	// from their patches.
	if n := e.f.Count("git/get-blob"); n != 1 {
		t.Errorf("%d blobs fetched, want 1", n)
	}
	if strings.Contains(run.Output.Summary, "lists only") {
		t.Error("3,000 files is not over the limit")
	}

	// One more file: GitHub lists 3,000, and the check says so.
	more := e.repo.CommitOn("big", map[string]string{"src/gen/extra.go": "package gen\n"})
	e.deliver(e.f.Push(pr, more), http.StatusAccepted)
	e.wait()
	run = e.onlyRun(more)
	if !strings.Contains(run.Output.Summary, "3001 files and GitHub lists only the first 3000, so the changed migrations were found by comparing") {
		t.Errorf("summary does not say files were not listed:\n%s", run.Output.Summary)
	}
}

// TestBinarySQLFile: a finding, not a crash.
func TestBinarySQLFile(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("bin", map[string]string{"db/migrations/002_blob.sql": "PK\x03\x04\x00\x00binary\x00junk"})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr.HeadSHA)
	if run.Status != "completed" || run.Conclusion == "failure" {
		t.Fatalf("check: %s/%s %q", run.Status, run.Conclusion, run.Output.Summary)
	}
	found := false
	for _, a := range run.Output.Annotations {
		found = found || (a.Path == "db/migrations/002_blob.sql" && strings.Contains(a.Message, "binary"))
	}
	if !found {
		t.Errorf("no annotation about the binary file: %+v", run.Output.Annotations)
	}
	if n := len(e.f.ReviewComments(pr)); n != 0 {
		t.Errorf("%d inline comments on a file without a diff", n)
	}
}

// TestForbiddenIsNotRateLimit: a 403 that is not a rate limit is not
// waited on or retried; the check says why.
func TestForbiddenIsNotRateLimit(t *testing.T) {
	e := newEnv(t, nil)
	e.f.FailNext("issues/list-comments", githubfake.Fault{Status: http.StatusForbidden, Message: "Resource not accessible by integration"}, 1)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr.HeadSHA)
	if run.Conclusion != "failure" || !strings.Contains(run.Output.Summary, "Resource not accessible by integration") {
		t.Errorf("check: %s %q", run.Conclusion, run.Output.Summary)
	}
	if n := e.f.Count("issues/list-comments"); n != 1 {
		t.Errorf("a 403 was retried: %d requests", n)
	}
}

// TestSupersededWhileCreatingItsRun: a push that supersedes a job while
// GitHub is creating its check run (the run made, the answer not yet read)
// does not leave that run in progress: the job still learns the run and
// closes it without a verdict.
func TestSupersededWhileCreatingItsRun(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	old := pr.HeadSHA
	release := make(chan struct{})
	fault, created := githubfake.HoldAnswer(release)
	e.f.FailNext("checks/create", fault, 1)
	e.deliver(opened, http.StatusAccepted)
	<-created

	forced := e.repo.CommitWith(githubfake.CommitOptions{Branch: "drop", Parent: e.repo.Branch("main"),
		Files: map[string]string{"db/migrations/002_drop.sql": "ALTER TABLE users ADD COLUMN note text;\n"}})
	e.deliver(e.f.Push(pr, forced), http.StatusAccepted)
	// The newer job has cancelled the older one; only now does GitHub's
	// answer about the run it created arrive.
	e.waitFor("the push to supersede the running job", func() bool { return e.srv.queue.Len() == 1 })
	close(release)
	e.wait()

	if run := e.onlyRun(old); run.Status != "completed" || run.Conclusion == "action_required" || run.Conclusion == "success" {
		t.Errorf("old head: %s/%s, want closed without a verdict; logs:\n%s", run.Status, run.Conclusion, e.logs)
	}
	if run := e.onlyRun(forced); run.Conclusion != "success" {
		t.Errorf("new head: %s", run.Conclusion)
	}
}
