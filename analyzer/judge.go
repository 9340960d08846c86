package analyzer

import (
	"context"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

type judgeOptions struct {
	up, down      bool // which parts the change touched
	existedAtBase bool
	// inRun: the migration is pending, so the tool applies it in the same
	// run as the other pending ones of its folder (drizzle: in one
	// transaction).
	inRun bool
	// applied holds the normalized text of the statements the base version
	// of an edited migration already had: they ran, and were replayed.
	applied map[string]bool
}

// stmtContext is what a rule sees of one statement.
type stmtContext struct {
	// cfg and mig are pointers: a context is copied for every statement
	// procedural code runs (innerStatement), and neither changes.
	cfg   *Config
	cat   *catalog.Catalog // the schema just before the statement
	mig   *layout.Migration
	file  *File
	stmt  *Statement
	node  *pg_query.Node
	raw   sqlscript.Statement
	lines *sqlscript.Lines
	text  string
	part  string // "up" or "down"
	inTx  bool
	// fileTx is the transaction mode the tool runs the file with.
	fileTx layout.TxMode
	// txStartLine is the line of the first statement of the transaction
	// this statement runs in.
	txStartLine int
	// tx names the transaction the statement runs in, "" outside one. It is
	// the same for every statement of a transaction, across the files of
	// one run when the tool runs them in one (drizzle).
	tx string
	// run is what the rules remember across statements and files.
	run *runState
	// stats are production table sizes, nil when unknown.
	stats *prodstats.File
	// ps carries the lock rules' memory across the statements of a part.
	ps *partState
	// ctx and dataProbe are set when production data may be counted.
	ctx       context.Context
	dataProbe DataProbe
	// src is set for a statement that procedural code runs: the text its
	// parse tree's locations count in, mapped to the file (see procedural.go).
	src *plpgsql.Source
	// guarded is set for a statement of procedural code inside a BEGIN ...
	// EXCEPTION block: its error may be caught.
	guarded bool
	// calls keeps evaluatedCalls's walk of node; innerCalls, set for
	// statements of procedural code, keeps those of every such statement
	// for the run (session.innerCalls).
	calls      callsOfNode
	innerCalls map[*pg_query.Node][]evaluatedCall
}

// report adds a finding to the statement; findings about objects created in
// the same change are lowered by the rule before calling.
func (c *stmtContext) report(f Finding) {
	if c.part == "down" {
		// Down parts run only on rollback: worth reading, never a reason to
		// hold a merge.
		f.Severity = Info
		f.Message = "(down migration) " + f.Message
	}
	f.RequiresApproval = c.cfg.NeedsApproval(f.Severity)
	if f.Marker.Line == 0 {
		f.Marker = c.stmt.Start
	}
	c.stmt.Findings = append(c.stmt.Findings, f)
}

// at returns the file position of a parse-tree location.
func (c *stmtContext) at(location int32) Position {
	if location < 0 {
		return Position{}
	}
	off := c.raw.LocationBase + int(location)
	if c.src != nil {
		off = c.src.At(int(location))
	}
	line, col := c.lines.Position(off)
	return Position{Line: line, Column: col}
}

// statementRule inspects one parsed statement.
type statementRule func(c *stmtContext)

// statementRules run in this order for every parsed statement of a changed
// migration, before the statement is applied to the catalog.
var statementRules = []statementRule{
	// First: what psql interpolates changes what the others read.
	checkPsqlVariables,
	checkDrops,
	checkDestructiveFunctions,
	checkTypes,
	checkConstraints,
	// After checkConstraints, which says when an ADD COLUMN fails.
	checkExistingRows,
	checkRenames,
	checkNonTransactional,
	checkEnumInTransaction,
	checkMore,
	checkFailsAgainstSchema,
	// Last: it adds its figures to what the others found.
	checkLocks,
}

// downPartRules run over down parts.
var downPartRules = []statementRule{
	checkPsqlVariables,
	checkNonTransactional,
}

// judge analyzes one changed migration and applies its up part to the catalog.
func (s *session) judge(m layout.Migration, opt judgeOptions, p *parsedFile) File {
	f := File{Path: m.Path, Layout: string(m.Kind), Version: m.Version, DownPath: m.DownPath, Statements: []Statement{}, Findings: []Finding{}, BlobSHA: m.BlobSHA}
	if m.Unreadable != "" {
		// The tool runs it; migration-guard could not read or follow it.
		f.Findings = append(f.Findings, s.fileFinding(ruleUnreadableFile, fmt.Sprintf(
			"%s cannot be checked: %s; %s runs it all the same, so a person must read it", m.Path, m.Unreadable, m.Kind), Position{Line: 1, Column: 1}))
		return f
	}
	if derr := p.derr; derr != nil {
		f.Findings = append(f.Findings, s.fileFinding(ruleUnreadableFile, derr.Message, Position{Line: derr.Line, Column: derr.Column}))
		return f
	}
	d, up, down := p.d, p.up, p.down
	s.bodies, s.bare, s.fileCalls = p.bodies, p.bare, p.calls
	defer func() { s.bodies, s.bare, s.fileCalls = nil, nil, nil }()
	for _, pr := range append(p.problems, m.Problems...) {
		if pr.Path == "" || pr.Path == m.Path || pr.Path == m.DownPath {
			r := ruleLayoutProblem
			if pr.RunTimeText {
				// SQL filled in at run time, as EXECUTE of a built string.
				r = ruleDynamicSQL
			}
			f.Findings = append(f.Findings, s.fileFinding(r, pr.Message, Position{Line: max(pr.Line, 1), Column: 1}))
		}
	}
	f.TransactionMode, f.TransactionReason = string(up.Tx), up.TxReason
	s.runTx = ""
	if opt.inRun && up.TxAcrossRun {
		s.runTx = "run:" + path.Dir(m.Path)
	}
	defer func() { s.runTx = "" }()
	// Flyway runs a repeatable (R__) migration again, whole, whenever its
	// checksum changes: editing one is how it is meant to be used.
	if opt.existedAtBase && opt.up && !m.Repeatable {
		f.Findings = append(f.Findings, s.fileFinding(ruleEditedMigration,
			"this file exists on the base branch and was edited; databases that already ran it will not run it again", Position{Line: 1, Column: 1}))
	}

	lines := p.lines
	// The session (search_path, role) is the caller's to reset: tools that
	// run a whole run over one connection carry it from file to file.
	// The schema before the up part, to check that the down part undoes it.
	var beforeUp *catalog.Snapshot
	if opt.up && down != nil {
		snap := s.cat.Snapshot()
		beforeUp = &snap
	}
	if opt.up {
		upScript := p.upScript
		f.InTransaction = s.judgePart(&f, m, upScript, lines, d.Text, "up", up.Tx, s.cat, opt.applied)
		// dbmate runs each further "-- migrate:up" section of the file on its own.
		for i, sec := range m.More {
			inTx := s.judgePart(&f, m, p.sections[i], lines, d.Text, "up", sec.Up.Tx, s.cat, opt.applied)
			f.InTransaction = f.InTransaction && inTx
		}
		f.UpDigest = p.upDigest
		// Flyway's undo migrations are a paid edition's feature that few
		// teams use: asking for them on every file would be noise.
		if m.SupportsDown && m.Down == nil && !m.Repeatable && m.Kind != layout.Flyway && changesAnything(upScript) && !s.skipMissingDown() {
			f.Findings = append(f.Findings, s.fileFinding(ruleMissingDown, fmt.Sprintf(
				"this file has no down migration, so %s cannot roll it back", m.Kind), Position{Line: 1, Column: 1}))
		}
	}
	// When only the down part changed, the up part is already in the schema
	// from the base replay.
	if down == nil || !opt.down {
		return f
	}
	if derr := p.downDerr; derr != nil {
		fd := s.fileFinding(ruleUnreadableFile, m.DownPath+": "+derr.Message, Position{Line: derr.Line, Column: derr.Column})
		fd.Severity, fd.RequiresApproval = Warning, false
		f.Findings = append(f.Findings, fd)
		return f
	}
	downText, downLines, downScript := p.downText, p.downLines, p.downScript
	down = p.downPart
	// The down part runs on a scratch copy, dropped once compared: the
	// schema goes on from the up part, and changes in place again what
	// the up part made (Settle, next, marks it as existing).
	scratch := s.cat.Scratch()
	scratch.ResetSession()
	s.judgePart(&f, m, downScript, downLines, downText, "down", down.Tx, scratch, nil)
	if beforeUp != nil && parsedWhole(downScript) && !hasSyntaxErrors(&f) {
		if diffs := schemaDifferences(*beforeUp, scratch, 5); len(diffs) > 0 {
			line, _ := downLines.Position(down.Start)
			fd := s.fileFinding(ruleDownIncomplete, fmt.Sprintf("applying the up part and then the down part does not give back the schema: %s", strings.Join(diffs, "; ")),
				Position{Line: max(line, 1), Column: 1})
			fd.RequiresApproval = false
			f.Findings = append(f.Findings, fd)
		}
	}
	s.cat.DropScratch(scratch)
	return f
}

// parsedWhole says every statement of a part parsed: only then can its
// effect on the schema be known.
func parsedWhole(sc *sqlscript.Script) bool {
	if len(sc.MetaCommands) > 0 {
		return false
	}
	for _, st := range sc.Statements {
		if st.Node == nil {
			return false
		}
	}
	return true
}

func hasSyntaxErrors(f *File) bool {
	for _, st := range f.Statements {
		for _, fd := range st.Findings {
			if fd.Rule == ruleSyntaxError.ID || fd.Rule == ruleGrammarTooOld.ID || fd.Rule == rulePsqlMetaCommand.ID {
				return true
			}
		}
	}
	return false
}

// judgePart runs the rules over one part and applies it to cat. It returns
// whether every statement ran inside a transaction.
func (s *session) judgePart(f *File, m layout.Migration, sc *sqlscript.Script, lines *sqlscript.Lines, text, part string, mode layout.TxMode, cat *catalog.Catalog, applied map[string]bool) bool {
	partPath := m.Path
	if part == "down" && m.DownPath != "" {
		partPath = m.DownPath
	}
	mode, modeFindings, refused := s.effectiveTxMode(m, mode, sc.Statements)
	before := catalogBeforeDrops(sc.Statements, cat)
	if part == "up" {
		f.TransactionMode = string(mode)
	}
	states, txStarts, txFindings := transactionStates(mode, sc.Statements, m.Kind)
	for i, fd := range modeFindings {
		txFindings[i] = append(txFindings[i], fd...)
	}
	allInTx := len(sc.Statements) > 0
	ps := newPartState()
	acrossRun := s.runTx != "" && part == "up" && mode == layout.TxWrapped
	if acrossRun {
		// One transaction holds every pending migration of the run: what
		// the lock rules remember carries over from file to file.
		if s.run.parts[s.runTx] == nil {
			s.run.parts[s.runTx] = newPartState()
		}
		ps = s.run.parts[s.runTx]
		f.RunTransaction = s.runTx
	}
	index := make([]int, len(sc.Statements)) // where each statement landed in f.Statements
	// Each statement is built, and judged through its context, in one
	// Statement and one stmtContext made once per part and set anew for
	// every statement: nothing keeps either past its statement (the
	// statement is copied into f.Statements, which grows once for the
	// part's own statements; those procedural code runs come on top).
	st, c := new(Statement), new(stmtContext)
	f.Statements = slices.Grow(f.Statements, len(sc.Statements))
	txNamed, txName := -1, ""
	for i, raw := range sc.Statements {
		if s.judged++; s.maxStatements > 0 && s.judged > s.maxStatements {
			s.overLimit = true
		}
		if s.expired() {
			// Analyze reports the deadline or the limit; what was judged
			// so far is dropped.
			return false
		}
		index[i] = -1
		*st = Statement{Path: partPath, Part: part, SQL: raw.SQL, InTx: states[i], Findings: []Finding{}, startByte: raw.Start, Settings: cat.Settings()}
		st.Start.Line, st.Start.Column = lines.Position(raw.Start)
		st.End.Line, st.End.Column = lines.Position(raw.End)
		allInTx = allInTx && states[i]
		*c = stmtContext{cfg: &s.cfg, cat: cat, mig: &m, file: f, stmt: st, node: raw.Node, raw: raw, lines: lines, text: text, part: part, inTx: states[i], fileTx: mode,
			stats: s.stats, ps: ps, ctx: s.ctx, dataProbe: s.probe, run: s.run}
		if calls, ok := s.fileCalls[raw.Node]; ok {
			c.calls = callsOfNode{node: raw.Node, calls: calls, known: true}
		}
		if txStarts[i] >= 0 {
			c.txStartLine, _ = lines.Position(sc.Statements[txStarts[i]].Start)
		}
		if states[i] && txStarts[i] >= 0 {
			if txStarts[i] != txNamed {
				// Named once per transaction: every statement of it
				// carries the same name.
				txNamed, txName = txStarts[i], fmt.Sprintf("%s:%s@%d", partPath, part, sc.Statements[txStarts[i]].Start)
			}
			c.tx = txName
			if acrossRun && txStarts[i] == 0 {
				c.tx = s.runTx
			}
		}
		if raw.ParseError != nil {
			line, col := lines.Position(raw.ParseError.Offset)
			c.report(parseErrorFinding(s.cfg.PostgresVersion, raw.ParseError, line, col))
			index[i] = len(f.Statements)
			f.Statements = append(f.Statements, *st)
			continue
		}
		st.Kind = nodeKind(raw.Node)
		// (Without a base version there is nothing to look up: the text,
		// a whole function's for some, is not folded for nothing.)
		if len(applied) > 0 && applied[normalizedSQL(raw.SQL)] {
			// Unchanged by the edit: it ran already and is in the catalog.
			index[i] = len(f.Statements)
			f.Statements = append(f.Statements, *st)
			continue
		}
		for _, tf := range txFindings[i] {
			c.report(tf)
		}
		rules := statementRules
		if part == "down" {
			// Down parts run only on rollback and undo the up part by
			// nature (the down of a CREATE TABLE is a DROP TABLE): only
			// whether they can run at all is worth saying.
			rules = downPartRules
		}
		for _, rule := range rules {
			rule(c)
		}
		st.Objects = statementObjects(c)
		line, _ := lines.Position(raw.Start)
		cat.SetPosition(partPath, line)
		// What a DO block, a function body or a called function runs.
		inner := s.judgeProcedural(c, rules)
		sups := parseSuppressions(raw.CommentsBefore, lines)
		suppressInner(sups, inner)
		applySuppressions(c, sups)
		cat.SetPosition(partPath, line)
		s.applyOwn(cat, raw.Node)
		index[i] = len(f.Statements)
		f.Statements = append(f.Statements, *st)
		f.Statements = append(f.Statements, inner...)
	}
	reported := make([]*Statement, len(index))
	for i, at := range index {
		if at >= 0 {
			reported[i] = &f.Statements[at]
		}
	}
	foldReplacedDrops(s.cfg, reported, sc.Statements, states, txStarts, before, cat)
	foldIntoLaterDrop(reported)
	foldExistingRows(reported, f.Statements)
	if !refused {
		checkStatementsWithoutTransaction(f, sc.Statements, states, reported, s.cfg)
	}
	if open := unclosedTransaction(mode, sc.Statements); open >= 0 && reported[open] != nil {
		c := &stmtContext{cfg: &s.cfg, stmt: reported[open], part: part}
		c.report(ruleBeginWithoutCommit.finding(beginWithoutCommitMessage(mode, m.Kind)))
	}
	for _, mc := range sc.MetaCommands {
		s.reportMetaCommand(f, partPath, part, mc, lines)
	}
	return allInTx
}

// effectiveTxMode settles modes that depend on the statements: Flyway runs a
// script without a transaction when one of its statements cannot run in one,
// and refuses a script that mixes both kinds unless mixed is set (refused:
// the script never runs, so nothing can half-apply).
func (s *session) effectiveTxMode(m layout.Migration, mode layout.TxMode, stmts []sqlscript.Statement) (layout.TxMode, map[int][]Finding, bool) {
	if mode != layout.TxAutoNonTx {
		return mode, nil, false
	}
	nonTx, other := -1, -1
	for i, st := range stmts {
		if st.Node == nil || st.Node.GetTransactionStmt() != nil {
			continue
		}
		if flywayNonTransactional(st.Node, s.cfg.PostgresVersion) != "" {
			if nonTx < 0 {
				nonTx = i
			}
		} else if changesSomething(st.Node) && other < 0 {
			other = i
		}
	}
	if nonTx < 0 {
		return layout.TxWrapped, nil, false
	}
	found := map[int][]Finding{}
	if other >= 0 && !m.Up.Mixed {
		what := flywayNonTransactional(stmts[nonTx].Node, s.cfg.PostgresVersion)
		fd := ruleCannotRunInTransaction.finding(fmt.Sprintf(
			"%s cannot run in a transaction, and the script also holds statements that can: Flyway refuses such a migration unless mixed=true, and the deploy fails", what))
		fd.SafeAlternative = ownMigrationWithoutTransaction(layout.Flyway, strings.TrimSpace(stmts[nonTx].SQL))
		found[nonTx] = append(found[nonTx], fd)
		return layout.TxNone, found, true
	}
	return layout.TxNone, found, false
}

// changesAnything says a part holds at least one statement that changes
// schema or data.
func changesAnything(sc *sqlscript.Script) bool {
	for _, st := range sc.Statements {
		if changesSomething(st.Node) {
			return true
		}
	}
	return false
}

// fileFinding is a finding about the file as a whole.
func (s *session) fileFinding(r Rule, message string, at Position) Finding {
	fd := r.finding(message)
	fd.Marker = at
	fd.RequiresApproval = s.cfg.NeedsApproval(fd.Severity)
	return fd
}

// reportMetaCommand records a psql backslash command as a statement of its own,
// so that it is shown where it stands.
func (s *session) reportMetaCommand(f *File, path, part string, mc sqlscript.MetaCommand, lines *sqlscript.Lines) {
	st := Statement{Path: path, Part: part, SQL: mc.Text, Findings: []Finding{}, startByte: mc.Start}
	st.Start.Line, st.Start.Column = lines.Position(mc.Start)
	st.End.Line, st.End.Column = lines.Position(mc.End)
	r := rulePsqlMetaCommand
	msg := fmt.Sprintf("%s is a psql command, not SQL: only psql understands it; %s sends statements to the server, which rejects it", mc.Text, toolName(f.Layout))
	if f.Layout == string(layout.Plain) || f.Layout == string(layout.Sqitch) {
		msg = fmt.Sprintf("%s is a psql command, not SQL: the analysis cannot see what it does", mc.Text)
	}
	fd := r.finding(msg)
	switch mc.Name {
	case "i", "ir", "include", "include_relative", "!", "gexec", "copy":
		// These run SQL or shell commands that the file does not show.
		fd.Severity = Danger
		fd.Message += "; it runs SQL or commands that are not in this file and were not reviewed"
	}
	c := &stmtContext{cfg: &s.cfg, stmt: &st, part: part}
	c.report(fd)
	// Keep statements in file order.
	at := len(f.Statements)
	for i := range f.Statements {
		if f.Statements[i].Path == path && f.Statements[i].startByte > mc.Start {
			at = i
			break
		}
	}
	f.Statements = append(f.Statements, Statement{})
	copy(f.Statements[at+1:], f.Statements[at:])
	f.Statements[at] = st
}

func toolName(kind string) string {
	if kind == "" {
		return "the migration tool"
	}
	return kind
}

// nodeKind names a statement's parse-tree node, e.g. "AlterTableStmt".
func nodeKind(n *pg_query.Node) string {
	if n == nil || n.GetNode() == nil {
		return ""
	}
	// The name of the wrapper's type, read through reflect: formatting
	// it with %T (*pg_query.Node_AlterTableStmt) allocated for every
	// statement.
	if t := reflect.TypeOf(n.GetNode()); t.Kind() == reflect.Pointer && t.Elem().PkgPath() == pgQueryPath {
		if name, ok := strings.CutPrefix(t.Elem().Name(), "Node_"); ok {
			return name
		}
	}
	name := fmt.Sprintf("%T", n.GetNode())
	name = strings.TrimPrefix(name, "*pg_query.Node_")
	return name
}

// pgQueryPath is the import path of the package of the parse tree's types.
var pgQueryPath = reflect.TypeOf(pg_query.Node{}).PkgPath()
