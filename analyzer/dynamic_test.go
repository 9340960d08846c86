package analyzer

import (
	"strings"
	"testing"
)

// TestDynamicSQLThatOnlyCreates: SQL built at run time whose fixed text, in
// every way of filling its placeholders that parses, only creates objects or
// partitions, attaches partitions or sets storage parameters, is a warning;
// anything that could drop, delete, alter or rewrite, or that cannot be
// read, still needs approval.
func TestDynamicSQLThatOnlyCreates(t *testing.T) {
	tests := []struct {
		name    string
		execute string
		want    Severity
		does    string
	}{
		{"partition of, values as %L", "format('CREATE TABLE %I PARTITION OF orders FOR VALUES FROM (%L) TO (%L)', n, a, b)", Warning, "only creates a partition"},
		// A raw value (%s, an unquoted concatenation) in code the migration
		// runs can carry text of its own, a second statement included.
		{"LIKE with %s names", "format('CREATE TABLE %s (LIKE %s INCLUDING INDEXES)', n, p)", Danger, ""},
		{"attach with quoted %s bounds", "format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (''%s'') TO (''%s'')', p, n, a, b)", Danger, ""},
		{"hash bounds: %s is a number", "format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES WITH (modulus %s, remainder %s)', p, n, 4, i)", Danger, ""},
		{"storage parameters", "format('ALTER TABLE %I SET (fillfactor = %s, autovacuum_vacuum_scale_factor = ''0.1'')', n, 90)", Danger, ""},
		{"storage parameters, quoted", "format('ALTER TABLE %I SET (fillfactor = 90, autovacuum_vacuum_scale_factor = %L)', n, a)", Warning, "only sets storage parameters"},
		{"index", "format('CREATE INDEX IF NOT EXISTS %I ON %I (%I)', n, p, a)", Warning, "only creates an index"},
		{"concatenation with quote_ident", "'CREATE TABLE ' || quote_ident(n) || ' PARTITION OF orders DEFAULT'", Warning, "only creates a partition"},
		{"positional arguments", "format('CREATE TABLE %1$I (LIKE %2$s); ALTER TABLE %2$s ATTACH PARTITION %1$I DEFAULT', n, p)", Danger, ""},
		{"positional arguments, quoted", "format('CREATE TABLE %1$I (LIKE %2$I); ALTER TABLE %2$I ATTACH PARTITION %1$I DEFAULT', n, p)", Warning, "only creates a table, attaches a partition"},
		{"pg_catalog.format and a cast", "pg_catalog.format('CREATE SEQUENCE %I', n)::text", Warning, "only creates a sequence"},

		{"drop", "format('DROP TABLE %I', n)", Danger, ""},
		{"detach", "format('ALTER TABLE %I DETACH PARTITION %I', p, n)", Danger, ""},
		{"storage parameters and a type change", "format('ALTER TABLE %I SET (fillfactor = 70), ALTER COLUMN a TYPE bigint', n)", Danger, ""},
		{"truncate", "format('TRUNCATE %I', n)", Danger, ""},
		{"a create, then a delete", "format('CREATE TABLE %I (a int); DELETE FROM %I', n, p)", Danger, ""},
		{"create table as runs a query", "format('CREATE TABLE %I AS SELECT * FROM %I', n, p)", Danger, ""},
		{"set tablespace rewrites", "format('ALTER TABLE %I SET TABLESPACE %I', n, p)", Danger, ""},
		{"the whole statement is a value", "format('%s', n)", Danger, ""},
		{"a trailing clause is a value", "format('CREATE TABLE %I (LIKE %I) %s', n, p, a)", Danger, ""},
		{"the subcommand is a value", "format('ALTER TABLE %I %s', n, a)", Danger, ""},
		{"a variable", "n", Danger, ""},
		{"the format string is a variable", "format(a, n)", Danger, ""},
		{"a format PostgreSQL rejects", "format('CREATE TABLE %Z', n)", Danger, ""},
		{"another function builds the text", "'CREATE TABLE ' || n || mk_clause(p)", Danger, ""},
		{"create or drop, depending", "'CREATE TABLE x (a int); ' || n", Danger, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := "DO $$ DECLARE n text := 'orders_2024'; p text := 'orders'; a text := '2024-01-01'; b text := '2025-01-01'; i int := 0;\nBEGIN\n  EXECUTE " +
				tc.execute + ";\nEND $$;"
			rep := change{base: shopBase, changed: map[string]string{next: goose(up)}}.analyze(t)
			var dyn []Finding
			for _, l := range rep.AllFindings() {
				if l.Finding.Rule == ruleDynamicSQL.ID {
					dyn = append(dyn, *l.Finding)
				}
			}
			if len(dyn) != 1 {
				t.Fatalf("want one dynamic-sql finding, got %v", got(rep))
			}
			f := dyn[0]
			if f.Severity != tc.want || f.RequiresApproval != (tc.want == Danger) {
				t.Errorf("severity %s (approval %v), want %s: %s", f.Severity, f.RequiresApproval, tc.want, f.Message)
			}
			if tc.does != "" && !strings.Contains(f.Message, tc.does+":") {
				t.Errorf("message %q does not say it %s", f.Message, tc.does)
			}
		})
	}
}

