package layout

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

// The file names each tool runs decide what is checked: a name the tool
// runs is never left out because its extension looks unusual.
func TestParseGolangMigrateName(t *testing.T) {
	cases := []struct {
		name                string
		ok                  bool
		version, title, ext string
		down                bool
	}{
		{"1_init.up.sql", true, "1", "init", "sql", false},
		{"002_drop.up.SQL", true, "002", "drop", "SQL", false},
		{"002_drop.up.txt", true, "002", "drop", "txt", false},
		{"002_drop.down.txt", true, "002", "drop", "txt", true},
		{"3_a.up.sql.bak", true, "3", "a", "sql.bak", false},
		// The title is greedy: the last .up. or .down. decides.
		{"4_a.up.b.down.sql", true, "4", "a.up.b", "sql", true},
		{"5_.up.sql", true, "5", "", "sql", false},
		{"6_x.up.", true, "6", "x", "", false},
		{"7_x.sql", false, "", "", "", false},
		{"x_1.up.sql", false, "", "", "", false},
		{"8.up.sql", false, "", "", "", false},
		{"9_x.UP.sql", false, "", "", "", false},
	}
	for _, c := range cases {
		n, ok := parseGolangMigrate(c.name)
		if ok != c.ok {
			t.Errorf("%s: ok %v", c.name, ok)
			continue
		}
		if ok && (n.version != c.version || n.title != c.title || n.ext != c.ext || n.down != c.down) {
			t.Errorf("%s: %+v", c.name, n)
		}
	}
}

func TestGolangMigrateRunsAnyExtension(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"db/migrations/001_users.up.sql":   "CREATE TABLE users (id int);",
		"db/migrations/001_users.down.sql": "DROP TABLE users;",
		"db/migrations/002_drop.up.SQL":    "DROP TABLE users;",
		"db/migrations/003_more.up.txt":    "DROP TABLE orders;",
		"db/migrations/003_more.down.txt":  "CREATE TABLE orders ();",
	}))
	requireOrder(t, s, "001 db/migrations/001_users.up.sql", "002 db/migrations/002_drop.up.SQL", "003 db/migrations/003_more.up.txt")
	m := migration(t, s, "db/migrations/003_more.up.txt")
	if m.DownPath != "db/migrations/003_more.down.txt" || m.Kind != GolangMigrate {
		t.Errorf("003: %+v", m)
	}
	requireProblem(t, migration(t, s, "db/migrations/002_drop.up.SQL").Problems, 0, `extension is "SQL"`)
	// A folder holding only such files is still found.
	s = discover(t, mapFS(map[string]string{"db/m/1_x.up.txt": "DROP TABLE t;"}))
	requireOrder(t, s, "1 db/m/1_x.up.txt")
}

func TestOtherToolsRunOnlySQL(t *testing.T) {
	// goose, dbmate and supabase match ".sql" exactly: a .SQL file is not
	// run by them, so it is reported, not judged.
	for _, kind := range []Kind{Goose, Dbmate, Supabase, Plain} {
		s := discover(t, mapFS(map[string]string{
			"db/1_a.sql": "-- +goose Up\n-- migrate:up\nSELECT 1;\n",
			"db/2_b.SQL": "DROP TABLE t;",
		}), Location{Path: "db", Layout: kind})
		for _, m := range s.Migrations {
			if m.Path == "db/2_b.SQL" {
				t.Errorf("%s runs %s", kind, m.Path)
			}
		}
	}
}

// unreadableFS answers some reads with an UnreadableError, as treefs does
// for a symbolic link out of the repository or a file over the limit.
type unreadableFS struct {
	fstest.MapFS
	bad map[string]*UnreadableError
}

func (u unreadableFS) ReadFile(name string) ([]byte, error) {
	if e, ok := u.bad[name]; ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: e}
	}
	return u.MapFS.ReadFile(name)
}

func (u unreadableFS) Open(name string) (fs.File, error) {
	if e, ok := u.bad[name]; ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: e}
	}
	return u.MapFS.Open(name)
}

