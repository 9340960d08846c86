package webhook

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/internal/pgtest"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// crashEngines are the durable queue's engines for a served process:
// each entry gives the environment of the process started first and of
// the one started after the kill.
func crashEngines(t *testing.T) []struct {
	name          string
	first, second []string
} {
	t.Helper()
	return []struct {
		name          string
		first, second []string
	}{
		{"sqlite", nil, nil},
		{"postgres", []string{"REPLICA_ID=first"}, []string{"REPLICA_ID=second"}},
	}
}

// crashEnv is a fake GitHub with one repository, and a served process
// with one worker on a durable queue, to be killed and started again.
type crashEnv struct {
	t      *testing.T
	f      *githubfake.Fake
	repo   *githubfake.Repo
	author *githubfake.User
	env    []string
	p      *process
}

func newCrashEnv(t *testing.T, engine string, first []string) *crashEnv {
	t.Helper()
	f := githubfake.New(t)
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	author := f.AddUser("alice")
	f.SetRole(repo, author, "write")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	// JOB_TIMEOUT is long: a job cut short is picked up again by its
	// rescue (a free lease over a running row), not by River's rescuer,
	// which waits for the job timeout and more.
	env := []string{"WORKERS=1", "RECONCILE_ON_START=false", "JOB_TIMEOUT=10m"}
	if engine == "postgres" {
		env = append(env, "QUEUE_DATABASE_URL="+pgtest.Scratch(t), "QUEUE_DATA_DIR=")
	} else {
		env = append(env, "QUEUE_DATA_DIR="+t.TempDir())
	}
	e := &crashEnv{t: t, f: f, repo: repo, author: author, env: env}
	e.p = startProcess(t, f, append(env, first...)...)
	return e
}

func (e *crashEnv) deliver(d *githubfake.Delivery) {
	e.t.Helper()
	if code, err := e.f.Deliver(d); err != nil || code != http.StatusAccepted || !strings.HasPrefix(d.ResponseBody, "queued") {
		e.t.Fatalf("%s.%s: %d %v %q", d.Event, d.Action, code, err, d.ResponseBody)
	}
}

// holdWorker opens a pull request and holds its job, the one worker's,
// at its first read of the pull request: what is delivered next waits.
func (e *crashEnv) holdWorker() *githubfake.PullRequest {
	e.t.Helper()
	release := make(chan struct{})
	e.t.Cleanup(func() { close(release) })
	fault, reached := githubfake.Hold(release)
	e.f.FailNext("pulls/get", fault, 1)
	e.repo.CommitOn("blocker", map[string]string{"db/migrations/002_blocker.sql": "ALTER TABLE users ADD COLUMN blocker text;\n"})
	pr, d := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: "blocker"})
	e.deliver(d)
	waitFor(e.t, reached, e.p.Logs.String)
	return pr
}

func waitFor(t *testing.T, reached <-chan struct{}, logs func() string) {
	t.Helper()
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("the held request never came\n%s", logs())
	}
}

// restart kills the process with SIGKILL and starts the next one.
func (e *crashEnv) restart(second []string) {
	e.t.Helper()
	e.p.Kill()
	e.p = startProcess(e.t, e.f, append(e.env, second...)...)
}

// idle waits until the queue has no job waiting or running.
func (e *crashEnv) idle() {
	e.t.Helper()
	waitUntil(e.t, "the queue to empty", 60*time.Second, e.p.Logs.String, func() bool {
		return e.p.Metric("migration_guard_queue_jobs", `state="waiting"`) == 0 && e.p.Metric("migration_guard_queue_jobs", `state="running"`) == 0
	})
}

// runs are the App's check runs on the heads.
func (e *crashEnv) runs(heads ...string) []githubfake.CheckRun {
	var out []githubfake.CheckRun
	for _, h := range heads {
		for _, r := range e.f.CheckRuns(e.repo, h) {
			if r.App.ID == e.f.App().ID && r.Name == checklist.CheckRunName {
				out = append(out, r)
			}
		}
	}
	return out
}

// checkSettled fails unless every App check run on heads is completed
// and newest has exactly one, concluded want.
func (e *crashEnv) checkSettled(newest, want string, heads ...string) {
	e.t.Helper()
	for _, r := range e.runs(heads...) {
		if r.Status != "completed" {
			e.t.Errorf("check run %d on %s left %s\n%s", r.ID, r.HeadSHA[:7], r.Status, e.p.Logs)
		}
	}
	runs := e.runs(newest)
	if len(runs) != 1 || runs[0].Conclusion != want {
		e.t.Errorf("newest head %s: runs %+v, want one concluded %s", newest[:7], runs, want)
	}
}

