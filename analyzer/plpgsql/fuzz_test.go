package plpgsql

import (
	"reflect"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// FuzzRead feeds arbitrary statements, and arbitrary DO and function bodies,
// to Read: it must never crash (PostgreSQL's PL/pgSQL parser aborts the
// process on input it does not expect), and every offset it gives must lie
// in the text.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"DO $$ BEGIN ALTER TABLE users DROP COLUMN email; END $$;",
		"BEGIN IF x THEN DELETE FROM t; ELSE LOOP EXIT; END LOOP; END IF; END",
		"DECLARE r record; BEGIN FOR r IN SELECT * FROM t LOOP EXECUTE 'DROP TABLE ' || r.n; END LOOP; END",
		"BEGIN BEGIN TRUNCATE q; EXCEPTION WHEN others THEN RAISE; END; END",
		"CREATE FUNCTION f(a int, OUT b int) LANGUAGE plpgsql AS $$ BEGIN b := a; PERFORM g(); END $$",
		"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN NEW.x := ''y''; RETURN NEW; END'",
		"CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC DELETE FROM t; END",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN 1",
		"CREATE FUNCTION f() RETURNS SETOF int LANGUAGE plpgsql AS E'BEGIN\\n RETURN QUERY SELECT 1; END'",
		"DO LANGUAGE plperl $$ spi_exec_query('x') $$",
		"BEGIN EXECUTE $q$DO $r$ BEGIN DROP TABLE x; END $r$$q$; END",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		texts := []string{s}
		if !strings.Contains(s, "$fz$") {
			texts = append(texts, "DO $fz$"+s+"$fz$",
				"CREATE FUNCTION fz(a int, INOUT b text) RETURNS record LANGUAGE plpgsql AS $fz$"+s+"$fz$",
				"CREATE FUNCTION fz() RETURNS trigger LANGUAGE plpgsql AS $fz$"+s+"$fz$")
		}
		eachStatement(texts, func(stmt *pg_query.Node, text string, start, end int) {
			b := Read(stmt, Linear(text[start:end], start))
			if b == nil {
				return
			}
			if bare := b.Bare(); bare != nil && !reflect.DeepEqual(bare, Read(stmt, Source{})) {
				t.Fatalf("%q: Bare differs from a reading without text", text)
			}
			for _, st := range b.Stmts {
				for _, off := range []int{st.Src.At(st.Stmt.Start), st.Src.At(st.Stmt.End), st.Src.At(st.Stmt.LocationBase)} {
					if off < start || off > end {
						t.Fatalf("%q: offset %d outside the statement [%d,%d]", text, off, start, end)
					}
				}
			}
		})
	})
}
