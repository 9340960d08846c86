package checklist

import (
	"fmt"
	"html"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer"
)

// GitHubCommentLimit is the most characters GitHub accepts in an issue
// comment or a check run summary.
const GitHubCommentLimit = 65536

// MarkdownOptions shape the Markdown report.
type MarkdownOptions struct {
	// MaxChars caps the output; default a margin under GitHubCommentLimit so
	// that callers can add a header or an approval block.
	MaxChars int
	// OpenFiles is how many findings a file may have and still be shown
	// expanded; files with more start collapsed.
	OpenFiles int
}

// Markdown renders the six-question summary followed by the findings per
// file, for a pull request comment, a check run summary or `check --format
// markdown`. It never exceeds opt.MaxChars: when findings do not fit, the
// last ones are left out with a note that gives the full count.
func Markdown(r *analyzer.Report, opt MarkdownOptions) string {
	if opt.MaxChars <= 0 {
		opt.MaxChars = GitHubCommentLimit - 5000
	}
	if opt.OpenFiles <= 0 {
		opt.OpenFiles = 3
	}
	var head strings.Builder
	head.WriteString(SummaryTable(r))
	for _, n := range r.Notes {
		fmt.Fprintf(&head, "\n> %s\n", escapeText(n))
	}

	// Each file is a block; each finding a chunk inside it, so that the
	// budget can stop between findings.
	type chunk struct{ text string }
	type block struct {
		open, close string
		chunks      []chunk
	}
	var blocks []block
	total := 0
	for _, f := range r.Files {
		var chunks []chunk
		for _, fd := range f.Findings {
			chunks = append(chunks, chunk{findingMarkdown(fd, f.Path, nil)})
		}
		for i := range f.Statements {
			s := &f.Statements[i]
			for _, fd := range s.Findings {
				chunks = append(chunks, chunk{findingMarkdown(fd, s.Path, s)})
			}
		}
		if len(chunks) == 0 {
			continue
		}
		total += len(chunks)
		tx := "no transaction"
		if f.InTransaction {
			tx = "in a transaction"
		}
		attr := ""
		if len(chunks) <= opt.OpenFiles {
			attr = " open"
		}
		blocks = append(blocks, block{
			// Inside HTML, Markdown escapes would show literally: escape as HTML.
			open: fmt.Sprintf("\n<details%s><summary><b>%s</b> · %s, %s · %s</summary>\n\n", attr, html.EscapeString(f.Path), html.EscapeString(f.Layout), tx,
				plural(len(chunks), "finding", "findings")),
			close:  "\n</details>\n",
			chunks: chunks,
		})
	}
	if total == 0 {
		return head.String() + "\nNo findings in the changed migrations.\n"
	}

	var out strings.Builder
	out.WriteString(head.String())
	shown := 0
	// Leave room for the truncation note.
	budget := opt.MaxChars - 400
	for _, b := range blocks {
		if out.Len()+len(b.open)+len(b.close) > budget {
			break
		}
		out.WriteString(b.open)
		for _, c := range b.chunks {
			if out.Len()+len(c.text)+len(b.close) > budget {
				break
			}
			out.WriteString(c.text)
			shown++
		}
		out.WriteString(b.close)
	}
	if shown < total {
		fmt.Fprintf(&out, "\n**%d of %d findings are shown**: the rest did not fit in a GitHub comment. Run `migration-guard check` for the full list.\n", shown, total)
	}
	return out.String()
}

// SummaryTable is the six-question checklist as a Markdown table.
func SummaryTable(r *analyzer.Report) string {
	var b strings.Builder
	b.WriteString("| # | Question | Found | Worst |\n|---|---|---|---|\n")
	for _, q := range Summarize(r) {
		found := "nothing"
		if q.Count > 0 {
			found = plural(q.Count, "finding", "findings")
			if q.RequiresApproval > 0 {
				found += fmt.Sprintf(", %d to approve", q.RequiresApproval)
			}
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", q.Question, analyzer.Question(q.Question).Title(), found, severityBadge(q.Worst))
	}
	return b.String()
}

func severityBadge(s string) string {
	switch analyzer.Severity(s) {
	case analyzer.Danger:
		return "🔴 danger"
	case analyzer.Warning:
		return "🟠 warning"
	case analyzer.Info:
		return "🔵 info"
	}
	return "✅ ok"
}

func findingMarkdown(f analyzer.Finding, path string, s *analyzer.Statement) string {
	var b strings.Builder
	approval := ""
	if f.RequiresApproval {
		approval = " · **needs approval**"
	}
	if f.Rehearsal != "" {
		approval += " · rehearsal: " + f.Rehearsal
	}
	fmt.Fprintf(&b, "#### %s line %d · `%s` · Q%d %s%s%s\n\n", severityBadge(string(f.Severity)), f.Marker.Line, f.Rule, f.Question, f.Question.Short(), alsoQuestions(f), approval)
	if s != nil {
		if path != "" && s.Part == "down" {
			fmt.Fprintf(&b, "In the down migration (%s):\n\n", escapeText(path))
		}
		b.WriteString(codeBlock("sql", s.SQL))
	}
	if f.Suppressed != nil {
		fmt.Fprintf(&b, "_Suppressed at line %d: %s_\n\n", f.Suppressed.Line, escapeText(f.Suppressed.Reason))
	}
	fmt.Fprintf(&b, "%s\n\n", escapeText(f.Message))
	if f.Why != "" {
		fmt.Fprintf(&b, "**Why:** %s\n\n", escapeText(f.Why))
	}
	if f.SafeAlternative != "" {
		b.WriteString("**Safe way:**\n\n")
		b.WriteString(codeBlock("sql", f.SafeAlternative))
	}
	return b.String()
}

// codeBlock fences text with more backticks than it contains in a row, so
// that SQL holding ``` cannot end the block early.
func codeBlock(lang, text string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + lang + "\n" + strings.TrimRight(text, "\n") + "\n" + fence + "\n\n"
}

// escapeText keeps names from the migrations (which may hold anything) from
// being read as HTML or Markdown structure.
var markdownEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|", "`", "\\`", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]", "#", "\\#")

func escapeText(s string) string { return markdownEscaper.Replace(s) }
