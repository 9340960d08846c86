package webhook

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/internal/pgtest"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// queueEngines are the queues a served App runs on: the memory queue
// (a workflow step), River on SQLite (one replica) and River on
// PostgreSQL (several).
func queueEngines() []struct {
	name string
	tune func(t *testing.T, c *Config)
} {
	return []struct {
		name string
		tune func(t *testing.T, c *Config)
	}{
		{"memory", func(_ *testing.T, c *Config) { c.QueueDataDir, c.QueueDatabaseURL = "", "" }},
		{"sqlite", func(t *testing.T, c *Config) { c.QueueDataDir, c.QueueDatabaseURL = t.TempDir(), "" }},
		{"postgres", func(t *testing.T, c *Config) { c.QueueDataDir, c.QueueDatabaseURL = "", pgtest.Scratch(t) }},
	}
}

// completionOrder is the heads of the App's check runs in repos in the
// order the fake recorded the write that completed each (its mutation
// log), each head once.
func completionOrder(f *githubfake.Fake, repos ...*githubfake.Repo) []string {
	headOf := map[int64]string{}
	for _, repo := range repos {
		for _, r := range f.CheckRuns(repo, "") {
			if r.App.ID == f.App().ID {
				headOf[r.ID] = r.HeadSHA
			}
		}
	}
	var out []string
	for _, m := range f.Mutations() {
		if m.OperationID != "checks/create" && m.OperationID != "checks/update" {
			continue
		}
		body, _ := m.Body.(map[string]any)
		head, ok := headOf[m.ObjectID]
		if !ok || (body["status"] != "completed" && body["conclusion"] == nil) || slices.Contains(out, head) {
			continue
		}
		out = append(out, head)
	}
	return out
}

// fairEnv is an App with one worker and two installations: A (acme,
// e.repo) and B (zeta, b).
type fairEnv struct {
	*env
	b *githubfake.Repo
}

func newFairEnv(t *testing.T, tune func(t *testing.T, c *Config)) *fairEnv {
	e := newEnv(t, func(c *Config) { c.Workers = 1; tune(t, c) })
	b := e.f.AddRepo("zeta/app")
	e.f.Install("zeta", b)
	e.f.SetRole(b, e.author, "write")
	b.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	return &fairEnv{env: e, b: b}
}

// open opens a pull request adding a column on repo and delivers it.
func (e *fairEnv) open(repo *githubfake.Repo, branch string) *githubfake.PullRequest {
	e.t.Helper()
	repo.CommitOn(branch, map[string]string{"db/migrations/002_" + branch + ".sql": "ALTER TABLE users ADD COLUMN " + branch + " text;\n"})
	pr, d := e.f.OpenPR(repo, githubfake.PROptions{Author: e.author, Head: branch})
	e.deliver(d, http.StatusAccepted)
	return pr
}

// holdFirst delivers A's first pull request and holds its job, the one
// worker's, until the returned release is called.
func (e *fairEnv) holdFirst() (*githubfake.PullRequest, func()) {
	e.t.Helper()
	release := make(chan struct{})
	fault, reached := githubfake.Hold(release)
	e.f.FailNext("pulls/get", fault, 1)
	first := e.open(e.repo, "a0")
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		e.t.Fatalf("the first job did not start\n%s", e.logs)
	}
	released := false
	e.t.Cleanup(func() {
		if !released {
			close(release)
		}
	})
	return first, func() { released = true; close(release) }
}

func (e *fairEnv) waitCompleted(prs ...*githubfake.PullRequest) {
	e.t.Helper()
	waitUntil(e.t, "every check completed", 60*time.Second, e.logs.String, func() bool {
		for _, pr := range prs {
			if _, ok := completedRun(e.f, pr.Repo, pr.HeadSHA); !ok {
				return false
			}
		}
		return true
	})
}

// TestQueueServesInstallationsFairly: while installation A's burst of
// pull requests waits behind its first, one delivery of installation B
// is checked next, before the rest of A's backlog, on every queue: the
// durable queue's River jobs carry priorities from how many keys their
// installation has (keyJobPriority), as the memory queue serves
// installations round robin.
func TestQueueServesInstallationsFairly(t *testing.T) {
	for _, engine := range queueEngines() {
		t.Run(engine.name, func(t *testing.T) {
			e := newFairEnv(t, engine.tune)
			first, release := e.holdFirst()
			all := []*githubfake.PullRequest{first}
			for i := 1; i <= 6; i++ {
				all = append(all, e.open(e.repo, fmt.Sprintf("a%d", i)))
			}
			b := e.open(e.b, "b0")
			all = append(all, b)
			release()
			e.waitCompleted(all...)
			order := completionOrder(e.f, e.repo, e.b)
			if len(order) != len(all) {
				t.Fatalf("%d completions, want %d: %v", len(order), len(all), order)
			}
			// Round robin (memory) takes A's second before B; priorities
			// (River) take B right after A's first.
			if at := slices.Index(order, b.HeadSHA); at < 1 || at > 2 {
				t.Errorf("B's check completed %d-th (from 0), want after A's first and ahead of all but at most one of A's 6 waiting: %v", at, order)
			}
			for _, pr := range all {
				if run, _ := completedRun(e.f, pr.Repo, pr.HeadSHA); run.Conclusion != "success" {
					t.Errorf("%s: %s", pr.HeadSHA, run.Conclusion)
				}
			}
		})
	}
}

