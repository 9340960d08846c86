package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var binary string

// TestMain builds the real binary once: the tests drive it as users do,
// through its arguments, output and exit status.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "migration-guard-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "migration-guard")
	// The binary's cache goes to a folder of the test run, never to the
	// user's own.
	os.Setenv("MIGRATION_GUARD_CACHE_DIR", filepath.Join(dir, "cache"))
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building the binary: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	status         int
}

func runBinary(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return runBinaryWithInput(t, dir, env, nil, args...)
}

// runBinaryWithInput runs the built binary in dir with stdin as its
// standard input (none when nil).
func runBinaryWithInput(t *testing.T, dir string, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	status := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), status: status}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, s := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	gitOutput(t, dir, args...)
}

// gitOutput runs git in dir and returns what it printed on stdout.
func gitOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

func TestCheckExample(t *testing.T) {
	r := runBinary(t, repoRoot(t), []string{"NO_COLOR=1"}, "check", "examples/shop/db/migrations")
	if r.status != exitApproval {
		t.Fatalf("status %d, want 1\n%s%s", r.status, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"danger drop-column  Q1 Drops  examples/shop/db/migrations/00004_cleanup.sql:3:1  [needs approval]",
		"  5 | ALTER TABLE customers RENAME COLUMN name TO full_name;\n    |             ^",
		"danger cannot-run-in-transaction",
		"5 findings need a human's approval",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Error("colour codes with NO_COLOR set")
	}
}

func TestCheckJSON(t *testing.T) {
	r := runBinary(t, repoRoot(t), nil, "check", "--format", "json", "examples/shop/db/migrations")
	if r.status != exitApproval {
		t.Fatalf("status %d\n%s", r.status, r.stderr)
	}
	var doc struct {
		SchemaVersion    int  `json:"schema_version"`
		RequiresApproval bool `json:"requires_approval"`
		Files            []struct {
			Path          string `json:"path"`
			Layout        string `json:"layout"`
			InTransaction bool   `json:"in_transaction"`
			Statements    []struct {
				StartLine int    `json:"start_line"`
				EndLine   int    `json:"end_line"`
				SQL       string `json:"sql"`
				Findings  []struct {
					Rule             string `json:"rule"`
					Question         int    `json:"question"`
					Severity         string `json:"severity"`
					RequiresApproval bool   `json:"requires_approval"`
					Message          string `json:"message"`
					SafeAlternative  string `json:"safe_alternative"`
				} `json:"findings"`
			} `json:"statements"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if doc.SchemaVersion != 1 || !doc.RequiresApproval || len(doc.Files) != 4 {
		t.Fatalf("document: %+v", doc)
	}
	last := doc.Files[3]
	if last.Path != "examples/shop/db/migrations/00004_cleanup.sql" || last.Layout != "goose" || !last.InTransaction {
		t.Errorf("file: %+v", last)
	}
	st := last.Statements[0]
	if st.StartLine != 3 || st.EndLine != 3 || st.SQL != "ALTER TABLE customers DROP COLUMN legacy_address;" {
		t.Errorf("statement: %+v", st)
	}
	// The drop, and the missing lock_timeout before the first blocking lock.
	if len(st.Findings) != 2 || st.Findings[0].Rule != "drop-column" || st.Findings[0].Question != 1 || !st.Findings[0].RequiresApproval || st.Findings[0].SafeAlternative == "" ||
		st.Findings[1].Rule != "missing-lock-timeout" || st.Findings[1].Question != 6 || st.Findings[1].RequiresApproval {
		t.Errorf("findings: %+v", st.Findings)
	}
}

func TestCheckMarkdownAndSARIF(t *testing.T) {
	r := runBinary(t, repoRoot(t), nil, "check", "--format", "markdown", "examples/shop/db/migrations")
	if r.status != exitApproval || !strings.HasPrefix(r.stdout, "| # | Question | Found | Worst |") {
		t.Errorf("markdown: status %d\n%.300s", r.status, r.stdout)
	}
	r = runBinary(t, repoRoot(t), nil, "check", "--format", "sarif", "examples/shop/db/migrations")
	var log struct {
		Version string `json:"version"`
	}
	if r.status != exitApproval || json.Unmarshal([]byte(r.stdout), &log) != nil || log.Version != "2.1.0" {
		t.Errorf("sarif: status %d\n%.300s", r.status, r.stdout)
	}
}

func TestCheckBase(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{
		".github/migration-guard.yml":    "postgres_version: 11\n",
		"db/migrations/00001_init.sql":   "-- +goose Up\nCREATE TABLE users (id int PRIMARY KEY, email text, legacy text);\n-- +goose Down\nDROP TABLE users;\n",
		"db/migrations/00002_second.sql": "-- +goose Up\nCREATE INDEX users_email_idx ON users (email);\n-- +goose Down\nDROP INDEX users_email_idx;\n",
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	// The change: a new migration (untracked), and a configuration edit in
	// the working tree that must not decide how it is checked, but is a
	// finding of its own that needs approval.
	writeFiles(t, dir, map[string]string{
		"db/migrations/00003_drop.sql": "-- +goose Up\nALTER TABLE users DROP COLUMN legacy;\n-- +goose Down\nALTER TABLE users ADD COLUMN legacy text;\n",
		".github/migration-guard.yml":  "postgres_version: 15\nmigrations:\n  - path: nowhere\n",
	})
	r := runBinary(t, dir, nil, "check", "--base", "main", "--format", "json")
	if r.status != exitApproval {
		t.Fatalf("status %d\n%s%s", r.status, r.stdout, r.stderr)
	}
	var doc struct {
		PostgresVersion int `json:"postgres_version"`
		BaseMigrations  int `json:"base_migrations"`
		Files           []struct {
			Path     string `json:"path"`
			Findings []struct {
				Rule             string `json:"rule"`
				Message          string `json:"message"`
				RequiresApproval bool   `json:"requires_approval"`
			} `json:"findings"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.PostgresVersion != 11 {
		t.Errorf("postgres_version %d: the configuration must come from the base, not the working tree", doc.PostgresVersion)
	}
	if doc.BaseMigrations != 2 || len(doc.Files) != 2 || doc.Files[0].Path != "db/migrations/00003_drop.sql" || doc.Files[1].Path != ".github/migration-guard.yml" {
		t.Fatalf("document: %+v", doc)
	}
	if fs := doc.Files[1].Findings; len(fs) != 1 || fs[0].Rule != "guard-settings-changed" || !fs[0].RequiresApproval ||
		!strings.Contains(fs[0].Message, "postgres_version: 11 → 15") || !strings.Contains(fs[0].Message, `migrations: (found automatically) → [{"path":"nowhere"`) {
		t.Errorf("settings finding: %+v", fs)
	}
	git(t, dir, "checkout", "-q", "--", ".github/migration-guard.yml")

	// Committed on a branch and compared again: the same verdict.
	git(t, dir, "checkout", "-q", "-b", "feature")
	git(t, dir, "add", "db")
	git(t, dir, "commit", "-q", "-m", "drop")
	if r := runBinary(t, dir, nil, "check", "--base", "main"); r.status != exitApproval || !strings.Contains(r.stdout, "drop-column") {
		t.Errorf("committed change: status %d\n%s", r.status, r.stdout)
	}
	// Nothing changed since HEAD: nothing to approve.
	if r := runBinary(t, dir, nil, "check", "--base", "HEAD"); r.status != exitOK || !strings.Contains(r.stdout, "No changed migrations.") {
		t.Errorf("no change: status %d\n%s", r.status, r.stdout)
	}
	// PATH limits which changed files are judged.
	if r := runBinary(t, dir, nil, "check", "--base", "main", "docs"); r.status != exitOK {
		t.Errorf("limited to another folder: status %d\n%s", r.status, r.stdout)
	}
	// The statistics file the base's configuration names needs approval
	// when it changes; a file the guard does not read does not.
	git(t, dir, "checkout", "-q", "main")
	writeFiles(t, dir, map[string]string{
		".github/migration-guard.yml": "postgres_version: 11\nstats_file: db/stats.json\n",
		"db/stats.json":               `{"format":"migration-guard-stats","version":1,"collected_at":"2026-01-01T00:00:00Z","server":{"version":"15.4"},"settings":{},"tables":[]}` + "\n",
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "stats")
	writeFiles(t, dir, map[string]string{"README.md": "# notes\n"})
	if r := runBinary(t, dir, nil, "check", "--base", "HEAD"); r.status != exitOK {
		t.Errorf("unrelated file: status %d\n%s", r.status, r.stdout)
	}
	writeFiles(t, dir, map[string]string{"db/stats.json": "{}\n"})
	if r := runBinary(t, dir, nil, "check", "--base", "HEAD"); r.status != exitApproval || !strings.Contains(r.stdout, "guard-settings-changed") || !strings.Contains(r.stdout, "stats_file: db/stats.json") {
		t.Errorf("statistics file: status %d\n%s", r.status, r.stdout)
	}
}

func TestCheckErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"db/migrations/00001_ok.sql": "-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n",
	})
	big := bytes.Repeat([]byte("SELECT 1;\n"), 1<<20) // 10 MiB
	if err := os.WriteFile(filepath.Join(dir, "big.sql"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "image.sql"), []byte("\x89PNG\r\n\x1a\n\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "latin1.sql"), []byte("SELECT 'caf\xe9';\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		out    string // in stdout
		err    string // in stderr
	}{
		{"nothing to approve", []string{"check", "db/migrations"}, exitOK, "Nothing needs approval.", ""},
		{"unknown format", []string{"check", "--format", "yaml", "db/migrations"}, exitError, "", "unknown --format \"yaml\""},
		{"missing path", []string{"check", "nowhere.sql"}, exitError, "", "nowhere.sql: no such file or directory"},
		{"base outside git", []string{"check", "--base", "main"}, exitError, "", "--base needs a git checkout"},
		{"unknown flag", []string{"check", "--frobnicate"}, exitError, "", "unknown flag: --frobnicate"},
		{"a 10 MB file", []string{"check", "big.sql"}, exitApproval, "10.0 MiB, larger than the 5.0 MiB limit", ""},
		{"a binary file named .sql", []string{"check", "image.sql"}, exitApproval, "it is binary, not SQL text", ""},
		{"a Latin-1 file", []string{"check", "latin1.sql"}, exitApproval, "not valid UTF-8 (byte 0xE9 at line 1, column 12)", ""},
		{"bad configuration", []string{"check", "--config", "big.sql", "db/migrations"}, exitError, "", "reading big.sql: line 1: cannot unmarshal"},
		{"unknown rule", []string{"explain", "drop-everything"}, exitError, "", "unknown rule \"drop-everything\""},
		{"explain without a rule lists them", []string{"explain"}, exitOK, "drop-column", "explain takes a rule id"},
		{"check --help names the stats file", []string{"check", "--help"}, exitOK, "--stats FILE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBinary(t, dir, []string{"NO_COLOR=1"}, tt.args...)
			if r.status != tt.status || !strings.Contains(r.stdout, tt.out) || !strings.Contains(r.stderr, tt.err) {
				t.Errorf("status %d (want %d)\nstdout: %.600s\nstderr: %s", r.status, tt.status, r.stdout, r.stderr)
			}
			if tt.status == exitError && strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("an error should be one line, got:\n%s", r.stderr)
			}
		})
	}
}

