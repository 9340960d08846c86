package webhook

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/internal/pgtest"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// jobAgent reads the job (key and run) out of a User-Agent the App sent
// from a job: "migration-guard/V (replica R; job KEY RUN)".
var jobAgent = regexp.MustCompile(`\(replica ([^;]+); job (\S+) (\S+)\)$`)

// span is one run of a job as the fake saw it: from the arrival of its
// first write to the answer of its last.
type span struct {
	replica, run    string
	first, last     uint64
	firstAt, lastAt int
}

// overlappingRuns finds, per job key, two runs whose writes interleave:
// one run's write arrived before the other's last was answered, and the
// other way round. One job at a time per pull request means none.
func overlappingRuns(t *testing.T, ms []githubfake.Mutation) []string {
	t.Helper()
	runs := map[string]map[string]*span{}
	for i, m := range ms {
		if m.OperationID == "apps/create-installation-access-token" {
			// An installation token, made for the process, not a write
			// about a pull request.
			continue
		}
		g := jobAgent.FindStringSubmatch(m.Agent)
		if g == nil {
			t.Errorf("a write not made by a job: %s %s (%q)", m.Method, m.Path, m.Agent)
			continue
		}
		key, run := g[2], g[1]+"/"+g[3]
		if runs[key] == nil {
			runs[key] = map[string]*span{}
		}
		s := runs[key][run]
		if s == nil {
			s = &span{replica: g[1], run: run, first: m.Arrived, firstAt: i}
			runs[key][run] = s
		}
		s.first, s.last, s.lastAt = min(s.first, m.Arrived), max(s.last, m.Answered), i
	}
	var out []string
	for key, byRun := range runs {
		for _, a := range byRun {
			for _, b := range byRun {
				if a.run < b.run && a.first < b.last && b.first < a.last {
					out = append(out, fmt.Sprintf("%s: runs %s [%d,%d] and %s [%d,%d]", key, a.run, a.first, a.last, b.run, b.first, b.last))
				}
			}
		}
	}
	return out
}

