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

// TestAuthorAllowedByBase: allow_author in the base configuration lets
// the author approve.
func TestAuthorAllowedByBase(t *testing.T) {
	a := newApprovalEnv(t, "approval:\n  allow_author: true\n")
	a.tick(a.pr, a.author, true)
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	if rec := a.ledger(a.pr.HeadSHA).Approval(); rec == nil || rec.Login != "alice" {
		t.Errorf("approval: %+v", rec)
	}
}

// TestAllowAuthorInHeadIgnored: the same setting in the pull request's
// own head changes nothing.
func TestAllowAuthorInHeadIgnored(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("sneaky", map[string]string{
		".github/migration-guard.yml": "approval:\n  allow_author: true\n",
		"db/migrations/002_drop.sql":  dropLegacy,
	})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	e.tick(pr, e.author, true)
	e.expect(pr, pr.HeadSHA, "action_required", false)
}

// TestCommitterTick: whoever wrote or committed one of the pull request's
// commits cannot approve it, even with write access.
func TestCommitterTick(t *testing.T) {
	e := newEnv(t, nil)
	bob, cora := e.f.AddUser("bob"), e.f.AddUser("cora")
	e.f.SetRole(e.repo, bob, "write")
	e.f.SetRole(e.repo, cora, "write")
	e.repo.CommitWith(githubfake.CommitOptions{Branch: "drop", Files: map[string]string{"db/migrations/002_drop.sql": dropLegacy}, Author: e.author})
	e.repo.CommitWith(githubfake.CommitOptions{Branch: "drop", Files: map[string]string{"README.md": "# billing\n"}, Author: bob})
	e.repo.CommitWith(githubfake.CommitOptions{Branch: "drop", Files: map[string]string{"NOTES.md": "notes\n"}, Author: e.author, Committer: cora})
	pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: "drop"})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	e.tick(pr, bob, true)
	e.expect(pr, pr.HeadSHA, "action_required", false)
	if body := e.sticky(pr).Body; !strings.Contains(body, "@bob is the author of commit") {
		t.Errorf("reason:\n%s", body)
	}
	e.tick(pr, cora, true)
	e.expect(pr, pr.HeadSHA, "action_required", false)
	if body := e.sticky(pr).Body; !strings.Contains(body, "@cora is the committer of commit") || strings.Contains(body, "@bob") {
		t.Errorf("reason (the last refusal replaces the one before):\n%s", body)
	}
}

// sendAs delivers the edit made by editor as if sender had made it: for
// senders GitHub would not let edit, whose ticks the App must still
// refuse on its own.
func (a *approvalEnv) sendAs(sender *githubfake.User, ticked bool) {
	a.t.Helper()
	c := a.sticky(a.pr)
	if _, err := a.f.EditComment(a.mallory, c.ID, setBox(a.t, c.Body, ticked)); err != nil {
		a.t.Fatal(err)
	}
	d, err := a.f.IssueCommentEvent(c.ID, "edited", sender, c.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	a.deliver(d, http.StatusAccepted)
	a.wait()
}

// TestUnqualifiedSenders: a read-only user, a triage user, a bot and the
// App itself cannot approve; each tick is undone with its reason.
func TestUnqualifiedSenders(t *testing.T) {
	a := newApprovalEnv(t, "")
	bot := a.f.AddBot("deploy-helper[bot]")
	a.f.SetRole(a.repo, bot, "admin")
	for _, tt := range []struct {
		name   string
		sender *githubfake.User
		reason string
	}{
		{"read", a.rita, "@rita has the `read` role on this repository; approving needs write or higher"},
		{"triage", a.tom, "@tom has the `triage` role"},
		{"bot", bot, "@deploy-helper[bot] is a bot"},
		{"app", a.f.App().Bot, "the App cannot approve its own check"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a.sendAs(tt.sender, true)
			run := a.expect(a.pr, a.pr.HeadSHA, "action_required", false)
			if body := a.sticky(a.pr).Body; !strings.Contains(body, tt.reason) {
				t.Errorf("reason %q not in the comment:\n%s", tt.reason, body)
			}
			if !strings.Contains(run.Output.Summary, tt.reason) {
				t.Errorf("reason %q not in the check run:\n%s", tt.reason, run.Output.Summary)
			}
		})
	}
	if a.ledger(a.pr.HeadSHA).Approved() {
		t.Error("approved")
	}
}

