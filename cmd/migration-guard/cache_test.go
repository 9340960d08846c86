package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func cacheEntries(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.entry"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCheckCacheSameOutput: every format, with a base and without, gives
// the same bytes and status with no cache, an empty cache and a filled
// one; damaged entries and a cache folder that cannot be created change
// nothing; an edited file is never answered from the cache.
func TestCheckCacheSameOutput(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	files := map[string]string{}
	for i, sql := range []string{
		"CREATE TABLE users (id int PRIMARY KEY, email text, legacy text);",
		"CREATE INDEX users_email_idx ON users (email);",
		"CREATE TABLE orders (id bigint PRIMARY KEY, user_id int REFERENCES users, total numeric CHECK (total >= 0));",
		"CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;",
		"CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE users SET email = lower(email); RETURN NEW; END $$;",
	} {
		files[filepath.Join("db", "migrations", "0000"+string(rune('1'+i))+"_m.sql")] = "-- +goose Up\n" + sql + "\n-- +goose Down\nSELECT 1;\n"
	}
	writeFiles(t, dir, files)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	change := "db/migrations/00006_change.sql"
	writeFiles(t, dir, map[string]string{change: "-- +goose Up\nALTER TABLE orders ALTER COLUMN total TYPE int;\nALTER TABLE users DROP COLUMN legacy;\n-- +goose Down\nSELECT 1;\n"})

	off := filepath.Join(t.TempDir(), "off")
	cache := filepath.Join(t.TempDir(), "cache")
	runs := [][]string{{"--base", "main"}, {"db/migrations"}, {}}
	formats := []string{"text", "json", "markdown", "sarif", "gitlab", "github"}
	run := func(extra []string, format string, cacheArgs ...string) result {
		args := append(append([]string{"check", "--format", format}, cacheArgs...), extra...)
		return runBinary(t, dir, []string{"NO_COLOR=1"}, args...)
	}
	for _, extra := range runs {
		for _, format := range formats {
			want := run(extra, format, "--no-cache", "--cache-dir", off)
			if want.status != exitApproval || want.stdout == "" {
				t.Fatalf("%v %s: status %d\n%s%s", extra, format, want.status, want.stdout, want.stderr)
			}
			for _, pass := range []string{"empty", "filled"} {
				got := run(extra, format, "--cache-dir", cache)
				if got.stdout != want.stdout || got.status != want.status || got.stderr != want.stderr {
					t.Fatalf("%v %s, %s cache: status %d (want %d), output differs:\n%s\nwant\n%s%s", extra, format, pass, got.status, want.status, got.stdout, want.stdout, got.stderr)
				}
			}
		}
	}
	if _, err := os.Stat(off); err == nil {
		t.Error("--no-cache created the cache folder")
	}
	// A base catalog, and an output per run and format.
	if n := len(cacheEntries(t, cache)); n < 1+len(runs)*len(formats) {
		t.Fatalf("%d cache entries", n)
	}

	want := run([]string{"--base", "main"}, "json", "--no-cache")
	for i, damage := range []func([]byte) []byte{
		func(b []byte) []byte { return b[:len(b)/2] },
		func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		func([]byte) []byte { return []byte("not an entry") },
	} {
		for _, e := range cacheEntries(t, cache) {
			b, err := os.ReadFile(e)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(e, damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if got := run([]string{"--base", "main"}, "json", "--cache-dir", cache); got.stdout != want.stdout || got.status != want.status || got.stderr != "" {
			t.Fatalf("damage %d: status %d, output differs:\n%s%s", i, got.status, got.stdout, got.stderr)
		}
	}

	// A cache folder that cannot be created: the same answer, and nothing
	// said about the cache (debug level only).
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := run([]string{"--base", "main"}, "json", "--cache-dir", filepath.Join(blocker, "cache")); got.stdout != want.stdout || got.status != want.status || got.stderr != "" {
		t.Fatalf("unusable cache folder: status %d\n%s%s", got.status, got.stdout, got.stderr)
	}

	// An edit of the same size to a base file and to the changed file:
	// never answered from the cache.
	for _, edit := range []struct{ path, from, to string }{
		{"db/migrations/00003_m.sql", "total >= 0", "total >= 1"},
		{change, "TYPE int", "TYPE i2 "},
	} {
		b, err := os.ReadFile(filepath.Join(dir, edit.path))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{edit.path: strings.Replace(string(b), edit.from, edit.to, 1)})
		if edit.path != change {
			git(t, dir, "commit", "-q", "-am", "edit")
		}
		for _, extra := range runs {
			fresh := run(extra, "json", "--no-cache")
			if got := run(extra, "json", "--cache-dir", cache); got.stdout != fresh.stdout || got.status != fresh.status {
				t.Fatalf("after editing %s, %v: a stale answer:\n%s\nwant\n%s", edit.path, extra, got.stdout, fresh.stdout)
			}
		}
	}
}
