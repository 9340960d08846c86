package prodstats

import (
	"fmt"
	"math"
	"time"
)

// Work is what a statement makes PostgreSQL do to a table's existing data
// while it holds its lock, in the analyzer's vocabulary.
type Work string

const (
	// WorkScan reads the heap once per pass without writing it: SET NOT
	// NULL, ADD CHECK, ADD FOREIGN KEY, VALIDATE CONSTRAINT.
	WorkScan Work = "scan"
	// WorkRewrite copies the heap to a new file and rebuilds every index: most
	// type changes, volatile defaults, VACUUM FULL, CLUSTER, SET LOGGED.
	WorkRewrite Work = "rewrite"
	// WorkIndexBuild builds one btree from the heap per pass.
	WorkIndexBuild Work = "index-build"
	// WorkBackfill updates every row: UPDATE without WHERE.
	WorkBackfill Work = "backfill"
)

// Valid reports whether w is one of the known kinds of work.
func (w Work) Valid() bool {
	switch w {
	case WorkScan, WorkRewrite, WorkIndexBuild, WorkBackfill:
		return true
	}
	return false
}

// Throughput is bytes per second for each kind of work. Rewrite counts the
// table's total size (heap, indexes and TOAST), because a rewrite copies all
// of them; the others count the heap only, because that is what they read.
type Throughput struct {
	Rewrite    float64 `json:"rewrite"`
	Scan       float64 `json:"scan"`
	IndexBuild float64 `json:"index_build"`
	// Backfill is a whole-table UPDATE.
	Backfill float64 `json:"backfill"`
}

// For returns the throughput for a kind of work, 0 if unknown.
func (tp Throughput) For(w Work) float64 {
	switch w {
	case WorkRewrite:
		return tp.Rewrite
	case WorkScan:
		return tp.Scan
	case WorkIndexBuild:
		return tp.IndexBuild
	case WorkBackfill:
		return tp.Backfill
	}
	return 0
}

func (tp Throughput) validate() error {
	for _, w := range []Work{WorkRewrite, WorkScan, WorkIndexBuild, WorkBackfill} {
		v := tp.For(w)
		if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s throughput %v is not a positive number of bytes per second", w, v)
		}
	}
	return nil
}

const gib = 1 << 30

// perGiB turns "seconds per GiB" into bytes per second.
func perGiB(seconds float64) float64 { return gib / seconds }

// The default throughputs are section 5 of postgres-ddl-measured.md: a
// 2-vCPU PostgreSQL 15.18 with fsync off, tables of 1M to 20M rows, warm
// cache. DefaultFast is the fastest rate measured for each kind of work,
// DefaultSlow the slowest.
var (
	DefaultFast = Throughput{
		Rewrite:    perGiB(8),    // 7.9 s/GB at 5M rows, with 3 indexes
		Scan:       perGiB(0.25), // SET NOT NULL, warm, 5M rows
		IndexBuild: perGiB(3.2),  // CREATE INDEX, 5M rows
		Backfill:   perGiB(38),   // UPDATE of every row, 1M rows
	}
	DefaultSlow = Throughput{
		Rewrite:    perGiB(12),  // 12.4 s/GB, int->bigint at 1M rows
		Scan:       perGiB(0.8), // VALIDATE CONSTRAINT, 5M rows
		IndexBuild: perGiB(3.6), // CREATE INDEX, 20M rows
		Backfill:   perGiB(41),  // UPDATE of every row, 20M rows
	}
)

// ProductionSlowdown is how much slower than a quiet test server production
// often is (fsync, full-page writes, replicas, a busy cache): 1.5 to 3
// times. An estimate's High allows the worst of it.
const ProductionSlowdown = 3.0

// DefaultBasis is the Basis of an estimate made from the default throughputs.
const DefaultBasis = "default throughput measured on a 2-vCPU PostgreSQL 15; production is often 1.5-3x slower"

// Estimate is how long a statement's work on a table holds its lock.
type Estimate struct {
	Low  time.Duration `json:"low"`
	High time.Duration `json:"high"`
	// Bytes is the size the estimate is based on: total bytes for a
	// rewrite, heap bytes for the rest, times the number of passes.
	Bytes int64 `json:"bytes"`
	// Basis says where the throughput came from.
	Basis string `json:"basis"`
}

// Estimate returns how long work on t takes: scans is the number of passes
// (a rewrite is one pass; CREATE INDEX CONCURRENTLY reads the heap twice;
// REINDEX TABLE builds one index per index), and values below 1 count as 1.
// The calibration is used when the file has one, the documented defaults
// otherwise. Low assumes the measured rate, High the slowest measured rate
// made ProductionSlowdown times slower. A nil table gives a zero estimate
// whose Basis says why.
func (f *File) Estimate(t *Table, work Work, scans int) Estimate {
	if t == nil {
		return Estimate{Basis: "no statistics for this table"}
	}
	if !work.Valid() {
		return Estimate{Basis: fmt.Sprintf("unknown kind of work %q", work)}
	}
	if scans < 1 {
		scans = 1
	}
	size := t.HeapBytes
	if work == WorkRewrite {
		size = t.TotalBytes
		if size == 0 {
			size = t.HeapBytes + t.IndexBytes + t.ToastBytes
		}
	}
	bytes := float64(size) * float64(scans)
	if f != nil && f.Calibration != nil && f.Calibration.BytesPerSecond.For(work) > 0 {
		c := f.Calibration
		low := seconds(bytes / c.BytesPerSecond.For(work))
		return Estimate{
			Low:   low,
			High:  time.Duration(float64(low) * ProductionSlowdown),
			Bytes: int64(bytes),
			Basis: fmt.Sprintf("calibrated on %s at %s", c.Where, c.MeasuredAt.UTC().Format("2006-01-02")),
		}
	}
	return Estimate{
		Low:   seconds(bytes / DefaultFast.For(work)),
		High:  seconds(bytes / DefaultSlow.For(work) * ProductionSlowdown),
		Bytes: int64(bytes),
		Basis: DefaultBasis,
	}
}

func seconds(s float64) time.Duration {
	d := s * float64(time.Second)
	if d > math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d).Round(time.Microsecond)
}
