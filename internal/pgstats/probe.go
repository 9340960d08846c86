package pgstats

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// ProbeOptions tunes a Prober. The zero value is ready to use.
type ProbeOptions struct {
	// StatementTimeout bounds each probe's query; default 5 s. A probe that
	// runs out of time fails rather than loading production.
	StatementTimeout time.Duration
	// LockTimeout bounds waiting for a table's ACCESS SHARE lock, which
	// queues behind a running migration; default 1 s.
	LockTimeout time.Duration
	// SampleAboveBytes is the heap size (pg_class.relpages) above which a
	// probe reads a sample instead of the whole table; default 1 GiB.
	// Negative never samples.
	SampleAboveBytes int64
	// SampleBytes is about how much of the heap a sample reads; default
	// 256 MiB.
	SampleBytes int64
}

func (o ProbeOptions) withDefaults() ProbeOptions {
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 5 * time.Second
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.SampleAboveBytes == 0 {
		o.SampleAboveBytes = 1 << 30
	}
	if o.SampleBytes <= 0 {
		o.SampleBytes = 256 << 20
	}
	return o
}

// Table names a table to probe. An empty Schema resolves the name through
// the connection's search_path, as an unqualified name in a migration does.
type Table struct {
	Schema string
	Name   string
}

func (t Table) ident() pgx.Identifier {
	if t.Schema == "" {
		return pgx.Identifier{t.Name}
	}
	return pgx.Identifier{t.Schema, t.Name}
}

func (t Table) String() string { return t.ident().Sanitize() }

// Count is what a probe found: how many rows (or, for DuplicateGroups,
// groups), never which. N is exact when Exact is set. When Sampled is set N
// is estimated from a TABLESAMPLE of the table, scaled to the table's
// pg_class.reltuples. Percent is the share of the table's rows affected.
type Count struct {
	N       int64   `json:"n"`
	Exact   bool    `json:"exact"`
	Sampled bool    `json:"sampled"`
	Percent float64 `json:"percent"`
	// WhetherOnly says N is 1 when some row was found and 0 when none, and
	// Percent is 0: the probe answers only whether (ViolatingCheck).
	WhetherOnly bool `json:"whether_only,omitempty"`
}

// Prober counts the rows of a production database a migration would fail
// on or change. Every probe runs in its own READ ONLY transaction with a
// statement_timeout and a lock_timeout, quotes every identifier, and
// returns counts only: the rows it reads may be customer data. A Prober is
// safe for concurrent use; probes run one at a time on its one connection.
type Prober struct {
	mu   sync.Mutex
	s    *session
	opts ProbeOptions
}

// NewProber connects to the database at connString. The session is
// read-only by default as well, so no statement of it can write.
func NewProber(ctx context.Context, connString string, opts ProbeOptions) (*Prober, error) {
	s, err := connect(ctx, connString, true)
	if err != nil {
		return nil, err
	}
	return &Prober{s: s, opts: opts.withDefaults()}, nil
}

// Close closes the connection.
func (p *Prober) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.s.close()
	return nil
}

// LongerThan counts rows whose column is longer than n characters, the rows
// a change to varchar(n) would fail on (or a USING cast truncate).
func (p *Prober) LongerThan(ctx context.Context, table Table, column string, n int) (Count, error) {
	col := pgx.Identifier{column}.Sanitize()
	return p.rowCount(ctx, "count values longer than "+strconv.Itoa(n), table, nil,
		"char_length(t."+col+"::text) > "+strconv.Itoa(n))
}

// OutOfRange counts rows whose column is below min or above max, compared
// as numeric: the rows a change to a smaller integer or numeric type would
// fail on. An empty bound is open.
func (p *Prober) OutOfRange(ctx context.Context, table Table, column, min, max string) (Count, error) {
	col := pgx.Identifier{column}.Sanitize()
	var conds []string
	var args []any
	for _, b := range []struct{ v, op string }{{min, "<"}, {max, ">"}} {
		if b.v == "" {
			continue
		}
		if _, ok := new(big.Rat).SetString(b.v); !ok || strings.ContainsAny(b.v, "/_xXpP") {
			return Count{}, &Error{msg: fmt.Sprintf("out-of-range probe: bound %q is not a decimal number", b.v)}
		}
		args = append(args, b.v)
		conds = append(conds, fmt.Sprintf("t.%s::numeric %s $%d::numeric", col, b.op, len(args)))
	}
	if len(conds) == 0 {
		return Count{}, &Error{msg: "out-of-range probe: neither a minimum nor a maximum was given"}
	}
	return p.rowCount(ctx, "count values out of range", table, nil, strings.Join(conds, " OR "), args...)
}

