package analyzer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer/prodstats"
)

// change describes a pull request: files at the base, and files the change
// adds or modifies.
type change struct {
	base    map[string]string
	changed map[string]string
	cfg     *Config
}

func (ch change) analyze(t *testing.T) *Report {
	t.Helper()
	return ch.analyzeWithStats(t, nil)
}

// got lists findings as "rule:severity@line", file-level ones as "rule:severity@file".
// The test migrations' down parts are placeholders (SELECT 1), so
// down-incomplete, which would flag each of them, has its own test; so has
// existing-rows (existing_rows_test.go), said of every column added or
// default changed.
func got(rep *Report) []string {
	var out []string
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleDownIncomplete.ID || l.Finding.Rule == ruleExistingRows.ID {
			continue
		}
		where := "file"
		if l.Statement != nil {
			where = fmt.Sprint(l.Statement.Start.Line)
		}
		out = append(out, fmt.Sprintf("%s:%s@%s", l.Finding.Rule, l.Finding.Severity, where))
	}
	return out
}

func without(findings []string, rule string) []string {
	var out []string
	for _, f := range findings {
		if !strings.HasPrefix(f, rule+":") {
			out = append(out, f)
		}
	}
	return out
}

func findingOf(t *testing.T, rep *Report, rule string) *Finding {
	t.Helper()
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == rule {
			return l.Finding
		}
	}
	t.Fatalf("no %s finding in %v", rule, got(rep))
	return nil
}

// A small existing schema, in goose layout, that most cases change.
var shopBase = map[string]string{
	"db/migrations/00001_init.sql": `-- +goose Up
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'canceled');
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    name varchar(100),
    CONSTRAINT customers_email_key UNIQUE (email)
);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status order_status NOT NULL DEFAULT 'pending',
    note text,
    CONSTRAINT orders_note_check CHECK (length(note) < 1000)
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE UNIQUE INDEX orders_note_uniq ON orders (note);
CREATE VIEW open_orders AS SELECT id, customer_id FROM orders WHERE status = 'pending';
CREATE SEQUENCE invoice_seq;
CREATE SCHEMA reporting;
CREATE TABLE reporting.daily (day date PRIMARY KEY, total bigint);
-- +goose Down
DROP TABLE orders;
`,
}

// goose wraps a body as a goose migration with a down part.
func goose(body string) string {
	return "-- +goose Up\n" + body + "\n-- +goose Down\nSELECT 1;\n"
}

// gooseHistory is files as one goose history in their order, each file
// not written for goose yet made the up part of one (goose).
func gooseHistory(files []string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i, f := range files {
		if !strings.HasPrefix(f, "-- +goose") {
			f = goose(f)
		}
		fsys[fmt.Sprintf("db/migrations/%05d_step.sql", i+1)] = &fstest.MapFile{Data: []byte(f)}
	}
	return fsys
}

const next = "db/migrations/00002_change.sql"

