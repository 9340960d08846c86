// Package safewayrun runs the safe ways a report prints on the migrations
// they were printed for: the folder's history is applied up to the
// statement, a few rows are added, and in two copies of that database the
// statement runs in one and its safe way, as an operator runs it, in the
// other; the effects are compared with internal/effect, the comparators the
// fixture harness of the analyzer uses in CI. It is the corpus run of
// scripts/corpus-safeways.sh (docs/corpus.md).
package safewayrun

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/effect"
	"github.com/migration-guard/migration-guard/internal/rehearse"
)

// Status of one safe way.
const (
	// OK: it ran and its effect is the statement's.
	OK = "ok"
	// Failed: it did not run, or its effect differs (Reason says how).
	Failed = "failed"
	// NotRunnable: it could not be tried here (Reason says why): the
	// history does not apply on this server, the statement itself fails,
	// it runs inside a DO block, a placeholder only the operator can fill.
	NotRunnable = "not-runnable"
	// Fragment: the safe way is a piece of a statement (a column
	// definition), not SQL an operator runs; not a suggestion to run.
	Fragment = "fragment"
)

// Options of a run.
type Options struct {
	// Rows added to every table before the statement runs (rehearse.Fill).
	Rows int
	// Rehearse bounds the SQL as a rehearsal does (timeouts).
	Rehearse rehearse.Options
	// Progress, when set, is told each outcome as it is known (a folder
	// takes minutes).
	Progress func(Outcome)
}

// Outcome is what became of one finding's safe way.
type Outcome struct {
	Path   string
	Line   int
	Rule   string
	Status string
	// Rows says on what rows it ran: "generated" (Options.Rows per table),
	// "history" (only what the migrations inserted: the statement fails on
	// the generated rows, as it would on production's).
	Rows   string
	Reason string
}

// Result of one folder.
type Result struct {
	// Applied counts the up statements of the history that ran.
	Applied int
	// NotRunnable says why the history stopped applying ("" when it
	// applied to the end).
	NotRunnable string
	Outcomes    []Outcome
}

// candidate is a finding whose safe way holds SQL.
type candidate struct {
	finding *analyzer.Finding
	steps   []string
	// placeholder is set when the steps still hold <value>.
	placeholder bool
}

type runner struct {
	srv  *rehearse.Server
	opt  Options
	res  *Result
	prog string // the database the history is applied to
}

// Run applies the report's files in order on srv and tries every safe way
// with SQL that their up parts' findings print.
func Run(ctx context.Context, srv *rehearse.Server, rep *analyzer.Report, opt Options) (*Result, error) {
	r := &runner{srv: srv, opt: opt, res: &Result{}}
	prog, err := srv.NewDatabase(ctx, "")
	if err != nil {
		return nil, err
	}
	r.prog = prog
	defer func() { _ = srv.DropDatabase(context.WithoutCancel(ctx), prog) }()
	conn, err := r.connect(ctx, prog)
	if err != nil {
		return nil, err
	}
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	changes := rehearse.Changes(rep)
	for i := range rep.Files {
		f := &rep.Files[i]
		up := changes[i].Up
		// The findings of each statement, and of the statements a DO block
		// or a function it calls runs, listed after it: those are tried
		// before it, on their own.
		groups := map[int][]group{}
		holder := -1
		for j := range f.Statements {
			st := &f.Statements[j]
			if st.Part != "up" {
				continue
			}
			if !st.Inner {
				holder = j
			}
			var cs []candidate
			for k := range st.Findings {
				if c, ok := r.classify(st, &st.Findings[k]); ok {
					cs = append(cs, c)
				}
			}
			if len(cs) == 0 {
				continue
			}
			if holder < 0 {
				r.notRunnable(st, cs, "the statement runs inside a DO block or a function body, not on its own")
				continue
			}
			groups[holder] = append(groups[holder], group{st: st, cs: cs})
		}
		if r.res.NotRunnable == "" && up.NotRunnable != "" {
			r.res.NotRunnable = fmt.Sprintf("%s: %s", f.Path, up.NotRunnable)
		}
		if r.res.NotRunnable != "" {
			for _, gs := range groups {
				for _, g := range gs {
					r.notRunnable(g.st, g.cs, "the history does not apply here: "+r.res.NotRunnable)
				}
			}
			continue
		}
		if len(groups) > 0 && usesTempTable(up) {
			// A temporary table lives in the session that made it, which
			// a copy of the database does not hold: the file is applied
			// whole, and its safe ways are not tried.
			for _, gs := range groups {
				for _, g := range gs {
					r.notRunnable(g.st, g.cs, "the file uses a temporary table, which lives in its session only: a copy of the database before the statement cannot hold it")
				}
			}
			groups = nil
		}
		if len(groups) == 0 {
			if e := rehearse.Replay(ctx, conn, up); e != nil {
				r.res.NotRunnable = e.String()
				continue
			}
			r.res.Applied += len(up.Statements)
			continue
		}
		// The file is applied statement by statement, each committed, so
		// that the database before each judged statement can be copied.
		for _, s := range up.Statements {
			gs := groups[s.Index]
			if len(gs) > 0 && r.res.NotRunnable == "" {
				if conn.PgConn().TxStatus() != 'I' {
					if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
						return nil, fmt.Errorf("committing before %s:%d: %w", s.Path, s.Line, err)
					}
				}
				conn.Close(ctx)
				conn = nil
				for _, g := range gs {
					if err := r.statement(ctx, g.st, g.cs); err != nil {
						return nil, err
					}
				}
				if conn, err = r.connect(ctx, prog); err != nil {
					return nil, err
				}
			} else {
				for _, g := range gs {
					r.notRunnable(g.st, g.cs, "the history does not apply here: "+r.res.NotRunnable)
				}
			}
			if r.res.NotRunnable != "" {
				continue
			}
			if e := applyOne(ctx, conn, s, up.Wrapped); e != nil {
				r.res.NotRunnable = e.String()
				continue
			}
			r.res.Applied++
		}
		if r.res.NotRunnable == "" && conn.PgConn().TxStatus() != 'I' {
			_, _ = conn.Exec(ctx, "COMMIT")
		}
	}
	return r.res, nil
}

