package analyzer

import (
	"strings"
	"testing"
)

// TestDestructiveFunctions: a built-in function that destroys data is a
// danger wherever the migration runs it, and information in a body that
// only runs when called.
func TestDestructiveFunctions(t *testing.T) {
	tests := []struct {
		name string
		up   string
		want []string
	}{
		{"lo_unlink in a query", "SELECT lo_unlink(oid) FROM pg_largeobject_metadata;",
			[]string{"destructive-function:danger@2:8"}},
		{"schema-qualified built-in", "SELECT pg_catalog.lo_unlink(42);",
			[]string{"destructive-function:danger@2:8"}},
		{"a function of another schema is not the built-in", "SELECT reporting.lo_unlink(42);",
			nil},
		{"replication slot dropped", "SELECT pg_drop_replication_slot('debezium');",
			[]string{"destructive-function:danger@2:8"}},
		{"slot changes consumed", "SELECT count(*) FROM pg_logical_slot_get_changes('cdc', NULL, NULL);",
			[]string{"destructive-function:danger@2:22"}},
		{"in an assignment of a DO block", "DO $$ DECLARE r int; BEGIN r := lo_unlink(42); END $$;",
			[]string{"destructive-function:danger@2:33"}},
		{"in a function body only created", "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM lo_unlink(42); END $$;",
			[]string{"destructive-function:info@2:71"}},
		{"in a function body, at its call",
			"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM lo_unlink(42); END $$;\nSELECT f();",
			[]string{"destructive-function:info@2:71", "destructive-function:danger@3:8"}},
		{"lo_import only reads", "SELECT lo_import('/tmp/x');",
			nil},
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
