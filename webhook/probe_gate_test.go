package webhook

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/pgtest"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// TestProbesOnlyForWritersOfTheRepository: a data probe publishes
// production data in the check run, and the pull request writes the
// statement probed. Probes run only for a pull request from the
// repository itself by an author with write access; a CHECK probe says
// only whether rows break it, never how many; a connection error names
// no host, user or database.
func TestProbesOnlyForWritersOfTheRepository(t *testing.T) {
	prod := pgtest.Scratch(t,
		"CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, legacy text)",
		"INSERT INTO users SELECT g, 'u' || g || '@example.com', CASE WHEN g > 2 THEN 'secret-Xq' || g END FROM generate_series(1, 50) g",
	)
	name := analyzer.ProbeEnvName("acme", "billing")
	missing, err := url.Parse(pgtest.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	missing.Path = "/no_such_db_q"
	const checkProbe = "ALTER TABLE users ADD CONSTRAINT no_x CHECK (legacy NOT LIKE 'secret-X%');\n"
	const notNull = "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;\nALTER TABLE users ALTER COLUMN legacy SET NOT NULL;\n"
	tests := []struct {
		name   string
		url    string
		role   string // the author's role
		fork   bool
		want   []string
		absent []string
	}{
		{name: "writer from the repository", url: prod, role: "write",
			want: []string{
				"production data: there are rows that break the CHECK: ADD CONSTRAINT fails (the probe says only whether, not how many)",
				"production data: 2 rows with NULL in legacy (exact count)",
			},
			absent: []string{"48 rows", "data probes not run"}},
		{name: "maintainer from the repository", url: prod, role: "maintain",
			want: []string{"production data: there are rows that break the CHECK"}},
		{name: "read-only author", url: prod, role: "read",
			want:   []string{"data probes not run: @alice, who opened the pull request, has the role read; they run only for authors with write access"},
			absent: []string{"production data:"}},
		{name: "no role at all", url: prod, role: "",
			want:   []string{"data probes not run: @alice, who opened the pull request, has the role none"},
			absent: []string{"production data:"}},
		{name: "writer from a fork", url: prod, role: "write", fork: true,
			want:   []string{"data probes not run: the pull request comes from a fork; they run only for pull requests from the repository itself"},
			absent: []string{"production data:"}},
		{name: "connection refused", url: "postgres://probe_user_q@127.0.0.1:1/prod_db_q?connect_timeout=5", role: "write",
			want:   []string{"data probes off: cannot connect with " + name + " (connection refused)"},
			absent: []string{"127.0.0.1", "probe_user_q", "prod_db_q", ":1/"}},
		{name: "no such database", url: missing.String(), role: "write",
			want:   []string{"data probes off: cannot connect with " + name + " (the database does not exist (SQLSTATE 3D000))"},
			absent: []string{missing.Hostname(), "no_such_db_q", missing.User.Username() + "@", "user="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(name, tt.url)
			e := newEnv(t, nil)
			e.f.SetRole(e.repo, e.author, tt.role)
			e.repo.Commit(map[string]string{".github/migration-guard.yml": "probe_database_env: " + name + "\n"})
			e.repo.CommitOn("probe", map[string]string{"db/migrations/002_probe.sql": checkProbe + notNull})
			opts := githubfake.PROptions{Author: e.author, Head: "probe"}
			if tt.fork {
				fork := e.f.AddRepo("alice/billing")
				fork.Fork = true
				opts.HeadRepo = fork
			}
			pr, opened := e.f.OpenPR(e.repo, opts)
			e.deliver(opened, http.StatusAccepted)
			e.wait()
			run := e.onlyRun(pr.HeadSHA)
			if run.Conclusion != "action_required" {
				t.Errorf("check %s, want action_required", run.Conclusion)
			}
			text := strings.ReplaceAll(run.Output.Text+"\n"+run.Output.Summary, `\_`, "_")
			comment := strings.ReplaceAll(e.sticky(pr).Body, `\_`, "_")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("check run lacks %q:\n%s", w, text)
				}
			}
			for _, a := range append(tt.absent, "secret-Xq", "@example.com") {
				if strings.Contains(text, a) || strings.Contains(comment, a) {
					t.Errorf("%q reached the pull request", a)
				}
			}
		})
	}
}
