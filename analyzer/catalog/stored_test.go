package catalog

import (
	"fmt"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/internal/repotext"
)

// TestRunsStoredKeepsCalls: what installed code runs, asked after each
// step of a history in which functions call functions created later,
// are replaced, and come to be called through a trigger, is the same
// whether the names each body calls are kept between questions (as a
// catalog and its copies keep them) or looked for at each question.
func TestRunsStoredKeepsCalls(t *testing.T) {
	steps := []string{
		"CREATE TABLE t (id int); CREATE FUNCTION a() RETURNS int LANGUAGE sql AS 'SELECT b() + s.c()';",
		"CREATE FUNCTION b() RETURNS int LANGUAGE sql AS 'SELECT 1';",
		"CREATE VIEW v AS SELECT a();",
		"CREATE SCHEMA s; CREATE FUNCTION s.c() RETURNS int LANGUAGE plpgsql AS $$ BEGIN CALL p(); RETURN 1; END $$;",
		"CREATE OR REPLACE FUNCTION b() RETURNS int LANGUAGE sql AS 'SELECT d()';",
		"CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM e(); RETURN NEW; END $$;" +
			"CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();",
		"CREATE OR REPLACE FUNCTION a() RETURNS int LANGUAGE sql AS 'SELECT 2';",
	}
	names := [][]string{{"a"}, {"b"}, {"s", "c"}, {"p"}, {"d"}, {"e"}, {"trg"}, {"public", "b"}, {"nothing"}}
	kept, fresh := New(), New()
	fresh.calls = nil
	seen := 0
	for i, step := range steps {
		mustApply(t, kept, step)
		mustApply(t, fresh, step)
		// A copy shares what its catalog kept.
		for _, c := range []*Catalog{kept, kept.Clone()} {
			for _, name := range names {
				use, through, ok := c.RunsStored(name)
				wantUse, wantThrough, wantOK := fresh.RunsStored(name)
				got, want := fmt.Sprint(use, through, ok), fmt.Sprint(wantUse, wantThrough, wantOK)
				if got != want {
					t.Errorf("after step %d, %v: %s, want %s", i+1, name, got, want)
				}
				if ok && through != "" {
					seen++
				}
			}
		}
	}
	if len(kept.calls.byBody) == 0 || seen == 0 {
		t.Errorf("%d bodies' calls kept, %d answers through other functions: the history follows none", len(kept.calls.byBody), seen)
	}
}

// runsStoredAsBefore is RunsStored as it was written before its search
// kept steps instead of paths: a queue of steps each carrying the path to
// it as text. TestRunsStoredAsBefore holds RunsStored to it.
func (c *Catalog) runsStoredAsBefore(parts []string) (use StoredUse, through string, ok bool) {
	if len(parts) == 0 {
		return StoredUse{}, "", false
	}
	target := qname{c.creationSchema(), parts[len(parts)-1]}
	if len(parts) > 1 {
		target = qname{parts[len(parts)-2], parts[len(parts)-1]}
	}
	if u, found := c.storedFuncs.Lookup(target); found {
		return u, "", true
	}
	type step struct {
		q       qname
		root    StoredUse
		through string
	}
	var queue []step
	for q, u := range c.storedFuncs.All() {
		queue = append(queue, step{q, u, ""})
	}
	for q, on := range c.triggerFuncs.All() {
		if on {
			queue = append(queue, step{q, StoredUse{"a trigger", "on every change it fires on"}, ""})
		}
	}
	seen := map[qname]bool{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s.q] {
			continue
		}
		seen[s.q] = true
		if s.q == target && s.through != "" {
			return s.root, s.through, true
		}
		for _, f := range c.functions.Get(s.q) {
			if f.Body == nil {
				continue
			}
			through := f.QualifiedName() + "()"
			if s.through != "" {
				through = s.through + ", " + through
			}
			for _, parts := range c.calls.of(f.Body) {
				called := c.FunctionsByName(parts)
				for _, g := range called {
					queue = append(queue, step{qname{g.Schema, g.Name}, s.root, through})
				}
				if len(parts) > 0 && len(called) == 0 {
					q := qname{c.creationSchema(), parts[len(parts)-1]}
					if len(parts) > 1 {
						q = qname{parts[len(parts)-2], parts[len(parts)-1]}
					}
					queue = append(queue, step{q, s.root, through})
				}
			}
		}
	}
	return StoredUse{}, "", false
}

