package checklist

// The texts the GitHub App posts: the check run's output and annotations,
// the inline review comments and the sticky comment. They are pure
// functions of the report so that what people read on GitHub is pinned by
// golden files, and so that the App's network code holds no wording.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// CheckRunName is the check run's name: branch protection requires it by
// this name (pinned to the App).
const CheckRunName = "migration-guard"

// GitHub's limits on what the App posts.
const (
	// CheckOutputLimit is the most characters of a check run's
	// output.summary and output.text.
	CheckOutputLimit = 65535
	// AnnotationsPerRequest is the most annotations one check run create or
	// update may carry; more go in further updates.
	AnnotationsPerRequest = 50
	// CommentsPerReview is how many inline comments the App puts in one
	// review. GitHub accepts more, but large reviews are slow to create
	// and trip the secondary rate limit; further reviews carry the rest.
	CommentsPerReview = 30
	// annotation field limits: title 255 characters, message and
	// raw_details 64 KB.
	annotationTitleLimit   = 255
	annotationMessageLimit = 64 * 1024
)

// The hidden markers. A marker alone proves nothing, since anyone can write
// one: the App also checks that its own bot wrote the comment.
const (
	stickyMarker        = "<!-- migration-guard:sticky -->"
	findingMarkerPrefix = "<!-- migration-guard:finding "
	markerSuffix        = " -->"
	// approvalBudget is the room the sticky comment keeps free for the
	// approval section (tick box, fingerprint, statements) while there is
	// none.
	approvalBudget = 4000
)

// CheckOutput is a check run's output without annotations, which are sent
// separately in batches of AnnotationsPerRequest.
type CheckOutput struct {
	Title   string
	Summary string
	Text    string
}

// CheckContext is what the check run says about the change besides the
// report.
type CheckContext struct {
	HeadSHA string
	BaseSHA string
	// ChangedFiles is how many files the pull request changes and
	// ListedFiles how many of them GitHub listed (it stops at 3,000).
	ChangedFiles int
	ListedFiles  int
	// Approval is the approval state (ledger) and the base branch's rules
	// for approvers; a nil Ledger means no approval texts at all.
	Approval ApprovalView
}

// ApprovedConclusion is the check run's conclusion with the approval gate:
// red (action_required) while something needs approval and no approval of
// exactly this head's fingerprint is in force.
func ApprovedConclusion(r *analyzer.Report, l *Ledger) string {
	if !r.RequiresApproval() || l.Approved() {
		return "success"
	}
	return "action_required"
}

// Conclusion is the check run's conclusion for a report: red
// (action_required) while anything needs a human's approval.
func Conclusion(r *analyzer.Report) string {
	if r.RequiresApproval() {
		return "action_required"
	}
	return "success"
}

// CheckRunOutput renders the completed check run: a title with the
// verdict, the six-question checklist as the summary, and every finding
// in the text, each within GitHub's limit.
func CheckRunOutput(r *analyzer.Report, c CheckContext) CheckOutput {
	var s strings.Builder
	s.WriteString(verdictLine(r, c))
	s.WriteString("\n\n")
	if a := ApprovalSummary(c.Approval); a != "" {
		s.WriteString(strings.TrimRight(a, "\n"))
		s.WriteString("\n\n")
	}
	s.WriteString(SummaryTable(r))
	for _, n := range r.Notes {
		fmt.Fprintf(&s, "\n> %s\n", escapeText(n))
	}
	if note := truncationNote(c); note != "" {
		fmt.Fprintf(&s, "\n> %s\n", note)
	}
	s.WriteString("\nEvery finding, with why it is dangerous and the safe way, is below and on the lines it concerns.\n")
	// The ledger is the text's last line, always: it is read back only
	// from there, so the findings above, which quote the migrations, must
	// be cut to leave it room.
	text := Markdown(r, MarkdownOptions{MaxChars: CheckOutputLimit - 100})
	if l := c.Approval.Ledger; l != nil {
		marker := l.Marker()
		text = Markdown(r, MarkdownOptions{MaxChars: CheckOutputLimit - 100 - utf8.RuneCountInString(marker)})
		text = strings.TrimRight(text, "\n") + "\n\n" + marker
	}
	return CheckOutput{
		Title:   checkTitle(r, c),
		Summary: clip(s.String(), CheckOutputLimit),
		Text:    text,
	}
}

