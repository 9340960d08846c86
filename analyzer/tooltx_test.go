package analyzer

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/internal/pgtest"
)

const flywayInit = "db/migration/V1__init.sql"

var flywayBase = map[string]string{flywayInit: `CREATE TABLE t (id int PRIMARY KEY, email text);
CREATE INDEX t_email_idx ON t (email);
CREATE TABLE mp (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE mp_1 PARTITION OF mp FOR VALUES FROM (0) TO (100);`,
	"db/migration/R__views.sql": "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT id FROM t;\n"}

// Flyway decides from its own list of statement beginnings whether a script
// runs outside a transaction; a statement PostgreSQL refuses in a
// transaction but missing from that list is wrapped, and fails.
func TestFlywayTransactionList(t *testing.T) {
	tests := []struct {
		name, sql string
		mode      string
		want      []string
	}{
		{"on Flyway's list: CREATE INDEX CONCURRENTLY runs without a transaction", "CREATE INDEX CONCURRENTLY t_id_idx ON t (id);", "none", nil},
		{"on Flyway's list: REINDEX SCHEMA runs without a transaction", "REINDEX SCHEMA public;", "none", nil},
		{"on Flyway's list: DISCARD ALL runs without a transaction", "DISCARD ALL;", "none", nil},
		{"not on Flyway's list: REINDEX TABLE CONCURRENTLY is wrapped and fails", "REINDEX TABLE CONCURRENTLY t;", "wrapped",
			[]string{"cannot-run-in-transaction:danger@1"}},
		{"not on Flyway's list: REINDEX INDEX CONCURRENTLY is wrapped and fails", "REINDEX INDEX CONCURRENTLY t_email_idx;", "wrapped",
			[]string{"cannot-run-in-transaction:danger@1"}},
		{"not on Flyway's list: DETACH PARTITION CONCURRENTLY is wrapped and fails", "ALTER TABLE mp DETACH PARTITION mp_1 CONCURRENTLY;", "wrapped",
			[]string{"cannot-run-in-transaction:danger@1"}},
		{"an ordinary statement is wrapped", "ALTER TABLE t ADD COLUMN note text;", "wrapped", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := change{base: flywayBase, changed: map[string]string{"db/migration/V2__change.sql": tt.sql}}.analyze(t)
			var g []string
			for _, f := range got(rep) {
				if strings.HasPrefix(f, "cannot-run-in-transaction:") {
					g = append(g, f)
				}
			}
			if strings.Join(g, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got(rep), tt.want)
			}
			if len(rep.Files) != 1 || rep.Files[0].TransactionMode != tt.mode {
				t.Fatalf("transaction mode: %+v, want %s", rep.Files, tt.mode)
			}
			if len(tt.want) > 0 {
				f := findingOf(t, rep, "cannot-run-in-transaction")
				if !strings.Contains(f.Message, "Flyway runs this script inside a transaction") || !strings.Contains(f.SafeAlternative, "executeInTransaction=false") {
					t.Errorf("finding: %s\n%s", f.Message, f.SafeAlternative)
				}
			}
		})
	}
	// What Flyway wraps, PostgreSQL refuses.
	url := pgtest.Scratch(t, flywayBase[flywayInit])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, tt := range tests {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, tt.sql)
		refused := err != nil && strings.Contains(err.Error(), "cannot run inside a transaction block")
		// Everything but the ordinary statement is refused in a transaction
		// block: on Flyway's list or not.
		if refused != (tt.mode == "none" || len(tt.want) > 0) {
			t.Errorf("%s in a transaction: %v", tt.sql, err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// A repeatable migration runs again, whole, whenever it changes: editing
// it is no edited-migration, and every statement of it is judged.
func TestFlywayRepeatableEdited(t *testing.T) {
	rep := change{base: flywayBase, changed: map[string]string{"db/migration/R__views.sql": "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT id, email FROM t;\n"}}.analyze(t)
	g := strings.Join(got(rep), " ")
	if strings.Contains(g, "edited-migration") {
		t.Errorf("an edited repeatable migration is normal: %s", g)
	}
	if !strings.Contains(g, "drop-view:") {
		t.Errorf("the unchanged DROP VIEW runs again and must be judged: %s", g)
	}
	// A versioned migration is another matter.
	rep = change{base: flywayBase, changed: map[string]string{flywayInit: flywayBase[flywayInit] + "\nCREATE TABLE u (id int);"}}.analyze(t)
	if g := strings.Join(got(rep), " "); !strings.Contains(g, "edited-migration:warning@file") {
		t.Errorf("an edited versioned migration: %s", g)
	}
}

// Flyway with group=true applies every pending migration in one
// transaction, as drizzle does; by default each in its own.
func TestFlywayGroup(t *testing.T) {
	files := map[string]string{
		"db/migration/V2__add_value.sql": "ALTER TYPE mood ADD VALUE 'sad';",
		"db/migration/V3__use_value.sql": "INSERT INTO m VALUES (2, 'sad');",
	}
	base := map[string]string{flywayInit: "CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE m (id int PRIMARY KEY, x mood);"}
	for _, group := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Migrations = []layout.Location{{Path: "db/migration", Layout: layout.Flyway, Options: layout.Options{Group: group}}}
		rep := change{base: base, changed: files, cfg: &cfg}.analyze(t)
		g := strings.Join(got(rep), " ")
		if found := strings.Contains(g, "enum-value-in-same-transaction:danger@1"); found != group {
			t.Errorf("group=%v: %s", group, g)
		}
	}
}
