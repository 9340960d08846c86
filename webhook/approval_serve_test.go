package webhook

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/internal/servetest"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// servedBinary builds cmd/migration-guard once per test binary: the
// approval gate is driven end to end through the real program, as it
// runs in production.
func servedBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "migration-guard-approval")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "migration-guard")
		cmd := exec.Command("go", "build", "-o", builtBin, "github.com/migration-guard/migration-guard/cmd/migration-guard")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("building the binary: %v", buildErr)
	}
	return builtBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// process is one run of `migration-guard serve` against the fake.
type process struct {
	*servetest.Process
	t *testing.T
}

func startProcess(t *testing.T, f *githubfake.Fake, env ...string) *process {
	t.Helper()
	return &process{Process: servetest.Start(t, servedBinary(t), f, f.URL(), append([]string{"SETUP_OUTPUT_PATH="}, env...)...), t: t}
}

// deliver sends d and waits until the process has finished one more job.
func (p *process) deliver(f *githubfake.Fake, d *githubfake.Delivery) {
	p.t.Helper()
	done := p.Metric("migration_guard_jobs_total", "")
	code, err := f.Deliver(d)
	if err != nil || code != http.StatusAccepted {
		p.t.Fatalf("%s.%s: %d %v (%s)", d.Event, d.Action, code, err, d.ResponseBody)
	}
	if !strings.HasPrefix(d.ResponseBody, "queued") {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for p.Metric("migration_guard_jobs_total", "") <= done || p.Metric("migration_guard_jobs_running", "") != 0 || p.Metric("migration_guard_queue_depth", "") != 0 {
		if time.Now().After(deadline) {
			p.t.Fatalf("job not done after 30s:\n%s", p.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// repoWrites are the mutations of repository state: a new process's
// installation token is not one.
func repoWrites(ms []githubfake.Mutation) []githubfake.Mutation {
	var out []githubfake.Mutation
	for _, m := range ms {
		if !strings.HasPrefix(m.OperationID, "apps/") {
			out = append(out, m)
		}
	}
	return out
}

// TestApprovalSurvivesRestart drives the built binary: a writer's tick
// turns the check green; the service restarts; the next push carries the
// approval, read from the check run, not from memory; the old delivery
// replayed to the new process decides nothing again.
func TestApprovalSurvivesRestart(t *testing.T) {
	f := githubfake.New(t, githubfake.WithResponseValidation())
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	alice, carol := f.AddUser("alice"), f.AddUser("carol")
	f.SetRole(repo, alice, "write")
	f.SetRole(repo, carol, "write")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	pr, opened := f.OpenPR(repo, githubfake.PROptions{Author: alice, Head: "drop"})

	runOn := func(sha string) githubfake.CheckRun {
		t.Helper()
		var last githubfake.CheckRun
		for _, r := range f.CheckRuns(repo, sha) {
			if r.App.ID == f.App().ID && r.Name == checklist.CheckRunName {
				last = r
			}
		}
		return last
	}
	sticky := func() githubfake.IssueComment {
		t.Helper()
		for _, c := range f.IssueComments(pr) {
			if c.Author.Login == f.App().Bot.Login && checklist.IsStickyComment(c.Body) {
				return c
			}
		}
		t.Fatal("no sticky comment")
		return githubfake.IssueComment{}
	}

	first := startProcess(t, f)
	first.deliver(f, opened)
	if run := runOn(pr.HeadSHA); run.Conclusion != "action_required" {
		t.Fatalf("opened: %s\n%s", run.Conclusion, first.Logs)
	}
	c := sticky()
	tick, err := f.EditComment(carol, c.ID, setBox(t, c.Body, true))
	if err != nil {
		t.Fatal(err)
	}
	first.deliver(f, tick)
	if run := runOn(pr.HeadSHA); run.Conclusion != "success" || !strings.Contains(run.Output.Summary, "Approved by @carol") {
		t.Fatalf("after the tick: %s\n%s\n%s", run.Conclusion, run.Output.Summary, first.Logs)
	}
	first.Stop()
	logs := first.Logs.String()
	if !strings.Contains(logs, `"msg":"approval decision"`) || !strings.Contains(logs, `"decision":"approved"`) || !strings.Contains(logs, `"sender":"carol"`) {
		t.Errorf("no audit line:\n%s", logs)
	}

	second := startProcess(t, f)
	before := repoWrites(f.Mutations())
	second.deliver(f, tick)
	if after := repoWrites(f.Mutations()); len(after) != len(before) {
		t.Errorf("the replayed tick wrote after the restart: %+v", writes(after[len(before):]))
	}
	approved := pr.HeadSHA
	head := repo.CommitOn("drop", map[string]string{"README.md": "# billing\n\nNotes.\n"})
	second.deliver(f, f.Push(pr, head))
	run := runOn(head)
	if run.Conclusion != "success" || !strings.Contains(run.Output.Summary, "approval carried from "+approved[:7]) {
		t.Fatalf("after the restart and a push: %s\n%s\n%s", run.Conclusion, run.Output.Summary, second.Logs)
	}
	body := sticky().Body
	if _, box, ok := checklist.CanonicalSticky(body); !ok || !box.Ticked || !strings.Contains(body, "Approved by @carol") {
		t.Errorf("comment after the restart:\n%s", body)
	}
	second.Stop()
	all := logs + second.Logs.String()
	if strings.Contains(all, f.WebhookSecret()) || strings.Contains(all, "ghs_") {
		t.Error("a secret or a token is in the logs")
	}
	if v := f.Violations(); len(v) != 0 {
		t.Errorf("contract violations: %+v", v)
	}
}
