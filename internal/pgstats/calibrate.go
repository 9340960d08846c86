package pgstats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/analyzer/prodstats"
)

// CalibrateOptions tunes Calibrate. The zero value is ready to use.
type CalibrateOptions struct {
	// TableBytes is the total size (heap and indexes) of the table the
	// statements are timed on; default 200 MB. Larger tables give steadier
	// figures; the table must fit the scratch server's disk three times
	// over (the rewrite and the UPDATE copy it).
	TableBytes int64
	// Force calibrates on a database that has user tables. The tables are
	// left alone (everything is created in a schema of its own), but the
	// load competes with them.
	Force bool
	// StatementTimeout bounds each timed statement; default 30 min.
	StatementTimeout time.Duration
	// Where replaces the server description recorded with the figures.
	// It is committed with the statistics file: keep host names out of it.
	Where string
	// Now stamps the calibration; default time.Now.
	Now func() time.Time
}

// calibrationRowBytes is the total size per row of the calibration table:
// the rows inserted below take about 228 bytes each, heap and indexes.
const calibrationRowBytes = 228

// Calibrate measures the throughput of each kind of work on the database
// at connString, which must be a scratch database: it creates a table of
// about opts.TableBytes in a schema of its own, times a rewrite (ALTER
// COLUMN TYPE int to bigint), a validation scan (ADD CHECK), an index build
// and a whole-table UPDATE, and drops the schema. Rates are computed as in
// the measurement doc: the rewrite per total bytes, the others per heap
// bytes, each measured just before its statement.
func Calibrate(ctx context.Context, connString string, opts CalibrateOptions) (prodstats.Calibration, error) {
	if opts.TableBytes <= 0 {
		opts.TableBytes = 200 << 20
	}
	if opts.StatementTimeout <= 0 {
		opts.StatementTimeout = 30 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var cal prodstats.Calibration
	s, err := connect(ctx, connString, false)
	if err != nil {
		return cal, err
	}
	defer s.close()

	var userTables int
	var dbname string
	if err := s.conn.QueryRow(ctx, `SELECT current_database(), count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'm', 'f') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'`).Scan(&dbname, &userTables); err != nil {
		return cal, s.wrap(ctx, "calibrate", err)
	}
	if userTables > 0 && !opts.Force {
		return cal, &Error{msg: fmt.Sprintf("refusing to calibrate on database %q: it has %d user tables, and calibration loads, rewrites and updates a %d MB table; "+
			"run it on a scratch database with the same hardware and settings as production (or force it)", dbname, userTables, opts.TableBytes>>20)}
	}

	buf := make([]byte, 6)
	if _, err := rand.Read(buf); err != nil {
		return cal, &Error{msg: "calibrate: " + err.Error()}
	}
	schema := "migration_guard_calibration_" + hex.EncodeToString(buf)
	qs := pgx.Identifier{schema}.Sanitize()
	tbl := pgx.Identifier{schema, "t"}.Sanitize()
	defer func() {
		// The schema goes even when the caller's context is done.
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = s.conn.Exec(dctx, "DROP SCHEMA IF EXISTS "+qs+" CASCADE")
	}()

	exec := func(op, sql string) (time.Duration, error) {
		start := time.Now()
		if _, err := s.conn.Exec(ctx, sql); err != nil {
			return 0, s.wrap(ctx, "calibrate: "+op, err)
		}
		return time.Since(start), nil
	}
	sizes := func() (heap, total int64, err error) {
		err = s.conn.QueryRow(ctx, "SELECT pg_relation_size($1::regclass), pg_total_relation_size($1::regclass)", tbl).Scan(&heap, &total)
		if err != nil {
			err = s.wrap(ctx, "calibrate: table size", err)
		}
		return heap, total, err
	}

	rows := opts.TableBytes / calibrationRowBytes
	if rows < 1000 {
		rows = 1000
	}
	setup := []string{
		"SET statement_timeout = " + msString(opts.StatementTimeout),
		"SET lock_timeout = 0",
		"SET TimeZone = 'UTC'",
		"CREATE SCHEMA " + qs,
		// The measurement doc's table: 7 columns, 3 btree indexes.
		"CREATE TABLE " + tbl + ` (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text, name varchar(100),
			amount numeric(10,2), created_at timestamp, status int, payload jsonb)`,
		"INSERT INTO " + tbl + ` (email, name, amount, created_at, status, payload)
			SELECT 'user' || g || '@example.com', 'name ' || g, (g % 100000) / 100.0,
			       timestamp '2024-01-01' + g * interval '1 second', g % 10,
			       jsonb_build_object('k', g, 'tag', 'calibration')
			FROM generate_series(1, ` + fmt.Sprint(rows) + `) g`,
		"CREATE INDEX ON " + tbl + " (name)",
		"CREATE INDEX ON " + tbl + " (created_at)",
		"VACUUM (FREEZE, ANALYZE) " + tbl,
	}
	for _, q := range setup {
		if _, err := exec("set up the test table", q); err != nil {
			return cal, err
		}
	}

	var rates prodstats.Throughput
	_, total, err := sizes()
	if err != nil {
		return cal, err
	}
	cal.TableBytes = total
	d, err := exec("rewrite", "ALTER TABLE "+tbl+" ALTER COLUMN status TYPE bigint")
	if err != nil {
		return cal, err
	}
	rates.Rewrite = rate(total, d)
	// The doc timed each statement on the freshly loaded, frozen table; the
	// rewrite left new tuples whose first reader would set hint bits.
	if _, err := exec("vacuum", "VACUUM (FREEZE, ANALYZE) "+tbl); err != nil {
		return cal, err
	}

	heap, _, err := sizes()
	if err != nil {
		return cal, err
	}
	if d, err = exec("validation scan", "ALTER TABLE "+tbl+" ADD CONSTRAINT amount_nonnegative CHECK (amount >= 0)"); err != nil {
		return cal, err
	}
	rates.Scan = rate(heap, d)

	if d, err = exec("index build", "CREATE INDEX ON "+tbl+" (amount)"); err != nil {
		return cal, err
	}
	rates.IndexBuild = rate(heap, d)

	if d, err = exec("whole-table update", "UPDATE "+tbl+" SET amount = amount"); err != nil {
		return cal, err
	}
	rates.Backfill = rate(heap, d)

	cal.BytesPerSecond = rates
	cal.MeasuredAt = opts.Now().UTC().Truncate(time.Second)
	cal.Where = opts.Where
	if cal.Where == "" {
		err := s.readOnly(ctx, timeouts{10 * time.Second, time.Second}, "calibrate: describe server", func(tx pgx.Tx) error {
			var err error
			cal.Where, err = describeServer(ctx, tx)
			return err
		})
		if err != nil {
			return cal, err
		}
	}
	return cal, nil
}

func rate(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		d = time.Microsecond
	}
	return float64(bytes) / d.Seconds()
}
