package pgstats

import (
	"context"

	"github.com/migration-guard/migration-guard/analyzer"
)

// AnalyzerProbe lets the analyzer ask its questions of production data
// through this prober, with its read-only sessions, timeouts and counts-only
// answers.
func (p *Prober) AnalyzerProbe() analyzer.DataProbe { return probeAdapter{p} }

type probeAdapter struct{ p *Prober }

func table(t analyzer.TableName) Table { return Table{Schema: t.Schema, Name: t.Name} }

func count(c Count, err error) (analyzer.ProbeCount, error) {
	return analyzer.ProbeCount{N: c.N, Exact: c.Exact, Sampled: c.Sampled, Percent: c.Percent}, err
}

func (a probeAdapter) LongerThan(ctx context.Context, t analyzer.TableName, column string, n int) (analyzer.ProbeCount, error) {
	return count(a.p.LongerThan(ctx, table(t), column, n))
}

func (a probeAdapter) OutOfRange(ctx context.Context, t analyzer.TableName, column, min, max string) (analyzer.ProbeCount, error) {
	return count(a.p.OutOfRange(ctx, table(t), column, min, max))
}

func (a probeAdapter) Nulls(ctx context.Context, t analyzer.TableName, column string) (analyzer.ProbeCount, error) {
	return count(a.p.Nulls(ctx, table(t), column))
}

func (a probeAdapter) DuplicateGroups(ctx context.Context, t analyzer.TableName, columns []string) (analyzer.ProbeCount, error) {
	return count(a.p.DuplicateGroups(ctx, table(t), columns))
}

func (a probeAdapter) Orphans(ctx context.Context, t analyzer.TableName, columns []string, ref analyzer.TableName, refColumns []string) (analyzer.ProbeCount, error) {
	return count(a.p.Orphans(ctx, table(t), columns, table(ref), refColumns))
}

func (a probeAdapter) ViolatingCheck(ctx context.Context, t analyzer.TableName, expr string) (analyzer.ProbeCount, error) {
	return count(a.p.ViolatingCheck(ctx, table(t), expr))
}
