package layout

import (
	"strings"
	"testing"
)

func text(content []byte, p Part) string {
	if p.Start < 0 || p.End > len(content) || p.Start > p.End {
		return "<out of bounds>"
	}
	return string(content[p.Start:p.End])
}

func hasProblem(ps []Problem, line int, substr string) bool {
	for _, p := range ps {
		if (line < 0 || p.Line == line) && strings.Contains(p.Message, substr) {
			return true
		}
	}
	return false
}

func requireProblem(t *testing.T, ps []Problem, line int, substr string) {
	t.Helper()
	if !hasProblem(ps, line, substr) {
		t.Errorf("no problem on line %d containing %q; got %v", line, substr, ps)
	}
}

func requireNoProblems(t *testing.T, ps []Problem) {
	t.Helper()
	if len(ps) > 0 {
		t.Errorf("unexpected problems: %v", ps)
	}
}

func TestGooseParts(t *testing.T) {
	content := []byte("-- a leading comment\n" +
		"-- +goose Up\n" +
		"-- +goose StatementBegin\n" +
		"CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;\n" +
		"-- +goose StatementEnd\n" +
		"CREATE TABLE t (id int);\n" +
		"\n" +
		"-- +goose Down\n" +
		"DROP TABLE t;\n")
	up, down, problems := Parts(Goose, "db/1_t.sql", content)
	requireNoProblems(t, problems)
	wantUp := "-- +goose StatementBegin\n" +
		"CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;\n" +
		"-- +goose StatementEnd\n" +
		"CREATE TABLE t (id int);\n\n"
	if got := text(content, up); got != wantUp {
		t.Errorf("up = %q, want %q", got, wantUp)
	}
	if up.Start != len("-- a leading comment\n-- +goose Up\n") {
		t.Errorf("up.Start = %d", up.Start)
	}
	if down == nil || text(content, *down) != "DROP TABLE t;\n" {
		t.Fatalf("down = %+v", down)
	}
	if up.Tx != TxWrapped || up.TxLine != 0 || !strings.Contains(up.TxReason, "NO TRANSACTION") {
		t.Errorf("up tx = %s line %d %q", up.Tx, up.TxLine, up.TxReason)
	}
	if up.Path != "db/1_t.sql" || down.Path != "db/1_t.sql" {
		t.Errorf("paths %q %q", up.Path, down.Path)
	}
}

func TestGooseNoTransactionAnywhere(t *testing.T) {
	content := []byte("-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- +goose Down\n-- +goose NO TRANSACTION\nDROP INDEX CONCURRENTLY i;\n")
	up, down, problems := Parts(Goose, "2_i.sql", content)
	requireNoProblems(t, problems)
	if up.Tx != TxNone || up.TxLine != 4 || !strings.Contains(up.TxReason, "line 4") {
		t.Errorf("up tx = %s line %d %q", up.Tx, up.TxLine, up.TxReason)
	}
	if down == nil || down.Tx != TxNone {
		t.Fatalf("down = %+v", down)
	}
	// The directive line is a comment inside the down part; the SQL parser
	// skips it, and offsets stay those of the file.
	if got := text(content, *down); got != "-- +goose NO TRANSACTION\nDROP INDEX CONCURRENTLY i;\n" {
		t.Errorf("down = %q", got)
	}
	if got := text(content, up); got != "CREATE INDEX CONCURRENTLY i ON t (a);\n" {
		t.Errorf("up = %q", got)
	}
}

func TestGooseAnnotationsCaseAndSpacing(t *testing.T) {
	// goose matches annotations case-insensitively and removes every "--".
	content := []byte("--+goose up\nSELECT 1;\n-- +goose DOWN\nSELECT 2;\n-- +goose envsub on\n")
	up, down, problems := Parts(Goose, "3_x.sql", content)
	requireNoProblems(t, problems)
	if text(content, up) != "SELECT 1;\n" || down == nil || text(content, *down) != "SELECT 2;\n-- +goose envsub on\n" {
		t.Errorf("up %q down %+v", text(content, up), down)
	}
}