// TestCustomRole: a custom role qualifies only when the base names it.
func TestCustomRole(t *testing.T) {
	for _, tt := range []struct {
		config, conclusion string
		ticked             bool
	}{
		{"", "action_required", false},
		{"approval:\n  roles: [db-reviewer]\n", "success", true},
	} {
		a := newApprovalEnv(t, tt.config)
		rev := a.f.AddUser("rev")
		a.f.SetCustomRole(a.repo, rev, "db-reviewer", "write")
		a.tick(a.pr, rev, true)
		a.expect(a.pr, a.pr.HeadSHA, tt.conclusion, tt.ticked)
		if !tt.ticked && !strings.Contains(a.sticky(a.pr).Body, "@rev has the `db-reviewer` role") {
			t.Errorf("reason:\n%s", a.sticky(a.pr).Body)
		}
	}
}

// TestAllowlist: with users and teams configured, a writer outside them
// cannot approve; an active member of a listed team can; a pending
// invitation is not a membership.
func TestAllowlist(t *testing.T) {
	a := newApprovalEnv(t, "approval:\n  users: [dave]\n  teams: [dba]\n")
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, a.pr.HeadSHA, "action_required", false)
	if !strings.Contains(a.sticky(a.pr).Body, "@carol is not one of the approvers listed") {
		t.Errorf("reason:\n%s", a.sticky(a.pr).Body)
	}
	a.f.AddTeamMember("acme", "dba", a.mallory, "member", true)
	a.tick(a.pr, a.mallory, true)
	a.expect(a.pr, a.pr.HeadSHA, "action_required", false)

	a.f.AddTeamMember("acme", "dba", a.carol, "member", false)
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	if n := a.f.Count("teams/get-membership-for-user-in-org"); n == 0 {
		t.Error("team membership never asked")
	}
}

// TestForgedText: a writer edits the App's hidden text, or writes an
// approval in by hand; neither approves, and the comment is rendered
// back from the analysis and the ledger.
func TestForgedText(t *testing.T) {
	a := newApprovalEnv(t, "")
	original := a.sticky(a.pr).Body
	l := a.ledger(a.pr.HeadSHA)
	forgeries := map[string]string{
		"marker":                strings.Replace(original, l.Fingerprint, strings.Repeat("0", 64), 1),
		"approved by hand":      setBox(t, strings.Replace(original, "⏳ **Waiting for approval**", "✅ **Approved by @admin**", 1), true),
		"statement removed":     strings.Replace(original, "| `db/migrations/002_drop.sql` | 2 |", "| `db/migrations/002_other.sql` | 9 |", 1),
		"ledger in the comment": setBox(t, original, true) + "\n" + l.Marker(),
		"sticky marker removed": strings.Replace(setBox(t, original, true), "<!-- migration-guard:sticky -->\n", "", 1),
	}
	for name, body := range forgeries {
		t.Run(name, func(t *testing.T) {
			a.edit(a.pr, a.mallory, body)
			a.expect(a.pr, a.pr.HeadSHA, "action_required", false)
			got := a.sticky(a.pr).Body
			if strings.Contains(got, "@admin") || strings.Contains(got, "002_other") || strings.Contains(got, strings.Repeat("0", 64)) {
				t.Errorf("the forgery stayed:\n%s", got)
			}
			if !strings.Contains(got, "The edit by @mallory was undone: only the approval box may be changed") {
				t.Errorf("no note:\n%s", got)
			}
			if strings.Replace(got, "\n⚠ The edit by @mallory was undone: only the approval box may be changed in this comment, so the App's text was put back.\n", "", 1) != original {
				t.Errorf("not rendered back to the App's text:\n%s", got)
			}
		})
	}
	if a.ledger(a.pr.HeadSHA).Approved() {
		t.Error("approved")
	}
}

