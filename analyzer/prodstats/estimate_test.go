package prodstats

import (
	"strings"
	"testing"
	"time"
)

func within(d, want time.Duration) bool {
	diff := d - want
	if diff < 0 {
		diff = -diff
	}
	return diff <= want/100
}

func TestEstimateDefaults(t *testing.T) {
	f := &File{}
	tb := &Table{Schema: "public", Name: "t", HeapBytes: 10 * gib, IndexBytes: 4 * gib, TotalBytes: 15 * gib}
	cases := []struct {
		work      Work
		scans     int
		low, high time.Duration
	}{
		// 15 GiB total at 8-12 s/GiB, High three times the slow rate.
		{WorkRewrite, 1, 120 * time.Second, 15 * 12 * 3 * time.Second},
		// Heap only: 10 GiB at 0.25-0.8 s/GiB.
		{WorkScan, 1, 2500 * time.Millisecond, 24 * time.Second},
		{WorkScan, 2, 5 * time.Second, 48 * time.Second},
		{WorkIndexBuild, 1, 32 * time.Second, 108 * time.Second},
		{WorkIndexBuild, 3, 96 * time.Second, 324 * time.Second},
		{WorkBackfill, 1, 380 * time.Second, 1230 * time.Second},
		// Passes below 1 count as one.
		{WorkScan, 0, 2500 * time.Millisecond, 24 * time.Second},
	}
	for _, c := range cases {
		e := f.Estimate(tb, c.work, c.scans)
		if !within(e.Low, c.low) || !within(e.High, c.high) {
			t.Errorf("%s x%d: [%v, %v], want [%v, %v]", c.work, c.scans, e.Low, e.High, c.low, c.high)
		}
		if e.Basis != DefaultBasis {
			t.Errorf("%s: basis %q", c.work, e.Basis)
		}
		if e.High < 3*e.Low {
			t.Errorf("%s: High %v does not allow production being 3x slower than Low %v", c.work, e.High, e.Low)
		}
	}
	if e := f.Estimate(tb, WorkRewrite, 1); e.Bytes != 15*gib {
		t.Errorf("rewrite bytes = %d, want total size", e.Bytes)
	}
	if e := f.Estimate(tb, WorkScan, 2); e.Bytes != 20*gib {
		t.Errorf("two scans bytes = %d, want twice the heap", e.Bytes)
	}
}

// The 5M-row table of the measurement doc: 1,317 MB total, rewritten in
// 11.67 s. The default range must contain the measurement.
func TestEstimateContainsMeasurement(t *testing.T) {
	tb := &Table{HeapBytes: 952 << 20, IndexBytes: 365 << 20, TotalBytes: 1317 << 20}
	e := (*File)(nil).Estimate(tb, WorkRewrite, 1)
	if measured := 11670 * time.Millisecond; measured < e.Low || measured > e.High {
		t.Fatalf("measured rewrite %v outside default estimate [%v, %v]", measured, e.Low, e.High)
	}
	e = (*File)(nil).Estimate(tb, WorkBackfill, 1)
	if measured := 38100 * time.Millisecond; measured < e.Low || measured > e.High {
		t.Fatalf("measured UPDATE %v outside default estimate [%v, %v]", measured, e.Low, e.High)
	}
}

func TestEstimateCalibrated(t *testing.T) {
	f := &File{Calibration: &Calibration{
		MeasuredAt:     time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC),
		Where:          "PostgreSQL 15.20, shared_buffers=128MB, fsync=on",
		BytesPerSecond: Throughput{Rewrite: 100e6, Scan: 1e9, IndexBuild: 200e6, Backfill: 20e6},
	}}
	tb := &Table{HeapBytes: 1e9, TotalBytes: 2e9}
	e := f.Estimate(tb, WorkRewrite, 1)
	if !within(e.Low, 20*time.Second) || !within(e.High, 60*time.Second) {
		t.Errorf("calibrated rewrite [%v, %v], want [20s, 60s]", e.Low, e.High)
	}
	if e.Basis != "calibrated on PostgreSQL 15.20, shared_buffers=128MB, fsync=on at 2025-06-07" {
		t.Errorf("basis %q", e.Basis)
	}
	if e := f.Estimate(tb, WorkBackfill, 1); !within(e.Low, 50*time.Second) {
		t.Errorf("calibrated backfill low %v, want 50s", e.Low)
	}
}

func TestEstimateEdges(t *testing.T) {
	f := &File{}
	if e := f.Estimate(nil, WorkScan, 1); e.Low != 0 || e.High != 0 || !strings.Contains(e.Basis, "no statistics") {
		t.Errorf("nil table: %+v", e)
	}
	if e := f.Estimate(&Table{HeapBytes: 1}, Work("vacuum"), 1); e.High != 0 || !strings.Contains(e.Basis, `unknown kind of work "vacuum"`) {
		t.Errorf("unknown work: %+v", e)
	}
	if e := f.Estimate(&Table{}, WorkRewrite, 1); e.Low != 0 || e.High != 0 {
		t.Errorf("empty table: %+v", e)
	}
	// Without a total (older collectors, hand-written files) the parts are summed.
	if e := f.Estimate(&Table{HeapBytes: gib, IndexBytes: gib}, WorkRewrite, 1); e.Bytes != 2*gib {
		t.Errorf("rewrite of heap+indexes: %+v", e)
	}
	// A huge table must not overflow into a negative duration.
	if e := f.Estimate(&Table{HeapBytes: 1 << 62}, WorkBackfill, 1000); e.High <= 0 || e.Low <= 0 {
		t.Errorf("huge table: %+v", e)
	}
	for _, w := range []Work{WorkScan, WorkRewrite, WorkIndexBuild, WorkBackfill} {
		if DefaultFast.For(w) <= DefaultSlow.For(w) {
			t.Errorf("%s: fast default %v not above slow %v", w, DefaultFast.For(w), DefaultSlow.For(w))
		}
	}
}
