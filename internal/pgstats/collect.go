package pgstats

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/analyzer/prodstats"
)

// CollectOptions tunes Collect. The zero value is ready to use.
type CollectOptions struct {
	// StatementTimeout bounds each catalog query; default 10 s.
	StatementTimeout time.Duration
	// LockTimeout bounds waiting for a lock. Size functions take ACCESS
	// SHARE on each table, which queues behind a running migration's ACCESS
	// EXCLUSIVE; default 1 s.
	LockTimeout time.Duration
	// Schemas, when set, limits collection to these schemas.
	Schemas []string
	// Now stamps the file; default time.Now.
	Now func() time.Time
}

func (o CollectOptions) withDefaults() CollectOptions {
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 10 * time.Second
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Collect reads the statistics file's contents from the database at
// connString: sizes, row estimates and column statistics of every table
// outside the system schemas. It uses one connection and one READ ONLY
// transaction, and reads only pg_catalog, pg_stats, pg_settings and the
// size functions, never a table's rows. A table whose column statistics
// the role may not read is still listed, marked
// prodstats.StatsNoPrivilege.
func Collect(ctx context.Context, connString string, opts CollectOptions) (*prodstats.File, error) {
	opts = opts.withDefaults()
	s, err := connect(ctx, connString, true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	f := &prodstats.File{
		Format:      prodstats.Format,
		Version:     prodstats.Version,
		CollectedAt: opts.Now().UTC().Truncate(time.Second),
	}
	err = s.readOnly(ctx, timeouts{opts.StatementTimeout, opts.LockTimeout}, "collect statistics", func(tx pgx.Tx) error {
		if err := readServer(ctx, tx, f); err != nil {
			return err
		}
		return readTables(ctx, tx, f, opts.Schemas)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func readServer(ctx context.Context, tx pgx.Tx, f *prodstats.File) error {
	var num string
	if err := tx.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('server_version_num'), current_database()`).
		Scan(&f.Server.Version, &num, &f.Server.Database); err != nil {
		return err
	}
	f.Server.VersionNum, _ = strconv.Atoi(num)
	// reset_val is what a new session of this role starts with: the
	// server's, the database's and the role's defaults, not this
	// transaction's SET LOCAL.
	rows, err := tx.Query(ctx, `SELECT name, reset_val, coalesce(unit, '') FROM pg_settings
		WHERE name IN ('lock_timeout', 'statement_timeout', 'idle_in_transaction_session_timeout', 'TimeZone')`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, val, unit string
		if err := rows.Scan(&name, &val, &unit); err != nil {
			return err
		}
		switch name {
		case "TimeZone":
			f.Settings.TimeZone = val
		case "lock_timeout":
			f.Settings.LockTimeoutMS = millis(val, unit)
		case "statement_timeout":
			f.Settings.StatementTimeoutMS = millis(val, unit)
		case "idle_in_transaction_session_timeout":
			f.Settings.IdleInTransactionSessionTimeoutMS = millis(val, unit)
		}
	}
	return rows.Err()
}

// millis converts a pg_settings value in its unit to milliseconds; nil when
// the unit is not a time unit this knows.
func millis(val, unit string) *int64 {
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil {
		return nil
	}
	var v int64
	switch unit {
	case "ms":
		v = n
	case "s":
		v = n * 1000
	case "min":
		v = n * 60_000
	default:
		return nil
	}
	return &v
}

// tablesQuery lists the tables, partitioned tables and materialized views
// outside the system schemas with their sizes. The size functions need no
// privilege on the table; a partitioned table's sizes and rows are the
// sums over its leaf partitions (pg_partition_tree is PostgreSQL 12+).
const tablesQuery = `
SELECT c.oid, n.nspname, c.relname, c.relkind::text,
       c.reltuples::float8, c.relpages::bigint,
       pg_relation_size(c.oid), pg_indexes_size(c.oid),
       CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END,
       pg_total_relation_size(c.oid),
       (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid)::int
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND c.relpersistence <> 't'
  AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\_%'
  AND (cardinality($1::text[]) = 0 OR n.nspname = ANY ($1::text[]))
ORDER BY n.nspname, c.relname`

const partitionsQuery = `
SELECT c.oid,
       coalesce(sum(GREATEST(l.reltuples, 0)), 0)::float8,
       bool_or(l.reltuples < 0),
       coalesce(sum(pg_relation_size(t.relid)), 0)::bigint,
       coalesce(sum(pg_indexes_size(t.relid)), 0)::bigint,
       coalesce(sum(CASE WHEN l.reltoastrelid <> 0 THEN pg_total_relation_size(l.reltoastrelid) ELSE 0 END), 0)::bigint,
       coalesce(sum(pg_total_relation_size(t.relid)), 0)::bigint
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_partition_tree(c.oid) t
JOIN pg_class l ON l.oid = t.relid
WHERE c.relkind = 'p' AND t.isleaf
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
GROUP BY c.oid`

// columnsQuery reads each column's type and statistics. pg_stats shows a
// column only to a role that may SELECT it, and only when no row-level
// security policy applies to the role, so both are read too, to tell "not
// readable" from "not analyzed". The longest value is computed
// on the server from the most common values and histogram bounds: only
// the length leaves the server, never a value.
const columnsQuery = `
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod),
       t.typlen,
       has_column_privilege(a.attrelid, a.attnum, 'SELECT') AND NOT (c.relrowsecurity AND row_security_active(c.oid)),
       s.attname IS NOT NULL, coalesce(s.null_frac, 0)::float8, coalesce(s.avg_width, 0),
       CASE WHEN s.attname IS NOT NULL AND t.typcategory = 'S' THEN
         GREATEST(
           (SELECT max(char_length(v)) FROM unnest(s.most_common_vals::text::text[]) v),
           (SELECT max(char_length(v)) FROM unnest(s.histogram_bounds::text::text[]) v))
       END
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
                     AND s.attname = a.attname AND s.inherited = (c.relkind = 'p')
WHERE c.relkind IN ('r', 'p', 'm')
  AND c.relpersistence <> 't'
  AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\_%'
  AND (cardinality($1::text[]) = 0 OR n.nspname = ANY ($1::text[]))
ORDER BY a.attrelid, a.attnum`

func readTables(ctx context.Context, tx pgx.Tx, f *prodstats.File, schemas []string) error {
	if schemas == nil {
		schemas = []string{}
	}
	byOID := map[uint32]int{}
	rows, err := tx.Query(ctx, tablesQuery, schemas)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			oid       uint32
			t         prodstats.Table
			kind      string
			reltuples float64
			relpages  int64
		)
		if err := rows.Scan(&oid, &t.Schema, &t.Name, &kind, &reltuples, &relpages,
			&t.HeapBytes, &t.IndexBytes, &t.ToastBytes, &t.TotalBytes, &t.Indexes); err != nil {
			rows.Close()
			return err
		}
		switch kind {
		case "p":
			t.Kind = prodstats.KindPartitioned
		case "m":
			t.Kind = prodstats.KindMatview
		}
		t.Rows = rowEstimate(reltuples, relpages, f.Server.VersionNum)
		byOID[oid] = len(f.Tables)
		f.Tables = append(f.Tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	if f.Server.VersionNum >= 120000 {
		if err := readPartitions(ctx, tx, f, byOID); err != nil {
			return err
		}
	}

	unreadable := map[int]bool{}
	rows, err = tx.Query(ctx, columnsQuery, schemas)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid      uint32
			c        prodstats.Column
			typlen   int
			readable bool
			hasStats bool
			maxLen   *int32
		)
		if err := rows.Scan(&oid, &c.Name, &c.Type, &typlen, &readable, &hasStats, &c.NullFrac, &c.AvgWidth, &maxLen); err != nil {
			return err
		}
		i, ok := byOID[oid]
		if !ok {
			continue
		}
		t := &f.Tables[i]
		// float4 statistics carry noise digits; four are plenty for a
		// fraction and keep the file small.
		c.NullFrac = math.Round(c.NullFrac*1e4) / 1e4
		if typlen > 0 {
			c.AvgWidth = 0
		}
		if maxLen != nil {
			c.MaxLen = int(*maxLen)
		}
		if !hasStats {
			t.NoStats = append(t.NoStats, c.Name)
			if !readable {
				unreadable[i] = true
			}
		}
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range f.Tables {
		t := &f.Tables[i]
		switch {
		case unreadable[i]:
			t.Stats = prodstats.StatsNoPrivilege
		case len(t.NoStats) > 0 && len(t.NoStats) == len(t.Columns):
			t.Stats = prodstats.StatsNotAnalyzed
		}
	}
	return nil
}

func readPartitions(ctx context.Context, tx pgx.Tx, f *prodstats.File, byOID map[uint32]int) error {
	rows, err := tx.Query(ctx, partitionsQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid     uint32
			tuples  float64
			unknown *bool
			heap    int64
			index   int64
			toast   int64
			total   int64
		)
		if err := rows.Scan(&oid, &tuples, &unknown, &heap, &index, &toast, &total); err != nil {
			return err
		}
		i, ok := byOID[oid]
		if !ok {
			continue
		}
		t := &f.Tables[i]
		t.HeapBytes, t.IndexBytes, t.ToastBytes, t.TotalBytes = heap, index, toast, total
		t.Rows = int64(math.Round(tuples))
		if unknown != nil && *unknown {
			t.Rows = -1
		}
	}
	return rows.Err()
}

// rowEstimate reads reltuples: -1 means never vacuumed or analyzed from
// PostgreSQL 14 on; before 14 that state was reltuples = 0 with no pages.
func rowEstimate(reltuples float64, relpages int64, versionNum int) int64 {
	if reltuples < 0 {
		return -1
	}
	if versionNum > 0 && versionNum < 140000 && reltuples == 0 && relpages == 0 {
		return -1
	}
	return int64(math.Round(reltuples))
}

// describeServer is a host-free description of a server, for a
// calibration's Where.
func describeServer(ctx context.Context, tx pgx.Tx) (string, error) {
	var version, sharedBuffers, fsync string
	err := tx.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('shared_buffers'), current_setting('fsync')`).
		Scan(&version, &sharedBuffers, &fsync)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("PostgreSQL %s, shared_buffers=%s, fsync=%s", version, sharedBuffers, fsync), nil
}
