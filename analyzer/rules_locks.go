package analyzer

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/locks"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/analyzer/typechange"
)

var (
	ruleTableRewrite = register(Rule{
		ID: "table-rewrite", Question: QLocks, Severity: Danger,
		Title: "Rewrite of an existing table under ACCESS EXCLUSIVE",
		Why: "PostgreSQL copies the whole table and rebuilds every index while no read or write gets through: about 8-12 s per GB on a small server, " +
			"1.5-3 times more in production. A 50 GB table is blocked for ten minutes or more.",
		Example: "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();",
		Safe: "-- Add the column without the volatile default, then fill it in batches:\nALTER TABLE orders ADD COLUMN token uuid;\n" +
			"ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid();\n" +
			"UPDATE orders SET token = gen_random_uuid() WHERE id IN (SELECT id FROM orders WHERE token IS NULL LIMIT 10000);",
	})
	ruleBlockingIndexBuild = register(Rule{
		ID: "blocking-index-build", Question: QLocks, Severity: Danger,
		Title: "Index built or rebuilt while writes are blocked",
		Why: "CREATE INDEX, REINDEX and CLUSTER hold a lock that blocks every INSERT, UPDATE and DELETE (REINDEX also blocks reads through the planner) " +
			"for the whole build: about 3.5 s per GB of table on a small server.",
		Example: "CREATE INDEX orders_created_at_idx ON orders (created_at);",
		Safe:    "-- in a migration without a transaction:\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_created_at_idx ON orders (created_at);",
	})
	ruleBlockingScan = register(Rule{
		ID: "blocking-scan", Question: QLocks, Severity: Danger,
		Title:   "Whole-table scan while reads or writes are blocked",
		Why:     "PostgreSQL reads every row of the table to check it while holding a lock that blocks reads or writes: the lock lasts as long as the scan.",
		Example: "ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
		Safe:    "-- Add a CHECK matching the partition bound first (NOT VALID, then VALIDATE), so ATTACH skips its scan.",
	})
	ruleLockTimeout = register(Rule{
		ID: "missing-lock-timeout", Question: QLocks, Severity: Warning,
		Title: "Blocking lock without lock_timeout",
		Why: "A statement waiting for its lock blocks every later query on the table, even a trivial SELECT, for as long as the oldest transaction " +
			"touching the table stays open (measured: a 0.2 ms ALTER held up reads for 7 s behind one idle transaction). lock_timeout bounds that wait; " +
			"the migration then fails fast and can be retried.",
		Example: "ALTER TABLE orders ADD COLUMN note text;",
		Safe:    "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\nALTER TABLE orders ADD COLUMN note text;",
	})
	ruleLockHeldAcross = register(Rule{
		ID: "work-while-holding-lock", Question: QLocks, Severity: Warning,
		Title: "More work while an ACCESS EXCLUSIVE lock is held",
		Why: "The ACCESS EXCLUSIVE lock taken earlier in the transaction is held until COMMIT: every statement after it extends the time the table " +
			"is unreadable and unwritable, and locking more tables while holding it invites deadlocks.",
		Example: "ALTER TABLE orders ADD COLUMN note text;\nUPDATE orders SET note = '';",
		Safe:    "-- Commit the DDL first; do the slow work in its own migration.",
	})
)

// partState is what the lock rules remember from one statement to the next
// within one part of a file.
type partState struct {
	lockTimeout bool
	// exclusive maps relations under ACCESS EXCLUSIVE to the statement that
	// took the lock, in the current transaction.
	exclusive map[string]txPlace
	// tx is the transaction exclusive is about (stmtContext.tx).
	tx       string
	warnedTO bool
	// warnedHeld is set once the held-lock finding was made for the
	// current transaction: once is enough to make the point.
	warnedHeld bool
}

func newPartState() *partState { return &partState{exclusive: map[string]txPlace{}} }