func TestGooseProblems(t *testing.T) {
	cases := []struct {
		name, content string
		line          int
		want          string
	}{
		{"missing up", "CREATE TABLE t (id int);\n", 1, "SQL before -- +goose Up"},
		{"missing up marker", "-- just a comment\n", 0, "no -- +goose Up"},
		{"down before up", "-- +goose Down\nDROP TABLE t;\n-- +goose Up\nCREATE TABLE t (id int);\n", 1, "Down before -- +goose Up"},
		{"typo", "-- +goose Up\n-- +goose NO TRANSACTIONS\nSELECT 1;\n", 2, "does not know the annotation"},
		{"leading whitespace", "-- +goose Up\n  -- +goose StatementBegin\nSELECT 1;\n", 2, "leading whitespace"},
		{"unterminated block", "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n", 2, "without StatementEnd"},
		{"end without begin", "-- +goose Up\nSELECT 1;\n-- +goose StatementEnd\n", 3, "without StatementBegin"},
		{"two ups", "-- +goose Up\nSELECT 1;\n-- +goose Up\n", 3, "second -- +goose Up"},
		{"down inside block", "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n-- +goose Down\n-- +goose StatementEnd\n", 4, "inside the StatementBegin of line 2"},
		{"two on a line", "-- +goose Up -- +goose Down\n", 1, "more than one +goose"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			content := []byte(c.content)
			up, _, problems := Parts(Goose, "1_x.sql", content)
			requireProblem(t, problems, c.line, c.want)
			if up.Start < 0 || up.End > len(content) || up.Start > up.End {
				t.Errorf("bad up %+v", up)
			}
		})
	}
	// Without an Up annotation the whole file is still handed to the
	// analyzer as the up part.
	content := []byte("CREATE TABLE t (id int);\n")
	up, _, _ := Parts(Goose, "1_x.sql", content)
	if text(content, up) != string(content) {
		t.Errorf("up = %q", text(content, up))
	}
}

// TestGooseEnvsub: goose fills environment variables into the text of the
// statements it reads while ENVSUB is on, quoted text included: a line of
// the up part that holds one is a problem that needs a person.
func TestGooseEnvsub(t *testing.T) {
	cases := []struct {
		name, content string
		line          int // 0: no such problem
	}{
		{"in a quoted value", "-- +goose Up\n-- +goose ENVSUB ON\nDELETE FROM t WHERE id = '${ID}';\n", 3},
		{"bare name", "-- +goose Up\n-- +goose envsub on\nSELECT 1;\nDROP TABLE $T;\n", 4},
		{"with a default", "-- +goose ENVSUB ON\n-- +goose Up\nSELECT '${X:-1}';\n", 3},
		{"dollar quote's tag is read as a name", "-- +goose Up\n-- +goose ENVSUB ON\nDO $body$ BEGIN NULL; END $body$;\n", 3},
		{"switched off before", "-- +goose Up\n-- +goose ENVSUB ON\n-- +goose ENVSUB OFF\nSELECT '${X}';\n", 0},
		{"off: nothing replaced", "-- +goose Up\nSELECT '${X}';\n", 0},
		{"no name after $", "-- +goose Up\n-- +goose ENVSUB ON\nSELECT $1, $$x$$;\n", 0},
		{"only in the down part", "-- +goose Up\nSELECT 1;\n-- +goose Down\n-- +goose ENVSUB ON\nSELECT '$X';\n", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, problems := Parts(Goose, "1_x.sql", []byte(c.content))
			var got []Problem
			for _, p := range problems {
				if p.RunTimeText {
					got = append(got, p)
				}
			}
			switch {
			case c.line == 0 && len(got) > 0:
				t.Errorf("unexpected %v", got)
			case c.line > 0 && (len(got) != 1 || got[0].Line != c.line || !strings.Contains(got[0].Message, "ENVSUB")):
				t.Errorf("got %v, want one at line %d", got, c.line)
			}
		})
	}
}

