package analyzer

import (
	"fmt"
	"reflect"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

var (
	ruleDynamicSQL = register(Rule{
		ID: "dynamic-sql", Question: QDrops, Severity: Danger,
		Title: "SQL built at run time",
		Why: "EXECUTE runs whatever text the code builds while it runs (format(), concatenation, a variable), and dblink's functions run SQL text " +
			"on a connection of their own, outside the migration's transaction: what it drops, rewrites or locks cannot be known before it runs, so a person must read it. " +
			"SQL built by format() or || whose values are all quoted (format's %I and %L, quote_ident(), quote_literal()) and whose fixed text, " +
			"whatever names and values fill it, parses only as statements that create a table, partition, index or sequence, attach a partition or set storage parameters " +
			"(a partition helper: format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', ...)) is a warning without approval: " +
			"it destroys no data. A raw value (format's %s, an unquoted part of a concatenation) can carry any text, a second statement included " +
			"(EXECUTE runs every statement of its string), so code the migration runs with one still needs approval.",
		Example: "DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'audit_' || to_char(now(), 'YYYY')); END $$;",
		Safe: "-- Write the statements out, so that they are reviewed like any other:\n" +
			"DROP TABLE audit_2023;",
	})
	ruleUnreadableBody = register(Rule{
		ID: "unreadable-body", Question: QDrops, Severity: Danger,
		Title: "Procedural code that cannot be read",
		Why: "A DO block or function body that PostgreSQL's PL/pgSQL parser cannot read fails when the migration runs " +
			"(PostgreSQL checks bodies at CREATE FUNCTION), and code in another language (plpython, plperl, C) runs statements that cannot be seen here: " +
			"a person must read what it does.",
		Example: "DO $$ BEGIN DELET FROM sessions; END $$;",
		Safe:    "DO $$ BEGIN DELETE FROM sessions WHERE expires_at < now(); END $$;",
	})
)

// procRun says where the code being judged runs and where its findings go.
type procRun struct {
	depth int
	// deferred is set for code that does not run now (a function body at
	// its CREATE, a trigger's function): it says when it runs, and its
	// findings are information only.
	deferred string
	// site is set when the code runs through a call: its findings are
	// attached to the calling statement, after prefix.
	site   *Statement
	marker Position
	prefix string
	cat    *catalog.Catalog
	ps     *partState
	// calling holds the functions whose bodies are being judged, so that
	// a recursive call is judged once; budget bounds the statements judged
	// for one statement of the file, whatever the fan-out of calls.
	calling map[*catalog.Function]bool
	budget  *int
}

// procBudget is how many statements of procedural code one statement of a
// file may lead to judging.
const procBudget = 2000

// maxProcDepth bounds how deep procedural code is followed (a DO block that
// EXECUTEs a DO block, a function that calls itself).
const maxProcDepth = catalog.MaxCallDepth

// judgeProcedural judges the code a statement runs or defines, and applies
// what runs now to c.cat. It returns the statements to list after it: the
// statements of a DO block, and of a function created here, each where it
// stands in the file. The bodies of migration-created functions it calls
// are judged at the call: their findings go on the calling statement.
func (s *session) judgeProcedural(c *stmtContext, rules []statementRule) []Statement {
	budget := procBudget
	return s.procedural(c, rules, procRun{cat: c.cat, ps: c.ps, calling: map[*catalog.Function]bool{}, budget: &budget})
}

func (s *session) procedural(c *stmtContext, rules []statementRule, run procRun) []Statement {
	var out []Statement
	if run.depth > maxProcDepth || *run.budget <= 0 {
		fd := ruleUnreadableBody.finding("procedural code nested deeper, or calling more, than this analysis follows: review by hand what it runs")
		s.deliverBody(c, run, fd)
		*run.budget = 0
		return nil
	}
	n := c.node
	if b := s.readBody(c); b != nil {
		line := c.stmt.Start.Line
		inner := run
		inner.depth++
		// What stored code runs the function (storedRuns walks the calls
		// of every body installed code runs): asked once, only where the
		// cases below ask it, and used for the prefix too.
		trigger, stored := false, ""
		if run.deferred == "" && b.What == "FUNCTION" {
			trigger = c.cat.RunsAsTrigger(b.Name)
		}
		if run.deferred == "" && b.What != "DO" && !trigger {
			stored = storedRuns(c.cat, b.Name)
		}
		switch {
		case b.What == "DO":
			inner.prefix = run.prefix + fmt.Sprintf("in the DO block at line %d: ", line)
		case trigger:
			// A new body for a function a trigger already runs: it runs on
			// the table's row changes as soon as this commits.
			inner.prefix = run.prefix + fmt.Sprintf("in %s() (line %d), which a trigger already installed runs on every change it fires on: ", qualified(b.Name...), line)
			var drop func()
			inner.cat, drop = bodyCopy(c.cat)
			inner.ps = newPartState()
			out = append(out, s.judgeBody(c, b, withoutLockRules(rules), inner)...)
			drop()
			b = nil
		case stored != "":
			// A new body for a function stored code already calls (a view,
			// a default, a constraint, ...), or that installed code reaches
			// through other functions: it runs whenever that code does,
			// with no call written there.
			inner.prefix = run.prefix + fmt.Sprintf("in %s() (line %d), which %s: ", qualified(b.Name...), line, stored)
			var drop func()
			inner.cat, drop = bodyCopy(c.cat)
			inner.ps = newPartState()
			out = append(out, s.judgeBody(c, b, withoutLockRules(rules), inner)...)
			drop()
			b = nil
		case run.deferred == "":
			// A function defined now runs when called: judged on a scratch
			// schema, its findings information only.
			name := qualified(b.Name...) + "()"
			inner.deferred = "not run by this statement"
			inner.prefix = run.prefix + fmt.Sprintf("in %s (line %d), which runs only when it is called: ", name, line)
			var drop func()
			inner.cat, drop = bodyCopy(c.cat)
			inner.ps = newPartState()
			out = append(out, s.judgeBody(c, b, rules, inner)...)
			drop()
			b = nil
		default:
			inner.prefix = run.prefix + fmt.Sprintf("in %s(): ", qualified(b.Name...))
		}
		if b != nil {
			out = append(out, s.judgeBody(c, b, rules, inner)...)
		}
	}
	for _, call := range c.cat.Calls(n) {
		s.judgeCall(c, call, rules, run)
	}
	out = append(out, s.judgeTextCalls(c, rules, run)...)
	s.checkRemoteSQL(c, run)
	if tr := n.GetCreateTrigStmt(); tr != nil {
		s.judgeTrigger(c, tr.GetTrigname(), tr.GetFuncname(), "on every change of "+c.relation(tr.GetRelation()).name+" it fires on", rules, run)
	}
	if et := n.GetCreateEventTrigStmt(); et != nil {
		s.judgeTrigger(c, et.GetTrigname(), et.GetFuncname(), "on every "+et.GetEventname()+" event (DDL) in the database", rules, run)
	}
	if use, ok := catalog.StoredUseOf(n); ok && !catalog.Evaluates(n) {
		// What is stored runs later, when the object is used: judged
		// here, where it is installed, like a trigger's function. A
		// statement that also evaluates its expressions now (ALTER TABLE,
		// CREATE MATERIALIZED VIEW) had its calls judged above.
		for _, call := range c.cat.StoredCalls(n) {
			s.judgeStoredCall(c, call, use, rules, run)
		}
	}
	return out
}

// storedRuns says what already runs the function of this name from
// installed code (stored.go in package catalog), "" when nothing does.
func storedRuns(cat *catalog.Catalog, name []string) string {
	use, through, ok := cat.RunsStored(name)
	if !ok {
		return ""
	}
	if through != "" {
		return fmt.Sprintf("%s already installed runs %s, through %s", use.Who, use.When, through)
	}
	return fmt.Sprintf("%s already installed runs %s", use.Who, use.When)
}

// judgeStoredCall judges the body of a migration-created function that
// stored code calls (a view's query, a default, a constraint, a policy, a
// rule): it runs whenever the object is used, from now on.
func (s *session) judgeStoredCall(c *stmtContext, call catalog.Call, use catalog.StoredUse, rules []statementRule, run procRun) {
	f := call.Function
	if f.Body == nil || run.calling[f] {
		return
	}
	run.calling[f] = true
	defer delete(run.calling, f)
	inner := run
	inner.depth++
	var drop func()
	inner.cat, drop = bodyCopy(c.cat)
	defer drop()
	inner.ps = newPartState()
	if inner.site == nil {
		inner.site, inner.marker = c.stmt, c.at(call.Location)
		if inner.marker.Line == 0 {
			inner.marker = c.stmt.Start
		}
	}
	inner.prefix = run.prefix + fmt.Sprintf("%s runs %s() (created at %s) %s, which runs: ",
		use.Who, f.QualifiedName(), originText(f.Origin), use.When)
	noteReached(inner.site, f)
	s.judgeBody(c, f.Body, withoutLockRules(rules), inner)
}

// judgeBody judges each thing a body runs, in order, against run.cat, and
// applies what it runs to run.cat.
func (s *session) judgeBody(c *stmtContext, b *plpgsql.Body, rules []statementRule, run procRun) []Statement {
	var out []Statement
	for _, bs := range b.Stmts {
		if *run.budget--; *run.budget < 0 {
			return out
		}
		if bs.Kind == plpgsql.Expression && bs.Stmt.ParseError == nil && !callsAnything(bs.Stmt.Node) {
			// Only the functions an expression calls do anything (below):
			// one that calls none is passed over without the statement
			// entry and context innerStatement would make for it (most
			// of a body's conditions and assignments).
			continue
		}
		st, ic := s.innerStatement(c, bs, run)
		switch {
		case bs.Kind == plpgsql.Unreadable:
			fd := ruleUnreadableBody.finding(bs.Reason)
			if b.Language != "plpgsql" && b.Language != "sql" && run.deferred != "" {
				// Code in another language runs nothing until called.
				fd.Severity = Info
			}
			fd.Marker = ic.filePosition(bs.Src.At(bs.Stmt.ParseError.Offset))
			s.deliverBody(ic, run, fd)
		case bs.Kind == plpgsql.Dynamic:
			fd := ruleDynamicSQL.finding(fmt.Sprintf("%s %s: the SQL is built at run time, so what it runs cannot be known before it runs; review it by hand",
				bs.Via, strings.TrimSpace(bs.Stmt.SQL)))
			// A raw value (format's %s, an unquoted part of a
			// concatenation) can carry text of its own, another statement
			// included (EXECUTE runs every statement of its string): only
			// in a body that runs later is it read as one name or value,
			// never where the migration runs the code now (a DO block, a
			// call).
			if does, ok := s.creationsOf(bs.Built, run.deferred != ""); ok {
				// Whatever it is given, its fixed text cannot destroy data:
				// no approval, but still said (which objects, and what the
				// locks block, is known only when it runs).
				fd.Severity = Warning
				fd.Message = fmt.Sprintf("%s %s builds its SQL at run time, but whatever names and values it is given, its fixed text only %s: it drops, deletes and rewrites nothing; which objects it touches, and what their locks block, is known only when it runs",
					bs.Via, strings.TrimSpace(bs.Stmt.SQL), does)
			}
			s.deliverBody(ic, run, fd)
		case bs.Stmt.ParseError != nil:
			fd := ruleSyntaxError.finding("PostgreSQL's parser cannot read this statement of the body: " + bs.Stmt.ParseError.Message)
			fd.Marker = ic.filePosition(bs.Src.At(bs.Stmt.ParseError.Offset))
			s.deliverBody(ic, run, fd)
		case bs.Kind == plpgsql.Expression:
			// Only the functions it calls do anything (a function the
			// migrations created, SQL text handed to one no migration
			// defines, dblink, a built-in that destroys data): listed when
			// one does. An assignment or a condition calls them as a
			// PERFORM does. One that calls none was passed over above.
			st.Kind = "Expression"
			checkDestructiveFunctions(ic)
			s.routeFindings(ic, run, 0)
			nested := s.procedural(ic, rules, run)
			if run.site == nil && (len(st.Findings) > 0 || len(nested) > 0) {
				out = append(out, *st)
				out = append(out, nested...)
			}
			continue
		default:
			st.Kind = nodeKind(bs.Stmt.Node)
			for _, rule := range rules {
				rule(ic)
			}
			s.routeFindings(ic, run, 0)
			nested := s.procedural(ic, rules, run)
			if run.site == nil {
				// An ignore comment written inside the body, before the statement.
				sups := innerSuppressions(bs, c.lines)
				suppressInner(sups, nested)
				applySuppressions(ic, sups)
				out = append(out, *st)
				out = append(out, nested...)
			}
			line, _ := c.lines.Position(ic.raw.Start)
			run.cat.SetPosition(c.stmt.Path, line)
			s.applyOwn(run.cat, bs.Stmt.Node)
			continue
		}
		if run.site == nil {
			out = append(out, *st)
		}
	}
	return out
}

// innerStatement makes the statement entry and the rules' context for one
// thing a body runs.
func (s *session) innerStatement(c *stmtContext, bs plpgsql.Stmt, run procRun) (*Statement, *stmtContext) {
	start, end := bs.Src.At(bs.Stmt.Start), bs.Src.At(bs.Stmt.End)
	st := &Statement{Path: c.stmt.Path, Part: c.part, InTx: true, Inner: true, Findings: []Finding{}, startByte: start}
	if run.site == nil && start < end && end <= len(c.text) {
		// As written in the file (a quoted body shows its quotes doubled).
		st.SQL = c.text[start:end]
	} else {
		// Decoded from a quoted body, or pinned to where the text starts.
		st.SQL = strings.TrimSpace(bs.Stmt.SQL)
		end = max(start, end)
	}
	st.Start.Line, st.Start.Column = c.lines.Position(start)
	st.End.Line, st.End.Column = c.lines.Position(end)
	if testHookBodyCatalog != nil {
		testHookBodyCatalog(run.cat)
	}
	ic := *c
	src := bs.Src.Slice(bs.Stmt.LocationBase, len(bs.Src.Text))
	ic.stmt, ic.node, ic.cat, ic.ps, ic.inTx, ic.src = st, bs.Stmt.Node, run.cat, run.ps, true, &src
	ic.guarded = c.guarded || bs.Guarded
	ic.innerCalls = s.innerCalls
	// The body's split scanned the statement already: its tokens spare
	// the rules reading tokens a scan of their own.
	ic.raw = sqlscript.Statement{Start: start, End: end, SQL: bs.Stmt.SQL, Node: bs.Stmt.Node, LocationBase: src.At(0),
		Tokens: bs.Stmt.Tokens, TokenBase: bs.Stmt.TokenBase}
	return st, &ic
}

// filePosition is the position of a byte offset of the file.
func (c *stmtContext) filePosition(off int) Position {
	line, col := c.lines.Position(off)
	return Position{Line: line, Column: col}
}

// routeFindings finishes the findings rules added to ic.stmt from index
// from: marked as deferred or moved to the call site.
func (s *session) routeFindings(ic *stmtContext, run procRun, from int) {
	found := ic.stmt.Findings[from:]
	ic.stmt.Findings = ic.stmt.Findings[:from]
	for _, fd := range found {
		s.deliverBody(ic, run, fd)
	}
}

// deliverBody records a finding about a statement of procedural code.
func (s *session) deliverBody(ic *stmtContext, run procRun, fd Finding) {
	if run.deferred != "" && fd.Rule != ruleUnreadableBody.ID && fd.Rule != ruleSyntaxError.ID {
		// It does not run now. A body PostgreSQL cannot read fails at its
		// CREATE, so that stays as it is.
		fd.Severity = Info
	}
	if run.site == nil && run.prefix != "" {
		fd.Message = upperFirst(run.prefix) + fd.Message
	}
	s.deliver(ic, run, fd)
}

// deliver adds a finding to the statement it is about, or to the call.
func (s *session) deliver(ic *stmtContext, run procRun, fd Finding) {
	if run.site == nil {
		ic.report(fd)
		return
	}
	fd.Message = upperFirst(run.prefix) + fd.Message
	fd.Marker = run.marker
	fd.RequiresApproval = s.cfg.NeedsApproval(fd.Severity)
	if ic.part == "down" && !strings.HasPrefix(fd.Message, "(down migration)") {
		fd.Severity, fd.RequiresApproval = Info, false
		fd.Message = "(down migration) " + fd.Message
	}
	run.site.Findings = foldRepeated(run.site.Findings, fd)
}

// foldRepeated adds fd to the call site's findings, or, when the site holds
// the same finding already (a function that runs the same statement for
// each of several values, called once), counts it there: a reviewer reads
// one finding with "(runs 5 times)" rather than five identical ones. The
// severity and approval stay the strongest of those folded.
func foldRepeated(found []Finding, fd Finding) []Finding {
	for i := range found {
		old := &found[i]
		base := old.Message
		if old.repeats > 0 {
			base = strings.TrimSuffix(base, fmt.Sprintf(" (runs %d times)", old.repeats+1))
		}
		if old.Rule != fd.Rule || base != fd.Message || old.Marker != fd.Marker {
			continue
		}
		old.repeats++
		old.Message = fmt.Sprintf("%s (runs %d times)", base, old.repeats+1)
		if fd.Severity.Rank() > old.Severity.Rank() {
			old.Severity = fd.Severity
		}
		old.RequiresApproval = old.RequiresApproval || fd.RequiresApproval
		return found
	}
	return append(found, fd)
}

// judgeCall judges, at the call, the body of a migration-created function
// the statement calls: it runs now.
func (s *session) judgeCall(c *stmtContext, call catalog.Call, rules []statementRule, run procRun) {
	f := call.Function
	if f.Body == nil || run.calling[f] {
		// A recursive call runs statements already judged at its first call.
		return
	}
	run.calling[f] = true
	defer delete(run.calling, f)
	inner := run
	inner.depth++
	if inner.site == nil {
		inner.site, inner.marker = c.stmt, c.at(call.Location)
		if inner.marker.Line == 0 {
			inner.marker = c.stmt.Start
		}
	}
	inner.prefix = run.prefix + fmt.Sprintf("calls %s() (created at %s), which runs: ", f.QualifiedName(), originText(f.Origin))
	if f.Body.What == "PROCEDURE" {
		inner.prefix = run.prefix + fmt.Sprintf("calls procedure %s() (created at %s), which runs: ", f.QualifiedName(), originText(f.Origin))
	}
	noteReached(inner.site, f)
	s.judgeBody(c, f.Body, rules, inner)
}

// judgeTrigger judges the function a new trigger runs: it runs on the
// table's row changes from now on, not during the migration.
func (s *session) judgeTrigger(c *stmtContext, trigger string, funcname []*pg_query.Node, when string, rules []statementRule, run procRun) {
	for _, f := range c.cat.FunctionsByName(pgtree.Names(funcname)) {
		if f.Body != nil {
			s.judgeTriggerFunction(c, trigger, f, when, rules, run)
		}
	}
}

func (s *session) judgeTriggerFunction(c *stmtContext, trigger string, f *catalog.Function, when string, rules []statementRule, run procRun) {
	inner := run
	inner.depth++
	var drop func()
	inner.cat, drop = bodyCopy(c.cat)
	defer drop()
	inner.ps = newPartState()
	if inner.site == nil {
		inner.site, inner.marker = c.stmt, c.stmt.Start
	}
	inner.prefix = run.prefix + fmt.Sprintf("trigger %s runs %s() (created at %s) %s, which runs: ",
		quoteIdent(trigger), f.QualifiedName(), originText(f.Origin), when)
	noteReached(inner.site, f)
	s.judgeBody(c, f.Body, withoutLockRules(rules), inner)
}

// noteReached records on the statement the body of f, which code it runs
// runs and it does not contain (Statement.ReachedCode): the findings
// judged in that body land on the statement, and an approval of the
// statement must bind the body they come from, which may stand in another
// file of the change or be edited by a later push.
func noteReached(site *Statement, f *catalog.Function) {
	site.reached = append(site.reached, reachedBody{
		function: fmt.Sprintf("%s(%s)", f.QualifiedName(), f.Signature),
		body:     f.Body,
	})
}

// reachedBody is a body a statement runs without containing it, as it
// stood when the statement was judged. Its text is normalized only when
// an approval binds the statement (ReachedCode): scanning every followed
// body for every call was a fifth of a cold check over a history full of
// functions.
type reachedBody struct {
	function string
	body     *plpgsql.Body
}

func (r reachedBody) text() string {
	b := r.body
	text := b.Source.Text
	if text == "" {
		// A body read from the parse tree only (RETURN expr): the
		// statements it runs are all there is.
		parts := make([]string, len(b.Stmts))
		for i, bs := range b.Stmts {
			parts[i] = bs.Stmt.SQL
		}
		text = strings.Join(parts, ";\n")
	}
	return fmt.Sprintf("%s\x00%s\x00%s", r.function, b.Language, sqlscript.Normalize(text))
}

// withoutLockRules leaves out question 6 for code that runs later, row by
// row, where a migration's lock advice does not apply.
func withoutLockRules(rules []statementRule) []statementRule {
	locks := reflect.ValueOf(checkLocks).Pointer()
	out := make([]statementRule, 0, len(rules))
	for _, r := range rules {
		if reflect.ValueOf(r).Pointer() != locks {
			out = append(out, r)
		}
	}
	return out
}

func originText(o catalog.Origin) string {
	if o.Path == "" {
		return "an earlier migration"
	}
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.Path, o.Line)
	}
	return o.Path
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// source is the statement's text as its parse tree's locations count it,
// with where it stands in the file.
func (c *stmtContext) source() plpgsql.Source {
	if c.src != nil {
		return *c.src
	}
	return statementSource(c.text, c.raw)
}

