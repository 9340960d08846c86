package analyzer

import (
	"context"
	"fmt"
)

// DataProbe answers the questions only production data can: how many rows
// would make a statement fail or lose data. Implementations run read-only
// with timeouts and return counts, never values (they may be customer data).
// The analyzer itself never connects to anything; a probe is passed in.
type DataProbe interface {
	LongerThan(ctx context.Context, t TableName, column string, n int) (ProbeCount, error)
	OutOfRange(ctx context.Context, t TableName, column, min, max string) (ProbeCount, error)
	Nulls(ctx context.Context, t TableName, column string) (ProbeCount, error)
	DuplicateGroups(ctx context.Context, t TableName, columns []string) (ProbeCount, error)
	Orphans(ctx context.Context, t TableName, columns []string, ref TableName, refColumns []string) (ProbeCount, error)
	ViolatingCheck(ctx context.Context, t TableName, expr string) (ProbeCount, error)
}

// TableName names a production table.
type TableName struct{ Schema, Name string }

// ProbeCount is a probe's answer.
type ProbeCount struct {
	N int64
	// Exact is false for a sampled estimate on a large table.
	Exact   bool
	Sampled bool
	// Percent is N as a share of the rows looked at.
	Percent float64
	// WhetherOnly says the probe answered only whether some row was found
	// (N 1) or none (N 0), never how many: a CHECK expression is written
	// by the pull request, and a count would publish how many rows match
	// whatever it guesses.
	WhetherOnly bool
}

// probe runs one data probe when a probe is configured and the table is
// known, and returns the sentence to add to a finding ("" when there is no
// probe). what describes one offending row: "rows longer than 255 characters".
func (c *stmtContext) probe(t tableRef, what, consequence string, ask func(ctx context.Context, p DataProbe, tn TableName) (ProbeCount, error)) string {
	if c.dataProbe == nil || t.table == nil {
		return ""
	}
	n, err := ask(c.ctx, c.dataProbe, TableName{Schema: t.table.Schema, Name: t.table.Name})
	if err != nil {
		return fmt.Sprintf("; the data probe could not count %s: %v", what, err)
	}
	if n.WhetherOnly {
		switch {
		case n.N > 0:
			return fmt.Sprintf("; production data: there are %s: %s (the probe says only whether, not how many)", what, consequence)
		case n.Exact:
			return fmt.Sprintf("; production data: no %s, so it will not fail on today's data (the probe says only whether, not how many)", what)
		}
		return fmt.Sprintf("; production data: no %s in a sample of the table (an estimate, not a proof; the probe says only whether, not how many)", what)
	}
	count := fmt.Sprintf("%d %s (exact count)", n.N, what)
	if !n.Exact {
		count = fmt.Sprintf("about %d %s (%.2f%% of a sample: an estimate)", n.N, what, n.Percent)
	}
	switch {
	case n.N == 0 && n.Exact:
		return fmt.Sprintf("; production data: 0 %s, so it will not fail on today's data", what)
	case n.N == 0:
		return fmt.Sprintf("; production data: no %s in a sample of the table (an estimate, not a proof)", what)
	}
	return fmt.Sprintf("; production data: %s: %s", count, consequence)
}
