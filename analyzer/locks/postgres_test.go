package locks

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// liveCase is one statement to measure. setup runs (and commits) after
// baseSchema. dml marks statements whose planner may scan a table although
// the model calls the work metadata (UPDATE ... WHERE on a small table).
type liveCase struct {
	setup string
	sql   string
	dml   bool
}

var liveCases = []liveCase{
	// §3.1 columns
	{sql: `ALTER TABLE t ADD COLUMN c text`},
	{sql: `ALTER TABLE t ADD COLUMN c int DEFAULT 42`},
	{sql: `ALTER TABLE t ADD COLUMN c text DEFAULT 'pending'`},
	{sql: `ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()`},
	{sql: `ALTER TABLE t ADD COLUMN c timestamptz DEFAULT statement_timestamp()`},
	{sql: `ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()`},
	{sql: `ALTER TABLE t ADD COLUMN c timestamptz DEFAULT clock_timestamp()`},
	{sql: `ALTER TABLE t ADD COLUMN c float8 DEFAULT random()`},
	{sql: `ALTER TABLE t ADD COLUMN c text NOT NULL DEFAULT 'x'`},
	{sql: `ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now() + interval '1 day'`},
	{sql: `ALTER TABLE t ADD COLUMN c date DEFAULT CURRENT_DATE`},
	{sql: `ALTER TABLE t ADD COLUMN c timestamptz DEFAULT 'now'::timestamptz`},
	{sql: `ALTER TABLE t ADD COLUMN c text DEFAULT to_char(now(), 'YYYY')`},
	{sql: `ALTER TABLE t ADD COLUMN c text DEFAULT md5(random()::text)`},
	{sql: `ALTER TABLE t ADD COLUMN c text DEFAULT timeofday()`},
	{sql: `ALTER TABLE t ADD COLUMN c bigint DEFAULT txid_current()`},
	{sql: `ALTER TABLE t ADD COLUMN c text DEFAULT current_user`},
	{sql: `ALTER TABLE t ADD COLUMN c jsonb DEFAULT jsonb_build_object('a', 1)`},
	{sql: `ALTER TABLE t ADD COLUMN c bigint DEFAULT nextval('t_id_seq')`},
	{sql: `ALTER TABLE t ADD COLUMN c mood DEFAULT 'ok'`},
	{sql: `ALTER TABLE t ADD COLUMN c int REFERENCES parent (id)`},
	{sql: `ALTER TABLE t ADD COLUMN c int DEFAULT 1 REFERENCES parent (id)`},
	{sql: `ALTER TABLE t ADD COLUMN c int CHECK (c > 0)`},
	{sql: `ALTER TABLE t ADD COLUMN c text UNIQUE`},
	{sql: `ALTER TABLE t ADD COLUMN c int, ADD CONSTRAINT amount_chk CHECK (amount >= 0)`},
	{setup: `CREATE DOMAIN positive AS int CHECK (VALUE > 0)`, sql: `ALTER TABLE t ADD COLUMN c positive`},
	{setup: `CREATE DOMAIN plain_int AS int`, sql: `ALTER TABLE t ADD COLUMN c plain_int DEFAULT 1`},
	{sql: `ALTER TABLE t DROP COLUMN payload`},
	{sql: `ALTER TABLE t DROP COLUMN name`},
	{sql: `ALTER TABLE child DROP COLUMN parent_id`},
	{sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL`},
	{setup: `ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID`, sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL`},
	{setup: `ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL)`, sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL`},
	{setup: `ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL)`, sql: `ALTER TABLE t DROP CONSTRAINT email_nn, ALTER COLUMN email SET NOT NULL`},
	{setup: `ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL)`, sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL, DROP CONSTRAINT email_nn`},
	{setup: `ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID; ALTER TABLE t VALIDATE CONSTRAINT email_nn`, sql: `ALTER TABLE t ALTER COLUMN email SET NOT NULL`},
	{sql: `ALTER TABLE t ALTER COLUMN status SET NOT NULL`},
	{sql: `ALTER TABLE t ALTER COLUMN status DROP NOT NULL`},
	{sql: `ALTER TABLE t ALTER COLUMN status SET DEFAULT 0`},
	{setup: `ALTER TABLE t ALTER COLUMN status SET DEFAULT 0`, sql: `ALTER TABLE t ALTER COLUMN status DROP DEFAULT`},
	{sql: `ALTER TABLE t ALTER COLUMN status SET STATISTICS 500`},
	{sql: `ALTER TABLE t ALTER COLUMN email SET (n_distinct = 100)`},
	{sql: `ALTER TABLE t ALTER COLUMN email SET STORAGE EXTERNAL`},
	{sql: `ALTER TABLE mp ADD COLUMN c text`},
	{sql: `ALTER TABLE mp ALTER COLUMN id SET NOT NULL`},
	{setup: `CREATE INDEX mp_k_idx ON mp (k); CREATE TABLE mp_3 PARTITION OF mp FOR VALUES FROM (300) TO (400); INSERT INTO mp VALUES (1, 1), (2, 301)`, sql: `ALTER TABLE mp ADD COLUMN c uuid DEFAULT gen_random_uuid()`},
	{setup: `CREATE INDEX mp_k_idx ON mp (k); INSERT INTO mp VALUES (1, 1)`, sql: `ALTER TABLE mp ALTER COLUMN id TYPE bigint`},
	{setup: `CREATE INDEX mp_id_idx ON mp (id); INSERT INTO mp VALUES (1, 1)`, sql: `ALTER TABLE mp ALTER COLUMN id TYPE bigint`},
	{setup: `CREATE INDEX mp_k_idx ON mp (k); INSERT INTO mp VALUES (1, 1)`, sql: `ALTER TABLE ONLY mp ALTER COLUMN id SET DEFAULT 0`},

	// §3.2 type changes
	{sql: `ALTER TABLE t ALTER COLUMN status TYPE bigint`},
	{sql: `ALTER TABLE t ALTER COLUMN name TYPE varchar(200)`},
	{sql: `ALTER TABLE t ALTER COLUMN name TYPE varchar(50)`},
	{sql: `ALTER TABLE t ALTER COLUMN name TYPE text`},
	{sql: `ALTER TABLE t ALTER COLUMN amount TYPE numeric(12,2)`},
	{sql: `ALTER TABLE t ALTER COLUMN amount TYPE numeric(10,1)`},
	{sql: `ALTER TABLE t ALTER COLUMN payload TYPE json`},
	{sql: `ALTER TABLE t ALTER COLUMN status TYPE bigint USING status::bigint`},
	{setup: `SET TimeZone = 'UTC'`, sql: `ALTER TABLE t ALTER COLUMN created_at TYPE timestamptz`},
	{sql: `ALTER TABLE child ALTER COLUMN parent_id TYPE bigint`},
	{sql: `ALTER TABLE parent ALTER COLUMN id TYPE bigint`},
	{sql: `ALTER TABLE t ADD COLUMN c int DEFAULT random()::int + 1 REFERENCES parent (id)`},

	// §3.3 constraints
	{sql: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0)`},
	{sql: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0) NOT VALID`},
	{setup: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0) NOT VALID`, sql: `ALTER TABLE t VALIDATE CONSTRAINT amount_chk`},
	{sql: `ALTER TABLE t ADD CONSTRAINT status_fk FOREIGN KEY (status) REFERENCES parent (id)`},
	{sql: `ALTER TABLE t ADD CONSTRAINT status_fk FOREIGN KEY (status) REFERENCES parent (id) NOT VALID`},
	{setup: `ALTER TABLE t ADD CONSTRAINT status_fk FOREIGN KEY (status) REFERENCES parent (id) NOT VALID`, sql: `ALTER TABLE t VALIDATE CONSTRAINT status_fk`},
	{setup: `ALTER TABLE t ADD CONSTRAINT status_fk FOREIGN KEY (status) REFERENCES parent (id)`, sql: `ALTER TABLE t DROP CONSTRAINT status_fk`},
	{setup: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0)`, sql: `ALTER TABLE t DROP CONSTRAINT amount_chk`},
	{sql: `ALTER TABLE t ADD CONSTRAINT email_key UNIQUE (email)`},
	{setup: `CREATE UNIQUE INDEX email_idx ON t (email)`, sql: `ALTER TABLE t ADD CONSTRAINT email_key UNIQUE USING INDEX email_idx`},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey`, sql: `ALTER TABLE t ADD PRIMARY KEY (id)`},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey`, sql: `ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (email)`},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX id_idx ON t (id)`, sql: `ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX id_idx`},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX email_idx ON t (email)`, sql: `ALTER TABLE t ADD PRIMARY KEY USING INDEX email_idx`},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX email_idx ON t (email); ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL)`, sql: `ALTER TABLE t ADD PRIMARY KEY USING INDEX email_idx`},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX email_idx ON t (email); ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL)`, sql: `ALTER TABLE t DROP CONSTRAINT email_nn, ADD PRIMARY KEY USING INDEX email_idx`},
	{setup: `ALTER TABLE t DROP CONSTRAINT t_pkey; ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL)`, sql: `ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (email)`},
	{sql: `ALTER TABLE t ADD CONSTRAINT email_excl EXCLUDE USING btree (email WITH =)`},
	{sql: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0), ADD CONSTRAINT email_key UNIQUE (email)`},
	{setup: `ALTER TABLE t ADD CONSTRAINT status_fk FOREIGN KEY (status) REFERENCES parent (id)`, sql: `ALTER TABLE t ALTER CONSTRAINT status_fk DEFERRABLE`},
	{sql: `ALTER TABLE parent DROP CONSTRAINT parent_pkey CASCADE`},

	// §3.4 indexes
	{sql: `CREATE INDEX amount_idx ON t (amount)`},
	{sql: `CREATE UNIQUE INDEX email_uidx ON t (email)`},
	{sql: `CREATE INDEX ON mp (k)`},
	{sql: `CREATE INDEX mp_k_idx ON ONLY mp (k)`},
	{sql: `CREATE INDEX CONCURRENTLY amount_idx ON t (amount)`},
	{sql: `DROP INDEX t_name_idx`},
	{sql: `DROP INDEX CONCURRENTLY t_name_idx`},
	{sql: `REINDEX INDEX t_name_idx`},
	{sql: `REINDEX TABLE t`},
	{sql: `REINDEX INDEX CONCURRENTLY t_name_idx`},
	{sql: `REINDEX TABLE CONCURRENTLY t`},
	{sql: `ALTER INDEX t_name_idx RENAME TO t_name_idx2`},
	{sql: `ALTER TABLE t_name_idx RENAME TO t_name_idx2`},
	{sql: `ALTER INDEX t_name_idx SET (fillfactor = 50)`},
	{setup: `CREATE INDEX mp_k_idx ON ONLY mp (k); CREATE INDEX mp_1_k_idx ON mp_1 (k)`, sql: `ALTER INDEX mp_k_idx ATTACH PARTITION mp_1_k_idx`},

	// §3.5 renames, drops, triggers, storage parameters
	{sql: `ALTER TABLE t RENAME COLUMN name TO full_name`},
	{sql: `ALTER TABLE t RENAME TO t_renamed`},
	{sql: `ALTER TABLE t RENAME CONSTRAINT t_pkey TO t_pk`},
	{setup: `ALTER TABLE t ADD CONSTRAINT amount_chk CHECK (amount >= 0)`, sql: `ALTER TABLE t RENAME CONSTRAINT amount_chk TO amount_check`},
	{sql: `ALTER MATERIALIZED VIEW mv RENAME TO mv2`},
	{sql: `DROP TABLE t CASCADE`},
	{sql: `DROP TABLE child`},
	{sql: `DROP TABLE parent CASCADE`},
	{sql: `DROP TABLE mp_1`},
	{sql: `DROP MATERIALIZED VIEW mv`},
	{setup: `CREATE VIEW v AS SELECT id, email FROM t`, sql: `DROP VIEW v`},
	{sql: `TRUNCATE t`},
	{sql: `TRUNCATE t RESTART IDENTITY`},
	{sql: `TRUNCATE parent CASCADE`},
	{sql: `TRUNCATE mp`},
	{sql: `CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg_noop()`},
	{setup: `CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg_noop()`, sql: `ALTER TABLE t DISABLE TRIGGER t_trg`},
	{setup: `CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg_noop()`, sql: `DROP TRIGGER t_trg ON t`},
	{sql: `ALTER TABLE t SET (fillfactor = 70)`},
	{sql: `ALTER TABLE t SET (autovacuum_vacuum_scale_factor = 0.01)`},
	{setup: `ALTER TABLE t SET (fillfactor = 70)`, sql: `ALTER TABLE t RESET (fillfactor)`},
	{sql: `ALTER TABLE t OWNER TO postgres`},
	{sql: `ALTER TABLE t REPLICA IDENTITY FULL`},
	{sql: `ALTER TABLE t CLUSTER ON t_pkey`},
	{sql: `ALTER TABLE t ENABLE ROW LEVEL SECURITY`},
	{sql: `CREATE POLICY t_all ON t USING (true)`},
	{sql: `CREATE STATISTICS t_stats ON status, amount FROM t`},
	{sql: `CREATE RULE t_notify AS ON INSERT TO t DO ALSO NOTIFY t`},
	{setup: `CREATE SCHEMA other`, sql: `ALTER TABLE t SET SCHEMA other`},

	// §3.6 maintenance and whole-table rewrites
	{sql: `VACUUM FULL t`},
	{sql: `VACUUM t`},
	{sql: `CLUSTER t USING t_pkey`},
	{sql: `ANALYZE t`},
	{sql: `ALTER TABLE t SET UNLOGGED`},
	{setup: `ALTER TABLE t SET UNLOGGED`, sql: `ALTER TABLE t SET LOGGED`},
	{sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`},
	{setup: `ALTER TABLE mp_2 ADD CONSTRAINT mp_2_k CHECK (k IS NOT NULL AND k >= 100 AND k < 200)`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`},
	{setup: `ALTER TABLE mp_2 ADD CONSTRAINT mp_2_k CHECK (k >= 100 AND k < 200)`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`},
	{setup: `CREATE INDEX mp_k_idx ON mp (k)`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`},
	{setup: `CREATE INDEX mp_k_idx ON mp (k); CREATE INDEX mp_2_k_idx ON mp_2 (k)`, sql: `ALTER TABLE mp ATTACH PARTITION mp_2 FOR VALUES FROM (100) TO (200)`},
	{setup: `CREATE TABLE ml (id int, region text) PARTITION BY LIST (region); CREATE TABLE ml_eu (id int, region text NOT NULL CHECK (region IN ('de', 'fr')))`, sql: `ALTER TABLE ml ATTACH PARTITION ml_eu FOR VALUES IN ('de', 'fr')`},
	{sql: `ALTER TABLE mp DETACH PARTITION mp_1`},
	{sql: `ALTER TABLE mp DETACH PARTITION mp_1 CONCURRENTLY`},
	{sql: `CREATE TABLE mp_3 PARTITION OF mp FOR VALUES FROM (300) TO (400)`},

	// §3.7 generated, identity and serial columns
	{sql: `ALTER TABLE t ADD COLUMN c numeric GENERATED ALWAYS AS (amount * 2) STORED`},
	{sql: `ALTER TABLE t ADD COLUMN c bigserial`},
	{sql: `ALTER TABLE t ADD COLUMN c serial`},
	{sql: `ALTER TABLE t ADD COLUMN c bigint GENERATED ALWAYS AS IDENTITY`},
	{sql: `ALTER TABLE t ALTER COLUMN status ADD GENERATED BY DEFAULT AS IDENTITY`},
	{sql: `ALTER TABLE t ALTER COLUMN id DROP IDENTITY`},

	// §3.8 materialized views, enums, DML
	{sql: `CREATE MATERIALIZED VIEW mv2 AS SELECT id, email, amount, status FROM t`},
	{sql: `CREATE MATERIALIZED VIEW mv2 AS SELECT id, email FROM t WITH NO DATA`},
	{sql: `REFRESH MATERIALIZED VIEW mv`},
	{sql: `REFRESH MATERIALIZED VIEW CONCURRENTLY mv`},
	{sql: `ALTER TYPE mood ADD VALUE 'happy'`},
	{sql: `ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'`},
	{sql: `UPDATE t SET amount = amount`},
	{sql: `UPDATE t SET amount = amount WHERE id BETWEEN 1 AND 10`, dml: true},
	{sql: `DELETE FROM t`},
	{sql: `DELETE FROM t WHERE id < 10`, dml: true},
	{setup: `INSERT INTO parent VALUES (11, 'unused')`, sql: `DELETE FROM parent WHERE id = 11`, dml: true},
	{sql: `UPDATE child SET parent_id = 5 WHERE id = 1`, dml: true},
	{sql: `INSERT INTO t (email, status) VALUES ('x', 1)`},
	{sql: `INSERT INTO child VALUES (1000, 1)`},
	{sql: `INSERT INTO mp_2 SELECT id, status FROM t`},
	{sql: `MERGE INTO t USING parent p ON t.status = p.id WHEN MATCHED THEN UPDATE SET amount = 1`},
	{sql: `SELECT * FROM t WHERE id = 1 FOR UPDATE`, dml: true},

	// creates and the rest
	{sql: `CREATE TABLE n (id int)`},
	{sql: `CREATE TABLE n (id int REFERENCES parent (id))`},
	{sql: `CREATE TABLE n (id int PRIMARY KEY, p int REFERENCES parent, q int REFERENCES n)`},
	{sql: `CREATE TABLE n () INHERITS (parent)`},
	{sql: `CREATE TABLE n (LIKE t)`},
	{sql: `CREATE TABLE n AS SELECT * FROM t`},
	{sql: `CREATE VIEW v AS SELECT * FROM t`},
	{setup: `CREATE VIEW v AS SELECT id, email FROM t`, sql: `CREATE OR REPLACE VIEW v AS SELECT id, email FROM t`},
	{setup: `CREATE TABLE n (id int NOT NULL, label text); ALTER TABLE n INHERIT parent`, sql: `ALTER TABLE n NO INHERIT parent`},
	{sql: `COMMENT ON TABLE t IS 'orders'`},
	{sql: `COMMENT ON COLUMN t.email IS 'login'`},
	{sql: `COMMENT ON INDEX t_name_idx IS 'by name'`},
	{sql: `COMMENT ON CONSTRAINT t_pkey ON t IS 'key'`},
	{sql: `COMMENT ON MATERIALIZED VIEW mv IS 'copy'`},
	{sql: `GRANT SELECT ON t TO PUBLIC`},
	{sql: `LOCK TABLE t IN SHARE MODE`},
	{sql: `LOCK TABLE t`},
	{sql: `LOCK TABLE t, parent IN ROW EXCLUSIVE MODE`},
	{sql: `LOCK TABLE mp IN SHARE MODE`},
	{sql: `LOCK TABLE ONLY mp IN SHARE MODE`},
	{sql: `ALTER SEQUENCE t_id_seq RESTART WITH 1000`},
	{setup: `CREATE DOMAIN positive AS int; ALTER TABLE t ADD COLUMN p positive`, sql: `ALTER DOMAIN positive ADD CONSTRAINT positive_chk CHECK (VALUE > 0)`},
	{setup: `CREATE DOMAIN positive AS int; ALTER TABLE t ADD COLUMN p positive`, sql: `ALTER DOMAIN positive ADD CONSTRAINT positive_chk CHECK (VALUE > 0) NOT VALID`},
	{setup: `ALTER TABLE t ADD COLUMN m mood`, sql: `DROP TYPE mood CASCADE`},
	{sql: `EXPLAIN UPDATE t SET amount = amount`},
	{sql: `EXPLAIN ANALYZE UPDATE t SET amount = amount`},
	{sql: `WITH src AS (SELECT id, status FROM t) INSERT INTO mp_2 SELECT * FROM src`},
	{sql: `UPDATE t SET amount = p.id FROM parent p WHERE p.id = t.status`, dml: true},
	{sql: `CREATE SCHEMA app CREATE TABLE x (id int REFERENCES public.parent)`},
	{setup: `CREATE SCHEMA app; CREATE TABLE app.x (id int PRIMARY KEY)`, sql: `DROP SCHEMA app CASCADE`},
	{sql: `CREATE PUBLICATION pub FOR TABLE t`},
	{sql: `COPY t TO STDOUT`},
	{sql: `DO $$ BEGIN PERFORM 1 FROM t; END $$`},
}

