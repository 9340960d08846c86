package analyzer

import (
	"fmt"
	"strings"
	"testing"
)

// placed lists findings as "rule:severity@line:column" with the statement's
// own line, to check where inner statements are reported.
func placed(rep *Report) []string {
	var out []string
	for _, l := range rep.AllFindings() {
		if l.Statement == nil || l.Finding.Rule == ruleDownIncomplete.ID || l.Finding.Rule == ruleExistingRows.ID || l.Finding.Question == QLocks {
			continue
		}
		out = append(out, fmt.Sprintf("%s:%s@%d:%d", l.Finding.Rule, l.Finding.Severity, l.Finding.Marker.Line, l.Finding.Marker.Column))
	}
	return out
}

func TestProcedural(t *testing.T) {
	tests := []struct {
		name string
		up   string
		want []string
	}{
		{"DO block on one line", "DO $$ BEGIN ALTER TABLE customers DROP COLUMN email; END $$;",
			[]string{"drop-column:danger@2:13"}},
		{"DO block with a named tag and LANGUAGE", "DO LANGUAGE plpgsql $body$\nBEGIN\n  DELETE FROM orders;\nEND\n$body$;",
			[]string{"delete-without-where:danger@4:3"}},
		{"nested block, IF, LOOP and exception handler", `DO $$
DECLARE r record;
BEGIN
  IF (SELECT count(*) FROM orders) > 0 THEN
    LOOP
      TRUNCATE orders;
      EXIT;
    END LOOP;
  END IF;
  BEGIN
    UPDATE orders SET note = 'x' WHERE id = 1;
  EXCEPTION WHEN others THEN
    DROP TABLE customers CASCADE;
  END;
END $$;`, []string{"truncate:danger@7:16", "update-rows:danger@12:5", "drop-table:danger@14:5"}},
		{"EXECUTE of a constant", "DO $$ BEGIN EXECUTE 'ALTER TABLE customers DROP COLUMN name'; END $$;",
			[]string{"drop-column:danger@2:22"}},
		{"EXECUTE built at run time", "DO $$ DECLARE t text := 'customers'; BEGIN EXECUTE format('DROP TABLE %I', t); END $$;",
			[]string{"dynamic-sql:danger@2:52"}},
		{"EXECUTE of a concatenation", "DO $$ DECLARE t text := 'customers'; BEGIN EXECUTE 'DROP TABLE ' || t; END $$;",
			[]string{"dynamic-sql:danger@2:52"}},
		{"safe DO block", "DO $$ BEGIN ALTER TABLE orders ADD COLUMN IF NOT EXISTS paid_at timestamptz; END $$;", nil},
		{"DO block that does not parse", "DO $$ BEGIN DELET FROM orders; END $$;",
			[]string{"unreadable-body:danger@2:6"}},
		{"DO block in another language", "DO LANGUAGE plpython3u $$ plpy.execute('DROP TABLE orders') $$;",
			[]string{"unreadable-body:danger@2:26"}},
		{"quoted dollar tag inside the body", "DO $a$ BEGIN EXECUTE $x$DROP TABLE orders$x$; END $a$;",
			[]string{"drop-table:danger@2:25"}},
		{"body in single quotes", "DO 'BEGIN DELETE FROM orders WHERE note = ''x''; DELETE FROM customers; END';",
			[]string{"delete-rows:danger@2:11", "delete-without-where:danger@2:50"}},
		{"DO block that deletes some rows", "DO $$ BEGIN\n  DELETE FROM orders WHERE id > 0;\nEND $$;",
			[]string{"delete-rows:danger@3:3"}},
		{"DO block that updates some rows", "DO $$ BEGIN\n  UPDATE customers SET email = NULL WHERE id > 0;\nEND $$;",
			[]string{"update-rows:danger@3:3"}},
		{"function that deletes some rows, called", "CREATE FUNCTION purge() RETURNS void LANGUAGE sql AS 'DELETE FROM orders WHERE id > 0';\nSELECT purge();",
			[]string{"delete-rows:info@2:55", "delete-rows:danger@3:8"}},
		{"function created, not called", "CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  DELETE FROM orders;\nEND $$;",
			[]string{"delete-without-where:info@4:3"}},
		{"function created and called by SELECT", "CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  DELETE FROM orders;\nEND $$;\nSELECT purge();",
			[]string{"delete-without-where:info@4:3", "delete-without-where:danger@6:8"}},
		{"procedure called by CALL", "CREATE PROCEDURE wipe() LANGUAGE sql AS 'TRUNCATE customers CASCADE';\nCALL wipe();",
			[]string{"truncate:info@2:51", "truncate:danger@3:6"}},
		{"BEGIN ATOMIC body, called", "CREATE PROCEDURE wipe() LANGUAGE sql BEGIN ATOMIC\n  DELETE FROM orders;\nEND;\nCALL wipe();",
			[]string{"delete-without-where:info@3:3", "delete-without-where:danger@5:6"}},
		{"function called from a DO block by PERFORM", "CREATE FUNCTION purge() RETURNS void LANGUAGE sql AS 'DELETE FROM orders';\nDO $$ BEGIN PERFORM purge(); END $$;",
			[]string{"delete-without-where:info@2:55", "delete-without-where:danger@3:21"}},
		{"trigger installs the function", "CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM customers; RETURN NEW; END $$;\nCREATE TRIGGER t AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION trg();",
			[]string{"delete-without-where:info@2:68", "delete-without-where:danger@3:1"}},
		{"event trigger installs the function", "CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN TRUNCATE orders CASCADE; END $$;\nCREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION on_ddl();",
			[]string{"truncate:info@2:86", "truncate:danger@3:1"}},
		{"trigger on a function no migration created", "CREATE TRIGGER t AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit();", nil},
		{"function body that does not parse", "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELET FROM orders; END $$;",
			[]string{"unreadable-body:danger@2:56"}},
		{"dynamic SQL in an uncalled function", "CREATE FUNCTION f(t text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DROP TABLE ' || t; END $$;",
			[]string{"dynamic-sql:info@2:77"}},
		{"a name over 63 bytes in a DO block", "DO $$\nBEGIN\n  ALTER TABLE orders ADD COLUMN orders_customer_id_and_note_and_status_for_the_customer_overview_screen_idx text;\nEND $$;",
			[]string{"identifier-too-long:warning@4:33"}},
		{"a name over 63 bytes in a body in single quotes", "DO 'BEGIN ALTER TABLE orders ADD COLUMN orders_customer_id_and_note_and_status_for_the_customer_overview_screen_idx text; END';",
			[]string{"identifier-too-long:warning@2:41"}},
		{"a name over 63 bytes in a function, called", "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ ALTER TABLE orders ADD COLUMN orders_customer_id_and_note_and_status_for_the_customer_overview_screen_idx text $$;\nSELECT f();",
			[]string{"identifier-too-long:info@2:83", "identifier-too-long:warning@3:8"}},
		{"a name over 63 bytes in an expression", "DO $$ BEGIN PERFORM 1 AS orders_customer_id_and_note_and_status_for_the_customer_overview_screen_idx; END $$;",
			[]string{"identifier-too-long:warning@2:26"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(tc.up)}}.analyze(t)
			if g := placed(rep); strings.Join(g, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got  %v\nwant %v", g, tc.want)
				for _, st := range rep.Files[0].Statements {
					for _, f := range st.Findings {
						t.Logf("%d:%d %q %s: %s", st.Start.Line, st.Start.Column, st.SQL, f.Rule, f.Message)
					}
				}
			}
		})
	}
}

