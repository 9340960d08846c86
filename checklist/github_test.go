package checklist

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/migration-guard/migration-guard/analyzer"
)

const (
	testHead = "0123456789abcdef0123456789abcdef01234567"
	testBase = "fedcba9876543210fedcba9876543210fedcba98"
)

// TestGitHubGolden pins every text the App posts for the bundled example.
func TestGitHubGolden(t *testing.T) {
	rep := shopReport(t)
	ctx := CheckContext{HeadSHA: testHead, BaseSHA: testBase}

	out := CheckRunOutput(rep, ctx)
	golden(t, "github/check_title.txt", []byte(out.Title+"\n"))
	golden(t, "github/check_summary.md", []byte(out.Summary))
	golden(t, "github/check_text.md", []byte(out.Text))

	anns, err := json.MarshalIndent(Annotations(rep), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "github/annotations.json", append(anns, '\n'))

	var inline strings.Builder
	for i, f := range Fingerprints(rep) {
		if f.Statement == nil || f.Finding.Severity.Rank() < analyzer.Warning.Rank() {
			continue
		}
		fmt.Fprintf(&inline, "===== %s:%d (suggestion: %v)\n", f.Statement.Path, f.Statement.Start.Line, i%2 == 0)
		inline.WriteString(InlineComment(f, i%2 == 0))
	}
	golden(t, "github/inline_comments.md", []byte(inline.String()))

	first := InlineComment(Fingerprints(rep)[2], true)
	golden(t, "github/inline_resolved.md", []byte(ResolvedInlineComment(first, testHead)))

	golden(t, "github/sticky.md", []byte(StickyComment(rep, ctx)))
	golden(t, "github/sticky_nothing_left.md", []byte(StickyNothingLeft(testHead)))

	var other strings.Builder
	for _, o := range []CheckOutput{
		NoMigrationsOutput(ctx),
		NoMigrationsOutput(CheckContext{ChangedFiles: 3200, ListedFiles: 3000}),
		ConfigErrorOutput(analyzer.ConfigPath, testBase, "line 2: field migratons not found in type analyzer.Config"),
		FailureOutput("listing the changed files: GET /repos/acme/billing/pulls/7/files: 502"),
		SupersededOutput(testHead),
		InProgressOutput(),
	} {
		fmt.Fprintf(&other, "===== %s\n%s\n-----\n%s\n", o.Title, o.Summary, o.Text)
	}
	fmt.Fprintf(&other, "===== reviews\n%s\n%s\n", ReviewBody(1, 1, 1), ReviewBody(70, 2, 3))
	golden(t, "github/other_outputs.md", []byte(other.String()))
}

func TestConclusion(t *testing.T) {
	rep := shopReport(t)
	if got := Conclusion(rep); got != "action_required" {
		t.Errorf("report needing approval: %s", got)
	}
	if got := Conclusion(&analyzer.Report{}); got != "success" {
		t.Errorf("empty report: %s", got)
	}
}

func TestFingerprintsIgnoreLinesAndSpelling(t *testing.T) {
	report := func(sql string, line int) *analyzer.Report {
		return &analyzer.Report{Files: []analyzer.File{{
			Path: "db/001.sql",
			Statements: []analyzer.Statement{{
				Path: "db/001.sql", SQL: sql, Start: analyzer.Position{Line: line, Column: 1},
				Findings: []analyzer.Finding{{Rule: "drop-column", Severity: analyzer.Danger}},
			}},
		}}}
	}
	fp := func(sql string, line int) string { return Fingerprints(report(sql, line))[0].Fingerprint }
	base := fp("ALTER TABLE users DROP COLUMN email;", 3)
	tests := []struct {
		name string
		sql  string
		line int
		same bool
	}{
		{"moved down", "ALTER TABLE users DROP COLUMN email;", 40, true},
		{"case and spacing", "alter   table Users\n  drop column EMAIL;", 3, true},
		{"comment inside", "ALTER TABLE users /* old */ DROP COLUMN email; -- bye", 3, true},
		{"quoted identifier keeps case", `ALTER TABLE "Users" DROP COLUMN email;`, 3, false},
		{"other column", "ALTER TABLE users DROP COLUMN name;", 3, false},
		{"string literal case", "UPDATE users SET a = 'X';", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fp(tt.sql, tt.line) == base; got != tt.same {
				t.Errorf("same fingerprint = %v, want %v", got, tt.same)
			}
		})
	}

	// The same statement twice in one file gets two fingerprints.
	r := report("DELETE FROM audit;", 1)
	st := r.Files[0].Statements[0]
	st.Start.Line = 5
	r.Files[0].Statements = append(r.Files[0].Statements, st)
	fps := Fingerprints(r)
	if len(fps) != 2 || fps[0].Fingerprint == fps[1].Fingerprint {
		t.Errorf("repeated statement: %+v", fps)
	}
}

