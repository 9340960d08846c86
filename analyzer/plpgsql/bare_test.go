package plpgsql

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// bareCases are statements whose reading with and without the text differ
// in every way Bare has to undo: statements the file's order puts elsewhere
// than the parse tree's (IF's branches, exception handlers), comments before
// PL/pgSQL statements (found only with the text) and inside a statement's
// own text (kept), quoted and escaped bodies (offsets not linear), EXECUTE of
// constants and concatenations, SQL-language bodies, other languages, bodies
// that do not parse, and BEGIN ATOMIC (which Bare declines).
var bareCases = []string{
	`DO $$ BEGIN ALTER TABLE users DROP COLUMN email; END $$;`,
	"DO $$\nDECLARE r record; n int;\nBEGIN\n  IF n > 0 THEN\n    DROP TABLE a;\n  ELSIF n < 0 THEN\n    -- before the delete\n    DELETE FROM z;\n  ELSE\n    LOOP\n      DELETE FROM b;\n      EXIT;\n    END LOOP;\n  END IF;\n  FOR r IN SELECT * FROM c LOOP\n    UPDATE c SET x = 1 WHERE id = r.id;\n  END LOOP;\n  BEGIN\n    /* guarded */ TRUNCATE d;\n  EXCEPTION WHEN others THEN\n    DROP TABLE e;\n  END;\nEND $$;",
	"DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM t; PERFORM purge(1); END $$",
	"DO $$ DECLARE t text := 'x'; BEGIN EXECUTE 'DROP TABLE ' || 'a'; EXECUTE 'ALTER TABLE b DROP COLUMN c'; EXECUTE format('DROP TABLE %I', t); EXECUTE $q$TRUNCATE d$q$; EXECUTE E'DELETE\\x20FROM q'; END $$",
	`CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS 'BEGIN DELETE FROM t WHERE a = ''x''; END';`,
	`CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS E'BEGIN\n -- a comment\n DELETE FROM t; IF true THEN NULL; ELSE DROP TABLE x; END IF; END';`,
	`CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS E'BEGIN\x20DELETE FROM t; IF true THEN NULL; ELSE DROP TABLE x; END IF; END';`,
	"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$\n  -- first\n  DELETE FROM t;\n  DROP TABLE u;\n$$;",
	"CREATE OR REPLACE FUNCTION s.f(a int, b text DEFAULT 'x') RETURNS SETOF int LANGUAGE sql AS 'SELECT 1; \\set x 1'",
	"CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC\n  DELETE FROM t;\n  UPDATE t SET a = 1;\nEND;",
	"CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN 1 + g()",
	"CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.x := 1; DELETE FROM log WHERE id = OLD.id; RETURN NEW; END $$",
	"DO $$ BEGIN SELEC 1; END $$",
	"DO LANGUAGE plpython3u $$ plpy.execute('DROP TABLE t') $$",
	"CREATE FUNCTION c() RETURNS int LANGUAGE c AS 'lib', 'sym'",
	"DO $a$ BEGIN EXECUTE $mg$DROP TABLE x$mg$; END $a$",
	"CREATE FUNCTION f() RETURNS TABLE (x int) LANGUAGE plpgsql AS $$ BEGIN x := 1; RETURN NEXT; END $$",
	"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$ BEGIN EXECUTE $q$DO $r$ BEGIN DROP TABLE x; END $r$$q$; RETURN; END $body$",
	"DO $$ $$",
	"DO LANGUAGE plpgsql 'BEGIN CASE WHEN 1 = 2 THEN DROP TABLE b; ELSE DROP TABLE a; END CASE; END'",
}

// TestBareMatchesReadWithoutText: Bare of a body read with its text is
// exactly what reading the statement without it gives (field for field,
// statement order included), the catalog's reading.
func TestBareMatchesReadWithoutText(t *testing.T) {
	atomic, reordered, commented := 0, 0, 0
	for _, text := range bareCases {
		checkBare(t, text, "-- before\n"+text)
		tree, err := pg_query.Parse(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		placed := Read(tree.GetStmts()[0].GetStmt(), Linear(text, 0))
		if placed.Bare() == nil {
			atomic++
		}
		if placed.walk != nil {
			reordered++
		}
		for _, s := range placed.Stmts {
			if len(s.Comments) > 0 && len(s.Stmt.CommentsBefore) == 0 {
				commented++
			}
		}
	}
	// The cases cover what Bare undoes.
	if atomic != 1 || reordered == 0 || commented == 0 {
		t.Errorf("Bare declined %d bodies (want 1: BEGIN ATOMIC); %d bodies reordered, %d comments found with the text (want some of each)", atomic, reordered, commented)
	}
}

// checkBare compares, for every statement of file, Bare of the reading
// with text against the reading without.
func checkBare(t *testing.T, files ...string) {
	t.Helper()
	eachStatement(files, func(stmt *pg_query.Node, file string, start, end int) {
		placed := Read(stmt, Linear(file[start:end], start))
		bare := placed.Bare()
		if bare == nil {
			return
		}
		want := Read(stmt, Source{})
		if !reflect.DeepEqual(bare, want) {
			t.Errorf("%q: Bare differs from a reading without text:\n%s\nwant\n%s", file, dumpBody(bare), dumpBody(want))
		}
	})
}

func dumpBody(b *Body) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s %v trigger=%v source=%+v\n", b.What, b.Language, b.Name, b.Trigger, b.Source)
	for _, s := range b.Stmts {
		fmt.Fprintf(&sb, "  %d %q %q src=%+v comments=%+v guarded=%v\n", s.Kind, s.Via, s.Stmt.SQL, s.Src, s.Comments, s.Guarded)
	}
	return sb.String()
}

// TestBareSharesNothingWritable: changing a bare body's statements leaves
// the body it came from as it was.
func TestBareSharesNothingWritable(t *testing.T) {
	text := bareCases[1]
	tree, err := pg_query.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	placed := Read(tree.GetStmts()[0].GetStmt(), Linear(text, 0))
	before := dumpBody(placed)
	bare := placed.Bare()
	for i := range bare.Stmts {
		bare.Stmts[i].Via = "changed"
		bare.Stmts[i].Src.Offsets = append(bare.Stmts[i].Src.Offsets, 7)
	}
	if after := dumpBody(placed); after != before {
		t.Errorf("the body changed with its bare copy:\n%s\nwas\n%s", after, before)
	}
	for _, s := range placed.Bare().Stmts {
		for _, off := range s.Src.Offsets {
			if off != 0 {
				t.Fatalf("a bare offset is %d after an append to another bare copy", off)
			}
		}
	}
}

// TestOnRead: the hook sees each statement Read parses, once per call, and
// nothing after it is stopped.
func TestOnRead(t *testing.T) {
	tree, err := pg_query.Parse(bareCases[0] + "; SELECT 1;")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[*pg_query.Node]int{}
	stop := OnRead(func(n *pg_query.Node) {
		mu.Lock()
		defer mu.Unlock()
		seen[n]++
	})
	do, sel := tree.GetStmts()[0].GetStmt(), tree.GetStmts()[1].GetStmt()
	Read(do, Source{})
	Read(do, Source{})
	Read(sel, Source{})
	stop()
	Read(do, Source{})
	if len(seen) != 1 || seen[do] != 2 {
		t.Errorf("reads seen: %v, want the DO statement twice", seen)
	}
}