// TestCheckWithoutGit: a machine (or container) without git is told so,
// not that it is outside a checkout.
func TestCheckWithoutGit(t *testing.T) {
	dir := t.TempDir()
	r := runBinary(t, dir, []string{"PATH=" + t.TempDir()}, "check", "--base", "main")
	if r.status != exitError || !strings.Contains(r.stderr, "git is not installed") {
		t.Errorf("status %d, stderr %s", r.status, r.stderr)
	}
}

func TestCheckUnknownBaseRef(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{"a.sql": "SELECT 1;"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "x")
	r := runBinary(t, dir, nil, "check", "--base", "origin/main")
	if r.status != exitError || !strings.Contains(r.stderr, `unknown revision "origin/main"`) {
		t.Errorf("status %d, stderr %s", r.status, r.stderr)
	}
}

func TestVersionRulesExplain(t *testing.T) {
	if r := runBinary(t, ".", nil, "version"); r.status != 0 || !strings.Contains(r.stdout, "PostgreSQL grammar 16.1") {
		t.Errorf("version: %d %s", r.status, r.stdout)
	}
	r := runBinary(t, ".", nil, "rules")
	if r.status != 0 || !strings.Contains(r.stdout, "drop-column") || !strings.Contains(r.stdout, "1 Drops") {
		t.Errorf("rules: %d %s", r.status, r.stdout)
	}
	r = runBinary(t, ".", nil, "explain", "rename-column")
	page, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "rules", "rename-column.md"))
	if err != nil {
		t.Fatal(err)
	}
	if r.status != 0 || r.stdout != string(page) {
		t.Errorf("explain should print docs/rules/rename-column.md exactly; status %d", r.status)
	}
}

