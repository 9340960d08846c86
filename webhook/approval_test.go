package webhook

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

var boxRE = regexp.MustCompile(`(?m)^- \[[ xX]\] \*\*Destructive changes approved\*\*`)

// sticky is the App's one sticky comment.
func (e *env) sticky(pr *githubfake.PullRequest) githubfake.IssueComment {
	e.t.Helper()
	s := e.stickies(pr)
	if len(s) != 1 {
		e.t.Fatalf("%d sticky comments, want 1; logs:\n%s", len(s), e.logs)
	}
	return s[0]
}

// setBox rewrites the box of body as GitHub's task list does on a click.
func setBox(t *testing.T, body string, ticked bool) string {
	t.Helper()
	locs := boxRE.FindAllStringIndex(body, -1)
	if len(locs) != 1 {
		t.Fatalf("%d approval boxes in the comment:\n%s", len(locs), body)
	}
	mark := "[ ]"
	if ticked {
		mark = "[x]"
	}
	at := locs[0][0] + 2
	return body[:at] + mark + body[at+3:]
}

// edit edits the sticky comment as user and delivers the webhook.
func (e *env) edit(pr *githubfake.PullRequest, user *githubfake.User, body string) *githubfake.Delivery {
	e.t.Helper()
	d, err := e.f.EditComment(user, e.sticky(pr).ID, body)
	if err != nil {
		e.t.Fatal(err)
	}
	e.deliver(d, http.StatusAccepted)
	e.wait()
	return d
}

// tick ticks (or unticks) the box as user and delivers the edit.
func (e *env) tick(pr *githubfake.PullRequest, user *githubfake.User, ticked bool) *githubfake.Delivery {
	e.t.Helper()
	return e.edit(pr, user, setBox(e.t, e.sticky(pr).Body, ticked))
}

// boxTicked says whether the sticky comment shows the box ticked.
func (e *env) boxTicked(pr *githubfake.PullRequest) bool {
	e.t.Helper()
	_, box, ok := checklist.CanonicalSticky(e.sticky(pr).Body)
	if !ok {
		e.t.Fatalf("the sticky comment has no approval box:\n%s", e.sticky(pr).Body)
	}
	return box.Ticked
}

// ledger is the ledger of the App's newest check run on sha.
func (e *env) ledger(sha string) *checklist.Ledger {
	e.t.Helper()
	runs := e.ourRuns(sha)
	if len(runs) == 0 {
		e.t.Fatalf("no check run on %s", sha)
	}
	l, ok := checklist.ParseLedger(runs[len(runs)-1].Output.Text, sha)
	if !ok {
		e.t.Fatalf("no ledger in the check run on %s:\n%s", sha, runs[len(runs)-1].Output.Text)
	}
	return l
}

// expect asserts the newest check run's conclusion on sha and the box.
func (e *env) expect(pr *githubfake.PullRequest, sha, conclusion string, ticked bool) githubfake.CheckRun {
	e.t.Helper()
	runs := e.ourRuns(sha)
	if len(runs) == 0 {
		e.t.Fatalf("no check run on %s; logs:\n%s", sha, e.logs)
	}
	run := runs[len(runs)-1]
	if run.Status != "completed" || run.Conclusion != conclusion {
		e.t.Fatalf("check run on %s: %s/%s, want completed/%s; summary:\n%s\nlogs:\n%s", sha[:7], run.Status, run.Conclusion, conclusion, run.Output.Summary, e.logs)
	}
	if got := e.boxTicked(pr); got != ticked {
		e.t.Fatalf("box ticked = %v, want %v; comment:\n%s", got, ticked, e.sticky(pr).Body)
	}
	return run
}

// approvalEnv is a repository with a pull request by alice that drops a
// column, checked (red), and people with every role.
type approvalEnv struct {
	*env
	pr                              *githubfake.PullRequest
	carol, dave, rita, tom, mallory *githubfake.User
}

func newApprovalEnv(t *testing.T, config string, opts ...githubfake.Option) *approvalEnv {
	t.Helper()
	e := newEnv(t, nil, opts...)
	if config != "" {
		e.repo.Commit(map[string]string{".github/migration-guard.yml": config})
	}
	a := &approvalEnv{env: e}
	a.carol, a.dave, a.mallory = e.f.AddUser("carol"), e.f.AddUser("dave"), e.f.AddUser("mallory")
	a.rita, a.tom = e.f.AddUser("rita"), e.f.AddUser("tom")
	e.f.SetRole(e.repo, a.carol, "write")
	e.f.SetRole(e.repo, a.dave, "maintain")
	e.f.SetRole(e.repo, a.mallory, "write")
	e.f.SetRole(e.repo, a.rita, "read")
	e.f.SetRole(e.repo, a.tom, "triage")
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	a.pr = pr
	e.expect(pr, pr.HeadSHA, "action_required", false)
	return a
}

// TestApprovalByWriter: a writer who is not the author ticks; the check
// turns green naming the approver, in the check run and in the comment.
func TestApprovalByWriter(t *testing.T) {
	a := newApprovalEnv(t, "")
	d := a.tick(a.pr, a.carol, true)
	run := a.expect(a.pr, a.pr.HeadSHA, "success", true)
	if !strings.Contains(run.Output.Summary, "Approved by @carol") || !strings.Contains(run.Output.Title, "Approved by @carol") {
		t.Errorf("check run does not name the approver:\n%s\n%s", run.Output.Title, run.Output.Summary)
	}
	if body := a.sticky(a.pr).Body; !strings.Contains(body, "Approved by @carol") {
		t.Errorf("comment does not name the approver:\n%s", body)
	}
	l := a.ledger(a.pr.HeadSHA)
	rec := l.Approval()
	if rec == nil || rec.Login != "carol" || rec.UserID != a.carol.ID || rec.Fingerprint != l.Fingerprint || rec.Head != a.pr.HeadSHA ||
		rec.Delivery != d.GUID || rec.Comment != a.sticky(a.pr).ID || rec.PR != a.pr.Number {
		t.Errorf("approval record: %+v", rec)
	}
	if n := len(a.ourRuns(a.pr.HeadSHA)); n != 1 {
		t.Errorf("%d check runs: the approval goes into the head's run", n)
	}
	if !strings.Contains(a.logs.String(), `"decision":"approved"`) {
		t.Error("no audit line")
	}
	if v := a.f.Violations(); len(v) != 0 {
		t.Errorf("contract violations: %+v", v)
	}
}

// TestAuthorTick: the author (with write access) ticks: red, box
// unticked, the reason in the comment.
func TestAuthorTick(t *testing.T) {
	a := newApprovalEnv(t, "")
	a.tick(a.pr, a.author, true)
	run := a.expect(a.pr, a.pr.HeadSHA, "action_required", false)
	body := a.sticky(a.pr).Body
	if !strings.Contains(body, "The tick by @alice was undone: @alice is the author of this pull request") {
		t.Errorf("no reason in the comment:\n%s", body)
	}
	if !strings.Contains(run.Output.Summary, "@alice is the author") {
		t.Errorf("no reason in the check run:\n%s", run.Output.Summary)
	}
	if a.ledger(a.pr.HeadSHA).Approved() {
		t.Error("approved")
	}
}
