package analyzer

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// plainBase is a small schema in a plain folder, which psql runs.
var plainBase = map[string]string{
	"sql/001_init.sql": "CREATE TABLE events (id bigint PRIMARY KEY, kind text);\nCREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
}

// TestPsqlVariables: in the layouts psql runs, :name, :'name' and :"name"
// are interpolation, judged with a placeholder; a destructive statement whose
// object a variable names fails closed. Other tools send the text as it is,
// and PostgreSQL rejects it.
func TestPsqlVariables(t *testing.T) {
	const plain = "sql/002_change.sql"
	tests := []struct {
		name string
		ch   change
		want []string
		msg  string // substring of a finding's message
	}{
		{"a literal in a role statement is said, not a syntax error",
			change{base: plainBase, changed: map[string]string{plain: "ALTER ROLE app PASSWORD :'app_password';\n"}},
			[]string{"psql-variable:warning@1"}, "depends on psql variable :'app_password'"},
		{"a schema named by a variable in CREATE is said",
			change{base: plainBase, changed: map[string]string{plain: "CREATE SCHEMA IF NOT EXISTS :\"app_schema\";\n"}},
			[]string{"psql-variable:warning@1"}, `judged with ":app_schema" in its place`},
		{"DROP TABLE of a table a variable names fails closed",
			change{base: plainBase, changed: map[string]string{plain: "DROP TABLE :old_table;\n"}},
			[]string{"psql-variable:danger@1", "drop-table:danger@1"}, "DROP on an object named by psql variable :old_table"},
		{"TRUNCATE of a quoted-identifier variable fails closed",
			change{base: plainBase, changed: map[string]string{plain: "TRUNCATE :\"tbl\";\n"}},
			[]string{"psql-variable:danger@1", "truncate:danger@1"}, "TRUNCATE on an object named by psql variable :\"tbl\""},
		{"a text variable can hold any SQL: it fails closed even in a SELECT",
			change{base: plainBase, changed: map[string]string{plain: "SELECT :setting_value;\n"}},
			[]string{"psql-variable:danger@1"}, "its value can hold any SQL, further statements included"},
		{"the quoted forms are bounded: a name in a CREATE is a warning",
			change{base: plainBase, changed: map[string]string{plain: "CREATE TABLE :\"archive\" (id bigint);\n"}},
			[]string{"psql-variable:warning@1"}, ""},
		{"a DELETE whose value is a literal variable keeps the usual rules",
			change{base: plainBase, changed: map[string]string{plain: "DELETE FROM events WHERE kind = :'kind';\n"}},
			[]string{"psql-variable:warning@1", "delete-rows:danger@1"}, "depends on psql variable :'kind'"},
		{"a variable \\set in the file is pointed at",
			change{base: plainBase, changed: map[string]string{plain: "\\set tbl events\nDROP TABLE :tbl;\n"}},
			[]string{"psql-meta-command:warning@1", "psql-variable:danger@2", "drop-table:danger@2"}, ":tbl is \\set earlier in the file"},
		{"the statements after a variable are judged as usual",
			change{base: plainBase, changed: map[string]string{plain: "CREATE SCHEMA :\"s\";\nALTER TABLE users DROP COLUMN name;\n"}},
			[]string{"psql-variable:warning@1", "drop-column:danger@2"}, ""},
		{"sqitch runs scripts with psql too",
			change{base: map[string]string{"db/sqitch.plan": "%project=p\n\nusers 2024-01-01T00:00:00Z A <a@example.com> # users\n",
				"db/deploy/users.sql": "CREATE TABLE users (id bigint);\n", "db/revert/users.sql": "DROP TABLE users;\n"},
				changed: map[string]string{"db/sqitch.plan": "%project=p\n\nusers 2024-01-01T00:00:00Z A <a@example.com> # users\ndrop 2024-01-02T00:00:00Z A <a@example.com> # drop\n",
					"db/deploy/drop.sql": "DROP TABLE :\"victim\";\n", "db/revert/drop.sql": "SELECT 1;\n"}},
			[]string{"psql-variable:danger@1", "drop-table:danger@1"}, ""},
		{"goose sends :name to the server, which rejects it",
			change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD COLUMN :col int;")}},
			[]string{"syntax-error:danger@2"}, "is psql's variable syntax, but goose sends the file to the server without psql"},

		// Negative: what looks like a variable and is not.
		{"casts, slices and strings are not variables",
			change{base: plainBase, changed: map[string]string{plain: "CREATE VIEW v AS SELECT id::text, (ARRAY[1,2,3])[1:2] AS a, ':x' AS s FROM events;\n"}},
			nil, ""},
		{"the usual syntax error is still one",
			change{base: plainBase, changed: map[string]string{plain: "ALTER TABLE events ADD COLUM x int;\n"}},
			[]string{"syntax-error:danger@1"}, "PostgreSQL's parser cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := tt.ch.analyze(t)
			g := without(without(got(rep), "missing-lock-timeout"), "statements-without-transaction")
			if strings.Join(g, " ") != strings.Join(tt.want, " ") {
				t.Errorf("findings:\n got  %v\n want %v", g, tt.want)
				for _, l := range rep.AllFindings() {
					t.Logf("  %s: %s", l.Finding.Rule, l.Finding.Message)
				}
			}
			if tt.msg != "" {
				var msgs []string
				for _, l := range rep.AllFindings() {
					msgs = append(msgs, l.Finding.Message)
				}
				if !strings.Contains(strings.Join(msgs, "\n"), tt.msg) {
					t.Errorf("no message containing %q in %q", tt.msg, msgs)
				}
			}
			for _, l := range rep.AllFindings() {
				if l.Finding.RequiresApproval != (l.Finding.Severity == Danger) {
					t.Errorf("%s: requires approval %v at %s", l.Finding.Rule, l.Finding.RequiresApproval, l.Finding.Severity)
				}
			}
		})
	}
}

