package rehearse

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Options bound what the PR's SQL may do.
type Options struct {
	// StatementTimeout and LockTimeout are set on the migrating session;
	// the SQL may change them, the Budget it cannot.
	StatementTimeout time.Duration
	LockTimeout      time.Duration
	// Budget is the most the whole rehearsal may take.
	Budget time.Duration
	// Rows, when positive, fills every table of the base with this many
	// generated rows before the changes run, and times each statement.
	Rows int
	// CacheBase keeps the replayed base as a template database on the
	// server, so that the next rehearsal over the same base copies it.
	CacheBase bool
}

// Defaults fills zero fields.
func (o Options) withDefaults() Options {
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 10 * time.Second
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 5 * time.Second
	}
	if o.Budget <= 0 {
		o.Budget = 2 * time.Minute
	}
	return o
}

// Stmt is one statement to run.
type Stmt struct {
	Path string
	Line int // 1-based line of the statement's first character
	SQL  string
	// Index is the statement's place in the report file's statements; -1
	// for base migrations.
	Index int
}

// Part is a list of statements run the way the tool runs them.
type Part struct {
	Path string
	// Wrapped: the tool opens one transaction around the part. Otherwise
	// each statement autocommits unless the SQL itself says BEGIN/COMMIT.
	Wrapped    bool
	Statements []Stmt
	// NotRunnable is why the part cannot be sent to the server as it is
	// (psql meta-commands or variables); "" when it can.
	NotRunnable string
}

// Change is one changed migration.
type Change struct {
	Path string
	Up   Part
	Down *Part // nil when the migration has no down part
	// RunTx names the transaction the tool opens around every pending
	// migration of the run (drizzle, Flyway with group): consecutive
	// changes with the same RunTx run their up parts in one transaction.
	// "" when the up part runs on its own.
	RunTx string
}

// Input is what to rehearse.
type Input struct {
	Base []Part
	// BaseKey identifies the base (a hash of its parts) for the template
	// cache; "" disables it.
	BaseKey string
	Changes []Change
}

// Error is PostgreSQL's refusal of a statement.
type Error struct {
	Message  string `json:"message"`
	Detail   string `json:"detail,omitempty"`
	Hint     string `json:"hint,omitempty"`
	SQLState string `json:"sqlstate"`
	Path     string `json:"path"`
	Line     int    `json:"line"`
	// Kind says what the error means for the rehearsal: "fails" (the
	// migration fails at deploy), "extension-missing", "extension-untrusted",
	// "privilege", "timeout", "budget".
	Kind string `json:"kind"`
}

func (e *Error) String() string {
	s := fmt.Sprintf("%s:%d: %s (SQLSTATE %s)", e.Path, e.Line, e.Message, e.SQLState)
	if e.Detail != "" {
		s += "; " + e.Detail
	}
	return s
}

// Lock is a lock a statement took on a relation that existed before it.
type Lock struct {
	Relation string `json:"relation"`
	Kind     string `json:"kind"` // "table", "index", ...
	Mode     string `json:"mode"` // as the analyzer writes it: "ACCESS EXCLUSIVE"
}

// StatementResult is what one statement did.
type StatementResult struct {
	Index int    `json:"index"`
	Path  string `json:"path"`
	Line  int    `json:"line"`
	Phase string `json:"phase"` // "up", "down" or "up-again"
	Error *Error `json:"error,omitempty"`
	Locks []Lock `json:"locks,omitempty"`
	// Held is every lock the transaction holds after the statement: a
	// lock an earlier statement of the transaction took in the same mode
	// is held, not new.
	Held []Lock `json:"held,omitempty"`
	// Rewrites are tables whose file changed (relfilenode), Scans tables
	// read whole (sequential scans counted by the statistics collector).
	Rewrites []string `json:"rewrites,omitempty"`
	Scans    []string `json:"scans,omitempty"`
	// InTransaction: locks were read while the transaction held them; else
	// they were sampled while the statement ran (it cannot run in one) and
	// a short lock may have been missed, and scans are not counted.
	InTransaction bool `json:"in_transaction"`
	// Duration is how long the statement ran (with Options.Rows rows in
	// each table).
	Duration time.Duration `json:"duration_ns"`
}

