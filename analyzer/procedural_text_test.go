package analyzer

import (
	"strings"
	"testing"
)

// TestSQLTextArguments: SQL text handed as a string constant to a function
// no migration defines is judged as if the function runs it, at its place in
// the file; strings that are not statements, and PostgreSQL's own
// functions, are left alone.
func TestSQLTextArguments(t *testing.T) {
	tests := []struct {
		name string
		up   string
		want []string
	}{
		{"dollar-quoted DDL to an unknown function", "SELECT run_migration(1, $$\n    ALTER TABLE customers DROP COLUMN email;\n$$);",
			[]string{"drop-column:danger@3:5"}},
		{"several statements, single-quoted", "SELECT run_migration(2, 'DELETE FROM orders; DROP TABLE customers CASCADE');",
			[]string{"delete-without-where:danger@2:26", "drop-table:danger@2:46"}},
		{"schema-qualified unknown function, CALL", "CALL ops.apply('TRUNCATE orders');",
			[]string{"truncate:danger@2:26"}},
		{"a table created in the text is new afterwards", "SELECT run_migration(3, $$CREATE TABLE tmp (id int);$$);\nDROP TABLE tmp;",
			[]string{"drop-table:info@3:1"}},
		{"a single SELECT gives only what rules give a SELECT", "SELECT run_migration(4, 'SELECT id FROM orders');", nil},
		{"an ordinary string", "SELECT log_event('hello');", nil},
		{"a string of words that is not SQL", "SELECT log_event('drop everything now');", nil},
		{"a JSON literal", `SELECT log_event('{"drop": "table customers"}');`, nil},
		{"looks like SQL but does not parse", "SELECT run_migration(5, 'DROP TABLE customers WHERE id = 1');", nil},
		{"transaction control only", "SELECT log_event('commit work');", nil},
		{"a built-in function: its text is not run", "SELECT length('DROP TABLE customers');", nil},
		{"a qualified built-in", "SELECT pg_catalog.quote_literal('DELETE FROM orders');", nil},
		{"a function a migration defines is judged by its body, not its argument",
			"CREATE FUNCTION run_migration(n int, s text) RETURNS void LANGUAGE sql AS 'SELECT 1';\nSELECT run_migration(1, 'DROP TABLE customers');", nil},
		{"in a view definition: nothing runs", "CREATE VIEW v AS SELECT run_migration(1, 'DROP TABLE customers') AS x;", nil},
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

// TestSQLTextArgumentMessage: the finding says where the SQL came from and
// that it was judged as if the function runs it.
func TestSQLTextArgumentMessage(t *testing.T) {
	rep := change{base: shopBase, changed: map[string]string{next: goose("SELECT run_migration(1, $$ DROP TABLE orders; $$);")}}.analyze(t)
	fd := findingOf(t, rep, ruleDropTable.ID)
	want := "passed as SQL text to run_migration(), which no migration read defines: judged as if it runs it: "
	if !strings.HasPrefix(fd.Message, "P"+want[1:]) {
		t.Errorf("message %q does not say %q", fd.Message, want)
	}
	if !fd.RequiresApproval {
		t.Error("the drop inside the text needs no approval")
	}
}

// TestSQLTextArgumentsReplayed: SQL text passed to an unknown function by
// a migration already merged is in the schema the change is judged
// against.
func TestSQLTextArgumentsReplayed(t *testing.T) {
	base := map[string]string{
		"db/migrations/00001_init.sql": goose("SELECT run_migration(1, $$CREATE TABLE widgets (id int PRIMARY KEY, label text);$$);"),
	}
	rep := change{base: base, changed: map[string]string{next: goose("ALTER TABLE widgets DROP COLUMN label;")}}.analyze(t)
	fd := findingOf(t, rep, ruleDropColumn.ID)
	if strings.Contains(fd.Message, "created in this change") || fd.Severity != Danger {
		t.Errorf("widgets.label is an existing column: %s %s", fd.Severity, fd.Message)
	}
}