func TestFormatPieces(t *testing.T) {
	p, ok := formatPieces("a %% %I.%2$s %-10L %*s")
	if !ok {
		t.Fatal("a valid format string was refused")
	}
	var holes []hole
	var text strings.Builder
	for _, x := range p {
		if x.hole != noHole {
			holes = append(holes, x.hole)
		}
		text.WriteString(x.text)
	}
	if len(holes) != 4 || holes[0] != holeIdent || holes[1] != holeRaw || holes[2] != holeValue || holes[3] != holeRaw || text.String() != "a % .  " {
		t.Errorf("holes %v, text %q", holes, text.String())
	}
	for _, bad := range []string{"%", "%5", "%q"} {
		if _, ok := formatPieces(bad); ok {
			t.Errorf("%q read as a valid format string", bad)
		}
	}
}

// TestDynamicSQLRawValueFromTheCall: a function whose fixed text only
// creates, called by the migration with a value that carries a second
// statement, runs that statement: the call needs approval, whatever the
// function's text says, and the definition alone runs nothing.
func TestDynamicSQLRawValueFromTheCall(t *testing.T) {
	fn := "CREATE FUNCTION make_part(n text, p text) RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING INDEXES)', n, p);\nEND $$;\n"
	for _, tc := range []struct {
		name, call string
		approval   bool
	}{
		{"a value with a DROP", "SELECT make_part('x (a int); DROP TABLE orders; CREATE TABLE y', 'orders');\n", true},
		{"a value computed when it runs", "SELECT make_part(current_setting('app.part'), 'orders');\n", true},
		{"a plain name", "SELECT make_part('orders_2024', 'orders');\n", true},
		{"not called", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(fn + tc.call)}}.analyze(t)
			approval := false
			for _, l := range rep.AllFindings() {
				if l.Finding.Rule == ruleDynamicSQL.ID && l.Finding.RequiresApproval {
					approval = true
				}
			}
			if approval != tc.approval {
				t.Errorf("dynamic-sql needs approval: %v, want %v: %v", approval, tc.approval, got(rep))
			}
		})
	}
}

// TestGooseEnvsubNeedsApproval: with ENVSUB on, goose fills environment
// variables into the statement's text (a quoted value included) before
// PostgreSQL reads it, so the DELETE the review reads, with its WHERE, is
// not what runs: the file needs approval.
func TestGooseEnvsubNeedsApproval(t *testing.T) {
	up := "-- +goose Up\n-- +goose ENVSUB ON\nDELETE FROM orders WHERE id = '${ORDER_ID}';\n-- +goose Down\nSELECT 1;\n"
	rep := change{base: shopBase, changed: map[string]string{next: up}}.analyze(t)
	fd := findingOf(t, rep, ruleDynamicSQL.ID)
	if fd.Severity != Danger || !fd.RequiresApproval || fd.Marker.Line != 3 || !strings.Contains(fd.Message, "ENVSUB") {
		t.Errorf("%+v", fd)
	}
	off := "-- +goose Up\nDELETE FROM orders WHERE id = '${ORDER_ID}';\n-- +goose Down\nSELECT 1;\n"
	if g := strings.Join(got(change{base: shopBase, changed: map[string]string{next: off}}.analyze(t)), " "); g != "delete-rows:danger@2" {
		t.Errorf("without ENVSUB the text is what runs, judged as written: %v", g)
	}
}

// TestFlywayPlaceholderNeedsApproval: Flyway fills ${name} into the text,
// a quoted value included, before PostgreSQL reads it.
func TestFlywayPlaceholderNeedsApproval(t *testing.T) {
	rep := change{
		base:    map[string]string{"db/migration/V1__base.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n"},
		changed: map[string]string{"db/migration/V2__purge.sql": "DELETE FROM orders WHERE id = '${order_id}';\n"},
	}.analyze(t)
	fd := findingOf(t, rep, ruleDynamicSQL.ID)
	if fd.Severity != Danger || !fd.RequiresApproval || fd.Marker.Line != 1 || !strings.Contains(fd.Message, "Flyway replaces the placeholders") {
		t.Errorf("%+v", fd)
	}
}
