package checklist

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/analyzer"
)

// approvalReport is one file with the given statements, each with one
// danger finding of rule (needs approval) and a warning (does not).
func approvalReport(path string, stmts ...[2]string) *analyzer.Report {
	f := analyzer.File{Path: path, Layout: "plain"}
	for i, s := range stmts {
		f.Statements = append(f.Statements, analyzer.Statement{
			Path: path, SQL: s[1], Start: analyzer.Position{Line: 2*i + 1, Column: 1}, End: analyzer.Position{Line: 2*i + 1, Column: len(s[1])},
			Findings: []analyzer.Finding{
				{Rule: s[0], Question: analyzer.QDrops, Severity: analyzer.Danger, RequiresApproval: true, Message: "drops"},
				{Rule: "missing-lock-timeout", Question: analyzer.QLocks, Severity: analyzer.Warning, Message: "no timeout"},
			},
		})
	}
	return &analyzer.Report{Files: []analyzer.File{f}}
}

func TestApprovalFingerprint(t *testing.T) {
	base := ApprovalFingerprint(approvalReport("db/002.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"}))
	if len(base) != 64 {
		t.Fatalf("fingerprint %q", base)
	}
	tests := []struct {
		name string
		rep  *analyzer.Report
		same bool
	}{
		{"spacing, case and comments", approvalReport("db/002.sql", [2]string{"drop-column", "alter table USERS\n   drop column legacy; -- bye"}), true},
		{"moved down a line", func() *analyzer.Report {
			r := approvalReport("db/002.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"})
			r.Files[0].Statements[0].Start.Line = 40
			return r
		}(), true},
		{"another column", approvalReport("db/002.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN email;"}), false},
		{"another path", approvalReport("db/003.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"}), false},
		{"another rule", approvalReport("db/002.sql", [2]string{"table-rewrite", "ALTER TABLE users DROP COLUMN legacy;"}), false},
		{"one more rule", func() *analyzer.Report {
			r := approvalReport("db/002.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"})
			s := &r.Files[0].Statements[0]
			s.Findings = append(s.Findings, analyzer.Finding{Rule: "blocking-scan", Severity: analyzer.Danger, RequiresApproval: true})
			return r
		}(), false},
		{"a warning more", func() *analyzer.Report {
			r := approvalReport("db/002.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"})
			s := &r.Files[0].Statements[0]
			s.Findings = append(s.Findings, analyzer.Finding{Rule: "blocking-scan", Severity: analyzer.Warning})
			return r
		}(), true},
		{"a statement more", approvalReport("db/002.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"}, [2]string{"drop-table", "DROP TABLE audit;"}), false},
		{"suppressed, still needing approval", func() *analyzer.Report {
			r := approvalReport("db/002.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"})
			r.Files[0].Statements[0].Findings[0].Suppressed = &analyzer.Suppression{Reason: "archived", Line: 1}
			return r
		}(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ApprovalFingerprint(tt.rep) == base; got != tt.same {
				t.Errorf("same fingerprint = %v, want %v", got, tt.same)
			}
		})
	}
	// Order of statements and of files does not matter; repeating one does.
	two := ApprovalFingerprint(approvalReport("db/002.sql", [2]string{"drop-table", "DROP TABLE a;"}, [2]string{"drop-table", "DROP TABLE b;"}))
	swapped := ApprovalFingerprint(approvalReport("db/002.sql", [2]string{"drop-table", "DROP TABLE b;"}, [2]string{"drop-table", "DROP TABLE a;"}))
	twice := ApprovalFingerprint(approvalReport("db/002.sql", [2]string{"drop-table", "DROP TABLE a;"}, [2]string{"drop-table", "DROP TABLE a;"}))
	once := ApprovalFingerprint(approvalReport("db/002.sql", [2]string{"drop-table", "DROP TABLE a;"}))
	if two != swapped || twice == once {
		t.Errorf("order or repetition: %v %v", two == swapped, twice == once)
	}
	rep := approvalReport("db/002.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"})
	rep.Files[0].Statements[0].Findings[0].RequiresApproval = false
	if fp := ApprovalFingerprint(rep); fp != "" {
		t.Errorf("nothing needs approval, fingerprint %q", fp)
	}
	if fp := ApprovalFingerprint(shopReport(t)); fp == "" || fp != ApprovalFingerprint(shopReport(t)) {
		t.Error("the example's fingerprint is not stable")
	}
}