// Nulls counts rows whose column is NULL: the rows SET NOT NULL fails on.
func (p *Prober) Nulls(ctx context.Context, table Table, column string) (Count, error) {
	return p.rowCount(ctx, "count NULLs", table, nil, "t."+pgx.Identifier{column}.Sanitize()+" IS NULL")
}

// ViolatingCheck says whether some row makes a CHECK constraint's own
// expression false: `NOT (expr)`, so that rows where it is NULL pass, as
// they do in PostgreSQL. It answers only whether (N is 0 or 1, with
// WhetherOnly set), never how many: the expression is written by whoever
// opened the pull request, and a count would tell them, expression by
// expression, how many rows hold a value they guess (token LIKE 'x%').
// The expression must be a single scalar expression calling no volatile
// function and reading no other table; anything else is refused before it
// reaches the server.
func (p *Prober) ViolatingCheck(ctx context.Context, table Table, checkExprSQL string) (Count, error) {
	ce, err := parseCheckExpr(checkExprSQL)
	if err != nil {
		return Count{}, err
	}
	var out Count
	err = p.probe(ctx, "look for rows violating the CHECK", table, ce, func(tx pgx.Tx, from string, info tableInfo) error {
		q := "SELECT EXISTS (SELECT 1 FROM " + from + " WHERE NOT (" + ce.sql + "))"
		if err := checkOneStatement(q); err != nil {
			return err
		}
		var any bool
		if err := tx.QueryRow(ctx, q).Scan(&any); err != nil {
			return err
		}
		out = Count{Exact: !info.sampled, Sampled: info.sampled, WhetherOnly: true}
		if any {
			out.N = 1
		}
		return nil
	})
	return out, err
}

// Orphans counts rows whose columns reference no row of refTable: the rows
// ADD FOREIGN KEY or VALIDATE CONSTRAINT fails on. As with MATCH SIMPLE, a
// row with any NULL in columns is not checked.
func (p *Prober) Orphans(ctx context.Context, table Table, columns []string, refTable Table, refColumns []string) (Count, error) {
	if len(columns) == 0 || len(columns) != len(refColumns) {
		return Count{}, &Error{msg: fmt.Sprintf("orphans probe: %d columns reference %d columns", len(columns), len(refColumns))}
	}
	var notNull, match []string
	for i := range columns {
		c := "t." + pgx.Identifier{columns[i]}.Sanitize()
		notNull = append(notNull, c+" IS NOT NULL")
		match = append(match, "r."+pgx.Identifier{refColumns[i]}.Sanitize()+" = "+c)
	}
	cond := strings.Join(notNull, " AND ") + " AND NOT EXISTS (SELECT 1 FROM " + refTable.String() + " AS r WHERE " + strings.Join(match, " AND ") + ")"
	return p.rowCount(ctx, "count orphans", table, nil, cond)
}

// DuplicateGroups counts groups of rows sharing the same values in columns,
// the groups a UNIQUE constraint fails on; rows with a NULL in columns are
// never duplicates, as in a unique index. Percent is the share of rows in
// such groups. On a sampled table a duplicate is seen only when two of its
// rows fall in the sample, so a sampled N is the number of groups found in
// the sample, a lower bound, not scaled.
func (p *Prober) DuplicateGroups(ctx context.Context, table Table, columns []string) (Count, error) {
	if len(columns) == 0 {
		return Count{}, &Error{msg: "duplicates probe: no columns"}
	}
	var cols, notNull []string
	for _, c := range columns {
		q := "t." + pgx.Identifier{c}.Sanitize()
		cols = append(cols, q)
		notNull = append(notNull, q+" IS NOT NULL")
	}
	var out Count
	err := p.probe(ctx, "count duplicate groups", table, nil, func(tx pgx.Tx, from string, info tableInfo) error {
		q := "SELECT count(*) FILTER (WHERE keyed AND n > 1), coalesce(sum(n) FILTER (WHERE keyed AND n > 1), 0)::bigint, coalesce(sum(n), 0)::bigint " +
			"FROM (SELECT count(*) AS n, bool_and(" + strings.Join(notNull, " AND ") + ") AS keyed FROM " + from +
			" GROUP BY " + strings.Join(cols, ", ") + ") AS g"
		if err := checkOneStatement(q); err != nil {
			return err
		}
		var groups, dupRows, total int64
		if err := tx.QueryRow(ctx, q).Scan(&groups, &dupRows, &total); err != nil {
			return err
		}
		out = Count{N: groups, Exact: !info.sampled, Sampled: info.sampled, Percent: percent(dupRows, total)}
		return nil
	})
	return out, err
}