// push commits files on the pull request's branch and delivers the
// synchronize event.
func (a *approvalEnv) push(files map[string]string) string {
	a.t.Helper()
	sha := a.repo.CommitOn("drop", files)
	a.deliver(a.f.Push(a.pr, sha), http.StatusAccepted)
	a.wait()
	return sha
}

// TestPushKeepsOrResetsApproval: a push that leaves the statements alone
// carries the approval to the new head; one that adds a DROP resets it,
// saying what was added.
func TestPushKeepsOrResetsApproval(t *testing.T) {
	a := newApprovalEnv(t, "")
	first := a.pr.HeadSHA
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, first, "success", true)

	readme := a.push(map[string]string{"README.md": "# billing\n\nMore words.\n"})
	run := a.expect(a.pr, readme, "success", true)
	if l := a.ledger(readme); l.CarriedFrom != first || l.Approval() == nil || l.Approval().Login != "carol" {
		t.Errorf("ledger after a README push: %+v", l)
	}
	if want := "approval carried from " + first[:7]; !strings.Contains(run.Output.Summary, want) || !strings.Contains(a.sticky(a.pr).Body, want) {
		t.Errorf("%q not said:\n%s", want, run.Output.Summary)
	}

	// Moving the statement and respelling it keeps the approval too.
	moved := a.push(map[string]string{"db/migrations/002_drop.sql": "-- Clean up, reviewed.\n\nalter table users\n  drop column legacy;\n"})
	a.expect(a.pr, moved, "success", true)

	second := a.push(map[string]string{"db/migrations/002_drop.sql": "alter table users drop column legacy;\nALTER TABLE users DROP COLUMN email;\n"})
	run = a.expect(a.pr, second, "action_required", false)
	body := a.sticky(a.pr).Body
	for _, want := range []string{"The approval by @carol", "was reset at " + second[:7], "Added: db/migrations/002_drop.sql:2 `ALTER TABLE users DROP COLUMN email;`"} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not in the comment:\n%s", want, body)
		}
		if !strings.Contains(run.Output.Summary, want) {
			t.Errorf("%q not in the check run:\n%s", want, run.Output.Summary)
		}
	}
	l := a.ledger(second)
	if last := l.Records[len(l.Records)-1]; last.Kind != checklist.RecordReset || last.Changes == nil || len(last.Changes.Added) != 1 {
		t.Errorf("reset record: %+v", last)
	}

	// The new statements need a new tick, which counts.
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, second, "success", true)
}

// TestOldFingerprintTick: a tick given on the comment of an earlier head
// never approves the statements of a newer one, whichever arrives first.
func TestOldFingerprintTick(t *testing.T) {
	t.Run("push first", func(t *testing.T) {
		a := newApprovalEnv(t, "")
		c := a.sticky(a.pr)
		tick, err := a.f.EditComment(a.carol, c.ID, setBox(t, c.Body, true))
		if err != nil {
			t.Fatal(err)
		}
		second := a.push(map[string]string{"db/migrations/003_drop_email.sql": "ALTER TABLE users DROP COLUMN email;\n"})
		a.expect(a.pr, second, "action_required", false)
		a.deliver(tick, http.StatusAccepted)
		a.wait()
		a.expect(a.pr, second, "action_required", false)
		if body := a.sticky(a.pr).Body; !strings.Contains(body, "The tick by @carol was undone: the box was ticked for fingerprint") {
			t.Errorf("reason:\n%s", body)
		}
	})
	t.Run("tick first", func(t *testing.T) {
		a := newApprovalEnv(t, "")
		a.tick(a.pr, a.carol, true)
		second := a.push(map[string]string{"db/migrations/003_drop_email.sql": "ALTER TABLE users DROP COLUMN email;\n"})
		a.expect(a.pr, second, "action_required", false)
		if body := a.sticky(a.pr).Body; !strings.Contains(body, "Added: db/migrations/003_drop_email.sql:1") {
			t.Errorf("reset reason:\n%s", body)
		}
	})
}

