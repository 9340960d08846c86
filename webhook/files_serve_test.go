package webhook

import (
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// fileGate drives the built binary against the fake for the attacks on what
// the check reads: alice opens and pushes, carol (a writer) approves.
type fileGate struct {
	t     *testing.T
	f     *githubfake.Fake
	repo  *githubfake.Repo
	proc  *process
	alice *githubfake.User
	carol *githubfake.User
}

func newFileGate(t *testing.T, base map[string]string) *fileGate {
	t.Helper()
	f := githubfake.New(t, githubfake.WithResponseValidation())
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	g := &fileGate{t: t, f: f, repo: repo, alice: f.AddUser("alice"), carol: f.AddUser("carol")}
	f.SetRole(repo, g.alice, "write")
	f.SetRole(repo, g.carol, "write")
	repo.Commit(base)
	g.proc = startProcess(t, f)
	t.Cleanup(func() {
		g.proc.Stop()
		if v := f.Violations(); len(v) != 0 {
			t.Errorf("contract violations: %+v", v)
		}
	})
	return g
}

// open commits files on a new branch and opens a pull request from it.
func (g *fileGate) open(branch string, files map[string]string) *githubfake.PullRequest {
	g.t.Helper()
	g.repo.CommitOn(branch, files)
	pr, opened := g.f.OpenPR(g.repo, githubfake.PROptions{Author: g.alice, Head: branch})
	g.proc.deliver(g.f, opened)
	return pr
}

// push commits files on the pull request's branch and delivers the push.
func (g *fileGate) push(pr *githubfake.PullRequest, files map[string]string) {
	g.t.Helper()
	head := g.repo.CommitOn(pr.HeadRef, files)
	g.proc.deliver(g.f, g.f.Push(pr, head))
}

// run is the App's newest check run on the pull request's head.
func (g *fileGate) run(pr *githubfake.PullRequest) githubfake.CheckRun {
	g.t.Helper()
	var last githubfake.CheckRun
	for _, r := range g.f.CheckRuns(g.repo, pr.HeadSHA) {
		if r.App.ID == g.f.App().ID && r.Name == checklist.CheckRunName {
			last = r
		}
	}
	if last.ID == 0 {
		g.t.Fatalf("no check run on %s:\n%s", pr.HeadSHA, g.proc.Logs)
	}
	return last
}

func (g *fileGate) sticky(pr *githubfake.PullRequest) githubfake.IssueComment {
	g.t.Helper()
	for _, c := range g.f.IssueComments(pr) {
		if c.Author.Login == g.f.App().Bot.Login && checklist.IsStickyComment(c.Body) {
			return c
		}
	}
	g.t.Fatalf("no sticky comment:\n%s", g.proc.Logs)
	return githubfake.IssueComment{}
}

// approve ticks the box as carol and requires the check to turn green.
func (g *fileGate) approve(pr *githubfake.PullRequest) {
	g.t.Helper()
	c := g.sticky(pr)
	d, err := g.f.EditComment(g.carol, c.ID, setBox(g.t, c.Body, true))
	if err != nil {
		g.t.Fatal(err)
	}
	g.proc.deliver(g.f, d)
	if run := g.run(pr); run.Conclusion != "success" {
		g.t.Fatalf("carol's tick did not approve: %s\n%s\n%s", run.Conclusion, run.Output.Summary, g.proc.Logs)
	}
}

// requireRed checks that the head needs approval and that the comment and
// the check run say each of want.
func (g *fileGate) requireRed(pr *githubfake.PullRequest, want ...string) {
	g.t.Helper()
	run := g.run(pr)
	if run.Conclusion != "action_required" {
		g.t.Fatalf("conclusion %q, want action_required:\n%s\n%s", run.Conclusion, run.Output.Summary, g.proc.Logs)
	}
	body := g.sticky(pr).Body
	for _, w := range want {
		if !strings.Contains(body, w) {
			g.t.Errorf("the comment does not say %q:\n%s", w, body)
		}
		if !strings.Contains(run.Output.Summary+run.Output.Text, w) {
			g.t.Errorf("the check run does not say %q:\n%s\n%s", w, run.Output.Summary, run.Output.Text)
		}
	}
}

func (g *fileGate) requireGreen(pr *githubfake.PullRequest, want ...string) {
	g.t.Helper()
	run := g.run(pr)
	if run.Conclusion != "success" {
		g.t.Fatalf("conclusion %q, want success:\n%s\n%s", run.Conclusion, run.Output.Summary, g.proc.Logs)
	}
	for _, w := range want {
		if !strings.Contains(run.Output.Summary, w) {
			g.t.Errorf("the check run does not say %q:\n%s", w, run.Output.Summary)
		}
	}
}

const gmBase = "db/migrations/001_users.up.sql"

func gmRepo() map[string]string {
	return map[string]string{
		gmBase:                             usersTable,
		"db/migrations/001_users.down.sql": "DROP TABLE users;\n",
		"shared/cleanup.sql":               "DROP TABLE users;\n",
		"README.md":                        "# billing\n",
	}
}

// golang-migrate runs any extension: a DROP in 002_drop.up.SQL or .up.txt
// is judged like one in .up.sql.
func TestServeGolangMigrateRunsAnyExtension(t *testing.T) {
	g := newFileGate(t, gmRepo())
	for _, name := range []string{"002_drop.up.SQL", "002_drop.up.txt"} {
		pr := g.open("ext-"+name, map[string]string{"db/migrations/" + name: "DROP TABLE users;\n"})
		g.requireRed(pr, "db/migrations/"+name, "DROP TABLE users;", "drop-table")
	}
}

// A migration that is a symbolic link is judged by what it points at
// inside the repository; a link out of it needs approval, bound to the
// link itself.
func TestServeSymlinkedMigrations(t *testing.T) {
	g := newFileGate(t, gmRepo())
	inside := g.open("link-inside", map[string]string{"db/migrations/002_drop.up.sql": githubfake.Symlink("../../shared/cleanup.sql")})
	g.requireRed(inside, "DROP TABLE users;", "drop-table")

	outside := g.open("link-outside", map[string]string{"db/migrations/002_drop.up.sql": githubfake.Symlink("/srv/deploy/drop.sql")})
	g.requireRed(outside, "symbolic link to /srv/deploy/drop.sql, outside the repository", "unreadable-file")
	g.approve(outside)
	// Another target is another link: the approval resets.
	g.push(outside, map[string]string{"db/migrations/002_drop.up.sql": githubfake.Symlink("/srv/deploy/worse.sql")})
	g.requireRed(outside, "symbolic link to /srv/deploy/worse.sql", "was reset")

	loop := g.open("link-loop", map[string]string{"db/migrations/002_drop.up.sql": githubfake.Symlink("002_drop.up.sql")})
	g.requireRed(loop, "a loop")
}

// A file migration-guard cannot read needs approval, bound to its blob:
// approved, then swapped for other bytes (a DROP), it is red again.
func TestServeUnreadableFilesBindTheirBlob(t *testing.T) {
	files := gmRepo()
	files[".github/migration-guard.yml"] = "max_file_bytes: 4096\n"
	g := newFileGate(t, files)
	big := func(sql string) string {
		// Over max_file_bytes, so never fetched.
		return sql + strings.Repeat("-- padding padding padding padding padding padding padding\n", 4096/58+1)
	}
	cases := []struct {
		name, first, second, says string
	}{
		{"oversized", big("SELECT 1;\n"), big("DROP TABLE users;\n"), "over the limit"},
		{"binary", "\x00\x01\x02binary\x00", "\x00\x01\x02DROP TABLE users;\x00", "unreadable-file"},
		{"latin1", "SELECT 'caf\xe9';\n", "DROP TABLE users; -- caf\xe9\n", "unreadable-file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pr := g.open("unreadable-"+c.name, map[string]string{"db/migrations/002_x.up.sql": c.first})
			g.requireRed(pr, "db/migrations/002_x.up.sql", c.says)
			g.approve(pr)
			g.push(pr, map[string]string{"db/migrations/002_x.up.sql": c.second})
			g.requireRed(pr, "was reset")
		})
	}
}

