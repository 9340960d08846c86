package analyzer

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// touchBody is a trigger function's body that the history below creates
// again and again, as histories that re-create their functions in up and
// down parts do; an ignore comment inside it is found at each place.
const touchBody = `$$
BEGIN
  NEW.status := 'touched';
  -- migration-guard:ignore delete-without-where reason="audit reset"
  DELETE FROM audit;
  IF NEW.email IS NULL THEN
    UPDATE audit SET note = 'no email';
  END IF;
  RETURN NEW;
END $$`

// repeatedBodies is a goose history whose procedural code comes back with
// the same text at other places: a trigger function replaced by another
// body and back, in up and down parts; the same DO block (with EXECUTE of a
// constant, and one creating a function) in several files; one body text
// in LANGUAGE sql and plpgsql, and with and without OUT parameters; and a
// quoted body with escapes (read afresh each time).
func repeatedBodies() fstest.MapFS {
	touch := "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS " + touchBody + ";\n"
	do := "DO $$\nBEGIN\n  UPDATE accounts SET status = 'x' WHERE id > 0;\n  EXECUTE 'DROP TABLE audit';\nEND $$;\n"
	maker := "DO $$ BEGIN CREATE OR REPLACE FUNCTION made() RETURNS void LANGUAGE sql AS $f$ DELETE FROM audit $f$; END $$;\nSELECT made();\n"
	quoted := "CREATE OR REPLACE FUNCTION q() RETURNS void LANGUAGE sql AS E'DELETE FROM audit\\nWHERE note = ''x''';\nSELECT q();\n"
	files := []string{
		"-- +goose Up\nCREATE TABLE accounts (id bigint PRIMARY KEY, email text, status text);\nCREATE TABLE audit (id bigint, note text);\n" + touch +
			"CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION touch();\n" +
			"-- +goose Down\nDROP TRIGGER accounts_touch ON accounts;\nDROP FUNCTION touch();\nDROP TABLE audit;\nDROP TABLE accounts;\n",
		"-- +goose Up\nCREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN TRUNCATE audit; RETURN NEW; END $$;\n" +
			"UPDATE accounts SET email = NULL WHERE id = 1;\n-- +goose Down\n" + touch,
		"-- +goose Up\n" + do + touch + "UPDATE accounts SET email = NULL WHERE id = 2;\n" + quoted + "-- +goose Down\n" + do,
		"-- +goose Up\n" + maker + do + quoted + "-- +goose Down\n" + maker + "DROP FUNCTION made();\n",
		"-- +goose Up\n" + maker + touch +
			"CREATE FUNCTION same_sql() RETURNS void LANGUAGE sql AS $$ DELETE FROM audit; $$;\n" +
			"CREATE FUNCTION same_pl() RETURNS void LANGUAGE plpgsql AS $$ DELETE FROM audit; $$;\n" +
			"CREATE FUNCTION rows_out(OUT n int) RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN n := 1; RETURN NEXT; END $$;\n" +
			"CREATE FUNCTION rows_in() RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN n := 1; RETURN NEXT; END $$;\n" +
			"SELECT same_sql(), same_pl();\n",
	}
	return gooseHistory(files)
}

// TestBodyMemoSameReport: with the run's memo of the bodies read, the
// report is the one reading every body afresh gives, byte for byte, for
// the whole history and for a change against a base, with helpers parsing
// ahead and without; the memo did hand bodies out again; and after the
// run, every parse tree it handed out is still what parsing its text
// gives: no rule changed a tree that several bodies share.
func TestBodyMemoSameReport(t *testing.T) {
	defer func(h int) { parseHelpers = h }(parseHelpers)
	defer func(f func() *plpgsql.Memo) { newBodyMemo = f }(newBodyMemo)
	histories := []struct {
		name string
		head fstest.MapFS
	}{{"repeated bodies", repeatedBodies()}, {"body history", bodyHistory()}}
	for _, h := range histories {
		base := fstest.MapFS{}
		var changed []string
		for name, f := range h.head {
			if name < "db/migrations/00003" {
				base[name] = f
			} else {
				changed = append(changed, name)
			}
		}
		for _, tc := range []struct {
			name string
			req  Request
		}{
			{"whole history", Request{Head: h.head, Config: DefaultConfig()}},
			{"change against a base", Request{Base: base, Head: h.head, Changed: changed, Config: DefaultConfig()}},
		} {
			for _, helpers := range []int{-1, 1} {
				t.Run(fmt.Sprintf("%s, %s, %d helpers", h.name, tc.name, helpers), func(t *testing.T) {
					parseHelpers = helpers
					var mu sync.Mutex
					var memos []*plpgsql.Memo
					report := func(memo func() *plpgsql.Memo) string {
						newBodyMemo = memo
						rep, err := Analyze(context.Background(), tc.req)
						if err != nil {
							t.Fatal(err)
						}
						out, err := json.MarshalIndent(rep, "", " ")
						if err != nil {
							t.Fatal(err)
						}
						return string(out)
					}
					fresh := report(func() *plpgsql.Memo { return nil })
					kept := report(func() *plpgsql.Memo {
						mu.Lock()
						defer mu.Unlock()
						m := plpgsql.NewMemo()
						memos = append(memos, m)
						return m
					})
					if kept != fresh {
						t.Fatalf("the report differs with the memo:\n%s\nreading every body afresh:\n%s", kept, fresh)
					}
					reused, trees := 0, 0
					for _, m := range memos {
						reused += m.Reused()
						trees += checkKeptTrees(t, m)
					}
					t.Logf("%d bodies handed out again, %d parse trees compared", reused, trees)
					if h.name == "repeated bodies" && reused < 5 {
						t.Errorf("the memo handed out %d bodies again, want at least 5", reused)
					}
					if trees == 0 {
						t.Error("the memo kept no parse tree")
					}
				})
			}
		}
	}
}

// checkKeptTrees compares every parse tree m keeps with a fresh parse of
// the text it was parsed from, as plpgsql reads each kind, and returns how
// many it compared.
func checkKeptTrees(t *testing.T, m *plpgsql.Memo) int {
	t.Helper()
	n := 0
	for _, stmts := range m.Kept() {
		for _, s := range stmts {
			got, want := s.Stmt.Node, (*pg_query.Node)(nil)
			switch s.Kind {
			case plpgsql.Statement:
				for _, st := range sqlscript.Split(s.Src.Text, 0, len(s.Src.Text)).Statements {
					if st.Start == s.Stmt.Start {
						want = st.Node
					}
				}
			case plpgsql.Expression:
				want = firstStatement(t, "SELECT "+s.Stmt.SQL)
			case plpgsql.Dynamic:
				got = s.Built
				if sel := firstStatement(t, "SELECT "+s.Src.Text).GetSelectStmt(); sel != nil {
					want = sel.GetTargetList()[0].GetResTarget().GetVal()
					for want.GetTypeCast() != nil {
						want = want.GetTypeCast().GetArg()
					}
				}
			}
			if got == nil {
				continue
			}
			n++
			if !proto.Equal(got, want) {
				t.Errorf("a parse tree the memo handed out changed: %q\n%v\nwant\n%v", s.Stmt.SQL, got, want)
			}
		}
	}
	return n
}

func firstStatement(t *testing.T, sql string) *pg_query.Node {
	t.Helper()
	tree, err := pgtree.Parse(sql)
	if err != nil || len(tree.GetStmts()) == 0 {
		t.Fatalf("%q: %v", sql, err)
	}
	return tree.GetStmts()[0].GetStmt()
}