// TestTickWhileChecking: a tick that arrives while the pull request's
// head has no finished check yet is refused as in progress; the head is
// checked and stays red.
func TestTickWhileChecking(t *testing.T) {
	a := newApprovalEnv(t, "")
	second := a.repo.CommitOn("drop", map[string]string{"README.md": "# billing\n\nChanged.\n"})
	sync := a.f.Push(a.pr, second)
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, second, "action_required", false)
	want := "The tick by @carol was undone: the analysis of " + second[:7] + " was in progress: tick again when it completes."
	if body := a.sticky(a.pr).Body; !strings.Contains(body, want) {
		t.Errorf("%q not in the comment:\n%s", want, body)
	}
	before := len(a.f.Mutations())
	a.deliver(sync, http.StatusAccepted)
	a.wait()
	if after := a.f.Mutations(); len(after) != before {
		t.Errorf("the push's own job wrote again: %+v", writes(after[before:]))
	}
	// Once the check is done, the same tick counts.
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, second, "success", true)
}

// TestRevokeAndApproveAgain: unticking revokes (recorded in the ledger);
// a new tick by someone allowed approves again.
func TestRevokeAndApproveAgain(t *testing.T) {
	a := newApprovalEnv(t, "")
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	// Anyone may revoke, the author too: revoking is the safe direction.
	a.tick(a.pr, a.author, false)
	run := a.expect(a.pr, a.pr.HeadSHA, "action_required", false)
	l := a.ledger(a.pr.HeadSHA)
	last := l.Records[len(l.Records)-1]
	if last.Kind != checklist.RecordRevocation || last.Login != "alice" || last.Fingerprint != l.Fingerprint {
		t.Errorf("revocation: %+v", last)
	}
	want := "The approval by @carol was revoked by @alice"
	if !strings.Contains(a.sticky(a.pr).Body, want) || !strings.Contains(run.Output.Summary, want) {
		t.Errorf("revocation not shown:\n%s", a.sticky(a.pr).Body)
	}
	a.tick(a.pr, a.dave, true)
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	if rec := a.ledger(a.pr.HeadSHA).Approval(); rec == nil || rec.Login != "dave" {
		t.Errorf("approval: %+v", rec)
	}
}

// TestRerunKeepsApproval: a re-run of the same head makes a new check run
// that keeps the approval, read from the run it replaces.
func TestRerunKeepsApproval(t *testing.T) {
	a := newApprovalEnv(t, "")
	a.tick(a.pr, a.carol, true)
	first := a.expect(a.pr, a.pr.HeadSHA, "success", true)
	rerun, err := a.f.CheckRunEvent(first.ID, "rerequested", a.author)
	if err != nil {
		t.Fatal(err)
	}
	a.deliver(rerun, http.StatusAccepted)
	a.wait()
	if n := len(a.ourRuns(a.pr.HeadSHA)); n != 2 {
		t.Fatalf("%d check runs after a re-run", n)
	}
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	suite, err := a.f.CheckSuiteEvent(first.Suite.ID, "rerequested", a.author)
	if err != nil {
		t.Fatal(err)
	}
	a.deliver(suite, http.StatusAccepted)
	a.wait()
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	// A duplicate of the opening delivery is the "same inputs" shortcut:
	// nothing is written, and the approval stays.
	before := len(a.f.Mutations())
	a.deliver(a.f.PullRequestEvent(a.pr, "opened", a.author), http.StatusAccepted)
	a.wait()
	if after := a.f.Mutations(); len(after) != before {
		t.Errorf("an unchanged head was written: %+v", writes(after[before:]))
	}
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
}