func TestRules(t *testing.T) {
	pg11 := DefaultConfig()
	pg11.PostgresVersion = 11
	pg14 := DefaultConfig()
	pg14.PostgresVersion = 14
	tests := []struct {
		name string
		ch   change
		want []string
	}{
		// Question 1: drops.
		{"drop an existing table", change{base: shopBase, changed: map[string]string{next: goose("DROP TABLE customers CASCADE;")}},
			[]string{"drop-table:danger@2"}},
		{"drop a table created in the same change", change{base: shopBase, changed: map[string]string{next: goose("CREATE TABLE tmp (id int);\nDROP TABLE tmp;")}},
			[]string{"drop-table:info@3"}},
		{"drop a table no migration created", change{base: shopBase, changed: map[string]string{next: goose("DROP TABLE IF EXISTS legacy;")}},
			[]string{"drop-table:danger@2"}},
		{"drop an existing column", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE customers DROP COLUMN name;")}},
			[]string{"drop-column:danger@2"}},
		{"drop a column added in the same change", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE customers ADD COLUMN tmp text;\nALTER TABLE customers DROP COLUMN tmp;")}},
			[]string{"drop-column:info@3"}},
		{"drop schema cascade", change{base: shopBase, changed: map[string]string{next: goose("DROP SCHEMA reporting CASCADE;")}},
			[]string{"drop-schema:danger@2"}},
		{"drop database", change{base: shopBase, changed: map[string]string{next: goose("DROP DATABASE shop;")}},
			[]string{"drop-database:danger@2", "cannot-run-in-transaction:danger@2"}},
		{"drop a view", change{base: shopBase, changed: map[string]string{next: goose("DROP VIEW open_orders;")}},
			[]string{"drop-view:warning@2"}},
		{"drop an index", change{base: shopBase, changed: map[string]string{next: goose("DROP INDEX orders_customer_id_idx;")}},
			[]string{"drop-index:warning@2"}},
		{"drop a constraint", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders DROP CONSTRAINT orders_note_check;")}},
			[]string{"drop-constraint:warning@2"}},
		{"drop a type in use, with cascade", change{base: shopBase, changed: map[string]string{next: goose("DROP TYPE order_status CASCADE;")}},
			[]string{"drop-type:danger@2"}},
		{"drop a type in use, without cascade, fails", change{base: shopBase, changed: map[string]string{next: goose("DROP TYPE order_status;")}},
			[]string{"drop-type:warning@2"}},
		{"drop a sequence no default uses", change{base: shopBase, changed: map[string]string{next: goose("DROP SEQUENCE invoice_seq;")}},
			[]string{"drop-sequence:warning@2"}},
		{"drop an extension", change{base: shopBase, changed: map[string]string{next: goose("DROP EXTENSION pgcrypto;")}},
			[]string{"drop-object:danger@2"}},
		{"drop a function", change{base: shopBase, changed: map[string]string{next: goose("DROP FUNCTION IF EXISTS touch();")}},
			[]string{"drop-object:warning@2"}},
		{"truncate", change{base: shopBase, changed: map[string]string{next: goose("TRUNCATE orders;")}},
			[]string{"truncate:danger@2"}},
		{"delete without where", change{base: shopBase, changed: map[string]string{next: goose("DELETE FROM orders;")}},
			[]string{"delete-without-where:danger@2"}},
		{"delete with where needs approval: how many rows it reaches is production's", change{base: shopBase, changed: map[string]string{next: goose("DELETE FROM orders WHERE id = 1;")}},
			[]string{"delete-rows:danger@2"}},
		{"update without where", change{base: shopBase, changed: map[string]string{next: goose("UPDATE orders SET note = '';")}},
			[]string{"update-without-where:danger@2"}},
		{"update with where needs approval", change{base: shopBase, changed: map[string]string{next: goose("UPDATE orders SET note = '' WHERE id < 100;")}},
			[]string{"update-rows:danger@2"}},
		{"update that fills NULLs only is fine", change{base: shopBase, changed: map[string]string{next: goose("UPDATE orders SET note = '' WHERE note IS NULL;")}},
			nil},
		{"insert without a conflict action is fine", change{base: shopBase, changed: map[string]string{next: goose("INSERT INTO orders (note) VALUES ('x') ON CONFLICT DO NOTHING;")}},
			nil},
		{"creating things is fine", change{base: shopBase, changed: map[string]string{next: goose("CREATE TABLE invoices (id int);\nALTER TABLE customers ADD COLUMN phone text;")}},
			nil},

		// Question 3: constraints that can fail.
		{"ADD COLUMN NOT NULL without default on an existing table", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD COLUMN region text NOT NULL;")}},
			[]string{"add-column-not-null:danger@2"}},
		{"ADD COLUMN NOT NULL with a default", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD COLUMN region text NOT NULL DEFAULT 'eu';")}},
			nil},
		{"ADD COLUMN NOT NULL on a new table", change{base: shopBase, changed: map[string]string{next: goose("CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN region text NOT NULL;")}},
			nil},
		{"ADD COLUMN identity is filled by PostgreSQL, in a rewrite", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;")}},
			[]string{"table-rewrite:danger@2"}},
		{"SET NOT NULL on an existing column", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ALTER COLUMN note SET NOT NULL;")}},
			[]string{"set-not-null:danger@2"}},
		{"SET NOT NULL after a validated CHECK, PostgreSQL 15", change{base: shopBase, changed: map[string]string{
			"db/migrations/00002_check.sql":    goose("ALTER TABLE orders ADD CONSTRAINT orders_note_nn CHECK (note IS NOT NULL) NOT VALID;"),
			"db/migrations/00003_validate.sql": goose("ALTER TABLE orders VALIDATE CONSTRAINT orders_note_nn;"),
			"db/migrations/00004_set.sql":      goose("ALTER TABLE orders ALTER COLUMN note SET NOT NULL;")}},
			nil},
		{"SET NOT NULL after a validated CHECK, PostgreSQL 11 still scans", change{base: shopBase, cfg: &pg11, changed: map[string]string{
			"db/migrations/00002_check.sql":    goose("ALTER TABLE orders ADD CONSTRAINT orders_note_nn CHECK (note IS NOT NULL) NOT VALID;"),
			"db/migrations/00003_validate.sql": goose("ALTER TABLE orders VALIDATE CONSTRAINT orders_note_nn;"),
			"db/migrations/00004_set.sql":      goose("ALTER TABLE orders ALTER COLUMN note SET NOT NULL;")}},
			[]string{"set-not-null:danger@2"}},
		{"ADD UNIQUE builds its index under the lock", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE customers ADD CONSTRAINT customers_name_key UNIQUE (name);")}},
			[]string{"add-unique-constraint:danger@2"}},
		{"ADD UNIQUE USING INDEX", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD CONSTRAINT orders_note_key UNIQUE USING INDEX orders_note_uniq;")}},
			nil},
		{"ADD PRIMARY KEY", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE reporting.daily DROP CONSTRAINT daily_pkey;\nALTER TABLE reporting.daily ADD PRIMARY KEY (day, total);")}},
			[]string{"drop-constraint:warning@2", "add-unique-constraint:danger@3", "work-while-holding-lock:warning@3"}},
		{"CREATE UNIQUE INDEX on an existing table", change{base: shopBase, changed: map[string]string{next: "-- +goose NO TRANSACTION\n" + goose("CREATE UNIQUE INDEX CONCURRENTLY customers_name_key ON customers (name);")}},
			[]string{"create-unique-index:warning@3"}},
		{"ADD CHECK without NOT VALID", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD CONSTRAINT orders_note_short CHECK (length(note) < 100);")}},
			[]string{"add-check-constraint:danger@2"}},
		{"ADD CHECK NOT VALID", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD CONSTRAINT orders_note_short CHECK (length(note) < 100) NOT VALID;")}},
			nil},
		{"ADD FOREIGN KEY without NOT VALID", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD CONSTRAINT orders_customer2_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);")}},
			[]string{"add-foreign-key:danger@2"}},
		{"ADD FOREIGN KEY NOT VALID", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD CONSTRAINT orders_customer2_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;")}},
			nil},
		{"VALIDATE in the same transaction as NOT VALID", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD CONSTRAINT c CHECK (length(note) < 9) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT c;")}},
			[]string{"validate-in-same-transaction:danger@3"}},
		{"VALIDATE in the next migration", change{base: shopBase, changed: map[string]string{
			"db/migrations/00002_a.sql": goose("ALTER TABLE orders ADD CONSTRAINT c CHECK (length(note) < 9) NOT VALID;"),
			"db/migrations/00003_b.sql": goose("ALTER TABLE orders VALIDATE CONSTRAINT c;")}},
			nil},
		{"ADD EXCLUDE", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD CONSTRAINT no_dup EXCLUDE USING btree (note WITH =);")}},
			[]string{"add-exclusion-constraint:danger@2"}},
		{"ALTER DOMAIN ADD CONSTRAINT", change{base: shopBase, changed: map[string]string{next: goose("ALTER DOMAIN email ADD CONSTRAINT has_at CHECK (VALUE LIKE '%@%');")}},
			[]string{"domain-constraint:danger@2"}},
		{"an edit that adds a statement to an applied migration", change{base: shopBase, changed: map[string]string{"db/migrations/00001_init.sql": strings.Replace(shopBase["db/migrations/00001_init.sql"], "-- +goose Down", "ALTER TABLE customers DROP COLUMN name;\n-- +goose Down", 1)}},
			[]string{"edited-migration:warning@file", "drop-column:danger@22"}},

		// The rest of what established linters report.
		{"a name over 63 bytes", change{base: shopBase, changed: map[string]string{next: goose("CREATE INDEX orders_customer_id_and_note_and_status_for_the_customer_overview_screen_idx ON orders (customer_id);")}},
			[]string{"identifier-too-long:warning@2", "blocking-index-build:danger@2"}},
		{"row-level security on an existing table", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ENABLE ROW LEVEL SECURITY;")}},
			[]string{"enable-row-level-security:warning@2"}},
		{"row-level security on a new table", change{base: shopBase, changed: map[string]string{next: goose("CREATE TABLE docs (id bigint PRIMARY KEY);\nALTER TABLE docs ENABLE ROW LEVEL SECURITY;")}},
			nil},
		{"a sequence restarted", change{base: shopBase, changed: map[string]string{next: goose("ALTER SEQUENCE invoice_seq RESTART WITH 1;")}},
			[]string{"sequence-restart:warning@2"}},
		{"triggers disabled", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders DISABLE TRIGGER ALL;")}},
			[]string{"disable-trigger:warning@2"}},
		{"privileges revoked", change{base: shopBase, changed: map[string]string{next: goose("REVOKE SELECT ON orders FROM app_reader;")}},
			[]string{"revoke-privileges:warning@2"}},
		{"column type choices", change{base: shopBase, changed: map[string]string{next: goose("CREATE TABLE events (id serial PRIMARY KEY, payload json, at timestamp, cc char(2), n bigserial);")}},
			[]string{"int-primary-key:info@2", "json-column:info@2", "timestamp-without-time-zone:info@2", "char-column:info@2", "serial-column:info@2"}},
		{"a foreign key without an index", change{base: shopBase, changed: map[string]string{next: goose("CREATE TABLE refunds (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));")}},
			[]string{"foreign-key-without-index:info@2"}},
		{"a foreign key with its index later in the change", change{base: shopBase, changed: map[string]string{next: goose("CREATE TABLE refunds (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));\nCREATE INDEX refunds_order_id_idx ON refunds (order_id);")}},
			nil},
		{"concurrent index on PostgreSQL 14", change{base: shopBase, cfg: &pg14, changed: map[string]string{next: "-- +goose NO TRANSACTION\n" + goose("CREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);")}},
			[]string{"concurrent-index-pg14-bug:warning@3"}},

		// Question 4: renames.
		{"rename a table", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders RENAME TO purchases;")}},
			[]string{"rename-table:danger@2"}},
		{"rename a table created in the same change", change{base: shopBase, changed: map[string]string{next: goose("CREATE TABLE a (id int);\nALTER TABLE a RENAME TO b;")}},
			[]string{"rename-table:info@3"}},
		{"move a table to another schema", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders SET SCHEMA reporting;")}},
			[]string{"rename-table:danger@2"}},
		{"rename a column", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE customers RENAME COLUMN name TO full_name;")}},
			[]string{"rename-column:danger@2"}},
		{"rename a schema", change{base: shopBase, changed: map[string]string{next: goose("ALTER SCHEMA reporting RENAME TO bi;")}},
			[]string{"rename-schema:danger@2"}},
		{"rename an enum value", change{base: shopBase, changed: map[string]string{next: goose("ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';")}},
			[]string{"rename-enum-value:danger@2"}},
		{"rename a value of an enum created in the same change", change{base: shopBase, changed: map[string]string{next: goose("CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood RENAME VALUE 'ok' TO 'fine';")}},
			[]string{"rename-enum-value:info@3"}},
		{"rename a type", change{base: shopBase, changed: map[string]string{next: goose("ALTER TYPE order_status RENAME TO purchase_status;")}},
			[]string{"rename-type:warning@2"}},
		{"rename a constraint", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE customers RENAME CONSTRAINT customers_email_key TO customers_email_unique;")}},
			[]string{"rename-constraint:warning@2"}},
		{"rename an index", change{base: shopBase, changed: map[string]string{next: goose("ALTER INDEX orders_customer_id_idx RENAME TO orders_customer_idx;")}},
			[]string{"rename-index:info@2"}},
		{"rename an index before PostgreSQL 12 locks", change{base: shopBase, cfg: &pg11, changed: map[string]string{next: goose("ALTER INDEX orders_customer_id_idx RENAME TO orders_customer_idx;")}},
			[]string{"rename-index:warning@2"}},
		{"rename a sequence", change{base: shopBase, changed: map[string]string{next: goose("ALTER SEQUENCE invoice_seq RENAME TO invoice_number_seq;")}},
			[]string{"rename-object:warning@2"}},

		// Question 5: transactions, as each tool runs the file.
		{"concurrent index inside goose's transaction", change{base: shopBase, changed: map[string]string{next: goose("CREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);")}},
			[]string{"cannot-run-in-transaction:danger@2"}},
		{"concurrent index with goose NO TRANSACTION", change{base: shopBase, changed: map[string]string{next: "-- +goose NO TRANSACTION\n" + goose("CREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);")}},
			nil},
		{"golang-migrate: one statement runs alone", change{base: map[string]string{"migrations/1_init.up.sql": "CREATE TABLE t (a int);", "migrations/1_init.down.sql": "DROP TABLE t;"},
			changed: map[string]string{"migrations/2_idx.up.sql": "CREATE INDEX CONCURRENTLY t_a_idx ON t (a);", "migrations/2_idx.down.sql": "DROP INDEX CONCURRENTLY t_a_idx;"}},
			nil},
		{"golang-migrate: two statements run as one implicit transaction", change{base: map[string]string{"migrations/1_init.up.sql": "CREATE TABLE t (a int);", "migrations/1_init.down.sql": "DROP TABLE t;"},
			changed: map[string]string{"migrations/2_idx.up.sql": "ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY t_a_idx ON t (a);", "migrations/2_idx.down.sql": "DROP INDEX t_a_idx;"}},
			[]string{"cannot-run-in-transaction:danger@2"}},
		{"dbmate transaction:false", change{base: map[string]string{"db/migrations/20240101000000_init.sql": "-- migrate:up\nCREATE TABLE t (a int);\n-- migrate:down\nDROP TABLE t;\n"},
			changed: map[string]string{"db/migrations/20240102000000_idx.sql": "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY t_a_idx ON t (a);\n-- migrate:down\nDROP INDEX t_a_idx;\n"}},
			nil},
		{"plain SQL: concurrent index between BEGIN and COMMIT", change{base: map[string]string{"sql/001_init.sql": "CREATE TABLE t (a int);"},
			changed: map[string]string{"sql/002_idx.sql": "BEGIN;\nCREATE INDEX CONCURRENTLY t_a_idx ON t (a);\nCOMMIT;\n"}},
			[]string{"cannot-run-in-transaction:danger@2"}},
		{"plain SQL: two changes without a transaction", change{base: map[string]string{"sql/001_init.sql": "CREATE TABLE t (a int);"},
			changed: map[string]string{"sql/002_more.sql": "ALTER TABLE t ADD COLUMN b int;\nALTER TABLE t ADD COLUMN c int;\n"}},
			[]string{"statements-without-transaction:warning@2"}},
		{"plain SQL: the same inside BEGIN and COMMIT", change{base: map[string]string{"sql/001_init.sql": "CREATE TABLE t (a int);"},
			changed: map[string]string{"sql/002_more.sql": "BEGIN;\nALTER TABLE t ADD COLUMN b int;\nALTER TABLE t ADD COLUMN c int;\nCOMMIT;\n"}},
			nil},
		{"plain SQL: BEGIN without COMMIT", change{base: map[string]string{"sql/001_init.sql": "CREATE TABLE t (a int);"},
			changed: map[string]string{"sql/002_more.sql": "BEGIN;\nALTER TABLE t ADD COLUMN b int;\n"}},
			[]string{"begin-without-commit:warning@1"}},
		{"BEGIN inside goose's transaction", change{base: shopBase, changed: map[string]string{next: goose("BEGIN;\nALTER TABLE orders ADD COLUMN x int;\nCOMMIT;")}},
			[]string{"nested-begin:warning@2", "commit-in-wrapped-transaction:warning@4"}},
		{"prisma: BEGIN and COMMIT in migration.sql turn the implicit transaction into a regular one", change{base: map[string]string{"prisma/migrations/20240101000000_init/migration.sql": "CREATE TABLE t (a int);"},
			changed: map[string]string{"prisma/migrations/20240102000000_more/migration.sql": "ALTER TABLE t ADD COLUMN b int;\nBEGIN;\nALTER TABLE t ADD COLUMN c int;\nCOMMIT;\nALTER TABLE t ADD COLUMN d int;\n"}},
			nil},
		{"prisma: a second BEGIN inside the file's own is ignored", change{base: map[string]string{"prisma/migrations/20240101000000_init/migration.sql": "CREATE TABLE t (a int);"},
			changed: map[string]string{"prisma/migrations/20240102000000_more/migration.sql": "BEGIN;\nALTER TABLE t ADD COLUMN c int;\nBEGIN;\nALTER TABLE t ADD COLUMN d int;\nCOMMIT;\n"}},
			[]string{"nested-begin:warning@3"}},
		{"enum ADD VALUE in a transaction on PostgreSQL 11", change{base: shopBase, cfg: &pg11, changed: map[string]string{next: goose("ALTER TYPE order_status ADD VALUE 'refunded';")}},
			[]string{"enum-add-value:info@2", "cannot-run-in-transaction:danger@2"}},
		{"enum ADD VALUE in a transaction on PostgreSQL 15", change{base: shopBase, changed: map[string]string{next: goose("ALTER TYPE order_status ADD VALUE 'refunded';")}},
			[]string{"enum-add-value:info@2"}},
		{"Flyway: a concurrent index alone runs without a transaction", change{base: map[string]string{"db/migration/V1__init.sql": "CREATE TABLE t (a int);"},
			changed: map[string]string{"db/migration/V2__idx.sql": "CREATE INDEX CONCURRENTLY t_a_idx ON t (a);"}},
			nil},
		{"Flyway: mixed statements are refused", change{base: map[string]string{"db/migration/V1__init.sql": "CREATE TABLE t (a int);"},
			changed: map[string]string{"db/migration/V2__idx.sql": "ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY t_a_idx ON t (a);"}},
			[]string{"cannot-run-in-transaction:danger@2"}},

		// Files the tool would not run as written.
		{"a syntax error does not stop the rest", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD COLUM x int;\nDROP TABLE customers;")}},
			[]string{"syntax-error:danger@2", "drop-table:danger@3"}},
		{"psql meta-commands", change{base: shopBase, changed: map[string]string{next: goose("\\set ON_ERROR_STOP on\n\\i other.sql\nALTER TABLE orders ADD COLUMN x int;")}},
			[]string{"psql-meta-command:warning@2", "psql-meta-command:danger@3"}},
		{"a binary file named .sql", change{base: shopBase, changed: map[string]string{next: "\x00\x01\x02binary"}},
			[]string{"unreadable-file:danger@file"}},
		{"a Latin-1 file", change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD COLUMN caf\xe9 int;")}},
			[]string{"unreadable-file:danger@file"}},
		{"an empty file", change{base: shopBase, changed: map[string]string{next: ""}},
			[]string{"migration-layout:warning@file"}},
		{"an edited migration that exists at the base", change{base: shopBase, changed: map[string]string{"db/migrations/00001_init.sql": shopBase["db/migrations/00001_init.sql"] + "\n"}},
			[]string{"edited-migration:warning@file"}},
		{"a goose migration without a down part", change{base: shopBase, changed: map[string]string{next: "-- +goose Up\nALTER TABLE orders ADD COLUMN x int;\n"}},
			[]string{"missing-down:warning@file"}},
		{"down parts never need approval", change{base: shopBase, changed: map[string]string{next: "-- +goose Up\nCREATE TABLE x (a int);\n-- +goose Down\nDROP TABLE x;\nDROP TABLE customers;\n"}},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := tt.ch.analyze(t)
			g := got(rep)
			// Nearly every statement here takes a blocking lock without a
			// lock_timeout; that rule has its own test.
			if !strings.Contains(strings.Join(tt.want, " "), "missing-lock-timeout") {
				g = without(g, "missing-lock-timeout")
			}
			if strings.Join(g, " ") != strings.Join(tt.want, " ") {
				t.Errorf("findings:\n got  %v\n want %v", g, tt.want)
				for _, l := range rep.AllFindings() {
					t.Logf("  %s: %s", l.Finding.Rule, l.Finding.Message)
				}
			}
			for _, l := range rep.AllFindings() {
				f := l.Finding
				if f.Message == "" || f.Why == "" {
					t.Errorf("%s: empty message or why", f.Rule)
				}
				if f.RequiresApproval != (f.Severity == Danger) {
					t.Errorf("%s: requires_approval=%v with severity %s", f.Rule, f.RequiresApproval, f.Severity)
				}
				if _, ok := RuleByID(f.Rule); !ok {
					t.Errorf("finding of unregistered rule %s", f.Rule)
				}
			}
		})
	}
}

