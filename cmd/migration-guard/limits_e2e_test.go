package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/internal/pgtest"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// unescape undoes the Markdown escaping of underscores in check texts.
func unescape(s string) string { return strings.ReplaceAll(s, `\_`, "_") }

// TestServeWorkLimitsEndToEnd: through the built binary, a change over a
// cap of MAX_JOB_FILES or MAX_JOB_STATEMENTS, or one that runs out of
// JOB_TIMEOUT, gets a red check that names the cap (never green, never
// left in progress); a change under the caps is judged as usual.
func TestServeWorkLimitsEndToEnd(t *testing.T) {
	f := githubfake.New(t, githubfake.WithResponseValidation())
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	alice := f.AddUser("alice")
	f.SetRole(repo, alice, "write")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	s := startServe(t, f, "MAX_JOB_FILES=2", "MAX_JOB_STATEMENTS=3")
	jobs := 0
	check := func(branch string, files map[string]string, conclusion, title, says string) {
		t.Helper()
		repo.CommitOn(branch, files)
		pr, opened := f.OpenPR(repo, githubfake.PROptions{Author: alice, Head: branch})
		s.deliver(opened, http.StatusAccepted)
		jobs++
		s.waitJobs(jobs)
		runs := botRuns(f, repo, pr.HeadSHA)
		if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != conclusion {
			t.Fatalf("%s: check runs %+v, want one completed %s\n%s", branch, runs, conclusion, s.Logs)
		}
		if title != "" && (runs[0].Output.Title != title || !strings.Contains(unescape(runs[0].Output.Summary), says)) {
			t.Errorf("%s: %q %q; want %q saying %q", branch, runs[0].Output.Title, runs[0].Output.Summary, title, says)
		}
	}
	check("under", map[string]string{"db/migrations/002_drop.sql": dropLegacy}, "action_required", "", "")
	check("files", map[string]string{
		"db/migrations/002_a.sql": dropLegacy,
		"db/migrations/003_b.sql": "SELECT 1;\n",
		"db/migrations/004_c.sql": "SELECT 2;\n",
	}, "failure", checklist.TitleOverJobLimit, "3 changed migration files; one check judges at most 2 (MAX_JOB_FILES)")
	check("statements", map[string]string{"db/migrations/002_many.sql": "SELECT 1;\nSELECT 2;\nSELECT 3;\n" + dropLegacy},
		"failure", checklist.TitleOverJobLimit, "more than 3 statements to judge; one check judges at most 3 (MAX_JOB_STATEMENTS)")
	if n := s.Metric("migration_guard_jobs_total", `outcome="over_limit"`); n != 2 {
		t.Errorf("%v jobs over a limit in the metrics, want 2", n)
	}
	s.Stop()

	// A deadline that has passed before the first request: the job
	// cannot judge anything, and says so in a red check.
	s = startServe(t, f, "JOB_TIMEOUT=1ns")
	repo.CommitOn("late", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	pr, opened := f.OpenPR(repo, githubfake.PROptions{Author: alice, Head: "late"})
	s.deliver(opened, http.StatusAccepted)
	s.waitJobs(1)
	runs := botRuns(f, repo, pr.HeadSHA)
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != "failure" || runs[0].Output.Title != checklist.TitleNotJudgedInTime ||
		!strings.Contains(unescape(runs[0].Output.Summary), "(JOB_TIMEOUT, 1ns)") {
		t.Fatalf("check runs after the deadline: %+v\n%s", runs, s.Logs)
	}
}

// TestServeProbesEndToEnd: through the built binary, against a real
// PostgreSQL: a pull request from a fork, or by an author without write
// access, gets no data probe and is told why; a writer's pull request from
// the repository is probed, and a CHECK probe says only whether rows
// break it.
func TestServeProbesEndToEnd(t *testing.T) {
	prod := pgtest.Scratch(t,
		"CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, legacy text)",
		"INSERT INTO users SELECT g, 'u' || g, 'secret-Xq' || g FROM generate_series(1, 40) g",
	)
	name := analyzer.ProbeEnvName("acme", "billing")
	f := githubfake.New(t, githubfake.WithResponseValidation())
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	alice := f.AddUser("alice")
	f.SetRole(repo, alice, "write")
	bob := f.AddUser("bob")
	f.SetRole(repo, bob, "read")
	fork := f.AddRepo("alice/billing")
	fork.Fork = true
	repo.Commit(map[string]string{
		"db/migrations/001_users.sql": usersTable,
		".github/migration-guard.yml": "probe_database_env: " + name + "\n",
	})
	s := startServe(t, f, name+"="+prod)
	const probe = "ALTER TABLE users ADD CONSTRAINT no_x CHECK (legacy NOT LIKE 'secret-X%');\n"
	tests := []struct {
		branch string
		author *githubfake.User
		fork   bool
		want   string
	}{
		{"writer", alice, false, "production data: there are rows that break the CHECK: ADD CONSTRAINT fails (the probe says only whether, not how many)"},
		{"reader", bob, false, "data probes not run: @bob, who opened the pull request, has the role read"},
		{"fork", alice, true, "data probes not run: the pull request comes from a fork"},
	}
	for i, tt := range tests {
		repo.CommitOn(tt.branch, map[string]string{"db/migrations/002_probe.sql": probe})
		opts := githubfake.PROptions{Author: tt.author, Head: tt.branch}
		if tt.fork {
			opts.HeadRepo = fork
		}
		pr, opened := f.OpenPR(repo, opts)
		s.deliver(opened, http.StatusAccepted)
		s.waitJobs(i + 1)
		runs := botRuns(f, repo, pr.HeadSHA)
		if len(runs) != 1 || runs[0].Conclusion != "action_required" {
			t.Fatalf("%s: check runs %+v\n%s", tt.branch, runs, s.Logs)
		}
		text := unescape(runs[0].Output.Text)
		if !strings.Contains(text, tt.want) {
			t.Errorf("%s: check text lacks %q:\n%s", tt.branch, tt.want, text)
		}
		if tt.branch != "writer" && strings.Contains(text, "production data:") {
			t.Errorf("%s: production data reached the check:\n%s", tt.branch, text)
		}
		if strings.Contains(text, "40 rows") || strings.Contains(text, "secret-Xq") {
			t.Errorf("%s: a count or a value reached the check", tt.branch)
		}
	}
}
