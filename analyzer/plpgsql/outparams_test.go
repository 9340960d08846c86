package plpgsql

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// TestOutParameters: PostgreSQL returns the OUT parameters' current values
// on a RETURN NEXT or RETURN written without a value, which the PL/pgSQL
// parser pg_query ships rejects. Each body is created on the real server
// first, so the table states what PostgreSQL accepts (check_function_bodies
// is on), and what the reader makes of it; a body PostgreSQL rejects stays
// unreadable.
func TestOutParameters(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Scratch(t, "CREATE TABLE t (id int, a int)"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, tc := range []struct {
		name, file string
		accepted   bool
		want       []string
	}{
		{"OUT parameter, SETOF, bare RETURN NEXT", `CREATE FUNCTION f1(OUT x int) RETURNS SETOF int LANGUAGE plpgsql AS $$
BEGIN
  FOR x IN SELECT id FROM t LOOP
    RETURN NEXT;
  END LOOP;
  DELETE FROM t;
END $$`, true, []string{`stmt FOR ... IN@3 "SELECT id FROM t"`, `stmt@6 "DELETE FROM t"`}},
		{"RETURNS TABLE, bare RETURN NEXT", `CREATE FUNCTION f2() RETURNS TABLE (x int, y text) LANGUAGE plpgsql AS $$
BEGIN
  x := 1; y := 'a';
  RETURN NEXT;
  UPDATE t SET a = 1;
  return next ;
END $$`, true, []string{`expr@3 "1"`, `expr@3 "'a'"`, `stmt@5 "UPDATE t SET a = 1"`}},
		{"RETURNS TABLE, RETURN QUERY", `CREATE FUNCTION f3() RETURNS TABLE (x int) LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT id FROM t;
  RETURN NEXT;
END $$`, true, []string{`stmt RETURN QUERY@3 "SELECT id FROM t"`}},
		{"INOUT parameter, comments between the words", `CREATE FUNCTION f4(INOUT x int) RETURNS SETOF int LANGUAGE plpgsql AS $$
BEGIN
  RETURN /* the current x */ NEXT -- no value
  ;
  TRUNCATE t;
END $$`, true, []string{`stmt@5 "TRUNCATE t"`}},
		{"procedure with OUT parameters, bare RETURN", `CREATE PROCEDURE p5(IN a int, OUT x int, OUT y int) LANGUAGE plpgsql AS $$
BEGIN
  x := a; y := a;
  DELETE FROM t WHERE id = a;
  RETURN;
END $$`, true, []string{`expr@3 "a"`, `expr@3 "a"`, `stmt@4 "DELETE FROM t WHERE id = a"`}},
		{"function with OUT parameters, bare RETURN", `CREATE FUNCTION f6(OUT x int) LANGUAGE plpgsql AS $$
BEGIN
  x := 1;
  RETURN;
END $$`, true, []string{`expr@3 "1"`}},
		{"RETURN NEXT in a string stays a string", `CREATE FUNCTION f7(OUT x int) RETURNS SETOF int LANGUAGE plpgsql AS $$
BEGIN
  x := length('RETURN NEXT;');
  RETURN NEXT;
END $$`, true, []string{`expr@3 "length('RETURN NEXT;')"`}},
		// PostgreSQL rejects these, and so does the reader.
		{"bare RETURN NEXT without OUT parameters", `CREATE FUNCTION f8() RETURNS SETOF int LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEXT;
END $$`, false, []string{`unreadable@1 "\nBEGIN\n  RETURN NEXT;\nEND " error`}},
		{"OUT parameters and a real syntax error", `CREATE FUNCTION f9(OUT x int) RETURNS SETOF int LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEXT;
  DELET FROM t;
END $$`, false, []string{`unreadable@1 "\nBEGIN\n  RETURN NEXT;\n  DELET FROM t;\nEND " error`}},
		{"OUT parameters and a missing value elsewhere", `CREATE FUNCTION f10(OUT x int) RETURNS SETOF int LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEXT;
  IF THEN NULL; END IF;
END $$`, false, []string{`unreadable@1 "\nBEGIN\n  RETURN NEXT;\n  IF THEN NULL; END IF;\nEND " error`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, tc.file)
			if tc.accepted && err != nil {
				t.Fatalf("PostgreSQL rejects it: %v", err)
			}
			if !tc.accepted && err == nil {
				t.Fatal("PostgreSQL accepts it")
			}
			got := describe(t, tc.file)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