// TestReplayedDeliveries: the same delivery twice, or one with a bad
// signature, changes nothing; neither does the same delivery after the
// service forgot it (a restart): the ledger remembers what it decided.
func TestReplayedDeliveries(t *testing.T) {
	a := newApprovalEnv(t, "")
	d := a.tick(a.pr, a.carol, true)
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	before := len(a.f.Mutations())
	a.deliver(d, http.StatusAccepted)
	if !strings.Contains(d.ResponseBody, "duplicate") {
		t.Errorf("second delivery: %q", d.ResponseBody)
	}
	a.wait()
	c := a.sticky(a.pr)
	untick, err := a.f.EditComment(a.author, c.ID, setBox(t, c.Body, false))
	if err != nil {
		t.Fatal(err)
	}
	a.deliver(untick, http.StatusUnauthorized, githubfake.WrongSignature())
	a.wait()
	if after := a.f.Mutations(); len(after) != before {
		t.Errorf("replays wrote: %+v", writes(after[before:]))
	}
	// The forged untick changed the comment on GitHub but not the ledger.
	if !a.ledger(a.pr.HeadSHA).Approved() {
		t.Error("a delivery with a bad signature revoked the approval")
	}

	// Replayed after the service forgot it, the delivery decides nothing
	// again (the ledger knows it); it only makes the comment show the
	// ledger, which the unsigned edit had changed on GitHub.
	a.srv.seen.Release(d.GUID)
	a.deliver(d, http.StatusAccepted)
	a.wait()
	if w := writes(a.f.Mutations()[before:]); len(w) != 1 || w["issues/update-comment"] != 1 {
		t.Errorf("a forgotten delivery wrote: %+v", w)
	}
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	if l := a.ledger(a.pr.HeadSHA); len(l.Records) != 1 {
		t.Errorf("decided again: %+v", l.Records)
	}
	if !strings.Contains(a.logs.String(), `"decision":"duplicate"`) {
		t.Error("no audit line for the replay")
	}
}

// TestApprovalEchoesDoNotLoop: the edits GitHub reports for the App's own
// writes of an approved comment (box ticked) are checked and change
// nothing; unticked ones start no job at all.
func TestApprovalEchoesDoNotLoop(t *testing.T) {
	a := newApprovalEnv(t, "", githubfake.WithEchoWebhooks())
	settle := func() {
		for range 3 {
			a.f.Wait()
			a.wait()
		}
	}
	settle()
	a.tick(a.pr, a.carol, true)
	settle()
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	before := len(a.f.Mutations())
	settle()
	if after := a.f.Mutations(); len(after) != before {
		t.Errorf("echoes wrote: %+v", writes(after[before:]))
	}
	if !strings.Contains(a.logs.String(), `"reason":"the comment already shows the ledger"`) {
		t.Error("the ticked echo was not checked")
	}
	a.tick(a.pr, a.carol, false)
	settle()
	a.expect(a.pr, a.pr.HeadSHA, "action_required", false)
	before = len(a.f.Mutations())
	settle()
	if after := a.f.Mutations(); len(after) != before {
		t.Errorf("echoes wrote: %+v", writes(after[before:]))
	}
}

// TestRetargetResetsApproval: an approval given under one base branch's
// configuration does not follow the pull request to another base: an
// author could otherwise approve against a lax branch of their own and
// retarget to main.
func TestRetargetResetsApproval(t *testing.T) {
	e := newEnv(t, nil)
	e.repo.CommitOn("lax", map[string]string{".github/migration-guard.yml": "approval:\n  allow_author: true\n"})
	e.repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: "drop", Base: "lax"})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	e.tick(pr, e.author, true)
	e.expect(pr, pr.HeadSHA, "success", true)

	e.deliver(e.f.EditPR(pr, e.author, githubfake.PREdit{Base: "main"}), http.StatusAccepted)
	e.wait()
	run := e.expect(pr, pr.HeadSHA, "action_required", false)
	want := "base branch changed from `lax` to `main`"
	if !strings.Contains(run.Output.Summary, want) || !strings.Contains(e.sticky(pr).Body, want) {
		t.Errorf("%q not said:\n%s", want, run.Output.Summary)
	}
	e.tick(pr, e.author, true)
	e.expect(pr, pr.HeadSHA, "action_required", false)
}

