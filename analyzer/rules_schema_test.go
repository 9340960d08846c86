package analyzer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// schemaBase is what the migrations before each case created, both for the
// analyzer (as a goose migration) and on the real server.
const schemaBase = `CREATE TABLE t (id int PRIMARY KEY, a text);
CREATE TABLE u (id int);
CREATE VIEW v AS SELECT id FROM t;
CREATE SEQUENCE s;
DO $$ BEGIN ALTER TABLE u ADD COLUMN c int; END $$;
CREATE TABLE dropped (id int, gone text);
ALTER TABLE dropped DROP COLUMN gone;`

// TestFailsAgainstSchema runs each case on a real PostgreSQL 15 after the
// base schema, and checks that the statement fails there with the SQLSTATE
// the finding names (or succeeds where no finding is given), and that the
// analyzer reports fails-against-schema exactly where the replay is certain.
func TestFailsAgainstSchema(t *testing.T) {
	tests := []struct {
		name string
		up   string
		// state is the SQLSTATE the server raises ("" when it runs); the
		// finding names it when finding is set.
		state   string
		finding bool
	}{
		{"ADD COLUMN of a column the migrations added", "ALTER TABLE t ADD COLUMN a text;", "42701", true},
		{"ADD COLUMN IF NOT EXISTS", "ALTER TABLE t ADD COLUMN IF NOT EXISTS a text;", "", false},
		{"CREATE TABLE that exists", "CREATE TABLE t (x int);", "42P07", true},
		{"CREATE TABLE IF NOT EXISTS", "CREATE TABLE IF NOT EXISTS t (x int);", "", false},
		{"CREATE TABLE over a sequence's name", "CREATE TABLE s (x int);", "42P07", true},
		{"CREATE TABLE over a view's name", "CREATE TABLE public.v (x int);", "42P07", true},
		{"DROP COLUMN of a column never added", "ALTER TABLE t DROP COLUMN x;", "42703", true},
		{"DROP COLUMN IF EXISTS", "ALTER TABLE t DROP COLUMN IF EXISTS x;", "", false},
		{"DROP COLUMN of a column dropped before", "ALTER TABLE dropped DROP COLUMN gone;", "42703", true},
		{"DROP COLUMN of a column a DO block added", "ALTER TABLE u DROP COLUMN c;", "", false},
		{"RENAME COLUMN of a missing column", "ALTER TABLE t RENAME COLUMN x TO y;", "42703", true},
		{"RENAME COLUMN onto an existing column", "ALTER TABLE t RENAME COLUMN id TO a;", "42701", true},
		{"RENAME COLUMN", "ALTER TABLE t RENAME COLUMN a TO b;", "", false},
		{"ALTER COLUMN TYPE of a missing column", "ALTER TABLE t ALTER COLUMN x TYPE int;", "42703", true},
		{"SET NOT NULL of a missing column", "ALTER TABLE t ALTER COLUMN x SET NOT NULL;", "42703", true},
		{"RENAME TABLE onto an existing table", "ALTER TABLE t RENAME TO u;", "42P07", true},
		{"dropped then added again", "ALTER TABLE t DROP COLUMN a;\nALTER TABLE t ADD COLUMN a int;", "", false},
		{"dropped and added in one statement", "ALTER TABLE t DROP COLUMN a, ADD COLUMN a int;", "", false},
		{"added then altered in one statement", "ALTER TABLE t ADD COLUMN b int, ALTER COLUMN b SET NOT NULL;", "", false},
		{"added earlier in the change, then dropped", "ALTER TABLE t ADD COLUMN b text;\nALTER TABLE t DROP COLUMN b;", "", false},
		{"a table no migration created", "ALTER TABLE elsewhere DROP COLUMN x;", "42P01", false},
		{"a view: not checked", "ALTER TABLE v RENAME COLUMN nope TO x;", "42703", false},
		{"a temporary table", "CREATE TEMP TABLE t (x int);", "", false},
		{"inside a DO block", "DO $$ BEGIN ALTER TABLE t ADD COLUMN a text; END $$;", "42701", true},
		{"inside BEGIN ... EXCEPTION, which catches it", "DO $$ BEGIN BEGIN ALTER TABLE t ADD COLUMN a text; EXCEPTION WHEN duplicate_column THEN NULL; END; END $$;", "", false},
		{"in an exception handler's action", "DO $$ BEGIN BEGIN PERFORM 1/0; EXCEPTION WHEN division_by_zero THEN ALTER TABLE t ADD COLUMN a text; END; END $$;", "42701", true},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := change{base: map[string]string{"db/migrations/00001_init.sql": goose(schemaBase)},
				changed: map[string]string{next: goose(tc.up)}}.analyze(t)
			var found []Finding
			for _, l := range rep.AllFindings() {
				if l.Finding.Rule == ruleFailsAgainstSchema.ID {
					found = append(found, *l.Finding)
				}
			}
			switch {
			case tc.finding && len(found) != 1:
				t.Errorf("want one %s finding, got %d: %v", ruleFailsAgainstSchema.ID, len(found), got(rep))
			case !tc.finding && len(found) != 0:
				t.Errorf("want no %s finding, got %q", ruleFailsAgainstSchema.ID, found[0].Message)
			case tc.finding && !strings.Contains(found[0].Message, "SQLSTATE "+tc.state):
				t.Errorf("finding does not name SQLSTATE %s: %s", tc.state, found[0].Message)
			case tc.finding && (found[0].Severity != Warning || found[0].Question != QTransaction):
				t.Errorf("severity %s question %d", found[0].Severity, found[0].Question)
			}

			conn, err := pgx.Connect(ctx, pgtest.Scratch(t, schemaBase))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, tc.up)
			var pgErr *pgconn.PgError
			switch {
			case tc.state == "" && err != nil:
				t.Errorf("PostgreSQL rejects it: %v", err)
			case tc.state != "" && !errors.As(err, &pgErr):
				t.Errorf("PostgreSQL runs it; want SQLSTATE %s (%v)", tc.state, err)
			case tc.state != "" && pgErr.Code != tc.state:
				t.Errorf("PostgreSQL says SQLSTATE %s (%s), want %s", pgErr.Code, pgErr.Message, tc.state)
			}
		})
	}
}