// TestFlywayPlaceholders: Flyway replaces ${name} anywhere in a script,
// quoted text and comments included; an undo script is a down part.
func TestFlywayPlaceholders(t *testing.T) {
	cases := []struct {
		name, path, content string
		line                int // 0: no such problem
	}{
		{"in a quoted value", "V2__x.sql", "SELECT 1;\nDELETE FROM t WHERE id = '${id}';\n", 2},
		{"built-in placeholder", "V2__x.sql", "DROP TABLE ${flyway:defaultSchema}.t;\n", 1},
		{"repeatable", "R__x.sql", "-- ${note}\nSELECT 1;\n", 1},
		{"no closing brace", "V2__x.sql", "SELECT '${';\n", 0},
		{"plain dollar", "V2__x.sql", "DO $$ BEGIN NULL; END $$;\n", 0},
		{"undo script", "U2__x.sql", "DELETE FROM t WHERE id = '${id}';\n", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, problems := Parts(Flyway, "db/migration/"+c.path, []byte(c.content))
			var got []Problem
			for _, p := range problems {
				if p.RunTimeText {
					got = append(got, p)
				}
			}
			switch {
			case c.line == 0 && len(got) > 0:
				t.Errorf("unexpected %v", got)
			case c.line > 0 && (len(got) != 1 || got[0].Line != c.line || !strings.Contains(got[0].Message, "placeholders")):
				t.Errorf("got %v, want one at line %d", got, c.line)
			}
		})
	}
}

func TestGooseCRLFAndBOM(t *testing.T) {
	content := []byte("\xEF\xBB\xBF-- +goose Up\r\nCREATE TABLE t (id int);\r\n-- +goose Down\r\nDROP TABLE t;\r\n")
	up, down, problems := Parts(Goose, "1_x.sql", content)
	if got := text(content, up); got != "CREATE TABLE t (id int);\r\n" {
		t.Errorf("up = %q", got)
	}
	if down == nil || text(content, *down) != "DROP TABLE t;\r\n" {
		t.Errorf("down = %+v", down)
	}
	requireProblem(t, problems, 1, "byte order mark")
}

func TestDbmateParts(t *testing.T) {
	content := []byte("-- a comment before the marker is allowed\n" +
		"-- migrate:up transaction:false\n" +
		"CREATE INDEX CONCURRENTLY i ON t (a);\n" +
		"-- migrate:down\n" +
		"DROP INDEX i;\n")
	up, down, problems := Parts(Dbmate, "db/migrations/20240101120000_i.sql", content)
	requireNoProblems(t, problems)
	if got := text(content, up); got != "CREATE INDEX CONCURRENTLY i ON t (a);\n" {
		t.Errorf("up = %q", got)
	}
	if up.Tx != TxImplicit || up.TxLine != 2 || !strings.Contains(up.TxReason, "line 2") {
		t.Errorf("up tx = %s line %d %q", up.Tx, up.TxLine, up.TxReason)
	}
	if down == nil || text(content, *down) != "DROP INDEX i;\n" || down.Tx != TxWrapped || down.TxLine != 0 {
		t.Errorf("down = %+v", down)
	}
}

func TestDbmateOptionTypos(t *testing.T) {
	content := []byte("-- migrate:up transaction: false\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- migrate:down transaction:FALSE\nDROP INDEX i;\n")
	up, down, problems := Parts(Dbmate, "1_i.sql", content)
	if up.Tx != TxWrapped {
		t.Errorf("transaction: false (with a space) must leave the transaction on, got %s", up.Tx)
	}
	requireProblem(t, problems, 1, `dbmate ignores "false"`)
	requireProblem(t, problems, 1, "transaction: is not exactly")
	requireProblem(t, problems, 3, "transaction:FALSE is not exactly")
	if down.Tx != TxWrapped {
		t.Errorf("down tx %s", down.Tx)
	}
}