func TestFindingMarkerRoundTrip(t *testing.T) {
	f := Fingerprints(shopReport(t))[1]
	body := InlineComment(f, false)
	m, ok := ParseFindingMarker(body)
	if !ok || m.Fingerprint != f.Fingerprint || m.Resolved {
		t.Fatalf("open marker: %+v %v", m, ok)
	}
	resolved := ResolvedInlineComment(body, testHead)
	m, ok = ParseFindingMarker(resolved)
	if !ok || m.Fingerprint != f.Fingerprint || !m.Resolved {
		t.Fatalf("resolved marker: %+v %v", m, ok)
	}
	for _, body := range []string{"", "LGTM", "<!-- migration-guard:finding -->", "quoting <!-- migration-guard:finding fp=x state=open -->"} {
		if _, ok := ParseFindingMarker(body); ok {
			t.Errorf("%q parsed as a marker", body)
		}
	}
	if !IsStickyComment(StickyNothingLeft(testHead)) || IsStickyComment("> "+stickyMarker) {
		t.Error("sticky marker")
	}
}

// TestGitHubLimits feeds a report far larger than GitHub accepts.
func TestGitHubLimits(t *testing.T) {
	var stmts []analyzer.Statement
	for i := 0; i < 2000; i++ {
		stmts = append(stmts, analyzer.Statement{
			Path: "db/big.sql", Part: "up", SQL: fmt.Sprintf("ALTER TABLE t%d DROP COLUMN c;", i),
			Start: analyzer.Position{Line: i + 1, Column: 1}, End: analyzer.Position{Line: i + 1, Column: 30},
			Findings: []analyzer.Finding{{Rule: "drop-column", Question: analyzer.QDrops, Severity: analyzer.Danger, RequiresApproval: true,
				Message: strings.Repeat("m", 300), Why: strings.Repeat("w", 300), SafeAlternative: strings.Repeat("-- s\n", 60)}},
		})
	}
	rep := &analyzer.Report{Files: []analyzer.File{{Path: "db/big.sql", Layout: "plain", Statements: stmts}}}
	out := CheckRunOutput(rep, CheckContext{HeadSHA: testHead})
	for name, s := range map[string]string{"summary": out.Summary, "text": out.Text} {
		if n := utf8.RuneCountInString(s); n > CheckOutputLimit {
			t.Errorf("%s: %d characters", name, n)
		}
	}
	if n := utf8.RuneCountInString(StickyComment(rep, CheckContext{})); n > GitHubCommentLimit-approvalBudget {
		t.Errorf("sticky: %d characters, leaving no room for the approval block", n)
	}
	if got := clip(strings.Repeat("é", 10), 5); got != "ééééé" {
		t.Errorf("clip below the mark's length: %q", got)
	}
	long := strings.Repeat("ü", 70000)
	if c := clip(long, CheckOutputLimit); utf8.RuneCountInString(c) != CheckOutputLimit || !utf8.ValidString(c) {
		t.Errorf("clip keeps %d runes", utf8.RuneCountInString(c))
	}
	if a := Annotations(rep); len(a) != 2000 || a[0].StartColumn != 1 || a[0].EndColumn != 30 || a[0].Level != "failure" {
		t.Errorf("annotations: %d, first %+v", len(a), a[0])
	}
}