// TestFindingDetails checks what people read: the objects, the CASCADE
// collateral, the marker, and safe ways written with the real names.
func TestFindingDetails(t *testing.T) {
	t.Run("CASCADE names what goes with the table", func(t *testing.T) {
		rep := change{base: shopBase, changed: map[string]string{next: goose("DROP TABLE orders CASCADE;")}}.analyze(t)
		f := findingOf(t, rep, "drop-table")
		if !strings.Contains(f.Message, "CASCADE also drops view public.open_orders") {
			t.Errorf("message does not name the view: %s", f.Message)
		}
		if strings.Join(f.Objects, ",") == "public.orders" {
			t.Errorf("objects should include the dependents, got %v", f.Objects)
		}
	})
	t.Run("without CASCADE it says the drop fails", func(t *testing.T) {
		rep := change{base: shopBase, changed: map[string]string{next: goose("DROP TABLE customers;")}}.analyze(t)
		f := findingOf(t, rep, "drop-table")
		if !strings.Contains(f.Message, "it fails: constraint orders_customer_id_fkey on public.orders depends on it") {
			t.Errorf("message: %s", f.Message)
		}
	})
	t.Run("drop column keeps a copy keyed by the primary key", func(t *testing.T) {
		rep := change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE customers DROP COLUMN name;")}}.analyze(t)
		f := findingOf(t, rep, "drop-column")
		for _, want := range []string{
			"CREATE TABLE public.customers_name_backup AS SELECT id, name FROM public.customers;",
			"ALTER TABLE public.customers DROP COLUMN name;",
		} {
			if !strings.Contains(f.SafeAlternative, want) {
				t.Errorf("safe way lacks %q:\n%s", want, f.SafeAlternative)
			}
		}
		if strings.Join(f.Objects, ",") != "public.customers.name" {
			t.Errorf("objects %v", f.Objects)
		}
	})
	t.Run("rename column: expand and contract with the column's type", func(t *testing.T) {
		rep := change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE customers RENAME COLUMN name TO full_name;")}}.analyze(t)
		f := findingOf(t, rep, "rename-column")
		for _, want := range []string{
			"ALTER TABLE public.customers ADD COLUMN full_name varchar(100);",
			"CREATE TRIGGER customers_sync_full_name BEFORE INSERT OR UPDATE ON public.customers",
			"ALTER TABLE public.customers DROP COLUMN name;",
		} {
			if !strings.Contains(f.SafeAlternative, want) {
				t.Errorf("safe way lacks %q:\n%s", want, f.SafeAlternative)
			}
		}
		if f.Marker != (Position{Line: 2, Column: 13}) {
			t.Errorf("marker %+v, want the table name at 2:13", f.Marker)
		}
	})
	t.Run("rename table keeps the old name as a view", func(t *testing.T) {
		rep := change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders RENAME TO purchases;")}}.analyze(t)
		f := findingOf(t, rep, "rename-table")
		if !strings.Contains(f.SafeAlternative, "CREATE VIEW public.orders AS SELECT * FROM public.purchases;") {
			t.Errorf("safe way:\n%s", f.SafeAlternative)
		}
	})
	t.Run("update backfills only rows not done yet", func(t *testing.T) {
		rep := change{base: shopBase, changed: map[string]string{next: goose("UPDATE orders SET note = 'x';")}}.analyze(t)
		f := findingOf(t, rep, "update-without-where")
		want := "UPDATE public.orders SET note = 'x' WHERE id IN (SELECT id FROM public.orders WHERE note IS DISTINCT FROM 'x' LIMIT 10000);"
		if !strings.Contains(f.SafeAlternative, want) {
			t.Errorf("safe way:\n%s\nwant %s", f.SafeAlternative, want)
		}
	})
	t.Run("enum rename backfills every column of the type", func(t *testing.T) {
		rep := change{base: shopBase, changed: map[string]string{next: goose("ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';")}}.analyze(t)
		f := findingOf(t, rep, "rename-enum-value")
		if !strings.Contains(f.SafeAlternative, "UPDATE public.orders SET status = 'cancelled' WHERE id IN (SELECT id FROM public.orders WHERE status = 'canceled' LIMIT 10000);") {
			t.Errorf("safe way:\n%s", f.SafeAlternative)
		}
	})
	t.Run("concurrent index: the goose way", func(t *testing.T) {
		rep := change{base: shopBase, changed: map[string]string{next: goose("CREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);")}}.analyze(t)
		f := findingOf(t, rep, "cannot-run-in-transaction")
		if !strings.Contains(f.SafeAlternative, "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);") {
			t.Errorf("safe way:\n%s", f.SafeAlternative)
		}
	})
	t.Run("quoted names stay quoted", func(t *testing.T) {
		rep := change{base: map[string]string{"sql/001.sql": `CREATE TABLE "Order" (id int PRIMARY KEY, "user" text);`},
			changed: map[string]string{"sql/002.sql": `ALTER TABLE "Order" DROP COLUMN "user";`}}.analyze(t)
		f := findingOf(t, rep, "drop-column")
		if !strings.Contains(f.SafeAlternative, `ALTER TABLE public."Order" DROP COLUMN "user";`) {
			t.Errorf("safe way:\n%s", f.SafeAlternative)
		}
	})
	t.Run("positions after multi-byte text and in the down part", func(t *testing.T) {
		body := "-- +goose Up\n-- café ☕\nALTER TABLE orders ADD COLUMN é int; DROP TABLE customers;\n-- +goose Down\nSELECT 1;\n"
		rep := change{base: shopBase, changed: map[string]string{next: body}}.analyze(t)
		f := findingOf(t, rep, "drop-table")
		if f.Marker != (Position{Line: 3, Column: 38}) {
			t.Errorf("marker %+v, want 3:38", f.Marker)
		}
	})
}

