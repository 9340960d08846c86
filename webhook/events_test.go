package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// TestRerequested: a check run or check suite re-run creates a new check
// run for the pull requests of that head, and posts nothing twice.
func TestRerequested(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	first := e.onlyRun(pr.HeadSHA)

	rerun, err := e.f.CheckRunEvent(first.ID, "rerequested", e.author)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(rerun, http.StatusAccepted)
	e.wait()
	suite, err := e.f.CheckSuiteEvent(first.Suite.ID, "rerequested", e.author)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(suite, http.StatusAccepted)
	e.wait()

	runs := e.ourRuns(pr.HeadSHA)
	if len(runs) != 3 {
		t.Fatalf("%d check runs, want one per request", len(runs))
	}
	for _, r := range runs {
		if r.Status != "completed" || r.Conclusion != "action_required" {
			t.Errorf("run %d: %s/%s", r.ID, r.Status, r.Conclusion)
		}
	}
	w := writes(e.f.Mutations())
	if w["pulls/create-review"] != 1 || w["issues/create-comment"] != 1 {
		t.Errorf("re-runs posted again: %v", w)
	}

	// Another App's check run, or another name, is not ours to re-run.
	other := e.f.AddApp(4242, "ci")
	theirs := e.f.AddCheckRun(other, e.repo, pr.HeadSHA, "build", "failure")
	d, err := e.f.CheckRunEvent(theirs.ID, "rerequested", e.author)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(d, http.StatusAccepted)
	if !strings.Contains(d.ResponseBody, "ignored") {
		t.Errorf("another App's check run: %q", d.ResponseBody)
	}
}

