package webhook

import (
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// statsFile is a statistics file as `migration-guard stats` writes it, with
// one table of the given size.
func statsFile(bytes string) string {
	return `{"format":"migration-guard-stats","version":1,"collected_at":"2026-01-01T00:00:00Z","server":{"version":"15.4"},"settings":{},` +
		`"tables":[{"schema":"public","name":"users","rows":1000,"heap_bytes":` + bytes + `,"index_bytes":0,"toast_bytes":0,"total_bytes":` + bytes + `}]}` + "\n"
}

// TestGuardSettingsNeedApproval drives the built binary: a pull request
// that changes the base branch's configuration, or the statistics file it
// names, is red until a writer who is not its author approves it, and the
// comment and the check show the effective settings before and after. A
// pull request that changes neither stays green.
func TestGuardSettingsNeedApproval(t *testing.T) {
	for _, tc := range []struct {
		name       string
		base, head map[string]string
		want       string // conclusion before any approval
		says       []string
	}{
		{"config weakened", map[string]string{analyzerConfigPath: "approval:\n  users: [carol]\n"},
			map[string]string{analyzerConfigPath: "approval:\n  users: [carol]\n  allow_author: true\n"},
			"action_required", []string{"guard-settings-changed", "approval.allow_author: false → true"}},
		{"config added", nil,
			map[string]string{analyzerConfigPath: "approval:\n  severities: [info]\n"},
			"action_required", []string{"is added", "approval.severities: [danger] → [info]"}},
		{"config removed", map[string]string{analyzerConfigPath: "approval:\n  users: [carol]\n"},
			map[string]string{analyzerConfigPath: githubfake.Deleted},
			"action_required", []string{"is removed", "approval.users: [carol] → []"}},
		{"migration folders moved, with a migration", nil,
			map[string]string{analyzerConfigPath: "migrations:\n  - path: elsewhere\n", "db/migrations/002_drop.sql": dropLegacy},
			"action_required", []string{"migrations: (found automatically) →", "drop-column"}},
		{"stats file", map[string]string{analyzerConfigPath: "stats_file: db/stats.json\n", "db/stats.json": statsFile("900000000000")},
			map[string]string{"db/stats.json": statsFile("8192")},
			"action_required", []string{"stats_file: db/stats.json", "public.users at 900000000000 bytes", "after 1 tables, largest public.users at 8192 bytes"}},
		{"unrelated file", map[string]string{analyzerConfigPath: "stats_file: db/stats.json\n", "db/stats.json": statsFile("8192")},
			map[string]string{"README.md": "# billing\n\nMore notes.\n"},
			"success", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := githubfake.New(t, githubfake.WithResponseValidation())
			repo := f.AddRepo("acme/billing")
			f.Install("acme", repo)
			alice, carol := f.AddUser("alice"), f.AddUser("carol")
			f.SetRole(repo, alice, "write")
			f.SetRole(repo, carol, "write")
			files := map[string]string{"db/migrations/001_users.sql": usersTable}
			for p, c := range tc.base {
				files[p] = c
			}
			repo.Commit(files)
			repo.CommitOn("settings", tc.head)
			p := startProcess(t, f)
			pr, opened := f.OpenPR(repo, githubfake.PROptions{Author: alice, Head: "settings"})
			p.deliver(f, opened)
			s := &sharedCommit{t: t, f: f, repo: repo, p: p, head: pr.HeadSHA}
			run := s.expectCommit(tc.want)[0]
			if tc.want == "success" {
				if len(f.IssueComments(pr)) != 0 || !strings.Contains(run.Output.Summary, "No migration changes") {
					t.Errorf("an unrelated change was reported: %s\n%s", run.Output.Title, run.Output.Summary)
				}
				s.noViolations()
				return
			}
			body := s.sticky(pr).Body
			for _, want := range tc.says {
				if !strings.Contains(body, want) || !strings.Contains(run.Output.Summary+run.Output.Text, want) {
					t.Errorf("%q is not said in the comment and the check:\n%s\n---\n%s", want, body, run.Output.Summary+run.Output.Text)
				}
			}
			// The author cannot approve her own change to the guard.
			s.tick(pr, alice)
			s.expectCommit("action_required")
			s.tick(pr, carol)
			s.expectCommit("success")
			s.noViolations()
		})
	}
}
