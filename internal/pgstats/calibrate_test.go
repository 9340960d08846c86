package pgstats

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/analyzer/prodstats"
)

func TestCalibrateRefusesADatabaseWithTables(t *testing.T) {
	d := newTestDB(t)
	d.exec(t, `CREATE TABLE customers (id int)`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Calibrate(ctx, d.url(), CalibrateOptions{TableBytes: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "refusing to calibrate") || !strings.Contains(err.Error(), "1 user tables") ||
		!strings.Contains(err.Error(), "scratch database") {
		t.Fatalf("err = %v", err)
	}
	if n := d.int64(t, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'migration_guard_calibration_%'"); n != 0 {
		t.Fatal("a refused calibration created its schema")
	}
}

// Calibrate on a small table, then check the estimate of a rewrite of a
// 100k-row table against the rewrite itself. The bound is loose on purpose:
// it catches an estimate off by an order of magnitude (wrong unit, wrong
// size, wrong rate), not a slow machine.
func TestCalibrateAndEstimateRewrite(t *testing.T) {
	d := newTestDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cal, err := Calibrate(ctx, d.url(), CalibrateOptions{TableBytes: 24 << 20})
	if err != nil {
		t.Fatalf("Calibrate: %v", err)
	}
	t.Logf("calibration: %+v", cal)
	for _, w := range []prodstats.Work{prodstats.WorkRewrite, prodstats.WorkScan, prodstats.WorkIndexBuild, prodstats.WorkBackfill} {
		if r := cal.BytesPerSecond.For(w); r <= 0 {
			t.Errorf("%s rate = %v", w, r)
		}
	}
	if cal.TableBytes < 16<<20 || cal.TableBytes > 40<<20 {
		t.Errorf("calibration table of %d bytes, asked for 24 MB", cal.TableBytes)
	}
	if !strings.HasPrefix(cal.Where, "PostgreSQL 15.") || strings.Contains(cal.Where, "127.0.0.1") || strings.Contains(cal.Where, d.name) {
		t.Errorf("where = %q: want the server version and no address or database name", cal.Where)
	}
	if time.Since(cal.MeasuredAt) > 10*time.Minute {
		t.Errorf("measured_at = %v", cal.MeasuredAt)
	}
	// Everything it created is gone.
	if n := d.int64(t, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'`); n != 0 {
		t.Errorf("calibration left %d relations behind", n)
	}
	if n := d.int64(t, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'migration_guard_calibration_%'"); n != 0 {
		t.Error("calibration left its schema behind")
	}

	measured, est := rewriteAgainstEstimate(t, d, cal, 100_000)
	t.Logf("rewrite of 100k rows: measured %v, estimate [%v, %v] (%s); measured/low = %.2f",
		measured, est.Low, est.High, est.Basis, measured.Seconds()/est.Low.Seconds())
	if measured < est.Low/4 || measured > est.High*4 {
		t.Errorf("measured rewrite %v outside [%v, %v], a quarter of the estimate's low and four times its high", measured, est.Low/4, est.High*4)
	}
}

// rewriteAgainstEstimate builds the measurement doc's table with n rows,
// collects its statistics, estimates a rewrite with cal, and times the
// rewrite.
func rewriteAgainstEstimate(t testing.TB, d *testDB, cal prodstats.Calibration, n int) (time.Duration, prodstats.Estimate) {
	t.Helper()
	d.exec(t,
		`CREATE TABLE big (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text, name varchar(100),
			amount numeric(10,2), created_at timestamp, status int, payload jsonb)`,
		`INSERT INTO big (email, name, amount, created_at, status, payload)
			SELECT 'user' || g || '@example.com', 'name ' || g, (g % 100000) / 100.0,
			       timestamp '2024-01-01' + g * interval '1 second', g % 10, jsonb_build_object('k', g)
			FROM generate_series(1, `+strconv.Itoa(n)+`) g`,
		`CREATE INDEX ON big (name)`,
		`CREATE INDEX ON big (created_at)`,
		`VACUUM (FREEZE, ANALYZE) big`,
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	f, err := Collect(ctx, d.url(), CollectOptions{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	f.Calibration = &cal
	tb := f.Table("public", "big")
	// ANALYZE estimates reltuples from a sample once the table is large.
	if tb == nil || tb.Rows < int64(n)*99/100 || tb.Rows > int64(n)*101/100 {
		t.Fatalf("big = %+v, want about %d rows", tb, n)
	}
	est := f.Estimate(tb, prodstats.WorkRewrite, 1)
	start := time.Now()
	d.exec(t, `ALTER TABLE big ALTER COLUMN status TYPE bigint`)
	return time.Since(start), est
}