// TestCheckFolderAtItsPath: a folder given on the command line is examined
// at its real path, so detection that reads folder names works from any
// current folder; a configured folder keeps its layout and options; and what
// discovery reports about files that belong to no migration reaches the
// output instead of being dropped.
func TestCheckFolderAtItsPath(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"app/supabase/migrations/20240101000000_init.sql":   "CREATE TABLE notes (id bigint PRIMARY KEY);\n",
		"app/supabase/migrations/20240102000000_column.sql": "ALTER TABLE notes ADD COLUMN body text;\n",
		"web/drizzle/meta/_journal.json":                    `{"version":"7","dialect":"postgresql","entries":[{"idx":0,"version":"7","when":1,"tag":"0000_init","breakpoints":true}]}`,
		"web/drizzle/0000_init.sql":                         "CREATE TABLE tags (id bigint PRIMARY KEY);\n",
		"web/drizzle/0001_stray.sql":                        "ALTER TABLE tags ADD COLUMN label text;\n",
		"sql/001_a.sql":                                     "CREATE TABLE a (id bigint);\n",
		"sql/002_b.sql":                                     "CREATE INDEX a_id ON a (id);\n",
		".github/migration-guard.yml":                       "migrations:\n  - path: sql\n    layout: plain\n    transaction: per-file\n",
	})
	type doc struct {
		Files []struct {
			Path            string `json:"path"`
			Layout          string `json:"layout"`
			TransactionMode string `json:"transaction_mode"`
		} `json:"files"`
		Notes []string `json:"notes"`
	}
	read := func(r result) doc {
		t.Helper()
		var d doc
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
			t.Fatalf("not JSON (status %d): %v\n%s%s", r.status, err, r.stdout, r.stderr)
		}
		return d
	}
	for _, tc := range []struct {
		cwd, arg string
		layout   string
		paths    []string
	}{
		{dir, "app/supabase/migrations", "supabase", []string{"app/supabase/migrations/20240101000000_init.sql", "app/supabase/migrations/20240102000000_column.sql"}},
		{filepath.Join(dir, "app/supabase"), "migrations", "supabase", []string{"migrations/20240101000000_init.sql", "migrations/20240102000000_column.sql"}},
		{filepath.Join(dir, "app/supabase/migrations"), ".", "supabase", []string{"20240101000000_init.sql", "20240102000000_column.sql"}},
		// One file of the folder is read with its folder's layout too.
		{dir, "app/supabase/migrations/20240102000000_column.sql", "supabase", []string{"app/supabase/migrations/20240102000000_column.sql"}},
		{filepath.Join(dir, "app/supabase/migrations"), "20240102000000_column.sql", "supabase", []string{"20240102000000_column.sql"}},
	} {
		d := read(runBinary(t, tc.cwd, nil, "check", "--format", "json", tc.arg))
		var got []string
		for _, f := range d.Files {
			got = append(got, f.Path)
			if f.Layout != tc.layout {
				t.Errorf("%s from %s: layout %s, want %s", tc.arg, tc.cwd, f.Layout, tc.layout)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.paths, " ") {
			t.Errorf("%s from %s: files %v, want %v", tc.arg, tc.cwd, got, tc.paths)
		}
	}

	d := read(runBinary(t, dir, nil, "check", "--format", "json", "sql"))
	if len(d.Files) != 2 || d.Files[0].TransactionMode != "wrapped" || d.Files[1].TransactionMode != "wrapped" {
		t.Errorf("configured folder: %+v, want two files run with transaction: per-file", d.Files)
	}
	// Without the configuration the same folder runs as psql -f runs it.
	if err := os.Remove(filepath.Join(dir, ".github/migration-guard.yml")); err != nil {
		t.Fatal(err)
	}
	d = read(runBinary(t, dir, nil, "check", "--format", "json", "sql"))
	if len(d.Files) != 2 || d.Files[0].TransactionMode != "none" {
		t.Errorf("unconfigured folder: %+v, want psql's default", d.Files)
	}

	d = read(runBinary(t, dir, nil, "check", "--format", "json", "web/drizzle"))
	found := false
	for _, f := range d.Files {
		found = found || f.Path == "web/drizzle/0001_stray.sql"
	}
	for _, n := range d.Notes {
		found = found || strings.Contains(n, "web/drizzle/0001_stray.sql")
	}
	if !found {
		t.Errorf("the file the journal does not list is neither judged nor noted: %+v", d)
	}
}