// TestRunsStoredQueuesOnce: RunsStored, which queues each name once, says
// what the former search (runsStoredAsBefore), queuing every step, said after each step of a history where
// functions reach others by several paths of the same and of different
// lengths (the first found is named), call themselves and each other, call
// functions not created yet, and are run by views, defaults and triggers.
func TestRunsStoredQueuesOnce(t *testing.T) {
	steps := []string{
		"CREATE TABLE t (id int); CREATE FUNCTION a() RETURNS int LANGUAGE sql AS 'SELECT b() + c() + now()::int + coalesce(1, 2)';",
		"CREATE FUNCTION b() RETURNS int LANGUAGE sql AS 'SELECT d() + d() + e()';",
		"CREATE FUNCTION c() RETURNS int LANGUAGE sql AS 'SELECT e() + d()';",
		"CREATE VIEW v AS SELECT a();",
		"CREATE FUNCTION d() RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM d(); PERFORM f(); RETURN 1; END $$;",
		"CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM c(); PERFORM g(); RETURN NEW; END $$;" +
			"CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();",
		"CREATE FUNCTION e() RETURNS int LANGUAGE sql AS 'SELECT f() + g() + a()';",
		"CREATE TABLE u (id int DEFAULT g()); CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT h()';",
		"CREATE OR REPLACE FUNCTION b() RETURNS int LANGUAGE sql AS 'SELECT h() + f()';",
	}
	names := [][]string{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}, {"f"}, {"g"}, {"h"}, {"trg"}, {"public", "f"}, {"nothing"}}
	c := New()
	through := 0
	for i, step := range steps {
		mustApply(t, c, step)
		for _, name := range names {
			use, th, ok := c.RunsStored(name)
			wantUse, wantThrough, wantOK := c.runsStoredAsBefore(name)
			got, want := fmt.Sprint(use, th, ok), fmt.Sprint(wantUse, wantThrough, wantOK)
			if got != want {
				t.Errorf("after step %d, %v: %s, want %s", i+1, name, got, want)
			}
			if ok && th != "" {
				through++
			}
		}
	}
	if through < 10 {
		t.Errorf("%d answers through other functions, want many", through)
	}
}

// TestRunsStoredAsBefore: RunsStored gives the answers of the search it
// replaced (runsStoredAsBefore), root, path and all, for every function
// name the catalog knows and every name a body calls, after each
// statement of each history: table cases whose answers go through one,
// two and three functions, under a search path naming "$user", and every
// .sql file of the repository, replayed in turn into one catalog. It
// fails when the paths differ, or when the histories lead to no answer
// through two functions or more (the test would then hold little).
func TestRunsStoredAsBefore(t *testing.T) {
	cases := []struct{ name, sql string }{
		{"chain of three", `CREATE TABLE t (id int);
			CREATE FUNCTION a() RETURNS int LANGUAGE sql AS 'SELECT b()';
			CREATE FUNCTION b() RETURNS int LANGUAGE sql AS 'SELECT s.c() + d()';
			CREATE SCHEMA s;
			CREATE FUNCTION s.c() RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM e(); RETURN 1; END $$;
			CREATE VIEW v AS SELECT a();
			CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM b(); PERFORM f(1); RETURN NEW; END $$;
			CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
			CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT g()';
			CREATE FUNCTION f(text) RETURNS int LANGUAGE sql AS 'SELECT h()';
			CREATE OR REPLACE FUNCTION a() RETURNS int LANGUAGE sql AS 'SELECT 2';`},
		{"user schema", `CREATE SCHEMA app; SET ROLE app; SET search_path = "$user", public;
			CREATE TABLE t (id int DEFAULT k());
			CREATE FUNCTION k() RETURNS int LANGUAGE sql AS 'SELECT m() + public.n()';
			CREATE FUNCTION m() RETURNS int LANGUAGE sql AS 'SELECT o()';`},
	}
	deep := 0
	check := func(t *testing.T, c *Catalog, where string) {
		var names [][]string
		for q, fs := range c.functions.All() {
			names = append(names, []string{q.name}, []string{q.schema, q.name})
			for _, f := range fs {
				if f.Body != nil {
					names = append(names, c.calls.of(f.Body)...)
				}
			}
		}
		names = append(names, nil, []string{"nothing"})
		for _, name := range names {
			use, through, ok := c.RunsStored(name)
			wantUse, wantThrough, wantOK := c.runsStoredAsBefore(name)
			if use != wantUse || through != wantThrough || ok != wantOK {
				t.Errorf("%s, %v: %v %q %v, want %v %q %v", where, name, use, through, ok, wantUse, wantThrough, wantOK)
			}
			if strings.Contains(through, ", ") {
				deep++
			}
		}
	}
	replay := func(t *testing.T, c *Catalog, path, sql string) {
		res, err := pgtree.Parse(sql)
		if err != nil {
			return // not SQL the parser reads: nothing to replay
		}
		for i, rs := range res.GetStmts() {
			c.SetPosition(path, i+1)
			c.Apply(rs.GetStmt())
			check(t, c, fmt.Sprintf("%s, statement %d", path, i+1))
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { replay(t, New(), tc.name, tc.sql) })
	}
	c := New()
	for _, f := range repotext.SQL(t) {
		c.ResetSession()
		replay(t, c, f.Path, f.Text)
	}
	if deep == 0 {
		t.Error("no answer went through two functions or more: the histories hold too little")
	}
}
