package analyzer

// The proof that the safe ways run: for a fixture per rule that prints a
// safe way, the schema (with rows) is applied to two scratch databases of a
// real PostgreSQL; the original statement runs in one, the printed safe way
// in the other as an operator runs it (statement by statement, each on its
// own unless the text opens a transaction; CONCURRENTLY outside one; a
// batched UPDATE or DELETE repeated until it changes 0 rows), and the two
// databases are compared: columns (type, NOT NULL, default, identity,
// collation), index definitions modulo the index's name, constraint
// definitions, views, triggers and functions left behind, and a checksum
// of every table's rows.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// safeCase is one statement whose safe way is run.
type safeCase struct {
	name string
	rule string
	// schema is the existing schema with its rows, a migration at the base.
	schema string
	// stmt is the migration of the change (goose up part).
	stmt string
	// intended is what the original means, run instead of stmt where the
	// original cannot run on the rows (NOT NULL without a default) or where
	// the safe way is meant to end elsewhere (a CHECK instead of a shorter
	// type); empty means stmt.
	intended string
	// values are what the operator fills in for placeholders.
	values map[string]string
	// volatile columns (table.column) hold per-row random values: they are
	// compared by how many rows hold NULL.
	volatile []string
	// extra relations the safe way leaves on purpose (a backup table, a
	// view that keeps the old name working).
	extra []string
	// none says the rule prints no SQL for this statement, only why.
	none bool
	// after says the safe way is run after the statement itself (an index
	// the statement's foreign key needs), not instead of it.
	after bool
	// before are the statements of the change that the safe way does not
	// replace (the ADD COLUMN a backfill fills), run first.
	before string
}

const safeSchema = `
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    "Name" varchar(100),
    "offset" integer,
    profile jsonb,
    note text
);
INSERT INTO customers (email, "Name", "offset", profile, note)
SELECT 'c' || g || '@example.com', CASE WHEN g % 7 = 0 THEN NULL ELSE 'Name ' || g END, g % 500,
       jsonb_build_object('tier', g % 3, 'tags', jsonb_build_array('a' || (g % 5))), CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END
FROM generate_series(1, 2500) g;
CREATE TABLE "Orders" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "userId" bigint NOT NULL,
    total integer NOT NULL DEFAULT 0,
    qty integer,
    placed_at timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00',
    code text
);
INSERT INTO "Orders" ("userId", total, qty, placed_at, code)
SELECT 1 + g % 2500, g % 1000, CASE WHEN g % 11 = 0 THEN NULL ELSE g % 9 END, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute', 'K' || g
FROM generate_series(1, 30000) g;
CREATE TABLE events (seq integer, kind text, body text);
INSERT INTO events SELECT g, 'k' || (g % 4), CASE WHEN g % 5 = 0 THEN NULL ELSE 'b' || g END FROM generate_series(1, 22000) g;
CREATE INDEX events_seq_idx ON events (seq);
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE notes (id bigint PRIMARY KEY, feeling mood NOT NULL, body text);
INSERT INTO notes SELECT g, (ARRAY['sad','ok','happy'])[1 + g % 3]::mood, 'x' || g FROM generate_series(1, 12000) g;
CREATE SEQUENCE invoice_seq;
`

