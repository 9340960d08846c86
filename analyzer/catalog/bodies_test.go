package catalog

import (
	"maps"
	"reflect"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// TestApplyOwnReadSameCatalog: a catalog handed the bodies a caller read
// with the text (plpgsql.Body.Bare) ends as one that reads every body
// itself: the same objects, the same functions with equal bodies, and the
// same effects when later statements call them (the order of an IF's
// branches included: the catalog runs them in the parse tree's order).
func TestApplyOwnReadSameCatalog(t *testing.T) {
	script := `CREATE TABLE accounts (id bigint PRIMARY KEY, email text, status text);
CREATE SCHEMA other;
CREATE FUNCTION branches(x bool) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF x THEN
    CREATE TABLE z (a int);
  ELSE
    -- gone again
    DROP TABLE z;
  END IF;
END $$;
CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE accounts ADD COLUMN a int; END $$;
CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE accounts DROP COLUMN status; END $$;
CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE accounts DROP COLUMN email; END $$;
SET search_path TO other, public;
CREATE FUNCTION g() RETURNS void LANGUAGE sql AS $$ CREATE TABLE made_by_g (id int); $$;
RESET search_path;
CREATE FUNCTION g() RETURNS void LANGUAGE plpgsql AS $$ CREATE TABLE made_by_g (id int); $$;
CREATE FUNCTION h(n int) RETURNS void LANGUAGE sql AS 'CREATE TABLE h1 (id int); /* two */ CREATE TABLE h2 (id int)';
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN\n  UPDATE accounts SET email = ''x'';\n  RETURN NEW;\nEND';
CREATE TRIGGER t AFTER UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION trg();
CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC CREATE TABLE from_p (id int); END;
DO $$ BEGIN CREATE TABLE from_do (id int); END $$;
CREATE FUNCTION plperl() RETURNS void LANGUAGE plperl AS $$ 1 $$;
SELECT branches(true), f(), other.g(), h(1);
CALL p();
SELECT g();`
	sc := sqlscript.Split(script, 0, len(script))
	reading, reused := New(), New()
	handed := 0
	for _, st := range sc.Statements {
		if st.Node == nil {
			t.Fatalf("%s: %v", st.SQL, st.ParseError)
		}
		if st.Node.GetCreateFunctionStmt() == nil && st.Node.GetDoStmt() == nil {
			// Calls run the kept bodies, as replaying a later file does.
			reading.Apply(st.Node)
			reused.Apply(st.Node)
			continue
		}
		reading.ApplyOwn(st.Node)
		placed := plpgsql.Read(st.Node, plpgsql.Linear(script[st.LocationBase:st.End], st.LocationBase))
		if bare := placed.Bare(); bare != nil {
			handed++
			reused.ApplyOwnRead(st.Node, bare)
		} else {
			reused.ApplyOwnRead(st.Node, nil)
		}
	}
	if handed != 10 {
		t.Errorf("%d bodies handed over, want 10 (all but BEGIN ATOMIC)", handed)
	}
	if got, want := reused.Dump(), reading.Dump(); got != want {
		t.Fatalf("the catalogs differ:\n%s", lineDiff(want, got))
	}
	for _, name := range []string{"z", "made_by_g", "h1", "h2", "from_p"} {
		if reading.Table("public", name) == nil && reading.Table("other", name) == nil {
			t.Errorf("table %s missing: the bodies did not run", name)
		}
	}
	if !reflect.DeepEqual(maps.Collect(reused.triggerFuncs.All()), maps.Collect(reading.triggerFuncs.All())) {
		t.Errorf("trigger functions differ")
	}
	if reused.functions.Len() != reading.functions.Len() {
		t.Fatalf("%d functions, want %d", reused.functions.Len(), reading.functions.Len())
	}
	for q, list := range reading.functions.All() {
		got := reused.functions.Get(q)
		if len(got) != len(list) {
			t.Fatalf("function %v: %d overloads, want %d", q, len(got), len(list))
		}
		for i, f := range list {
			if g := got[i]; g.Schema != f.Schema || g.Name != f.Name || g.Signature != f.Signature || g.Origin != f.Origin ||
				g.stmt != f.stmt || !reflect.DeepEqual(g.Body, f.Body) {
				t.Errorf("function %v overload %d differs", q, i)
			}
		}
	}
}