// classify keeps a finding whose safe way holds SQL an operator runs, and
// records one whose safe way is a fragment.
func (r *runner) classify(st *analyzer.Statement, f *analyzer.Finding) (candidate, bool) {
	if strings.TrimSpace(f.SafeAlternative) == "" {
		return candidate{}, false
	}
	steps, err := effect.Steps(f.SafeAlternative, nil)
	var pe *effect.PlaceholderError
	if errors.As(err, &pe) {
		// <value> is filled with a value of the column's type; other
		// placeholders name what only the operator knows.
		probe := strings.ReplaceAll(f.SafeAlternative, "<value>", valueSentinel)
		if p := effect.Placeholder(probe); p != "" {
			return candidate{finding: f, steps: nil, placeholder: false}, true
		}
		steps, err = effect.Steps(probe, nil)
		if err == nil {
			return candidate{finding: f, steps: steps, placeholder: true}, true
		}
	}
	if err != nil {
		r.record(Outcome{Path: st.Path, Line: st.Start.Line, Rule: f.Rule, Status: Fragment, Reason: oneLine("not a statement an operator runs: " + err.Error())})
		return candidate{}, false
	}
	if len(steps) == 0 {
		return candidate{}, false
	}
	return candidate{finding: f, steps: steps}, true
}

func (r *runner) record(o Outcome) {
	r.res.Outcomes = append(r.res.Outcomes, o)
	if r.opt.Progress != nil {
		r.opt.Progress(o)
	}
}

// group is a statement and the candidates of its findings.
type group struct {
	st *analyzer.Statement
	cs []candidate
}

func (r *runner) notRunnable(st *analyzer.Statement, cs []candidate, why string) {
	for _, c := range cs {
		r.record(Outcome{Path: st.Path, Line: st.Start.Line, Rule: c.finding.Rule, Status: NotRunnable, Reason: oneLine(why)})
	}
}

func (r *runner) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg := r.srv.ConnConfig(db, r.opt.Rehearse)
	// psql's way: the simple protocol, each statement on its own unless
	// the text opens a transaction.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", db, err)
	}
	return c, nil
}

// copyOf is a new database copied from db, with a session on it.
func (r *runner) copyOf(ctx context.Context, db string) (string, *pgx.Conn, error) {
	name, err := r.srv.NewDatabase(ctx, db)
	if err != nil {
		return "", nil, err
	}
	c, err := r.connect(ctx, name)
	if err != nil {
		_ = r.srv.DropDatabase(ctx, name)
		return "", nil, err
	}
	return name, c, nil
}