// FileResult is the rehearsal of one changed migration.
type FileResult struct {
	Path       string            `json:"path"`
	Statements []StatementResult `json:"statements"`
	// NotRehearsed says why the file, or its rest after a statement, was
	// not rehearsed; "" when it ran to the end.
	NotRehearsed string `json:"not_rehearsed,omitempty"`
	// Failed is the statement PostgreSQL refused, when it means the
	// migration fails at deploy.
	Failed *Error `json:"failed,omitempty"`
	// DownDifferences is how the schema after the down part differs from
	// the schema before the up part; DownRan says the down part ran.
	DownRan         bool     `json:"down_ran"`
	DownDifferences []string `json:"down_differences,omitempty"`
	// DownFailed is the down part's error; AgainFailed the up part's when
	// run again after the down part.
	DownFailed  *Error `json:"down_failed,omitempty"`
	AgainFailed *Error `json:"again_failed,omitempty"`
	AgainRan    bool   `json:"again_ran"`
	// RolledBack says why the file's up part, which ran without error, did
	// not stay applied: a later file of the transaction the tool runs them
	// in failed, and the whole run rolled back. "" otherwise.
	RolledBack string `json:"rolled_back,omitempty"`
	// Run lists the files whose up parts ran in one transaction with this
	// one, this one included, in order; nil when it ran on its own.
	Run []string `json:"run,omitempty"`
}

// Result is a whole rehearsal.
type Result struct {
	Files []FileResult `json:"files"`
	// NotRehearsed says why nothing was rehearsed (the base does not apply
	// here, the budget ran out), "" otherwise.
	NotRehearsed   string        `json:"not_rehearsed,omitempty"`
	BaseMigrations int           `json:"base_migrations"`
	BaseCached     bool          `json:"base_cached"`
	BaseTime       time.Duration `json:"base_time_ns"`
	// Rows is Options.Rows; Filled the tables that got them, NotFilled the
	// others with why.
	Rows      int               `json:"rows,omitempty"`
	Filled    []string          `json:"filled,omitempty"`
	NotFilled map[string]string `json:"not_filled,omitempty"`
	Total     time.Duration     `json:"total_ns"`
}

// Run rehearses in on a fresh database of srv.
func Run(ctx context.Context, srv *Server, in Input, opt Options) (*Result, error) {
	opt = opt.withDefaults()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opt.Budget)
	defer cancel()
	res := &Result{BaseMigrations: len(in.Base)}
	db, cached, baseErr, err := srv.baseDatabase(ctx, in, opt)
	if db != "" {
		defer srv.dropDatabase(context.WithoutCancel(ctx), db) //nolint:errcheck // Close drops what is left
	}
	if err != nil {
		return nil, err
	}
	res.BaseCached = cached
	res.BaseTime = time.Since(start)
	if baseErr != nil {
		res.NotRehearsed = "the base migrations do not apply here: " + baseErr.String()
		if baseErr.Kind == "budget" {
			res.NotRehearsed = "the rehearsal's time budget ran out while applying the base migrations"
		}
		for _, c := range in.Changes {
			res.Files = append(res.Files, FileResult{Path: c.Path, NotRehearsed: res.NotRehearsed})
		}
		res.Total = time.Since(start)
		return res, nil
	}
	r, err := srv.newRunner(ctx, db, opt)
	if err != nil {
		return nil, err
	}
	defer r.close(context.WithoutCancel(ctx))
	if opt.Rows > 0 {
		res.Rows = opt.Rows
		if res.Filled, res.NotFilled, err = Fill(ctx, r.conn, opt.Rows); err != nil {
			return nil, err
		}
	}

	before := make([]Schema, len(in.Changes))
	res.Files = make([]FileResult, len(in.Changes))
	for i, c := range in.Changes {
		res.Files[i].Path = c.Path
	}
	for _, u := range units(in.Changes) {
		if u.to-u.from < 2 {
			continue
		}
		var run []string
		for i := u.from; i < u.to; i++ {
			run = append(run, in.Changes[i].Path)
		}
		for i := u.from; i < u.to; i++ {
			res.Files[i].Run = run
		}
	}
	stopped := ""
	for _, u := range units(in.Changes) {
		if stopped != "" {
			for i := u.from; i < u.to; i++ {
				res.Files[i].NotRehearsed = stopped
			}
			continue
		}
		failed, e, err := r.runUnit(ctx, in.Changes, u, "up", res.Files, before)
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue
		}
		c, fr := in.Changes[failed], &res.Files[failed]
		if e.Kind == "fails" {
			fr.Failed = e
			stopped = fmt.Sprintf("not rehearsed: %s, applied before it, fails at deploy", c.Path)
		} else {
			fr.NotRehearsed = notRehearsed(e)
			stopped = fmt.Sprintf("not rehearsed: %s, applied before it, could not be rehearsed", c.Path)
		}
		for i := u.from; i < failed; i++ {
			res.Files[i].RolledBack = rolledBack(in.Changes, u, failed, e)
		}
	}
	if stopped == "" {
		r.downAndAgain(ctx, in, res, before)
	}
	res.Total = time.Since(start)
	return res, nil
}