// TestWithoutBaseEachFileBuildsOnTheEarlierOnes is the CLI's mode: files
// judged in order, each against what the earlier ones built as existing.
func TestWithoutBaseEachFileBuildsOnTheEarlierOnes(t *testing.T) {
	head := fstest.MapFS{
		"db/migrations/00001_a.sql": {Data: []byte(goose("CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nDROP TABLE b;"))},
		"db/migrations/00002_b.sql": {Data: []byte(goose("DROP TABLE a;"))},
	}
	rep, err := Analyze(context.Background(), Request{Head: head, Config: DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(without(got(rep), "missing-lock-timeout"), " "); g != "drop-table:info@4 drop-table:danger@2" {
		t.Errorf("got %s", g)
	}
	if rep.BaseMigrations != 0 {
		t.Errorf("base migrations %d", rep.BaseMigrations)
	}
}

func TestAnalyzeStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Analyze(ctx, Request{Head: fstest.MapFS{"db/migrations/00001_a.sql": {Data: []byte(goose("SELECT 1;"))}}, Config: DefaultConfig()})
	if err == nil {
		t.Fatal("want the context's error")
	}
}

func TestConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte("postgres_version: 12\nmigrations:\n  - path: db/migrations\n    layout: goose\n"))
	if err != nil || cfg.PostgresVersion != 12 || cfg.Migrations[0].Layout != "goose" || cfg.Approval.MinRole != "write" {
		t.Fatalf("got %+v, %v", cfg, err)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"postgres_version: 9\n", "not supported"},
		{"postgres_versoin: 15\n", "line 1: field postgres_versoin not found"},
		{"migrations:\n  - layout: goose\n", "path is required"},
		{"migrations:\n  - path: x\n    layout: rails\n", "unknown migration layout"},
		{"approval:\n  severities: [critical]\n", "unknown severity"},
		{"migrations: [\n", "did not find expected node content"},
		{"postgres_version: [1]\n", "line 1: cannot unmarshal !!seq into int"},
	} {
		if _, err := ParseConfig([]byte(bad.yaml)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: got %v, want an error with %q", bad.yaml, err, bad.want)
		}
	}
	if cfg, err := ParseConfig(nil); err != nil || cfg.PostgresVersion != DefaultPostgresVersion {
		t.Errorf("empty file: %+v %v", cfg, err)
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"orders": "orders", "Order": `"Order"`, "user": `"user"`, "name": "name", "select": `"select"`,
		"a b": `"a b"`, `we"ird`: `"we""ird"`, "_x1": "_x1", "x$": `"x$"`, "1abc": `"1abc"`, "": `""`, "é": `"é"`,
	} {
		if got := quoteIdent(in); got != want {
			t.Errorf("quoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSuppressions(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // rule:severity:suppressed:approval
	}{
		{"a reasoned suppression of a warning lifts it", "-- migration-guard:ignore drop-view reason=\"replaced by open_orders_v2 in #12\"\nDROP VIEW open_orders;",
			[]string{"drop-view:warning:suppressed:false"}},
		{"a danger stays in need of approval", "-- migration-guard:ignore drop-column reason=\"copied to archive\"\nALTER TABLE customers DROP COLUMN name;",
			[]string{"drop-column:danger:suppressed:true"}},
		{"no reason suppresses nothing", "-- migration-guard:ignore drop-view\nDROP VIEW open_orders;",
			[]string{"drop-view:warning:-:false", "suppression-without-reason:warning:-:false"}},
		{"a suppression matching nothing is reported", "-- migration-guard:ignore drop-table reason=\"x\"\nDROP VIEW open_orders;",
			[]string{"drop-view:warning:-:false", "unused-suppression:warning:-:false"}},
		{"an unknown rule is reported", "/* migration-guard:ignore drop-colum reason='typo' */\nALTER TABLE customers ADD COLUMN x int;",
			[]string{"unused-suppression:warning:-:false"}},
		{"two rules at once", "-- migration-guard:ignore drop-view, drop-index reason=\"cleanup\"\nDROP VIEW open_orders;",
			[]string{"drop-view:warning:suppressed:false", "unused-suppression:warning:-:false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(tt.body)}}.analyze(t)
			var g []string
			for _, l := range rep.AllFindings() {
				f := l.Finding
				if f.Rule == "missing-lock-timeout" || f.Rule == ruleDownIncomplete.ID || f.Rule == ruleExistingRows.ID {
					continue
				}
				sup := "-"
				if f.Suppressed != nil {
					sup = "suppressed"
					if f.Suppressed.Reason == "" || f.Suppressed.Line != 2 {
						t.Errorf("suppression %+v", f.Suppressed)
					}
				}
				g = append(g, fmt.Sprintf("%s:%s:%s:%v", f.Rule, f.Severity, sup, f.RequiresApproval))
			}
			if strings.Join(g, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got  %v\nwant %v", g, tt.want)
			}
		})
	}
}

// shopStats is a statistics file with one large and one small table.
func shopStats(t *testing.T, lockTimeoutMS *int64) *prodstats.File {
	t.Helper()
	f := &prodstats.File{
		Format: "migration-guard-stats", Version: 1,
		Server: prodstats.Server{Version: "15.4", VersionNum: 150004},
		Tables: []prodstats.Table{
			{Schema: "public", Name: "orders", Rows: 200_000_000, HeapBytes: 40 << 30, IndexBytes: 8 << 30, TotalBytes: 48 << 30, Indexes: 3},
			{Schema: "public", Name: "customers", Rows: 1000, HeapBytes: 200 << 10, IndexBytes: 100 << 10, TotalBytes: 300 << 10, Indexes: 2},
		},
	}
	f.Settings.LockTimeoutMS = lockTimeoutMS
	var buf strings.Builder
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := prodstats.Load(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	return loaded
}

func (ch change) analyzeWithStats(t *testing.T, stats *prodstats.File) *Report {
	t.Helper()
	base := fstest.MapFS{}
	head := fstest.MapFS{}
	for p, s := range ch.base {
		base[p] = &fstest.MapFile{Data: []byte(s)}
		head[p] = &fstest.MapFile{Data: []byte(s)}
	}
	var changed []string
	for p, s := range ch.changed {
		head[p] = &fstest.MapFile{Data: []byte(s)}
		changed = append(changed, p)
	}
	sort.Strings(changed)
	cfg := DefaultConfig()
	if ch.cfg != nil {
		cfg = *ch.cfg
	}
	req := Request{Base: base, Head: head, Changed: changed, Config: cfg, Stats: stats}
	rep, err := Analyze(context.Background(), req)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	// The same change judged against the base schema read back from a
	// cache gives the same report, field for field.
	checkCachedReport(t, req, rep)
	return rep
}

func TestLockRules(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		stats bool
		want  []string
	}{
		{"no lock_timeout before a blocking lock: said once per part", "ALTER TABLE orders ADD COLUMN a int;\nALTER TABLE orders ADD COLUMN b int;", false,
			[]string{"missing-lock-timeout:warning@2"}},
		{"lock_timeout set first", "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN a int;", false, nil},
		{"SET LOCAL counts too", "SET LOCAL lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN a int;", false, nil},
		{"lock_timeout set back to 0", "SET lock_timeout = '2s';\nSET lock_timeout = 0;\nALTER TABLE orders ADD COLUMN a int;", false,
			[]string{"missing-lock-timeout:warning@4"}},
		{"a weak lock needs no timeout", "ALTER TABLE orders VALIDATE CONSTRAINT orders_note_check;", false, nil},
		{"new tables need no timeout", "CREATE TABLE t (id bigint PRIMARY KEY);\nALTER TABLE t ADD COLUMN a int;", false, nil},
		{"a rewrite of a table of unknown size", "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();", false,
			[]string{"table-rewrite:danger@3"}},
		{"a rewrite of a 48 GB table", "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();", true,
			[]string{"table-rewrite:danger@3"}},
		{"a rewrite of a 300 kB table", "SET lock_timeout = '2s';\nALTER TABLE customers ADD COLUMN token uuid DEFAULT gen_random_uuid();", true,
			[]string{"table-rewrite:info@3"}},
		{"a blocking index build", "SET lock_timeout = '2s';\nCREATE INDEX orders_note_idx ON orders (note);", false,
			[]string{"blocking-index-build:danger@3"}},
		{"type change that rewrites", "SET lock_timeout = '2s';\nALTER TABLE reporting.daily ALTER COLUMN total TYPE numeric;", false,
			[]string{"type-change-rewrite:danger@3"}},
		{"type change that narrows", "SET lock_timeout = '2s';\nALTER TABLE customers ALTER COLUMN name TYPE varchar(50);", false,
			[]string{"type-narrowing:danger@3"}},
		{"type change in the catalog only", "SET lock_timeout = '2s';\nALTER TABLE customers ALTER COLUMN name TYPE varchar(200);", false,
			[]string{"type-change-metadata:info@3"}},
		{"type change PostgreSQL refuses", "SET lock_timeout = '2s';\nALTER TABLE orders ALTER COLUMN note TYPE integer;", false,
			[]string{"type-change-fails:danger@3"}},
		{"type change of a column a view uses", "SET lock_timeout = '2s';\nALTER TABLE orders ALTER COLUMN customer_id TYPE int8;", false,
			[]string{"type-change-fails:danger@3", "type-change-metadata:info@3"}},
		{"more work after ACCESS EXCLUSIVE in the same transaction", "SET lock_timeout = '2s';\nALTER TABLE customers ADD COLUMN a int;\nUPDATE orders SET note = '' WHERE id < 100;", false,
			[]string{"update-rows:danger@4", "work-while-holding-lock:warning@4"}},
		{"a server default lock_timeout counts", "ALTER TABLE orders ADD COLUMN a int;", true, nil},
		{"a stored generated column rewrites", "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note_len int GENERATED ALWAYS AS (length(note)) STORED;", false,
			[]string{"table-rewrite:danger@3"}},
		{"a constant default does not", "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN flag boolean DEFAULT false;", false, nil},
		{"now() is not volatile", "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN seen_at timestamptz DEFAULT now();", false, nil},
		{"CLUSTER rewrites", "SET lock_timeout = '2s';\nCLUSTER orders USING orders_pkey;", false,
			[]string{"table-rewrite:danger@3"}},
		{"SET LOGGED rewrites", "SET lock_timeout = '2s';\nALTER TABLE orders SET UNLOGGED;", false,
			[]string{"table-rewrite:danger@3"}},
		{"VACUUM FULL rewrites, and not in a transaction", "SET lock_timeout = '2s';\nVACUUM FULL orders;", false,
			[]string{"cannot-run-in-transaction:danger@3", "table-rewrite:danger@3"}},
		{"REINDEX blocks", "SET lock_timeout = '2s';\nREINDEX INDEX orders_customer_id_idx;", false,
			[]string{"blocking-index-build:danger@3"}},
		{"DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE", "DROP INDEX orders_customer_id_idx;", false,
			[]string{"drop-index:warning@2", "missing-lock-timeout:warning@2"}},
	}
	two := int64(2000)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stats *prodstats.File
			if tt.stats {
				stats = shopStats(t, nil)
				if strings.HasPrefix(tt.name, "a server default") {
					stats = shopStats(t, &two)
				}
			}
			rep := change{base: shopBase, changed: map[string]string{next: goose(tt.body)}}.analyzeWithStats(t, stats)
			if g := got(rep); strings.Join(g, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got  %v\nwant %v", g, tt.want)
				for _, l := range rep.AllFindings() {
					t.Logf("  %s: %s", l.Finding.Rule, l.Finding.Message)
				}
			}
		})
	}
}