func safeCases() []safeCase {
	return []safeCase{
		{name: "btree index with DESC NULLS FIRST, INCLUDE, predicate, mixed case", rule: ruleBlockingIndexBuild.ID,
			stmt: `CREATE INDEX orders_user_idx ON "Orders" ("userId" DESC NULLS FIRST, placed_at) INCLUDE (total) WHERE qty IS NOT NULL;`},
		{name: "gin index with an operator class", rule: ruleBlockingIndexBuild.ID,
			stmt: `CREATE INDEX customers_profile_idx ON customers USING gin (profile jsonb_path_ops);`},
		{name: "brin index with storage options", rule: ruleBlockingIndexBuild.ID,
			stmt: `CREATE INDEX orders_placed_brin ON "Orders" USING brin (placed_at) WITH (pages_per_range = 32);`},
		{name: "hash index on a reserved-word column", rule: ruleBlockingIndexBuild.ID,
			stmt: `CREATE INDEX ON customers USING hash ("offset");`},
		{name: "gist index with an expression", rule: ruleBlockingIndexBuild.ID,
			stmt: `CREATE INDEX customers_note_tsv ON customers USING gist (to_tsvector('simple', coalesce(note, '')));`},
		{name: "expression index with a collation and a tablespace", rule: ruleBlockingIndexBuild.ID,
			stmt: `CREATE INDEX customers_name_lower ON customers (lower("Name") COLLATE "C" text_pattern_ops) TABLESPACE pg_default;`},
		{name: "REINDEX of one index", rule: ruleBlockingIndexBuild.ID,
			stmt: `REINDEX INDEX events_seq_idx;`},
		{name: "unique index NULLS NOT DISTINCT, partial", rule: ruleCreateUniqueIndex.ID,
			stmt: `CREATE UNIQUE INDEX orders_code_key ON "Orders" (code) NULLS NOT DISTINCT WHERE total > 10;`},
		{name: "unique constraint with INCLUDE, deferrable", rule: ruleAddUnique.ID,
			stmt: `ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email) INCLUDE ("Name") DEFERRABLE INITIALLY DEFERRED;`},
		{name: "primary key on a table without one", rule: ruleAddUnique.ID,
			stmt: `ALTER TABLE events ADD PRIMARY KEY (seq);`},
		{name: "check on a reserved-word column", rule: ruleAddCheck.ID,
			stmt: `ALTER TABLE customers ADD CONSTRAINT customers_offset_range CHECK ("offset" >= 0 AND "offset" < 1000);`},
		{name: "foreign key with actions, MATCH FULL, deferrable, unnamed", rule: ruleAddForeignKey.ID,
			stmt: `ALTER TABLE "Orders" ADD FOREIGN KEY ("userId") REFERENCES customers (id) MATCH FULL ON DELETE CASCADE ON UPDATE RESTRICT DEFERRABLE INITIALLY DEFERRED;`},
		{name: "NOT NULL column without a default", rule: ruleAddColumnNotNull.ID,
			stmt:     `ALTER TABLE customers ADD COLUMN region text NOT NULL;`,
			intended: `ALTER TABLE customers ADD COLUMN region text NOT NULL DEFAULT 'eu'; ALTER TABLE customers ALTER COLUMN region DROP DEFAULT;`,
			values:   map[string]string{"<value>": "'eu'"}},
		{name: "SET NOT NULL on a column with NULLs", rule: ruleSetNotNull.ID,
			stmt:     `ALTER TABLE "Orders" ALTER COLUMN qty SET NOT NULL;`,
			intended: `UPDATE "Orders" SET qty = 0 WHERE qty IS NULL; ALTER TABLE "Orders" ALTER COLUMN qty SET NOT NULL;`,
			values:   map[string]string{"<value>": "0"}},
		{name: "volatile default rewrites the table", rule: ruleTableRewrite.ID,
			stmt:     `ALTER TABLE customers ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();`,
			volatile: []string{"customers.token"}},
		{name: "integer to bigint, NOT NULL with a default", rule: ruleTypeRewrite.ID,
			stmt: `ALTER TABLE "Orders" ALTER COLUMN total TYPE bigint;`},
		{name: "integer to numeric with USING", rule: ruleTypeRewrite.ID,
			stmt: `ALTER TABLE "Orders" ALTER COLUMN qty TYPE numeric(12,2) USING qty * 1.5;`},
		{name: "varchar narrowed: kept, with a CHECK", rule: ruleTypeNarrowing.ID,
			stmt:     `ALTER TABLE customers ALTER COLUMN "Name" TYPE varchar(20);`,
			intended: `ALTER TABLE customers ADD CONSTRAINT "customers_Name_length" CHECK (char_length("Name") <= 20);`},
		{name: "text to integer without USING", rule: ruleTypeChangeFails.ID,
			schema:   `CREATE TABLE codes (id bigint PRIMARY KEY, n text); INSERT INTO codes SELECT g, (g * 3)::text FROM generate_series(1, 5000) g;`,
			stmt:     `ALTER TABLE codes ALTER COLUMN n TYPE integer;`,
			intended: `ALTER TABLE codes ALTER COLUMN n TYPE integer USING n::integer;`},
		{name: "drop column keeps a copy", rule: ruleDropColumn.ID,
			stmt: `ALTER TABLE customers DROP COLUMN note;`, extra: []string{"customers_note_backup"}},
		{name: "drop constraint with a lock timeout", rule: ruleDropConstraint.ID,
			schema: `ALTER TABLE "Orders" ADD CONSTRAINT orders_total_positive CHECK (total >= 0);`,
			stmt:   `ALTER TABLE "Orders" DROP CONSTRAINT orders_total_positive;`},
		{name: "a primary key replaced in one ALTER TABLE, kept whole", rule: ruleDropConstraint.ID,
			stmt: `ALTER TABLE notes DROP CONSTRAINT notes_pkey, ADD CONSTRAINT notes_pkey PRIMARY KEY (id, feeling);`},
		{name: "a key added with the column it needs and in place of another: no rewrite of one part", rule: ruleAddUnique.ID, none: true,
			stmt: `ALTER TABLE events ADD COLUMN id bigserial, ADD PRIMARY KEY (id);`},
		{name: "drop index concurrently", rule: ruleDropIndex.ID,
			stmt: `DROP INDEX events_seq_idx;`},
		{name: "drop sequence", rule: ruleDropSequence.ID,
			stmt: `DROP SEQUENCE invoice_seq;`},
		{name: "truncate in batches", rule: ruleTruncate.ID,
			stmt: `TRUNCATE events;`},
		{name: "delete everything in batches", rule: ruleDeleteAll.ID,
			stmt: `DELETE FROM notes;`},
		{name: "backfill of a column added in the change, in batches", rule: ruleBackfill.ID,
			before: `ALTER TABLE customers ADD COLUMN plan text;`,
			stmt:   "ALTER TABLE customers ADD COLUMN plan text;\nUPDATE customers SET plan = 'free';"},
		{name: "a new enum value used in the transaction that added it, split in two", rule: "enum-value-in-same-transaction",
			stmt:     "ALTER TYPE mood ADD VALUE 'great';\nUPDATE notes SET feeling = 'great' WHERE id % 10 = 0;",
			intended: "ALTER TYPE mood ADD VALUE 'great';\nUPDATE notes SET feeling = 'great' WHERE id % 10 = 0;"},
		{name: "NULLs filled with COALESCE, in batches", rule: ruleBackfill.ID,
			stmt: `UPDATE "Orders" SET qty = COALESCE(qty, 0);`},
		{name: "update everything in batches", rule: ruleUpdateAll.ID,
			stmt: `UPDATE "Orders" SET code = upper(code), qty = coalesce(qty, 0);`},
		{name: "rename a table, the old name kept as a view", rule: ruleRenameTable.ID,
			stmt: `ALTER TABLE events RENAME TO happenings;`, extra: []string{"events"}},
		{name: "rename a column by expand and contract", rule: ruleRenameColumn.ID,
			stmt: `ALTER TABLE customers RENAME COLUMN note TO remark;`},
		{name: "rename a NOT NULL column with a default", rule: ruleRenameColumn.ID,
			stmt: `ALTER TABLE "Orders" RENAME COLUMN placed_at TO "placedOn";`},
		{name: "rename an indexed column: no SQL, the reason", rule: ruleRenameColumn.ID, none: true,
			stmt: `ALTER TABLE events RENAME COLUMN seq TO "position";`},
		{name: "rename an enum value", rule: ruleRenameEnumValue.ID,
			stmt: `ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';`},
		{name: "lock timeout before a blocking ALTER", rule: ruleLockTimeout.ID,
			stmt: `ALTER TABLE notes ADD COLUMN seen boolean;`},
		{name: "concurrent index in a transaction", rule: ruleCannotRunInTransaction.ID,
			stmt: `CREATE INDEX CONCURRENTLY notes_body_idx ON notes (body);`},
		{name: "index for a new foreign key", rule: ruleFKWithoutIndex.ID, after: true,
			stmt:     `ALTER TABLE notes ADD COLUMN "ownerId" bigint REFERENCES customers (id);`,
			intended: `ALTER TABLE notes ADD COLUMN "ownerId" bigint REFERENCES customers (id); CREATE INDEX ON notes ("ownerId");`},
		{name: "index for the foreign key of a new table", rule: ruleFKWithoutIndex.ID, after: true,
			stmt:     `CREATE TABLE "Payments" (id bigint PRIMARY KEY, "customerId" bigint REFERENCES customers (id));`,
			intended: `CREATE TABLE "Payments" (id bigint PRIMARY KEY, "customerId" bigint REFERENCES customers (id)); CREATE INDEX ON "Payments" ("customerId");`},
		{name: "domain constraint NOT VALID, then VALIDATE", rule: ruleDomainConstraint.ID,
			schema: `CREATE DOMAIN "Email" AS text; CREATE TABLE contacts (e "Email"); INSERT INTO contacts SELECT 'x' || g || '@y' FROM generate_series(1, 3000) g;`,
			stmt:   `ALTER DOMAIN "Email" ADD CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%');`},
		{name: "drop table", rule: ruleDropTable.ID,
			stmt: `DROP TABLE notes;`},
		{name: "drop view", rule: ruleDropView.ID,
			schema: `CREATE VIEW happy_notes AS SELECT id FROM notes WHERE feeling = 'happy';`,
			stmt:   `DROP VIEW happy_notes;`},
		{name: "drop type", rule: ruleDropType.ID,
			schema: `CREATE TYPE unused_kind AS ENUM ('a', 'b');`,
			stmt:   `DROP TYPE unused_kind;`},
		{name: "drop schema", rule: ruleDropSchema.ID,
			schema: `CREATE SCHEMA scratchpad;`,
			stmt:   `DROP SCHEMA scratchpad;`},
		{name: "scan of ATTACH PARTITION: no SQL, the reason", rule: ruleBlockingScan.ID, none: true,
			schema: `CREATE TABLE metrics (at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE metrics_2024 (at date NOT NULL, v int); INSERT INTO metrics_2024 SELECT '2024-01-01'::date + g % 300, g FROM generate_series(1, 1000) g;`,
			stmt: `ALTER TABLE metrics ATTACH PARTITION metrics_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');`},
		{name: "rewrite with no rewrite-free form: no SQL, the reason", rule: ruleTableRewrite.ID, none: true,
			stmt:   `ALTER TABLE events SET LOGGED;`,
			schema: `ALTER TABLE events SET UNLOGGED;`},
		{name: "integer primary key to bigint, the key rebuilt", rule: ruleTypeRewrite.ID,
			schema: `CREATE TABLE legacy ("Id" integer, part smallint, v text, PRIMARY KEY (part, "Id") INCLUDE (v));
INSERT INTO legacy SELECT g, g % 3, 'v' || g FROM generate_series(1, 21000) g;`,
			stmt: `ALTER TABLE legacy ALTER COLUMN "Id" TYPE bigint;`},
		{name: "type change of an identity column: no SQL, the reason", rule: ruleTypeRewrite.ID, none: true,
			stmt: `ALTER TABLE customers ALTER COLUMN id TYPE numeric;`},
		{name: "type change of a column a foreign key references: no SQL, the reason", rule: ruleTypeRewrite.ID, none: true,
			schema: `CREATE TABLE parent (id integer PRIMARY KEY); CREATE TABLE child (p integer REFERENCES parent (id));`,
			stmt:   `ALTER TABLE parent ALTER COLUMN id TYPE bigint;`},
	}
}

