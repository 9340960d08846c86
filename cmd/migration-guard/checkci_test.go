package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func runWithStdin(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	return runBinaryWithInput(t, dir, []string{"NO_COLOR=1"}, strings.NewReader(stdin), args...)
}

var gooseRepo = map[string]string{
	"db/migrations/00001_users.sql": "-- +goose Up\nCREATE TABLE users (id bigint PRIMARY KEY, email text, legacy text);\n-- +goose Down\nDROP TABLE users;\n",
}

func TestCheckStdin(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, gooseRepo)
	drop := "-- +goose Up\nALTER TABLE users DROP COLUMN legacy;\n-- +goose Down\nALTER TABLE users ADD COLUMN legacy text;\n"
	create := "-- +goose Up\nCREATE TABLE orders (id bigint PRIMARY KEY);\n-- +goose Down\nDROP TABLE orders;\n"
	cases := []struct {
		name, stdin string
		args        []string
		status      int
		want        []string
	}{
		{"drop judged against the folder's schema", drop, []string{"--stdin-filename", "db/migrations/00002_drop.sql", "--format", "json"}, exitApproval,
			[]string{`"path": "db/migrations/00002_drop.sql"`, `"layout": "goose"`, `"rule": "drop-column"`, `"base_migrations": 1`}},
		{"safe table", create, []string{"--stdin-filename", "db/migrations/00002_orders.sql"}, exitOK, []string{"00002_orders.sql"}},
		// The folder's tool decides the transaction: goose runs a file in
		// one unless told otherwise.
		{"transaction rules apply", "-- +goose Up\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n-- +goose Down\nDROP INDEX users_email;\n",
			[]string{"--stdin-filename", "db/migrations/00002_idx.sql"}, exitApproval, []string{"cannot-run-in-transaction"}},
		{"default name is plain SQL", "ALTER TABLE users DROP COLUMN legacy;\n", nil, exitApproval, []string{"stdin.sql", "drop-column", "in no migration folder"}},
		{"unparsable is never green", "ALTER TABLE users DROP COLUM legacy;\n", nil, exitApproval, []string{"stdin.sql"}},
		{"outside the folder", drop, []string{"--stdin-filename", "../x.sql"}, exitError, nil},
		{"with another path", drop, []string{"db"}, exitError, nil},
		{"with --base", drop, []string{"--base", "HEAD"}, exitError, nil},
		{"empty name", drop, []string{"--stdin-filename="}, exitApproval, []string{"stdin.sql"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runWithStdin(t, dir, tc.stdin, append([]string{"check", "-"}, tc.args...)...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d\n%s%s", r.status, tc.status, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
	// --stdin-filename without - would judge other files than meant.
	if r := runBinary(t, dir, nil, "check", "--stdin-filename", "x.sql", "db"); r.status != exitError || !strings.Contains(r.stderr, "needs - as PATH") {
		t.Errorf("--stdin-filename without -: status %d %s", r.status, r.stderr)
	}
	// Nothing was written: the proposal stays a proposal.
	if _, err := os.Stat(filepath.Join(dir, "db/migrations/00002_drop.sql")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the proposed file was written: %v", err)
	}
}

func TestCheckFailOn(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		// A warning (no lock_timeout before a lock on an existing table)
		// and nothing that requires approval.
		"db/migrations/00001_users.sql": gooseRepo["db/migrations/00001_users.sql"],
		"db/migrations/00002_idx.sql":   "-- +goose Up\nALTER TABLE users ADD COLUMN note text;\n-- +goose Down\nALTER TABLE users DROP COLUMN note;\n",
	})
	ok := []string{"check", "--format", "json", "db/migrations"}
	base := runBinary(t, dir, nil, ok...)
	var doc struct {
		RequiresApproval bool `json:"requires_approval"`
		Summary          []struct {
			Worst string `json:"worst"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(base.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	worst := ""
	for _, q := range doc.Summary {
		if q.Worst == "warning" || (q.Worst == "danger") {
			worst = q.Worst
		}
	}
	if base.status != exitOK || doc.RequiresApproval || worst != "warning" {
		t.Fatalf("the fixture must hold a warning and nothing to approve: status %d, worst %q\n%s", base.status, worst, base.stdout)
	}
	for _, tc := range []struct {
		level  string
		status int
	}{{"warning", exitApproval}, {"danger", exitOK}, {"", exitOK}, {"info", exitError}, {"blocker", exitError}} {
		r := runBinary(t, dir, nil, "check", "--fail-on="+tc.level, "db/migrations")
		if r.status != tc.status {
			t.Errorf("--fail-on=%s: status %d, want %d\n%s", tc.level, r.status, tc.status, r.stderr)
		}
	}
	// --fail-on only adds failures: danger that requires approval still
	// fails with --fail-on danger, and with a suppressed warning too.
	r := runBinary(t, repoRoot(t), nil, "check", "--fail-on", "danger", "examples/shop/db/migrations")
	if r.status != exitApproval {
		t.Errorf("approval needed, --fail-on danger: status %d", r.status)
	}
	writeFiles(t, dir, map[string]string{
		"db/migrations/00002_idx.sql": "-- +goose Up\n-- migration-guard:ignore missing-lock-timeout reason=\"users is empty in every environment\"\nALTER TABLE users ADD COLUMN note text;\n-- +goose Down\nALTER TABLE users DROP COLUMN note;\n",
	})
	if r := runBinary(t, dir, nil, "check", "--fail-on", "warning", "db/migrations"); r.status != exitOK {
		t.Errorf("a suppressed warning still fails --fail-on warning: status %d\n%s", r.status, r.stdout)
	}
}

func TestCheckCIFormats(t *testing.T) {
	r := runBinary(t, repoRoot(t), nil, "check", "--format", "gitlab", "examples/shop/db/migrations")
	var issues []struct {
		CheckName string `json:"check_name"`
		Severity  string `json:"severity"`
	}
	if r.status != exitApproval || json.Unmarshal([]byte(r.stdout), &issues) != nil || len(issues) == 0 {
		t.Fatalf("gitlab: status %d\n%.400s", r.status, r.stdout)
	}
	r = runBinary(t, repoRoot(t), nil, "check", "--format", "github", "examples/shop/db/migrations")
	if r.status != exitApproval || !strings.Contains(r.stdout, "::error file=examples/shop/db/migrations/00004_cleanup.sql,line=3,col=1,title=migration-guard drop-column (Q1 Drops) needs approval::") {
		t.Errorf("github: status %d\n%.600s", r.status, r.stdout)
	}
	if r := runBinary(t, repoRoot(t), nil, "check", "--format", "gitlabx", "examples/shop/db/migrations"); r.status != exitError {
		t.Errorf("unknown format: status %d", r.status)
	}
}

// TestPreCommitHook runs the hook's entry as pre-commit does: with the
// staged file names appended, in the repository.
func TestPreCommitHook(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID, Entry, Language, Files string
		PassFilenames              bool `yaml:"pass_filenames"`
	}
	if err := yaml.Unmarshal(data, &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) == 0 {
		t.Fatal("no hooks")
	}
	for _, h := range hooks {
		if h.ID == "" || h.Language == "" || !h.PassFilenames || !strings.HasPrefix(h.Entry, "migration-guard ") {
			t.Errorf("hook %+v", h)
		}
		dir := t.TempDir()
		git(t, dir, "init", "-q", "-b", "main")
		writeFiles(t, dir, gooseRepo)
		git(t, dir, "add", ".")
		git(t, dir, "commit", "-q", "-m", "base")
		args := strings.Fields(h.Entry)[1:]
		writeFiles(t, dir, map[string]string{
			"db/migrations/00002_drop.sql": "-- +goose Up\nALTER TABLE users DROP COLUMN legacy;\n-- +goose Down\nALTER TABLE users ADD COLUMN legacy text;\n",
			"db/migrations/00003_ok.sql":   "-- +goose Up\nCREATE TABLE orders (id bigint PRIMARY KEY);\n-- +goose Down\nDROP TABLE orders;\n",
		})
		git(t, dir, "add", ".")
		if r := runBinary(t, dir, nil, append(args, "db/migrations/00002_drop.sql")...); r.status != exitApproval || !strings.Contains(r.stdout, "drop-column") {
			t.Errorf("%s on a staged drop: status %d\n%s%s", h.ID, r.status, r.stdout, r.stderr)
		}
		if r := runBinary(t, dir, nil, append(args, "db/migrations/00003_ok.sql")...); r.status != exitOK {
			t.Errorf("%s on a staged new table: status %d\n%s%s", h.ID, r.status, r.stdout, r.stderr)
		}
	}
}