// TestQueueBacklogNotStarved: installation B keeps a pull request waiting
// (a new one comes each time its last one starts), yet A's backlog is
// worked alongside, not only after B stops: A's last check completes
// before B's last. With priorities fixed when a key is inserted, A's
// third pull request would wait behind every one of B's.
func TestQueueBacklogNotStarved(t *testing.T) {
	for _, engine := range queueEngines() {
		t.Run(engine.name, func(t *testing.T) {
			e := newFairEnv(t, engine.tune)
			first, release := e.holdFirst()
			as := []*githubfake.PullRequest{first}
			for i := 1; i <= 4; i++ {
				as = append(as, e.open(e.repo, fmt.Sprintf("a%d", i)))
			}
			bs := []*githubfake.PullRequest{e.open(e.b, "b0")}
			release()
			for i := 1; i < 10; i++ {
				last := bs[len(bs)-1]
				waitUntil(t, "B's last job to start", 60*time.Second, e.logs.String, func() bool { return len(e.f.CheckRuns(e.b, last.HeadSHA)) > 0 })
				bs = append(bs, e.open(e.b, fmt.Sprintf("b%d", i)))
			}
			e.waitCompleted(append(slices.Clone(as), bs...)...)
			order := completionOrder(e.f, e.repo, e.b)
			lastA := slices.Index(order, as[len(as)-1].HeadSHA)
			lastB := slices.Index(order, bs[len(bs)-1].HeadSHA)
			if lastA < 0 || lastB < 0 || lastA > lastB {
				t.Errorf("A's last check completed %d-th, B's last %d-th: A waited for B's stream to end: %v", lastA, lastB, order)
			}
		})
	}
}

// riverQuery runs a query on River's jobs of the queue's engine.
func riverQuery(t *testing.T, q *durableQueue, query string, scan func(scan func(...any) error) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	if err := q.eng.withTx(ctx, func(tx dbtx) error { return tx.query(ctx, query, nil, scan) }); err != nil {
		t.Fatal(err)
	}
}

// TestRescuedLiveJobRunsOnce: River's rescuer may hand a River job to
// another worker while its first run still goes on (a run longer than
// River's job timeout, an attempt River could not see end); the second
// worker finds the key's lease held and snoozes instead of running the
// job again, and the queue's own rescue leaves a key whose lease is held
// alone. The job runs once: one check run, created once, no rerun.
func TestRescuedLiveJobRunsOnce(t *testing.T) {
	for _, engine := range queueEngines()[1:] {
		t.Run(engine.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Workers = 2; engine.tune(t, c) })
			q := e.srv.queue.(*durableQueue)
			release := make(chan struct{})
			fault, reached := githubfake.Hold(release)
			e.f.FailNext("git/get-tree", fault, 1)
			pr, d := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
			e.deliver(d, http.StatusAccepted)
			select {
			case <-reached:
			case <-time.After(30 * time.Second):
				close(release)
				t.Fatalf("the job did not reach its tree\n%s", e.logs)
			}
			// What River's rescuer does to a job running longer than
			// RescueStuckJobsAfter: it is available to the next worker.
			ctx := context.Background()
			if err := q.eng.withTx(ctx, func(tx dbtx) error {
				return tx.exec(ctx, "UPDATE river_job SET state = 'available' WHERE state = 'running' AND kind = 'migration_guard_key'")
			}); err != nil {
				close(release)
				t.Fatal(err)
			}
			waitUntil(t, "the second worker to snooze on the lease", 30*time.Second, e.logs.String, func() bool {
				// River's executor logs each snooze (at debug level).
				return strings.Contains(e.logs.String(), "Job snoozed")
			})
			before := 0
			riverQuery(t, q, "SELECT count(*) FROM river_job", func(scan func(...any) error) error { return scan(&before) })
			if err := q.rescueDead(ctx); err != nil {
				close(release)
				t.Fatal(err)
			}
			after := 0
			riverQuery(t, q, "SELECT count(*) FROM river_job", func(scan func(...any) error) error { return scan(&after) })
			if after != before {
				t.Errorf("the queue's rescue queued a key whose runner is alive: %d River jobs, then %d", before, after)
			}
			close(release)
			e.wait()
			if run := e.onlyRun(pr.HeadSHA); run.Status != "completed" || run.Conclusion != "action_required" {
				t.Errorf("run: %s/%s", run.Status, run.Conclusion)
			}
			creates := 0
			for _, m := range e.f.Mutations() {
				if m.OperationID == "checks/create" {
					creates++
				}
			}
			if creates != 1 {
				t.Errorf("%d check runs created, want 1", creates)
			}
			if logs := e.logs.String(); strings.Contains(logs, "cut short") || strings.Contains(logs, "runner is gone") {
				t.Errorf("the live job was taken for a crashed one:\n%s", logs)
			}
			waitUntil(t, "River's jobs to end", 30*time.Second, e.logs.String, func() bool {
				open := -1
				riverQuery(t, q, "SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')", func(scan func(...any) error) error { return scan(&open) })
				return open == 0
			})
		})
	}
}
