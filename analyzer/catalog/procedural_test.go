package catalog

import "testing"

// TestProceduralReplay: the statements a DO block runs, and those of a
// migration-created function where it is called, change the schema like
// any statement; a function that is only created, or only installed by a
// trigger, changes nothing yet.
func TestProceduralReplay(t *testing.T) {
	cases := []struct{ name, sql, want string }{
		{"do block", `CREATE TABLE t (id int, email text);
			DO $$ BEGIN ALTER TABLE t DROP COLUMN email; END $$;`, `
		table public.t
		  column id integer`},
		{"nested block, if and exception handler", `CREATE TABLE t (id int);
			DO $$ BEGIN
			  IF true THEN
			    BEGIN
			      ALTER TABLE t ADD COLUMN a int;
			    EXCEPTION WHEN others THEN
			      ALTER TABLE t ADD COLUMN b int;
			    END;
			  END IF;
			END $$;`, `
		table public.t
		  column id integer
		  column a integer
		  column b integer`},
		{"execute of a constant", `CREATE TABLE t (id int);
			DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD COLUMN c text'; END $$;`, `
		table public.t
		  column id integer
		  column c text`},
		{"function created, never called", `CREATE TABLE t (id int);
			CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t; END $$;`, `
		table public.t
		  column id integer`},
		{"function called by SELECT", `CREATE TABLE t (id int);
			CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t; END $$;
			SELECT f();`, ``},
		{"procedure called by CALL, sql body", `CREATE TABLE t (id int);
			CREATE PROCEDURE p() LANGUAGE sql AS 'ALTER TABLE t ADD COLUMN x int';
			CALL p();`, `
		table public.t
		  column id integer
		  column x integer`},
		{"begin atomic body", `CREATE TABLE t (id int);
			CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END;
			CALL p();`, `
		table public.t
		  column id integer`},
		{"called from a DO block, through PERFORM and assignment", `CREATE TABLE t (id int);
			CREATE FUNCTION add_a() RETURNS int LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE t ADD COLUMN a int; RETURN 1; END $$;
			CREATE FUNCTION add_b() RETURNS int LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE t ADD COLUMN b int; RETURN 1; END $$;
			DO $$ DECLARE n int; BEGIN PERFORM add_a(); n := add_b(); END $$;`, `
		table public.t
		  column id integer
		  column a integer
		  column b integer`},
		{"trigger installs, runs nothing now", `CREATE TABLE t (id int);
			CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t; RETURN NULL; END $$;
			CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();`, `
		table public.t
		  column id integer`},
		{"dropped function is forgotten", `CREATE TABLE t (id int);
			CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t; END $$;
			DROP FUNCTION f();
			SELECT f();`, `
		table public.t
		  column id integer`},
		{"renamed and moved function runs under its new name", `CREATE TABLE t (id int);
			CREATE SCHEMA s;
			CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'ALTER TABLE t ADD COLUMN x int';
			ALTER FUNCTION f() RENAME TO g;
			ALTER FUNCTION g SET SCHEMA s;
			SELECT f();
			SELECT s.g();`, `
		schema s
		table public.t
		  column id integer
		  column x integer`},
		{"every overload runs", `CREATE TABLE t (id int);
			CREATE FUNCTION f(a int) RETURNS void LANGUAGE sql AS 'ALTER TABLE t ADD COLUMN x int';
			CREATE FUNCTION f(a text) RETURNS void LANGUAGE sql AS 'ALTER TABLE t ADD COLUMN y int';
			CREATE OR REPLACE FUNCTION f(b integer) RETURNS void LANGUAGE sql AS 'ALTER TABLE t ADD COLUMN z int';
			SELECT f(1);`, `
		table public.t
		  column id integer
		  column y integer
		  column z integer`},
		{"recursion stops", `CREATE TABLE t (id int);
			CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE t ADD COLUMN IF NOT EXISTS r int; PERFORM f(); END $$;
			SELECT f();`, `
		table public.t
		  column id integer
		  column r integer`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := modelText(build(t, tc.sql))
			want := trimIndent(tc.want)
			if tc.want == "" {
				want = ""
			}
			if got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestApplyOwn: the caller that applies a DO block's statements itself
// must not see them applied twice.
func TestApplyOwn(t *testing.T) {
	c := build(t, `CREATE TABLE t (id int);
		CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t; END $$;`)
	c.ApplyOwn(parseOne(t, `DO $$ BEGIN DROP TABLE t; END $$`))
	c.ApplyOwn(parseOne(t, `SELECT f()`))
	if c.Table("", "t") == nil {
		t.Fatal("ApplyOwn ran procedural code")
	}
	if calls := c.Calls(parseOne(t, `SELECT 1 FROM (SELECT f()) s`)); len(calls) != 1 || calls[0].Function.Name != "f" {
		t.Fatalf("calls: %+v", calls)
	}
	if calls := c.Calls(parseOne(t, `CREATE VIEW v AS SELECT f()`)); len(calls) != 0 {
		t.Fatalf("a view definition calls nothing: %+v", calls)
	}
}
