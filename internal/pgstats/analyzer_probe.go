package pgstats

import (
	"context"
	"errors"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer"
)

// AnalyzerProbe lets the analyzer ask its questions of production data
// through this prober, with its read-only sessions, timeouts and counts-only
// answers.
func (p *Prober) AnalyzerProbe() analyzer.DataProbe { return probeAdapter{p} }

type probeAdapter struct{ p *Prober }

func table(t analyzer.TableName) Table { return Table{Schema: t.Schema, Name: t.Name} }

func count(c Count, err error) (analyzer.ProbeCount, error) {
	if err != nil {
		return analyzer.ProbeCount{}, publicError(err)
	}
	return analyzer.ProbeCount{N: c.N, Exact: c.Exact, Sampled: c.Sampled, Percent: c.Percent, WhetherOnly: c.WhetherOnly}, nil
}

// publicError is a probe's error as the pull request may read it. An
// error PostgreSQL answered about the probe's own query (a missing column,
// a permission) is about the migration and is kept: its text is already
// free of values and passwords. Anything about the connection (no server
// answer, or a connection, authentication or database error) could name
// the host, the user or the database, and becomes PublicReason's words.
func publicError(err error) error {
	var e *Error
	if errors.As(err, &e) && e.code != "" && !connectionClass(e.code) {
		return err
	}
	return errors.New("the connection to the database " + PublicReason(err))
}

func connectionClass(code string) bool {
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "28") || code == "3D000" || strings.HasPrefix(code, "57P")
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