func checkTitle(r *analyzer.Report, c CheckContext) string {
	total, approve := 0, 0
	for _, l := range r.AllFindings() {
		if l.Finding.Suppressed != nil && !l.Finding.RequiresApproval {
			continue
		}
		total++
		if l.Finding.RequiresApproval {
			approve++
		}
	}
	migrations := plural(len(r.Files), "changed migration", "changed migrations")
	switch a := c.Approval.Ledger.Approval(); {
	case approve > 0 && a != nil:
		return fmt.Sprintf("Approved by @%s · %s in %s", a.Login, plural(total, "finding", "findings"), migrations)
	case approve > 0:
		return fmt.Sprintf("%d to approve · %s in %s", approve, plural(total, "finding", "findings"), migrations)
	case total > 0:
		return fmt.Sprintf("%s in %s, none needs approval", plural(total, "finding", "findings"), migrations)
	}
	return "No findings in " + migrations
}

func verdictLine(r *analyzer.Report, c CheckContext) string {
	at := ""
	if c.HeadSHA != "" {
		at = " at " + short(c.HeadSHA)
		if c.BaseSHA != "" {
			at += ", against the schema at " + short(c.BaseSHA)
		}
	}
	n := 0
	for _, l := range r.AllFindings() {
		if l.Finding.RequiresApproval {
			n++
		}
	}
	if a := c.Approval.Ledger.Approval(); a != nil && n > 0 {
		return fmt.Sprintf("**Approved by @%s**: %s needing a human's approval (checked%s).", a.Login, plural(n, "finding", "findings"), at)
	}
	switch {
	case n == 1:
		return fmt.Sprintf("**1 finding needs a human's approval** before this can merge (checked%s).", at)
	case n > 1:
		return fmt.Sprintf("**%d findings need a human's approval** before this can merge (checked%s).", n, at)
	}
	return fmt.Sprintf("**Nothing needs approval** (checked%s).", at)
}

func truncationNote(c CheckContext) string {
	if c.ChangedFiles <= c.ListedFiles || c.ListedFiles == 0 {
		return ""
	}
	return fmt.Sprintf("This pull request changes %d files and GitHub lists only the first %d, so the changed migrations were found by comparing the base and head trees instead (a folder too large to compare needs approval).",
		c.ChangedFiles, c.ListedFiles)
}

// NoMigrationsOutput is the green check of a pull request that changes no
// migration: one line, nothing to read.
func NoMigrationsOutput(c CheckContext) CheckOutput {
	summary := "No migration changes in this pull request."
	if note := truncationNote(c); note != "" {
		summary += "\n\n> " + note
	}
	return CheckOutput{Title: "No migration changes", Summary: summary}
}

// ConfigErrorOutput explains a configuration that cannot be read. The
// configuration comes from the base branch, so the fix has to land there.
func ConfigErrorOutput(configPath, baseSHA, reason string) CheckOutput {
	return CheckOutput{
		Title: "Configuration error",
		Summary: clip(fmt.Sprintf("`%s` at the base (%s) cannot be used: %s\n\nThe configuration is read from the base branch, never from the pull request, so that a pull request cannot weaken its own guard: fix it there and re-run this check.",
			configPath, short(baseSHA), escapeText(reason)), CheckOutputLimit),
	}
}

// FailureOutput is the check of a job that could not finish. reason must
// not hold secrets; the App passes its own error text, which never does.
func FailureOutput(reason string) CheckOutput {
	return CheckOutput{
		Title:   "Could not finish the check",
		Summary: clip("migration-guard could not finish checking this commit: "+escapeText(reason)+"\n\nRe-run the check from the Checks tab; if it keeps failing, the service's logs say why.", CheckOutputLimit),
	}
}

// NotJudgedOutput closes the check of a commit the service could not
// judge in full: its deadline passed, or the change is over a limit of
// the work one check may do. Nothing unjudged may pass, so the check is
// red; reason says which limit and what lifts it.
func NotJudgedOutput(title, reason string) CheckOutput {
	return CheckOutput{
		Title:   title,
		Summary: clip(escapeText(reason)+"\n\nNothing that was not judged can pass: this check stays red until the commit is judged in full.", CheckOutputLimit),
	}
}

// Titles of NotJudgedOutput.
const (
	TitleNotJudgedInTime = "Could not be judged in time: needs approval"
	TitleOverJobLimit    = "Too much to judge in one check: needs approval"
)

// SupersededOutput closes the check of a commit that a newer push
// replaced before its check finished.
func SupersededOutput(newerSHA string) CheckOutput {
	s := "A newer push replaced this commit before its check finished; the newest commit is checked instead."
	if newerSHA != "" {
		s = fmt.Sprintf("A newer push (%s) replaced this commit before its check finished; that commit is checked instead.", short(newerSHA))
	}
	return CheckOutput{Title: "Superseded by a newer push", Summary: s}
}

// InProgressOutput is shown while the check runs.
func InProgressOutput() CheckOutput {
	return CheckOutput{Title: "Checking the migrations", Summary: "Reading the changed migrations and the schema the earlier ones built."}
}