// statementSource is the text of a statement of a file as its parse
// tree's locations count it.
func statementSource(text string, st sqlscript.Statement) plpgsql.Source {
	start, end := st.LocationBase, st.End
	if start < 0 || end > len(text) || end < start {
		return plpgsql.Source{}
	}
	return plpgsql.Linear(text[start:end], start)
}

// readBody reads the procedural code of c's statement: read ahead with
// the file's parse when c is a statement of the file, else now.
func (s *session) readBody(c *stmtContext) *plpgsql.Body {
	if b, ok := s.bodies[c.node]; ok && c.src == nil && c.raw.Node == c.node {
		// Each is taken once: whoever reads the statement again gets a
		// Body of its own.
		delete(s.bodies, c.node)
		return b
	}
	b := s.reads.Read(c.node, c.source())
	if b != nil && c.node.GetCreateFunctionStmt() != nil {
		if s.bare == nil {
			s.bare = map[*pg_query.Node]*plpgsql.Body{}
		}
		s.bare[c.node] = b.Bare()
	}
	return b
}

// applyOwn applies a statement's own effect to cat (catalog.ApplyOwn),
// handing it the body of a CREATE FUNCTION read already, as the catalog
// keeps it: each body is parsed once.
func (s *session) applyOwn(cat *catalog.Catalog, node *pg_query.Node) {
	if !reuseBodies {
		cat.ApplyOwn(node)
		return
	}
	cat.ApplyOwnRead(node, s.bare[node])
}