// observed is what the server did for one statement.
type observed struct {
	locks     map[string]Mode // relation name -> strongest mode
	relkind   map[string]string
	existed   map[string]bool
	types     map[string]Mode // type name -> strongest object lock
	rewritten []string        // heaps with a new, non-empty relfilenode
	seqScans  map[string]int64
	tupRead   map[string]int64
	err       error
}

// liveDatabase creates a throwaway database on the test server and returns
// a connection to it, its URL, and the server's major version. The
// database is dropped when the test ends.
func liveDatabase(t *testing.T, ctx context.Context) (*pgx.Conn, string, int) {
	t.Helper()
	url := pgtest.Scratch(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	var version int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&version); err != nil {
		t.Fatal(err)
	}
	return conn, url, version
}

// The live test runs each statement on a real PostgreSQL inside a
// transaction, reads the locks this backend holds from pg_locks, whether a
// heap got a new relfilenode holding data (a rewrite) and how many
// sequential scans hit each table, rolls back, and holds Analyze to what the
// server did. It needs the server the development machines and CI run on
// 127.0.0.1:5432.
func TestAgainstPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, _, version := liveDatabase(t, ctx)

	for _, c := range liveCases {
		c := c
		t.Run(c.sql, func(t *testing.T) {
			setup := baseSchema + ";\n" + c.setup
			cat := catalogFor(t, setup)
			imp := Analyze(parseOne(t, c.sql), cat, Options{PostgresVersion: version, TypeChange: typeChange})

			if err := resetSchema(ctx, conn, setup); err != nil {
				t.Fatalf("setup: %v", err)
			}
			obs := measure(ctx, t, conn, c.sql)
			if obs.err != nil {
				if imp.OutsideTransaction && strings.Contains(obs.err.Error(), "cannot run inside a transaction block") {
					return
				}
				t.Fatalf("the server refused the statement: %v", obs.err)
			}
			if imp.OutsideTransaction {
				t.Fatalf("the model says the statement cannot run in a transaction block, but the server ran it")
			}
			if imp.Unknown {
				return
			}
			compare(t, c, imp, obs)
		})
	}
}

