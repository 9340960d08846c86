package analyzer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
)

// bodyHistory is a goose history of procedural code whose bodies the
// catalog keeps and runs from later files: functions replaced by CREATE OR
// REPLACE with another body, one body text under two search paths and in
// two languages, SQL-language functions, trigger functions, DO blocks (one
// creating a function), IF branches the parse tree lists out of the file's
// order, comments inside bodies, functions in down parts, and calls of them
// all from later files, where the catalog's copy of each body is judged.
func bodyHistory() fstest.MapFS {
	files := []string{
		`CREATE TABLE accounts (id bigint PRIMARY KEY, email text, status text);
CREATE TABLE audit (id bigint, note text);
CREATE SCHEMA other;`,
		`CREATE FUNCTION purge(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF n > 0 THEN
    -- the old ones
    DELETE FROM audit;
  ELSE
    TRUNCATE audit;
  END IF;
END $$;
CREATE FUNCTION count_accounts() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM accounts';
SELECT purge(0);`,
		`CREATE OR REPLACE FUNCTION purge(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  /* replaced: drops a column now */
  ALTER TABLE accounts DROP COLUMN status;
END $$;
SELECT purge(1);`,
		`SET search_path TO other, public;
CREATE FUNCTION same_text() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM accounts; END $$;
RESET search_path;
CREATE FUNCTION same_text() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM accounts; END $$;
CREATE FUNCTION same_text_sql() RETURNS void LANGUAGE sql AS $$ DELETE FROM accounts; $$;
SELECT other.same_text();
SELECT same_text_sql();`,
		`CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN\n  INSERT INTO audit VALUES (NEW.id, ''x'');\n  UPDATE audit SET note = ''y'';\n  RETURN NEW;\nEND';
CREATE TRIGGER accounts_audit AFTER UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION audit_row();`,
		`DO $$
BEGIN
  CREATE FUNCTION made_in_do() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN DROP TABLE audit; END $f$;
  IF false THEN
    EXECUTE 'DROP TABLE accounts';
  ELSE
    UPDATE accounts SET email = lower(email);
  END IF;
END $$;
SELECT made_in_do();`,
		"-- +goose Up\nCREATE TABLE later (id int);\n-- +goose Down\n" +
			"CREATE FUNCTION in_down() RETURNS void LANGUAGE sql AS $$ DROP TABLE later; $$;\nSELECT in_down();\nDROP TABLE later;\n",
		`CREATE OR REPLACE FUNCTION count_accounts() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM accounts WHERE email IS NULL';
CREATE PROCEDURE atomic_proc() LANGUAGE sql BEGIN ATOMIC DELETE FROM later; END;
CALL atomic_proc();
SELECT count_accounts(), purge(2);`,
	}
	return gooseHistory(files)
}

// TestBodiesReadOnce: a run parses each body once, whether the file is
// judged (read with its parse, then handed to the catalog) or replayed
// (read by the catalog), with helpers parsing ahead and without. A BEGIN
// ATOMIC body is the exception: the catalog's reading of it deparses its
// parse tree, which the judged reading (from the text) cannot give.
func TestBodiesReadOnce(t *testing.T) {
	defer func(h int) { parseHelpers = h }(parseHelpers)
	head, base := bodyHistory(), fstest.MapFS{}
	var changed []string
	for name, f := range head {
		if name >= "db/migrations/00006" {
			changed = append(changed, name)
		} else {
			base[name] = f
		}
	}
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"whole history", Request{Head: head, Config: DefaultConfig()}},
		{"change against a base", Request{Base: base, Head: head, Changed: changed, Config: DefaultConfig()}},
	} {
		for _, helpers := range []int{-1, 1} {
			t.Run(fmt.Sprintf("%s, %d helpers", tc.name, helpers), func(t *testing.T) {
				parseHelpers = helpers
				var mu sync.Mutex
				reads := map[*pg_query.Node]int{}
				stop := plpgsql.OnRead(func(n *pg_query.Node) {
					mu.Lock()
					defer mu.Unlock()
					reads[n]++
				})
				rep, err := Analyze(context.Background(), tc.req)
				stop()
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Files) == 0 {
					t.Fatal("no file judged")
				}
				functions := 0
				for n, k := range reads {
					if cf := n.GetCreateFunctionStmt(); cf != nil {
						functions++
						if cf.GetSqlBody() != nil {
							continue
						}
					}
					if k != 1 {
						t.Errorf("read %d times: %s", k, deparseForTest(n))
					}
				}
				// 11 CREATE FUNCTION/PROCEDURE statements, one inside a DO block.
				if functions != 11 {
					t.Errorf("%d functions read, want 11", functions)
				}
			})
		}
	}
}

func deparseForTest(n *pg_query.Node) string {
	out, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: n}}})
	if err != nil {
		return err.Error()
	}
	return out
}

// TestBodyReuseSameReport: handing the catalog the bodies read for judging
// gives the report that letting it read each body again gives, byte for
// byte, for the whole history and for changes against a base; the
// history's calls, triggers and replaced functions are judged from the
// catalog's copies.
func TestBodyReuseSameReport(t *testing.T) {
	defer func(r bool) { reuseBodies = r }(reuseBodies)
	head := bodyHistory()
	for _, tc := range []struct {
		name    string
		changed []string
	}{
		{"whole history", nil},
		{"the calls changed", []string{"db/migrations/00004_step.sql", "db/migrations/00006_step.sql", "db/migrations/00008_step.sql"}},
		{"the replacement changed", []string{"db/migrations/00003_step.sql"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Head: head, Config: DefaultConfig()}
			if tc.changed != nil {
				req.Base, req.Changed = head, tc.changed
			}
			report := func(reuse bool) string {
				reuseBodies = reuse
				rep, err := Analyze(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				out, err := json.MarshalIndent(rep, "", " ")
				if err != nil {
					t.Fatal(err)
				}
				return string(out)
			}
			fresh, reused := report(false), report(true)
			if reused != fresh {
				t.Fatalf("the report differs when the catalog reuses the bodies read:\n%s\nreading them again:\n%s", reused, fresh)
			}
			// The catalog's copies were judged: at calls, and for a trigger.
			for _, want := range []string{"Calls public.purge() (created at", "Calls other.same_text() (created at", "Calls public.same_text_sql() (created at",
				"Calls public.made_in_do() (created at", "Trigger accounts_audit runs public.audit_row() (created at"} {
				if tc.changed == nil && !strings.Contains(fresh, want) {
					t.Errorf("the report never says %q: the catalog's bodies were not judged", want)
				}
			}
		})
	}
}
