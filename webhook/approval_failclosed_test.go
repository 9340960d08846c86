package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// fastRetries makes the served binary retry quickly: two attempts per
// request, 10 ms apart, so that GitHub's failures reach the job.
var fastRetries = []string{"RETRY_BASE_DELAY=10ms", "MAX_ATTEMPTS=2"}

// forever is a fault count no test exhausts: GitHub fails until
// ClearFaults.
const forever = 1 << 30

// revocations counts the revocation records in the ledger of run.
func revocations(t *testing.T, run githubfake.CheckRun, sha string) []checklist.LedgerRecord {
	t.Helper()
	l, ok := checklist.ParseLedger(run.Output.Text, sha)
	if !ok {
		t.Fatalf("no ledger on %s: %q", sha[:7], run.Output.Text)
	}
	var out []checklist.LedgerRecord
	for _, r := range l.Records {
		if r.Kind == checklist.RecordRevocation {
			out = append(out, r)
		}
	}
	return out
}

// untick delivers alice's untick of the sticky comment without waiting
// for its job, and returns the delivery.
func (g *gate) untick(user *githubfake.User) *githubfake.Delivery {
	g.t.Helper()
	d, err := g.f.EditComment(user, g.sticky().ID, setBox(g.t, g.sticky().Body, false))
	if err != nil {
		g.t.Fatal(err)
	}
	if code, err := g.f.Deliver(d); err != nil || code != http.StatusAccepted || !strings.HasPrefix(d.ResponseBody, "queued") {
		g.t.Fatalf("the untick was not accepted: %d %v %q", code, err, d.ResponseBody)
	}
	return d
}

// TestUntickWriteFailsThenSucceeds: the check run write of an untick
// fails more often than one request is retried; the job is run again
// and the revocation is recorded once.
func TestUntickWriteFailsThenSucceeds(t *testing.T) {
	g := newGate(t, fastRetries...)
	head := g.pr.HeadSHA
	g.tick(g.carol, true)
	g.expect(head, "success", true)

	// Two attempts per request: the first two runs of the job fail.
	g.f.FailNext("checks/update", githubfake.ServerError(http.StatusBadGateway), 5)
	g.tick(g.alice, false)
	run := g.expect(head, "action_required", false)
	revs := revocations(t, run, head)
	if len(revs) != 1 || revs[0].Login != "alice" || revs[0].Reason != "" {
		t.Errorf("revocations: %+v", revs)
	}
	if !strings.Contains(g.p.Logs.String(), "running a job that may revoke an approval again") {
		t.Errorf("the job was not run again:\n%s", g.p.Logs)
	}
	if n := g.p.Metric("migration_guard_revocation_fallbacks_total", ""); n != 0 {
		t.Errorf("%v fallbacks: the job itself should have finished", n)
	}
}

// TestUntickCannotBeWritten: GitHub fails every check run write of an
// untick, until the job's attempts are spent or its deadline passes.
// Meanwhile nothing can be written; once GitHub answers again, the
// scheduled reconcile records the untick's revocation: red, and a later
// push stays red. Then the control: a writer who is not the author
// approves again.
func TestUntickCannotBeWritten(t *testing.T) {
	tests := []struct {
		name   string
		faults func(f *githubfake.Fake)
	}{
		{"5xx on every write", func(f *githubfake.Fake) {
			f.FailNext("checks/update", githubfake.ServerError(http.StatusServiceUnavailable), forever)
		}},
		{"the deadline passes, then 5xx", func(f *githubfake.Fake) {
			f.FailNext("checks/update", githubfake.Slow(6*time.Second), 1)
			f.FailNext("checks/update", githubfake.ServerError(http.StatusServiceUnavailable), forever)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, append(fastRetries, "JOB_TIMEOUT=4s", "REQUEST_TIMEOUT=10s")...)
			head := g.pr.HeadSHA
			g.tick(g.carol, true)
			g.expect(head, "success", true)

			tt.faults(g.f)
			d := g.untick(g.alice)
			g.waitFor("the revocation's fallback", func() bool {
				return g.p.Metric("migration_guard_revocation_fallbacks_total", `result="scheduled"`) >= 1
			})
			if g.p.Metric("migration_guard_revocation_fallbacks_total", `result="recorded"`) != 0 {
				t.Fatal("a revocation was recorded while every write failed")
			}

			// GitHub answers again: the scheduled reconcile records it.
			g.f.ClearFaults()
			g.waitFor("the revocation recorded", func() bool {
				return g.run(head).Conclusion == "action_required"
			})
			g.waitFor("the jobs to settle", func() bool {
				return g.p.Metric("migration_guard_jobs_running", "") == 0 && g.p.Metric("migration_guard_queue_depth", "") == 0
			})
			run := g.expect(head, "action_required", false)
			revs := revocations(t, run, head)
			if len(revs) != 1 || revs[0].Login != "alice" || revs[0].Delivery != d.GUID || revs[0].Reason != checklist.ReasonUntickUnfinished() {
				t.Errorf("revocations: %+v", revs)
			}

			next := g.push(map[string]string{"README.md": "# billing\n"})
			g.expect(next, "action_required", false)
			g.tick(g.dave, true)
			g.expect(next, "success", true)
			if v := g.f.Violations(); len(v) != 0 {
				t.Errorf("contract violations: %+v", v)
			}
		})
	}
}

