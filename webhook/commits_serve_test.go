package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// sharedCommit is a repository where one branch with a DROP COLUMN is the
// head of a pull request into main and, once openLax is called, of a
// second one into a branch "lax" whose configuration the author wrote.
type sharedCommit struct {
	t                  *testing.T
	f                  *githubfake.Fake
	repo               *githubfake.Repo
	p                  *process
	alice, carol, dave *githubfake.User
	main, lax          *githubfake.PullRequest
	head               string
}

func newSharedCommit(t *testing.T, laxConfig string) *sharedCommit {
	t.Helper()
	f := githubfake.New(t, githubfake.WithResponseValidation())
	s := &sharedCommit{t: t, f: f, repo: f.AddRepo("acme/billing")}
	f.Install("acme", s.repo)
	s.alice, s.carol, s.dave = f.AddUser("alice"), f.AddUser("carol"), f.AddUser("dave")
	for _, u := range []*githubfake.User{s.alice, s.carol, s.dave} {
		f.SetRole(s.repo, u, "write")
	}
	s.repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	s.repo.CommitOn("lax", map[string]string{analyzerConfigPath: laxConfig})
	s.head = s.repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	s.p = startProcess(t, f)
	var opened *githubfake.Delivery
	s.main, opened = f.OpenPR(s.repo, githubfake.PROptions{Author: s.alice, Head: "drop"})
	s.p.deliver(f, opened)
	return s
}

const analyzerConfigPath = ".github/migration-guard.yml"

func (s *sharedCommit) openLax() {
	s.t.Helper()
	var opened *githubfake.Delivery
	s.lax, opened = s.f.OpenPR(s.repo, githubfake.PROptions{Author: s.alice, Head: "drop", Base: "lax"})
	if s.lax.HeadSHA != s.main.HeadSHA {
		s.t.Fatal("the two pull requests do not share their head")
	}
	s.p.deliver(s.f, opened)
}

// quiet waits until the process has no job queued or running, seen twice
// in a row with the same count of finished jobs: a job one pull request's
// job queued for another is dequeued a moment before it counts as
// running, and one reading could fall in between.
func (s *sharedCommit) quiet() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last, calm := -1.0, 0
	for calm < 2 {
		if time.Now().After(deadline) {
			s.t.Fatalf("jobs still running after 30s:\n%s", s.p.Logs)
		}
		total := s.p.Metric("migration_guard_jobs_total", "")
		if s.p.Metric("migration_guard_jobs_running", "") == 0 && s.p.Metric("migration_guard_queue_depth", "") == 0 && total == last {
			calm++
		} else {
			calm = 0
		}
		last = total
		time.Sleep(20 * time.Millisecond)
	}
}