// TestProceduralSuppressions: an ignore comment before a DO block covers the
// statements it runs; one inside the body covers the statement after it.
func TestProceduralSuppressions(t *testing.T) {
	for _, tc := range []struct{ name, up string }{
		{"before the DO block", "-- migration-guard:ignore update-without-where reason=\"reset in #12\"\nDO $$ BEGIN UPDATE customers SET name = NULL; END $$;"},
		{"inside the body", "DO $$ BEGIN\n  -- migration-guard:ignore update-without-where reason=\"reset in #12\"\n  UPDATE customers SET name = NULL;\nEND $$;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(tc.up)}}.analyze(t)
			fd := findingOf(t, rep, ruleUpdateAll.ID)
			if fd.Suppressed == nil || fd.Suppressed.Reason != "reset in #12" {
				t.Errorf("not suppressed: %+v", fd)
			}
			for _, l := range rep.AllFindings() {
				if l.Finding.Rule == ruleUnusedSuppression.ID {
					t.Errorf("unused: %s", l.Finding.Message)
				}
			}
		})
	}
}

// TestProceduralFanOut: recursion is judged once, and a fan-out of calls
// stops at a budget with a finding, rather than taking forever.
func TestProceduralFanOut(t *testing.T) {
	rec := "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM orders; PERFORM f(); PERFORM f(); PERFORM f(); END $$;\nSELECT f();"
	rep := change{base: shopBase, changed: map[string]string{next: goose(rec)}}.analyze(t)
	if g := placed(rep); strings.Join(g, " ") != "delete-without-where:info@2:63 delete-without-where:danger@3:8" {
		t.Errorf("recursion: %v", g)
	}
	var b strings.Builder
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "CREATE FUNCTION f%d() RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE orders SET note = 'x' WHERE id = 1;", i)
		for k := 0; k < 6 && i < 8; k++ {
			fmt.Fprintf(&b, " PERFORM f%d();", i+1)
		}
		b.WriteString(" END $$;\n")
	}
	b.WriteString("SELECT f1();")
	rep = change{base: shopBase, changed: map[string]string{next: goose(b.String())}}.analyze(t)
	found := false
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleUnreadableBody.ID && l.Statement.Start.Line == 10 && l.Finding.RequiresApproval {
			found = true
		}
	}
	if !found {
		t.Errorf("fan-out past the budget must need approval: %v", placed(rep))
	}
}

