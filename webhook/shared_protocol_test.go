package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// The approval protocol on a commit shared by several pull requests: each
// one's runs on a commit hold its own ledger, and its approval decisions
// read only those, whatever run of another pull request is newer there.

// untick delivers an untick of the pull request's box by who.
func (s *sharedCommit) untick(pr *githubfake.PullRequest, who *githubfake.User) {
	s.t.Helper()
	c := s.sticky(pr)
	d, err := s.f.EditComment(who, c.ID, setBox(s.t, c.Body, false))
	if err != nil {
		s.t.Fatal(err)
	}
	s.p.deliver(s.f, d)
}

// ownRun is the pull request's newest run on the head: its external id
// names it.
func (s *sharedCommit) ownRun(pr *githubfake.PullRequest) githubfake.CheckRun {
	s.t.Helper()
	var own githubfake.CheckRun
	for _, r := range s.f.CheckRuns(s.repo, s.head) {
		if r.App.ID == s.f.App().ID && strings.HasPrefix(r.ExternalID, "mg2:"+strconv.Itoa(pr.Number)+":") && r.ID > own.ID {
			own = r
		}
	}
	if own.ID == 0 {
		s.t.Fatalf("no run of #%d on the head\n%s", pr.Number, s.p.Logs)
	}
	return own
}

// pushAll pushes the shared branch to sha and delivers the synchronize
// event of each pull request on it.
func (s *sharedCommit) pushAll(sha string) {
	s.t.Helper()
	s.head = sha
	for _, d := range s.f.PushBranch(s.repo, "drop", sha) {
		s.p.deliver(s.f, d)
	}
}

// TestSharedCommitForcePushBackAfterRevocation: on a branch two pull
// requests share, an approval of the one into main is revoked on the head
// after the approved one; the author force-pushes the branch back to the
// approved commit. The other pull request's run on the head the push
// replaced is newer than main's there, and holds its own ledger (an
// approval the lax branch allows): main's revocation is still found, the
// approved commit is checked again, and the commit is red.
func TestSharedCommitForcePushBackAfterRevocation(t *testing.T) {
	s := newSharedCommit(t, "approval:\n  allow_author: true\n")
	s.openLax()
	s.tick(s.lax, s.alice)
	s.tick(s.main, s.carol)
	s.expectCommit("success")
	first := s.head

	s.pushAll(s.repo.CommitWith(githubfake.CommitOptions{Parent: first, Files: map[string]string{"README.md": "# billing\n"}}))
	s.expectCommit("success")
	if s.ownRun(s.lax).ID < s.ownRun(s.main).ID {
		t.Fatal("the other pull request's run is not the newer one on the replaced head: the test proves nothing")
	}
	s.untick(s.main, s.alice)
	s.expectCommit("action_required")

	s.pushAll(first)
	s.expectCommit("action_required")
	if run := s.ownRun(s.main); !strings.Contains(run.Output.Summary, "newer revocation or reset") {
		t.Errorf("the reset does not say why:\n%s", run.Output.Summary)
	}
	if l, ok := checklist.ParseLedger(s.ownRun(s.lax).Output.Text, first); !ok || !l.Approved() {
		t.Errorf("the other pull request's own approval was touched: %+v", l)
	}

	// Control: a writer who is not the author approves again.
	s.tick(s.main, s.dave)
	s.expectCommit("success")
	s.noViolations()
}

// TestSharedCommitUntickLostInCrash: on a commit two pull requests share,
// an untick of the one into main is accepted and lost with the process.
// The other pull request's run on the commit is the newer one and holds
// its own approved ledger; the reconcile on start still reads main's own
// run, finds its box unticked under the approval, and revokes it: the
// commit is red.
func TestSharedCommitUntickLostInCrash(t *testing.T) {
	s := newSharedCommit(t, "approval:\n  allow_author: true\n")
	s.openLax()
	s.tick(s.lax, s.alice)
	s.tick(s.main, s.carol)
	s.expectCommit("success")
	if s.ownRun(s.lax).ID < s.ownRun(s.main).ID {
		t.Fatal("the other pull request's run is not the newer one: the test proves nothing")
	}

	// The untick GitHub delivered and the process never decided.
	c := s.sticky(s.main)
	if _, err := s.f.EditComment(s.alice, c.ID, setBox(t, c.Body, false)); err != nil {
		t.Fatal(err)
	}
	s.p.Kill()
	s.p = startProcess(t, s.f)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.p.Logs.String(), `"msg":"reconcile done"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no reconcile after 30s:\n%s", s.p.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.expectCommit("action_required")
	l, _ := checklist.ParseLedger(s.ownRun(s.main).Output.Text, s.head)
	if l == nil || l.Approved() || l.Records[len(l.Records)-1].Kind != checklist.RecordRevocation {
		t.Errorf("main's ledger: %+v", l)
	}
	if l, ok := checklist.ParseLedger(s.ownRun(s.lax).Output.Text, s.head); !ok || !l.Approved() {
		t.Errorf("the other pull request's own approval was touched: %+v", l)
	}

	// Control: a writer who is not the author approves again.
	s.tick(s.main, s.carol)
	s.expectCommit("success")
	s.noViolations()
}

// TestFailedCheckPointsToPrior: a check that fails writes, through the
// commit's conclusion, its pull request's own verdict in the run's
// external id and, as the last line of its text, the commit its ledger
// would have been carried from; the next push follows that pointer past
// the failed head and carries the approval.
func TestFailedCheckPointsToPrior(t *testing.T) {
	a := newApprovalEnv(t, "")
	first := a.pr.HeadSHA
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, first, "success", true)

	a.f.FailNext("pulls/list-files", githubfake.ServerError(http.StatusBadGateway), 4)
	second := a.push(map[string]string{"README.md": "# billing\n\nChanged.\n"})
	run := a.onlyRun(second)
	if run.Conclusion != "failure" || !strings.HasSuffix(run.ExternalID, ":failure") || !strings.HasPrefix(run.ExternalID, "mg2:"+strconv.Itoa(a.pr.Number)+":") {
		t.Fatalf("failed run: %s (%s)", run.Conclusion, run.ExternalID)
	}
	if got := checklist.PriorOf(run.Output.Text); got != first {
		t.Fatalf("the failed run points to %q, want %s:\n%s", got, first[:7], run.Output.Text)
	}

	third := a.push(map[string]string{"README.md": "# billing\n\nChanged again.\n"})
	if run := a.expect(a.pr, third, "success", true); !strings.Contains(run.Output.Summary, "approval carried from "+first[:7]) {
		t.Errorf("not carried past the failed head:\n%s", run.Output.Summary)
	}
}