// SET search_path above an approved DROP makes it drop another table: the
// approval resets and the reset says what changed. Pushes that change
// nothing that runs keep it.
func TestServeSearchPathResetsApproval(t *testing.T) {
	base := map[string]string{
		"db/migrations/001_init.up.sql":   "CREATE TABLE scratch (id int);\nCREATE SCHEMA billing;\nCREATE TABLE billing.scratch (id int);\n",
		"db/migrations/001_init.down.sql": "DROP TABLE billing.scratch;\nDROP SCHEMA billing;\nDROP TABLE scratch;\n",
		"README.md":                       "# billing\n",
	}
	g := newFileGate(t, base)
	pr := g.open("scratch", map[string]string{
		"db/migrations/002_drop.up.sql":   "DROP TABLE scratch;\n",
		"db/migrations/002_drop.down.sql": "CREATE TABLE scratch (id int);\n",
		"db/migrations/003_note.up.sql":   "CREATE TABLE notes (id int);\n",
		"db/migrations/003_note.down.sql": "DROP TABLE notes;\n",
	})
	g.requireRed(pr, "public.scratch")
	g.approve(pr)

	// Controls: a README, and spacing and comments in another migration.
	before := pr.HeadSHA
	g.push(pr, map[string]string{"README.md": "# billing\n\nMore notes.\n"})
	g.requireGreen(pr, "Approved by @carol", "approval carried from "+before[:7])
	before = pr.HeadSHA
	g.push(pr, map[string]string{"db/migrations/003_note.up.sql": "-- Notes for invoices.\ncreate table notes (\n  id int\n);\n"})
	g.requireGreen(pr, "Approved by @carol", "approval carried from "+before[:7])

	g.push(pr, map[string]string{"db/migrations/002_drop.up.sql": "SET search_path = billing;\nDROP TABLE scratch;\n"})
	g.requireRed(pr, "billing.scratch", "was reset", "now on `billing.scratch`, was on `public.scratch`", "search_path=billing")
}