// tableInfo is what a probe knows of its table before reading it.
type tableInfo struct {
	heapBytes int64
	reltuples float64
	sampled   bool
	percent   float64
}

// rowCount counts the rows of table for which cond holds, scaled when the
// table is sampled.
func (p *Prober) rowCount(ctx context.Context, op string, table Table, ce *checkExpr, cond string, args ...any) (Count, error) {
	var out Count
	err := p.probe(ctx, op, table, ce, func(tx pgx.Tx, from string, info tableInfo) error {
		q := "SELECT count(*) FILTER (WHERE " + cond + "), count(*) FROM " + from
		if err := checkOneStatement(q); err != nil {
			return err
		}
		var bad, seen int64
		if err := tx.QueryRow(ctx, q, args...).Scan(&bad, &seen); err != nil {
			return err
		}
		out = Count{N: bad, Exact: true, Percent: percent(bad, seen)}
		if info.sampled {
			out.Exact, out.Sampled = false, true
			switch {
			case seen == 0:
				out.N = 0
			case info.reltuples > 0:
				out.N = int64(math.Round(float64(bad) / float64(seen) * info.reltuples))
			default:
				out.N = int64(math.Round(float64(bad) * 100 / info.percent))
			}
			if bad > 0 && out.N == 0 {
				out.N = 1
			}
		}
		return nil
	})
	return out, err
}

// probe runs one probe in a read-only transaction: it looks the table up,
// decides whether to sample, checks a CHECK expression's functions, and
// hands fn the FROM item to read, aliased t.
func (p *Prober) probe(ctx context.Context, op string, table Table, ce *checkExpr, fn func(tx pgx.Tx, from string, info tableInfo) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	op = op + " in " + table.String()
	return p.s.readOnly(ctx, timeouts{p.opts.StatementTimeout, p.opts.LockTimeout}, op, func(tx pgx.Tx) error {
		var info tableInfo
		var found bool
		// A query on a partitioned or inherited table reads its whole
		// tree, so the tree's size decides on sampling. relpages is as of
		// the last VACUUM or ANALYZE; a table never processed by either
		// reports 0, so its real size is asked then.
		err := tx.QueryRow(ctx, `
			WITH RECURSIVE tree(oid) AS (
				SELECT to_regclass($1)::oid
				UNION ALL
				SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid)
			SELECT to_regclass($1) IS NOT NULL,
			       coalesce(sum(GREATEST(c.relpages::bigint * current_setting('block_size')::bigint,
			                             CASE WHEN c.reltuples < 0 THEN pg_relation_size(c.oid) ELSE 0 END))
			                FILTER (WHERE c.relkind IN ('r', 'm')), 0)::bigint,
			       coalesce(sum(GREATEST(c.reltuples, 0)) FILTER (WHERE c.relkind IN ('r', 'm')), 0)::float8
			FROM tree JOIN pg_class c ON c.oid = tree.oid`, table.String()).Scan(&found, &info.heapBytes, &info.reltuples)
		if err != nil {
			return err
		}
		if !found {
			return &Error{msg: op + ": no such table (or not visible to this role)"}
		}
		if ce != nil {
			if err := ce.checkVolatility(ctx, tx); err != nil {
				return err
			}
		}
		from := table.String() + " AS t"
		if p.opts.SampleAboveBytes >= 0 && info.heapBytes > p.opts.SampleAboveBytes {
			info.sampled = true
			info.percent = math.Min(100, 100*float64(p.opts.SampleBytes)/float64(info.heapBytes))
			info.percent = math.Max(info.percent, 0.0001)
			from += " TABLESAMPLE SYSTEM (" + strconv.FormatFloat(info.percent, 'f', 6, 64) + ")"
		}
		return fn(tx, from, info)
	})
}

// checkOneStatement is a last guard before a probe's query is sent: it
// must parse as exactly one SELECT, whatever its parts contained.
func checkOneStatement(sql string) error {
	res, err := pg_query.Parse(sql)
	if err != nil || len(res.GetStmts()) != 1 || res.GetStmts()[0].GetStmt().GetSelectStmt() == nil {
		return &Error{msg: "refusing to run a probe that is not a single SELECT"}
	}
	return nil
}

func percent(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return math.Round(10000*float64(part)/float64(whole)) / 100
}