// unit is changes [from, to) that run as one: a file on its own, or the
// files of one run transaction.
type unit struct {
	from, to int
	runTx    string
}

// units groups consecutive changes that share a run transaction.
func units(cs []Change) []unit {
	var out []unit
	for i, c := range cs {
		if n := len(out); c.RunTx != "" && n > 0 && out[n-1].runTx == c.RunTx && out[n-1].to == i {
			out[n-1].to = i + 1
			continue
		}
		out = append(out, unit{from: i, to: i + 1, runTx: c.RunTx})
	}
	return out
}

// rolledBack is what a file of a run that failed later is told.
func rolledBack(cs []Change, u unit, failed int, e *Error) string {
	why := "fails at deploy"
	if e.Kind != "fails" {
		why = "could not be rehearsed"
	}
	return fmt.Sprintf("%s ran without error, in the one transaction the tool opens for the %d pending migrations of the run; %s, later in that transaction, %s, so the whole run rolls back and this file does not stay applied either",
		cs[u.from].Path, u.to-u.from, cs[failed].Path, why)
}

// runUnit runs the up parts (phase "up" or "up-again") of a unit, the
// files of a run in one transaction, recording each statement in its file's
// result. When before is not nil it gets the schema before each file. It
// returns the file that failed and why; the whole unit is rolled back then.
func (r *runner) runUnit(ctx context.Context, cs []Change, u unit, phase string, frs []FileResult, before []Schema) (int, *Error, error) {
	if u.to-u.from == 1 && u.runTx == "" {
		var err error
		if before != nil {
			if before[u.from], err = r.schema(ctx); err != nil {
				return 0, nil, err
			}
		}
		return u.from, r.runPart(ctx, cs[u.from].Up, phase, &frs[u.from]), nil
	}
	if err := r.exec(ctx, "BEGIN"); err != nil {
		return u.from, classify(ctx, err, Stmt{Path: cs[u.from].Path}), nil
	}
	// One lock set for the run: a lock file A took is held, not new, when
	// file B's statements run.
	held := map[Lock]bool{}
	for i := u.from; i < u.to; i++ {
		if before != nil {
			var err error
			if before[i], err = r.schema(ctx); err != nil {
				r.rollback(ctx)
				return 0, nil, err
			}
		}
		if e := r.runStatements(ctx, cs[i].Up, phase, &frs[i], &held); e != nil {
			r.rollback(ctx)
			return i, e, nil
		}
	}
	if r.conn.PgConn().TxStatus() != 'I' {
		last := u.to - 1
		st := Stmt{Path: cs[last].Path}
		if n := len(cs[last].Up.Statements); n > 0 {
			st = cs[last].Up.Statements[n-1]
		}
		if err := r.exec(ctx, "COMMIT"); err != nil {
			r.rollback(ctx)
			return last, classify(ctx, err, st), nil
		}
	}
	return 0, nil, nil
}