func TestSafeWaysRunOnPostgres(t *testing.T) {
	template := pgtest.Scratch(t, safeSchema)
	for _, tc := range safeCases() {
		t.Run(tc.name, func(t *testing.T) {
			schema := safeSchema + tc.schema
			rep := change{
				base:    map[string]string{"db/migrations/00001_init.sql": goose(schema)},
				changed: map[string]string{next: goose(tc.stmt)},
			}.analyze(t)
			f := findingOf(t, rep, tc.rule)
			safe := f.SafeAlternative
			report := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("rule %s\nstatement:\n%s\nsafe way:\n%s\n\n%s", tc.rule, tc.stmt, safe, fmt.Sprintf(format, args...))
			}
			stmts, err := operatorSteps(safe, tc.values)
			if err != nil {
				report("the safe way cannot be run: %v", err)
			}
			if tc.none {
				if len(stmts) > 0 || !strings.HasPrefix(safe, "-- ") {
					report("expected no SQL, only the reason")
				}
				return
			}
			if len(stmts) == 0 {
				report("the safe way holds no SQL")
			}
			ctx := context.Background()
			orig := connectScratch(t, template, tc.schema)
			sugg := connectScratch(t, template, tc.schema)
			intended := tc.intended
			if intended == "" {
				intended = tc.stmt
			}
			// What the original means runs as an operator would run it too:
			// statement by statement (a new enum value is used only after
			// the statement that added it committed).
			intendedSteps, err := operatorSteps(intended, nil)
			if err != nil {
				t.Fatalf("what the original means cannot be run: %v", err)
			}
			if err := runOperator(ctx, orig, intendedSteps); err != nil {
				t.Fatalf("the original (or what it means) fails: %v\n%s", err, intended)
			}
			if tc.after {
				stmts = append([]string{tc.stmt}, stmts...)
			}
			if tc.before != "" {
				stmts = append([]string{tc.before}, stmts...)
			}
			if err := runOperator(ctx, sugg, stmts); err != nil {
				report("running it: %v", err)
			}
			want, err := snapshot(ctx, orig, tc.volatile, nil)
			if err != nil {
				t.Fatal(err)
			}
			have, err := snapshot(ctx, sugg, tc.volatile, tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffLines(want, have); d != "" {
				report("the effect differs from the original's (- original, + safe way):\n%s", d)
			}
		})
	}
}