// TestReplicasShareQueue: two serve processes on one queue database, a
// stream of deliveries for many pull requests sent to both, and one
// process killed with SIGKILL while a job of its own is in the middle of
// its work (its check run created, its tree being read). Every pull
// request ends with a completed check run on its head, no App check run is
// left in progress (the killed job's is taken over by its rescue on the
// other process), every delivery is answered by a job that finished, and
// the fake's log of writes shows no pull request handled by two runs at
// once.
func TestReplicasShareQueue(t *testing.T) {
	dbURL := pgtest.Scratch(t)
	f := githubfake.New(t)
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	author := f.AddUser("alice")
	f.SetRole(repo, author, "write")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})

	common := []string{"QUEUE_DATABASE_URL=" + dbURL, "WORKERS=2", "JOB_TIMEOUT=5s", "RECONCILE_ON_START=false", "SHUTDOWN_TIMEOUT=5s"}
	a := startProcess(t, f, append(common, "REPLICA_ID=a")...)
	b := startProcess(t, f, append(common, "REPLICA_ID=b")...)
	procs := []*process{a, b}
	logs := func() string { return "a:\n" + a.Logs.String() + "\nb:\n" + b.Logs.String() }

	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	held, reached := githubfake.Hold(release)
	f.FailNextFrom("(replica a;", "git/get-tree", held, 1)

	const pulls, pushes = 12, 2
	var prs []*githubfake.PullRequest
	var guids []string
	killed := false
	deliver := func(i int, d *githubfake.Delivery) {
		t.Helper()
		p := procs[i%len(procs)]
		if p == a && killed {
			p = b
		}
		f.SetWebhookURL(p.Base + "/webhook")
		if code, err := f.Deliver(d); err != nil || code != http.StatusAccepted {
			t.Fatalf("delivery %d to %s: %d %v (%s)", i, p.Base, code, err, d.ResponseBody)
		}
		guids = append(guids, d.GUID)
	}
	n := 0
	for i := range pulls {
		branch := fmt.Sprintf("pr%d", i)
		repo.CommitOn(branch, map[string]string{fmt.Sprintf("db/migrations/%03d_pr.sql", 100+i): dropLegacy})
		pr, d := f.OpenPR(repo, githubfake.PROptions{Author: author, Head: branch})
		prs = append(prs, pr)
		deliver(n, d)
		n++
	}
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("no job of a reached the tree:\n%s", logs())
	}
	a.Kill()
	killed = true
	for k := range pushes {
		for i, pr := range prs {
			sha := repo.CommitOn(fmt.Sprintf("pr%d", i), map[string]string{fmt.Sprintf("db/migrations/%03d_pr.sql", 100+i): fmt.Sprintf("ALTER TABLE users ADD COLUMN note%d text;\n", k)})
			deliver(n, f.Push(pr, sha))
			n++
		}
	}

	// b's rescue takes a's job over within seconds of the kill (a's lease
	// goes with its connections); the limit only ends a test that hangs.
	waitUntil(t, "every pull request's check completed, none in progress", 4*time.Minute, logs, func() bool {
		for _, pr := range prs {
			if _, ok := completedRun(f, repo, f.PR(pr).HeadSHA); !ok {
				return false
			}
		}
		for _, r := range f.CheckRuns(repo, "") {
			if r.Status != "completed" {
				return false
			}
		}
		return b.Metric("migration_guard_queue_jobs", "") == 0
	})
	for _, pr := range prs {
		run, _ := completedRun(f, repo, f.PR(pr).HeadSHA)
		if run.Conclusion != "success" {
			t.Errorf("#%d: %s, want success", pr.Number, run.Conclusion)
		}
	}
	all := a.Logs.String() + b.Logs.String()
	for _, g := range guids {
		if !regexp.MustCompile(`"msg":"job done","deliveries":\[[^\]]*"` + regexp.QuoteMeta(g) + `"`).MatchString(all) {
			t.Errorf("delivery %s is in no finished job", g)
		}
	}
	ms := f.Mutations()
	for _, o := range overlappingRuns(t, ms) {
		t.Errorf("a pull request handled by two runs at once: %s", o)
	}
	byReplica := map[string]int{}
	for _, m := range ms {
		if g := jobAgent.FindStringSubmatch(m.Agent); g != nil {
			byReplica[g[1]]++
		}
	}
	if byReplica["a"] == 0 || byReplica["b"] == 0 {
		t.Errorf("writes by replica: %v; both should have worked", byReplica)
	}
	// The jobs a was running when killed ran again on b (their runs .1),
	// and a check run such a job had created and not completed was closed
	// by its rerun: taken over, or closed as superseded when a push had
	// moved the head meanwhile.
	rescued := rescuedKeys(ms)
	if len(rescued) == 0 {
		t.Fatalf("no job of a ran again on b:\n%s", logs())
	}
	created := map[int64]string{} // run -> key, created by a for a rescued key
	completedBy := map[int64][]string{}
	for _, m := range ms {
		g := jobAgent.FindStringSubmatch(m.Agent)
		if g == nil {
			continue
		}
		if g[1] == "a" && m.OperationID == "checks/create" && rescued[g[2]] {
			created[m.ObjectID] = g[2]
		}
		if body, _ := m.Body.(map[string]any); m.OperationID == "checks/update" && body["status"] == "completed" {
			id := m.Path[strings.LastIndexByte(m.Path, '/')+1:]
			for run := range created {
				if fmt.Sprint(run) == id {
					completedBy[run] = append(completedBy[run], g[1]+"/"+g[3])
				}
			}
		}
	}
	leftByKill := 0
	for run, key := range created {
		byA, byRescue := false, false
		for _, who := range completedBy[run] {
			byA = byA || strings.HasPrefix(who, "a/")
			byRescue = byRescue || (strings.HasPrefix(who, "b/") && strings.HasSuffix(who, ".1"))
		}
		if byA {
			continue
		}
		leftByKill++
		if !byRescue {
			t.Errorf("check run %d left in progress by the killed job (%s) was closed by %v, not by its rerun", run, key, completedBy[run])
		}
	}
	if leftByKill == 0 {
		t.Errorf("no check run was left in progress by the kill: the test proves nothing about taking one over")
	}
	if v := f.Violations(); len(v) != 0 {
		t.Errorf("contract violations: %+v", v)
	}
}

// rescuedKeys are the keys of the jobs that ran again after a crash (a
// run numbered .1) and wrote.
func rescuedKeys(ms []githubfake.Mutation) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		if g := jobAgent.FindStringSubmatch(m.Agent); g != nil && strings.HasSuffix(g[3], ".1") {
			out[g[2]] = true
		}
	}
	return out
}