// expectCommit asserts that every run of the App on the head is completed
// with the conclusion, and so is the newest one (what branch protection
// reads).
func (s *sharedCommit) expectCommit(want string) []githubfake.CheckRun {
	s.t.Helper()
	s.quiet()
	var runs []githubfake.CheckRun
	for _, r := range s.f.CheckRuns(s.repo, s.head) {
		if r.App.ID == s.f.App().ID && r.Name == checklist.CheckRunName {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		s.t.Fatalf("no check run on the head\n%s", s.p.Logs)
	}
	for _, r := range runs {
		if r.Status != "completed" || r.Conclusion != want {
			s.t.Fatalf("run %d (%s): %s/%s, want completed/%s\n%s\n%s", r.ID, r.ExternalID, r.Status, r.Conclusion, want, r.Output.Summary, s.p.Logs)
		}
	}
	return runs
}

func (s *sharedCommit) sticky(pr *githubfake.PullRequest) githubfake.IssueComment {
	s.t.Helper()
	for _, c := range s.f.IssueComments(pr) {
		if c.Author.Login == s.f.App().Bot.Login && checklist.IsStickyComment(c.Body) {
			return c
		}
	}
	s.t.Fatalf("no sticky comment on #%d", pr.Number)
	return githubfake.IssueComment{}
}

func (s *sharedCommit) tick(pr *githubfake.PullRequest, who *githubfake.User) {
	s.t.Helper()
	c := s.sticky(pr)
	d, err := s.f.EditComment(who, c.ID, setBox(s.t, c.Body, true))
	if err != nil {
		s.t.Fatal(err)
	}
	s.p.deliver(s.f, d)
}

// ticked says whether the pull request's sticky comment shows the box
// ticked.
func (s *sharedCommit) ticked(pr *githubfake.PullRequest) bool {
	s.t.Helper()
	_, box, ok := checklist.CanonicalSticky(s.sticky(pr).Body)
	return ok && box.Ticked
}

func (s *sharedCommit) noViolations() {
	s.t.Helper()
	if v := s.f.Violations(); len(v) != 0 {
		s.t.Errorf("contract violations: %+v", v)
	}
}

// TestSharedCommitLaxBase: a second pull request from the same branch
// into a branch whose configuration the author wrote cannot turn the
// commit green for the pull request into main, however lax that
// configuration: the check on the commit is the strictest over both.
func TestSharedCommitLaxBase(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		// tick: the author approves the lax pull request herself.
		tick bool
		// laxSays is in the lax pull request's sticky comment, if it has one.
		laxSays string
	}{
		{"allow_author", "approval:\n  allow_author: true\n", true, "Approved by @alice"},
		{"severities info", "approval:\n  severities: [info]\n", false, ""},
		{"other migration paths", "migrations:\n  - path: elsewhere/migrations\n", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSharedCommit(t, tc.config)
			s.expectCommit("action_required")
			s.openLax()
			if tc.tick {
				s.tick(s.lax, s.alice)
			}
			runs := s.expectCommit("action_required")
			if len(runs) != 2 {
				t.Errorf("%d runs on the commit, want one per pull request", len(runs))
			}
			newest := runs[len(runs)-1]
			for _, want := range []string{"head of 2 open pull requests", "#1 into `main`: needs approval", "#2 into `lax`: passes"} {
				if !strings.Contains(newest.Output.Summary, want) {
					t.Errorf("the newest run does not say %q:\n%s", want, newest.Output.Summary)
				}
			}
			if !strings.HasPrefix(newest.Output.Title, blockedTitle) {
				t.Errorf("title of the lax pull request's run: %q", newest.Output.Title)
			}
			// Each pull request's own comment says its own state.
			if s.ticked(s.main) || strings.Contains(s.sticky(s.main).Body, "Approved by") {
				t.Errorf("the comment into main shows an approval:\n%s", s.sticky(s.main).Body)
			}
			if tc.laxSays != "" && !strings.Contains(s.sticky(s.lax).Body, tc.laxSays) {
				t.Errorf("the lax comment does not say %q:\n%s", tc.laxSays, s.sticky(s.lax).Body)
			}
			// The author's own tick on the pull request into main is still
			// refused there.
			s.tick(s.main, s.alice)
			s.expectCommit("action_required")
			if !strings.Contains(s.sticky(s.main).Body, "author") {
				t.Errorf("the refusal is not said:\n%s", s.sticky(s.main).Body)
			}
			// A writer who is not an author approves the pull request into
			// main; the lax one passes under its own configuration: green.
			s.tick(s.main, s.carol)
			s.expectCommit("success")
			if !s.ticked(s.main) {
				t.Error("the box into main is not ticked after the approval")
			}
			s.noViolations()
		})
	}
}

// TestSharedCommitStricterSibling: the commit turns green only when every
// pull request whose head it is passes under its own base's rules, each
// with its own approval; an approval of one never counts for the other.
// Closing the pull request still waiting derives the conclusion again.
func TestSharedCommitStricterSibling(t *testing.T) {
	s := newSharedCommit(t, "approval:\n  users: [dave]\n")
	s.openLax()
	s.expectCommit("action_required")

	s.tick(s.main, s.carol)
	runs := s.expectCommit("action_required")
	if !s.ticked(s.main) || s.ticked(s.lax) {
		t.Errorf("boxes: main %v, lax %v", s.ticked(s.main), s.ticked(s.lax))
	}
	if !strings.Contains(runs[len(runs)-1].Output.Summary, "#2 into `lax`: needs approval") {
		t.Errorf("the blocking pull request is not named:\n%s", runs[len(runs)-1].Output.Summary)
	}
	// carol may approve into main but is not listed for lax.
	s.tick(s.lax, s.carol)
	s.expectCommit("action_required")
	if s.ticked(s.lax) {
		t.Error("carol's tick counted on the lax pull request")
	}
	// Closing the lax pull request leaves main's approval alone in charge.
	s.p.deliver(s.f, s.f.ClosePR(s.lax))
	runs = s.expectCommit("success")
	for _, r := range runs {
		if strings.Contains(r.Output.Summary, "open pull requests") {
			t.Errorf("run %d still speaks of several pull requests:\n%s", r.ID, r.Output.Summary)
		}
	}
	// Reopened, it blocks again until dave, listed there, approves it.
	s.p.deliver(s.f, s.f.ReopenPR(s.lax))
	s.expectCommit("action_required")
	s.tick(s.lax, s.dave)
	s.expectCommit("success")
	s.noViolations()
}

// TestSharedCommitBaseChange: retargeting the second pull request derives
// the commit's conclusion again, under the new base's rules.
func TestSharedCommitBaseChange(t *testing.T) {
	s := newSharedCommit(t, "approval:\n  severities: [info]\n")
	s.repo.CommitOn("strict", map[string]string{analyzerConfigPath: "approval:\n  users: [dave]\n"})
	s.openLax()
	s.tick(s.main, s.carol)
	s.expectCommit("success")
	s.p.deliver(s.f, s.f.EditPR(s.lax, s.alice, githubfake.PREdit{Base: "strict"}))
	runs := s.expectCommit("action_required")
	if !strings.Contains(runs[len(runs)-1].Output.Summary, "#2 into `strict`: needs approval") {
		t.Errorf("the new base is not named:\n%s", runs[len(runs)-1].Output.Summary)
	}
	s.noViolations()
}