// downAndAgain runs the down parts newest first, comparing the schema each
// leaves with the schema before its up part, then the up parts again.
func (r *runner) downAndAgain(ctx context.Context, in Input, res *Result, before []Schema) {
	for i := len(in.Changes) - 1; i >= 0; i-- {
		c, fr := in.Changes[i], &res.Files[i]
		if c.Down == nil || len(c.Down.Statements) == 0 {
			// Without this down part the older ones would run on a schema
			// they do not expect: stop here.
			return
		}
		if e := r.runPart(ctx, *c.Down, "down", fr); e != nil {
			if e.Kind == "fails" {
				fr.DownFailed = e
			} else {
				fr.NotRehearsed = "down part " + notRehearsed(e)
			}
			return
		}
		fr.DownRan = true
		after, err := r.schema(ctx)
		if err != nil {
			fr.NotRehearsed = fmt.Sprintf("down part not compared: reading the schema: %v", err)
			return
		}
		fr.DownDifferences = before[i].Diff(after, 20)
	}
	for _, u := range units(in.Changes) {
		for i := u.from; i < u.to; i++ {
			if !res.Files[i].DownRan {
				return
			}
		}
		failed, e, err := r.runUnit(ctx, in.Changes, u, "up-again", res.Files, nil)
		if err != nil {
			res.Files[u.from].NotRehearsed = fmt.Sprintf("up part after the down part not rehearsed: %v", err)
			return
		}
		if e != nil {
			fr := &res.Files[failed]
			if e.Kind == "fails" {
				fr.AgainFailed = e
			} else {
				fr.NotRehearsed = "up part after the down part " + notRehearsed(e)
			}
			return
		}
		for i := u.from; i < u.to; i++ {
			res.Files[i].AgainRan = true
		}
	}
}

func notRehearsed(e *Error) string {
	switch e.Kind {
	case "extension-missing", "extension-untrusted":
		return "not rehearsed: " + e.Message
	case "not-runnable":
		return fmt.Sprintf("not rehearsed: %s: %s", e.Path, e.Message)
	case "privilege":
		return fmt.Sprintf("not rehearsed: PostgreSQL refused %s:%d for lack of privilege (the rehearsal runs the SQL as a role that is no superuser): %s", e.Path, e.Line, e.Message)
	case "timeout":
		return fmt.Sprintf("not rehearsed: %s:%d did not finish within the rehearsal's timeouts: %s", e.Path, e.Line, e.Message)
	case "budget":
		return fmt.Sprintf("not rehearsed: the rehearsal's time budget ran out at %s:%d", e.Path, e.Line)
	}
	return "not rehearsed: " + e.String()
}

// baseDatabase creates the database the changes run on, with the base
// applied, from the template cache when it holds this base.
func (s *Server) baseDatabase(ctx context.Context, in Input, opt Options) (db string, cached bool, baseErr *Error, err error) {
	s.mu.Lock()
	tmpl := ""
	if opt.CacheBase && in.BaseKey != "" {
		tmpl = s.templates[in.BaseKey]
	}
	s.mu.Unlock()
	if tmpl != "" {
		db, err = s.createDatabase(ctx, tmpl)
		return db, true, nil, err
	}
	db, err = s.createDatabase(ctx, "")
	if err != nil {
		return "", false, nil, err
	}
	c, err := pgx.ConnectConfig(ctx, s.roleConfig(db, opt))
	if err != nil {
		return db, false, nil, fmt.Errorf("connecting to the rehearsal database: %w", err)
	}
	for _, p := range in.Base {
		if baseErr = replay(ctx, c, p); baseErr != nil {
			break
		}
	}
	c.Close(context.WithoutCancel(ctx))
	if baseErr != nil || !opt.CacheBase || in.BaseKey == "" {
		return db, false, baseErr, nil
	}
	// The replayed database becomes the template; the changes run on a copy.
	// It passes to the admin role: the changes' SQL, run as the rehearsal
	// role in a copy, could otherwise ALTER DATABASE the template it owns
	// and spoil the next rehearsals.
	admin, err := s.connectAdmin(ctx, "")
	if err != nil {
		return db, false, nil, err
	}
	_, err = admin.Exec(ctx, "ALTER DATABASE "+db+" OWNER TO CURRENT_USER")
	admin.Close(context.WithoutCancel(ctx))
	if err != nil {
		// The base is then not cached: this rehearsal runs on it as it is.
		return db, false, nil, nil //nolint:nilerr // caching is an optimisation
	}
	s.mu.Lock()
	s.templates[in.BaseKey] = db
	s.mu.Unlock()
	work, err := s.createDatabase(ctx, db)
	return work, false, nil, err
}

