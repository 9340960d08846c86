package plpgsql

import (
	"fmt"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// describe reads the one statement of file and lists what its body runs,
// each as kind, via, and the file text at the offsets Read gave.
func describe(t *testing.T, file string) []string {
	t.Helper()
	tree, err := pg_query.Parse(file)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	b := Read(tree.GetStmts()[0].GetStmt(), Linear(file, 0))
	if b == nil {
		return nil
	}
	var out []string
	for _, s := range b.Stmts {
		kind := map[Kind]string{Statement: "stmt", Expression: "expr", Dynamic: "dynamic", Unreadable: "unreadable"}[s.Kind]
		start, end := s.Src.At(s.Stmt.Start), s.Src.At(s.Stmt.End)
		line := strings.Count(file[:start], "\n") + 1
		entry := fmt.Sprintf("%s %s@%d %q", kind, s.Via, line, file[start:end])
		if s.Stmt.ParseError != nil {
			entry += " error"
		}
		out = append(out, strings.Replace(entry, " @", "@", 1))
	}
	return out
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"do one line", `DO $$ BEGIN ALTER TABLE users DROP COLUMN email; END $$;`,
			[]string{`stmt@1 "ALTER TABLE users DROP COLUMN email"`}},
		{"do tagged with language", "DO LANGUAGE plpgsql $body$\nBEGIN\n  DELETE FROM t;\n  UPDATE t SET a = 1;\nEND\n$body$;",
			[]string{`stmt@3 "DELETE FROM t"`, `stmt@4 "UPDATE t SET a = 1"`}},
		{"nested blocks, if, loop, exception", `DO $$
DECLARE r record; n int;
BEGIN
  IF n > 0 THEN
    DROP TABLE a;
  ELSE
    LOOP
      DELETE FROM b;
      EXIT;
    END LOOP;
  END IF;
  FOR r IN SELECT * FROM c LOOP
    UPDATE c SET x = 1 WHERE id = r.id;
  END LOOP;
  BEGIN
    TRUNCATE d;
  EXCEPTION WHEN others THEN
    DROP TABLE e;
  END;
END $$;`, []string{`expr@4 "n > 0"`, `stmt@5 "DROP TABLE a"`, `stmt@8 "DELETE FROM b"`, `stmt FOR ... IN@12 "SELECT * FROM c"`,
			`stmt@13 "UPDATE c SET x = 1 WHERE id = r.id"`, `stmt@16 "TRUNCATE d"`, `stmt@18 "DROP TABLE e"`}},
		{"select into, perform", "DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM t; PERFORM purge(1); END $$",
			[]string{`stmt@1 "SELECT count(*) INTO n FROM t"`, `stmt PERFORM@1 "PERFORM purge(1)"`}},
		{"execute constant and dynamic", "DO $$ DECLARE t text := 'x'; BEGIN EXECUTE 'DROP TABLE ' || 'a'; EXECUTE 'ALTER TABLE b DROP COLUMN c'; EXECUTE format('DROP TABLE %I', t); EXECUTE $q$TRUNCATE d$q$; END $$",
			[]string{`expr@1 "'x'"`, `stmt EXECUTE@1 "'DROP TABLE ' || 'a'"`, `stmt EXECUTE@1 "ALTER TABLE b DROP COLUMN c"`, `dynamic EXECUTE@1 "format('DROP TABLE %I', t)"`, `stmt EXECUTE@1 "TRUNCATE d"`}},
		{"quoted body with doubled quotes", `CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS 'BEGIN DELETE FROM t WHERE a = ''x''; END';`,
			[]string{`stmt@1 "DELETE FROM t WHERE a = ''x''"`}},
		{"escape string body", `CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS E'BEGIN\n DELETE FROM t; END';`,
			[]string{`stmt@1 "DELETE FROM t"`}},
		{"sql string body", "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$\n  DELETE FROM t;\n  DROP TABLE u;\n$$;",
			[]string{`stmt@2 "DELETE FROM t;"`, `stmt@3 "DROP TABLE u;"`}},
		{"begin atomic", "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC\n  DELETE FROM t;\n  UPDATE t SET a = 1;\nEND;",
			[]string{`stmt@2 "DELETE FROM t;"`, `stmt@3 "UPDATE t SET a = 1;"`}},
		{"trigger function", "CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.x := 1; DELETE FROM log WHERE id = OLD.id; RETURN NEW; END $$",
			[]string{`expr@1 "1"`, `stmt@1 "DELETE FROM log WHERE id = OLD.id"`, `expr@1 "NEW"`}},
		{"body that does not parse", "DO $$ BEGIN SELEC 1; END $$", []string{`unreadable@1 " BEGIN SELEC 1; END " error`}},
		{"other language", "DO LANGUAGE plpython3u $$ plpy.execute('DROP TABLE t') $$", []string{`unreadable@1 " plpy.execute('DROP TABLE t') " error`}},
		{"dollar tag inside body", "DO $a$ BEGIN EXECUTE $mg$DROP TABLE x$mg$; END $a$", []string{`stmt EXECUTE@1 "DROP TABLE x"`}},
		{"not procedural", "SELECT 1", nil},
		{"return next with OUT parameters", "CREATE FUNCTION f() RETURNS TABLE (x int) LANGUAGE plpgsql AS $$ BEGIN x := 1; RETURN NEXT; END $$",
			[]string{`expr@1 "1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := describe(t, tc.file)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestUnreadableReasons: a body the parser rejects says why, and says when
// the parser used here is stricter than PostgreSQL.
func TestUnreadableReasons(t *testing.T) {
	for src, want := range map[string]string{
		"DO $$ BEGIN SELEC 1; END $$": `syntax error at or near "SELEC"`,
		"CREATE FUNCTION f(OUT x int) RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN RETURN NEXT; SELEC 1; END $$":              `PostgreSQL's PL/pgSQL parser cannot read this body: syntax error at or near "SELEC"`,
		"CREATE FUNCTION f(OUT x int) RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN RETURN NEXT; IF THEN NULL; END IF; END $$": `PostgreSQL's PL/pgSQL parser cannot read this body: missing expression at or near "THEN"`,
		// A RETURN NEXT the scan cannot find (it stops at the unterminated
		// string) keeps the hint.
		"CREATE FUNCTION f(OUT x int) RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN RETURN NEXT; RAISE 'x; END $$": "PostgreSQL accepts in a function with OUT parameters",
		"DO LANGUAGE plperl $$ 1 $$": "LANGUAGE plperl",
	} {
		tree, err := pg_query.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		b := Read(tree.GetStmts()[0].GetStmt(), Linear(src, 0))
		if len(b.Stmts) != 1 || b.Stmts[0].Kind != Unreadable || !strings.Contains(b.Stmts[0].Reason, want) {
			t.Errorf("%s: %+v", src, b.Stmts)
		}
	}
}
