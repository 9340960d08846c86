package rehearse

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// Rehearse rehearses the report's changed files over the base of req on
// srv and marks the report with what PostgreSQL did.
func Rehearse(ctx context.Context, srv *Server, req analyzer.Request, rep *analyzer.Report, opt Options) (*Result, error) {
	in := Input{Changes: Changes(rep)}
	if req.Base != nil {
		locs := make([]layout.Location, len(req.Config.Migrations))
		for i, m := range req.Config.Migrations {
			m.Path = strings.Trim(path.Clean(m.Path), "/")
			locs[i] = m
		}
		set, err := layout.Discover(req.Base, locs)
		if err != nil {
			return nil, fmt.Errorf("finding the migrations at the base: %w", err)
		}
		skip := map[string]bool{}
		for _, f := range rep.Files {
			skip[f.Path] = true
		}
		in.Base, in.BaseKey = BaseParts(set.Migrations, skip, req.Config.MaxFileBytes)
	}
	res, err := Run(ctx, srv, in, opt)
	if err != nil {
		return nil, err
	}
	Annotate(rep, res)
	return res, nil
}

// Annotate adds what the rehearsal found to the report: the findings only
// a run can give, and confirmed or contradicted on each prediction of locks,
// rewrites and scans it checked.
func Annotate(rep *analyzer.Report, res *Result) {
	note := fmt.Sprintf("rehearsed on a throwaway PostgreSQL: %d base migrations applied in %d ms", res.BaseMigrations, res.BaseTime.Milliseconds())
	if res.BaseCached {
		note = fmt.Sprintf("rehearsed on a throwaway PostgreSQL: %d base migrations copied from a cached template", res.BaseMigrations)
	}
	if res.NotRehearsed != "" {
		note = "not rehearsed: " + strings.TrimPrefix(res.NotRehearsed, "not rehearsed: ")
	}
	rep.Notes = append(rep.Notes, note)
	if res.Rows > 0 {
		rep.Notes = append(rep.Notes, fillNote(res))
	}
	for i := range rep.Files {
		if i >= len(res.Files) {
			break
		}
		annotateFile(&rep.Files[i], &res.Files[i])
		if rb := res.Files[i].RolledBack; rb != "" {
			rep.Notes = append(rep.Notes, "rehearsal: "+rb)
		}
		if res.Rows <= 0 {
			continue
		}
		for _, sr := range res.Files[i].Statements {
			if sr.Phase == "up" && sr.Error == nil && sr.Index >= 0 && sr.Index < len(rep.Files[i].Statements) {
				if n := timingNote(res.Rows, &rep.Files[i].Statements[sr.Index], sr); n != "" {
					rep.Notes = append(rep.Notes, n)
				}
			}
		}
	}
}

func fillNote(res *Result) string {
	s := fmt.Sprintf("rehearsal with %d generated rows in each of %d tables", res.Rows, len(res.Filled))
	if len(res.NotFilled) > 0 {
		var names []string
		for t, why := range res.NotFilled {
			names = append(names, t+" ("+why+")")
		}
		sort.Strings(names)
		s += "; not filled: " + strings.Join(names, "; ")
	}
	return s
}

// timingNote turns a statement's measured time over the generated rows into
// an estimate for production's row count, beside the static estimate.
func timingNote(rows int, st *analyzer.Statement, sr StatementResult) string {
	switch st.Work {
	case "rewrite", "scan", "index-build", "backfill":
	default:
		return ""
	}
	s := fmt.Sprintf("%s:%d: %s took %s over %d generated rows", st.Path, st.Start.Line, st.Work, sr.Duration.Round(time.Millisecond), rows)
	if e := st.Estimate; e != nil && e.Rows > 0 {
		est := time.Duration(float64(sr.Duration) * float64(e.Rows) / float64(rows))
		s += fmt.Sprintf("; at %s's %d rows about %s at that rate (static estimate %s to %s)", e.Relation, e.Rows, est.Round(time.Millisecond),
			(time.Duration(e.LowMS) * time.Millisecond).String(), (time.Duration(e.HighMS) * time.Millisecond).String())
	}
	return s
}

