package analyzer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

// countdownCtx expires after a given number of Err calls: a deadline that
// passes in the middle of a file, without depending on the clock.
type countdownCtx struct {
	context.Context
	left  atomic.Int64
	calls atomic.Int64
}

func (c *countdownCtx) Err() error {
	c.calls.Add(1)
	if c.left.Add(-1) < 0 {
		return context.DeadlineExceeded
	}
	return nil
}

func newCountdown(n int64) *countdownCtx {
	c := &countdownCtx{Context: context.Background()}
	c.left.Store(n)
	return c
}

// wideAlters is one file of many ALTER TABLE statements.
func wideAlters(n int) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE big (id bigint PRIMARY KEY);\n")
	for i := range n {
		fmt.Fprintf(&b, "ALTER TABLE big ADD COLUMN c%d integer;\n", i)
	}
	return b.String()
}

// TestAnalyzeStopsAtDeadline: the deadline is checked per statement, when
// judging and when replaying the base, so that one huge file cannot hold a
// worker past the job's deadline; a file cut short is an error, never a
// report.
func TestAnalyzeStopsAtDeadline(t *testing.T) {
	big := goose(wideAlters(2000))
	tests := []struct {
		name string
		req  Request
	}{
		{"judging one file", Request{Head: fstest.MapFS{"db/migrations/00001_big.sql": {Data: []byte(big)}}}},
		{"replaying the base", Request{
			Base: fstest.MapFS{"db/migrations/00001_big.sql": {Data: []byte(big)}},
			Head: fstest.MapFS{
				"db/migrations/00001_big.sql":    {Data: []byte(big)},
				"db/migrations/00002_change.sql": {Data: []byte(goose("ALTER TABLE big DROP COLUMN c1;"))},
			},
			Changed: []string{"db/migrations/00002_change.sql"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Config = DefaultConfig()
			// Per-file checks alone would call Err a handful of times and
			// never see the deadline; 100 calls in is inside the file.
			ctx := newCountdown(100)
			rep, err := Analyze(ctx, tt.req)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Analyze = %v, %v; want the deadline's error", rep != nil, err)
			}
			if rep != nil {
				t.Fatal("a report came back from an analysis cut short")
			}
			// It stopped soon after the deadline, not at the end of the file.
			if calls := ctx.calls.Load(); calls > 110 {
				t.Fatalf("Err was called %d times: the loop went on after the deadline", calls)
			}
			// The same request without a deadline completes.
			if _, err := Analyze(context.Background(), tt.req); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkWideAlterFile judges one 4.9 MB file of ALTER TABLE ... ADD
// COLUMN statements: the file that held a worker for over 11 minutes
// while splitting walked every token for each statement and each added
// column re-indexed the whole table.
func BenchmarkWideAlterFile(b *testing.B) {
	body := goose(wideAlters(120_000))
	head := fstest.MapFS{"db/migrations/00001_big.sql": {Data: []byte(body)}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Analyze(context.Background(), Request{Head: head, Config: DefaultConfig()})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Files) != 1 {
			b.Fatalf("%d files", len(rep.Files))
		}
	}
}

// TestAnalyzeStatementLimit: beyond Request.MaxStatements the analysis
// stops with an error naming the limit, never a partial report; at the
// limit it completes.
func TestAnalyzeStatementLimit(t *testing.T) {
	head := fstest.MapFS{"db/migrations/00001_big.sql": {Data: []byte(goose(wideAlters(99)))}}
	// 100 up statements and the down part's one.
	for _, tt := range []struct {
		max     int
		wantErr bool
	}{{0, false}, {101, false}, {100, true}, {10, true}} {
		rep, err := Analyze(context.Background(), Request{Head: head, Config: DefaultConfig(), MaxStatements: tt.max})
		var le *StatementLimitError
		switch {
		case tt.wantErr && (!errors.As(err, &le) || le.Max != tt.max || rep != nil):
			t.Errorf("max %d: got %v, %v; want a StatementLimitError and no report", tt.max, rep != nil, err)
		case !tt.wantErr && err != nil:
			t.Errorf("max %d: %v", tt.max, err)
		}
	}
}