// checkLocks answers question 6 for one statement and records its locks.
func checkLocks(c *stmtContext) {
	ps := c.ps
	if ps.tx != c.tx || c.tx == "" {
		// A new transaction: locks of the previous one were released.
		clear(ps.exclusive)
		ps.tx = c.tx
		ps.warnedHeld = false
	}
	if vs := c.node.GetVariableSetStmt(); vs != nil && vs.GetName() == "lock_timeout" {
		ps.lockTimeout = !setsZero(vs)
		return
	}
	imp := locks.Analyze(c.node, c.cat, locks.Options{PostgresVersion: c.cfg.PostgresVersion, TypeChange: c.typeChangeWork})
	if len(imp.Locks) > 0 {
		c.stmt.Locks = slices.Grow(c.stmt.Locks, len(imp.Locks))
	}
	for _, l := range imp.Locks {
		c.stmt.Locks = append(c.stmt.Locks, LockInfo{Relation: l.Relation, Kind: l.Kind, Mode: l.Mode.String(), Blocks: l.Mode.Blocks(), Existing: l.Existing})
	}
	c.stmt.Work = string(imp.Work)

	subject, existing := imp.Subject, false
	if l, ok := imp.Lock(subject); ok {
		existing = l.Existing
	}
	// Work done while others wait, judged by the time it may take; moot
	// when PostgreSQL refuses the statement before doing any.
	judged := existing && !imp.Concurrently && !c.hasFinding(ruleTypeChangeFails.ID)
	// Without statistics there is no estimate, and what is said of the
	// size is only for the work judged below: it is not written for the
	// statements that are not.
	var est *Estimate
	var size sizeNote
	if c.stats != nil || judged {
		est, size = c.estimate(subject, imp)
	}
	if est != nil {
		c.stmt.Estimate = est
	}

	if judged {
		mode := strongestOn(imp, subject)
		held := ""
		if at, ok := ps.exclusive[subject]; ok && c.inTx && mode < locks.AccessExclusive {
			// The transaction still holds the ACCESS EXCLUSIVE an earlier
			// statement took: the work blocks as much as that lock does.
			mode = locks.AccessExclusive
			held = fmt.Sprintf(", held since %s%s", at.where(c.stmt.Path), c.runsWithOthers(at))
		}
		switch imp.Work {
		case locks.Rewrite:
			if !c.foldRewriteIntoTypeChange(est, size) {
				what := fmt.Sprintf("rewrites %s and rebuilds its indexes", subject)
				if l, _ := imp.Lock(subject); l.Kind == "index" {
					what = fmt.Sprintf("rewrites index %s", subject)
				}
				c.lockFinding(ruleTableRewrite, fmt.Sprintf("%s under %s (%s)%s", what, mode, mode.Blocks(), held), est, size)
			}
		case locks.IndexBuild:
			if mode >= locks.Share && !c.amendEarlier(QConstraints, ruleBlockingIndexBuild, est, size) {
				c.lockFinding(ruleBlockingIndexBuild, fmt.Sprintf("%s under %s (%s)%s", c.indexWork(subject), mode, mode.Blocks(), held), est, size)
			}
		case locks.Scan:
			if mode.BlocksWrites() && !c.amendEarlier(QConstraints, ruleBlockingScan, est, size) {
				c.lockFinding(ruleBlockingScan, fmt.Sprintf("scans all of %s under %s (%s)%s", subject, mode, mode.Blocks(), held), est, size)
			}
		case locks.Backfill:
			if !c.amendBackfill(est, size) {
				c.amendEarlier(QDrops, Rule{}, est, size)
			}
		}
	}

	// A concurrent build blocks no one, so no finding above reports it;
	// the WAL it writes still holds replicas back.
	if existing && imp.Concurrently && imp.Work == locks.IndexBuild && est != nil && est.WALBytes >= walNotable {
		_, wal := c.walNote(c.statsTableNamed(subject), imp)
		rows := ""
		if est.Rows >= 0 {
			rows = " (~" + humanCount(est.Rows) + " rows)"
		}
		fd := ruleReplicationLag.finding(fmt.Sprintf("builds an index on %s%s without blocking writes, but %s", subject, rows, wal))
		fd.Objects = []string{subject}
		c.report(fd)
	}

	// Statements after an ACCESS EXCLUSIVE lock in the same transaction.
	if c.inTx && !ps.warnedHeld && len(ps.exclusive) > 0 && (imp.Work != locks.Metadata || touchesOther(imp, ps.exclusive)) &&
		!c.hasFinding(ruleValidateSameTx.ID, ruleCannotRunInTransaction.ID) {
		ps.warnedHeld = true
		held := slices.Sorted(maps.Keys(ps.exclusive))
		first := ps.exclusive[held[0]]
		for _, rel := range held {
			if at := ps.exclusive[rel]; at.path == first.path && at.line < first.line {
				first = at
			}
		}
		var labels []string
		for _, rel := range held {
			labels = append(labels, lockLabel(rel, ps.exclusive[rel].kind))
		}
		verb := "stays"
		if len(held) > 1 {
			verb = "stay"
		}
		runs := "runs"
		if objs := statementObjects(c); len(objs) > 0 {
			runs = "runs on " + joinObjects(objs)
		}
		fd := ruleLockHeldAcross.finding(fmt.Sprintf("%s while ACCESS EXCLUSIVE on %s (taken on %s%s) is still held: %s %s blocked for this statement and every later one until COMMIT",
			runs, joinObjects(labels), first.where(c.stmt.Path), c.runsWithOthers(first), joinObjects(held), verb))
		fd.SafeAlternative = "-- End the transaction after the statement that took the lock, and run this in the next migration."
		c.report(fd)
	}

	// Blocking locks on existing tables need a lock_timeout.
	// A lock on a type (ALTER TYPE ... ADD VALUE takes EXCLUSIVE on the
	// enum, measured) is never asked for by queries on the tables that use
	// the type: waiting for it queues nobody, so it needs no lock_timeout,
	// and the reminder is kept for the statement that does.
	// Only the first blocking lock is named: it is kept, not a list of
	// them all.
	blocking := -1
	for i, l := range imp.Locks {
		if blocking < 0 && l.Existing && l.Mode >= locks.Share && !imp.Concurrently && l.Kind != "type" {
			blocking = i
		}
		if l.Existing && l.Mode == locks.AccessExclusive && c.inTx && imp.HeldUntilCommit && l.Kind != "type" {
			if _, ok := ps.exclusive[l.Relation]; !ok {
				p := c.place()
				p.kind = l.Kind
				ps.exclusive[l.Relation] = p
			}
		}
	}
	if blocking >= 0 && !ps.lockTimeout && !ps.warnedTO && !c.serverHasLockTimeout() {
		ps.warnedTO = true
		l := imp.Locks[blocking]
		var msg string
		if l.Kind == "index" {
			// Planning a query of a table locks every index of it. (The
			// message is chosen before it is built: the table's, built
			// and then replaced, cost an allocation for nothing.)
			msg = fmt.Sprintf("takes %s on index %s with no lock_timeout set before it: if any transaction holds a lock on the index, this waits, and every later query of its table queues behind it, since planning a query locks each index of the table (later statements of this part too)",
				l.Mode, l.Relation)
		} else {
			msg = fmt.Sprintf("takes %s on %s with no lock_timeout set before it: if any transaction holds a lock on %s, this waits, and every later query on %s queues behind it (later statements of this part too)",
				l.Mode, l.Relation, l.Relation, l.Relation)
		}
		fd := ruleLockTimeout.finding(msg)
		fd.SafeAlternative = "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\n" + strings.TrimSpace(c.stmt.SQL)
		c.report(fd)
	}
}