// reuseBodies is unset by tests only, to compare with a catalog that reads
// each body itself.
var reuseBodies = true

// bodyCopy makes the copy of cat that a body which does not run now with
// the statement (a function's body at its CREATE, a trigger's function,
// code stored code calls) is judged on, so that what it changes stays out
// of cat, and drop, called once the body is judged: nothing keeps the copy
// (the rules' contexts and the statements made from the body hold no
// catalog), so when cat has not changed meanwhile it takes back what it
// made before and changes it in place again, where after a Clone it would
// copy every table it next changes (catalog.Scratch). Tests replace it, to
// compare with copies never dropped (Clone) and with drops made too soon.
var bodyCopy = func(cat *catalog.Catalog) (*catalog.Catalog, func()) {
	scratch := cat.Scratch()
	return scratch, func() { cat.DropScratch(scratch) }
}

// testHookBodyCatalog, set by tests only, sees the catalog each statement
// of procedural code is judged on, before the rules read it.
var testHookBodyCatalog func(*catalog.Catalog)

// newBodyMemo makes each run's memo of the bodies read. Tests replace it,
// to compare with a run that reads every body afresh (a nil memo) and to
// look into the memo.
var newBodyMemo = plpgsql.NewMemo

// innerSuppressions reads the ignore comments written inside a body right
// before one of its statements, at their place in the file.
func innerSuppressions(bs plpgsql.Stmt, lines *sqlscript.Lines) []*suppression {
	return parseSuppressions(bs.Comments, lines)
}