func TestDbmateProblems(t *testing.T) {
	cases := []struct {
		name, content string
		line          int
		want          string
	}{
		{"missing up", "CREATE TABLE t (id int);\n", 1, "SQL before the first -- migrate:up"},
		{"no markers", "-- nothing\n", 0, "no -- migrate:up marker"},
		{"missing down", "-- migrate:up\nCREATE TABLE t (id int);\n", 1, "no -- migrate:down"},
		{"down before up", "-- migrate:down\nDROP TABLE t;\n-- migrate:up\nCREATE TABLE t (id int);\n", 1, "before -- migrate:up"},
		{"indented", "-- migrate:up\nSELECT 1;\n  -- migrate:down\nSELECT 2;\n", 3, "indented"},
		{"misspelt", "-- migrate:upp\nSELECT 1;\n", 1, "is not a dbmate marker"},
		{"space after colon", "-- migrate: up\nSELECT 1;\n", 1, "is not a dbmate marker"},
		{"unknown option", "-- migrate:up tx:false\nSELECT 1;\n-- migrate:down\n", 1, "does not know the option"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, problems := Parts(Dbmate, "1_x.sql", []byte(c.content))
			requireProblem(t, problems, c.line, c.want)
		})
	}
}

func TestDbmateSections(t *testing.T) {
	content := []byte("-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n-- migrate:up transaction:false\nSELECT 3;\n-- migrate:down\nSELECT 4;\n")
	fp := splitDbmate("1_x.sql", content, Options{})
	requireNoProblems(t, fp.problems)
	if text(content, fp.up) != "SELECT 1;\n" || text(content, *fp.down) != "SELECT 2;\n" {
		t.Errorf("first section %q %q", text(content, fp.up), text(content, *fp.down))
	}
	if len(fp.more) != 1 {
		t.Fatalf("more = %+v", fp.more)
	}
	s := fp.more[0]
	if text(content, s.Up) != "SELECT 3;\n" || s.Up.Tx != TxImplicit || s.Up.TxLine != 5 || text(content, *s.Down) != "SELECT 4;\n" {
		t.Errorf("second section %+v", s)
	}
}

func TestDbmateBOM(t *testing.T) {
	content := []byte("\xEF\xBB\xBF-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n")
	up, down, problems := Parts(Dbmate, "1_x.sql", content)
	if text(content, up) != "SELECT 1;\n" || down == nil || text(content, *down) != "SELECT 2;\n" {
		t.Errorf("up %q down %+v", text(content, up), down)
	}
	requireProblem(t, problems, 1, "byte order mark")
	if DetectFile("db/1_x.sql", content) != Dbmate {
		t.Errorf("BOM file not detected as dbmate")
	}
}

func TestWholeFileParts(t *testing.T) {
	content := []byte("\xEF\xBB\xBFCREATE TABLE t (id int);\n")
	cases := []struct {
		kind     Kind
		path     string
		tx       TxMode
		downOnly bool
	}{
		{Plain, "db/001_t.sql", TxNone, false},
		{GolangMigrate, "db/1_t.up.sql", TxImplicit, false},
		{GolangMigrate, "db/1_t.down.sql", TxImplicit, true},
		{Flyway, "db/migration/V1__t.sql", TxAutoNonTx, false},
		{Flyway, "db/migration/U1__t.sql", TxAutoNonTx, true},
		{Sqitch, "deploy/t.sql", TxNone, false},
		{Sqitch, "revert/t.sql", TxNone, true},
		{Prisma, "prisma/migrations/20240101000000_t/migration.sql", TxImplicit, false},
		{Drizzle, "drizzle/0000_t.sql", TxWrapped, false},
		{Supabase, "supabase/migrations/20240101000000_t.sql", TxWrapped, false},
	}
	for _, c := range cases {
		up, down, _ := Parts(c.kind, c.path, content)
		part := up
		if c.downOnly {
			if down == nil {
				t.Errorf("%s %s: no down part", c.kind, c.path)
				continue
			}
			part = *down
			if up.Start != up.End {
				t.Errorf("%s %s: up of a down-only file is not empty: %+v", c.kind, c.path, up)
			}
		} else if down != nil {
			t.Errorf("%s %s: unexpected down part", c.kind, c.path)
		}
		if text(content, part) != "CREATE TABLE t (id int);\n" || part.Start != 3 {
			t.Errorf("%s %s: part %q starts at %d", c.kind, c.path, text(content, part), part.Start)
		}
		if part.Tx != c.tx || part.TxReason == "" {
			t.Errorf("%s %s: tx %s %q, want %s", c.kind, c.path, part.Tx, part.TxReason, c.tx)
		}
		if c.kind == Drizzle && !part.TxAcrossRun {
			t.Errorf("drizzle part must say its transaction spans the run")
		}
	}
}