// lockLabel names a locked relation for a message: "index x" for an index.
func lockLabel(rel, kind string) string {
	if kind == "index" {
		return "index " + rel
	}
	return rel
}

// indexWork says which index an index build or rebuild is about: "builds
// index orders_note_idx on public.orders", "rebuilds every index of
// public.orders".
func (c *stmtContext) indexWork(subject string) string {
	switch {
	case c.node.GetIndexStmt() != nil:
		if name := c.node.GetIndexStmt().GetIdxname(); name != "" {
			return fmt.Sprintf("builds index %s on %s", quoteIdent(name), subject)
		}
		return fmt.Sprintf("builds an index on %s", subject)
	case c.node.GetReindexStmt() != nil:
		rs := c.node.GetReindexStmt()
		if rs.GetKind() == pg_query.ReindexObjectType_REINDEX_OBJECT_INDEX {
			return fmt.Sprintf("rebuilds index %s of %s", quoteIdent(rs.GetRelation().GetRelname()), subject)
		}
		return fmt.Sprintf("rebuilds every index of %s", subject)
	}
	return fmt.Sprintf("builds an index on %s", subject)
}

// hasFinding says whether the statement already has a finding of one of
// the rules: a more specific one makes a general one noise.
func (c *stmtContext) hasFinding(rules ...string) bool {
	for _, f := range c.stmt.Findings {
		for _, r := range rules {
			if f.Rule == r {
				return true
			}
		}
	}
	return false
}

