package checklist

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/migration-guard/migration-guard/analyzer"
)

// GitLab code quality report: a JSON array of Code Climate issues, of which
// GitLab reads description, check_name, fingerprint, severity and
// location.path with location.lines.begin (docs.gitlab.com, "Code Quality",
// "Implement a custom tool").
type gitlabIssue struct {
	Type        string         `json:"type"`
	Description string         `json:"description"`
	CheckName   string         `json:"check_name"`
	Fingerprint string         `json:"fingerprint"`
	Severity    string         `json:"severity"`
	Categories  []string       `json:"categories"`
	Location    gitlabLocation `json:"location"`
}

type gitlabLocation struct {
	Path  string      `json:"path"`
	Lines gitlabLines `json:"lines"`
}

type gitlabLines struct {
	Begin int `json:"begin"`
	End   int `json:"end,omitempty"`
}

// gitlabSeverity maps a finding to GitLab's scale (info, minor, major,
// critical, blocker). What requires approval is a blocker, so that the merge
// request widget puts it first; a suppressed finding that no longer needs
// approval is shown as info, reviewed already.
func gitlabSeverity(f *analyzer.Finding) string {
	switch {
	case f.RequiresApproval:
		return "blocker"
	case f.Suppressed != nil:
		return "info"
	case f.Severity == analyzer.Danger:
		return "critical"
	case f.Severity == analyzer.Warning:
		return "major"
	}
	return "info"
}

// WriteGitLab writes the report as a GitLab code quality report (artifacts:
// reports: codequality). Fingerprints come from the rule, the path and the
// statement's text, so that an issue keeps its identity when lines move;
// equal statements in one file get an ordinal, as GitLab wants each
// fingerprint once.
func WriteGitLab(w io.Writer, r *analyzer.Report) error {
	issues := []gitlabIssue{}
	seen := map[string]int{}
	for _, l := range r.AllFindings() {
		f := l.Finding
		path, begin, end := l.File.Path, max(f.Marker.Line, 1), 0
		if l.Statement != nil {
			path, begin, end = l.Statement.Path, l.Statement.Start.Line, l.Statement.End.Line
			if f.Marker.Line > 0 {
				begin = f.Marker.Line
			}
		}
		fp := fingerprint("gitlab", f.Rule, path, statementText(l))
		seen[fp]++
		if n := seen[fp]; n > 1 {
			fp = fingerprint("gitlab", f.Rule, path, statementText(l), fmt.Sprint(n))
		}
		desc := f.Message
		switch {
		case f.RequiresApproval:
			desc += " [needs approval]"
		case f.Suppressed != nil:
			desc += " [suppressed: " + f.Suppressed.Reason + "]"
		}
		if end < begin {
			end = 0
		}
		issues = append(issues, gitlabIssue{
			Type: "issue", Description: desc, CheckName: f.Rule, Fingerprint: fp,
			Severity: gitlabSeverity(f), Categories: []string{"Bug Risk"},
			Location: gitlabLocation{Path: path, Lines: gitlabLines{Begin: begin, End: end}},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(issues)
}
