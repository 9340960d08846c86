package locks

import (
	"sort"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// analyzeCase is one statement judged against baseSchema (plus setup).
// locks lists every lock as "relation:MODE" (public schema omitted, modes
// abbreviated as in the measured document), in any order.
type analyzeCase struct {
	setup   string
	sql     string
	ver     int
	locks   string
	work    Work
	subject string
	scans   int
	// flags: "concurrently", "outside" (not in a transaction block),
	// "released" (not held until commit), "unknown".
	flags string
	// note must appear in one of the notes.
	note string
	// new lists relations the change set created (Existing false).
	new string
}

var analyzeCases = []analyzeCase{
	// §3.1 columns
	{sql: `ALTER TABLE t ADD COLUMN c text`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t ADD COLUMN c int DEFAULT 42`, locks: "t:AE", work: Metadata, note: "PostgreSQL 11+: a non-volatile default is stored once"},
	{sql: `ALTER TABLE t ADD COLUMN c int DEFAULT 42`, ver: 11, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t ADD COLUMN c text DEFAULT 'pending'`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()`, locks: "t:AE", work: Metadata, note: "STABLE, not volatile"},
	{sql: `ALTER TABLE t ADD COLUMN c timestamptz DEFAULT CURRENT_TIMESTAMP`, locks: "t:AE", work: Metadata, note: "STABLE"},
	{sql: `ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4, note: "is volatile"},
	{sql: `ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()`, ver: 12, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4, note: "pgcrypto"},
	{sql: `ALTER TABLE t ADD COLUMN c timestamptz DEFAULT clock_timestamp()`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t ADD COLUMN c uuid DEFAULT uuid_generate_v4()`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t ADD COLUMN c int DEFAULT my_func()`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t ADD COLUMN c text NOT NULL DEFAULT 'x'`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t ADD COLUMN c text NOT NULL`, locks: "t:AE", work: Metadata, note: "fails at once on a table that has rows"},
	{setup: "-- change set\nCREATE TABLE fresh (id int);", sql: `ALTER TABLE fresh ADD COLUMN c text NOT NULL`, locks: "fresh:AE", work: Metadata, note: "because the table is new", new: "fresh"},
	{sql: `ALTER TABLE t ADD COLUMN c int REFERENCES parent (id)`, locks: "t:AE parent:SRE", work: Metadata, note: "needs no validation scan"},
	{sql: `ALTER TABLE t ADD COLUMN c int DEFAULT 1 REFERENCES parent (id)`, locks: "t:AE parent:SRE", work: Scan, subject: "t", scans: 1},
	{sql: `ALTER TABLE t ADD COLUMN c int CHECK (c > 0)`, locks: "t:AE", work: Scan, subject: "t", scans: 1},
	{sql: `ALTER TABLE t ADD COLUMN c text UNIQUE`, locks: "t:AE", work: IndexBuild, subject: "t", scans: 1},
	{sql: `ALTER TABLE t ADD COLUMN c text CONSTRAINT c_key UNIQUE`, locks: "t:AE c_key:AE", work: IndexBuild, subject: "t", scans: 1, new: "c_key"},
	{sql: `ALTER TABLE t ADD COLUMN c serial`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t ADD COLUMN c bigserial`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t ADD COLUMN c bigint GENERATED ALWAYS AS IDENTITY`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t ADD COLUMN c numeric GENERATED ALWAYS AS (amount * 2) STORED`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t ADD COLUMN c numeric GENERATED ALWAYS AS (amount * 2) STORED`, ver: 11, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4, note: "need PostgreSQL 12"},
	{setup: `CREATE DOMAIN positive AS int CHECK (VALUE > 0);`, sql: `ALTER TABLE t ADD COLUMN c positive`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4, note: "domain has constraints"},
	{setup: `CREATE DOMAIN plain_int AS int;`, sql: `ALTER TABLE t ADD COLUMN c plain_int DEFAULT 1`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t DROP COLUMN payload`, locks: "t:AE", work: Metadata, note: "only marks the column dropped"},
	{sql: `ALTER TABLE t DROP COLUMN name`, locks: "t:AE t_name_idx:AE", work: Metadata},
	{sql: `ALTER TABLE child DROP COLUMN parent_id`, locks: "child:AE parent:AE", work: Metadata},
	{sql: `ALTER TABLE parent DROP COLUMN id`, locks: "parent:AE parent_pkey:AE", work: Metadata, note: "fails without CASCADE"},
	{sql: `ALTER TABLE parent DROP COLUMN id CASCADE`, locks: "parent:AE parent_pkey:AE child:AE", work: Metadata},
	{sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL`, locks: "t:AE", work: Scan, subject: "t", scans: 1},
	{setup: `ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;`, sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL`, locks: "t:AE", work: Scan, subject: "t", scans: 1, note: "NOT VALID CHECK"},
	{setup: `ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL);`, sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL`, locks: "t:AE", work: Metadata, note: "skips the scan"},
	{setup: `ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL);`, sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL`, ver: 11, locks: "t:AE", work: Scan, subject: "t", scans: 1, note: "before PostgreSQL 12"},
	{setup: `ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID; ALTER TABLE t VALIDATE CONSTRAINT email_nn;`, sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t ALTER COLUMN status SET NOT NULL`, locks: "t:AE", work: Metadata, note: "already NOT NULL"},
	{sql: `ALTER TABLE t ALTER COLUMN status DROP NOT NULL`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t ALTER COLUMN status SET DEFAULT 0`, locks: "t:AE", work: Metadata, note: "future INSERTs only"},
	{sql: `ALTER TABLE t ALTER COLUMN status DROP DEFAULT`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t ALTER COLUMN status SET STATISTICS 500`, locks: "t:SUE", work: Metadata},
	{sql: `ALTER TABLE t ALTER COLUMN email SET (n_distinct = 100)`, locks: "t:SUE", work: Metadata},
	{sql: `ALTER TABLE t ALTER COLUMN email SET STORAGE EXTERNAL`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE mp ADD COLUMN c text`, locks: "mp:AE mp_1:AE", work: Metadata},
	{sql: `ALTER TABLE mp ALTER COLUMN id SET NOT NULL`, locks: "mp:AE mp_1:AE", work: Scan, subject: "mp", scans: 1},
	{sql: `ALTER TABLE mp SET (parallel_workers = 2)`, locks: "mp:SUE", work: Metadata},
	{setup: `CREATE INDEX mp_k_idx ON mp (k); CREATE TABLE mp_3 PARTITION OF mp FOR VALUES FROM (300) TO (400);`, sql: `ALTER TABLE mp ADD COLUMN c uuid DEFAULT gen_random_uuid()`, locks: "mp:AE mp_1:AE mp_3:AE mp_1_k_idx:AE mp_3_k_idx:AE", work: Rewrite, subject: "mp", scans: 4},
	{setup: `CREATE INDEX mp_id_idx ON mp (id);`, sql: `ALTER TABLE mp ALTER COLUMN id TYPE bigint`, locks: "mp:AE mp_1:AE mp_id_idx:AE mp_1_id_idx:AE", work: Rewrite, subject: "mp", scans: 2},
	{setup: `CREATE INDEX mp_id_idx ON mp (id);`, sql: `ALTER TABLE ONLY mp ALTER COLUMN id SET DEFAULT 0`, locks: "mp:AE", work: Metadata},

	// §3.2 type changes, with the stand-in TypeChange and without one
	{sql: `ALTER TABLE t ALTER COLUMN status TYPE bigint`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t ALTER COLUMN name TYPE varchar(200)`, locks: "t:AE t_name_idx:AE", work: Metadata},
	{sql: `ALTER TABLE t ALTER COLUMN name TYPE varchar(50)`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t ALTER COLUMN amount TYPE numeric(12,2)`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t ALTER COLUMN created_at TYPE timestamptz`, locks: "t:AE t_created_at_idx:AE", work: IndexBuild, subject: "t", scans: 1},
	{sql: `ALTER TABLE child ALTER COLUMN parent_id TYPE bigint`, locks: "child:AE child_pkey:AE parent:AE", work: Rewrite, subject: "child", scans: 3, note: "dropped and re-created"},
	{sql: `ALTER TABLE parent ALTER COLUMN id TYPE bigint`, locks: "parent:AE parent_pkey:AE child:AE", work: Rewrite, subject: "parent", scans: 3, note: "references the column"},
	{setup: `CREATE VIEW v AS SELECT id, email FROM t;`, sql: `ALTER TABLE t ALTER COLUMN email TYPE varchar(10)`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4, note: "used by a view"},
	{sql: `ALTER TABLE unknown_table ALTER COLUMN x TYPE bigint`, locks: "unknown_table:AE", work: Rewrite, subject: "unknown_table", scans: 1},

	// §3.3 constraints
	{sql: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0)`, locks: "t:AE", work: Scan, subject: "t", scans: 1},
	{sql: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0) NOT VALID`, locks: "t:AE", work: Metadata, note: "NOT VALID"},
	{setup: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0) NOT VALID;`, sql: `ALTER TABLE t VALIDATE CONSTRAINT amount_chk`, locks: "t:SUE", work: Scan, subject: "t", scans: 1},
	{setup: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0);`, sql: `ALTER TABLE t VALIDATE CONSTRAINT amount_chk`, locks: "t:SUE", work: Metadata, note: "already valid"},
	{sql: `ALTER TABLE t ADD CONSTRAINT status_fk FOREIGN KEY (status) REFERENCES parent (id)`, locks: "t:SRE parent:SRE", work: Scan, subject: "t", scans: 1},
	{sql: `ALTER TABLE t ADD CONSTRAINT status_fk FOREIGN KEY (status) REFERENCES parent (id) NOT VALID`, locks: "t:SRE parent:SRE", work: Metadata, note: "still blocks writes"},
	{setup: `ALTER TABLE t ADD CONSTRAINT status_fk FOREIGN KEY (status) REFERENCES parent (id) NOT VALID;`, sql: `ALTER TABLE t VALIDATE CONSTRAINT status_fk`, locks: "t:SUE parent:RS", work: Scan, subject: "t", scans: 1},
	{setup: `ALTER TABLE t ADD CONSTRAINT status_fk FOREIGN KEY (status) REFERENCES parent (id);`, sql: `ALTER TABLE t DROP CONSTRAINT status_fk`, locks: "t:AE parent:AE", work: Metadata, note: "drops its triggers"},
	{setup: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0);`, sql: `ALTER TABLE t DROP CONSTRAINT amount_chk`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE unknown_table DROP CONSTRAINT some_fk`, locks: "unknown_table:AE", work: Metadata, note: "if the constraint is a foreign key"},
	{sql: `ALTER TABLE t ADD CONSTRAINT email_key UNIQUE (email)`, locks: "t:AE email_key:AE", work: IndexBuild, subject: "t", scans: 1, new: "email_key"},
	{setup: `CREATE UNIQUE INDEX email_idx ON t (email);`, sql: `ALTER TABLE t ADD CONSTRAINT email_key UNIQUE USING INDEX email_idx`, locks: "t:AE email_idx:SUE", work: Metadata},
	{setup: `CREATE UNIQUE INDEX email_idx ON t (email);`, sql: `ALTER TABLE t ADD CONSTRAINT email_key UNIQUE USING INDEX email_idx`, ver: 11, locks: "t:AE email_idx:AE", work: Metadata},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey;`, sql: `ALTER TABLE t ADD PRIMARY KEY (id)`, locks: "t:AE", work: IndexBuild, subject: "t", scans: 1},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey;`, sql: `ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (email)`, locks: "t:AE t_pkey:AE", work: IndexBuild, subject: "t", scans: 2, new: "t_pkey"},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX id_idx ON t (id);`, sql: `ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX id_idx`, locks: "t:AE id_idx:SUE", work: Metadata},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX email_idx ON t (email);`, sql: `ALTER TABLE t ADD PRIMARY KEY USING INDEX email_idx`, locks: "t:AE email_idx:AS", work: Scan, subject: "t", scans: 1},
	{sql: `ALTER TABLE t ADD CONSTRAINT email_excl EXCLUDE USING btree (email WITH =)`, locks: "t:AE email_excl:AE", work: IndexBuild, subject: "t", scans: 2, new: "email_excl"},
	{sql: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0), ADD CONSTRAINT email_key UNIQUE (email)`, locks: "t:AE email_key:AE", work: IndexBuild, subject: "t", scans: 2, new: "email_key"},
	{sql: `ALTER TABLE t ALTER COLUMN status TYPE bigint, ADD CONSTRAINT amount_chk CHECK (amount >= 0)`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE parent DROP CONSTRAINT parent_pkey CASCADE`, locks: "parent:AE parent_pkey:AE child:AE", work: Metadata},
	{sql: `ALTER TABLE parent DROP CONSTRAINT parent_pkey`, locks: "parent:AE parent_pkey:AE", work: Metadata, note: "fails without CASCADE"},

	// §3.4 indexes
	{sql: `CREATE INDEX amount_idx ON t (amount)`, locks: "t:S amount_idx:AE", work: IndexBuild, subject: "t", scans: 1, new: "amount_idx"},
	{sql: `CREATE UNIQUE INDEX email_uidx ON t (email)`, locks: "t:S email_uidx:AE", work: IndexBuild, subject: "t", scans: 1, new: "email_uidx"},
	{sql: `CREATE INDEX CONCURRENTLY amount_idx ON t (amount)`, locks: "t:SUE", work: IndexBuild, subject: "t", scans: 2, flags: "concurrently outside released", note: "INVALID index"},
	{sql: `CREATE INDEX CONCURRENTLY amount_idx ON t (amount)`, ver: 14, locks: "t:SUE", work: IndexBuild, subject: "t", scans: 2, flags: "concurrently outside released", note: "14.0-14.3"},
	{sql: `CREATE UNIQUE INDEX CONCURRENTLY email_uidx ON t (email)`, locks: "t:SUE", work: IndexBuild, subject: "t", scans: 2, flags: "concurrently outside released"},
	{sql: `CREATE INDEX ON mp (k)`, locks: "mp:S mp_1:S", work: IndexBuild, subject: "mp", scans: 1},
	{sql: `CREATE INDEX mp_k_idx ON ONLY mp (k)`, locks: "mp:S mp_k_idx:AE", work: Metadata, new: "mp_k_idx"},
	{sql: `CREATE INDEX CONCURRENTLY ON mp (k)`, locks: "mp:SUE", work: IndexBuild, subject: "mp", scans: 2, flags: "concurrently outside released", note: "cannot create an index concurrently on a partitioned table"},
	{sql: `CREATE INDEX IF NOT EXISTS t_name_idx ON t (name)`, locks: "t:S", work: Metadata, note: "no-op"},
	{sql: `DROP INDEX t_name_idx`, locks: "t:AE t_name_idx:AE", work: Metadata},
	{sql: `DROP INDEX CONCURRENTLY t_name_idx`, locks: "t:SUE t_name_idx:AE", work: Metadata, flags: "concurrently outside released"},
	{sql: `DROP INDEX t_pkey`, locks: "t:AE t_pkey:AE", work: Metadata, note: "backs constraint"},
	{sql: `DROP INDEX unknown_idx`, locks: "unknown_idx:AE", work: Metadata, note: "is not known"},
	{sql: `REINDEX INDEX t_name_idx`, locks: "t:S t_name_idx:AE", work: IndexBuild, subject: "t", scans: 1, note: "blocks SELECTs"},
	{sql: `REINDEX TABLE t`, locks: "t:S t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: IndexBuild, subject: "t", scans: 3},
	{sql: `REINDEX INDEX CONCURRENTLY t_name_idx`, locks: "t:SUE t_name_idx:AE", work: IndexBuild, subject: "t", scans: 2, flags: "concurrently outside released"},
	{sql: `REINDEX INDEX CONCURRENTLY t_name_idx`, ver: 11, locks: "t:SUE t_name_idx:AE", work: IndexBuild, subject: "t", scans: 2, flags: "concurrently outside released", note: "needs PostgreSQL 12"},
	{sql: `REINDEX (CONCURRENTLY) TABLE t`, locks: "t:SUE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: IndexBuild, subject: "t", scans: 6, flags: "concurrently outside released"},
	{sql: `REINDEX TABLE mp`, ver: 13, locks: "mp:S mp_1:S", work: IndexBuild, subject: "mp", scans: 1, note: "PostgreSQL 14"},
	{sql: `REINDEX SCHEMA public`, locks: "t:S t_pkey:AE t_name_idx:AE t_created_at_idx:AE parent:S parent_pkey:AE child:S child_pkey:AE mv:S mv_id:AE", work: IndexBuild, scans: 1, flags: "outside released unknown"},
	{sql: `ALTER INDEX t_name_idx RENAME TO t_name_idx2`, locks: "t_name_idx:SUE", work: Metadata},
	{sql: `ALTER INDEX t_name_idx RENAME TO t_name_idx2`, ver: 11, locks: "t_name_idx:AE", work: Metadata, note: "before PostgreSQL 12"},
	{sql: `ALTER TABLE t_name_idx RENAME TO t_name_idx2`, locks: "t_name_idx:AE", work: Metadata, note: "ALTER INDEX ... RENAME needs only"},
	{sql: `ALTER INDEX t_name_idx SET (fillfactor = 50)`, locks: "t_name_idx:SUE", work: Metadata},
	{sql: `ALTER INDEX t_name_idx SET TABLESPACE fast`, locks: "t_name_idx:AE", work: Rewrite, subject: "t_name_idx", scans: 0},

	// §3.5 renames, drops, triggers, storage parameters
	{sql: `ALTER TABLE t RENAME COLUMN name TO full_name`, locks: "t:AE", work: Metadata, note: "breaks at once"},
	{sql: `ALTER TABLE t RENAME TO t_renamed`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t RENAME CONSTRAINT t_pkey TO t_pk`, locks: "t:AE t_pkey:SUE", work: Metadata},
	{sql: `ALTER TABLE t RENAME CONSTRAINT t_pkey TO t_pk`, ver: 11, locks: "t:AE t_pkey:AE", work: Metadata},
	{sql: `ALTER TABLE mp RENAME COLUMN k TO key`, locks: "mp:AE mp_1:AE", work: Metadata},
	{sql: `DROP TABLE t`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE t_id_seq:AE", work: Metadata, note: "fails without CASCADE"},
	{sql: `DROP TABLE t CASCADE`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE t_id_seq:AE mv:AE mv_id:AE", work: Metadata},
	{sql: `DROP TABLE child`, locks: "child:AE child_pkey:AE parent:AE", work: Metadata},
	{sql: `DROP TABLE parent CASCADE`, locks: "parent:AE parent_pkey:AE child:AE", work: Metadata},
	{sql: `DROP TABLE mp_1`, locks: "mp_1:AE mp:AE", work: Metadata},
	{sql: `DROP TABLE mp`, locks: "mp:AE mp_1:AE", work: Metadata},
	{sql: `DROP TABLE IF EXISTS unknown_table`, locks: "unknown_table:AE", work: Metadata},
	{setup: "-- change set\nCREATE TABLE fresh (id int PRIMARY KEY);", sql: `DROP TABLE fresh`, locks: "fresh:AE fresh_pkey:AE", work: Metadata, new: "fresh fresh_pkey"},
	{sql: `DROP MATERIALIZED VIEW mv`, locks: "mv:AE mv_id:AE", work: Metadata},
	{setup: `CREATE VIEW v AS SELECT id, email FROM t;`, sql: `DROP VIEW v`, locks: "v:AE", work: Metadata},
	{setup: `CREATE SEQUENCE s;`, sql: `DROP SEQUENCE s`, locks: "s:AE", work: Metadata},
	{sql: `TRUNCATE t`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Metadata, note: "new empty files"},
	{sql: `TRUNCATE t RESTART IDENTITY`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE t_id_seq:AE", work: Metadata},
	{sql: `TRUNCATE parent`, locks: "parent:AE parent_pkey:AE", work: Metadata, note: "fails without CASCADE"},
	{sql: `TRUNCATE parent CASCADE`, locks: "parent:AE parent_pkey:AE child:AE child_pkey:AE", work: Metadata},
	{sql: `TRUNCATE mp`, locks: "mp:AE mp_1:AE", work: Metadata},
	{sql: `CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg_noop()`, locks: "t:SRE", work: Metadata},
	{sql: `ALTER TABLE t DISABLE TRIGGER t_trg`, locks: "t:SRE", work: Metadata},
	{sql: `DROP TRIGGER t_trg ON t`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t SET (fillfactor = 70)`, locks: "t:SUE", work: Metadata, note: "future writes only"},
	{sql: `ALTER TABLE t SET (autovacuum_vacuum_scale_factor = 0.01)`, locks: "t:SUE", work: Metadata},
	{sql: `ALTER TABLE t RESET (fillfactor)`, locks: "t:SUE", work: Metadata},
	{sql: `ALTER TABLE t SET (user_catalog_table = true)`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t SET TABLESPACE fast`, locks: "t:AE", work: Rewrite, subject: "t", scans: 1, note: "block by block"},
	{sql: `ALTER TABLE t OWNER TO someone`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t CLUSTER ON t_pkey`, locks: "t:SUE t_pkey:SUE", work: Metadata},
	{sql: `ALTER TABLE t ENABLE ROW LEVEL SECURITY`, locks: "t:AE", work: Metadata},
	{sql: `CREATE POLICY t_all ON t USING (true)`, locks: "t:AE", work: Metadata},
	{sql: `CREATE STATISTICS t_stats ON status, amount FROM t`, locks: "t:SUE", work: Metadata},
	{sql: `CREATE RULE t_notify AS ON INSERT TO t DO ALSO NOTIFY t`, locks: "t:AE", work: Metadata},
	{sql: `ALTER TABLE t SET SCHEMA other`, locks: "t:AE t_id_seq:AE", work: Metadata},
	{sql: `ALTER TABLE child INHERIT parent`, locks: "child:AE parent:SUE", work: Metadata},

	// §3.6 maintenance and whole-table rewrites
	{sql: `VACUUM FULL t`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4, flags: "outside released"},
	{sql: `VACUUM t`, locks: "t:SUE t_pkey:RE t_name_idx:RE t_created_at_idx:RE", work: Scan, subject: "t", scans: 1, flags: "outside released"},
	{sql: `VACUUM`, locks: "", work: Scan, scans: 1, flags: "outside released unknown"},
	{sql: `VACUUM (FULL, ANALYZE) t`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4, flags: "outside released"},
	{sql: `CLUSTER t USING t_pkey`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `CLUSTER`, locks: "", work: Rewrite, scans: 1, flags: "outside released unknown"},
	{sql: `ANALYZE t`, locks: "t:SUE", work: Metadata, note: "fixed-size sample"},
	{sql: `ALTER TABLE t SET UNLOGGED`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE t_id_seq:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE t SET UNLOGGED`, ver: 14, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{setup: `ALTER TABLE t SET UNLOGGED;`, sql: `ALTER TABLE t SET LOGGED`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE t_id_seq:AE", work: Rewrite, subject: "t", scans: 4, note: "WAL"},
	{sql: `ALTER TABLE t SET LOGGED`, locks: "t:AE", work: Metadata, note: "already has that persistence"},
	{sql: `ALTER TABLE t SET ACCESS METHOD heap2`, locks: "t:AE t_pkey:AE t_name_idx:AE t_created_at_idx:AE", work: Rewrite, subject: "t", scans: 4},
	{sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`, locks: "mp:SUE mp_2:AE", work: Scan, subject: "mp_2", scans: 1, note: "DEFAULT partition"},
	{sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`, ver: 11, locks: "mp:AE mp_2:AE", work: Scan, subject: "mp_2", scans: 1, note: "before PostgreSQL 12"},
	{setup: `ALTER TABLE mp_2 ADD CONSTRAINT mp_2_k CHECK (k IS NOT NULL AND k >= 100 AND k < 200);`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`, locks: "mp:SUE mp_2:AE", work: Metadata, note: "implies its bound"},
	{setup: `ALTER TABLE mp_2 ALTER COLUMN k SET NOT NULL; ALTER TABLE mp_2 ADD CONSTRAINT mp_2_k CHECK (100 <= k AND k < 200);`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`, locks: "mp:SUE mp_2:AE", work: Metadata},
	{setup: `ALTER TABLE mp_2 ADD CONSTRAINT mp_2_k CHECK (k >= 100 AND k < 200);`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`, locks: "mp:SUE mp_2:AE", work: Scan, subject: "mp_2", scans: 1},
	{setup: `ALTER TABLE mp_2 ADD CONSTRAINT mp_2_k CHECK (k IS NOT NULL AND k >= 100 AND k < 300);`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`, locks: "mp:SUE mp_2:AE", work: Scan, subject: "mp_2", scans: 1},
	{setup: `ALTER TABLE mp_2 ADD CONSTRAINT mp_2_k CHECK (k IS NOT NULL AND k >= 100 AND k < 200) NOT VALID;`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`, locks: "mp:SUE mp_2:AE", work: Scan, subject: "mp_2", scans: 1},
	{setup: `CREATE INDEX mp_k_idx ON mp (k);`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`, locks: "mp:SUE mp_2:AE mp_k_idx:SUE", work: IndexBuild, subject: "mp_2", scans: 2, note: "no match on the partition"},
	{setup: `CREATE TABLE ml (id int, region text) PARTITION BY LIST (region); CREATE TABLE ml_eu (id int, region text NOT NULL CHECK (region IN ('de', 'fr')));`, sql: `ALTER TABLE ml ATTACH PARTITION ml_eu FOR VALUES IN ('de', 'fr')`, locks: "ml:SUE ml_eu:AE", work: Metadata},
	{sql: `ALTER TABLE mp DETACH PARTITION mp_1`, locks: "mp:AE mp_1:AE", work: Metadata},
	{sql: `ALTER TABLE mp DETACH PARTITION mp_1 CONCURRENTLY`, locks: "mp:SUE mp_1:SUE", work: Metadata, flags: "concurrently outside released"},
	{sql: `ALTER TABLE mp DETACH PARTITION mp_1 CONCURRENTLY`, ver: 13, locks: "mp:SUE mp_1:SUE", work: Metadata, flags: "concurrently outside released", note: "PostgreSQL 14 or later"},
	{sql: `ALTER TABLE mp DETACH PARTITION mp_1 FINALIZE`, locks: "mp:SUE mp_1:SUE", work: Metadata},
	{sql: `CREATE TABLE mp_3 PARTITION OF mp FOR VALUES FROM (300) TO (400)`, locks: "mp_3:AE mp:AE", work: Metadata, new: "mp_3", note: "ATTACH PARTITION"},

	// §3.7 identity
	{sql: `ALTER TABLE t ALTER COLUMN status ADD GENERATED BY DEFAULT AS IDENTITY`, locks: "t:AE", work: Metadata, note: "starts at 1"},
	{sql: `ALTER TABLE t ALTER COLUMN id DROP IDENTITY`, locks: "t:AE t_id_seq:AE", work: Metadata},

	// §3.8 materialized views, enums, DML
	{sql: `CREATE MATERIALIZED VIEW mv2 AS SELECT id, email, amount, status FROM t`, locks: "mv2:AE t:AS", work: Backfill, subject: "t", scans: 1, new: "mv2"},
	{sql: `CREATE MATERIALIZED VIEW mv2 AS SELECT id FROM t WITH NO DATA`, locks: "mv2:AE t:AS", work: Metadata, new: "mv2"},
	{sql: `REFRESH MATERIALIZED VIEW mv`, locks: "mv:AE mv_id:AE t:AS", work: Rewrite, subject: "mv", scans: 1},
	{sql: `REFRESH MATERIALIZED VIEW CONCURRENTLY mv`, locks: "mv:E t:AS", work: Backfill, subject: "mv", scans: 2, flags: "concurrently"},
	{setup: `CREATE MATERIALIZED VIEW mv_plain AS SELECT status FROM t;`, sql: `REFRESH MATERIALIZED VIEW CONCURRENTLY mv_plain`, locks: "mv_plain:E t:AS", work: Backfill, subject: "mv_plain", scans: 2, flags: "concurrently", note: "no unique index"},
	{sql: `ALTER TYPE mood ADD VALUE 'happy'`, locks: "mood:E", work: Metadata, note: "cannot be used until the transaction commits"},
	{sql: `ALTER TYPE mood ADD VALUE 'happy'`, ver: 11, locks: "mood:E", work: Metadata, note: "cannot run inside a transaction block"},
	{sql: `ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'`, locks: "mood:E", work: Metadata},
	{sql: `UPDATE t SET amount = amount`, locks: "t:RE t_pkey:RE t_name_idx:RE t_created_at_idx:RE", work: Backfill, subject: "t", scans: 1, note: "batch it"},
	{sql: `UPDATE t SET amount = amount WHERE id BETWEEN 1 AND 10000`, locks: "t:RE t_pkey:RE t_name_idx:RE t_created_at_idx:RE", work: Metadata, note: "touches only the rows"},
	{sql: `DELETE FROM t`, locks: "t:RE t_pkey:RE t_name_idx:RE t_created_at_idx:RE", work: Backfill, subject: "t", scans: 1},
	{sql: `DELETE FROM t WHERE id < 10`, locks: "t:RE t_pkey:RE t_name_idx:RE t_created_at_idx:RE", work: Metadata},
	{sql: `DELETE FROM parent WHERE id = 11`, locks: "parent:RE parent_pkey:RE child:RS", work: Metadata},
	{sql: `UPDATE child SET parent_id = 5 WHERE id = 1`, locks: "child:RE child_pkey:RE parent:RS", work: Metadata},
	{sql: `UPDATE t SET amount = p.id FROM parent p WHERE p.id = t.status`, locks: "t:RE t_pkey:RE t_name_idx:RE t_created_at_idx:RE parent:AS", work: Metadata},
	{sql: `INSERT INTO t (email, status) VALUES ('x', 1)`, locks: "t:RE", work: Metadata},
	{sql: `INSERT INTO child VALUES (1000, 1)`, locks: "child:RE parent:RS", work: Metadata},
	{sql: `INSERT INTO mp_2 SELECT id, status FROM t`, locks: "mp_2:RE t:AS", work: Backfill, subject: "t", scans: 1},
	{sql: `WITH src AS (SELECT id, status FROM t) INSERT INTO mp_2 SELECT * FROM src`, locks: "mp_2:RE t:AS", work: Backfill, subject: "t", scans: 1},
	{sql: `MERGE INTO t USING parent p ON t.status = p.id WHEN MATCHED THEN UPDATE SET amount = 1`, locks: "t:RE t_pkey:RE t_name_idx:RE t_created_at_idx:RE parent:AS", work: Backfill, subject: "t", scans: 1},
	{sql: `SELECT * FROM t WHERE id = 1 FOR UPDATE`, locks: "t:RS", work: Metadata},
	{sql: `SELECT count(*) FROM t JOIN parent ON parent.id = t.status`, locks: "t:AS parent:AS", work: Metadata},
	{sql: `COPY t (email, status) FROM STDIN`, locks: "t:RE", work: Metadata, note: "COPY FROM"},
	{sql: `COPY t TO STDOUT`, locks: "t:AS", work: Scan, subject: "t", scans: 1},

	// creates and the rest
	{sql: `CREATE TABLE n (id int)`, locks: "n:AE", work: Metadata, new: "n"},
	{sql: `CREATE TABLE n (id int REFERENCES parent (id))`, locks: "n:AE parent:SRE", work: Metadata, new: "n", note: "writes to it wait"},
	{sql: `CREATE TABLE n (id int PRIMARY KEY, p int, q int REFERENCES n, FOREIGN KEY (p) REFERENCES parent)`, locks: "n:AE parent:SRE", work: Metadata, new: "n"},
	{sql: `CREATE TABLE n () INHERITS (parent)`, locks: "n:AE parent:SUE", work: Metadata, new: "n"},
	{sql: `CREATE TABLE n (LIKE t)`, locks: "n:AE t:AS", work: Metadata, new: "n"},
	{sql: `CREATE TABLE IF NOT EXISTS t (id int)`, locks: "", work: Metadata, note: "no-op"},
	{sql: `CREATE TABLE n AS SELECT * FROM t`, locks: "n:AE t:AS", work: Backfill, subject: "t", scans: 1, new: "n"},
	{sql: `SELECT * INTO n FROM t`, locks: "n:AE t:AS", work: Backfill, subject: "t", scans: 1, new: "n"},
	{sql: `CREATE VIEW v AS SELECT * FROM t`, locks: "v:AE t:AS", work: Metadata, new: "v"},
	{setup: `CREATE VIEW v AS SELECT id, email FROM t;`, sql: `CREATE OR REPLACE VIEW v AS SELECT id, email FROM t`, locks: "v:AE t:AS", work: Metadata},
	{sql: `CREATE FOREIGN TABLE ft (id int) SERVER remote`, locks: "ft:AE", work: Metadata, new: "ft"},
	{sql: `COMMENT ON TABLE t IS 'orders'`, locks: "t:SUE", work: Metadata},
	{sql: `COMMENT ON COLUMN t.email IS 'login'`, locks: "t:SUE", work: Metadata},
	{sql: `COMMENT ON INDEX t_name_idx IS 'by name'`, locks: "t_name_idx:SUE", work: Metadata},
	{sql: `COMMENT ON CONSTRAINT t_pkey ON t IS 'key'`, locks: "t:AS", work: Metadata},
	{sql: `COMMENT ON FUNCTION trg_noop() IS 'noop'`, locks: "", work: Metadata},
	{sql: `GRANT SELECT ON t TO PUBLIC`, locks: "", work: Metadata},
	{sql: `REVOKE ALL ON t FROM PUBLIC`, locks: "", work: Metadata},
	{sql: `LOCK TABLE t IN SHARE MODE`, locks: "t:S", work: Metadata},
	{sql: `LOCK TABLE t`, locks: "t:AE", work: Metadata},
	{sql: `LOCK TABLE t, parent IN ROW EXCLUSIVE MODE`, locks: "t:RE parent:RE", work: Metadata},
	{sql: `LOCK TABLE mp IN ACCESS SHARE MODE`, locks: "mp:AS mp_1:AS", work: Metadata},
	{sql: `LOCK TABLE ONLY mp IN SHARE UPDATE EXCLUSIVE MODE`, locks: "mp:SUE", work: Metadata},
	{sql: `LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE`, locks: "t:SRE", work: Metadata},
	{sql: `LOCK TABLE t IN EXCLUSIVE MODE`, locks: "t:E", work: Metadata},
	{sql: `LOCK TABLE t IN ROW SHARE MODE`, locks: "t:RS", work: Metadata},
	{sql: `ALTER SEQUENCE t_id_seq RESTART WITH 1000`, locks: "t_id_seq:SRE", work: Metadata},
	{setup: `CREATE DOMAIN positive AS int; ALTER TABLE t ADD COLUMN p positive;`, sql: `ALTER DOMAIN positive ADD CONSTRAINT positive_chk CHECK (VALUE > 0)`, locks: "t:S", work: Scan, subject: "t", scans: 1},
	{setup: `CREATE DOMAIN positive AS int; ALTER TABLE t ADD COLUMN p positive;`, sql: `ALTER DOMAIN positive ADD CONSTRAINT positive_chk CHECK (VALUE > 0) NOT VALID`, locks: "", work: Metadata},
	{setup: `ALTER TABLE t ADD COLUMN m mood;`, sql: `DROP TYPE mood CASCADE`, locks: "mood:AE t:AE", work: Metadata},
	{setup: `ALTER TABLE t ADD COLUMN m mood;`, sql: `DROP TYPE mood`, locks: "mood:AE", work: Metadata, note: "fails without CASCADE"},
	{setup: `CREATE SCHEMA app; CREATE TABLE app.x (id int PRIMARY KEY);`, sql: `DROP SCHEMA app CASCADE`, locks: "app.x:AE app.x_pkey:AE", work: Metadata},
	{sql: `CREATE SCHEMA app CREATE TABLE x (id int REFERENCES public.parent)`, locks: "app.x:AE parent:SRE", work: Metadata, new: "app.x"},
	{sql: `DO $$ BEGIN PERFORM 1 FROM t; END $$`, locks: "", work: Metadata, flags: "unknown", note: "DO block"},
	{sql: `CALL do_things()`, locks: "", work: Metadata, flags: "unknown"},
	{sql: `DROP OWNED BY someone`, locks: "", work: Metadata, flags: "unknown", note: "not modelled"},
	{sql: `CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'`, locks: "", work: Metadata},
	{sql: `SET lock_timeout = '2s'`, locks: "", work: Metadata},
	{sql: `EXPLAIN ANALYZE UPDATE t SET amount = amount`, locks: "t:RE t_pkey:RE t_name_idx:RE t_created_at_idx:RE", work: Backfill, subject: "t", scans: 1, note: "executes the statement"},
	{sql: `EXPLAIN UPDATE t SET amount = amount`, locks: "t:RE t_pkey:RE t_name_idx:RE t_created_at_idx:RE", work: Metadata},
	{sql: `CREATE PUBLICATION pub FOR TABLE t`, locks: "t:SUE", work: Metadata},

	// relations the catalog does not know are named as written
	{sql: `ALTER TABLE "Weird"."Name" ADD COLUMN c text`, locks: `"Weird"."Name":AE`, work: Metadata},
	{sql: `CREATE INDEX CONCURRENTLY ON sales.orders (customer_id)`, locks: "sales.orders:SUE", work: IndexBuild, subject: "sales.orders", scans: 2, flags: "concurrently outside released"},
}

func TestAnalyze(t *testing.T) {
	for _, c := range analyzeCases {
		ver := c.ver
		if ver == 0 {
			ver = 15
		}
		name := c.sql
		if c.ver != 0 {
			name = "pg" + itoa(ver) + " " + name
		}
		t.Run(name, func(t *testing.T) {
			cat := catalogFor(t, baseSchema+c.setup)
			imp := Analyze(parseOne(t, c.sql), cat, Options{PostgresVersion: ver, TypeChange: typeChange})
			checkImpact(t, c, imp)
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func checkImpact(t *testing.T, c analyzeCase, imp Impact) {
	t.Helper()
	var got, want []string
	for _, l := range imp.Locks {
		got = append(got, shortName(l.Relation)+":"+abbrev(l.Mode))
	}
	want = strings.Fields(c.locks)
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("locks\n got: %s\nwant: %s", strings.Join(got, " "), strings.Join(want, " "))
	}
	if imp.Work != c.work {
		t.Errorf("work: got %s, want %s", imp.Work, c.work)
	}
	if shortName(imp.Subject) != c.subject {
		t.Errorf("subject: got %q, want %q", imp.Subject, c.subject)
	}
	if imp.Scans != c.scans {
		t.Errorf("scans: got %d, want %d", imp.Scans, c.scans)
	}
	flags := strings.Fields(c.flags)
	if imp.Concurrently != contains(flags, "concurrently") {
		t.Errorf("Concurrently = %v", imp.Concurrently)
	}
	if imp.OutsideTransaction != contains(flags, "outside") {
		t.Errorf("OutsideTransaction = %v", imp.OutsideTransaction)
	}
	if imp.HeldUntilCommit == contains(flags, "released") {
		t.Errorf("HeldUntilCommit = %v", imp.HeldUntilCommit)
	}
	if imp.Unknown != contains(flags, "unknown") {
		t.Errorf("Unknown = %v (notes %q)", imp.Unknown, imp.Notes)
	}
	if c.note != "" {
		found := false
		for _, n := range imp.Notes {
			found = found || strings.Contains(n, c.note)
		}
		if !found {
			t.Errorf("no note contains %q; notes:\n  %s", c.note, strings.Join(imp.Notes, "\n  "))
		}
	}
	fresh := strings.Fields(c.new)
	for _, l := range imp.Locks {
		if want := !contains(fresh, shortName(l.Relation)); l.Existing != want {
			t.Errorf("%s: Existing = %v, want %v", l.Relation, l.Existing, want)
		}
	}
}

func TestVersions(t *testing.T) {
	cat := catalogFor(t, baseSchema)
	stmt := parseOne(t, `ALTER INDEX t_name_idx RENAME TO x`)
	for _, c := range []struct {
		ver  int
		mode Mode
		note string
	}{
		{0, ShareUpdateExclusive, ""},
		{9, AccessExclusive, "older than the oldest modelled version"},
		{11, AccessExclusive, ""},
		{12, ShareUpdateExclusive, ""},
		{17, ShareUpdateExclusive, ""},
		{18, ShareUpdateExclusive, "newer than the newest modelled version"},
	} {
		imp := Analyze(stmt, cat, Options{PostgresVersion: c.ver})
		if got := imp.Strongest(); got != c.mode {
			t.Errorf("PostgreSQL %d: %s, want %s", c.ver, got, c.mode)
		}
		if c.note != "" && !strings.Contains(strings.Join(imp.Notes, "\n"), c.note) {
			t.Errorf("PostgreSQL %d: notes %q lack %q", c.ver, imp.Notes, c.note)
		}
	}
}

func TestImpactHelpers(t *testing.T) {
	res := parseOne(t, `ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (status) REFERENCES parent (id)`)
	// A RawStmt wrapper and a nil catalog are accepted.
	imp := Analyze(&pg_query.Node{Node: &pg_query.Node_RawStmt{RawStmt: &pg_query.RawStmt{Stmt: res}}}, nil, Options{})
	if imp.Strongest() != ShareRowExclusive {
		t.Errorf("strongest: %s", imp.Strongest())
	}
	l, ok := imp.Lock("parent")
	if !ok || l.Kind != "referenced table" || l.Mode != ShareRowExclusive || !l.Existing {
		t.Errorf("parent lock: %+v %v", l, ok)
	}
	if _, ok := imp.Lock("nothing"); ok {
		t.Error("Lock found a relation that is not locked")
	}
	if (Impact{}).Strongest() != 0 {
		t.Error("an empty impact has no strongest mode")
	}
	queue := 0
	for _, n := range imp.Notes {
		if strings.HasPrefix(n, "lock queue:") && strings.Contains(n, "every later write to them") {
			queue++
		}
	}
	if queue != 1 {
		t.Errorf("want one lock-queue note about writes to both tables, notes: %q", imp.Notes)
	}
}

func TestSelfReferenceKeepsKind(t *testing.T) {
	cat := catalogFor(t, baseSchema+`ALTER TABLE t ADD COLUMN manager bigint;`)
	imp := Analyze(parseOne(t, `ALTER TABLE t ADD CONSTRAINT mgr FOREIGN KEY (manager) REFERENCES t (id)`), cat, Options{})
	if len(imp.Locks) != 1 || imp.Locks[0].Kind != "table" || imp.Locks[0].Mode != ShareRowExclusive {
		t.Errorf("self-referencing key: %+v", imp.Locks)
	}
}