// TestTickJobFailsApprovesNothing: the control. A writer's tick whose job
// cannot write approves nothing, and is not run again or scheduled: the
// check stays red, also after GitHub recovers and a push. A tick that
// gets through counts.
func TestTickJobFailsApprovesNothing(t *testing.T) {
	g := newGate(t, fastRetries...)
	head := g.pr.HeadSHA
	g.f.FailNext("checks/update", githubfake.ServerError(http.StatusServiceUnavailable), forever)
	g.tick(g.carol, true)
	g.f.ClearFaults()
	if run := g.run(head); run.Conclusion != "action_required" {
		t.Fatalf("after a failed tick: %s", run.Conclusion)
	}
	if l, ok := checklist.ParseLedger(g.run(head).Output.Text, head); !ok || l.Approved() {
		t.Fatalf("ledger: %+v", l)
	}
	if strings.Contains(g.p.Logs.String(), "running a job that may revoke an approval again") ||
		g.p.Metric("migration_guard_revocation_fallbacks_total", "") != 0 {
		t.Errorf("a tick was treated as a revocation:\n%s", g.p.Logs)
	}
	next := g.push(map[string]string{"README.md": "# billing\n"})
	if run := g.run(next); run.Conclusion != "action_required" {
		t.Fatalf("after a push: %s", run.Conclusion)
	}
	g.tick(g.carol, false)
	g.tick(g.carol, true)
	g.expect(next, "success", true)
}

// TestUntickRevokesOnce: the control for the retries. A normal untick
// revokes at once, with one record, and its delivery replayed adds none.
func TestUntickRevokesOnce(t *testing.T) {
	g := newGate(t, fastRetries...)
	head := g.pr.HeadSHA
	g.tick(g.carol, true)
	g.expect(head, "success", true)
	d, err := g.f.EditComment(g.alice, g.sticky().ID, setBox(t, g.sticky().Body, false))
	if err != nil {
		t.Fatal(err)
	}
	g.p.deliver(g.f, d)
	g.expect(head, "action_required", false)
	if _, err := g.f.Deliver(d); err != nil {
		t.Fatal(err)
	}
	g.waitFor("the replay to settle", func() bool {
		return g.p.Metric("migration_guard_jobs_running", "") == 0 && g.p.Metric("migration_guard_queue_depth", "") == 0
	})
	run := g.expect(head, "action_required", false)
	if revs := revocations(t, run, head); len(revs) != 1 || revs[0].Login != "alice" || revs[0].Reason != "" {
		t.Errorf("revocations: %+v", revs)
	}
	if strings.Contains(g.p.Logs.String(), "running a job that may revoke an approval again") {
		t.Error("a job that finished was run again")
	}
}