var (
	t0   = time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)
	head = strings.Repeat("a", 40)
	next = strings.Repeat("b", 40)
)

func approve(l *Ledger, login string, id int64) {
	l.Add(LedgerRecord{Kind: RecordApproval, Login: login, UserID: id, At: t0, Fingerprint: l.Fingerprint, Head: l.Head, PR: l.PR, BaseRef: l.BaseRef, Delivery: "d-" + login, Comment: 99})
}

func TestLedgerRoundTrip(t *testing.T) {
	l := NewLedger(7, head, testBase, "main", shopReport(t))
	approve(l, "carol", 42)
	l.Note = &LedgerNote{Kind: NoteRefused, Login: "bob", At: t0, Reason: "no -->here<!-- <script>", Delivery: "d-bob"}
	marker := l.Marker()
	if strings.Count(marker, "-->") != 1 || strings.Contains(marker, "<script>") {
		t.Fatalf("the marker can be ended early: %s", marker)
	}
	text := "findings\n\n" + marker
	got, ok := ParseLedger(text, head)
	if !ok {
		t.Fatalf("not parsed: %s", text)
	}
	if got.Marker() != marker || !got.Approved() || got.Approval().Login != "carol" || !got.Seen("d-bob") || !got.Seen("d-carol") || got.Seen("d-other") {
		t.Errorf("round trip: %+v", got)
	}
	if got.Fingerprint != ApprovalFingerprint(shopReport(t)) {
		t.Error("fingerprint changed in the round trip")
	}
	// Trailing newlines are fine.
	if _, ok := ParseLedger(text+"\n\n", head); !ok {
		t.Error("trailing newline")
	}
}

// TestLedgerForgeries: whatever is not the App's own last line, in the
// exact shape, is no ledger.
func TestLedgerForgeries(t *testing.T) {
	l := NewLedger(7, head, testBase, "main", approvalReport("db/002.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"}))
	approve(l, "carol", 42)
	good := l.Marker()
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(good, ledgerMarkerPrefix), markerSuffix)), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		data, _ := json.Marshal(m)
		return ledgerMarkerPrefix + string(data) + markerSuffix
	}
	records := func(m map[string]any) map[string]any { return m["records"].([]any)[0].(map[string]any) }
	for name, text := range map[string]string{
		"quoted above the end":  "```sql\n-- " + good + "\n```\nmore findings",
		"in a code block":       "```\n" + good + "\n```",
		"not alone on the line": "see " + good,
		"empty":                 "",
		"truncated":             good[:len(good)-10],
		"other head":            edit(func(m map[string]any) { m["head"] = next }),
		"other version":         edit(func(m map[string]any) { m["v"] = 2 }),
		"unknown field":         edit(func(m map[string]any) { m["trusted"] = true }),
		"short fingerprint":     edit(func(m map[string]any) { m["fp"] = "abc" }),
		"unknown record kind":   edit(func(m map[string]any) { records(m)["kind"] = "admin-override" }),
		"approval without id":   edit(func(m map[string]any) { delete(records(m), "user_id") }),
		"approval without pr":   edit(func(m map[string]any) { delete(records(m), "pr") }),
		"no pull request":       edit(func(m map[string]any) { delete(m, "pr") }),
		"two objects":           strings.Replace(good, markerSuffix, " {}"+markerSuffix, 1),
		"not json":              ledgerMarkerPrefix + "approved: true" + markerSuffix,
	} {
		if _, ok := ParseLedger(text, head); ok {
			t.Errorf("%s: parsed as a ledger", name)
		}
	}
	// An approval of another fingerprint, or from another pull request,
	// is not in force.
	other := l.Clone()
	other.Records[0].Fingerprint = strings.Repeat("c", 64)
	if other.Approved() {
		t.Error("an approval of another fingerprint is in force")
	}
	other = l.Clone()
	other.Records[0].PR = 8
	if other.Approved() {
		t.Error("an approval from another pull request is in force")
	}
}

