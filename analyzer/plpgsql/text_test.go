package plpgsql

import (
	"fmt"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

func TestReadText(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int // statements read, 0 for nil
	}{
		{"DROP TABLE t", 1},
		{"\n  ALTER TABLE t DROP COLUMN a;\n  DELETE FROM t;\n", 2},
		{"-- a comment first\nTRUNCATE t", 1},
		{"SELECT 1", 1},
		{"hello", 0},
		{"hello world", 0},
		{`{"a": "DROP TABLE t"}`, 0},
		{"[1, 2, 3]", 0},
		{"DROP TABLE t WHERE x", 0},
		{"DROP TABLE t; not sql", 0},
		{"begin; commit", 0},
		{"show search_path", 0},
		{"", 0},
		{"   ", 0},
		{"\\i other.sql", 0},
	} {
		b := ReadText(Source{}, 0, tc.value, []string{"f"})
		got := 0
		if b != nil {
			got = len(b.Stmts)
		}
		if got != tc.want {
			t.Errorf("ReadText(%q): %d statements, want %d", tc.value, got, tc.want)
		}
	}
}

// TestReadTextPositions: the statements of a quoted string stand at their
// place in the file, past doubled quotes.
func TestReadTextPositions(t *testing.T) {
	file := "SELECT f('UPDATE t SET a = ''x''; DELETE FROM u')"
	at := strings.Index(file, "'")
	b := ReadText(Linear(file, 0), at, "UPDATE t SET a = 'x'; DELETE FROM u", nil)
	if b == nil || len(b.Stmts) != 2 {
		t.Fatalf("got %+v", b)
	}
	st := b.Stmts[1]
	if got := file[st.Src.At(st.Stmt.Start):st.Src.At(st.Stmt.End)]; got != "DELETE FROM u" {
		t.Errorf("second statement maps to %q", got)
	}
}

// FuzzReadText: any text handed as an argument is read without a crash,
// and its offsets lie in the literal.
func FuzzReadText(f *testing.F) {
	for _, s := range []string{"DROP TABLE t", "hello", "BEGIN; DELETE FROM t; COMMIT", "DO $$ BEGIN DROP TABLE t; END $$", "{\"a\":1}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := "'" + strings.ReplaceAll(s, "'", "''") + "'"
		file := "SELECT f(" + lit + ")"
		b := ReadText(Linear(file, 0), len("SELECT f("), s, nil)
		if b == nil {
			return
		}
		lo, hi := len("SELECT f("), len("SELECT f(")+len(lit)
		for _, st := range b.Stmts {
			for _, off := range []int{st.Src.At(st.Stmt.Start), st.Src.At(st.Stmt.End)} {
				if off < lo || off > hi {
					t.Fatalf("%q: offset %d outside the literal [%d,%d]", file, off, lo, hi)
				}
			}
		}
	})
}

// TestGuarded: statements a BEGIN ... EXCEPTION block protects are marked;
// those of its handlers, and outside it, are not.
func TestGuarded(t *testing.T) {
	const do = "DO $$ BEGIN ALTER TABLE a ADD x int; BEGIN ALTER TABLE b ADD y int; EXCEPTION WHEN duplicate_column THEN DROP TABLE c; END; END $$"
	tree, err := pg_query.Parse(do)
	if err != nil {
		t.Fatal(err)
	}
	b := Read(tree.GetStmts()[0].GetStmt(), Linear(do, 0))
	var got []string
	for _, st := range b.Stmts {
		got = append(got, fmt.Sprintf("%s:%v", st.Stmt.SQL, st.Guarded))
	}
	want := "ALTER TABLE a ADD x int:false ALTER TABLE b ADD y int:true DROP TABLE c:false"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}
