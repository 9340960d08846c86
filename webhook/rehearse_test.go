package webhook

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/pgtest"
	"github.com/migration-guard/migration-guard/internal/rehearse"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// typo fails at deploy: the column is misspelt.
const typo = "ALTER TABLE users ADD COLUMN note text;\nALTER TABLE users ALTER COLUMN emial SET NOT NULL;\n"

// rehearsalEnv is an App whose rehearsals run on a scratch server of the
// test PostgreSQL, counting them.
func rehearsalEnv(t *testing.T, withServer bool, config string) (*env, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	e := newEnv(t, func(c *Config) {
		if !withServer {
			return
		}
		srv, err := rehearse.OpenScratch(context.Background(), pgtest.Scratch(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close(context.Background()) })
		c.Rehearse = func(ctx context.Context, req analyzer.Request, rep *analyzer.Report) error {
			calls.Add(1)
			_, err := rehearse.Rehearse(ctx, srv, req, rep, rehearse.Options{CacheBase: true})
			return err
		}
	})
	if config != "" {
		e.repo.Commit(map[string]string{".github/migration-guard.yml": config})
	}
	return e, &calls
}

func TestRehearsalInCheckRun(t *testing.T) {
	cases := []struct {
		name, config string
		server, fork bool
		wantCalls    int32
		want, absent string
	}{
		{"opted in", "rehearsal:\n  enabled: true\n", true, false, 1, "fails-at-deploy", ""},
		{"not opted in", "", true, false, 0, "", "fails-at-deploy"},
		{"fork not rehearsed", "rehearsal:\n  enabled: true\n", true, true, 0, "not rehearsed: the pull request comes from a fork", "fails-at-deploy"},
		{"fork opted in", "rehearsal:\n  enabled: true\n  forks: true\n", true, true, 1, "fails-at-deploy", ""},
		{"no server", "rehearsal:\n  enabled: true\n", false, false, 0, "not-rehearsed", "fails-at-deploy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, calls := rehearsalEnv(t, c.server, c.config)
			opts := githubfake.PROptions{Author: e.author, Head: "typo"}
			if c.fork {
				opts.HeadRepo = e.f.Fork(e.repo, "mallory")
			}
			e.repo.CommitOn("typo", map[string]string{"db/migrations/002_typo.sql": typo})
			pr, opened := e.f.OpenPR(e.repo, opts)
			e.deliver(opened, http.StatusAccepted)
			e.wait()
			run := e.onlyRun(pr.HeadSHA)
			out := run.Output.Summary + run.Output.Text
			if got := calls.Load(); got != c.wantCalls {
				t.Errorf("%d rehearsals, want %d", got, c.wantCalls)
			}
			if c.want != "" && !strings.Contains(out, c.want) {
				t.Errorf("the check run lacks %q:\n%s", c.want, out)
			}
			if c.absent != "" && strings.Contains(out, c.absent) {
				t.Errorf("the check run has %q:\n%s", c.absent, out)
			}
			// The misspelt column needs approval whether or not it was
			// rehearsed (SET NOT NULL is judged statically too).
			if run.Conclusion != "action_required" {
				t.Errorf("conclusion %s", run.Conclusion)
			}
		})
	}
}

// TestMergeGroupRehearsedOnlyWhereForksMay: a merge queue's commit may
// carry a fork's statements, so it is rehearsed only when the base
// configuration lets forks be rehearsed.
func TestMergeGroupRehearsedOnlyWhereForksMay(t *testing.T) {
	for _, c := range []struct {
		config    string
		wantCalls int32
	}{
		{"rehearsal:\n  enabled: true\n", 0},
		{"rehearsal:\n  enabled: true\n  forks: true\n", 1},
	} {
		e, calls := rehearsalEnv(t, true, c.config)
		e.repo.CommitOn("typo", map[string]string{"db/migrations/002_typo.sql": typo})
		pr, _ := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: "typo"})
		queued := e.repo.CommitWith(githubfake.CommitOptions{Branch: "gh-readonly-queue/main/pr-1", Parent: e.repo.Branch("main"),
			Files: map[string]string{"db/migrations/002_typo.sql": typo}})
		d, err := e.f.MergeGroupEvent(pr, queued, e.author)
		if err != nil {
			t.Fatal(err)
		}
		e.deliver(d, http.StatusAccepted)
		e.wait()
		run := e.onlyRun(queued)
		if got := calls.Load(); got != c.wantCalls {
			t.Errorf("%q: %d rehearsals of the queue's commit, want %d", c.config, got, c.wantCalls)
		}
		if c.wantCalls == 0 && !strings.Contains(run.Output.Summary+run.Output.Text, "a merge queue's commit may hold a fork's pull request") {
			t.Errorf("the check does not say why the queue's commit was not rehearsed:\n%s", run.Output.Summary+run.Output.Text)
		}
		if run.Conclusion != "action_required" {
			t.Errorf("conclusion %s", run.Conclusion)
		}
	}
}