func TestUnreadableFilesAreKeptNotSkipped(t *testing.T) {
	for _, kind := range []Kind{"", GolangMigrate, Goose, Plain, Dbmate} {
		files := map[string]string{
			"db/001_a.up.sql": "-- +goose Up\n-- migrate:up\nCREATE TABLE a ();",
			"db/002_b.up.sql": "(a link)",
		}
		if kind != GolangMigrate && kind != "" {
			files = map[string]string{
				"db/001_a.sql": "-- +goose Up\n-- migrate:up\nCREATE TABLE a ();",
				"db/002_b.sql": "(a link)",
			}
		}
		bad := "db/002_b.up.sql"
		if _, ok := files[bad]; !ok {
			bad = "db/002_b.sql"
		}
		fsys := unreadableFS{MapFS: mapFS(files), bad: map[string]*UnreadableError{
			bad: {Path: bad, Reason: "symbolic link to /etc/x, outside the repository", BlobID: "0123456789abcdef0123456789abcdef01234567"},
		}}
		var locs []Location
		if kind != "" {
			locs = []Location{{Path: "db", Layout: kind}}
		}
		s := discover(t, fsys, locs...)
		m := migration(t, s, bad)
		if m.Unreadable == "" || m.BlobSHA != "0123456789abcdef0123456789abcdef01234567" || m.Content != nil {
			t.Errorf("%s: unreadable migration %+v", kind, m)
		}
		ok := migration(t, s, files2first(files))
		if ok.Unreadable != "" || ok.BlobSHA != GitBlobID(ok.Content) {
			t.Errorf("%s: readable migration %+v", kind, ok)
		}
	}
}

func files2first(files map[string]string) string {
	if _, ok := files["db/001_a.up.sql"]; ok {
		return "db/001_a.up.sql"
	}
	return "db/001_a.sql"
}

func TestGitBlobID(t *testing.T) {
	// `printf 'hello\n' | git hash-object --stdin`
	if got := GitBlobID([]byte("hello\n")); got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Errorf("GitBlobID = %s", got)
	}
	// `git hash-object /dev/null`
	if got := GitBlobID(nil); got != "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" {
		t.Errorf("GitBlobID(empty) = %s", got)
	}
}

// A configured folder replaced by a symbolic link (to a folder, or out of
// the repository) is not skipped as missing: the tool runs what is there.
func TestConfiguredFolderThatIsALink(t *testing.T) {
	for _, link := range []string{"db/migrations", "db"} {
		fsys := unreadableFS{MapFS: mapFS(map[string]string{link: "../shared/migrations", "shared/migrations/1_x.up.sql": "DROP TABLE t;"}),
			bad: map[string]*UnreadableError{link: {Path: link, Reason: "symbolic link to the folder shared/migrations, not to a file", BlobID: "1111111111111111111111111111111111111111"}}}
		s := discover(t, fsys, Location{Path: "db/migrations", Layout: GolangMigrate})
		if len(s.Migrations) != 1 {
			t.Fatalf("%s: %+v", link, s)
		}
		m := s.Migrations[0]
		if m.Path != link || m.Unreadable == "" || m.BlobSHA != "1111111111111111111111111111111111111111" {
			t.Errorf("%s: %+v", link, m)
		}
		for _, p := range s.Problems {
			if p.Message == "configured migration folder does not exist" {
				t.Errorf("%s: reported as missing", link)
			}
		}
	}
	for p, want := range map[string]bool{"db/migrations": true, "db": true, "db/migrations/1_x.up.sql": false, "dbx": false, ".": false, "other": false} {
		if got := IsLocationPath(p, []Location{{Path: "db/migrations"}}); got != want {
			t.Errorf("IsLocationPath(%q) = %v", p, got)
		}
	}
}

// A tool file that cannot be read (here a sqitch plan that is a link out
// of the repository) makes its folder unknown: it comes back as an
// unreadable migration, not as an error that stops the check.
func TestUnreadableToolFile(t *testing.T) {
	fsys := unreadableFS{MapFS: mapFS(map[string]string{
		"db/sqitch.conf":      "[core]\n\tengine = pg\n",
		"db/sqitch.plan":      "(a link)",
		"db/deploy/users.sql": "DROP TABLE users;",
		"other/1_a.up.sql":    "DROP TABLE a;",
	}), bad: map[string]*UnreadableError{"db/sqitch.plan": {Path: "db/sqitch.plan", Reason: "symbolic link to /srv/plan, outside the repository", BlobID: "2222222222222222222222222222222222222222"}}}
	for _, locs := range [][]Location{nil, {{Path: "db", Layout: Sqitch}}} {
		s := discover(t, fsys, locs...)
		var m *Migration
		for i := range s.Migrations {
			if s.Migrations[i].Path == "db/sqitch.plan" {
				m = &s.Migrations[i]
			}
		}
		if m == nil || m.Unreadable == "" || m.BlobSHA != "2222222222222222222222222222222222222222" {
			t.Errorf("%v: %+v", locs, s.Migrations)
		}
		if locs == nil {
			// The rest of the repository is still examined.
			migration(t, s, "other/1_a.up.sql")
		}
	}
}