// TestPlainSharedVersionTablesAreNew: without a base, each file is judged
// as if the earlier ones had run in production; files that share a version
// in a plain folder run together, so a table the first creates is new in the
// second: adding its foreign key validates no existing rows.
func TestPlainSharedVersionTablesAreNew(t *testing.T) {
	files := map[string]string{
		"sql/20220301-customers.sql":  "CREATE TABLE customers (id bigint PRIMARY KEY);\n",
		"sql/20220314-orders.sql":     "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\n",
		"sql/20220314-orders-fks.sql": "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);\n",
		"sql/20220401-more-fks.sql":   "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk2 FOREIGN KEY (customer_id) REFERENCES customers (id);\n",
	}
	fsys := fstest.MapFS{}
	for p, s := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(s)}
	}
	set, err := layout.Discover(fsys, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(context.Background(), Request{Migrations: set.Migrations, Config: DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	sev := map[string]Severity{}
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleAddForeignKey.ID && l.Statement != nil {
			sev[l.Statement.Path] = l.Finding.Severity
		}
	}
	// The same version: orders is new, nothing to validate.
	if s, ok := sev["sql/20220314-orders-fks.sql"]; ok && s == Danger {
		t.Errorf("foreign key on a table created by a file of the same version: %s", s)
	}
	// A later version: orders exists, its rows are validated under lock.
	if sev["sql/20220401-more-fks.sql"] != Danger {
		t.Errorf("foreign key on a table of an earlier version: %q, want danger (%v)", sev["sql/20220401-more-fks.sql"], got(rep))
	}
	var order []string
	for _, f := range rep.Files {
		order = append(order, f.Path)
	}
	if want := "sql/20220301-customers.sql sql/20220314-orders.sql sql/20220314-orders-fks.sql sql/20220401-more-fks.sql"; strings.Join(order, " ") != want {
		t.Errorf("order %v", order)
	}
}

// TestPlainSharedVersionInAChange: a change that adds both files of a
// version judges the base file first, so the foreign key is added to a table
// the change creates, not to an unknown one.
func TestPlainSharedVersionInAChange(t *testing.T) {
	rep := change{
		base: map[string]string{"sql/20220301-customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY);\n"},
		changed: map[string]string{
			"sql/20220314-orders.sql":     "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\n",
			"sql/20220314-orders-fks.sql": "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);\n",
		},
	}.analyze(t)
	g := without(got(rep), "missing-lock-timeout")
	if want := "migration-layout:warning@file migration-layout:warning@file foreign-key-without-index:info@1"; strings.Join(g, " ") != want {
		t.Errorf("findings:\n got  %v\n want %v", g, want)
		for _, l := range rep.AllFindings() {
			t.Logf("  %s: %s", l.Finding.Rule, l.Finding.Message)
		}
	}
	if len(rep.Files) != 2 || rep.Files[0].Path != "sql/20220314-orders.sql" {
		t.Errorf("files %+v", rep.Files)
	}
}
