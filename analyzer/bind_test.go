package analyzer

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

// A session-level SET in one new migration holds in the next ones only
// for tools that run a run over one session.
func TestSettingsCarryAcrossFilesByTool(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		drop  string // the file with the DROP
		want  string // objects of the DROP
	}{
		{"golang-migrate keeps one connection", map[string]string{
			"db/1_path.up.sql": "SET search_path = billing;\n", "db/1_path.down.sql": "SELECT 1;\n",
			"db/2_drop.up.sql": "DROP TABLE scratch;\n", "db/2_drop.down.sql": "SELECT 1;\n",
		}, "db/2_drop.up.sql", "billing.scratch"},
		{"goose", map[string]string{
			"db/00001_path.sql": "-- +goose Up\nSET search_path = billing;\n-- +goose Down\nSELECT 1;\n",
			"db/00002_drop.sql": "-- +goose Up\nDROP TABLE scratch;\n-- +goose Down\nSELECT 1;\n",
		}, "db/00002_drop.sql", "billing.scratch"},
		{"psql starts a session per file", map[string]string{
			"db/1_path.sql": "SET search_path = billing;\n",
			"db/2_drop.sql": "DROP TABLE scratch;\n",
		}, "db/2_drop.sql", "scratch"},
		{"Flyway restores the connection", map[string]string{
			"db/migration/V1__path.sql": "SET search_path = billing;\n",
			"db/migration/V2__drop.sql": "DROP TABLE scratch;\n",
		}, "db/migration/V2__drop.sql", "scratch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for p, s := range c.files {
				fsys[p] = &fstest.MapFile{Data: []byte(s)}
			}
			rep, err := Analyze(context.Background(), Request{Head: fsys, Config: DefaultConfig()})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Files {
				if f.Path != c.drop {
					continue
				}
				for _, s := range f.Statements {
					if strings.HasPrefix(s.SQL, "DROP") {
						if got := strings.Join(s.Objects, ","); got != c.want {
							t.Errorf("DROP resolves to %q, want %q", got, c.want)
						}
						if f.UpDigest == "" || len(f.BlobSHA) != 40 {
							t.Errorf("digest %q blob %q", f.UpDigest, f.BlobSHA)
						}
						return
					}
				}
			}
			t.Fatalf("no DROP in %s: %+v", c.drop, rep.Files)
		})
	}
}

// A link whose target changed runs other bytes although its own path did
// not change: it is judged as an edited migration.
func TestLinkedMigrationWhoseTargetChanged(t *testing.T) {
	base := fstest.MapFS{
		"db/1_users.up.sql":   {Data: []byte("CREATE TABLE users (id int);\n")},
		"db/1_users.down.sql": {Data: []byte("DROP TABLE users;\n")},
		"db/2_link.up.sql":    {Data: []byte("SELECT 1;\n")}, // read through a link
	}
	head := fstest.MapFS{
		"db/1_users.up.sql":   base["db/1_users.up.sql"],
		"db/1_users.down.sql": base["db/1_users.down.sql"],
		"db/2_link.up.sql":    {Data: []byte("SELECT 1;\nDROP TABLE users;\n")},
	}
	rep, err := Analyze(context.Background(), Request{Base: base, Head: head, Changed: []string{"shared/target.sql"}, Config: DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 1 || rep.Files[0].Path != "db/2_link.up.sql" || !rep.RequiresApproval() {
		t.Fatalf("files %+v", rep.Files)
	}
}

// Findings name the schema a search path leaves, for indexes and types
// as for tables.
func TestDropMessagesNameTheResolvedSchema(t *testing.T) {
	fsys := fstest.MapFS{"db/1_drop.sql": {Data: []byte("SET search_path = billing;\nDROP TABLE invoices;\nDROP INDEX invoices_idx;\nDROP TYPE mood;\n")}}
	rep, err := Analyze(context.Background(), Request{Head: fsys, Config: DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"DROP TABLE invoices;":     "DROP TABLE billing.invoices",
		"DROP INDEX invoices_idx;": "DROP INDEX billing.invoices_idx",
		"DROP TYPE mood;":          "DROP TYPE billing.mood",
	}
	for _, s := range rep.Files[0].Statements {
		w, ok := want[s.SQL]
		if !ok {
			continue
		}
		delete(want, s.SQL)
		if len(s.Findings) == 0 || !strings.HasPrefix(s.Findings[0].Message, w) {
			t.Errorf("%s: %+v", s.SQL, s.Findings)
		}
	}
	if len(want) != 0 {
		t.Errorf("not found: %v", want)
	}
}

// ReachedCode lists, for the statement that runs them, the bodies it does
// not contain, transitively and each once, normalized; a statement that
// reaches none has none.
func TestReachedCode(t *testing.T) {
	files := map[string]string{
		"db/1_init.sql": "CREATE TABLE sessions (id int, token text);\n" +
			"CREATE FUNCTION purge() RETURNS void LANGUAGE sql AS $$ UPDATE  sessions SET token = NULL -- all\n$$;\n" +
			"CREATE FUNCTION cleanup(n int) RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM purge();\n  PERFORM purge();\nEND\n$$;\n",
		"db/2_call.sql": "SELECT cleanup(1);\nSELECT 1;\n",
	}
	fsys := fstest.MapFS{}
	for p, s := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(s)}
	}
	rep, err := Analyze(context.Background(), Request{Head: fsys, Changed: []string{"db/2_call.sql"}, Config: DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"SELECT cleanup(1);": {
			"public.cleanup(int4)\x00plpgsql\x00begin perform purge ( ) ; perform purge ( ) ; end",
			"public.purge()\x00sql\x00update sessions set token = null",
		},
		"SELECT 1;": nil,
	}
	seen := 0
	for _, f := range rep.Files {
		for i := range f.Statements {
			s := &f.Statements[i]
			w, ok := want[s.SQL]
			if !ok {
				continue
			}
			seen++
			if got := s.ReachedCode(); strings.Join(got, "\n") != strings.Join(w, "\n") || len(got) != len(w) {
				t.Errorf("%s reaches %q, want %q", s.SQL, got, w)
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("found %d of the %d statements: %+v", seen, len(want), rep.Files)
	}
}

// A body that stands in the base history, replayed once and then restored
// from the cache of base schemas, is bound the same: a cached schema must
// not change what an approval binds.
func TestReachedCodeFromCachedBase(t *testing.T) {
	base := fstest.MapFS{"db/1_init.sql": &fstest.MapFile{Data: []byte("CREATE TABLE sessions (id int, token text);\n" +
		"CREATE FUNCTION purge() RETURNS void LANGUAGE sql AS 'UPDATE sessions SET token = NULL';\n")}}
	head := fstest.MapFS{"db/2_call.sql": &fstest.MapFile{Data: []byte("SELECT purge();\n")}}
	for p, f := range base {
		head[p] = f
	}
	req := Request{Base: base, Head: head, Changed: []string{"db/2_call.sql"}, Config: DefaultConfig()}
	want, err := Analyze(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range want.Files {
		for i := range f.Statements {
			if f.Statements[i].SQL == "SELECT purge();" {
				got = f.Statements[i].ReachedCode()
			}
		}
	}
	if len(got) != 1 || got[0] != "public.purge()\x00sql\x00update sessions set token = null" {
		t.Fatalf("SELECT purge() reaches %q", got)
	}
	checkCachedReport(t, req, want)
}
