package checklist

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/migration-guard/migration-guard/analyzer"
)

// TextOptions shape the text output.
type TextOptions struct {
	// Color adds ANSI colours; the caller decides (a terminal, NO_COLOR unset).
	Color bool
	// MaxStatementLines caps how much of a long statement is printed.
	MaxStatementLines int
}

type palette struct{ on bool }

func (p palette) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (p palette) severity(s analyzer.Severity) string {
	switch s {
	case analyzer.Danger:
		return p.wrap("1;31", string(s))
	case analyzer.Warning:
		return p.wrap("33", string(s))
	}
	return p.wrap("36", string(s))
}
func (p palette) bold(s string) string { return p.wrap("1", s) }
func (p palette) dim(s string) string  { return p.wrap("2", s) }

// WriteText writes the report for people reading a terminal or a CI log:
// each statement with a finding, its lines, a marker under the part at fault,
// the question, why, and the safe way; then the six-question summary.
func WriteText(w io.Writer, r *analyzer.Report, opt TextOptions) error {
	if opt.MaxStatementLines <= 0 {
		opt.MaxStatementLines = 12
	}
	p := palette{on: opt.Color}
	var b strings.Builder
	if len(r.Files) == 0 {
		b.WriteString("No changed migrations.\n")
	}
	for _, f := range r.Files {
		tx := "no transaction"
		if f.InTransaction {
			tx = "in a transaction"
		}
		fmt.Fprintf(&b, "%s  %s\n", p.bold(f.Path), p.dim(fmt.Sprintf("(%s, %s: %s)", f.Layout, tx, strings.TrimSuffix(f.TransactionReason, "."))))
		for _, fd := range f.Findings {
			writeFinding(&b, p, fd, f.Path, "  ")
		}
		shown := 0
		for _, s := range f.Statements {
			if len(s.Findings) == 0 {
				continue
			}
			shown++
			b.WriteString("\n")
			writeStatement(&b, p, s, opt.MaxStatementLines)
			for _, fd := range s.Findings {
				writeFinding(&b, p, fd, s.Path, "  ")
			}
		}
		if shown == 0 && len(f.Findings) == 0 {
			fmt.Fprintf(&b, "  %s\n", p.dim(fmt.Sprintf("%s, nothing to report", plural(len(f.Statements), "statement", "statements"))))
		}
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	writeSummary(&b, p, r)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeStatement(b *strings.Builder, p palette, s analyzer.Statement, maxLines int) {
	lines := strings.Split(s.SQL, "\n")
	// The first line starts at the statement's column: pad it so that
	// markers line up with the file as it is.
	lines[0] = strings.Repeat(" ", max(s.Start.Column-1, 0)) + lines[0]
	width := len(fmt.Sprint(s.Start.Line + len(lines) - 1))
	markers := map[int][]int{} // line -> columns
	for _, f := range s.Findings {
		if f.Marker.Line >= s.Start.Line && f.Marker.Line <= s.End.Line {
			markers[f.Marker.Line] = append(markers[f.Marker.Line], f.Marker.Column)
		}
	}
	for i, text := range lines {
		line := s.Start.Line + i
		if len(lines) > maxLines && i >= maxLines-2 && i < len(lines)-1 && len(markers[line]) == 0 {
			if i == maxLines-2 {
				fmt.Fprintf(b, "  %*s %s\n", width, "", p.dim("| ..."))
			}
			continue
		}
		text = expandTabs(text)
		fmt.Fprintf(b, "  %s %s %s\n", p.dim(fmt.Sprintf("%*d", width, line)), p.dim("|"), text)
		if cols := markers[line]; len(cols) > 0 {
			fmt.Fprintf(b, "  %*s %s %s\n", width, "", p.dim("|"), p.wrap("1;31", caretLine(lines[i], cols)))
		}
	}
}

// caretLine puts a ^ under each marked column, counting characters and
// expanding tabs the same way as the printed line.
func caretLine(line string, cols []int) string {
	var out []rune
	col := 1
	marked := map[int]bool{}
	for _, c := range cols {
		marked[c] = true
	}
	last := 0
	for _, c := range cols {
		last = max(last, c)
	}
	for _, r := range line {
		if col > last {
			break
		}
		w := 1
		if r == '\t' {
			w = 4
		}
		ch := ' '
		if marked[col] {
			ch = '^'
		}
		for i := 0; i < w; i++ {
			out = append(out, ch)
		}
		col++
	}
	if marked[col] && col > utf8.RuneCountInString(line) {
		out = append(out, '^')
	}
	return strings.TrimRight(string(out), " ")
}

func expandTabs(s string) string { return strings.ReplaceAll(s, "\t", "    ") }

func writeFinding(b *strings.Builder, p palette, f analyzer.Finding, path, indent string) {
	approval := ""
	if f.RequiresApproval {
		approval = "  " + p.bold("[needs approval]")
	}
	if f.Rehearsal != "" {
		approval += "  [rehearsal: " + f.Rehearsal + "]"
	}
	fmt.Fprintf(b, "%s%s %s  Q%d %s%s  %s:%d:%d%s\n", indent, p.severity(f.Severity), p.bold(f.Rule), f.Question, f.Question.Short(), alsoQuestions(f), path, f.Marker.Line, f.Marker.Column, approval)
	if f.Suppressed != nil {
		fmt.Fprintf(b, "%s  %s\n", indent, p.dim(fmt.Sprintf("suppressed at line %d: %s", f.Suppressed.Line, f.Suppressed.Reason)))
	}
	fmt.Fprintf(b, "%s  %s\n", indent, f.Message)
	if f.Why != "" {
		fmt.Fprintf(b, "%s  %s %s\n", indent, p.bold("Why:"), f.Why)
	}
	if f.SafeAlternative != "" {
		fmt.Fprintf(b, "%s  %s\n", indent, p.bold("Safe way:"))
		for _, l := range strings.Split(f.SafeAlternative, "\n") {
			fmt.Fprintf(b, "%s    %s\n", indent, l)
		}
	}
}

func writeSummary(b *strings.Builder, p palette, r *analyzer.Report) {
	b.WriteString(p.bold("Checklist") + "\n")
	for _, q := range Summarize(r) {
		worst := "ok"
		if q.Worst != "" {
			worst = p.severity(analyzer.Severity(q.Worst))
		}
		count := ""
		if q.Count > 0 {
			count = plural(q.Count, "finding", "findings")
		}
		fmt.Fprintf(b, "  %d. %-13s %-7s %s\n", q.Question, q.Title, worst, count)
	}
	n := 0
	for _, l := range r.AllFindings() {
		if l.Finding.RequiresApproval {
			n++
		}
	}
	if n > 0 {
		verb := "needs"
		if n > 1 {
			verb = "need"
		}
		fmt.Fprintf(b, "%s\n", p.wrap("1;31", fmt.Sprintf("%s %s a human's approval before this can merge.", plural(n, "finding", "findings"), verb)))
	} else {
		b.WriteString("Nothing needs approval.\n")
	}
}

// alsoQuestions names the other questions a finding answers, as the
// summary counts them: " (also Q6 Locks)".
func alsoQuestions(f analyzer.Finding) string {
	if len(f.AlsoQuestions) == 0 {
		return ""
	}
	var qs []string
	for _, q := range f.AlsoQuestions {
		qs = append(qs, fmt.Sprintf("Q%d %s", q, q.Short()))
	}
	return " (also " + strings.Join(qs, ", ") + ")"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