// TestFailedCheckPointerMeetsUntickedBox: a push whose check fails after
// it found the approval to carry leaves a red run without a ledger that
// points back to the approved head (prior sha=). The next push follows
// the pointer and finds the approval; the comment's box decides whether
// it carries: ticked, green (the pointer works); unticked (an untick whose
// delivery was lost), red with the revocation, never the old approval.
func TestFailedCheckPointerMeetsUntickedBox(t *testing.T) {
	for _, ticked := range []bool{true, false} {
		name := map[bool]string{true: "box ticked", false: "box unticked"}[ticked]
		t.Run(name, func(t *testing.T) {
			g := newGate(t, fastRetries...)
			approved := g.pr.HeadSHA
			g.tick(g.carol, true)
			g.expect(approved, "success", true)

			// The comment write of the next push's check fails.
			g.f.FailNext("issues/update-comment", githubfake.ServerError(http.StatusServiceUnavailable), forever)
			failed := g.push(map[string]string{"README.md": "# billing\n"})
			g.f.ClearFaults()
			run := g.run(failed)
			if _, ok := checklist.ParseLedger(run.Output.Text, failed); ok || run.Conclusion != "failure" || checklist.PriorOf(run.Output.Text) != approved {
				t.Fatalf("the failed check: %s, prior %q, text %q", run.Conclusion, checklist.PriorOf(run.Output.Text), run.Output.Text)
			}
			if !ticked {
				// An untick whose delivery never arrived.
				if _, err := g.f.EditComment(g.alice, g.sticky().ID, setBox(t, g.sticky().Body, false)); err != nil {
					t.Fatal(err)
				}
			}
			next := g.push(map[string]string{"README.md": "# billing, again\n"})
			if ticked {
				g.expect(next, "success", true)
				return
			}
			run = g.expect(next, "action_required", false)
			l, _ := checklist.ParseLedger(run.Output.Text, next)
			if last := l.Records[len(l.Records)-1]; last.Kind != checklist.RecordRevocation || last.Reason != checklist.ReasonBoxUnticked() {
				t.Errorf("ledger: %+v", l.Records)
			}
		})
	}
}

// TestUntickRecordedWithoutTheJob: the untick's job cannot finish (the
// pull request's files cannot be listed, so the head cannot be analyzed)
// but the check run can be written: the revocation is recorded without
// the job, at once, and the check is red.
func TestUntickRecordedWithoutTheJob(t *testing.T) {
	g := newGate(t, fastRetries...)
	head := g.pr.HeadSHA
	g.tick(g.carol, true)
	g.expect(head, "success", true)

	g.f.FailNext("pulls/list-files", githubfake.ServerError(http.StatusBadGateway), forever)
	d := g.untick(g.alice)
	g.waitFor("the revocation's fallback", func() bool {
		return g.p.Metric("migration_guard_revocation_fallbacks_total", `result="recorded"`) >= 1
	})
	run := g.run(head)
	if run.Conclusion != "action_required" || run.Output.Title != "Approval revoked: needs approval again" {
		t.Fatalf("check: %s %q", run.Conclusion, run.Output.Title)
	}
	revs := revocations(t, run, head)
	if len(revs) != 1 || revs[0].Login != "alice" || revs[0].Delivery != d.GUID || revs[0].Reason != checklist.ReasonUntickUnfinished() {
		t.Errorf("revocations: %+v", revs)
	}
	if g.p.Metric("migration_guard_revocation_fallbacks_total", `result="scheduled"`) != 0 {
		t.Error("a reconcile was scheduled although the revocation was recorded")
	}
	// The comment still shows the approval (nothing could render it
	// without an analysis): a tick on it is refused and renders it; a
	// tick on the rendered comment counts.
	g.f.ClearFaults()
	g.tick(g.dave, true)
	g.expect(head, "action_required", false)
	g.tick(g.dave, true)
	g.expect(head, "success", true)
}

// TestUntickFallbackInProcess: the fallback and the scheduled reconcile
// in one process (run under the race detector too): every check run
// write fails, the untick's job is run five times, nothing can be
// written, a reconcile is scheduled, and once GitHub answers the untick's
// revocation is recorded.
func TestUntickFallbackInProcess(t *testing.T) {
	a := newApprovalEnv(t, "")
	head := a.pr.HeadSHA
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, head, "success", true)

	a.f.FailNext("checks/update", githubfake.ServerError(http.StatusServiceUnavailable), forever)
	d := a.tick(a.pr, a.author, false)
	a.waitFor("the reconcile scheduled", func() bool {
		return strings.Contains(a.logs.String(), "a revocation could not be recorded; a reconcile of the box is scheduled")
	})
	if n := strings.Count(a.logs.String(), "running a job that may revoke an approval again"); n < maxRevocationAttempts-1 {
		t.Errorf("the job ran again %d times, want %d", n, maxRevocationAttempts-1)
	}
	a.f.ClearFaults()
	a.waitFor("the revocation recorded", func() bool {
		runs := a.ourRuns(head)
		return runs[len(runs)-1].Conclusion == "action_required"
	})
	a.wait()
	run := a.expect(a.pr, head, "action_required", false)
	if revs := revocations(t, run, head); len(revs) != 1 || revs[0].Delivery != d.GUID || revs[0].Login != "alice" {
		t.Errorf("revocations: %+v", revs)
	}
}