func annotateFile(f *analyzer.File, fr *FileResult) {
	for _, sr := range fr.Statements {
		if sr.Phase != "up" || sr.Index < 0 || sr.Index >= len(f.Statements) {
			continue
		}
		st := &f.Statements[sr.Index]
		if sr.Error != nil {
			continue
		}
		judgeStatement(st, sr)
	}
	if e := fr.Failed; e != nil && e.Kind == "fails" {
		msg := fmt.Sprintf("PostgreSQL refused this statement at %s:%d: %s", e.Path, e.Line, pgMessage(e))
		if len(fr.Run) > 1 {
			msg += fmt.Sprintf("; the tool runs this file in one transaction with the other pending migrations of the run (%s), so the whole run rolls back",
				strings.Join(others(fr.Run, fr.Path), ", "))
		}
		fd := finding(analyzer.RuleRehearsalFails, msg)
		fd.Marker = analyzer.Position{Line: e.Line, Column: 1}
		if st := statementAt(f, fr, e); st != nil {
			st.Findings = append(st.Findings, fd)
		} else {
			f.Findings = append(f.Findings, fd)
		}
	}
	if fr.NotRehearsed != "" {
		f.Findings = append(f.Findings, finding(analyzer.RuleNotRehearsed, fr.NotRehearsed))
	}
	if e := fr.DownFailed; e != nil {
		fd := finding(analyzer.RuleRehearsalDownRestore, fmt.Sprintf("the down part fails after the up part: PostgreSQL refused %s:%d: %s", e.Path, e.Line, pgMessage(e)))
		fd.Marker = analyzer.Position{Line: e.Line, Column: 1}
		f.Findings = append(f.Findings, fd)
	}
	if len(fr.DownDifferences) > 0 {
		f.Findings = append(f.Findings, finding(analyzer.RuleRehearsalDownRestore,
			"after the up and down parts the schema differs from the schema before them:\n- "+strings.Join(fr.DownDifferences, "\n- ")))
	}
	if e := fr.AgainFailed; e != nil {
		fd := finding(analyzer.RuleRehearsalDownRestore, fmt.Sprintf("the up part fails when run again after the down part: PostgreSQL refused %s:%d: %s", e.Path, e.Line, pgMessage(e)))
		fd.Marker = analyzer.Position{Line: e.Line, Column: 1}
		f.Findings = append(f.Findings, fd)
	}
}

func others(all []string, self string) []string {
	var out []string
	for _, p := range all {
		if p != self {
			out = append(out, p)
		}
	}
	return out
}

func statementAt(f *analyzer.File, fr *FileResult, e *Error) *analyzer.Statement {
	for _, sr := range fr.Statements {
		if sr.Error == e && sr.Index >= 0 && sr.Index < len(f.Statements) {
			return &f.Statements[sr.Index]
		}
	}
	return nil
}

func pgMessage(e *Error) string {
	s := e.Message
	if e.SQLState != "" {
		s += " (SQLSTATE " + e.SQLState + ")"
	}
	if e.Detail != "" {
		s += "; " + e.Detail
	}
	if e.Hint != "" {
		s += "; hint: " + e.Hint
	}
	return s
}

func finding(r analyzer.Rule, msg string) analyzer.Finding {
	return analyzer.Finding{Rule: r.ID, Question: r.Question, Severity: r.Severity, RequiresApproval: true, Message: msg, Why: r.Why}
}

var modeRank = map[string]int{
	"ACCESS SHARE": 1, "ROW SHARE": 2, "ROW EXCLUSIVE": 3, "SHARE UPDATE EXCLUSIVE": 4,
	"SHARE": 5, "SHARE ROW EXCLUSIVE": 6, "EXCLUSIVE": 7, "ACCESS EXCLUSIVE": 8,
}

func relKey(s string) string { return strings.ToLower(strings.ReplaceAll(s, `"`, "")) }

