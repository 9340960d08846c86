package webhook

import (
	"net/http"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/pgtest"
)

const bigUsersStats = `{"format":"migration-guard-stats","version":1,"collected_at":"2026-11-01T00:00:00Z","server":{"version":"15.4","version_num":150004},"settings":{},"tables":[
{"schema":"public","name":"users","rows":200000000,"heap_bytes":42949672960,"index_bytes":8589934592,"total_bytes":51539607552,"indexes":2}
]}
`

// TestProductionContextFromTheBase: the App reads stats_file at the base
// and probes the database named by the repository's own variable.
func TestProductionContextFromTheBase(t *testing.T) {
	url := pgtest.Scratch(t,
		"CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, legacy text)",
		"INSERT INTO users SELECT g, 'u' || g || '@example.com', CASE WHEN g > 2 THEN 'kept' END FROM generate_series(1, 50) g",
	)
	name := analyzer.ProbeEnvName("acme", "billing")
	if name != "MIGRATION_GUARD_PROBE_DB_ACME__BILLING" {
		t.Fatalf("probe variable %q", name)
	}
	t.Setenv(name, url)
	e := newEnv(t, nil)
	e.repo.Commit(map[string]string{
		".github/migration-guard.yml": "stats_file: db/prod-stats.json\nprobe_database_env: " + name + "\n",
		"db/prod-stats.json":          bigUsersStats,
	})
	pr, opened := e.openPR("notnull", map[string]string{
		"db/migrations/002_notnull.sql": "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN legacy SET NOT NULL;\nALTER TABLE users ALTER COLUMN id TYPE numeric;\n",
	})
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr.HeadSHA)
	for _, want := range []string{
		"production data: 2 rows with NULL in legacy (exact count): SET NOT NULL fails",
		"public.users: ~200.0M rows, 48.0 GB; estimated",
	} {
		if !strings.Contains(run.Output.Text, want) {
			t.Errorf("check run text lacks %q\n%s", want, run.Output.Text)
		}
	}
	if strings.Contains(run.Output.Text, "@example.com") {
		t.Error("a row value reached the check run")
	}
}

// TestProbeVariableOfAnotherName: a repository naming any other variable
// (another repository's database, the App's own secret) gets no probe and
// no connection attempt, and nothing of the variable's value is shown.
func TestProbeVariableOfAnotherName(t *testing.T) {
	e := newEnv(t, nil)
	t.Setenv("MIGRATION_GUARD_PROBE_DB_ACME__PAYROLL", "postgres://payroll:s3cr3t@127.0.0.1:1/payroll")
	t.Setenv("MG_TEST_SECRETISH", "postgres://x:hunter2@127.0.0.1:1/x")
	for _, other := range []string{"MIGRATION_GUARD_PROBE_DB_ACME__PAYROLL", "MG_TEST_SECRETISH"} {
		e.repo.Commit(map[string]string{".github/migration-guard.yml": "probe_database_env: " + other + "\n"})
		pr, opened := e.openPR("p-"+strings.ToLower(other), map[string]string{"db/migrations/002.sql": "ALTER TABLE users ALTER COLUMN legacy SET NOT NULL;\n"})
		e.deliver(opened, http.StatusAccepted)
		e.wait()
		run := e.onlyRun(pr.HeadSHA)
		// Markdown escapes the underscores of names in notes.
		text := strings.ReplaceAll(run.Output.Text, `\_`, "_")
		if !strings.Contains(text, "data probes off: probe_database_env must be MIGRATION_GUARD_PROBE_DB_ACME__BILLING for this repository") {
			t.Errorf("%s: the refusal is not said:\n%s", other, run.Output.Text)
		}
		for _, secret := range []string{"s3cr3t", "hunter2", "payroll:"} {
			if strings.Contains(run.Output.Text+run.Output.Summary+e.logs.String(), secret) {
				t.Errorf("%s: %q leaked", other, secret)
			}
		}
	}
}