// suppressInner lets an ignore comment written before a DO block or a
// CREATE FUNCTION cover the statements its body runs, which are listed
// after it: the matching findings there are suppressed, and the comment
// counts as used.
func suppressInner(sups []*suppression, inner []Statement) {
	for _, sp := range sups {
		if sp.reason == "" {
			continue
		}
		for i := range inner {
			for j := range inner[i].Findings {
				f := &inner[i].Findings[j]
				for _, id := range sp.rules {
					if f.Rule == id && f.Suppressed == nil {
						f.Suppressed = &Suppression{Reason: sp.reason, Line: sp.line}
						if f.Severity != Danger {
							f.RequiresApproval = false
						}
						sp.used[id] = true
					}
				}
			}
		}
	}
}

// remoteSQL are the functions of the dblink extension that run SQL text on
// a connection: what runs is a string, like EXECUTE's.
var remoteSQL = map[string]bool{"dblink_exec": true, "dblink": true, "dblink_send_query": true, "dblink_open": true}

// checkRemoteSQL reports SQL run through dblink: even a constant string
// runs on a connection the migration opens, maybe to this very database,
// outside its transaction.
func (s *session) checkRemoteSQL(c *stmtContext, run procRun) {
	for _, call := range c.evaluatedCalls() {
		name := call.parts[len(call.parts)-1]
		if !remoteSQL[name] {
			continue
		}
		fd := ruleDynamicSQL.finding(fmt.Sprintf("%s() runs SQL text on another connection (maybe to this same database), outside this migration's transaction and outside this review: review by hand what it runs",
			name))
		fd.Marker = c.at(call.fc.GetLocation())
		s.deliverBody(c, run, fd)
	}
}

// callsAnything says whether an expression calls a function at all.
func callsAnything(n *pg_query.Node) bool {
	found := false
	pgtree.Walk(n, func(x *pg_query.Node) bool {
		found = found || x.GetFuncCall() != nil
		return !found
	})
	return found
}