// Annotation is one check run annotation, in GitHub's field names' order.
type Annotation struct {
	Path        string
	StartLine   int
	EndLine     int
	StartColumn int // 0: none (GitHub allows columns only on one line)
	EndColumn   int
	Level       string // failure, warning or notice
	Title       string
	Message     string
	RawDetails  string
}

// Annotations puts every counted finding on the lines of its statement
// (or of the file, for a finding about the file), in report order.
func Annotations(r *analyzer.Report) []Annotation {
	var out []Annotation
	for _, l := range r.AllFindings() {
		f := l.Finding
		if f.Suppressed != nil && !f.RequiresApproval {
			continue
		}
		a := Annotation{
			Path:       l.File.Path,
			StartLine:  max(f.Marker.Line, 1),
			Level:      annotationLevel(f.Severity),
			Title:      clip(fmt.Sprintf("%s · Q%d %s · %s", f.Severity, f.Question, f.Question.Short(), f.Rule), annotationTitleLimit),
			RawDetails: clip(f.SafeAlternative, annotationMessageLimit),
		}
		a.EndLine = a.StartLine
		if s := l.Statement; s != nil {
			a.Path = s.Path
			a.StartLine, a.EndLine = s.Start.Line, s.End.Line
			if s.Start.Line == s.End.Line && s.End.Column > s.Start.Column {
				a.StartColumn, a.EndColumn = s.Start.Column, s.End.Column
			}
		}
		msg := f.Message
		if f.RequiresApproval {
			msg += " (needs approval)"
		}
		if f.Why != "" {
			msg += "\n\n" + f.Why
		}
		a.Message = clip(msg, annotationMessageLimit)
		out = append(out, a)
	}
	return out
}

func annotationLevel(s analyzer.Severity) string {
	switch s {
	case analyzer.Danger:
		return "failure"
	case analyzer.Warning:
		return "warning"
	}
	return "notice"
}

// NormalizeSQL is a statement's text with comments dropped, whitespace
// collapsed to single spaces and keywords and unquoted identifiers folded
// to lower case, as PostgreSQL folds them: two spellings of one statement
// normalize alike. It uses PostgreSQL's own scanner; text the scanner
// rejects is only whitespace-collapsed.
func NormalizeSQL(sql string) string { return sqlscript.Normalize(sql) }

// Fingerprinted is a finding with the fingerprint its inline comment
// carries.
type Fingerprinted struct {
	analyzer.Located
	Fingerprint string
}

// Fingerprints lists every finding of the report with its fingerprint: a
// hash of the rule, the path and the normalized statement text, and the
// occurrence number among findings sharing those three. The line is left
// out on purpose: a push that moves a statement without changing it must
// not post its findings again.
func Fingerprints(r *analyzer.Report) []Fingerprinted {
	seen := map[string]int{}
	var out []Fingerprinted
	for _, l := range r.AllFindings() {
		path, text := l.File.Path, l.Finding.Message
		if l.Statement != nil {
			path, text = l.Statement.Path, NormalizeSQL(l.Statement.SQL)
		}
		key := l.Finding.Rule + "\x00" + path + "\x00" + text
		n := seen[key]
		seen[key]++
		h := sha256.New()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(n)))
		out = append(out, Fingerprinted{Located: l, Fingerprint: hex.EncodeToString(h.Sum(nil))[:24]})
	}
	return out
}

// FindingMarker is what the hidden marker of an inline comment says.
type FindingMarker struct {
	Fingerprint string
	Resolved    bool
}

func findingMarker(m FindingMarker) string {
	state := "open"
	if m.Resolved {
		state = "resolved"
	}
	return findingMarkerPrefix + "fp=" + m.Fingerprint + " state=" + state + markerSuffix
}

// ParseFindingMarker reads the marker at the start of an inline comment
// the App wrote.
func ParseFindingMarker(body string) (FindingMarker, bool) {
	rest, ok := strings.CutPrefix(body, findingMarkerPrefix)
	if !ok {
		return FindingMarker{}, false
	}
	inner, _, ok := strings.Cut(rest, markerSuffix)
	if !ok {
		return FindingMarker{}, false
	}
	var m FindingMarker
	for _, field := range strings.Fields(inner) {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "fp":
			m.Fingerprint = v
		case "state":
			m.Resolved = v == "resolved"
		}
	}
	return m, m.Fingerprint != ""
}