func TestLockDetails(t *testing.T) {
	rep := change{base: shopBase, changed: map[string]string{next: goose("SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();")}}.analyzeWithStats(t, shopStats(t, nil))
	f := findingOf(t, rep, "table-rewrite")
	for _, want := range []string{"rewrites public.orders", "ACCESS EXCLUSIVE", "~200.0M rows, 48.0 GB; estimated"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q: %s", want, f.Message)
		}
	}
	st := rep.Files[0].Statements[1]
	if st.Work != "rewrite" || st.Estimate == nil || st.Estimate.Rows != 200_000_000 || st.Estimate.HighMS <= st.Estimate.LowMS {
		t.Errorf("statement: work %q estimate %+v", st.Work, st.Estimate)
	}
	if len(st.Locks) == 0 || st.Locks[0].Relation != "public.orders" || st.Locks[0].Mode != "ACCESS EXCLUSIVE" || !st.Locks[0].Existing {
		t.Errorf("locks %+v", st.Locks)
	}
	// Without statistics the size is said to be unknown.
	rep = change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD CONSTRAINT c CHECK (length(note) < 9);")}}.analyze(t)
	f = findingOf(t, rep, "add-check-constraint")
	if !strings.Contains(f.Message, "the size of public.orders is unknown") {
		t.Errorf("a constraint's scan should carry the size note: %s", f.Message)
	}
	// The narrowing safe way keeps the type and adds a CHECK.
	rep = change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE customers ALTER COLUMN name TYPE varchar(50);")}}.analyze(t)
	f = findingOf(t, rep, "type-narrowing")
	if !strings.Contains(f.Message, "longer than 50") || !strings.Contains(f.SafeAlternative, "CHECK (char_length(name) <= 50) NOT VALID") {
		t.Errorf("narrowing: %s\n%s", f.Message, f.SafeAlternative)
	}
	// A rewrite's safe way reads the column from NEW in its trigger.
	rep = change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE reporting.daily ALTER COLUMN total TYPE numeric USING total::numeric;")}}.analyze(t)
	f = findingOf(t, rep, "type-change-rewrite")
	if !strings.Contains(f.SafeAlternative, "NEW.total_new := NEW.total::numeric;") {
		t.Errorf("safe way:\n%s", f.SafeAlternative)
	}
}