func setsZero(vs *pg_query.VariableSetStmt) bool {
	if vs.GetKind() == pg_query.VariableSetKind_VAR_RESET || vs.GetKind() == pg_query.VariableSetKind_VAR_SET_DEFAULT {
		return true
	}
	for _, a := range vs.GetArgs() {
		ac := a.GetAConst()
		if ac == nil {
			continue
		}
		if ac.GetIval() != nil && ac.GetIval().GetIval() == 0 {
			return true
		}
		if sv := ac.GetSval(); sv != nil {
			v := strings.TrimSpace(sv.GetSval())
			if v == "0" || v == "0s" || v == "0ms" {
				return true
			}
		}
	}
	return false
}

func (c *stmtContext) serverHasLockTimeout() bool {
	return c.stats != nil && c.stats.Settings.LockTimeoutMS != nil && *c.stats.Settings.LockTimeoutMS > 0
}

func strongestOn(imp locks.Impact, rel string) locks.Mode {
	var m locks.Mode
	for _, l := range imp.Locks {
		if l.Relation == rel && l.Mode > m {
			m = l.Mode
		}
	}
	return m
}

func touchesOther(imp locks.Impact, held map[string]txPlace) bool {
	for _, l := range imp.Locks {
		// Locks on types and sequences do not order against table locks.
		if l.Kind == "type" || l.Kind == "sequence" {
			continue
		}
		if _, ok := held[l.Relation]; !ok && l.Existing && l.Mode >= locks.RowExclusive {
			return true
		}
	}
	return false
}

// typeChangeWork lets the lock model ask the type-change table.
func (c *stmtContext) typeChangeWork(old, new catalog.Type, using *pg_query.Node) locks.Work {
	tz := ""
	if c.stats != nil {
		tz = c.stats.Settings.TimeZone
	}
	switch typechange.Classify(old, new, typechange.Options{PostgresVersion: c.cfg.PostgresVersion, Using: using, TimeZone: tz, Catalog: c.cat}).Effect {
	case typechange.Metadata:
		return locks.Metadata
	case typechange.IndexRebuild:
		return locks.IndexBuild
	}
	return locks.Rewrite
}

// sizeNote describes what is known of a relation's size.
type sizeNote struct {
	known bool
	text  string
	// rows is the row count as text says it ("~200.0M rows") and work the
	// estimate alone, for a finding whose first sentence said the size
	// already.
	rows, work string
}

// textFor is what to add to a message: the size and the estimate, or the
// estimate alone when the message says the row count already.
func (n sizeNote) textFor(msg string) string {
	if n.known && n.rows != "" && n.work != "" && strings.Contains(msg, "("+n.rows) {
		return n.work
	}
	return n.text
}