// InlineComment is the review comment on the first line of a statement:
// what is wrong, why, and the safe way. suggestion says the statement
// fills exactly the commented line, so that GitHub's suggestion block,
// which replaces that line, replaces exactly the statement; otherwise the
// safe way is plain SQL to copy.
func InlineComment(f Fingerprinted, suggestion bool) string {
	fd := f.Finding
	var b strings.Builder
	b.WriteString(findingMarker(FindingMarker{Fingerprint: f.Fingerprint}))
	b.WriteString("\n")
	approval := ""
	if fd.RequiresApproval {
		approval = " · **needs approval**"
	}
	fmt.Fprintf(&b, "**%s · Q%d %s** · `%s`%s\n\n", severityBadge(string(fd.Severity)), fd.Question, fd.Question.Title(), fd.Rule, approval)
	fmt.Fprintf(&b, "%s\n\n", escapeText(fd.Message))
	if fd.Why != "" {
		fmt.Fprintf(&b, "**Why:** %s\n\n", escapeText(fd.Why))
	}
	if fd.SafeAlternative != "" {
		b.WriteString("**Safe way:**\n\n")
		lang := "sql"
		if suggestion {
			lang = "suggestion"
		}
		b.WriteString(codeBlock(lang, fd.SafeAlternative))
	}
	b.WriteString("<sub>migration-guard · `migration-guard explain " + fd.Rule + "` tells more.</sub>\n")
	return b.String()
}

// ReviewBody is the body of a review carrying inline comments; a push
// with more than CommentsPerReview new findings gets several reviews.
func ReviewBody(comments, part, parts int) string {
	s := fmt.Sprintf("migration-guard has %s on the changed lines", plural(comments, "new finding", "new findings"))
	if parts > 1 {
		s += fmt.Sprintf(" (review %d of %d)", part, parts)
	}
	return s + ". The six-question checklist is in the summary comment and in the `" + CheckRunName + "` check."
}

// ResolvedInlineComment rewrites an inline comment whose finding went away
// at sha: the App edits rather than deletes it, so that the discussion
// under it stays readable. The old text is kept, folded.
func ResolvedInlineComment(previousBody, sha string) string {
	m, _ := ParseFindingMarker(previousBody)
	old := previousBody
	if _, rest, ok := strings.Cut(previousBody, markerSuffix); ok {
		old = strings.TrimLeft(rest, "\n")
	}
	m.Resolved = true
	// A suggestion left in the folded text would still offer to be applied.
	lines := strings.Split(old, "\n")
	for i, l := range lines {
		if rest := strings.TrimLeft(l, "`"); len(l)-len(rest) >= 3 && rest == "suggestion" {
			lines[i] = l[:len(l)-len(rest)] + "sql"
		}
	}
	old = strings.Join(lines, "\n")
	return findingMarker(m) + "\n" +
		fmt.Sprintf("✅ **Resolved in %s**: this finding no longer applies.\n\n<details><summary>Earlier comment</summary>\n\n%s\n</details>\n", short(sha), strings.TrimRight(old, "\n"))
}

// StickyComment is the pull request's one comment holding the full
// checklist. It starts with the marker the App finds it by and, while
// something needs approval, ends with the approval section: the box comes
// after everything quoted from the migrations, which is where it is
// looked for.
func StickyComment(r *analyzer.Report, c CheckContext) string {
	var b strings.Builder
	b.WriteString(stickyMarker)
	b.WriteString("\n## migration-guard\n\n")
	b.WriteString(verdictLine(r, c))
	b.WriteString("\n\n")
	if note := truncationNote(c); note != "" {
		fmt.Fprintf(&b, "> %s\n\n", note)
	}
	approval := ApprovalSection(c.Approval)
	budget := GitHubCommentLimit - b.Len() - len(approval) - 200
	if approval == "" {
		budget -= approvalBudget
	}
	b.WriteString(Markdown(r, MarkdownOptions{MaxChars: budget}))
	if approval != "" {
		b.WriteString("\n")
		b.WriteString(approval)
	}
	return b.String()
}

// StickyNothingLeft replaces the checklist once a push leaves no
// migration change.
func StickyNothingLeft(headSHA string) string {
	return stickyMarker + "\n## migration-guard\n\nNo migration changes left in this pull request (checked at " + short(headSHA) + ").\n"
}

// IsStickyComment reports whether body starts with the sticky marker.
func IsStickyComment(body string) bool {
	return strings.HasPrefix(body, stickyMarker)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// clip cuts s to at most n characters, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	const mark = "\n… (cut to fit GitHub's limit)"
	keep := n - utf8.RuneCountInString(mark)
	if keep <= 0 {
		keep, n = n, 0
	}
	i := 0
	for j := range s {
		if keep == 0 {
			i = j
			break
		}
		keep--
	}
	if n == 0 {
		return s[:i]
	}
	return s[:i] + mark
}