// Every rule whose page shows SQL in its safe way has a case above; the
// rules left out print a column definition or need names only the
// operator knows (listed so that a new rule is not forgotten).
func TestSafeWayCasesCoverEveryRule(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range safeCases() {
		covered[tc.rule] = true
	}
	notRun := map[string]string{
		ruleIntKey.ID: "a column definition", ruleSerialColumn.ID: "a column definition", ruleJSONColumn.ID: "a column definition",
		ruleTimestampNoZone.ID: "a column definition", ruleCharColumn.ID: "a column definition",
		ruleSequenceRestart.ID: "names the id column and table, which the operator fills in",
	}
	for _, r := range Rules() {
		if !covered[r.ID] && notRun[r.ID] == "" && printsSQL(r) && !docOnly[r.ID] {
			t.Errorf("rule %s prints a safe way that no case here runs", r.ID)
		}
	}
}

// docOnly are rules whose findings print no SQL of their own (only the
// rule page's example does): file-level and comment-only advice.
var docOnly = map[string]bool{
	"down-incomplete": true, "unreadable-file": true, "syntax-error": true, "psql-meta-command": true, "migration-layout": true,
	"edited-migration": true, "missing-down": true, "work-while-holding-lock": true, "validate-in-same-transaction": true,
	"add-exclusion-constraint": true, "identifier-too-long": true, "enable-row-level-security": true, "disable-trigger": true,
	"revoke-privileges": true, "concurrent-index-pg14-bug": true, "rename-schema": true, "rename-type": true, "rename-constraint": true,
	"rename-index": true, "rename-object": true, "nested-begin": true, "commit-in-wrapped-transaction": true, "begin-without-commit": true,
	"statements-without-transaction": true, "type-change-metadata": true, "enum-add-value": true, "suppression-without-reason": true,
	"unused-suppression": true, "drop-database": true, "drop-object": true,
	// Advice only: the finding names what to review, the page shows an example.
	"copy-from": true, "drop-owned": true, "reassign-owned": true, "merge-matched": true, "dynamic-sql": true,
	"unreadable-body": true, "psql-variable": true,
	// Found by a rehearsal: what PostgreSQL said is the finding; nothing to run.
	"fails-at-deploy": true, "down-does-not-restore": true,
	// The finding names the object the replayed schema disagrees about;
	// which side is right is the author's call, so no SQL is printed.
	"fails-against-schema": true,
}

