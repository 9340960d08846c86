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
// of every table's rows. Running and comparing is internal/effect's, the
// same code the corpus run (scripts/corpus-safeways.sh) uses.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/internal/effect"
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
	// none says the rule prints no SQL for this statement, only why;
	// why, when set, is part of that reason.
	none bool
	why  string
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
		{name: "SET NOT NULL beside a SET DEFAULT: the rest of the statement runs after", rule: ruleSetNotNull.ID,
			stmt:     `ALTER TABLE "Orders" ALTER COLUMN qty SET NOT NULL, ALTER COLUMN qty SET DEFAULT 1;`,
			intended: `UPDATE "Orders" SET qty = 0 WHERE qty IS NULL; ALTER TABLE "Orders" ALTER COLUMN qty SET NOT NULL, ALTER COLUMN qty SET DEFAULT 1;`,
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
		{name: "char(n) to a longer varchar: the type changes, no CHECK stands for it", rule: ruleTypeRewrite.ID,
			schema: `CREATE TABLE tokens (id bigint PRIMARY KEY, t char(8) NOT NULL); INSERT INTO tokens SELECT g, 't' || g FROM generate_series(1, 3000) g;`,
			stmt:   `ALTER TABLE tokens ALTER COLUMN t TYPE varchar(12);`},
		{name: "drop a table and a type an earlier migration dropped already, IF EXISTS kept", rule: ruleDropTable.ID,
			schema: `CREATE TABLE old_things (id int); DROP TABLE old_things;`,
			stmt:   `DROP TABLE IF EXISTS old_things;`},
		{name: "drop a type IF EXISTS ... CASCADE kept", rule: ruleDropType.ID,
			schema: `CREATE TYPE shade AS ENUM ('light', 'dark'); CREATE TABLE lamps (id int, s shade); INSERT INTO lamps SELECT g, 'dark' FROM generate_series(1, 100) g;`,
			stmt:   `DROP TYPE IF EXISTS shade CASCADE;`},
		{name: "two types changed in one ALTER TABLE: split first, no SQL", rule: ruleTypeRewrite.ID, none: true, why: "makes 2 changes at once",
			stmt: `ALTER TABLE "Orders" ALTER COLUMN total TYPE bigint, ALTER COLUMN qty TYPE bigint;`},
		{name: "jsonb to json, the constant default kept as ALTER TYPE converts it", rule: ruleTypeNarrowing.ID,
			schema: `CREATE TABLE docs (id bigint PRIMARY KEY, body jsonb NOT NULL DEFAULT '{}'); INSERT INTO docs SELECT g, jsonb_build_object('g', g) FROM generate_series(1, 2000) g;`,
			stmt:   `ALTER TABLE docs ALTER COLUMN body TYPE json USING body::json;`},
		{name: "text to integer without USING", rule: ruleTypeChangeFails.ID,
			schema:   `CREATE TABLE codes (id bigint PRIMARY KEY, n text); INSERT INTO codes SELECT g, (g * 3)::text FROM generate_series(1, 5000) g;`,
			stmt:     `ALTER TABLE codes ALTER COLUMN n TYPE integer;`,
			intended: `ALTER TABLE codes ALTER COLUMN n TYPE integer USING n::integer;`},
		{name: "drop column keeps a copy", rule: ruleDropColumn.ID,
			stmt: `ALTER TABLE customers DROP COLUMN note;`, extra: []string{"customers_note_backup"}},
		{name: "drop a key that foreign keys use, IF EXISTS ... CASCADE kept", rule: ruleDropConstraint.ID,
			schema: `CREATE TABLE teams (id integer NOT NULL, CONSTRAINT teams_pkey PRIMARY KEY (id)); CREATE TABLE players (team integer REFERENCES teams (id));
INSERT INTO teams SELECT g FROM generate_series(1, 40) g; INSERT INTO players SELECT 1 + g % 40 FROM generate_series(1, 300) g;`,
			stmt: `ALTER TABLE teams DROP CONSTRAINT IF EXISTS teams_pkey CASCADE;`},
		{name: "drop a column a view uses, CASCADE kept", rule: ruleDropColumn.ID,
			schema: `CREATE VIEW customer_notes AS SELECT id, note FROM customers;`,
			stmt:   `ALTER TABLE customers DROP COLUMN IF EXISTS note CASCADE;`, extra: []string{"customers_note_backup"}},
		{name: "drop a column an earlier migration dropped already, IF EXISTS: the copy only as a comment", rule: ruleDropColumn.ID,
			schema: `ALTER TABLE events DROP COLUMN body;`,
			stmt:   `ALTER TABLE events DROP COLUMN IF EXISTS body;`},
		{name: "drop a column and add one of the same name in one ALTER TABLE: the statement runs whole", rule: ruleDropColumn.ID,
			stmt: `ALTER TABLE customers DROP COLUMN note, ADD COLUMN note integer;`, extra: []string{"customers_note_backup"}},
		{name: "drop the key column itself: the copy holds it once", rule: ruleDropColumn.ID,
			schema: `CREATE TABLE tags (id bigint PRIMARY KEY, label text); INSERT INTO tags SELECT g, 'l' || g FROM generate_series(1, 500) g;`,
			stmt:   `ALTER TABLE tags DROP COLUMN id;`, extra: []string{"tags_id_backup"}},
		{name: "drop constraint with a lock timeout", rule: ruleDropConstraint.ID,
			schema: `ALTER TABLE "Orders" ADD CONSTRAINT orders_total_positive CHECK (total >= 0);`,
			stmt:   `ALTER TABLE "Orders" DROP CONSTRAINT orders_total_positive;`},
		{name: "a primary key replaced in one ALTER TABLE, kept whole", rule: ruleDropConstraint.ID,
			stmt: `ALTER TABLE notes DROP CONSTRAINT notes_pkey, ADD CONSTRAINT notes_pkey PRIMARY KEY (id, feeling);`},
		{name: "a key added with the column it needs and in place of another: no rewrite of one part", rule: ruleAddUnique.ID, none: true,
			stmt: `ALTER TABLE events ADD COLUMN id bigserial, ADD PRIMARY KEY (id);`},
		{name: "drop index concurrently", rule: ruleDropIndex.ID,
			stmt: `DROP INDEX events_seq_idx;`},
		{name: "drop an index of a partitioned table: no CONCURRENTLY there, no SQL", rule: ruleDropIndex.ID, none: true, why: "cannot drop CONCURRENTLY",
			schema: `CREATE TABLE readings (at date NOT NULL, v int) PARTITION BY RANGE (at); CREATE INDEX readings_v_idx ON readings (v);`,
			stmt:   `DROP INDEX readings_v_idx;`},
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
		{name: "a json value backfilled into a jsonb column: compared as jsonb", rule: ruleBackfill.ID,
			before: `ALTER TABLE customers ADD COLUMN extra jsonb;`,
			stmt:   "ALTER TABLE customers ADD COLUMN extra jsonb;\nUPDATE customers SET extra = json_build_object('n', \"Name\");"},
		{name: "a backfill of a json column: compared as text", rule: ruleBackfill.ID,
			before: `ALTER TABLE customers ADD COLUMN raw json;`,
			stmt:   "ALTER TABLE customers ADD COLUMN raw json;\nUPDATE customers SET raw = json_build_object('e', email);"},
		{name: "a json column backfilled with a quoted literal: compared as text", rule: ruleBackfill.ID,
			before: `ALTER TABLE customers ADD COLUMN prefs json;`,
			stmt:   "ALTER TABLE customers ADD COLUMN prefs json;\nUPDATE customers SET prefs = '{\"k\": 1}';"},
		{name: "NULLs filled with COALESCE, in batches", rule: ruleBackfill.ID,
			stmt: `UPDATE "Orders" SET qty = COALESCE(qty, 0);`},
		{name: "update everything in batches", rule: ruleUpdateAll.ID,
			stmt: `UPDATE "Orders" SET code = 'K' || id || '-' || total, qty = coalesce(qty, 0);`},
		{name: "an UPDATE whose values use the table's alias, batched with it", rule: ruleUpdateAll.ID,
			stmt: `UPDATE "Orders" AS o SET code = (SELECT c.email FROM customers c WHERE c.id = o."userId") || '/' || o.id;`},
		{name: "a new value computed from the column it replaces: no batch can tell done rows, no SQL", rule: ruleUpdateAll.ID, none: true, why: "computed from total, which the UPDATE sets",
			stmt: `UPDATE "Orders" ord SET total = ord.total * 2;`},
		{name: "a backfill whose value reads the column it sets: no SQL", rule: ruleBackfill.ID, none: true, why: `computed from visits`,
			before: `ALTER TABLE customers ADD COLUMN visits integer;`,
			stmt:   "ALTER TABLE customers ADD COLUMN visits integer;\nUPDATE customers SET visits = coalesce(visits, 0) + 1;"},
		{name: "a backfill with a random value: no batch can tell done rows, no SQL", rule: ruleBackfill.ID, none: true, why: "comes from random()",
			before: `ALTER TABLE customers ADD COLUMN tag text;`,
			stmt:   "ALTER TABLE customers ADD COLUMN tag text;\nUPDATE customers SET tag = 'tag-' || floor(random() * 10);"},
		{name: "an UPDATE with values from a join: no SQL", rule: ruleUpdateAll.ID, none: true, why: "UPDATE ... FROM",
			stmt: `UPDATE "Orders" SET code = c.email FROM customers c;`},
		{name: "rename a table, the old name kept as a view", rule: ruleRenameTable.ID,
			stmt: `ALTER TABLE events RENAME TO happenings;`, extra: []string{"events"}},
		{name: "rename a column by expand and contract", rule: ruleRenameColumn.ID,
			stmt: `ALTER TABLE customers RENAME COLUMN note TO remark;`},
		{name: "rename a NOT NULL column with a default", rule: ruleRenameColumn.ID,
			stmt: `ALTER TABLE "Orders" RENAME COLUMN placed_at TO "placedOn";`},
		{name: "rename a column of a table with a trigger on UPDATE: the backfill would fire it, no SQL", rule: ruleRenameColumn.ID, none: true, why: "triggers on UPDATE of public.customers (customers_touch)",
			schema: `ALTER TABLE customers ADD COLUMN touched_at timestamptz;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched_at := now(); RETURN NEW; END $$;
CREATE TRIGGER customers_touch BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION touch();`,
			stmt: `ALTER TABLE customers RENAME COLUMN note TO remark;`},
		{name: "a trigger dropped again no longer stands in the way", rule: ruleRenameColumn.ID,
			schema: `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER customers_touch BEFORE INSERT OR UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION touch();
DROP TRIGGER customers_touch ON customers;`,
			stmt: `ALTER TABLE customers RENAME COLUMN note TO remark;`},
		{name: "change the type of a column of a table with a trigger on UPDATE: no SQL", rule: ruleTypeRewrite.ID, none: true, why: "orders_stamp",
			schema: `CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.code := NEW.code || '*'; RETURN NEW; END $$;
CREATE TRIGGER orders_stamp BEFORE UPDATE OF total ON "Orders" FOR EACH ROW EXECUTE FUNCTION stamp();`,
			stmt: `ALTER TABLE "Orders" ALTER COLUMN total TYPE bigint;`},
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
			// Each case has databases of its own, copied from the
			// template: the cases wait on the server in parallel.
			t.Parallel()
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
			stmts, err := effect.Steps(safe, tc.values)
			if err != nil {
				report("the safe way cannot be run: %v", err)
			}
			if tc.none {
				if len(stmts) > 0 || !strings.HasPrefix(safe, "-- ") {
					report("expected no SQL, only the reason")
				}
				if !strings.Contains(safe, tc.why) {
					report("expected the reason to say %q", tc.why)
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
			intendedSteps, err := effect.Steps(intended, nil)
			if err != nil {
				t.Fatalf("what the original means cannot be run: %v", err)
			}
			if err := effect.Run(ctx, orig, intendedSteps); err != nil {
				t.Fatalf("the original (or what it means) fails: %v\n%s", err, intended)
			}
			if tc.after {
				stmts = append([]string{tc.stmt}, stmts...)
			}
			if tc.before != "" {
				stmts = append([]string{tc.before}, stmts...)
			}
			if err := effect.Run(ctx, sugg, stmts); err != nil {
				report("running it: %v", err)
			}
			want, err := effect.Snapshot(ctx, orig, tc.volatile, nil)
			if err != nil {
				t.Fatal(err)
			}
			have, err := effect.Snapshot(ctx, sugg, tc.volatile, tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			if d := effect.Diff(want, have); d != "" {
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
	stmts, err := effect.Steps(r.Safe, nil)
	return err == nil && len(stmts) > 0
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
