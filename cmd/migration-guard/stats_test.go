package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// scratchDatabase creates a database with known sizes and known bad rows.
func scratchDatabase(t *testing.T) string {
	return pgtest.Scratch(t,
		"CREATE TABLE customers (id bigint PRIMARY KEY, email text, address text)",
		// 97 short addresses, 3 longer than 50 characters, 5 NULL emails.
		"INSERT INTO customers SELECT g, CASE WHEN g > 5 THEN 'user' || g || '@example.com' END, CASE WHEN g <= 3 THEN repeat('secret-street-', 6) || g ELSE 'Main St ' || g END FROM generate_series(1, 100) g",
		"ANALYZE customers",
	)
}

func TestStatsAndProbesEndToEnd(t *testing.T) {
	url := scratchDatabase(t)
	dir := t.TempDir()
	statsFile := filepath.Join(dir, "prod-stats.json")

	r := runBinary(t, dir, nil, "stats", "--db", url, "--out", statsFile)
	if r.status != 0 {
		t.Fatalf("stats: status %d\n%s", r.status, r.stderr)
	}
	data, err := os.ReadFile(statsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"name":"customers"`) || !strings.Contains(string(data), `"rows":100`) {
		t.Errorf("statistics file lacks the table or its row count:\n%.500s", data)
	}
	if strings.Contains(string(data), "secret-street") || strings.Contains(string(data), "@example.com") {
		t.Error("row values leaked into the statistics file")
	}

	writeFiles(t, dir, map[string]string{
		"db/migrations/00001_init.sql":   "-- +goose Up\nCREATE TABLE customers (id bigint PRIMARY KEY, email text, address text);\n-- +goose Down\nDROP TABLE customers;\n",
		"db/migrations/00002_narrow.sql": "-- +goose Up\nSET lock_timeout = '2s';\nALTER TABLE customers ALTER COLUMN address TYPE varchar(50);\nALTER TABLE customers ALTER COLUMN email SET NOT NULL;\n-- +goose Down\nSELECT 1;\n",
	})
	r = runBinary(t, dir, []string{"NO_COLOR=1"}, "check", "--stats", statsFile, "--probe-db", url, "db/migrations")
	if r.status != exitApproval {
		t.Fatalf("check: status %d\n%s%s", r.status, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"production data: 3 rows longer than 50 characters (exact count): this ALTER fails",
		"production data: 5 rows with NULL in email (exact count): SET NOT NULL fails",
		"public.customers: ~100 rows",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "secret-street") || strings.Contains(r.stdout, "@example.com") {
		t.Error("row values leaked into the report")
	}

	// A probe database that cannot be used: the review runs, without probes, and says so.
	bad := strings.Replace(url, "/mg_test_", "/no_such_db_", 1)
	r = runBinary(t, dir, []string{"NO_COLOR=1"}, "check", "--stats", statsFile, "--probe-db", bad, "db/migrations")
	if r.status != exitApproval || !strings.Contains(r.stderr, "data probes off") || !strings.Contains(r.stdout, "note: data probes off") || strings.Contains(r.stdout, "production data:") {
		t.Errorf("unusable probe database: status %d\nstdout: %s\nstderr: %s", r.status, r.stdout, r.stderr)
	}

	// An old statistics file: the review runs without sizes and says so.
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte(`{"format":"migration-guard-stats","version":0,"tables":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, dir, []string{"NO_COLOR=1"}, "check", "--stats", old, "db/migrations")
	if r.status != exitApproval || !strings.Contains(r.stdout, "note: statistics file") || !strings.Contains(r.stdout, "size of public.customers is unknown") {
		t.Errorf("old statistics file: status %d\nstdout: %s\nstderr: %s", r.status, r.stdout, r.stderr)
	}
}

func TestStatsErrorsNeverShowThePassword(t *testing.T) {
	for _, url := range []string{
		"postgres://app:hunter2@127.0.0.1:1/prod?sslmode=disable",
		"host=127.0.0.1 port=1 user=app password=hunter2 dbname=prod sslmode=disable",
	} {
		r := runBinary(t, t.TempDir(), nil, "stats", "--db", url)
		if r.status != exitError {
			t.Errorf("unreachable server: status %d", r.status)
		}
		if strings.Contains(r.stderr+r.stdout, "hunter2") {
			t.Errorf("the password appears in the output: %s", r.stderr)
		}
		if !strings.Contains(r.stderr, "collecting statistics from") {
			t.Errorf("unclear error: %s", r.stderr)
		}
	}
	if r := runBinary(t, t.TempDir(), nil, "stats"); r.status != exitError || !strings.Contains(r.stderr, "--db is required") {
		t.Errorf("missing --db: %d %s", r.status, r.stderr)
	}
}
