package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/analyzer"
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

// TestPriorRunsOfOwnPullRequest: where a head's ledger comes from is read
// from the pull request's own runs on a commit, with its own verdict:
// another pull request's newer run there (its ledger, or the commit's
// stricter conclusion) neither stops the search nor turns a superseded
// run's pointer into a dead end.
func TestPriorRunsOfOwnPullRequest(t *testing.T) {
	const sha, from = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	ledgerOf := func(pr int) string {
		return checklist.NewLedger(pr, sha, "base", "main", &analyzer.Report{}).Marker()
	}
	run := func(id int64, ext, conclusion, text string) *github.CheckRun {
		return &github.CheckRun{ID: github.Int64(id), ExternalID: github.String(ext), Status: github.String("completed"),
			Conclusion: github.String(conclusion), Output: &github.CheckRunOutput{Text: github.String(text)}}
	}
	mine, theirs := inputsIDFor(1, "base", sha, "v1"), inputsIDFor(2, "lax", sha, "v1")
	for _, tc := range []struct {
		name string
		runs []*github.CheckRun // newest first
		want checklist.PriorStep
	}{
		{"a sibling's newer ledger", []*github.CheckRun{
			run(9, theirs+":success", "success", ledgerOf(2)),
			run(8, mine+":success", "success", ledgerOf(1)),
		}, checklist.PriorStep{Ledger: &checklist.Ledger{PR: 1}}},
		{"superseded, the commit held red by a sibling", []*github.CheckRun{
			run(9, theirs+":action_required", "action_required", ledgerOf(2)),
			run(8, mine+":cancelled", "action_required", "Superseded.\n\n"+checklist.PriorText(from)),
		}, checklist.PriorStep{Follow: from}},
		{"an older version's run of another pull request", []*github.CheckRun{
			run(9, "mg1:0123456789abcdef01234567", "success", ledgerOf(2)),
			run(8, mine+":success", "success", ledgerOf(1)),
		}, checklist.PriorStep{Stop: "the check of 1111111 belongs to another pull request"}},
		{"only a sibling's run", []*github.CheckRun{
			run(9, theirs+":success", "success", ledgerOf(2)),
		}, checklist.PriorStep{LookBefore: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checklist.PriorAt(1, sha, priorRunsOf(tc.runs, 1))
			if (got.Ledger == nil) != (tc.want.Ledger == nil) || (got.Ledger != nil && got.Ledger.PR != 1) ||
				got.Follow != tc.want.Follow || got.Stop != tc.want.Stop || got.LookBefore != tc.want.LookBefore {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