func TestStatsFromAnotherDatabaseIsSaid(t *testing.T) {
	other := shopStats(t, nil)
	other.Tables = []prodstats.Table{{Schema: "public", Name: "invoices", Rows: 10, TotalBytes: 8192}}
	rep := change{base: shopBase, changed: map[string]string{next: goose("SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();")}}.analyzeWithStats(t, other)
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "holds none of the 3 tables the migrations build") {
		t.Errorf("notes %q", rep.Notes)
	}
	f := findingOf(t, rep, "table-rewrite")
	if f.Severity != Danger || !strings.Contains(f.Message, "public.orders is not in the statistics file") {
		t.Errorf("a table missing from the statistics is judged as large: %s %s", f.Severity, f.Message)
	}
}

// TestLocksByVersion runs version-dependent lock rules at two target versions.
func TestLocksByVersion(t *testing.T) {
	for _, tt := range []struct {
		version int
		body    string
		want    []string
	}{
		// Renaming an index takes SHARE UPDATE EXCLUSIVE from 12, ACCESS EXCLUSIVE before.
		{11, "ALTER INDEX orders_customer_id_idx RENAME TO orders_cust_idx;", []string{"rename-index:warning@2", "missing-lock-timeout:warning@2"}},
		{15, "ALTER INDEX orders_customer_id_idx RENAME TO orders_cust_idx;", []string{"rename-index:info@2"}},
		// SET NOT NULL after a validated CHECK skips its scan from 12.
		{11, "ALTER TABLE orders ADD CONSTRAINT nn CHECK (note IS NOT NULL) NOT VALID;", nil},
	} {
		cfg := DefaultConfig()
		cfg.PostgresVersion = tt.version
		rep := change{base: shopBase, cfg: &cfg, changed: map[string]string{next: goose(tt.body)}}.analyze(t)
		g := got(rep)
		if !strings.Contains(strings.Join(tt.want, " "), "missing-lock-timeout") {
			g = without(g, "missing-lock-timeout")
		}
		if strings.Join(g, " ") != strings.Join(tt.want, " ") {
			t.Errorf("PostgreSQL %d, %s\n got  %v\n want %v", tt.version, tt.body, g, tt.want)
		}
	}
}

