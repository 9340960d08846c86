package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// waitFor polls until cond holds (a job's outcome counted, say): the
// assertions follow on GitHub's state; the deadline only ends a test that
// hangs.
func (g *gate) waitFor(what string, cond func() bool) {
	g.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			g.t.Fatalf("%s: not after 30s\n%s", what, g.p.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// crashWithEditQueued delivers an edit of the sticky comment by user (202
// accepted), and kills the process with SIGKILL while the edit's job is
// held at its first call to GitHub: the edit was accepted and never
// decided. Then it starts a new process.
func (g *gate) crashWithEditQueued(user *githubfake.User, ticked bool) {
	g.t.Helper()
	fault, reached := githubfake.Hold(make(chan struct{}))
	g.f.FailNext("pulls/get", fault, 1)
	d, err := g.f.EditComment(user, g.sticky().ID, setBox(g.t, g.sticky().Body, ticked))
	if err != nil {
		g.t.Fatal(err)
	}
	if code, err := g.f.Deliver(d); err != nil || code != http.StatusAccepted {
		g.t.Fatalf("the edit was not accepted: %d %v", code, err)
	}
	<-reached
	g.p.Kill()
	if logs := g.p.Logs.String(); strings.Contains(logs, `"msg":"approval decision"`+`,"deliveries":["`+d.GUID) {
		g.t.Fatal("the edit was decided before the kill: the test proves nothing")
	}
	g.p = startProcess(g.t, g.f)
}

// TestUntickLostInCrash: an untick accepted (202) and still queued when
// the process is killed is not forgotten. GitHub does not redeliver an
// accepted delivery; on start the App finds the comment's box unticked
// under an approval it cannot account for, and revokes it. The gate is red
// on that head and stays red after the next push.
func TestUntickLostInCrash(t *testing.T) {
	g := newGate(t)
	head := g.pr.HeadSHA
	g.tick(g.carol, true)
	g.expect(head, "success", true)

	g.crashWithEditQueued(g.alice, false)
	g.waitFor("the reconcile's job revoking the approval", func() bool {
		return g.p.Metric("migration_guard_jobs_total", `outcome="revoked"`) >= 1 && g.p.Metric("migration_guard_jobs_running", "") == 0
	})
	run := g.expect(head, "action_required", false)
	l, _ := checklist.ParseLedger(run.Output.Text, head)
	if last := l.Records[len(l.Records)-1]; last.Kind != checklist.RecordRevocation || !strings.Contains(last.Reason, "an untick may have been accepted") {
		t.Errorf("ledger: %+v", l.Records)
	}
	if body := g.sticky().Body; !strings.Contains(body, "The approval by @carol was revoked at") {
		t.Errorf("the comment does not say it was revoked:\n%s", body)
	}
	next := g.push(map[string]string{"README.md": "# billing\n"})
	g.expect(next, "action_required", false)

	// Control: a writer who is not the author approves again.
	g.tick(g.dave, true)
	g.expect(next, "success", true)
	if v := g.f.Violations(); len(v) != 0 {
		t.Errorf("contract violations: %+v", v)
	}
}

// TestTickLostInCrash: a tick accepted and lost in a crash approves
// nothing: after the restart the box is shown unticked again, saying the
// tick was not recorded, and the check stays red. A tick made again
// counts.
func TestTickLostInCrash(t *testing.T) {
	g := newGate(t)
	head := g.pr.HeadSHA
	g.crashWithEditQueued(g.carol, true)
	// The tick is older than the reconcile's wait for deliveries in
	// flight only if time passes; the restarted process must still not
	// count it: the check stays red whatever the comment shows.
	if run := g.run(head); run.Conclusion != "action_required" {
		t.Fatalf("after the restart: %s", run.Conclusion)
	}
	g.tick(g.carol, false)
	g.expect(head, "action_required", false)
	g.tick(g.carol, true)
	g.expect(head, "success", true)
}