// TestFunctionFromTheBase: a function an earlier migration created is
// judged where the change calls it, naming where it was created; in a down
// part, as any statement there, only whether it can run is judged.
func TestFunctionFromTheBase(t *testing.T) {
	base := map[string]string{}
	for k, v := range shopBase {
		base[k] = v
	}
	base["db/migrations/00001_purge.sql"] = goose("CREATE FUNCTION purge_orders() RETURNS void LANGUAGE sql AS 'DELETE FROM orders';")
	rep := change{base: base, changed: map[string]string{"db/migrations/00003_call.sql": goose("SELECT purge_orders();")}}.analyze(t)
	fd := findingOf(t, rep, ruleDeleteAll.ID)
	if fd.Severity != Danger || !fd.RequiresApproval || !strings.Contains(fd.Message, "created at db/migrations/00001_purge.sql)") || fd.Marker.Line != 2 {
		t.Errorf("%+v", fd)
	}
	down := "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT purge_orders();\n"
	rep = change{base: base, changed: map[string]string{"db/migrations/00003_call.sql": down}}.analyze(t)
	if rep.RequiresApproval() {
		t.Errorf("down part: %v", got(rep))
	}
}

// TestProceduralEvasions: ways to run a body without it being judged where
// it runs.
func TestProceduralEvasions(t *testing.T) {
	tests := []struct {
		name string
		up   string
		want []string
	}{
		{"overload: the call runs every body of that name",
			"CREATE FUNCTION f(a int) RETURNS void LANGUAGE sql AS 'SELECT 1';\nCREATE FUNCTION f(a text) RETURNS void LANGUAGE sql AS 'DELETE FROM orders';\nSELECT f('x');",
			[]string{"delete-without-where:info@3:57", "delete-without-where:danger@4:8"}},
		{"rename, then call the new name",
			"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM orders';\nALTER FUNCTION f() RENAME TO g;\nSELECT g();",
			[]string{"delete-without-where:info@2:51", "rename-object:warning@3:1", "delete-without-where:danger@4:8"}},
		{"move to another schema, then call it there",
			"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM orders';\nALTER FUNCTION f SET SCHEMA reporting;\nSELECT reporting.f();",
			[]string{"delete-without-where:info@2:51", "delete-without-where:danger@4:8"}},
		{"dropped overload no longer runs",
			"CREATE FUNCTION f(a int) RETURNS void LANGUAGE sql AS 'SELECT 1';\nCREATE FUNCTION f(a text) RETURNS void LANGUAGE sql AS 'DELETE FROM orders';\nDROP FUNCTION f(text);\nSELECT f(1);",
			[]string{"delete-without-where:info@3:57", "drop-object:warning@4:1"}},
		{"dblink runs SQL text elsewhere", "SELECT dblink_exec('dbname=shop', 'DROP TABLE orders');",
			[]string{"dynamic-sql:danger@2:8"}},
		{"dblink in an assignment of a DO block", "DO $$ DECLARE r text; BEGIN r := dblink_exec('dbname=shop', 'DROP TABLE orders'); END $$;",
			[]string{"dynamic-sql:danger@2:34"}},
		{"dblink in a condition of a DO block", "DO $$ BEGIN IF dblink_exec('dbname=shop', 'DROP TABLE orders') = 'OK' THEN NULL; END IF; END $$;",
			[]string{"dynamic-sql:danger@2:16"}},
		{"SQL text handed, in an assignment, to a function no migration defines",
			"DO $$ DECLARE r text; BEGIN r := run_migration('DROP TABLE orders'); END $$;",
			[]string{"drop-table:danger@2:49"}},
		{"a new column's default calls the function",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nALTER TABLE customers ADD COLUMN x int DEFAULT f();",
			[]string{"delete-without-where:info@2:50", "delete-without-where:danger@3:48"}},
		// Stored code (a view, a default, a constraint, a policy, a rule, a
		// trigger's WHEN) runs the function whenever the object is used,
		// with no call written there: judged where it is installed.
		{"a view runs the function on every read", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nCREATE VIEW v AS SELECT f();",
			[]string{"delete-without-where:info@2:50", "delete-without-where:danger@3:25"}},
		{"a new table's default runs the function on every insert",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nCREATE TABLE audit (id int, x int DEFAULT f());",
			[]string{"delete-without-where:info@2:50", "delete-without-where:danger@3:43"}},
		{"a new table's CHECK runs the function on every row written",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nCREATE TABLE audit (id int CHECK (f() = 1));",
			[]string{"delete-without-where:info@2:50", "delete-without-where:danger@3:35"}},
		{"a domain's CHECK runs the function on every value",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nCREATE DOMAIN d AS int CHECK (f() = 1);",
			[]string{"delete-without-where:info@2:50", "delete-without-where:danger@3:31"}},
		{"a policy runs the function on every row it checks",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nCREATE POLICY p ON customers USING (f() = 1);",
			[]string{"delete-without-where:info@2:50", "enable-row-level-security:warning@3:1", "delete-without-where:danger@3:37"}},
		{"a rule's action calls the function",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nCREATE RULE r AS ON INSERT TO customers DO ALSO SELECT f();",
			[]string{"delete-without-where:info@2:50", "delete-without-where:danger@3:56"}},
		{"a trigger's WHEN calls the function",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\n" +
				"CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n" +
				"CREATE TRIGGER tr BEFORE INSERT ON customers FOR EACH ROW WHEN (f() = 1) EXECUTE FUNCTION t();",
			[]string{"delete-without-where:info@2:50", "delete-without-where:danger@4:65"}},
		{"an aggregate's state function runs on every use of the aggregate",
			"CREATE FUNCTION f(int, int) RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nCREATE AGGREGATE agg(int) (sfunc = f, stype = int);",
			[]string{"delete-without-where:info@2:58", "delete-without-where:danger@3:36"}},
		{"an operator's function runs on every use of the operator",
			"CREATE FUNCTION f(int, int) RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nCREATE OPERATOR === (leftarg = int, rightarg = int, function = f);",
			[]string{"delete-without-where:info@2:58", "delete-without-where:danger@3:64"}},
		{"a cast's function runs on every value cast",
			"CREATE FUNCTION f(text) RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';\nCREATE CAST (text AS int) WITH FUNCTION f(text);",
			[]string{"delete-without-where:info@2:54", "delete-without-where:danger@3:1"}},
		{"an aggregate of built-in functions runs nothing of the migrations'",
			"CREATE AGGREGATE agg(int) (sfunc = int4pl, stype = int);",
			nil},
		{"replacing the body of a function a view calls",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\nCREATE VIEW v AS SELECT f();\n" +
				"CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';",
			[]string{"delete-without-where:danger@4:61"}},
		{"renaming a view's function, then replacing it under its new name",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\nCREATE VIEW v AS SELECT f();\nALTER FUNCTION f() RENAME TO g;\n" +
				"CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';",
			[]string{"rename-object:warning@4:1", "delete-without-where:danger@5:61"}},
		{"replacing a function that a trigger's function calls",
			"CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1';\n" +
				"CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM g(); RETURN NEW; END $$;\n" +
				"CREATE TRIGGER a AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit();\n" +
				"CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql AS 'DELETE FROM customers RETURNING 1';",
			[]string{"delete-without-where:danger@5:61"}},
		{"replacing a function nothing installed calls stays information",
			"CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1';\n" +
				"CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql AS 'DELETE FROM customers RETURNING 1';",
			[]string{"delete-without-where:info@3:61"}},
		{"replacing the body of a trigger's function",
			"CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\nCREATE TRIGGER a AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit();\n" +
				"CREATE OR REPLACE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM customers; RETURN NEW; END $$;",
			[]string{"delete-without-where:danger@4:81"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(tc.up)}}.analyze(t)
			if g := placed(rep); strings.Join(g, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got  %v\nwant %v", g, tc.want)
				for _, st := range rep.Files[0].Statements {
					for _, f := range st.Findings {
						t.Logf("%d:%d %q %s: %s", st.Start.Line, st.Start.Column, st.SQL, f.Rule, f.Message)
					}
				}
			}
		})
	}
}