func (r *runner) drop(ctx context.Context, db string, c *pgx.Conn) {
	if c != nil {
		c.Close(context.WithoutCancel(ctx))
	}
	_ = r.srv.DropDatabase(context.WithoutCancel(ctx), db)
}

// statement tries the safe ways of one statement's findings on the
// database the history built so far (r.prog, nobody connected).
func (r *runner) statement(ctx context.Context, st *analyzer.Statement, cs []candidate) error {
	out := func(c candidate, status, rows, reason string) {
		r.record(Outcome{Path: st.Path, Line: st.Start.Line, Rule: c.finding.Rule, Status: status, Rows: rows, Reason: oneLine(reason)})
	}
	var runnable []candidate
	for _, c := range cs {
		if c.steps == nil {
			out(c, NotRunnable, "", "a placeholder only the operator can fill: "+effect.Placeholder(c.finding.SafeAlternative))
			continue
		}
		runnable = append(runnable, c)
	}
	if len(runnable) == 0 {
		return nil
	}
	// The start: the history with generated rows; when the statement fails
	// on them, the history's own rows.
	for _, fill := range []bool{true, false} {
		s, err := r.start(ctx, fill)
		if err != nil {
			return err
		}
		orig, runErr, err := s.run(ctx, []string{st.SQL}, runSpec{})
		if err != nil {
			s.close(ctx)
			return err
		}
		if runErr != nil {
			s.close(ctx)
			if fill {
				continue
			}
			for _, c := range runnable {
				out(c, NotRunnable, "", "the statement itself fails here: "+runErr.Error())
			}
			return nil
		}
		rows := "history"
		if fill {
			rows = "generated"
		}
		for _, c := range runnable {
			status, reason, err := r.try(ctx, s, st, c, orig)
			if err != nil {
				s.close(ctx)
				return err
			}
			out(c, status, rows, reason)
		}
		s.close(ctx)
		return nil
	}
	return nil
}

// try runs one safe way and compares its effect with the statement's.
func (r *runner) try(ctx context.Context, s *start, st *analyzer.Statement, c candidate, orig effectOf) (string, string, error) {
	steps := slices.Clone(c.steps)
	if c.placeholder {
		conn, err := s.session(ctx)
		if err != nil {
			return "", "", err
		}
		if steps, err = fillValue(ctx, conn, steps); err != nil {
			return NotRunnable, "a value for <value>: " + err.Error(), nil
		}
	}
	rule := c.finding.Rule
	if rule == "foreign-key-without-index" {
		// The index is built after the statement, not instead of it.
		steps = append([]string{st.SQL}, steps...)
	}
	want, wantSteps := orig, []string{st.SQL}
	if rule == "type-narrowing" {
		if intended := lengthChecks(st.SQL); intended != nil && createsCheck(steps) {
			// The safe way keeps the type and enforces the length with a
			// CHECK: that is what it is compared with.
			w, runErr, err := s.run(ctx, intended, runSpec{})
			if err != nil {
				return "", "", err
			}
			if runErr != nil {
				return Failed, "the length CHECKs the safe way stands for fail: " + runErr.Error(), nil
			}
			want, wantSteps = w, intended
		}
	}
	var skip []string
	if rule == "drop-column" || rule == "rename-table" {
		// A copy of the column, a view under the old name: kept on purpose.
		skip = createdRelations(steps)
	}
	status, reason, err := r.compare(ctx, s, st, steps, want, wantSteps, skip, false)
	if err != nil || status == OK || !txSafe(steps) {
		return status, reason, err
	}
	// Run in a transaction rolled back, it failed: the verdict is the one
	// of a run on a copy of its own, as the operator runs it.
	return r.compare(ctx, s, st, steps, want, wantSteps, skip, true)
}

