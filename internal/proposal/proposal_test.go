package proposal

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer"
)

var repo = fstest.MapFS{
	"db/migrations/00001_users.sql": {Data: []byte("-- +goose Up\nCREATE TABLE users (id bigint PRIMARY KEY, email text, legacy text);\n-- +goose Down\nDROP TABLE users;\n")},
	"README.md":                     {Data: []byte("hello\n")},
}

func TestOverlayIsAFileSystem(t *testing.T) {
	added := overlay{base: repo, path: "db/migrations/00002_next.sql", content: []byte("SELECT 1;\n")}
	if err := fstest.TestFS(added, "db/migrations/00001_users.sql", "db/migrations/00002_next.sql", "README.md"); err != nil {
		t.Error(err)
	}
	newFolder := overlay{base: repo, path: "new/folder/x.sql", content: []byte("SELECT 1;\n")}
	if err := fstest.TestFS(newFolder, "new/folder/x.sql", "db/migrations/00001_users.sql"); err != nil {
		t.Error(err)
	}
	hidden := overlay{base: repo, path: "db/migrations/00001_users.sql"}
	if err := fstest.TestFS(hidden, "README.md"); err != nil {
		t.Error(err)
	}
	if _, err := hidden.Open("db/migrations/00001_users.sql"); err == nil {
		t.Error("a hidden file opens")
	}
}

func analyze(t *testing.T, p, sql string) *analyzer.Report {
	t.Helper()
	rep, err := Analyze(context.Background(), repo, p, []byte(sql), analyzer.Request{Config: analyzer.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func rules(rep *analyzer.Report) string {
	var out []string
	for _, l := range rep.AllFindings() {
		out = append(out, l.Finding.Rule)
	}
	return strings.Join(out, " ")
}

func TestAnalyzeProposal(t *testing.T) {
	// Against the replayed schema: the column exists, so dropping it is a drop.
	rep := analyze(t, "db/migrations/00002_drop.sql", "-- +goose Up\nALTER TABLE users DROP COLUMN legacy;\n-- +goose Down\nALTER TABLE users ADD COLUMN legacy text;\n")
	if !rep.RequiresApproval() || !strings.Contains(rules(rep), "drop-column") || len(rep.Files) != 1 || rep.Files[0].Layout != "goose" {
		t.Errorf("drop: approval %v, rules %q, files %+v", rep.RequiresApproval(), rules(rep), rep.Files)
	}
	if rep.BaseMigrations != 1 {
		t.Errorf("base migrations %d, want 1 (the repository's)", rep.BaseMigrations)
	}
	// A safe new table needs nothing.
	rep = analyze(t, "db/migrations/00002_orders.sql", "-- +goose Up\nCREATE TABLE orders (id bigint PRIMARY KEY);\n-- +goose Down\nDROP TABLE orders;\n")
	if rep.RequiresApproval() || len(rep.Files) != 1 {
		t.Errorf("create table: approval %v, rules %q", rep.RequiresApproval(), rules(rep))
	}
	// Proposed content replaces what is at the path: judged as new, not as
	// an edit of an applied migration, and not against itself.
	rep = analyze(t, "db/migrations/00001_users.sql", "-- +goose Up\nCREATE TABLE users (id bigint PRIMARY KEY);\n-- +goose Down\nDROP TABLE users;\n")
	if rep.BaseMigrations != 0 || len(rep.Files) != 1 {
		t.Errorf("replaced file: base %d, files %d", rep.BaseMigrations, len(rep.Files))
	}
	// The folder's tool applies: a goose file without annotations is a
	// problem of its layout, not silently plain SQL.
	rep = analyze(t, "db/migrations/00002_bare.sql", "ALTER TABLE users DROP COLUMN legacy;\n")
	if !rep.RequiresApproval() || !strings.Contains(rules(rep), "drop-column") {
		t.Errorf("bare goose file: rules %q, notes %q", rules(rep), rep.Notes)
	}
}

// TestAnalyzeOutsideAFolder: a path no layout recognizes is still judged,
// against the repository's schema, and the report says how.
func TestAnalyzeOutsideAFolder(t *testing.T) {
	rep := analyze(t, "scratch/drop.sql", "ALTER TABLE users DROP COLUMN legacy;\n")
	if !rep.RequiresApproval() || !strings.Contains(rules(rep), "drop-column") {
		t.Errorf("rules %q", rules(rep))
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "scratch/drop.sql is in no migration folder") {
		t.Errorf("notes %q", rep.Notes)
	}
	// Unparsable SQL is never green.
	rep = analyze(t, "scratch/bad.sql", "ALTER TABLE users DROP COLUM legacy;\n")
	if !rep.RequiresApproval() {
		t.Errorf("unparsable SQL passed: %q", rules(rep))
	}
}

func TestCleanPath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"db/migrations/1.sql", "db/migrations/1.sql", true},
		{"./db//x.sql", "db/x.sql", true},
		{`db\x.sql`, "db/x.sql", true},
		{"", "", false},
		{"/etc/passwd", "", false},
		{"../outside.sql", "", false},
		{"db/../../outside.sql", "", false},
		{".", "", false},
	} {
		got, err := CleanPath(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("CleanPath(%q) = %q, %v", tc.in, got, err)
		}
	}
}