func TestCarry(t *testing.T) {
	drop := [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"}
	prior := NewLedger(7, head, testBase, "main", approvalReport("db/002.sql", drop))
	approve(prior, "carol", 42)

	same := NewLedger(7, next, testBase, "main", approvalReport("db/002.sql", drop))
	same.Carry(prior, t0)
	if !same.Approved() || same.CarriedFrom != head {
		t.Errorf("same statements: %+v", same)
	}
	// Carried again, it still names where the approval came from.
	third := NewLedger(7, strings.Repeat("c", 40), testBase, "main", approvalReport("db/002.sql", drop))
	third.Carry(same, t0)
	if !third.Approved() || third.CarriedFrom != next {
		t.Errorf("carried twice: %+v", third)
	}

	more := NewLedger(7, next, testBase, "main", approvalReport("db/002.sql", drop, [2]string{"drop-table", "DROP TABLE audit;"}))
	more.Carry(prior, t0)
	if more.Approved() {
		t.Fatal("a statement more kept the approval")
	}
	last := more.Records[len(more.Records)-1]
	if last.Kind != RecordReset || last.Changes == nil || len(last.Changes.Added) != 1 || !strings.Contains(last.Changes.Added[0], "DROP TABLE audit;") {
		t.Errorf("reset: %+v", last)
	}

	otherPR := NewLedger(8, next, testBase, "main", approvalReport("db/002.sql", drop))
	otherPR.Carry(prior, t0)
	if otherPR.Approved() || len(otherPR.Records) != 0 {
		t.Errorf("another pull request's approval came along: %+v", otherPR.Records)
	}

	// The last refusal's line stays on the same head only.
	prior.Note = &LedgerNote{Kind: NoteRefused, Login: "bob", At: t0, Reason: "author"}
	rerun := NewLedger(7, head, testBase, "main", approvalReport("db/002.sql", drop))
	rerun.Carry(prior, t0)
	pushed := NewLedger(7, next, testBase, "main", approvalReport("db/002.sql", drop))
	pushed.Carry(prior, t0)
	if rerun.Note == nil || pushed.Note != nil {
		t.Errorf("note: rerun %v, pushed %v", rerun.Note, pushed.Note)
	}
}

func TestDiffStatements(t *testing.T) {
	old := NewLedger(7, head, testBase, "main", approvalReport("db/002.sql",
		[2]string{"drop-column", "ALTER TABLE users DROP COLUMN a;"},
		[2]string{"drop-column", "ALTER TABLE users DROP COLUMN b;"},
		[2]string{"drop-table", "DROP TABLE gone;"}))
	cur := NewLedger(7, next, testBase, "main", approvalReport("db/002.sql",
		[2]string{"drop-column", "ALTER TABLE users DROP COLUMN a;"},
		[2]string{"drop-column", "ALTER TABLE users DROP COLUMN c;"},
		[2]string{"truncate", "DROP TABLE gone;"},
		[2]string{"drop-table", "DROP TABLE added;"}))
	ch := DiffStatements(old, cur)
	got, _ := json.Marshal(ch)
	want := `{"added":["db/002.sql:7 ` + "`DROP TABLE added;`" + `"],` +
		`"changed":["db/002.sql:5 ` + "`DROP TABLE gone;`" + ` (rules truncate, were drop-table)",` +
		`"db/002.sql:3 ` + "`ALTER TABLE users DROP COLUMN c;`" + ` (was ` + "`ALTER TABLE users DROP COLUMN b;`" + `)"]}`
	if string(got) != want {
		t.Errorf("diff:\n got %s\nwant %s", got, want)
	}
}

func TestCanonicalSticky(t *testing.T) {
	l := NewLedger(7, head, testBase, "main", shopReport(t))
	v := ApprovalView{Ledger: l, Policy: analyzer.ApprovalConfig{MinRole: "write"}}
	body := StickyComment(shopReport(t), CheckContext{HeadSHA: head, BaseSHA: testBase, Approval: v})
	canon, box, ok := CanonicalSticky(body)
	if !ok || box.Ticked || box.Fingerprint != l.Fingerprint || canon != strings.TrimRight(body, "\n") {
		t.Fatalf("pending comment: ok=%v box=%+v", ok, box)
	}
	ticked := strings.Replace(body, "- [ ] "+boxLabel, "- [x] "+boxLabel, 1)
	canonTicked, box, ok := CanonicalSticky(ticked)
	if !ok || !box.Ticked || canonTicked != canon {
		t.Errorf("a tick is not only the box: ok=%v box=%+v", ok, box)
	}
	// Browsers send CRLF; GitHub may drop the last newline.
	if c, _, ok := CanonicalSticky(strings.TrimRight(strings.ReplaceAll(ticked, "\n", "\r\n"), "\r\n")); !ok || c != canon {
		t.Error("line endings count")
	}
	if got := StickyHead(ticked); got != head {
		t.Errorf("head pointer %q", got)
	}
	// Anything else shows in the canonical form.
	for name, edited := range map[string]string{
		"hidden marker": strings.Replace(ticked, l.Fingerprint, strings.Repeat("0", 64), 1),
		"text":          strings.Replace(ticked, "Waiting for approval", "Approved by @admin", 1),
		"list":          strings.Replace(ticked, "| `db/migrations/", "| `db/other/", 1),
	} {
		if c, _, ok := CanonicalSticky(edited); ok && c == canon {
			t.Errorf("%s: canonical form unchanged", name)
		}
	}
	// A second box, or none, is no approval section.
	if _, _, ok := CanonicalSticky(ticked + "\n- [x] " + boxLabel + "\n"); ok {
		t.Error("two boxes")
	}
	if _, _, ok := CanonicalSticky(strings.Replace(body, "- [ ] "+boxLabel, "- "+boxLabel, 1)); ok {
		t.Error("no box")
	}
	// A box or marker quoted from a migration, above the section, does
	// not count: the section is the last one.
	quoted := "```sql\n" + approvalMarkerPrefix + "head=" + next + markerSuffix + "\n- [x] " + boxLabel + " " + boxMarkerPrefix + "fp=" + strings.Repeat("0", 64) + markerSuffix + "\n```\n"
	withQuote := strings.Replace(body, "## migration-guard\n", "## migration-guard\n"+quoted, 1)
	if _, box, ok := CanonicalSticky(withQuote); !ok || box.Ticked || box.Fingerprint != l.Fingerprint {
		t.Errorf("a quoted box counted: ok=%v %+v", ok, box)
	}
	if got := StickyHead(withQuote); got != head {
		t.Errorf("a quoted marker counted: %q", got)
	}
}

// TestApprovalSectionGolden pins the approval texts: waiting, approved
// and carried, reset with a refusal, revoked; under a strict policy.
func TestApprovalSectionGolden(t *testing.T) {
	rep := approvalReport("db/migrations/002_drop.sql",
		[2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"},
		[2]string{"drop-table", "DROP TABLE \"odd|name`s\"\n  CASCADE;"})
	policy := analyzer.ApprovalConfig{MinRole: "maintain", Roles: []string{"db-reviewer"}, Users: []string{"dave"}, Teams: []string{"acme/dba"}}

	pending := NewLedger(7, head, testBase, "main", rep)
	approved := pending.Clone()
	approve(approved, "carol", 42)
	carried := NewLedger(7, next, testBase, "main", rep)
	carried.Carry(approved, t0)
	reset := NewLedger(7, next, testBase, "main", approvalReport("db/migrations/002_drop.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"}))
	reset.Carry(approved, t0)
	reset.Note = &LedgerNote{Kind: NoteRefused, Login: "alice", At: t0, Reason: ReasonAuthor("alice")}
	revoked := approved.Clone()
	revoked.Add(LedgerRecord{Kind: RecordRevocation, Login: "erin", UserID: 5, At: t0.Add(time.Hour), Fingerprint: revoked.Fingerprint, Head: head, PR: 7})
	undone := pending.Clone()
	undone.Note = &LedgerNote{Kind: NoteUndone, Login: "mallory", At: t0, Reason: ReasonOnlyBox()}

	var out strings.Builder
	for _, c := range []struct {
		name   string
		l      *Ledger
		policy analyzer.ApprovalConfig
	}{
		{"waiting", pending, analyzer.ApprovalConfig{}},
		{"carried", carried, analyzer.ApprovalConfig{AllowAuthor: true}},
		{"reset, refused", reset, policy},
		{"revoked", revoked, policy},
		{"undone", undone, analyzer.ApprovalConfig{}},
	} {
		v := ApprovalView{Ledger: c.l, Policy: c.policy}
		out.WriteString("===== " + c.name + ": comment\n" + ApprovalSection(v))
		out.WriteString("===== " + c.name + ": check summary\n" + ApprovalSummary(v))
	}
	golden(t, "github/approval_sections.md", []byte(out.String()))

	// The whole sticky comment and check run while approved.
	cc := CheckContext{HeadSHA: next, BaseSHA: testBase, Approval: ApprovalView{Ledger: carried}}
	golden(t, "github/sticky_approved.md", []byte(StickyComment(rep, cc)))
	o := CheckRunOutput(rep, cc)
	golden(t, "github/check_approved.md", []byte(o.Title+"\n-----\n"+o.Summary+"-----\n"+o.Text))
	if ApprovedConclusion(rep, carried) != "success" || ApprovedConclusion(rep, pending) != "action_required" || ApprovedConclusion(&analyzer.Report{}, nil) != "success" {
		t.Error("conclusions")
	}
	if l, ok := ParseLedger(o.Text, next); !ok || !l.Approved() {
		t.Error("the check run's text does not end with its ledger")
	}
	if ApprovalSection(ApprovalView{Ledger: NewLedger(7, head, testBase, "main", &analyzer.Report{})}) != "" {
		t.Error("a section with nothing to approve")
	}
}

// TestLedgerFitsTheCheckRun: with thousands of statements to approve,
// the text still ends with the ledger, within GitHub's limit, and the
// comment keeps its box.
func TestLedgerFitsTheCheckRun(t *testing.T) {
	var stmts [][2]string
	for i := 0; i < 2000; i++ {
		stmts = append(stmts, [2]string{"drop-table", "DROP TABLE t" + strings.Repeat("x", 200) + string(rune('a'+i%26)) + ";"})
	}
	rep := approvalReport("db/big.sql", stmts...)
	l := NewLedger(7, head, testBase, "main", rep)
	approve(l, "carol", 42)
	for i := 0; i < 50; i++ {
		l.Add(LedgerRecord{Kind: RecordRevocation, Login: "x", At: t0})
		approve(l, "carol", 42)
	}
	cc := CheckContext{HeadSHA: head, Approval: ApprovalView{Ledger: l}}
	o := CheckRunOutput(rep, cc)
	if n := len([]rune(o.Text)); n > CheckOutputLimit {
		t.Errorf("text: %d characters", n)
	}
	if got, ok := ParseLedger(o.Text, head); !ok || !got.Approved() || got.Omitted != 2000-ledgerStatements || len(got.Records) != ledgerRecords {
		t.Errorf("ledger: ok=%v", ok)
	}
	body := StickyComment(rep, cc)
	if n := len([]rune(body)); n > GitHubCommentLimit {
		t.Errorf("comment: %d characters", n)
	}
	if _, box, ok := CanonicalSticky(body); !ok || !box.Ticked {
		t.Error("the comment lost its box")
	}
}

func TestRoleQualifies(t *testing.T) {
	for _, tt := range []struct {
		policy analyzer.ApprovalConfig
		role   string
		want   bool
	}{
		{analyzer.ApprovalConfig{}, "write", true},
		{analyzer.ApprovalConfig{}, "triage", false},
		{analyzer.ApprovalConfig{}, "read", false},
		{analyzer.ApprovalConfig{}, "", false},
		{analyzer.ApprovalConfig{MinRole: "admin"}, "maintain", true},
		{analyzer.ApprovalConfig{MinRole: "maintain"}, "write", false},
		{analyzer.ApprovalConfig{MinRole: "read"}, "read", true},
		{analyzer.ApprovalConfig{}, "db-reviewer", false},
		{analyzer.ApprovalConfig{MinRole: "read"}, "db-reviewer", false},
		{analyzer.ApprovalConfig{Roles: []string{"db-reviewer"}}, "db-reviewer", true},
	} {
		if got := tt.policy.RoleQualifies(tt.role); got != tt.want {
			t.Errorf("%+v %q: %v, want %v", tt.policy, tt.role, got, tt.want)
		}
	}
	for _, bad := range []string{"approval:\n  min_role: owner\n", "approval:\n  teams: [\"a/b/c\"]\n", "approval:\n  teams: [\"/x\"]\n", "approval:\n  roles: [\"\"]\n", "approval:\n  roles: [write]\n"} {
		if _, err := analyzer.ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	cfg, err := analyzer.ParseConfig([]byte("approval:\n  min_role: maintain\n  roles: [db-reviewer]\n  users: [dave]\n  teams: [acme/dba, ops]\n  allow_author: true\n  severities: [danger, warning]\n"))
	if err != nil || !cfg.Approval.RoleQualifies("db-reviewer") || !cfg.Approval.AllowAuthor || !cfg.NeedsApproval(analyzer.Warning) {
		t.Errorf("config: %+v %v", cfg.Approval, err)
	}
}
