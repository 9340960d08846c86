package webhook

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestJobPanicRetried: a job whose code panics is run again, with
// backoff, from the start; a panic that passes leaves the real verdict,
// one that stays fails the check (red, never in progress) after
// maxPanicAttempts runs. Either way the pull request has one check run,
// never left in progress, also when the panic came with the run in
// progress.
func TestJobPanicRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		// stage is where the job panics: before anything is written, or
		// with its check run in progress (the next run takes it over).
		stage  string
		panics int64
		want   string
		runs   int64
	}{
		{"passing", "start", maxPanicAttempts - 1, "action_required", maxPanicAttempts},
		{"lasting", "start", 1 << 30, "failure", maxPanicAttempts},
		{"passing mid-run", "check-run", maxPanicAttempts - 1, "action_required", maxPanicAttempts},
		{"lasting mid-run", "check-run", 1 << 30, "failure", maxPanicAttempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			var started atomic.Int64
			e.srv.jobStage = func(_ *Job, stage string) {
				if stage == tc.stage && started.Add(1) <= tc.panics {
					panic("a defect in the job's code")
				}
			}
			pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
			e.deliver(opened, http.StatusAccepted)
			e.waitFor("the check to complete", func() bool {
				runs := e.ourRuns(pr.HeadSHA)
				return len(runs) == 1 && runs[0].Status == "completed"
			})
			e.waitFor("the job to end", func() bool {
				return strings.Contains(e.logs.String(), `"msg":"job failed"`) || strings.Contains(e.logs.String(), `"msg":"job done"`)
			})
			run := e.onlyRun(pr.HeadSHA)
			if run.Conclusion != tc.want {
				t.Errorf("check %s/%s %q, want %s", run.Status, run.Conclusion, run.Output.Summary, tc.want)
			}
			if got := started.Load(); got != tc.runs {
				t.Errorf("the job ran %d times, want %d", got, tc.runs)
			}
			if n := strings.Count(e.logs.String(), "running a job that panicked again"); n != maxPanicAttempts-1 {
				t.Errorf("%d retries logged, want %d", n, maxPanicAttempts-1)
			}
		})
	}
}