// judgeStatement compares a statement's predicted locks and work with what
// PostgreSQL did, marks the findings that predicted them and adds a
// finding for each difference.
func judgeStatement(st *analyzer.Statement, sr StatementResult) {
	predicted := map[string]string{}
	for _, l := range st.Locks {
		if !l.Existing {
			continue
		}
		k := relKey(l.Relation)
		if modeRank[l.Mode] > modeRank[predicted[k]] {
			predicted[k] = l.Mode
		}
	}
	observed := map[string]string{}
	for _, l := range sr.Locks {
		k := relKey(l.Relation)
		if modeRank[l.Mode] > modeRank[observed[k]] {
			observed[k] = l.Mode
		}
	}
	heldModes := map[string]bool{}
	for _, l := range sr.Held {
		heldModes[relKey(l.Relation)+"\x00"+l.Mode] = true
	}
	var more, less []string
	checked := false
	for rel, mode := range predicted {
		checked = true
		got := observed[rel]
		switch {
		case modeRank[got] <= modeRank[mode] && heldModes[rel+"\x00"+mode]:
			// Held after the statement: an earlier statement of the
			// transaction may have taken the same mode first.
		case !sr.InTransaction && modeRank[got] <= modeRank[mode]:
			// Sampled while running: a short lock can be missed, so
			// only a stronger lock than predicted is a finding.
		case got == "":
			less = append(less, fmt.Sprintf("predicted %s on %s, PostgreSQL took no lock on it", mode, rel))
		case modeRank[got] > modeRank[mode]:
			more = append(more, fmt.Sprintf("predicted %s on %s, PostgreSQL took %s", mode, rel, got))
		case modeRank[got] < modeRank[mode]:
			less = append(less, fmt.Sprintf("predicted %s on %s, PostgreSQL took only %s", mode, rel, got))
		}
	}
	if len(predicted) > 0 {
		// A blocking lock on a relation the prediction did not name.
		for rel, mode := range observed {
			if _, ok := predicted[rel]; !ok && modeRank[mode] >= modeRank["SHARE"] && sr.relationIsTable(rel) {
				more = append(more, fmt.Sprintf("PostgreSQL took %s on %s, which was not predicted", mode, rel))
			}
		}
	}
	didRewrite := len(sr.Rewrites) > 0
	// A scan matters to question 6 only under a lock that blocks writes: a
	// query's read under ACCESS SHARE or ROW SHARE holds up nobody.
	var blockingScans []string
	for _, t := range sr.Scans {
		if modeRank[observed[relKey(t)]] >= modeRank["SHARE"] {
			blockingScans = append(blockingScans, t)
		}
	}
	didScan := len(sr.Scans) > 0
	switch st.Work {
	case "rewrite":
		checked = true
		if !didRewrite {
			less = append(less, "predicted a rewrite, PostgreSQL kept every table's file (metadata change"+scanNote(sr)+")")
		}
	case "scan", "index-build", "backfill":
		checked = true
		if didRewrite {
			more = append(more, fmt.Sprintf("predicted %s, PostgreSQL rewrote %s", st.Work, strings.Join(sr.Rewrites, ", ")))
		} else if sr.InTransaction && !didScan {
			less = append(less, fmt.Sprintf("predicted %s, PostgreSQL read no table whole", st.Work))
		}
	case "metadata":
		checked = true
		if didRewrite {
			more = append(more, fmt.Sprintf("predicted a metadata-only change, PostgreSQL rewrote %s", strings.Join(sr.Rewrites, ", ")))
		} else if len(blockingScans) > 0 {
			more = append(more, fmt.Sprintf("predicted a metadata-only change, PostgreSQL scanned %s under a lock that blocks writes", strings.Join(blockingScans, ", ")))
		}
	}
	if !checked {
		return
	}
	sort.Strings(more)
	sort.Strings(less)
	verdict := "confirmed"
	if len(more)+len(less) > 0 {
		verdict = "contradicted"
	}
	for i := range st.Findings {
		fd := &st.Findings[i]
		if predicts(fd) {
			fd.Rehearsal = verdict
		}
	}
	if len(more) > 0 {
		fd := finding(analyzer.RuleRehearsalContradicts, "PostgreSQL did more than predicted, the prediction understated the risk: "+strings.Join(more, "; "))
		fd.Rehearsal = "contradicted"
		st.Findings = append(st.Findings, fd)
	}
	if len(less) > 0 {
		fd := finding(analyzer.RuleRehearsalContradicts, "PostgreSQL did less than predicted, the prediction was too cautious: "+strings.Join(less, "; "))
		fd.Severity, fd.RequiresApproval, fd.Rehearsal = analyzer.Info, false, "contradicted"
		st.Findings = append(st.Findings, fd)
	}
}

func scanNote(sr StatementResult) string {
	if len(sr.Scans) > 0 {
		return " after scanning " + strings.Join(sr.Scans, ", ")
	}
	return " only"
}

// relationIsTable says whether rel was locked as a table.
func (sr StatementResult) relationIsTable(rel string) bool {
	for _, l := range sr.Locks {
		if relKey(l.Relation) == rel {
			return l.Kind == "table"
		}
	}
	return false
}

// predicts is true for findings whose claim a rehearsal observes: locks,
// rewrites and scans (question 6, and type changes that rewrite).
func predicts(f *analyzer.Finding) bool {
	if f.Question == analyzer.QLocks || f.Question == analyzer.QTypes {
		return true
	}
	for _, q := range f.AlsoQuestions {
		if q == analyzer.QLocks {
			return true
		}
	}
	return false
}