// A call approved in one file runs a body written in another: a push that
// edits only the body (the same table, another column) resets the
// approval and says the body changed; a push that only respaces and
// comments the body keeps it.
func TestServeCalledBodyResetsApproval(t *testing.T) {
	base := map[string]string{
		"db/migrations/001_init.up.sql":   "CREATE TABLE sessions (id int, token text, user_id int);\n",
		"db/migrations/001_init.down.sql": "DROP TABLE sessions;\n",
		"README.md":                       "# billing\n",
	}
	fn := func(body string) string {
		return "CREATE OR REPLACE FUNCTION cleanup() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n" + body + "\nEND\n$$;\n"
	}
	g := newFileGate(t, base)
	pr := g.open("cleanup", map[string]string{
		"db/migrations/002_fn.up.sql":     fn("UPDATE sessions SET token = NULL;"),
		"db/migrations/002_fn.down.sql":   "DROP FUNCTION cleanup();\n",
		"db/migrations/003_call.up.sql":   "SELECT cleanup();\n",
		"db/migrations/003_call.down.sql": "SELECT 1;\n",
	})
	g.requireRed(pr, "public.sessions")
	g.approve(pr)

	before := pr.HeadSHA
	g.push(pr, map[string]string{"db/migrations/002_fn.up.sql": fn("-- Tokens expire.\nupdate sessions\n  set token = null;")})
	g.requireGreen(pr, "Approved by @carol", "approval carried from "+before[:7])

	g.push(pr, map[string]string{"db/migrations/002_fn.up.sql": fn("UPDATE sessions SET user_id = NULL;")})
	g.requireRed(pr, "was reset", "db/migrations/003_call.up.sql:1", "the function bodies it runs changed")
}

// A tree GitHub will not list in full hides migrations that run: it needs
// approval, not a note.
func TestServeTruncatedListingNeedsApproval(t *testing.T) {
	g := newFileGate(t, gmRepo())
	files := map[string]string{"db/migrations/002_add.up.sql": "CREATE TABLE notes (id int);\n", "db/migrations/002_add.down.sql": "DROP TABLE notes;\n"}
	for _, n := range []string{"003", "004", "005"} {
		files["db/migrations/"+n+"_more.up.sql"] = "SELECT 1;\n"
		files["db/migrations/"+n+"_more.down.sql"] = "SELECT 1;\n"
	}
	g.repo.SetTreeLimit(4)
	pr := g.open("many", files)
	g.requireRed(pr, "GitHub truncated the listing of db", "unreadable-file")
}

// A configured migration folder replaced by a symbolic link to another
// folder runs that folder's files: it needs approval, not "no migration
// changes".
func TestServeFolderReplacedByALink(t *testing.T) {
	files := gmRepo()
	files[".github/migration-guard.yml"] = "migrations:\n  - path: db/migrations\n    layout: golang-migrate\n"
	g := newFileGate(t, files)
	pr := g.open("relink", map[string]string{
		gmBase:                             githubfake.Deleted,
		"db/migrations/001_users.down.sql": githubfake.Deleted,
		"db/migrations":                    githubfake.Symlink("../shared/m"),
		"shared/m/001_users.up.sql":        usersTable,
		"shared/m/001_users.down.sql":      "DROP TABLE users;\n",
		"shared/m/002_drop.up.sql":         "DROP TABLE users;\n",
	})
	g.requireRed(pr, "symbolic link to the folder shared/m", "unreadable-file")

	// The same with a submodule: its files are another repository's.
	sub := g.open("submodule", map[string]string{
		gmBase:                             githubfake.Deleted,
		"db/migrations/001_users.down.sql": githubfake.Deleted,
		"db/migrations":                    githubfake.Submodule(strings.Repeat("cd", 20)),
	})
	g.requireRed(sub, "a git submodule", "unreadable-file")
}