// replay applies a base migration as its tool runs it, without watching.
func replay(ctx context.Context, c *pgx.Conn, p Part) *Error {
	if p.NotRunnable != "" {
		return &Error{Message: p.NotRunnable, Path: p.Path, Kind: "not-runnable"}
	}
	if p.Wrapped {
		// One round trip: a multi-statement simple query in a transaction.
		var b strings.Builder
		b.WriteString("BEGIN;\n")
		for _, st := range p.Statements {
			b.WriteString(st.SQL)
			b.WriteString(";\n")
		}
		b.WriteString("COMMIT;")
		if _, err := c.PgConn().Exec(ctx, b.String()).ReadAll(); err != nil {
			_, _ = c.PgConn().Exec(context.WithoutCancel(ctx), "ROLLBACK").ReadAll()
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "25001" {
				// The base ran where it was deployed: a statement that
				// cannot run in a transaction (Flyway's automatic mode,
				// a tool that let it through) ran without one.
				p.Wrapped = false
				return replay(ctx, c, p)
			}
			e := classify(ctx, err, Stmt{Path: p.Path})
			if len(p.Statements) > 0 {
				e.Line = p.Statements[0].Line
			}
			return e
		}
		return nil
	}
	for _, st := range p.Statements {
		if _, err := c.PgConn().Exec(ctx, st.SQL).ReadAll(); err != nil {
			return classify(ctx, err, st)
		}
	}
	if c.PgConn().TxStatus() != 'I' {
		_, _ = c.PgConn().Exec(ctx, "COMMIT").ReadAll()
	}
	return nil
}

// classify turns a statement's error into an Error with its line.
func classify(ctx context.Context, err error, st Stmt) *Error {
	e := &Error{Path: st.Path, Line: st.Line, Message: err.Error(), Kind: "fails"}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		e.Message, e.Detail, e.Hint, e.SQLState = pe.Message, pe.Detail, pe.Hint, pe.Code
		if pe.Position > 0 {
			e.Line = st.Line + strings.Count(prefixRunes(st.SQL, int(pe.Position)-1), "\n")
		}
		switch {
		case pe.Code == "42501":
			e.Kind = "privilege"
		case pe.Code == "57014" || pe.Code == "55P03":
			e.Kind = "timeout"
		case pe.Code == "58P01" && strings.Contains(pe.Message, "extension"):
			e.Kind = "extension-missing"
		}
	}
	if ctx.Err() != nil {
		e.Kind = "budget"
	}
	return e
}