// printsSQL says the rule's page shows SQL in its safe way.
func printsSQL(r Rule) bool {
	stmts, err := operatorSteps(r.Safe, nil)
	return err == nil && len(stmts) > 0
}

// operatorSteps splits a safe way into the statements an operator runs,
// with placeholders filled in. Comments, and the tools' own annotations
// (-- +goose NO TRANSACTION, -- migrate:up transaction:false), are not
// statements; a placeholder left unfilled is refused.
func operatorSteps(safe string, values map[string]string) ([]string, error) {
	for k, v := range values {
		safe = strings.ReplaceAll(safe, k, v)
	}
	if i := strings.Index(safe, "<"); i >= 0 {
		if res, err := pg_query.Scan(safe); err == nil {
			for _, tok := range res.GetTokens() {
				if tok.GetToken() == pg_query.Token_Op && safe[tok.GetStart():tok.GetEnd()] == "<" &&
					tok.GetEnd() < int32(len(safe)) && safe[tok.GetEnd()] != ' ' && safe[tok.GetEnd()] != '=' {
					return nil, fmt.Errorf("a placeholder is left to fill in at %q", safe[tok.GetStart():min(int(tok.GetStart())+20, len(safe))])
				}
			}
		}
	}
	parts, err := pg_query.SplitWithParser(safe, true)
	if err != nil {
		return nil, fmt.Errorf("splitting: %w", err)
	}
	var out []string
	for _, p := range parts {
		res, err := pg_query.Parse(p)
		if err != nil {
			return nil, fmt.Errorf("%q does not parse: %w", p, err)
		}
		if len(res.GetStmts()) > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// batched says a statement is an UPDATE or DELETE of a batch (a LIMIT in
// its subquery): the operator repeats it until it changes 0 rows.
func batched(sql string) bool {
	res, err := pg_query.Parse(sql)
	if err != nil || len(res.GetStmts()) != 1 {
		return false
	}
	n := res.GetStmts()[0].GetStmt()
	if n.GetUpdateStmt() == nil && n.GetDeleteStmt() == nil {
		return false
	}
	toks, err := pg_query.Scan(sql)
	if err != nil {
		return false
	}
	for _, tok := range toks.GetTokens() {
		if tok.GetToken() == pg_query.Token_LIMIT {
			return true
		}
	}
	return false
}

func connectScratch(t *testing.T, template, schema string) *pgx.Conn {
	t.Helper()
	url := pgtest.ScratchFrom(t, template, schema)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	// psql's way: the simple protocol, each statement on its own unless the
	// text opens a transaction.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// runOperator runs the steps one after the other on one session.
func runOperator(ctx context.Context, conn *pgx.Conn, steps []string) error {
	for _, s := range steps {
		if !batched(s) {
			if _, err := conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
			continue
		}
		for round := 0; ; round++ {
			if round > 1000 {
				return fmt.Errorf("%s: still changing rows after 1000 batches", s)
			}
			tag, err := conn.Exec(ctx, s)
			if err != nil {
				return fmt.Errorf("%s (batch %d): %w", s, round+1, err)
			}
			if tag.RowsAffected() == 0 {
				break
			}
		}
	}
	return nil
}

// snapshot describes what a migration leaves in the database, one fact a
// line, for comparison. Relations in skip are left out.
func snapshot(ctx context.Context, conn *pgx.Conn, volatile, skip []string) ([]string, error) {
	const user = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`
	var out []string
	add := func(q string, f func(pgx.Rows) (string, error)) error {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			s, err := f(rows)
			if err != nil {
				return err
			}
			if s != "" {
				out = append(out, s)
			}
		}
		return rows.Err()
	}
	skipped := func(rel string) bool { return slices.Contains(skip, rel) }
	err := add(`SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
	  a.attidentity::text, a.attgenerated::text, coalesce(co.collname, '')
	FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	LEFT JOIN pg_collation co ON co.oid = a.attcollation AND co.collname <> 'default'
	WHERE `+user+` AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped`, func(r pgx.Rows) (string, error) {
		var rel, col, typ, def, ident, gen, coll string
		var notNull bool
		if err := r.Scan(&rel, &col, &typ, &notNull, &def, &ident, &gen, &coll); err != nil {
			return "", err
		}
		if skipped(rel) {
			return "", nil
		}
		return fmt.Sprintf("column %s.%s %s notnull=%v default=%q identity=%q generated=%q collate=%q", rel, col, typ, notNull, def, ident, gen, coll), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
	JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+user, func(r pgx.Rows) (string, error) {
		var rel, def string
		var valid bool
		if err := r.Scan(&rel, &def, &valid); err != nil {
			return "", err
		}
		if skipped(rel) {
			return "", nil
		}
		res, err := pg_query.Parse(def)
		if err != nil {
			return "", fmt.Errorf("%s: %w", def, err)
		}
		res.GetStmts()[0].GetStmt().GetIndexStmt().Idxname = ""
		unnamed, err := pg_query.Deparse(res)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("index on %s: %s valid=%v", rel, unnamed, valid), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid), k.convalidated FROM pg_constraint k
	JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+user, func(r pgx.Rows) (string, error) {
		var rel, name, typ, def string
		var valid bool
		if err := r.Scan(&rel, &name, &typ, &def, &valid); err != nil {
			return "", err
		}
		if skipped(rel) {
			return "", nil
		}
		if typ == "c" {
			name = "(check)" // compared by definition
		}
		return fmt.Sprintf("constraint %s on %s %s %s validated=%v", name, rel, typ, def, valid), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT format_type(y.oid, NULL), k.conname, pg_get_constraintdef(k.oid), k.convalidated FROM pg_constraint k
	JOIN pg_type y ON y.oid = k.contypid JOIN pg_namespace n ON n.oid = y.typnamespace WHERE `+user, func(r pgx.Rows) (string, error) {
		var typ, name, def string
		var valid bool
		if err := r.Scan(&typ, &name, &def, &valid); err != nil {
			return "", err
		}
		return fmt.Sprintf("domain constraint %s on %s %s validated=%v", name, typ, def, valid), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE `+user+` AND c.relkind IN ('v', 'm')`, func(r pgx.Rows) (string, error) {
		var rel, def string
		if err := r.Scan(&rel, &def); err != nil {
			return "", err
		}
		if skipped(rel) {
			return "", nil
		}
		return fmt.Sprintf("view %s: %s", rel, strings.Join(strings.Fields(def), " ")), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal
	UNION ALL SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE `+user+`
	UNION ALL SELECT 'type ' || format_type(y.oid, NULL) FROM pg_type y JOIN pg_namespace n ON n.oid = y.typnamespace WHERE `+user+` AND y.typtype IN ('e', 'd', 'c') AND y.typrelid = 0
	UNION ALL SELECT 'schema ' || nspname FROM pg_namespace n WHERE `+user+`
	UNION ALL SELECT 'sequence ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+user+` AND c.relkind = 'S'`,
		func(r pgx.Rows) (string, error) {
			var s string
			return s, r.Scan(&s)
		})
	if err != nil {
		return nil, err
	}
	// Rows: a checksum of every table's rows as jsonb (keys sorted, so
	// the order of columns does not matter), volatile columns left out and
	// counted by NULLs instead.
	var tables []string
	err = add(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+user+` AND c.relkind = 'r' ORDER BY 1`,
		func(r pgx.Rows) (string, error) {
			var s string
			if err := r.Scan(&s); err != nil {
				return "", err
			}
			if !skipped(s) {
				tables = append(tables, s)
			}
			return "", nil
		})
	if err != nil {
		return nil, err
	}
	for _, tbl := range tables {
		drop := ""
		var nulls []string
		for _, v := range volatile {
			if rel, col, ok := strings.Cut(v, "."); ok && rel == tbl {
				drop += " - " + quoteLiteral(col)
				nulls = append(nulls, fmt.Sprintf("count(*) FILTER (WHERE t.%s IS NULL)", quoteIdent(col)))
			}
		}
		extra := "0"
		if len(nulls) > 0 {
			extra = strings.Join(nulls, " + ")
		}
		q := fmt.Sprintf(`SELECT count(*), md5(coalesce(string_agg((to_jsonb(t)%s)::text, E'\n' ORDER BY (to_jsonb(t)%s)::text), '')), %s FROM %s t`,
			drop, drop, extra, quoteIdent(tbl))
		var n, nullCount int64
		var sum string
		if err := conn.QueryRow(ctx, q).Scan(&n, &sum, &nullCount); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		out = append(out, fmt.Sprintf("rows of %s: %d, checksum %s, NULLs in volatile columns %d", tbl, n, sum, nullCount))
	}
	sort.Strings(out)
	return out, nil
}

// diffLines lists the lines only one side has.
func diffLines(want, have []string) string {
	var b strings.Builder
	w, h := map[string]int{}, map[string]int{}
	for _, s := range want {
		w[s]++
	}
	for _, s := range have {
		h[s]++
	}
	for _, s := range want {
		if h[s] == 0 {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	for _, s := range have {
		if w[s] == 0 {
			fmt.Fprintf(&b, "+ %s\n", s)
		}
	}
	return b.String()
}

// The harness itself must see what it is there to see: an index that lost
// its ordering, a step that fails, a placeholder left unfilled.
func TestSafeWayHarnessSeesDifferences(t *testing.T) {
	ctx := context.Background()
	template := pgtest.Scratch(t, `CREATE TABLE t ("userId" int, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 25000) g;`)
	orig := connectScratch(t, template, "")
	sugg := connectScratch(t, template, "")
	if err := runOperator(ctx, orig, []string{`CREATE INDEX t_idx ON t ("userId" DESC) WHERE v > 3`}); err != nil {
		t.Fatal(err)
	}
	if err := runOperator(ctx, sugg, []string{`CREATE INDEX CONCURRENTLY t_other_name ON t ("userId") WHERE v > 3`,
		`UPDATE t SET v = v + 100000 WHERE ctid IN (SELECT ctid FROM t WHERE v < 100000 LIMIT 10000)`}); err != nil {
		t.Fatal(err)
	}
	want, err := snapshot(ctx, orig, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	have, err := snapshot(ctx, sugg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := diffLines(want, have)
	if !strings.Contains(d, `- index on t: CREATE INDEX ON public.t USING btree ("userId" DESC) WHERE v > 3 valid=true`) ||
		!strings.Contains(d, `+ index on t: CREATE INDEX ON public.t USING btree ("userId") WHERE v > 3 valid=true`) {
		t.Errorf("the lost DESC is not seen:\n%s", d)
	}
	if !strings.Contains(d, "- rows of t: 25000, checksum") {
		t.Errorf("changed rows are not seen:\n%s", d)
	}
	// The batch ran until it changed 0 rows: every v was moved past 100000.
	var left int
	if err := sugg.QueryRow(ctx, `SELECT count(*) FROM t WHERE v < 100000`).Scan(&left); err != nil || left != 0 {
		t.Errorf("the batch stopped early: %d rows left (%v)", left, err)
	}
	if err := runOperator(ctx, sugg, []string{`BEGIN`, `CREATE INDEX CONCURRENTLY t_c ON t (v)`}); err == nil {
		t.Error("CONCURRENTLY inside BEGIN ran")
	}
	if _, err := operatorSteps("UPDATE t SET v = <value>;", nil); err == nil {
		t.Error("a placeholder left unfilled was run")
	}
	if steps, err := operatorSteps("-- +goose NO TRANSACTION\n-- +goose Up\nSELECT 1 WHERE 1 < 2;\n-- next migration:\nSELECT 2;", nil); err != nil || len(steps) != 2 {
		t.Errorf("steps %q, %v", steps, err)
	}
}
