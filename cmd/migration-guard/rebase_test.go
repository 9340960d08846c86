package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestRebaseText(t *testing.T) {
	const from = "home/u/repo/db"
	for _, tc := range []struct {
		name, in, to, want string
	}{
		{"a path under the folder", "not named in home/u/repo/db/sqitch.plan: never runs", "db", "not named in db/sqitch.plan: never runs"},
		{"the folder itself", "none of the 3 .sql files of home/u/repo/db; judged in order", "db", "none of the 3 .sql files of db; judged in order"},
		{"the folder given as .", "names home/u/repo/db/deploy/x.sql, which does not exist", ".", "names deploy/x.sql, which does not exist"},
		{"the folder itself, then a full stop", "of home/u/repo/db.", "db", "of db."},
		{"a file name with a dot", "home/u/repo/db.sql", "db", "home/u/repo/db.sql"},
		{"twice", "home/u/repo/db/a.sql and home/u/repo/db/b.sql", "x", "x/a.sql and x/b.sql"},
		{"the head of a longer name", "home/u/repo/db2/a.sql", "db", "home/u/repo/db2/a.sql"},
		{"the tail of a longer name", "/x/home/u/repo/db/a.sql", "db", "/x/home/u/repo/db/a.sql"},
		{"a longer name, then the folder", "home/u/repo/dbx and home/u/repo/db/a.sql", "db", "home/u/repo/dbx and db/a.sql"},
		{"nothing to rebase", "dbmate ignores \"x\"", "db", "dbmate ignores \"x\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rebaseText(tc.in, from, tc.to); got != tc.want {
				t.Errorf("rebaseText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := rebaseText("db/a.sql", ".", "x"); got != "db/a.sql" {
		t.Errorf("a folder at the file system's root: %q, want it unchanged", got)
	}
}

// TestFolderProblemsNamePathsAsGiven: a problem's sentence names other
// files (the sqitch plan) as the folder was given on the command line,
// not relative to the file system's root, where discovery reads them.
func TestFolderProblemsNamePathsAsGiven(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"proj/schema/sqitch.conf":          "[core]\n\tengine = pg\n",
		"proj/schema/sqitch.plan":          "%syntax-version=1.0.0\n%project=p\n\nusers 2020-01-01T00:00:00Z A <a@b.c> # users\n",
		"proj/schema/deploy/users.sql":     "CREATE TABLE users (id bigint);\n",
		"proj/schema/revert/users.sql":     "DROP TABLE users;\n",
		"proj/schema/deploy/forgotten.sql": "CREATE TABLE forgotten (id bigint);\n",
	})
	abs := filepath.ToSlash(filepath.Join(dir, "proj", "schema"))
	for _, tc := range []struct{ cwd, folder, plan string }{
		{filepath.Join(dir, "proj"), "schema", "schema/sqitch.plan"},
		{dir, "proj/schema", "proj/schema/sqitch.plan"},
		{filepath.Join(dir, "proj", "schema"), ".", "sqitch.plan"},
		{dir, abs, abs + "/sqitch.plan"},
	} {
		t.Run(tc.folder, func(t *testing.T) {
			res := runBinary(t, tc.cwd, nil, "check", "--no-cache", "--format", "json", tc.folder)
			var doc struct {
				Notes []string `json:"notes"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &doc); err != nil {
				t.Fatalf("output is not JSON (%v): %s\n%s", err, res.stdout, res.stderr)
			}
			found := false
			for _, p := range doc.Notes {
				if strings.Contains(p, "forgotten.sql") {
					found = true
					if !strings.Contains(p, "not named in "+tc.plan+":") {
						t.Errorf("problem %q does not name the plan as %q", p, tc.plan)
					}
				}
			}
			if !found {
				t.Fatalf("no problem names forgotten.sql: %q", doc.Notes)
			}
		})
	}
}