func prefixRunes(s string, n int) string {
	i := 0
	for j := 0; j < n && i < len(s); j++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// runner holds the migrating session and the observer.
type runner struct {
	conn, observer *pgx.Conn
	pid            uint32
}

func (s *Server) newRunner(ctx context.Context, db string, opt Options) (*runner, error) {
	conn, err := pgx.ConnectConfig(ctx, s.roleConfig(db, opt))
	if err != nil {
		return nil, fmt.Errorf("connecting to the rehearsal database: %w", err)
	}
	obs, err := s.connectAdmin(ctx, db)
	if err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return &runner{conn: conn, observer: obs, pid: conn.PgConn().PID()}, nil
}

func (r *runner) close(ctx context.Context) {
	r.conn.Close(ctx)
	r.observer.Close(ctx)
}

func (r *runner) exec(ctx context.Context, sql string) error {
	_, err := r.conn.PgConn().Exec(ctx, sql).ReadAll()
	return err
}

// runPart runs a part statement by statement, recording each one in fr. It
// returns the first error, after rolling back what was open.
func (r *runner) runPart(ctx context.Context, p Part, phase string, fr *FileResult) *Error {
	if p.NotRunnable != "" {
		return &Error{Message: p.NotRunnable, Path: p.Path, Kind: "not-runnable"}
	}
	var held map[Lock]bool
	if p.Wrapped {
		if err := r.exec(ctx, "BEGIN"); err != nil {
			return classify(ctx, err, Stmt{Path: p.Path})
		}
		held = map[Lock]bool{}
	}
	if e := r.runStatements(ctx, p, phase, fr, &held); e != nil {
		r.rollback(ctx)
		return e
	}
	if r.conn.PgConn().TxStatus() != 'I' {
		last := Stmt{Path: p.Path}
		if n := len(p.Statements); n > 0 {
			last = p.Statements[n-1]
		}
		if err := r.exec(ctx, "COMMIT"); err != nil {
			r.rollback(ctx)
			return classify(ctx, err, last)
		}
	}
	return nil
}

// runStatements runs a part's statements in the transaction state the
// session is in, recording each one in fr; *held is the open transaction's
// locks (nil outside one). It returns the first error without rolling back.
func (r *runner) runStatements(ctx context.Context, p Part, phase string, fr *FileResult, held *map[Lock]bool) *Error {
	if p.NotRunnable != "" {
		return &Error{Message: p.NotRunnable, Path: p.Path, Kind: "not-runnable"}
	}
	for _, st := range p.Statements {
		if e := r.checkExtension(ctx, st); e != nil {
			return e
		}
		sr, e := r.runStatement(ctx, st, *held)
		sr.Phase = phase
		if e != nil {
			sr.Error = e
			fr.Statements = append(fr.Statements, sr)
			return e
		}
		fr.Statements = append(fr.Statements, sr)
		if r.conn.PgConn().TxStatus() == 'I' {
			*held = nil // the file committed (or never began)
		} else if *held == nil {
			*held = map[Lock]bool{} // the file began its own transaction
		}
	}
	return nil
}

func (r *runner) rollback(ctx context.Context) {
	if r.conn.PgConn().TxStatus() != 'I' {
		_ = r.exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
}

// runStatement runs one statement. Inside a transaction (held != nil) the
// locks it added are read before the next statement; an autocommitted
// statement runs in a transaction of its own so that its locks can be read
// before it commits, unless PostgreSQL refuses that (CONCURRENTLY, VACUUM):
// then it runs alone and its locks are sampled while it runs.
func (r *runner) runStatement(ctx context.Context, st Stmt, held map[Lock]bool) (StatementResult, *Error) {
	sr := StatementResult{Index: st.Index, Path: st.Path, Line: st.Line}
	if isTransactionControl(st.SQL) {
		if err := r.exec(ctx, st.SQL); err != nil {
			return sr, classify(ctx, err, st)
		}
		sr.InTransaction = r.conn.PgConn().TxStatus() != 'I'
		return sr, nil
	}
	own := held == nil
	if own {
		if err := r.exec(ctx, "BEGIN"); err != nil {
			return sr, classify(ctx, err, st)
		}
		held = map[Lock]bool{}
	}
	pre, err := r.tables(ctx)
	if err != nil {
		return sr, classify(ctx, err, st)
	}
	began := time.Now()
	err = r.exec(ctx, st.SQL)
	sr.Duration = time.Since(began)
	if err != nil {
		var pe *pgconn.PgError
		if own && errors.As(err, &pe) && pe.Code == "25001" {
			r.rollback(ctx)
			return r.runAlone(ctx, st, pre)
		}
		return sr, classify(ctx, err, st)
	}
	sr.InTransaction = true
	post, err := r.tables(ctx)
	if err != nil {
		return sr, classify(ctx, err, st)
	}
	sr.Rewrites, sr.Scans = compare(pre, post, true)
	locks, err := r.locks(ctx)
	if err != nil {
		return sr, classify(ctx, err, st)
	}
	sr.Held = locks
	for _, l := range locks {
		if !held[l] {
			held[l] = true
			sr.Locks = append(sr.Locks, l)
		}
	}
	if own {
		if err := r.exec(ctx, "COMMIT"); err != nil {
			return sr, classify(ctx, err, st)
		}
	}
	return sr, nil
}

// runAlone runs a statement that cannot run in a transaction, sampling the
// migrating backend's locks from the observer until it returns.
func (r *runner) runAlone(ctx context.Context, st Stmt, pre map[uint32]tableState) (StatementResult, *Error) {
	sr := StatementResult{Index: st.Index, Path: st.Path, Line: st.Line}
	seen := map[Lock]bool{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if ls, err := r.locks(ctx); err == nil {
				for _, l := range ls {
					seen[l] = true
				}
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	began := time.Now()
	err := r.exec(ctx, st.SQL)
	sr.Duration = time.Since(began)
	close(done)
	wg.Wait()
	if err != nil {
		return sr, classify(ctx, err, st)
	}
	for l := range seen {
		sr.Locks = append(sr.Locks, l)
	}
	sortLocks(sr.Locks)
	post, err := r.tables(ctx)
	if err != nil {
		return sr, classify(ctx, err, st)
	}
	sr.Rewrites, _ = compare(pre, post, false)
	return sr, nil
}

// checkExtension ends the rehearsal of a file that creates an extension
// this server cannot give the rehearsal role: the failure would be the
// machine's, not the migration's.
func (r *runner) checkExtension(ctx context.Context, st Stmt) *Error {
	tree, err := pg_query.Parse(st.SQL)
	if err != nil || len(tree.Stmts) != 1 {
		return nil
	}
	ce := tree.Stmts[0].GetStmt().GetCreateExtensionStmt()
	if ce == nil {
		return nil
	}
	name := ce.GetExtname()
	var available, trusted bool
	err = r.observer.QueryRow(ctx, `SELECT count(*) > 0, coalesce(bool_or(trusted OR NOT superuser), false) FROM pg_available_extension_versions WHERE name = $1`, name).Scan(&available, &trusted)
	if err != nil {
		return classify(ctx, err, st)
	}
	switch {
	case !available:
		return &Error{Path: st.Path, Line: st.Line, Kind: "extension-missing", Message: fmt.Sprintf("extension %s is not installed here", name)}
	case !trusted:
		return &Error{Path: st.Path, Line: st.Line, Kind: "extension-untrusted",
			Message: fmt.Sprintf("extension %s needs a superuser to create, and the rehearsal never runs the change's SQL as one", name)}
	}
	return nil
}

func isTransactionControl(sql string) bool {
	tree, err := pg_query.Parse(sql)
	if err != nil || len(tree.Stmts) != 1 {
		return false
	}
	return tree.Stmts[0].GetStmt().GetTransactionStmt() != nil
}

// trustedPath sets search_path to pg_catalog on the migrating session for
// the rehearsal's own catalog queries, and returns how to put the
// migration's search_path back. The migration may have put a schema it owns
// before pg_catalog, with functions or operators shadowing the ones the
// queries use, to hide a rewrite or a schema difference. It also gives
// those queries their own statement_timeout: the migration's (the
// operator's setting, or whatever the SQL set) bounds the migration's
// statements, not the rehearsal's reading of the schema, which a busy
// server could otherwise cut short and report as a schema it could not
// compare; the rehearsal's budget (ctx) still bounds them.
func (r *runner) trustedPath(ctx context.Context) (func(), error) {
	// One statement reads the migration's settings and sets the
	// rehearsal's: only it runs under the migration's timeout.
	var prevPath, prevTimeout string
	if err := r.conn.QueryRow(ctx, `SELECT pg_catalog.current_setting('search_path'), pg_catalog.current_setting('statement_timeout'),
		pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false), pg_catalog.set_config('statement_timeout', $1, false)`,
		pgx.QueryExecModeSimpleProtocol, fmt.Sprint(ownQueryTimeout.Milliseconds())).Scan(&prevPath, &prevTimeout, nil, nil); err != nil {
		return nil, fmt.Errorf("setting search_path and statement_timeout for the rehearsal's queries: %w", err)
	}
	return func() {
		_, _ = r.conn.Exec(ctx, "SELECT pg_catalog.set_config('search_path', $1, false), pg_catalog.set_config('statement_timeout', $2, false)", pgx.QueryExecModeSimpleProtocol, prevPath, prevTimeout)
	}, nil
}

// ownQueryTimeout bounds each of the rehearsal's own catalog queries.
const ownQueryTimeout = 60 * time.Second

type tableState struct {
	name        string
	relfilenode uint32
	seqScans    int64
}

// tables reads the user tables' files and the transaction's scan counters,
// on the migrating session so that its own uncommitted changes show.
func (r *runner) tables(ctx context.Context) (map[uint32]tableState, error) {
	restore, err := r.trustedPath(ctx)
	if err != nil {
		return nil, err
	}
	defer restore()
	rows, err := r.conn.Query(ctx, `SELECT c.oid, n.nspname || '.' || c.relname, c.relfilenode, coalesce(pg_stat_get_xact_numscans(c.oid), 0)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm', 't') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("reading the tables' files: %w", err)
	}
	out := map[uint32]tableState{}
	var oid, node uint32
	var t tableState
	_, err = pgx.ForEachRow(rows, []any{&oid, &t.name, &node, &t.seqScans}, func() error {
		t.relfilenode = node
		out[oid] = t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the tables' files: %w", err)
	}
	return out, nil
}

// compare lists the tables rewritten (new file) and scanned between two
// readings; tables created in between are neither.
func compare(pre, post map[uint32]tableState, scans bool) (rewrites, scanned []string) {
	for oid, a := range pre {
		b, ok := post[oid]
		if !ok {
			continue
		}
		if a.relfilenode != b.relfilenode {
			rewrites = append(rewrites, b.name)
		}
		if scans && b.seqScans > a.seqScans {
			scanned = append(scanned, b.name)
		}
	}
	sort.Strings(rewrites)
	sort.Strings(scanned)
	return rewrites, scanned
}

var lockModes = map[string]string{
	"AccessShareLock": "ACCESS SHARE", "RowShareLock": "ROW SHARE", "RowExclusiveLock": "ROW EXCLUSIVE",
	"ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE", "ShareLock": "SHARE", "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE",
	"ExclusiveLock": "EXCLUSIVE", "AccessExclusiveLock": "ACCESS EXCLUSIVE",
}

// locks reads, from the observer, the relation locks the migrating backend
// holds on relations that existed before its transaction (the observer
// cannot see relations created in it).
func (r *runner) locks(ctx context.Context) ([]Lock, error) {
	rows, err := r.observer.Query(ctx, `SELECT n.nspname || '.' || c.relname,
			CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index'
				WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE c.relkind::text END,
			l.mode
		FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'`, int32(r.pid))
	if err != nil {
		return nil, fmt.Errorf("reading the migration's locks: %w", err)
	}
	var out []Lock
	var l Lock
	_, err = pgx.ForEachRow(rows, []any{&l.Relation, &l.Kind, &l.Mode}, func() error {
		if m, ok := lockModes[l.Mode]; ok {
			l.Mode = m
		}
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the migration's locks: %w", err)
	}
	sortLocks(out)
	return out, nil
}

func sortLocks(ls []Lock) {
	sort.Slice(ls, func(i, j int) bool {
		if ls[i].Relation != ls[j].Relation {
			return ls[i].Relation < ls[j].Relation
		}
		return ls[i].Mode < ls[j].Mode
	})
}