// TestMergeGroupCarriesApproval: the merge queue's commit passes when it
// needs approval for exactly what the queued pull request's approval
// covers; with more (a pull request queued ahead of it), it stays red.
func TestMergeGroupCarriesApproval(t *testing.T) {
	a := newApprovalEnv(t, "")
	queue := func(files map[string]string) githubfake.CheckRun {
		t.Helper()
		sha := a.repo.CommitWith(githubfake.CommitOptions{Branch: "gh-readonly-queue/main/pr-1", Parent: a.repo.Branch("main"), Files: files})
		d, err := a.f.MergeGroupEvent(a.pr, sha, a.author)
		if err != nil {
			t.Fatal(err)
		}
		a.deliver(d, http.StatusAccepted)
		a.wait()
		return a.onlyRun(sha)
	}
	if run := queue(map[string]string{"db/migrations/002_drop.sql": dropLegacy}); run.Conclusion != "action_required" {
		t.Fatalf("queued before approval: %s", run.Conclusion)
	}
	a.tick(a.pr, a.carol, true)
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	run := queue(map[string]string{"db/migrations/002_drop.sql": dropLegacy, "NOTES.md": "queued\n"})
	if run.Conclusion != "success" || !strings.Contains(run.Output.Summary, "Approved by @carol") {
		t.Errorf("queued after approval: %s\n%s", run.Conclusion, run.Output.Summary)
	}
	run = queue(map[string]string{"db/migrations/002_drop.sql": dropLegacy, "db/migrations/003_other.sql": "DROP TABLE users;\n"})
	if run.Conclusion != "action_required" {
		t.Errorf("a queue commit with more to approve: %s\n%s", run.Conclusion, run.Output.Summary)
	}
	if n := len(a.f.IssueComments(a.pr)); n != 1 {
		t.Errorf("%d comments: merge groups comment nothing", n)
	}
}

// TestRedeliveryHealsComment: when a decision reached the check run but
// the comment write failed, GitHub's redelivery of the same edit shows
// the recorded decision in the comment without deciding again.
func TestRedeliveryHealsComment(t *testing.T) {
	a := newApprovalEnv(t, "")
	c := a.sticky(a.pr)
	d, err := a.f.EditComment(a.carol, c.ID, setBox(t, c.Body, true))
	if err != nil {
		t.Fatal(err)
	}
	a.f.FailNext("issues/update-comment", githubfake.ServerError(http.StatusBadGateway), 10)
	a.deliver(d, http.StatusAccepted)
	a.wait()
	if run := a.onlyRun(a.pr.HeadSHA); run.Conclusion != "success" {
		t.Fatalf("the ledger was not written first: %s", run.Conclusion)
	}
	if strings.Contains(a.sticky(a.pr).Body, "Approved by") {
		t.Fatal("the comment write did not fail: the test proves nothing")
	}
	a.srv.seen.Release(d.GUID)
	a.deliver(d, http.StatusAccepted)
	a.wait()
	a.expect(a.pr, a.pr.HeadSHA, "success", true)
	if l := a.ledger(a.pr.HeadSHA); len(l.Records) != 1 {
		t.Errorf("decided twice: %+v", l.Records)
	}
}

// TestUntickAfterFailedCheck: a head whose check failed (GitHub could not
// be read) has no ledger. An untick on the comment, which still shows the
// approved head before it, revokes: the head is checked again, carrying
// the approval, and the revocation is recorded on top.
func TestUntickAfterFailedCheck(t *testing.T) {
	a := newApprovalEnv(t, "")
	a.tick(a.pr, a.carol, true)
	first := a.pr.HeadSHA
	a.f.FailNext("pulls/list-files", githubfake.ServerError(http.StatusBadGateway), 4)
	second := a.push(map[string]string{"README.md": "# billing\n\nChanged.\n"})
	if run := a.onlyRun(second); run.Conclusion != "failure" {
		t.Fatalf("check: %s", run.Conclusion)
	}
	if !a.boxTicked(a.pr) || checklist.StickyHead(a.sticky(a.pr).Body) != first {
		t.Fatalf("comment before the untick:\n%s", a.sticky(a.pr).Body)
	}
	a.tick(a.pr, a.dave, false)
	if runs := a.ourRuns(second); len(runs) != 2 {
		t.Fatalf("%d check runs on the failed head, want a second one", len(runs))
	}
	a.expect(a.pr, second, "action_required", false)
	l := a.ledger(second)
	if last := l.Records[len(l.Records)-1]; last.Kind != checklist.RecordRevocation || last.Login != "dave" || l.CarriedFrom != first {
		t.Errorf("ledger: %+v", l)
	}
}