// resetSchema rebuilds the public schema from scratch, committed, so every
// case starts from the same tables.
func resetSchema(ctx context.Context, conn *pgx.Conn, setup string) error {
	_, err := conn.Exec(ctx, `RESET ALL; DROP SCHEMA IF EXISTS other, app CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public;
CREATE FUNCTION public.trg_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;`+setup)
	return err
}

// Relations are named as the expectations spell them: bare in public,
// schema-qualified elsewhere.
const (
	relName    = `CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END`
	userSchema = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'`
)

func measure(ctx context.Context, t *testing.T, conn *pgx.Conn, sql string) observed {
	t.Helper()
	obs := observed{
		locks: map[string]Mode{}, relkind: map[string]string{}, existed: map[string]bool{},
		types: map[string]Mode{}, seqScans: map[string]int64{}, tupRead: map[string]int64{},
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := tx.Rollback(context.Background()); err != nil {
			t.Errorf("rollback: %v", err)
		}
	}()
	// Before the statement, inside the transaction: relation names by oid
	// (a dropped relation is gone from pg_class afterwards), relfilenodes
	// by name (a relation re-created under the same name keeps its
	// storage), and the scan counters. None of this locks the relations.
	type pre struct {
		oid      uint32
		name     string
		kind     string
		filenode *uint32
	}
	rows, err := tx.Query(ctx, `SELECT c.oid, `+relName+`, c.relkind::text, pg_relation_filenode(c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+userSchema)
	if err != nil {
		t.Fatal(err)
	}
	byOID := map[uint32]pre{}
	byName := map[string]pre{}
	for rows.Next() {
		var p pre
		if err := rows.Scan(&p.oid, &p.name, &p.kind, &p.filenode); err != nil {
			t.Fatal(err)
		}
		byOID[p.oid], byName[p.name] = p, p
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	// Enums and domains by oid, for the object locks on types (a dropped
	// type is gone from pg_type afterwards).
	types := map[uint32]string{}
	rows, err = tx.Query(ctx, `SELECT oid, typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var oid uint32
		var name string
		if err := rows.Scan(&oid, &name); err != nil {
			t.Fatal(err)
		}
		types[oid] = name
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	scans := func() map[string][2]int64 {
		out := map[string][2]int64{}
		rows, err := tx.Query(ctx, `SELECT CASE WHEN schemaname = 'public' THEN relname ELSE schemaname || '.' || relname END, seq_scan, seq_tup_read
			FROM pg_stat_xact_all_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var n, tup int64
			if err := rows.Scan(&name, &n, &tup); err != nil {
				t.Fatal(err)
			}
			out[name] = [2]int64{n, tup}
		}
		return out
	}
	before := scans()

	if _, err := tx.Exec(ctx, sql); err != nil {
		obs.err = err
		return obs
	}

	rows, err = tx.Query(ctx, `SELECT l.relation, l.mode, `+relName+`, c.relkind::text
		FROM pg_locks l LEFT JOIN (pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND `+userSchema+`) ON c.oid = l.relation
		WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var oid uint32
		var mode string
		var name, kind *string
		if err := rows.Scan(&oid, &mode, &name, &kind); err != nil {
			t.Fatal(err)
		}
		p, known := byOID[oid]
		switch {
		case known:
			obs.relkind[p.name], obs.existed[p.name] = p.kind, true
			obs.locks[p.name] = max(obs.locks[p.name], pgMode(t, mode))
		case name != nil:
			obs.relkind[*name] = *kind
			obs.locks[*name] = max(obs.locks[*name], pgMode(t, mode))
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	rows, err = tx.Query(ctx, `SELECT l.objid, l.mode FROM pg_locks l
		WHERE l.pid = pg_backend_pid() AND l.locktype = 'object' AND l.classid = 'pg_type'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var oid uint32
		var mode string
		if err := rows.Scan(&oid, &mode); err != nil {
			t.Fatal(err)
		}
		if name, ok := types[oid]; ok {
			obs.types[name] = max(obs.types[name], pgMode(t, mode))
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}

	// A rewrite leaves the heap in a new file that holds the rows;
	// TRUNCATE also gives a new file, but an empty one.
	rows, err = tx.Query(ctx, `SELECT `+relName+`, pg_relation_filenode(c.oid), pg_relation_size(c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+userSchema+` AND c.relkind IN ('r', 'm')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var fn *uint32
		var size int64
		if err := rows.Scan(&name, &fn, &size); err != nil {
			t.Fatal(err)
		}
		p, ok := byName[name]
		if ok && p.filenode != nil && fn != nil && *fn != *p.filenode && size > 0 {
			obs.rewritten = append(obs.rewritten, name)
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	sort.Strings(obs.rewritten)
	after := scans()
	for name, a := range after {
		b := before[name]
		if d := a[0] - b[0]; d > 0 {
			obs.seqScans[name] = d
		}
		if d := a[1] - b[1]; d > 0 {
			obs.tupRead[name] = d
		}
	}
	return obs
}

func pgMode(t *testing.T, s string) Mode {
	for m := AccessShare; m <= AccessExclusive; m++ {
		if strings.ReplaceAll(m.String(), " ", "") == strings.ToUpper(strings.TrimSuffix(s, "Lock")) {
			return m
		}
	}
	t.Fatalf("unknown lock mode %q", s)
	return 0
}

func compare(t *testing.T, c liveCase, imp Impact, obs observed) {
	t.Helper()
	model := map[string]Mode{}
	for _, l := range imp.Locks {
		name := shortName(l.Relation)
		if l.Kind == "type" {
			if got := obs.types[name]; got != l.Mode {
				t.Errorf("type %s: model %s, server %s", name, l.Mode, got)
			}
			continue
		}
		model[name] = l.Mode
		got, ok := obs.locks[name]
		switch {
		case !ok:
			t.Errorf("%s: model says %s, the server took no lock on it", name, l.Mode)
		case got != l.Mode:
			t.Errorf("%s: model says %s, the server's strongest lock was %s", name, l.Mode, got)
		}
		if l.Existing != obs.existed[name] {
			t.Errorf("%s: model says existing=%v, server %v", name, l.Existing, obs.existed[name])
		}
	}
	for name, m := range obs.types {
		found := false
		for _, l := range imp.Locks {
			found = found || (l.Kind == "type" && shortName(l.Relation) == name)
		}
		// Using a type (a column of it, a constraint on a domain) takes
		// ACCESS SHARE on it, which only DROP TYPE would notice.
		if !found && m >= ShareUpdateExclusive {
			t.Errorf("type %s: the server took %s, the model lists nothing", name, m)
		}
	}
	// Every relation that existed before must be in the model, except
	// weak locks on indexes and sequences (the planner's ACCESS SHARE on
	// every index, nextval's ROW EXCLUSIVE), which block only DDL on them.
	for name, m := range obs.locks {
		if _, ok := model[name]; ok || !obs.existed[name] {
			continue
		}
		switch obs.relkind[name] {
		case "i", "I", "S":
			if m < ShareUpdateExclusive {
				continue
			}
		}
		t.Errorf("%s (relkind %s): the server took %s, the model lists nothing", name, obs.relkind[name], m)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("model:  %s  work=%s subject=%s scans=%d", describeLocks(imp.Locks), imp.Work, imp.Subject, imp.Scans)
		t.Logf("server: %s  rewritten=%v seqscans=%v", describeObserved(obs), obs.rewritten, obs.seqScans)
	}

	subject := shortName(imp.Subject)
	if rewrote := len(obs.rewritten) > 0; rewrote != (imp.Work == Rewrite) {
		t.Errorf("rewritten heaps %v, but the model's work is %s", obs.rewritten, imp.Work)
	} else if rewrote && !contains(obs.rewritten, subject) && obs.relkind[subject] != "p" {
		t.Errorf("rewritten heaps %v do not include the subject %s", obs.rewritten, imp.Subject)
	}
	// A partitioned table has no heap: its partitions are scanned.
	passes := func(name string) int64 {
		n := obs.seqScans[name]
		if obs.relkind[name] == "p" {
			for other, k := range obs.seqScans {
				if obs.relkind[other] == "r" {
					n += k
				}
			}
		}
		return n
	}

	switch imp.Work {
	case Metadata:
		if c.dml {
			break
		}
		for name, n := range obs.tupRead {
			if obs.existed[name] {
				t.Errorf("model says metadata only, but the server read %d rows of %s", n, name)
			}
		}
	case Scan, IndexBuild, Rewrite:
		if got := passes(subject); got != int64(imp.Scans) {
			t.Errorf("model says %d pass(es) over %s, the server made %d (all: %v)", imp.Scans, subject, got, obs.seqScans)
		}
	case Backfill:
		if obs.seqScans[subject] < 1 {
			t.Errorf("model says %s of %s, but the server did not scan it (all: %v)", imp.Work, subject, obs.seqScans)
		}
	}
}

func describeObserved(obs observed) string {
	var names []string
	for n := range obs.locks {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		p := n + ":" + abbrev(obs.locks[n])
		if !obs.existed[n] {
			p += "(new)"
		}
		parts = append(parts, p)
	}
	for n, m := range obs.types {
		parts = append(parts, "type "+n+":"+abbrev(m))
	}
	return strings.Join(parts, " ")
}

// outsideCases cannot run in a transaction block, so their locks cannot be
// read from the same backend. Instead a second session holds the weakest
// lock on the table that conflicts with the model's mode, the statement
// queues behind it, and its waiting request in pg_locks shows the mode it
// asks for; then the blocker rolls back and the statement runs to
// completion, committing. The blocker never conflicts with ACCESS SHARE
// (unless the model says ACCESS EXCLUSIVE), because VACUUM and others first
// look the table up under ACCESS SHARE. A statement asking for a weaker
// lock than the model's never waits, and one asking for a stronger or
// different one shows up as a mismatch.
var outsideCases = []struct {
	sql, table string
}{
	{`CREATE INDEX CONCURRENTLY amount_idx ON t (amount)`, "t"},
	{`CREATE UNIQUE INDEX CONCURRENTLY email_uidx ON t (email)`, "t"},
	{`DROP INDEX CONCURRENTLY t_name_idx`, "t"},
	{`REINDEX INDEX CONCURRENTLY t_name_idx`, "t"},
	{`REINDEX TABLE CONCURRENTLY t`, "t"},
	{`VACUUM t`, "t"},
	{`VACUUM FULL t`, "t"},
	{`VACUUM (FULL, ANALYZE) t`, "t"},
	{`ALTER TABLE mp DETACH PARTITION mp_1 CONCURRENTLY`, "mp"},
}

func TestOutsideTransactionAgainstPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, url, version := liveDatabase(t, ctx)
	runner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close(context.Background())
	var runnerPID uint32
	if err := runner.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&runnerPID); err != nil {
		t.Fatal(err)
	}
	for _, c := range outsideCases {
		t.Run(c.sql, func(t *testing.T) {
			cat := catalogFor(t, baseSchema)
			imp := Analyze(parseOne(t, c.sql), cat, Options{PostgresVersion: version, TypeChange: typeChange})
			if !imp.OutsideTransaction || imp.HeldUntilCommit {
				t.Fatalf("the model should say the statement runs outside a transaction block: %+v", imp)
			}
			if err := resetSchema(ctx, conn, baseSchema); err != nil {
				t.Fatalf("setup: %v", err)
			}
			heap := func() *uint32 {
				var fn *uint32
				if err := conn.QueryRow(ctx, "SELECT pg_relation_filenode($1::regclass)", c.table).Scan(&fn); err != nil {
					t.Fatal(err)
				}
				return fn
			}
			before := heap()
			want, ok := imp.Lock("public." + c.table)
			if !ok {
				t.Fatalf("the model does not lock %s: %+v", c.table, imp.Locks)
			}
			blocker := AccessShare
			for blocker < AccessExclusive && !(blocker.Conflicts(want.Mode) && (want.Mode == AccessExclusive || !blocker.Conflicts(AccessShare))) {
				blocker++
			}
			if _, err := conn.Exec(ctx, "BEGIN; LOCK TABLE "+c.table+" IN "+blocker.String()+" MODE"); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := runner.Exec(ctx, c.sql)
				done <- err
			}()
			var mode string
			deadline := time.Now().Add(10 * time.Second)
			for mode == "" && time.Now().Before(deadline) {
				err := conn.QueryRow(ctx, `SELECT mode FROM pg_locks WHERE pid = $1 AND locktype = 'relation'
					AND relation = $2::regclass AND NOT granted`, runnerPID, c.table).Scan(&mode)
				if err != nil && err != pgx.ErrNoRows {
					t.Fatal(err)
				}
				if mode == "" {
					time.Sleep(5 * time.Millisecond)
				}
			}
			if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("the statement failed on the server: %v", err)
			}
			if mode == "" {
				t.Fatalf("the statement never waited behind %s on %s: it asks for less than the model's %s", blocker, c.table, want.Mode)
			}
			if got := pgMode(t, mode); got != want.Mode {
				t.Errorf("%s: the server asked for %s, the model says %s", c.table, got, want.Mode)
			}
			after := heap()
			rewrote := before != nil && after != nil && *before != *after
			if rewrote != (imp.Work == Rewrite) {
				t.Errorf("heap rewritten=%v, model work %s", rewrote, imp.Work)
			}
		})
	}
}
