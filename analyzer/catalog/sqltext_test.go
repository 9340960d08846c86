package catalog

import (
	"context"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
)

// TestBuiltinFunctionsMatchPostgres keeps builtin_functions.txt equal to
// the functions a real PostgreSQL 15 has in pg_catalog. When it fails on a
// new server, regenerate the file with the query in the message.
func TestBuiltinFunctionsMatchPostgres(t *testing.T) {
	ctx := context.Background()
	conn := scratchDatabase(ctx, t)
	var major int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&major); err != nil {
		t.Fatal(err)
	}
	if major != 15 {
		t.Fatalf("the list is PostgreSQL 15's; this server is %d", major)
	}
	const q = `SELECT DISTINCT proname COLLATE "C" FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace ORDER BY 1`
	rows, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(builtinFunctionNames)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("builtin_functions.txt (%d names) differs from the server's pg_catalog (%d names): regenerate it with psql -Atc %q", len(want), len(got), q)
	}
}

// TestIsBuiltinFunctionFindsEveryName checks the binary search over the
// list: every name of the file is found, and a name between two of them is
// not (an unsorted file would lose some).
func TestIsBuiltinFunctionFindsEveryName(t *testing.T) {
	names := strings.Fields(builtinFunctionNames)
	if len(names) < 2000 {
		t.Fatalf("builtin_functions.txt holds %d names", len(names))
	}
	for _, n := range names {
		if !IsBuiltinFunction([]string{n}) {
			t.Errorf("IsBuiltinFunction(%q) = false for a name of the list", n)
		}
		if IsBuiltinFunction([]string{n + "_not_builtin"}) {
			t.Errorf("IsBuiltinFunction(%q) = true", n+"_not_builtin")
		}
	}
}

func TestIsBuiltinFunction(t *testing.T) {
	for _, tc := range []struct {
		name []string
		want bool
	}{
		{[]string{"format"}, true},
		{[]string{"pg_catalog", "format"}, true},
		{[]string{"public", "format"}, false},
		{[]string{"run_migration"}, false},
		{nil, false},
	} {
		if got := IsBuiltinFunction(tc.name); got != tc.want {
			t.Errorf("IsBuiltinFunction(%v) = %v", tc.name, got)
		}
	}
}

// TestTextCalls: which string arguments are read as SQL text.
func TestTextCalls(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want int
	}{
		{"SELECT run_migration(1, $$DROP TABLE t$$)", 1},
		{"SELECT run_migration(1, 'hello')", 0},
		{"SELECT run_migration(1, '[1, 2]')", 0},
		{"SELECT run_migration(1, 'not sql at all')", 0},
		{"SELECT run_migration(1, 'begin; commit')", 0},
		{"SELECT run_migration(s => 'UPDATE t SET a = 1'::text)", 1},
		{"SELECT upper('DROP TABLE t')", 0},
		{"SELECT dblink_exec('DROP TABLE t')", 0},
		{"CREATE VIEW v AS SELECT run_migration(1, 'DROP TABLE t')", 0},
		{"CALL apply('DELETE FROM t')", 1},
		{"INSERT INTO log SELECT run_migration(1, 'DELETE FROM t')", 1},
		{"ALTER TABLE t ADD COLUMN x int DEFAULT run_migration(1, 'DROP TABLE t')", 0},
	} {
		c := New()
		if got := len(c.TextCalls(parseOne(t, tc.sql), plpgsql.Source{})); got != tc.want {
			t.Errorf("%s: %d text calls, want %d", tc.sql, got, tc.want)
		}
	}
}
