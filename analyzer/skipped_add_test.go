package analyzer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// skippedSchema is the table the skipped-ADD cases run on: a has a NULL in
// every other row, and no default.
const skippedSchema = `CREATE TABLE p (id int PRIMARY KEY);
CREATE TABLE e (id int PRIMARY KEY, a int);`

const skippedData = `INSERT INTO p VALUES (1);
INSERT INTO e SELECT g, CASE WHEN g % 2 = 0 THEN g END FROM generate_series(1, 200) g;`

// TestSkippedAddColumn: ADD COLUMN IF NOT EXISTS of a column the table
// already has is skipped whole by PostgreSQL (NOTICE ... skipping): no
// rewrite, no index, no check, no sequence, no default, no type change;
// only the statement's ACCESS EXCLUSIVE lock is taken. Each case runs
// through the analyzer (want: the findings beside existing-rows; rows: what
// existing-rows says, "" for none) and on PostgreSQL 15, where the table
// must not be rewritten and column a must keep its type, default,
// constraints and NULLs (or, with fails, the change must fail there).
func TestSkippedAddColumn(t *testing.T) {
	cases := []struct {
		name, change string
		// unknown leaves the tables out of the base migrations: the
		// analyzer cannot know the column exists, and keeps what it says.
		unknown bool
		want    []string
		rows    string
		notRows string
		fails   string
	}{
		{name: "volatile default", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a bigint DEFAULT (random() * 100)::int;"},
		{name: "serial", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a serial;"},
		{name: "identity", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int GENERATED ALWAYS AS IDENTITY;"},
		{name: "stored generated", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int GENERATED ALWAYS AS (id * 2) STORED;"},
		{name: "NOT NULL without a default", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int NOT NULL;"},
		{name: "UNIQUE", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int UNIQUE;"},
		{name: "PRIMARY KEY", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int CONSTRAINT a_pk PRIMARY KEY;"},
		{name: "CHECK that old rows fail", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int CHECK (a > 1000);"},
		{name: "REFERENCES", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int DEFAULT 1 REFERENCES p (id);"},
		{name: "other type and a default", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a text DEFAULT 'x';"},
		{name: "the lock is still taken", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int DEFAULT 0;",
			want: []string{"missing-lock-timeout:warning@3"}},
		{name: "a new column beside a skipped one", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int DEFAULT 1, ADD COLUMN IF NOT EXISTS b int DEFAULT 2;",
			rows: "ADD COLUMN public.e.b DEFAULT 2: the existing rows read 2", notRows: "public.e.a"},
		{name: "a skipped default fills no NULL: SET NOT NULL still fails",
			change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int DEFAULT 0;\nALTER TABLE e ALTER COLUMN a SET NOT NULL;",
			want:   []string{"set-not-null:danger@4", "work-while-holding-lock:warning@4"}, fails: `column "a" of relation "e" contains null values`},
		// The analyzer does not know e: the column may be new, so what an
		// ADD COLUMN does is still said.
		{name: "unknown table: a serial may rewrite", change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a serial;", unknown: true,
			want: []string{"int-primary-key:info@3", "table-rewrite:danger@3"}, rows: "ADD COLUMN e.a (identity)"},
		{name: "unknown table: a default may not fill the column", unknown: true,
			change: "ALTER TABLE e ADD COLUMN IF NOT EXISTS a int DEFAULT 0;\nALTER TABLE e ALTER COLUMN a SET NOT NULL;",
			want:   []string{"set-not-null:danger@4", "work-while-holding-lock:warning@4"}, rows: "ADD COLUMN e.a DEFAULT 0", fails: `column "a" of relation "e" contains null values`},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.Scratch(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := goose("SELECT 1;")
			if !tc.unknown {
				base = goose(skippedSchema)
			}
			// Line 1 is goose's, line 2 sets lock_timeout (but in the case
			// about the lock), the change starts on line 3.
			first := "SET lock_timeout = '2s';"
			if strings.HasPrefix(tc.name, "the lock") {
				first = "-- no lock_timeout"
			}
			ch := change{base: map[string]string{"db/migrations/00001_init.sql": base},
				changed: map[string]string{next: goose(first + "\n" + tc.change)}}
			rep := ch.analyze(t)
			var rows []string
			for _, l := range rep.AllFindings() {
				if l.Finding.Rule == ruleExistingRows.ID {
					rows = append(rows, l.Finding.Message)
				}
			}
			if g := got(rep); strings.Join(g, " ") != strings.Join(tc.want, " ") {
				t.Errorf("analyzer: findings %q, want %q", g, tc.want)
			}
			if tc.rows == "" && len(rows) > 0 || tc.rows != "" && (len(rows) != 1 || !strings.Contains(rows[0], tc.rows) || tc.notRows != "" && strings.Contains(rows[0], tc.notRows)) {
				t.Errorf("analyzer: existing-rows %q, want %q", rows, tc.rows)
			}

			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(context.Background()) }()
			for _, sql := range []string{"DROP SCHEMA public CASCADE", "CREATE SCHEMA public", skippedSchema, skippedData} {
				if _, err := tx.Exec(ctx, sql); err != nil {
					t.Fatalf("setup %s: %v", sql, err)
				}
			}
			const state = `SELECT pg_relation_filenode('e'), format_type(a.atttypid, a.atttypmod), a.attnotnull,
	coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text || a.attgenerated::text,
	(SELECT count(*) FROM pg_constraint WHERE conrelid = 'e'::regclass),
	(SELECT count(*) FROM pg_class WHERE relkind = 'S'),
	(SELECT count(*) FROM e WHERE e.a IS NULL)
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = 'e'::regclass AND a.attname = 'a'`
			var before, after [8]any
			scan := func(v *[8]any) {
				t.Helper()
				ptrs := make([]any, len(v))
				for i := range v {
					ptrs[i] = &v[i]
				}
				if err := tx.QueryRow(ctx, state).Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
			}
			scan(&before)
			stmts, err := pg_query.SplitWithParser(tc.change, true)
			if err != nil {
				t.Fatal(err)
			}
			var failed error
			for _, sql := range stmts {
				if _, failed = tx.Exec(ctx, sql); failed != nil {
					break
				}
			}
			switch {
			case tc.fails == "" && failed != nil:
				t.Fatalf("server: %v", failed)
			case tc.fails != "" && (failed == nil || !strings.Contains(failed.Error(), tc.fails)):
				t.Fatalf("server: %v, want it to fail with %q", failed, tc.fails)
			case tc.fails != "":
				return
			}
			scan(&after)
			if before != after {
				t.Errorf("server: the statement changed e or its column a (file node, type, NOT NULL, default, identity/generated, constraints, sequences, NULLs): %v, was %v", after, before)
			}
		})
	}
}