func (r *runner) compare(ctx context.Context, s *start, st *analyzer.Statement, steps []string, want effectOf, wantSteps, skip []string, ownCopy bool) (string, string, error) {
	have, runErr, err := s.run(ctx, steps, runSpec{skip: skip, ownCopy: ownCopy})
	if err != nil {
		return "", "", err
	}
	if runErr != nil {
		return Failed, "running it: " + runErr.Error(), nil
	}
	d := effect.Diff(want.lines, have.lines)
	if d != "" && rowsOnly(d) {
		// Rows differ: a column with per-run values (a random default,
		// now()) differs between two runs of the statement itself too.
		vol, err := r.volatile(ctx, s, wantSteps, d)
		if err != nil {
			return "", "", err
		}
		if len(vol) > 0 {
			w, _, err := s.run(ctx, wantSteps, runSpec{volatile: vol})
			if err != nil {
				return "", "", err
			}
			h, runErr, err := s.run(ctx, steps, runSpec{volatile: vol, skip: skip, ownCopy: ownCopy})
			if err != nil {
				return "", "", err
			}
			if runErr != nil {
				return Failed, "running it: " + runErr.Error(), nil
			}
			d = effect.Diff(w.lines, h.lines)
		}
	}
	if d != "" && len(want.fkIndexes) > 0 {
		d = fkIndexesOnly(d, want.fkIndexes)
	}
	if d != "" {
		return Failed, "the effect differs from the statement's (- statement, + safe way): " + strings.ReplaceAll(strings.TrimSpace(d), "\n", " | "), nil
	}
	return OK, "", nil
}

// rowsOnly says every difference is in a table's rows.
func rowsOnly(d string) bool {
	for _, l := range strings.Split(strings.TrimSpace(d), "\n") {
		if !strings.HasPrefix(l[2:], "rows of ") {
			return false
		}
	}
	return true
}