func TestOptionsChangeDefaults(t *testing.T) {
	content := []byte("SELECT 1;\n")
	if fp := splitFile(Plain, "1.sql", content, Options{Transaction: TransactionPerFile}); fp.up.Tx != TxWrapped {
		t.Errorf("plain per-file: %s", fp.up.Tx)
	}
	if fp := splitFile(GolangMigrate, "1_x.up.sql", content, Options{MultiStatement: true}); fp.up.Tx != TxNone {
		t.Errorf("golang-migrate multi-statement: %s", fp.up.Tx)
	}
	if fp := splitFile(Flyway, "V1__x.sql", content, Options{Mixed: true}); !fp.up.Mixed {
		t.Errorf("flyway mixed not carried")
	}
	// A directive in the file wins over a configured default.
	goose := []byte("-- +goose NO TRANSACTION\n-- +goose Up\nSELECT 1;\n")
	if fp := splitFile(Goose, "1_x.sql", goose, Options{Transaction: TransactionPerFile}); fp.up.Tx != TxNone || fp.up.TxLine != 1 {
		t.Errorf("goose directive lost: %+v", fp.up)
	}
}

func TestFlywayInlineConfigIsReported(t *testing.T) {
	content := []byte("-- flyway:executeInTransaction=false\nCREATE INDEX CONCURRENTLY i ON t (a);\n")
	up, _, problems := Parts(Flyway, "db/migration/V2__i.sql", content)
	requireProblem(t, problems, 1, "V2__i.sql.conf")
	if up.Tx != TxAutoNonTx {
		t.Errorf("tx = %s", up.Tx)
	}
}

func TestDetectFile(t *testing.T) {
	cases := []struct {
		path, content string
		want          Kind
	}{
		{"db/1_init.up.sql", "CREATE TABLE t ();", GolangMigrate},
		{"db/V1.1__init.sql", "CREATE TABLE t ();", Flyway},
		{"db/R__views.sql", "CREATE VIEW v AS SELECT 1;", Flyway},
		{"prisma/migrations/20240101000000_init/migration.sql", "CREATE TABLE t ();", Prisma},
		{"db/1_init.sql", "-- +goose Up\nCREATE TABLE t ();", Goose},
		{"db/1_init.sql", "\xEF\xBB\xBF-- +goose Up\nCREATE TABLE t ();", Goose},
		{"db/1_init.sql", "-- migrate:up\nCREATE TABLE t ();\n-- migrate:down\n", Dbmate},
		{"supabase/migrations/20240101000000_init.sql", "CREATE TABLE t ();", Supabase},
		{"drizzle/0000_init.sql", "CREATE TABLE t ();\n--> statement-breakpoint\nCREATE TABLE u ();", Drizzle},
		{"deploy/users.sql", "BEGIN; CREATE TABLE t (); COMMIT;", Sqitch},
		{"sql/001_init.sql", "CREATE TABLE t ();", Plain},
		{"x.sql", "", Plain},
	}
	for _, c := range cases {
		if got := DetectFile(c.path, []byte(c.content)); got != c.want {
			t.Errorf("DetectFile(%q) = %s, want %s", c.path, got, c.want)
		}
	}
}
