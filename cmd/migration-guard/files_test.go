package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// The CLI judges what the tool runs in a checkout: golang-migrate files of
// any extension, symbolic links followed inside the repository (in the
// working tree and in the --base git tree), and links out of it as files
// that need approval, bound to the link's blob.
func TestCheckFilesTheToolRuns(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{
		"db/migrations/001_users.up.sql":   "CREATE TABLE users (id int PRIMARY KEY);\nCREATE TABLE audit (id int);\n",
		"db/migrations/001_users.down.sql": "DROP TABLE audit;\nDROP TABLE users;\n",
		"shared/create.sql":                "CREATE TABLE notes (id int);\n",
		"shared/drop.sql":                  "DROP TABLE users;\n",
	})
	// A link at the base is replayed through its target: notes exists.
	if err := os.Symlink("../../shared/create.sql", filepath.Join(dir, "db/migrations/002_notes.up.sql")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	writeFiles(t, dir, map[string]string{
		"db/migrations/003_ext.up.SQL":   "DROP TABLE notes;\n",
		"db/migrations/003_ext.down.SQL": "CREATE TABLE notes (id int);\n",
	})
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(dir, "db/migrations", name)); err != nil {
			t.Fatal(err)
		}
	}
	link("../../shared/drop.sql", "004_inside.up.sql")
	outside := filepath.Join(t.TempDir(), "evil.sql")
	if err := os.WriteFile(outside, []byte("SELECT 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link(outside, "005_outside.up.sql")
	link("006_loop.up.sql", "006_loop.up.sql")

	r := runBinary(t, dir, nil, "check", "--base", "main", "--format", "json")
	if r.status != exitApproval {
		t.Fatalf("status %d\n%s%s", r.status, r.stdout, r.stderr)
	}
	var doc struct {
		Files []struct {
			Path     string `json:"path"`
			BlobSHA  string `json:"blob_sha"`
			Findings []struct {
				Rule    string `json:"rule"`
				Message string `json:"message"`
			} `json:"findings"`
			Statements []struct {
				SQL      string   `json:"sql"`
				Objects  []string `json:"objects"`
				Findings []struct {
					Rule string `json:"rule"`
				} `json:"findings"`
			} `json:"statements"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	byPath := map[string]int{}
	for i, f := range doc.Files {
		byPath[f.Path] = i
	}
	stmtRules := func(p string) string {
		i, ok := byPath[p]
		if !ok {
			t.Fatalf("%s was not judged: %s", p, r.stdout)
		}
		var out []string
		for _, s := range doc.Files[i].Statements {
			out = append(out, s.SQL+" "+strings.Join(s.Objects, ",")+":")
			for _, f := range s.Findings {
				out = append(out, f.Rule)
			}
		}
		return strings.Join(out, " ")
	}
	fileFinding := func(p string) string {
		i, ok := byPath[p]
		if !ok {
			t.Fatalf("%s was not judged: %s", p, r.stdout)
		}
		var out []string
		for _, f := range doc.Files[i].Findings {
			out = append(out, f.Rule+": "+f.Message)
		}
		return strings.Join(out, "\n")
	}
	if got := stmtRules("db/migrations/003_ext.up.SQL"); !strings.Contains(got, "public.notes") || !strings.Contains(got, "drop-table") {
		t.Errorf("003_ext.up.SQL: %s", got)
	}
	if got := stmtRules("db/migrations/004_inside.up.sql"); !strings.Contains(got, "DROP TABLE users;") || !strings.Contains(got, "drop-table") {
		t.Errorf("004_inside: %s", got)
	}
	if got := fileFinding("db/migrations/005_outside.up.sql"); !strings.Contains(got, "unreadable-file: ") || !strings.Contains(got, "outside the repository") {
		t.Errorf("005_outside: %s", got)
	}
	if got := doc.Files[byPath["db/migrations/005_outside.up.sql"]].BlobSHA; got != layout.GitBlobID([]byte(outside)) {
		t.Errorf("005_outside is bound to %s, not to its link", got)
	}
	if got := fileFinding("db/migrations/006_loop.up.sql"); !strings.Contains(got, "unreadable-file: ") {
		t.Errorf("006_loop: %s", got)
	}
	if strings.Contains(r.stdout, "002_notes") {
		t.Errorf("the unchanged link at the base was judged again")
	}
}