// TestQueueKillTwoPushes: a pull request opened on head A and pushed to
// head B, both deliveries answered 202 and waiting when the process is
// killed with SIGKILL: after the restart only head B is judged (the push
// replaced the waiting job before the kill), its check completes with the
// verdict of B, and no run is left in progress; the job the kill cut
// short (another pull request's) takes its run over.
func TestQueueKillTwoPushes(t *testing.T) {
	for _, engine := range crashEngines(t) {
		t.Run(engine.name, func(t *testing.T) {
			e := newCrashEnv(t, engine.name, engine.first)
			blocker := e.holdWorker()
			headA := e.repo.CommitOn("feat", map[string]string{"db/migrations/003_note.sql": "ALTER TABLE users ADD COLUMN note text;\n"})
			pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: "feat"})
			e.deliver(opened)
			headB := e.repo.CommitOn("feat", map[string]string{"db/migrations/004_drop.sql": dropLegacy})
			e.deliver(e.f.Push(pr, headB))
			if n := e.p.Metric("migration_guard_queue_jobs", `state="waiting"`); n != 1 {
				t.Fatalf("%v jobs waiting before the kill, want the pull request's one", n)
			}
			// Read before the kill: once the next process starts, it may
			// take the pull request's job before the one cut short.
			if len(e.runs(headA, headB)) != 0 {
				t.Fatal("the pull request was checked before the kill: the test proves nothing")
			}
			e.restart(engine.second)
			waitUntil(t, "head B checked after the restart", 60*time.Second, e.p.Logs.String, func() bool {
				_, ok := completedRun(e.f, e.repo, headB)
				return ok
			})
			e.idle()
			if runs := e.runs(headA); len(runs) != 0 {
				t.Errorf("head A, replaced before the kill, was judged: %+v", runs)
			}
			e.checkSettled(headB, "action_required", headA, headB)
			e.checkSettled(blocker.HeadSHA, "success", blocker.HeadSHA)
			if !strings.Contains(e.p.Logs.String(), "running again a job cut short by a crash") {
				t.Errorf("the blocker's job was not run again as cut short:\n%s", e.p.Logs)
			}
		})
	}
}

// TestQueueKillMidJobNewerQueued: the process is killed while the job of
// head A is in the middle of its work (its check run in progress, its
// tree being read) and head B's push is accepted and waiting; the push
// has cut A's job short, whose closing write is held at the kill. After
// the restart the job cut short runs again first, then head B's: head B
// has one check run, with B's verdict, and A's run is closed, not left in
// progress.
func TestQueueKillMidJobNewerQueued(t *testing.T) {
	for _, engine := range crashEngines(t) {
		t.Run(engine.name, func(t *testing.T) {
			e := newCrashEnv(t, engine.name, engine.first)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			tree, reached := githubfake.Hold(release)
			e.f.FailNext("git/get-tree", tree, 1)
			headA := e.repo.CommitOn("feat", map[string]string{"db/migrations/003_note.sql": "ALTER TABLE users ADD COLUMN note text;\n"})
			pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: "feat"})
			e.deliver(opened)
			waitFor(t, reached, e.p.Logs.String)
			if runs := e.runs(headA); len(runs) != 1 || runs[0].Status == "completed" {
				t.Fatalf("head A's run before the kill: %+v", runs)
			}
			// The superseded job's closing write is held: the kill finds it
			// in the middle of its work.
			closing, closeReached := githubfake.Hold(release)
			e.f.FailNext("checks/update", closing, 1)
			headB := e.repo.CommitOn("feat", map[string]string{"db/migrations/004_drop.sql": dropLegacy})
			e.deliver(e.f.Push(pr, headB))
			waitFor(t, closeReached, e.p.Logs.String)
			e.restart(engine.second)
			waitUntil(t, "head B checked after the restart", 60*time.Second, e.p.Logs.String, func() bool {
				_, ok := completedRun(e.f, e.repo, headB)
				return ok
			})
			e.idle()
			e.checkSettled(headB, "action_required", headA, headB)
			if runs := e.runs(headA); len(runs) != 1 || runs[0].Conclusion != "cancelled" {
				t.Errorf("head A's run after the restart: %+v, want one, closed as superseded (cancelled)", runs)
			}
		})
	}
}