// TestMergeGroup: the merge queue's commit gets the check, judged on
// base_sha..head_sha, without comments.
func TestMergeGroup(t *testing.T) {
	e := newEnv(t, nil)
	pr, _ := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	queued := e.repo.CommitWith(githubfake.CommitOptions{Branch: "gh-readonly-queue/main/pr-1", Parent: e.repo.Branch("main"),
		Files: map[string]string{"db/migrations/002_drop.sql": dropLegacy}})
	d, err := e.f.MergeGroupEvent(pr, queued, e.author)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(d, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(queued)
	if run.Conclusion != "action_required" {
		t.Fatalf("merge group check: %s %q; logs:\n%s", run.Conclusion, run.Output.Summary, e.logs)
	}
	if _, ok := annotationOf(run, "drop-column"); !ok {
		t.Error("no drop-column annotation on the merge group's check")
	}
	if n := len(e.f.IssueComments(pr)) + len(e.f.ReviewComments(pr)); n != 0 {
		t.Errorf("%d comments from a merge group check", n)
	}
}

// TestConfigFromBase: the head branch cannot switch the guard off; a
// broken configuration at the base fails the check with the reason.
func TestConfigFromBase(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("sneaky", map[string]string{
		".github/migration-guard.yml": "migrations:\n  - path: nowhere\n",
		"db/migrations/002_drop.sql":  dropLegacy,
	})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	if run := e.onlyRun(pr.HeadSHA); run.Conclusion != "action_required" {
		t.Fatalf("a head configuration weakened the guard: %s %q", run.Conclusion, run.Output.Summary)
	}

	e.repo.Commit(map[string]string{".github/migration-guard.yml": "migratons: []\n"})
	pr2, opened2 := e.openPR("later", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened2, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr2.HeadSHA)
	if run.Conclusion != "failure" || !strings.Contains(run.Output.Summary, "migratons") || run.Output.Title != "Configuration error" {
		t.Errorf("config error: %s %q %q", run.Conclusion, run.Output.Title, run.Output.Summary)
	}
}

// TestRestartKeepsOneSticky: a new process finds the sticky comment and
// the inline comments by their markers, not by memory.
func TestRestartKeepsOneSticky(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()

	// A second server: empty memory, same GitHub.
	e2 := &env{t: t, f: e.f, repo: e.repo, inst: e.inst, author: e.author}
	srv, err := New(Config{AppID: e.f.App().ID, PrivateKey: e.f.PrivateKeyPEM(), WebhookSecret: e.f.WebhookSecret(), APIURL: e.f.URL(),
		Limits: Limits{WriteInterval: -1}, Logger: e.srv.log})
	if err != nil {
		t.Fatal(err)
	}
	e2.srv, e2.logs = srv, e.logs
	e2.ts = newTestServer(t, srv)
	e.f.SetWebhookURL(e2.ts.URL + "/webhook")
	next := e.repo.CommitOn("drop", map[string]string{"db/migrations/003_email.sql": "ALTER TABLE users DROP COLUMN email;\n"})
	e2.deliver(e.f.Push(pr, next), http.StatusAccepted)
	e2.wait()
	if n := len(e.stickies(pr)); n != 1 {
		t.Errorf("%d sticky comments after a restart", n)
	}
	if n := len(ruleComments(e.f.ReviewComments(pr), "drop-column")); n != 2 {
		t.Errorf("%d drop-column comments, want the old one and one for 003", n)
	}
}

// TestDuplicateStickyHealed: two sticky comments (from an older version
// or a race) become one.
func TestDuplicateStickyHealed(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	// The App's own token posts a second sticky comment.
	gh := e.srv.clients.Installation(e.inst.ID).gh
	body := checklist.StickyNothingLeft("0000000")
	if _, _, err := gh.Issues.CreateComment(context.Background(), "acme", "billing", pr.Number, newIssueComment(body)); err != nil {
		t.Fatal(err)
	}
	// A user's comment quoting the marker is not the App's.
	e.f.Comment(e.author, pr, checklist.StickyNothingLeft("1111111"))
	next := e.repo.CommitOn("drop", map[string]string{"db/migrations/003_note.sql": "ALTER TABLE users ADD COLUMN note text;\n"})
	e.deliver(e.f.Push(pr, next), http.StatusAccepted)
	e.wait()
	var bot int
	for _, c := range e.f.IssueComments(pr) {
		if c.Author.Login == e.f.App().Bot.Login {
			bot++
		}
	}
	if bot != 1 {
		t.Errorf("%d App comments, want 1", bot)
	}
	if len(e.stickies(pr)) != 2 {
		t.Error("the user's comment was touched")
	}
}

// TestManyFindings: more than 50 annotations and 30 inline comments go in
// several requests; a re-run posts none of them again.
func TestManyFindings(t *testing.T) {
	e := newEnv(t, nil)
	var create, drop strings.Builder
	create.WriteString("CREATE TABLE wide (id bigint PRIMARY KEY")
	for i := 0; i < 70; i++ {
		fmt.Fprintf(&create, ", c%d text", i)
		fmt.Fprintf(&drop, "ALTER TABLE wide DROP COLUMN c%d;\n", i)
	}
	create.WriteString(");\n")
	e.repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable + create.String()})
	pr, opened := e.openPR("wide", map[string]string{"db/migrations/002_drop.sql": drop.String()})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr.HeadSHA)
	drops := 0
	for _, a := range run.Output.Annotations {
		if strings.HasSuffix(a.Title, "drop-column") {
			drops++
		}
	}
	if drops != 70 || len(run.Output.Annotations) <= 50 {
		t.Errorf("%d drop-column annotations of %d", drops, len(run.Output.Annotations))
	}
	comments := ruleComments(e.f.ReviewComments(pr), "drop-column")
	if len(comments) != 70 {
		t.Errorf("%d drop-column comments, want 70", len(comments))
	}
	if n := len(e.f.Reviews(pr)); n < 3 {
		t.Errorf("%d reviews, want at least 3 of at most 30 comments", n)
	}
	before := len(e.f.ReviewComments(pr))
	rerun, _ := e.f.CheckRunEvent(run.ID, "rerequested", e.author)
	e.deliver(rerun, http.StatusAccepted)
	e.wait()
	if after := len(e.f.ReviewComments(pr)); after != before {
		t.Errorf("a re-run posted %d more comments", after-before)
	}
	if e.f.Count("issues/list-comments") < 2 {
		t.Fatal("comments not listed")
	}
	if hits := e.srv.clients.Installation(e.inst.ID).etag.hitCount(); hits == 0 {
		t.Error("no conditional request answered 304")
	}
}

// TestShutdownFinishesRunningJobs: a running job completes during a
// graceful shutdown; on the memory queue (a workflow step), a job that
// would outlive the deadline is cancelled and its check run closed (the
// durable queue hands it back instead: TestShutdownHandsJobBack).
func TestShutdownFinishesRunningJobs(t *testing.T) {
	e := newEnv(t, nil)
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.f.FailNext("git/get-tree", githubfake.Slow(100*time.Millisecond), 1)
	e.deliver(opened, http.StatusAccepted)
	e.waitFor("the job to start", func() bool { return len(e.ourRuns(pr.HeadSHA)) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if run := e.onlyRun(pr.HeadSHA); run.Conclusion != "action_required" {
		t.Errorf("job cut short: %s/%s", run.Status, run.Conclusion)
	}

	e2 := newEnv(t, func(c *Config) { c.QueueDataDir = "" })
	pr2, opened2 := e2.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e2.f.FailNext("git/get-tree", githubfake.Slow(5*time.Second), 1)
	e2.deliver(opened2, http.StatusAccepted)
	e2.waitFor("the job to start", func() bool { return len(e2.ourRuns(pr2.HeadSHA)) == 1 })
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	_ = e2.srv.Shutdown(ctx2)
	run := e2.onlyRun(pr2.HeadSHA)
	if run.Status != "completed" || run.Conclusion != "failure" || !strings.Contains(run.Output.Summary, "stopped") {
		t.Errorf("cancelled job's check: %s/%s %q", run.Status, run.Conclusion, run.Output.Summary)
	}
}