// TestSingleCommitUnchanged: one pull request on its commit behaves as
// before: one run, no note about other pull requests, and a writer's
// approval turns it green.
func TestSingleCommitUnchanged(t *testing.T) {
	s := newSharedCommit(t, "")
	if runs := s.expectCommit("action_required"); len(runs) != 1 {
		t.Errorf("%d runs before the approval", len(runs))
	}
	s.tick(s.main, s.carol)
	runs := s.expectCommit("success")
	if len(runs) != 1 || strings.Contains(runs[0].Output.Summary, "open pull requests") || strings.HasPrefix(runs[0].Output.Title, blockedTitle) {
		t.Errorf("runs: %d, title %q\n%s", len(runs), runs[0].Output.Title, runs[0].Output.Summary)
	}
	if !strings.Contains(runs[0].Output.Summary, "Approved by @carol") {
		t.Errorf("summary:\n%s", runs[0].Output.Summary)
	}
	s.noViolations()
}

// TestSharedCommitPush: a push to the shared branch is an event on both
// pull requests; a README-only change keeps the approval of the one into
// main, a new DROP resets it, and the commit follows.
func TestSharedCommitPush(t *testing.T) {
	s := newSharedCommit(t, "approval:\n  allow_author: true\n")
	s.openLax()
	s.tick(s.lax, s.alice)
	s.tick(s.main, s.carol)
	s.expectCommit("success")

	s.head = s.repo.CommitWith(githubfake.CommitOptions{Parent: s.head, Files: map[string]string{"README.md": "# billing\n\nNotes.\n"}})
	pushes := s.f.PushBranch(s.repo, "drop", s.head)
	if len(pushes) != 2 {
		t.Fatalf("%d synchronize deliveries for a branch two pull requests share", len(pushes))
	}
	// The first pull request's job finds the second not checked at the new
	// head, counts it as blocking and queues its check.
	s.p.deliver(s.f, pushes[0])
	s.quiet()
	if !strings.Contains(s.p.Logs.String(), `"msg":"queued the check of another pull request of the commit","`) {
		t.Errorf("no job queued for the other pull request:\n%s", s.p.Logs)
	}
	s.expectCommit("success")
	s.p.deliver(s.f, pushes[1])
	s.expectCommit("success")

	s.head = s.repo.CommitWith(githubfake.CommitOptions{Parent: s.head, Files: map[string]string{"db/migrations/003_drop.sql": "DROP TABLE users;\n"}})
	for _, d := range s.f.PushBranch(s.repo, "drop", s.head) {
		s.p.deliver(s.f, d)
	}
	runs := s.expectCommit("action_required")
	if !strings.Contains(runs[len(runs)-1].Output.Summary, "#1 into `main`: needs approval") {
		t.Errorf("summary:\n%s", runs[len(runs)-1].Output.Summary)
	}
	s.noViolations()
}

// TestSharedCommitSiblingFails: a second pull request into a branch whose
// configuration cannot be used fails, and so does the commit, however the
// pull request into main stands; closing it leaves main's approval alone
// in charge.
func TestSharedCommitSiblingFails(t *testing.T) {
	s := newSharedCommit(t, "aproval:\n  allow_author: true\n")
	s.tick(s.main, s.carol)
	s.expectCommit("success")
	s.openLax()
	runs := s.expectCommit("failure")
	if !strings.Contains(runs[len(runs)-1].Output.Summary, "#2 into `lax`: failed") {
		t.Errorf("summary:\n%s", runs[len(runs)-1].Output.Summary)
	}
	s.p.deliver(s.f, s.f.ClosePR(s.lax))
	s.expectCommit("success")
	s.noViolations()
}

// TestSharedCommitUnlisted: when the open pull requests cannot be listed,
// the commit's conclusion cannot be derived, and the new pull request's
// run fails rather than pass on its own.
func TestSharedCommitUnlisted(t *testing.T) {
	s := newSharedCommit(t, "approval:\n  severities: [info]\n")
	s.tick(s.main, s.carol)
	s.expectCommit("success")
	s.f.FailNext("pulls/list", githubfake.ServerError(500), 1000)
	s.openLax()
	var newest githubfake.CheckRun
	for _, r := range s.f.CheckRuns(s.repo, s.head) {
		if r.App.ID == s.f.App().ID && r.ID > newest.ID {
			newest = r
		}
	}
	if newest.Status != "completed" || newest.Conclusion != "failure" || !strings.Contains(newest.ExternalID, "mg2:2:") {
		t.Errorf("newest run %d (%s): %s/%s\n%s", newest.ID, newest.ExternalID, newest.Status, newest.Conclusion, newest.Output.Summary)
	}
}
