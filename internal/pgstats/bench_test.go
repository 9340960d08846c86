package pgstats

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/analyzer/prodstats"
)

// BenchmarkRewriteEstimate checks the estimate against reality at a size
// where the timing means something: it calibrates with the default 200 MB
// table, then rewrites the measurement doc's table with a few million rows
// (MIGRATION_GUARD_BENCH_ROWS, default 5,000,000) and reports
// measured/estimated. It takes minutes and a few GB of disk, so it is not
// part of `go test`; run it with
//
//	go test ./internal/pgstats -run '^$' -bench RewriteEstimate -benchtime 1x -timeout 1h
func BenchmarkRewriteEstimate(b *testing.B) {
	rows := 5_000_000
	if v := os.Getenv("MIGRATION_GUARD_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("MIGRATION_GUARD_BENCH_ROWS=%q is not a positive number", v)
		}
		rows = n
	}
	d := newTestDB(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	start := time.Now()
	cal, err := Calibrate(ctx, d.url(), CalibrateOptions{})
	if err != nil {
		b.Fatalf("Calibrate: %v", err)
	}
	b.Logf("calibrated in %v on %s (table %d MB): rewrite %.0f MB/s, scan %.0f MB/s, index build %.0f MB/s, update %.1f MB/s",
		time.Since(start).Round(time.Second), cal.Where, cal.TableBytes>>20,
		cal.BytesPerSecond.Rewrite/(1<<20), cal.BytesPerSecond.Scan/(1<<20), cal.BytesPerSecond.IndexBuild/(1<<20), cal.BytesPerSecond.Backfill/(1<<20))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		d.exec(b, "DROP TABLE IF EXISTS big")
		b.StartTimer()
		measured, est := rewriteAgainstEstimate(b, d, cal, rows)
		b.StopTimer()
		ratioLow := measured.Seconds() / est.Low.Seconds()
		ratioHigh := measured.Seconds() / est.High.Seconds()
		b.Logf("rewrite of %d rows (%d MB total): measured %v, estimate [%v, %v] (%s): measured/low %.2f, measured/high %.2f",
			rows, est.Bytes>>20, measured.Round(time.Millisecond), est.Low, est.High, est.Basis, ratioLow, ratioHigh)
		b.ReportMetric(ratioLow, "measured/low")
		b.ReportMetric(ratioHigh, "measured/high")
		b.ReportMetric(measured.Seconds(), "rewrite-s")
		def := (*prodstats.File)(nil).Estimate(&prodstats.Table{TotalBytes: est.Bytes}, prodstats.WorkRewrite, 1)
		b.Logf("with the default throughput instead: [%v, %v]: measured/low %.2f, measured/high %.2f",
			def.Low, def.High, measured.Seconds()/def.Low.Seconds(), measured.Seconds()/def.High.Seconds())
		b.ReportMetric(measured.Seconds()/def.High.Seconds(), "measured/default-high")
		b.StartTimer()
	}
}
