package webhook

import (
	"net/http"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

const dropLegacy = "-- Clean up.\nALTER TABLE users DROP COLUMN legacy;\n"

// TestDangerousThenFixed: a DROP COLUMN gets a red check with the
// checklist, an inline comment on its line and one sticky comment; the
// push that fixes it turns the check green and resolves the comment.
func TestDangerousThenFixed(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()

	run := e.onlyRun(pr.HeadSHA)
	if run.Status != "completed" || run.Conclusion != "action_required" {
		t.Fatalf("check run: %s/%s, want completed/action_required; logs:\n%s", run.Status, run.Conclusion, e.logs)
	}
	if !strings.Contains(run.Output.Summary, "| 1 | Drops") || !strings.Contains(run.Output.Text, "drop-column") {
		t.Errorf("check output lacks the checklist:\n%s", run.Output.Summary)
	}
	if a, ok := annotationOf(run, "drop-column"); !ok || a.StartLine != 2 || a.Level != "failure" || a.Path != "db/migrations/002_drop.sql" {
		t.Errorf("drop-column annotation: %+v (of %d)", a, len(run.Output.Annotations))
	}
	if run.DetailsURL == "" {
		t.Error("an action_required check run needs a details_url")
	}
	comments := ruleComments(e.f.ReviewComments(pr), "drop-column")
	if len(comments) != 1 {
		t.Fatalf("%d drop-column review comments, want 1", len(comments))
	}
	c := comments[0]
	if c.Path != "db/migrations/002_drop.sql" || c.Line != 2 || c.Side != "RIGHT" || c.User.Login != e.f.App().Bot.Login {
		t.Errorf("review comment at %s:%d (%s) by %s", c.Path, c.Line, c.Side, c.User.Login)
	}
	if m, ok := checklist.ParseFindingMarker(c.Body); !ok || m.Resolved {
		t.Errorf("review comment lacks its open marker:\n%s", c.Body)
	}
	if !strings.Contains(c.Body, "```suggestion") {
		t.Errorf("a statement alone on its line gets a suggestion:\n%s", c.Body)
	}
	sticky := e.stickies(pr)
	if len(sticky) != 1 || !strings.Contains(sticky[0].Body, "drop-column") {
		t.Fatalf("sticky comments: %+v", sticky)
	}

	// The fix: the column stays.
	fixed := e.repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": "ALTER TABLE users ADD COLUMN note text;\n"})
	e.deliver(e.f.Push(pr, fixed), http.StatusAccepted)
	e.wait()
	run = e.onlyRun(fixed)
	if run.Conclusion != "success" {
		t.Fatalf("after the fix: %s; logs:\n%s", run.Conclusion, e.logs)
	}
	comments = ruleComments(e.f.ReviewComments(pr), "drop-column")
	if len(comments) != 1 {
		t.Fatalf("%d drop-column review comments after the fix, want the one, resolved", len(comments))
	}
	if m, _ := checklist.ParseFindingMarker(comments[0].Body); !m.Resolved || !strings.Contains(comments[0].Body, "Resolved in "+fixed[:7]) {
		t.Errorf("comment not resolved:\n%s", comments[0].Body)
	}
	if strings.Contains(comments[0].Body, "```suggestion") {
		t.Error("a resolved comment still offers its suggestion")
	}
	sticky = e.stickies(pr)
	if len(sticky) != 1 || strings.Contains(sticky[0].Body, "drop-column") || !strings.Contains(sticky[0].Body, "Nothing needs approval") {
		t.Fatalf("sticky after the fix: %+v", sticky)
	}
	if n := writes(e.f.Mutations())["issues/create-comment"]; n != 1 {
		t.Errorf("%d sticky comments created, want 1", n)
	}
	if v := e.f.Violations(); len(v) != 0 {
		t.Errorf("contract violations: %+v", v)
	}
}

// TestNoMigrations: a green check with one line, and no comment.
func TestNoMigrations(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("docs", map[string]string{"README.md": "# billing\n\nNow with docs.\n"})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr.HeadSHA)
	if run.Conclusion != "success" || strings.Contains(run.Output.Summary, "\n") {
		t.Errorf("check: %s %q", run.Conclusion, run.Output.Summary)
	}
	if n := len(e.f.IssueComments(pr)) + len(e.f.ReviewComments(pr)); n != 0 {
		t.Errorf("%d comments on a pull request without migrations", n)
	}
	if n := e.f.Count("git/get-tree") + e.f.Count("git/get-blob"); n != 0 {
		t.Errorf("%d tree or blob reads for a pull request without migrations", n)
	}
}

// TestMigrationRemovedByLaterPush: the sticky comment of an earlier push
// says nothing is left, and nothing new is created.
func TestMigrationRemovedByLaterPush(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	gone := e.repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": githubfake.Deleted, "notes.txt": "later\n"})
	e.deliver(e.f.Push(pr, gone), http.StatusAccepted)
	e.wait()
	if run := e.onlyRun(gone); run.Conclusion != "success" || run.Output.Title != "No migration changes" {
		t.Errorf("check: %s %q", run.Conclusion, run.Output.Title)
	}
	sticky := e.stickies(pr)
	if len(sticky) != 1 || !strings.Contains(sticky[0].Body, "No migration changes left") {
		t.Errorf("sticky: %+v", sticky)
	}
	for _, c := range e.f.ReviewComments(pr) {
		if m, _ := checklist.ParseFindingMarker(c.Body); !m.Resolved {
			t.Errorf("comment %d still open", c.ID)
		}
	}
}

// ruleComments are the review comments about rule.
func ruleComments(all []githubfake.ReviewComment, rule string) []githubfake.ReviewComment {
	var out []githubfake.ReviewComment
	for _, c := range all {
		if strings.Contains(c.Body, "`"+rule+"`") {
			out = append(out, c)
		}
	}
	return out
}

func annotationOf(run githubfake.CheckRun, rule string) (githubfake.Annotation, bool) {
	for _, a := range run.Output.Annotations {
		if strings.HasSuffix(a.Title, " · "+rule) {
			return a, true
		}
	}
	return githubfake.Annotation{}, false
}

// TestOwnWritesDoNotLoop: the webhooks GitHub sends for the App's own
// comments start no job.
func TestOwnWritesDoNotLoop(t *testing.T) {
	e := newEnv(t, nil, githubfake.WithEchoWebhooks())
	_, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	e.f.Wait()
	e.wait()
	before := len(e.f.Mutations())
	echoes := 0
	for _, d := range e.f.Deliveries() {
		if d.Event == "issue_comment" {
			echoes++
			if d.StatusCode != http.StatusAccepted || !strings.Contains(d.ResponseBody, "ignored") {
				t.Errorf("echo answered %d %q", d.StatusCode, d.ResponseBody)
			}
		}
	}
	if echoes == 0 {
		t.Fatal("no echo was sent: the test proves nothing")
	}
	e.f.Wait()
	e.wait()
	if after := len(e.f.Mutations()); after != before {
		t.Errorf("echoes caused %d writes", after-before)
	}
}