// TestCalledRepeatsFold: a function that runs the same built-at-run-time
// statement once per value, called once, is one finding on the call that
// says how often it runs, at the strongest severity; different statements
// stay apart.
func TestCalledRepeatsFold(t *testing.T) {
	sql := "CREATE FUNCTION part(t text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('DROP TABLE IF EXISTS %I', t); END $$;\n" +
		"CREATE FUNCTION parts() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM part('a'); PERFORM part('b'); PERFORM part('c'); DELETE FROM orders; END $$;\n" +
		"SELECT parts();"
	rep := change{base: shopBase, changed: map[string]string{next: goose(sql)}}.analyze(t)
	var dynamic, deletes []Finding
	for _, l := range rep.AllFindings() {
		if l.Statement.Start.Line != 4 {
			continue
		}
		switch l.Finding.Rule {
		case ruleDynamicSQL.ID:
			dynamic = append(dynamic, *l.Finding)
		case "delete-without-where":
			deletes = append(deletes, *l.Finding)
		}
	}
	if len(dynamic) != 1 || !strings.HasSuffix(dynamic[0].Message, "(runs 3 times)") || !dynamic[0].RequiresApproval {
		t.Errorf("want one dynamic-sql finding that runs 3 times and needs approval, got %+v", dynamic)
	}
	if len(deletes) != 1 || strings.Contains(deletes[0].Message, "times)") {
		t.Errorf("the DELETE is another statement: one finding of its own, got %+v", deletes)
	}
}