// TestQueueKillTwoApprovalEdits: a writer ticks the box of the summary
// comment and unticks it again; both edits are answered 202 and waiting
// when the process is killed. After the restart the newest edit, the
// untick, decides: the check needs approval again, the comment's box is
// empty, and no run is left in progress.
func TestQueueKillTwoApprovalEdits(t *testing.T) {
	for _, engine := range crashEngines(t) {
		t.Run(engine.name, func(t *testing.T) {
			e := newCrashEnv(t, engine.name, engine.first)
			carol := e.f.AddUser("carol")
			e.f.SetRole(e.repo, carol, "write")
			head := e.repo.CommitOn("drop", map[string]string{"db/migrations/003_drop.sql": dropLegacy})
			pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: "drop"})
			e.p.deliver(e.f, opened)
			if run, _ := completedRun(e.f, e.repo, head); run.Conclusion != "action_required" {
				t.Fatalf("opened: %s", run.Conclusion)
			}
			var c githubfake.IssueComment
			for _, ic := range e.f.IssueComments(pr) {
				if checklist.IsStickyComment(ic.Body) {
					c = ic
				}
			}
			blocker := e.holdWorker()
			tick, err := e.f.EditComment(carol, c.ID, setBox(t, c.Body, true))
			if err != nil {
				t.Fatal(err)
			}
			e.deliver(tick)
			untick, err := e.f.EditComment(carol, c.ID, c.Body)
			if err != nil {
				t.Fatal(err)
			}
			e.deliver(untick)
			e.restart(engine.second)
			waitUntil(t, "the blocker checked after the restart", 60*time.Second, e.p.Logs.String, func() bool {
				_, ok := completedRun(e.f, e.repo, blocker.HeadSHA)
				return ok
			})
			e.idle()
			e.checkSettled(head, "action_required", head)
			e.checkSettled(blocker.HeadSHA, "success", blocker.HeadSHA)
			for _, ic := range e.f.IssueComments(pr) {
				if ic.ID == c.ID {
					if _, box, ok := checklist.CanonicalSticky(ic.Body); !ok || box.Ticked {
						t.Errorf("the comment after the restart is ticked:\n%s", ic.Body)
					}
				}
			}
			logs := e.p.Logs.String()
			if !strings.Contains(logs, untick.GUID) {
				t.Errorf("the untick was not run after the restart:\n%s", logs)
			}
		})
	}
}

// TestQueueKilledTooOften: a job whose process is killed every time it
// runs (SIGKILL mid-job, maxJobCrashes times) is not run forever nor left
// in progress: the run after the last kill fails its check, red, saying
// why, on the one check run the killed runs took over in turn.
func TestQueueKilledTooOften(t *testing.T) {
	for _, engine := range crashEngines(t) {
		t.Run(engine.name, func(t *testing.T) {
			e := newCrashEnv(t, engine.name, engine.first)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			hold := func() <-chan struct{} {
				fault, reached := githubfake.Hold(release)
				e.f.FailNext("git/get-tree", fault, 1)
				return reached
			}
			reached := hold()
			head := e.repo.CommitOn("feat", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
			_, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: "feat"})
			e.deliver(opened)
			waitFor(t, reached, e.p.Logs.String)
			for kills := 1; kills < maxJobCrashes; kills++ {
				reached = hold()
				e.restart(engine.second)
				waitFor(t, reached, e.p.Logs.String)
				if runs := e.runs(head); len(runs) != 1 || runs[0].Status == "completed" {
					t.Fatalf("after kill %d: runs %+v, want the one run, in progress", kills, runs)
				}
			}
			e.restart(engine.second)
			waitUntil(t, "the check failed after the last kill", 60*time.Second, e.p.Logs.String, func() bool {
				_, ok := completedRun(e.f, e.repo, head)
				return ok
			})
			e.idle()
			runs := e.runs(head)
			if len(runs) != 1 || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Output.Summary, fmt.Sprintf("cut short %d times", maxJobCrashes)) {
				t.Errorf("after %d kills: %+v, want one run, failed, saying it was cut short %d times", maxJobCrashes, runs, maxJobCrashes)
			}
			if !strings.Contains(e.p.Logs.String(), "a job was cut short too many times") {
				t.Errorf("the last run did not fail the job as cut short too often:\n%s", e.p.Logs)
			}
		})
	}
}