// estimate looks the subject up in the production statistics, and says
// how much WAL the work writes (what every replica must replay).
func (c *stmtContext) estimate(subject string, imp locks.Impact) (*Estimate, sizeNote) {
	if imp.Work == locks.Metadata || subject == "" {
		return nil, sizeNote{}
	}
	if c.stats == nil {
		_, wal := c.walNote(nil, imp)
		return nil, sizeNote{text: withWAL(fmt.Sprintf("the size of %s is unknown (no statistics file: run `migration-guard stats`), so this is judged as if it were large", subject), wal)}
	}
	t := c.statsTableNamed(subject)
	if t == nil {
		_, wal := c.walNote(nil, imp)
		return nil, sizeNote{text: withWAL(fmt.Sprintf("%s is not in the statistics file (collected %s), so this is judged as if it were large", subject, c.stats.CollectedAt.Format("2006-01-02")), wal)}
	}
	kind := map[locks.Work]prodstats.Work{locks.Scan: prodstats.WorkScan, locks.Rewrite: prodstats.WorkRewrite, locks.IndexBuild: prodstats.WorkIndexBuild, locks.Backfill: prodstats.WorkBackfill}[imp.Work]
	e := c.stats.Estimate(t, kind, max(imp.Scans, 1))
	walBytes, wal := c.walNote(t, imp)
	est := &Estimate{Relation: subject, Rows: t.Rows, Bytes: e.Bytes, LowMS: e.Low.Milliseconds(), HighMS: e.High.Milliseconds(), Basis: e.Basis, WALBytes: walBytes}
	rows := "unknown rows"
	if t.Rows >= 0 {
		rows = "~" + humanCount(t.Rows) + " rows"
	}
	work := withWAL(fmt.Sprintf("estimated %s to %s (%s)", humanDuration(e.Low), humanDuration(e.High), e.Basis), wal)
	return est, sizeNote{known: true, text: fmt.Sprintf("%s: %s, %s; %s", subject, rows, humanSize(t.TotalBytes), work), rows: rows, work: work}
}

func withWAL(text, wal string) string {
	if wal == "" {
		return text
	}
	return text + "; " + wal
}

// lockFinding reports lock work, with its severity set by the estimate: a
// known size whose estimate stays under the threshold is not a danger.
func (c *stmtContext) lockFinding(r Rule, msg string, est *Estimate, size sizeNote) {
	fd := r.finding(msg + "; " + size.text)
	fd.Severity = c.lockSeverity(r, est, size)
	fd.SafeAlternative = safeLockWork(c, r)
	c.report(fd)
}

// lockSeverity is the severity of lock work: the rule's, lowered when a
// known size keeps the estimate under the threshold.
func (c *stmtContext) lockSeverity(r Rule, est *Estimate, size sizeNote) Severity {
	if size.known && est != nil {
		switch high := time.Duration(est.HighMS) * time.Millisecond; {
		case high < c.cfg.Threshold()/10:
			return Info
		case high < c.cfg.Threshold():
			return Warning
		}
	}
	return r.Severity
}

// amendEarlier adds the lock estimate to a finding of another question
// already made on this statement (a constraint's scan, a backfill), rather
// than reporting the same statement twice. It says whether that was done.
// Blocking work (r is its rule; Rule{} for a backfill, which blocks no
// reads) is folded only into findings at least as severe as the work
// itself, so that one never hides the other's severity; a folded finding
// also answers question 6, which the summary counts.
func (c *stmtContext) amendEarlier(q Question, r Rule, est *Estimate, size sizeNote) bool {
	var earlier []int
	for i := range c.stmt.Findings {
		if c.stmt.Findings[i].Question == q {
			earlier = append(earlier, i)
		}
	}
	if len(earlier) == 0 {
		return false
	}
	blocking := r.ID != ""
	if blocking {
		sev := c.lockSeverity(r, est, size)
		if c.part == "down" {
			sev = Info
		}
		for _, i := range earlier {
			if c.stmt.Findings[i].Severity.Rank() < sev.Rank() {
				return false
			}
		}
	}
	for _, i := range earlier {
		f := &c.stmt.Findings[i]
		f.Message += "; " + size.textFor(f.Message)
		if blocking && !slices.Contains(f.AlsoQuestions, QLocks) {
			f.AlsoQuestions = append(f.AlsoQuestions, QLocks)
		}
	}
	return true
}

// splitQualified splits "schema.name" (as printed by qualified) into its
// parts, honouring double quotes.
func splitQualified(s string) (schema, name string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '.':
			if !inQuote {
				return unquote(s[:i]), unquote(s[i+1:])
			}
		}
	}
	return "", unquote(s)
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func humanSize(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", b)
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	case d >= time.Minute:
		return fmt.Sprintf("%.0f min", d.Minutes())
	case d >= time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}