func TestDownPartUndoesUpPart(t *testing.T) {
	tests := []struct {
		name, file string
		want       string // "" when the down part undoes the up part
	}{
		{"drop column undoes add column", "-- +goose Up\nALTER TABLE orders ADD COLUMN x int;\n-- +goose Down\nALTER TABLE orders DROP COLUMN x;\n", ""},
		{"a placeholder undoes nothing", "-- +goose Up\nALTER TABLE orders ADD COLUMN x int;\n-- +goose Down\nSELECT 1;\n", "table public.orders: column x integer left behind"},
		{"a new table dropped again", "-- +goose Up\nCREATE TABLE t (id int PRIMARY KEY);\nCREATE INDEX t_id_idx ON t (id);\n-- +goose Down\nDROP TABLE t;\n", ""},
		{"a table left behind", "-- +goose Up\nCREATE TABLE t (id int);\n-- +goose Down\nSELECT 1;\n", "left behind: table public.t"},
		{"a dropped column restored, at the end of the table", "-- +goose Up\nALTER TABLE customers DROP COLUMN name;\n-- +goose Down\nALTER TABLE customers ADD COLUMN name varchar(100);\n", ""},
		{"restored with another type", "-- +goose Up\nALTER TABLE customers DROP COLUMN name;\n-- +goose Down\nALTER TABLE customers ADD COLUMN name text;\n", "table public.customers: column name text left behind"},
		{"a down part that does not parse is not judged", "-- +goose Up\nALTER TABLE orders ADD COLUMN x int;\n-- +goose Down\nALTER TABLEX orders DROP x;\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: tt.file}}.analyze(t)
			var msg string
			for _, l := range rep.AllFindings() {
				if l.Finding.Rule == ruleDownIncomplete.ID {
					msg = l.Finding.Message
					// The marker is the first line of the down part's SQL.
					if l.Finding.RequiresApproval || l.Statement != nil || l.Finding.Marker.Line != 4 {
						t.Errorf("finding %+v", l.Finding)
					}
				}
			}
			if (tt.want == "") != (msg == "") || !strings.Contains(msg, tt.want) {
				t.Errorf("got %q, want %q", msg, tt.want)
			}
		})
	}
	// An index is restored whether the down part builds it CONCURRENTLY
	// or not: how it was built is not part of the schema.
	rep := change{base: shopBase, changed: map[string]string{next: "-- +goose NO TRANSACTION\n-- +goose Up\nDROP INDEX CONCURRENTLY IF EXISTS orders_customer_id_idx;\n" +
		"-- +goose Down\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);\n"}}.analyze(t)
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleDownIncomplete.ID {
			t.Errorf("an index rebuilt CONCURRENTLY by the down part was taken for another: %s", l.Finding.Message)
		}
	}
	// golang-migrate: the separate down file is compared too.
	rep = change{base: map[string]string{"migrations/1_a.up.sql": "CREATE TABLE a (id int);", "migrations/1_a.down.sql": "DROP TABLE a;"},
		changed: map[string]string{"migrations/2_b.up.sql": "ALTER TABLE a ADD COLUMN b int;", "migrations/2_b.down.sql": "ALTER TABLE a DROP COLUMN b;"}}.analyze(t)
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleDownIncomplete.ID {
			t.Errorf("a matching .down.sql was flagged: %s", l.Finding.Message)
		}
	}
}
