package checklist

import (
	"fmt"
	"io"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer"
)

// WriteGitHubActions writes the report as GitHub Actions workflow commands
// (::error, ::warning, ::notice), which the runner turns into annotations on
// the pull request's files, and ends with a one-line verdict.
func WriteGitHubActions(w io.Writer, r *analyzer.Report) error {
	var b strings.Builder
	approval := 0
	for _, l := range r.AllFindings() {
		f := l.Finding
		var props []string
		path := l.File.Path
		line, col, endLine := max(f.Marker.Line, 1), max(f.Marker.Column, 1), 0
		if l.Statement != nil {
			path, line, col, endLine = l.Statement.Path, l.Statement.Start.Line, l.Statement.Start.Column, l.Statement.End.Line
			if f.Marker.Line > 0 {
				line, col, endLine = f.Marker.Line, max(f.Marker.Column, 1), 0
			}
		}
		props = append(props, "file="+escapeProperty(path), fmt.Sprintf("line=%d", line), fmt.Sprintf("col=%d", col))
		if endLine > line {
			props = append(props, fmt.Sprintf("endLine=%d", endLine))
		}
		title := fmt.Sprintf("migration-guard %s (Q%d %s)", f.Rule, int(f.Question), f.Question.Short())
		if f.RequiresApproval {
			approval++
			title += " needs approval"
		} else if f.Suppressed != nil {
			title += " suppressed"
		}
		props = append(props, "title="+escapeProperty(title))
		msg := f.Message
		if f.Suppressed != nil {
			msg += "\nSuppressed: " + f.Suppressed.Reason
		}
		if f.SafeAlternative != "" {
			msg += "\n\nSafe way:\n" + f.SafeAlternative
		}
		fmt.Fprintf(&b, "::%s %s::%s\n", actionsLevel(f), strings.Join(props, ","), escapeData(msg))
	}
	switch n := len(r.AllFindings()); {
	case n == 0:
		b.WriteString("migration-guard: no findings\n")
	default:
		fmt.Fprintf(&b, "migration-guard: %d findings, %d need a human's approval\n", n, approval)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// actionsLevel: what needs approval is an error even when its severity is
// lower, so that the annotation reads as blocking as the verdict is.
func actionsLevel(f *analyzer.Finding) string {
	switch {
	case f.RequiresApproval, f.Suppressed == nil && f.Severity == analyzer.Danger:
		return "error"
	case f.Suppressed == nil && f.Severity == analyzer.Warning:
		return "warning"
	}
	return "notice"
}

// escapeData escapes a workflow command's message as the runner unescapes
// it (actions/toolkit, command.ts): % first, then CR and LF.
func escapeData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// escapeProperty escapes a property value: as data, plus the ':' and ','
// that separate properties.
func escapeProperty(s string) string {
	s = escapeData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}
