package webhook

import (
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// gate is a pull request driven through the built binary, with what the
// tests read of it.
type gate struct {
	t    *testing.T
	f    *githubfake.Fake
	repo *githubfake.Repo
	pr   *githubfake.PullRequest
	p    *process

	alice, carol, dave *githubfake.User
}

// newGate opens alice's pull request dropping a column, against a served
// binary; carol and dave are writers, alice the author (a writer too).
func newGate(t *testing.T, env ...string) *gate {
	t.Helper()
	f := githubfake.New(t, githubfake.WithResponseValidation())
	g := &gate{t: t, f: f}
	g.repo = f.AddRepo("acme/billing")
	f.Install("acme", g.repo)
	g.alice, g.carol, g.dave = f.AddUser("alice"), f.AddUser("carol"), f.AddUser("dave")
	for _, u := range []*githubfake.User{g.alice, g.carol, g.dave} {
		f.SetRole(g.repo, u, "write")
	}
	g.repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	g.repo.CommitWith(githubfake.CommitOptions{Branch: "drop", Files: map[string]string{"db/migrations/002_drop.sql": dropLegacy}, Author: g.alice, Committer: g.alice})
	var opened *githubfake.Delivery
	g.pr, opened = f.OpenPR(g.repo, githubfake.PROptions{Author: g.alice, Head: "drop"})
	g.p = startProcess(t, f, env...)
	g.p.deliver(f, opened)
	g.expect(g.pr.HeadSHA, "action_required", false)
	return g
}

// run is the App's newest check run on sha.
func (g *gate) run(sha string) githubfake.CheckRun {
	g.t.Helper()
	var last githubfake.CheckRun
	for _, r := range g.f.CheckRuns(g.repo, sha) {
		if r.App.ID == g.f.App().ID && r.Name == checklist.CheckRunName && r.ID > last.ID {
			last = r
		}
	}
	if last.ID == 0 {
		g.t.Fatalf("no check run on %s:\n%s", sha[:7], g.p.Logs)
	}
	return last
}

func (g *gate) sticky() githubfake.IssueComment {
	g.t.Helper()
	for _, c := range g.f.IssueComments(g.pr) {
		if c.Author.Login == g.f.App().Bot.Login && checklist.IsStickyComment(c.Body) {
			return c
		}
	}
	g.t.Fatal("no sticky comment")
	return githubfake.IssueComment{}
}

// expect checks the conclusion on sha and what the comment says of it.
func (g *gate) expect(sha, conclusion string, approved bool) githubfake.CheckRun {
	g.t.Helper()
	run := g.run(sha)
	if run.Conclusion != conclusion {
		g.t.Fatalf("check on %s: %s, want %s\n%s\n%s", sha[:7], run.Conclusion, conclusion, run.Output.Summary, g.p.Logs)
	}
	body := g.sticky().Body
	_, box, ok := checklist.CanonicalSticky(body)
	switch {
	case conclusion == "success" && !approved:
		// Nothing needs approval.
	case !ok || box.Ticked != approved || strings.Contains(body, "Approved by") != approved ||
		checklist.StickyHead(body) != sha:
		g.t.Fatalf("the comment does not show %s approved=%v:\n%s", sha[:7], approved, body)
	}
	if l, ok := checklist.ParseLedger(run.Output.Text, sha); conclusion != "success" || approved {
		if !ok || l.Approved() != approved {
			g.t.Fatalf("ledger on %s: %+v (approved %v)", sha[:7], l, approved)
		}
	}
	return run
}

func (g *gate) editSticky(user *githubfake.User, body string) {
	g.t.Helper()
	d, err := g.f.EditComment(user, g.sticky().ID, body)
	if err != nil {
		g.t.Fatal(err)
	}
	g.p.deliver(g.f, d)
}

func (g *gate) tick(user *githubfake.User, ticked bool) {
	g.t.Helper()
	g.editSticky(user, setBox(g.t, g.sticky().Body, ticked))
}

func (g *gate) push(files map[string]string) string {
	g.t.Helper()
	sha := g.repo.CommitWith(githubfake.CommitOptions{Branch: "drop", Files: files, Author: g.alice, Committer: g.alice})
	g.p.deliver(g.f, g.f.Push(g.pr, sha))
	return sha
}

// TestEditedHeadMarkerBringsNothingBack: the sticky comment's head= marker
// is text anyone with write access can edit; it once chose the ledger a
// push carried. The author revokes an approval, pushes a head without
// migrations (its check holds no ledger), puts back the comment as it was
// when an older head was approved, and pushes the drop again: the check
// stays red and the comment shows no approval. Then the controls: a
// writer who is not the author approves, a README-only push keeps it.
func TestEditedHeadMarkerBringsNothingBack(t *testing.T) {
	g := newGate(t)
	first := g.pr.HeadSHA
	g.tick(g.carol, true)
	g.expect(first, "success", true)
	approvedBody := g.sticky().Body

	second := g.push(map[string]string{"README.md": "# billing\n"})
	g.expect(second, "success", true)
	g.tick(g.alice, false) // revoking is open to anyone, the author too
	g.expect(second, "action_required", false)

	third := g.push(map[string]string{"db/migrations/002_drop.sql": githubfake.Deleted})
	if run := g.run(third); run.Conclusion != "success" || !strings.Contains(g.sticky().Body, "No migration changes left") {
		t.Fatalf("without migrations: %s\n%s", run.Conclusion, g.sticky().Body)
	}
	// The forged comment: the approved head's text, head= pointing to it.
	g.editSticky(g.alice, approvedBody)
	if checklist.StickyHead(g.sticky().Body) != first {
		t.Fatal("the forged marker is not in the comment: the test proves nothing")
	}
	fourth := g.push(map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	run := g.expect(fourth, "action_required", false)
	if strings.Contains(run.Output.Summary, "Approved by") || strings.Contains(run.Output.Summary, "carried from") {
		t.Errorf("the check shows an approval:\n%s", run.Output.Summary)
	}

	// Controls: the author cannot approve; a writer who is not the author
	// can; a README-only push keeps it; an untick revokes.
	g.tick(g.alice, true)
	g.expect(fourth, "action_required", false)
	g.tick(g.dave, true)
	g.expect(fourth, "success", true)
	fifth := g.push(map[string]string{"README.md": "# billing\n\nMore.\n"})
	if run := g.expect(fifth, "success", true); !strings.Contains(run.Output.Summary, "approval carried from "+fourth[:7]) {
		t.Errorf("not carried:\n%s", run.Output.Summary)
	}
	g.tick(g.alice, false)
	g.expect(fifth, "action_required", false)
	if v := g.f.Violations(); len(v) != 0 {
		t.Errorf("contract violations: %+v", v)
	}
}

// TestForcePushBackAfterRevocation: an approval given on one head and
// revoked on the next does not come back when the author force-pushes the
// branch back to the approved commit, whose own check run still says
// approved: the push is checked again from the head it replaced.
func TestForcePushBackAfterRevocation(t *testing.T) {
	g := newGate(t)
	first := g.pr.HeadSHA
	g.tick(g.carol, true)
	g.expect(first, "success", true)
	second := g.push(map[string]string{"README.md": "# billing\n"})
	g.expect(second, "success", true)
	g.tick(g.alice, false)
	g.expect(second, "action_required", false)

	g.repo.SetBranch("drop", first)
	g.p.deliver(g.f, g.f.Push(g.pr, first))
	run := g.expect(first, "action_required", false)
	if !strings.Contains(run.Output.Summary, "newer revocation or reset") {
		t.Errorf("the reset does not say why:\n%s", run.Output.Summary)
	}
	// Control: a writer approves again on it.
	g.tick(g.dave, true)
	g.expect(first, "success", true)
}