// volatile runs the statement twice more and names the columns, of the
// tables whose rows differ in d, that hold other values from run to run.
func (r *runner) volatile(ctx context.Context, s *start, steps []string, d string) ([]string, error) {
	var tables []string
	for _, l := range strings.Split(strings.TrimSpace(d), "\n") {
		name, _, _ := strings.Cut(strings.TrimPrefix(l[2:], "rows of "), ": ")
		if !slices.Contains(tables, name) {
			tables = append(tables, name)
		}
	}
	a, runErr, err := s.run(ctx, steps, runSpec{sums: tables})
	if err != nil || runErr != nil {
		return nil, err
	}
	b, runErr, err := s.run(ctx, steps, runSpec{sums: tables})
	if err != nil || runErr != nil {
		return nil, err
	}
	var out []string
	for t, cols := range a.sums {
		for col, sum := range cols {
			if b.sums[t][col] != sum {
				out = append(out, t+"."+col)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// fkIndexesOnly accepts, in the difference between the statement's effect
// and the statement's followed by the safe way's, the indexes the safe way
// adds that are on the columns of a foreign key of their table (the lines
// in fks); what is left is returned.
func fkIndexesOnly(d string, fks []string) string {
	var left []string
	for _, l := range strings.Split(strings.TrimSpace(d), "\n") {
		if !slices.Contains(fks, l) {
			left = append(left, l)
		}
	}
	if len(left) == 0 {
		return ""
	}
	return strings.Join(left, "\n") + "\n"
}

// start is the database before the judged statement (the history so far,
// with rows), which the statement and each safe way run on: in a
// transaction rolled back afterwards when their SQL allows one, else on a
// copy of their own.
type start struct {
	r    *runner
	db   string
	conn *pgx.Conn
}

// start is a copy of the history so far, with generated rows when fill.
func (r *runner) start(ctx context.Context, fill bool) (*start, error) {
	name, c, err := r.copyOf(ctx, r.prog)
	if err != nil {
		return nil, err
	}
	if fill {
		if _, _, err := rehearse.Fill(ctx, c, r.opt.Rows); err != nil {
			r.drop(ctx, name, c)
			return nil, fmt.Errorf("adding rows: %w", err)
		}
	}
	return &start{r: r, db: name, conn: c}, nil
}

func (s *start) session(ctx context.Context) (*pgx.Conn, error) {
	if s.conn != nil {
		return s.conn, nil
	}
	c, err := s.r.connect(ctx, s.db)
	s.conn = c
	return c, err
}

func (s *start) close(ctx context.Context) {
	s.r.drop(ctx, s.db, s.conn)
	s.conn = nil
}

// runSpec says how to run and what to read afterwards.
type runSpec struct {
	volatile, skip []string
	// sums: the tables whose columns' checksums are read.
	sums []string
	// ownCopy: on a copy of the start, even when a transaction would do.
	ownCopy bool
}

// effectOf is what a run left.
type effectOf struct {
	lines []string
	sums  map[string]map[string]string
	// fkIndexes are the snapshot lines of an index on the columns of each
	// foreign key.
	fkIndexes []string
}

// run runs steps from the start and reads their effect; runErr is the
// SQL's own failure.
func (s *start) run(ctx context.Context, steps []string, spec runSpec) (eff effectOf, runErr, err error) {
	if spec.ownCopy || !txSafe(steps) {
		if s.conn != nil {
			s.conn.Close(ctx)
			s.conn = nil
		}
		name, c, err := s.r.copyOf(ctx, s.db)
		if err != nil {
			return eff, nil, err
		}
		defer s.r.drop(ctx, name, c)
		if runErr := effect.Run(ctx, c, steps); runErr != nil {
			return eff, runErr, nil
		}
		eff, err = read(ctx, c, spec)
		return eff, nil, err
	}
	c, err := s.session(ctx)
	if err != nil {
		return eff, nil, err
	}
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		return eff, nil, fmt.Errorf("opening a transaction: %w", err)
	}
	defer func() {
		if _, rerr := c.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil && err == nil {
			err = fmt.Errorf("rolling back: %w", rerr)
		}
	}()
	if runErr := effect.Run(ctx, c, steps); runErr != nil {
		return eff, runErr, nil
	}
	eff, err = read(ctx, c, spec)
	return eff, nil, err
}

func read(ctx context.Context, c *pgx.Conn, spec runSpec) (effectOf, error) {
	var eff effectOf
	var err error
	if eff.lines, err = effect.Snapshot(ctx, c, spec.volatile, spec.skip); err != nil {
		return eff, err
	}
	if len(spec.sums) > 0 {
		eff.sums = map[string]map[string]string{}
		tables, err := effect.Tables(ctx, c)
		if err != nil {
			return eff, err
		}
		for _, t := range tables {
			if slices.Contains(spec.sums, t.Name) {
				if eff.sums[t.Name], err = effect.ColumnSums(ctx, c, t); err != nil {
					return eff, err
				}
			}
		}
	}
	rows, err := c.Query(ctx, `SELECT 'index on ' || (CASE WHEN n.nspname = 'public' THEN '' ELSE n.nspname || '.' END) || c.relname
	  || ': CREATE INDEX ON ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' USING btree ('
	  || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
	      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) || ') valid=true'
	FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'f'`)
	if err != nil {
		return eff, fmt.Errorf("listing the foreign keys: %w", err)
	}
	fks, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return eff, fmt.Errorf("listing the foreign keys: %w", err)
	}
	for _, l := range fks {
		// On a partitioned table the index is printed ON ONLY.
		eff.fkIndexes = append(eff.fkIndexes, "+ "+l, "+ "+strings.Replace(l, ": CREATE INDEX ON ", ": CREATE INDEX ON ONLY ", 1))
	}
	return eff, nil
}

// txSafe says the steps can run inside one transaction: none builds or
// drops CONCURRENTLY, opens or ends a transaction, or vacuums.
func txSafe(steps []string) bool {
	for _, s := range steps {
		res, err := pg_query.Parse(s)
		if err != nil {
			return false
		}
		for _, rs := range res.GetStmts() {
			n := rs.GetStmt()
			switch {
			case n.GetTransactionStmt() != nil, n.GetVacuumStmt() != nil, n.GetIndexStmt().GetConcurrent(), n.GetDropStmt().GetConcurrent():
				return false
			case n.GetReindexStmt() != nil:
				for _, p := range n.GetReindexStmt().GetParams() {
					if p.GetDefElem().GetDefname() == "concurrently" {
						return false
					}
				}
			case n.GetVariableSetStmt() != nil:
				// SET without LOCAL would end with the transaction's
				// rollback anyway; it is harmless in one.
			}
		}
	}
	return true
}

// createdRelations names the tables and views the steps create.
func createdRelations(steps []string) []string {
	var out []string
	for _, s := range steps {
		res, err := pg_query.Parse(s)
		if err != nil {
			continue
		}
		for _, rs := range res.GetStmts() {
			n := rs.GetStmt()
			var rv *pg_query.RangeVar
			switch {
			case n.GetCreateTableAsStmt() != nil:
				rv = n.GetCreateTableAsStmt().GetInto().GetRel()
			case n.GetViewStmt() != nil:
				rv = n.GetViewStmt().GetView()
			case n.GetCreateStmt() != nil:
				rv = n.GetCreateStmt().GetRelation()
			}
			if rv == nil {
				continue
			}
			name := rv.GetRelname()
			if sch := rv.GetSchemaname(); sch != "" && sch != "public" {
				name = sch + "." + name
			}
			out = append(out, name)
		}
	}
	return out
}

// createsCheck says the steps add a CHECK constraint.
func createsCheck(steps []string) bool {
	for _, s := range steps {
		res, err := pg_query.Parse(s)
		if err != nil {
			continue
		}
		for _, rs := range res.GetStmts() {
			for _, cmd := range rs.GetStmt().GetAlterTableStmt().GetCmds() {
				if cmd.GetAlterTableCmd().GetDef().GetConstraint().GetContype() == pg_query.ConstrType_CONSTR_CHECK {
					return true
				}
			}
		}
	}
	return false
}

// lengthChecks turns ALTER TABLE ... ALTER COLUMN c TYPE varchar(n) into
// the CHECK (char_length(c) <= n) the safe way keeps the type with; nil
// when the statement is not only such changes.
func lengthChecks(sql string) []string {
	res, err := pg_query.Parse(sql)
	if err != nil || len(res.GetStmts()) != 1 {
		return nil
	}
	at := res.GetStmts()[0].GetStmt().GetAlterTableStmt()
	if at == nil {
		return nil
	}
	var out []string
	for _, cmd := range at.GetCmds() {
		ac := cmd.GetAlterTableCmd()
		cd := ac.GetDef().GetColumnDef()
		if ac.GetSubtype() != pg_query.AlterTableType_AT_AlterColumnType || cd == nil || len(cd.GetTypeName().GetTypmods()) != 1 {
			return nil
		}
		n := cd.GetTypeName().GetTypmods()[0].GetAConst().GetIval().GetIval()
		rel := quote(at.GetRelation().GetRelname())
		if s := at.GetRelation().GetSchemaname(); s != "" {
			rel = quote(s) + "." + rel
		}
		out = append(out, fmt.Sprintf("ALTER TABLE %s ADD CHECK (char_length(%s) <= %d)", rel, quote(ac.GetName()), n))
	}
	return out
}

func quote(s string) string { return pgx.Identifier{s}.Sanitize() }

// valueSentinel stands for <value> while the steps are parsed.
const valueSentinel = "mg_value_placeholder"

// fillValue replaces the <value> of the steps with a value of the column's
// type: the column an UPDATE sets to it, or the column an ADD COLUMN gives
// it as default.
func fillValue(ctx context.Context, c *pgx.Conn, steps []string) ([]string, error) {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s
		if !strings.Contains(s, valueSentinel) {
			continue
		}
		typ, err := sentinelType(ctx, c, s)
		if err != nil {
			return nil, err
		}
		v, err := valueOf(ctx, c, typ)
		if err != nil {
			return nil, err
		}
		out[i] = strings.ReplaceAll(s, valueSentinel, v)
	}
	return out, nil
}

func isSentinel(n *pg_query.Node) bool {
	f := n.GetColumnRef().GetFields()
	return len(f) == 1 && f[0].GetString_().GetSval() == valueSentinel
}

// sentinelType is the type (as regtype text) of the column the sentinel
// stands in for.
func sentinelType(ctx context.Context, c *pgx.Conn, step string) (string, error) {
	res, err := pg_query.Parse(step)
	if err != nil || len(res.GetStmts()) != 1 {
		return "", fmt.Errorf("%q does not parse", step)
	}
	n := res.GetStmts()[0].GetStmt()
	if u := n.GetUpdateStmt(); u != nil {
		for _, t := range u.GetTargetList() {
			if rt := t.GetResTarget(); isSentinel(rt.GetVal()) {
				rel := quote(u.GetRelation().GetRelname())
				if s := u.GetRelation().GetSchemaname(); s != "" {
					rel = quote(s) + "." + rel
				}
				var typ string
				err := c.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`,
					rel, rt.GetName()).Scan(&typ)
				if err != nil {
					return "", fmt.Errorf("the type of %s.%s: %w", rel, rt.GetName(), err)
				}
				return typ, nil
			}
		}
	}
	for _, cmd := range n.GetAlterTableStmt().GetCmds() {
		cd := cmd.GetAlterTableCmd().GetDef().GetColumnDef()
		for _, k := range cd.GetConstraints() {
			if con := k.GetConstraint(); con.GetContype() == pg_query.ConstrType_CONSTR_DEFAULT && isSentinel(con.GetRawExpr()) {
				cast := &pg_query.Node{Node: &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{
					Arg: pg_query.MakeAConstStrNode("", 0), TypeName: cd.GetTypeName()}}}
				sel := &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{
					TargetList: []*pg_query.Node{pg_query.MakeResTargetNodeWithVal(cast, 0)}}}}
				out, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: sel}}})
				if err != nil {
					return "", err
				}
				return strings.TrimPrefix(out, "SELECT ''::"), nil
			}
		}
	}
	return "", fmt.Errorf("no column takes the value in %q", step)
}

// valueOf is a literal of the type, cast to it.
func valueOf(ctx context.Context, c *pgx.Conn, typ string) (string, error) {
	var cat, name string
	var label *string
	err := c.QueryRow(ctx, `SELECT b.typcategory::text, b.typname::text,
	  (SELECT enumlabel::text FROM pg_enum WHERE enumtypid = b.oid ORDER BY enumsortorder LIMIT 1)
	FROM pg_type b WHERE b.oid = coalesce(nullif((SELECT typbasetype FROM pg_type WHERE oid = $1::regtype), 0), $1::regtype)`, typ).Scan(&cat, &name, &label)
	if err != nil {
		return "", fmt.Errorf("reading type %s: %w", typ, err)
	}
	lit := ""
	switch {
	case cat == "E" && label != nil:
		lit = *label
	case cat == "N":
		lit = "0"
	case cat == "S":
		lit = "x"
	case cat == "B":
		lit = "false"
	case cat == "D":
		lit = "2000-01-01 00:00:00"
	case cat == "T":
		lit = "1 day"
	case cat == "A":
		lit = "{}"
	case name == "uuid":
		lit = "00000000-0000-0000-0000-000000000000"
	case name == "json" || name == "jsonb":
		lit = "{}"
	case name == "bytea":
		lit = `\x00`
	default:
		return "", fmt.Errorf("no value is made up for type %s", typ)
	}
	return fmt.Sprintf("'%s'::%s", strings.ReplaceAll(lit, "'", "''"), typ), nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// isTransactionControl says the statement opens or ends a transaction.
func isTransactionControl(sql string) bool {
	res, err := pg_query.Parse(sql)
	if err != nil {
		return false
	}
	for _, rs := range res.GetStmts() {
		if rs.GetStmt().GetTransactionStmt() != nil {
			return true
		}
	}
	return false
}

// usesTempTable says a statement of the part creates a temporary table.
func usesTempTable(p rehearse.Part) bool {
	for _, st := range p.Statements {
		res, err := pg_query.Parse(st.SQL)
		if err != nil {
			continue
		}
		for _, rs := range res.GetStmts() {
			n := rs.GetStmt()
			if n.GetCreateStmt().GetRelation().GetRelpersistence() == "t" || n.GetCreateTableAsStmt().GetInto().GetRel().GetRelpersistence() == "t" {
				return true
			}
		}
	}
	return false
}

// applyOne applies one statement of the history. A statement of a wrapped
// file runs in a transaction of its own (LOCK TABLE needs one), sent on
// its own (a comment at its end must not swallow what follows), or alone
// where PostgreSQL refuses it in a transaction.
func applyOne(ctx context.Context, conn *pgx.Conn, s rehearse.Stmt, wrapped bool) *rehearse.Error {
	one := rehearse.Part{Path: s.Path, Statements: []rehearse.Stmt{s}}
	if !wrapped || isTransactionControl(s.SQL) || conn.PgConn().TxStatus() != 'I' {
		return rehearse.Replay(ctx, conn, one)
	}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		return &rehearse.Error{Path: s.Path, Line: s.Line, Message: err.Error(), Kind: "fails"}
	}
	e := rehearse.Replay(ctx, conn, one)
	if e != nil {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		if e.SQLState == "25001" {
			return rehearse.Replay(ctx, conn, one)
		}
		return e
	}
	if conn.PgConn().TxStatus() != 'I' {
		if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
			return &rehearse.Error{Path: s.Path, Line: s.Line, Message: err.Error(), Kind: "fails"}
		}
	}
	return nil
}
