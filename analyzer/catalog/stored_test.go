package catalog

import (
	"fmt"
	"testing"
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
