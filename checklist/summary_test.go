package checklist

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer"
)

// analyzeChange judges one goose migration against a base that creates the
// tables.
func analyzeChange(t *testing.T, body string) *analyzer.Report {
	t.Helper()
	init := "-- +goose Up\nCREATE TABLE t (id bigint PRIMARY KEY, email text, note text);\n-- +goose Down\nDROP TABLE t;\n"
	base := fstest.MapFS{"db/migrations/00001_init.sql": {Data: []byte(init)}}
	head := fstest.MapFS{"db/migrations/00001_init.sql": {Data: []byte(init)},
		"db/migrations/00002_change.sql": {Data: []byte("-- +goose Up\nSET lock_timeout = '2s';\n" + body + "\n-- +goose Down\nSELECT 1;\n")}}
	rep, err := analyzer.Analyze(context.Background(), analyzer.Request{Base: base, Head: head, Changed: []string{"db/migrations/00002_change.sql"}, Config: analyzer.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The six-question summary counts every blocking scan or rewrite under
// question 6, also one reported as another question's finding, and a
// finding counted twice needs one approval.
func TestSummaryCountsFoldedLockWork(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		q3, q6     int
		worst6     string
		approvals6 int
	}{
		{"a CHECK's scan is question 3's finding and question 6's work", "ALTER TABLE t ADD CONSTRAINT c CHECK (id > 0);", 1, 1, "danger", 1},
		{"SET NOT NULL too", "ALTER TABLE t ALTER COLUMN email SET NOT NULL;", 1, 1, "danger", 1},
		{"a NOT VALID CHECK scans nothing", "ALTER TABLE t ADD CONSTRAINT c CHECK (id > 0) NOT VALID;", 0, 0, "", 0},
		{"VALIDATE in the transaction of its NOT VALID scans under the ADD's lock",
			"ALTER TABLE t ADD CONSTRAINT c CHECK (id > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;", 1, 1, "danger", 1},
		{"a unique index: two findings, neither hiding the other", "CREATE UNIQUE INDEX t_email_uq ON t (email);", 1, 1, "danger", 1},
		{"a plain index is question 6 alone", "CREATE INDEX t_note_idx ON t (note);", 0, 1, "danger", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := analyzeChange(t, tt.body)
			sum := Summarize(rep)
			q3, q6 := sum[2], sum[5]
			if q3.Count != tt.q3 || q6.Count != tt.q6 || q6.Worst != tt.worst6 || q6.RequiresApproval != tt.approvals6 {
				t.Errorf("Q3 %+v, Q6 %+v; want Q3 count %d, Q6 count %d worst %q approvals %d", q3, q6, tt.q3, tt.q6, tt.worst6, tt.approvals6)
				for _, l := range rep.AllFindings() {
					t.Logf("  %s Q%d %v: %s", l.Finding.Rule, l.Finding.Question, l.Finding.AlsoQuestions, l.Finding.Message)
				}
			}
			md := SummaryTable(rep)
			if tt.q6 > 0 && !strings.Contains(md, "| 6 | "+analyzer.QLocks.Title()+" | "+plural(tt.q6, "finding", "findings")) {
				t.Errorf("the Markdown summary does not count question 6:\n%s", md)
			}
			var text strings.Builder
			if err := WriteText(&text, rep, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if tt.q6 > 0 && !strings.Contains(text.String(), "6. Locks         "+tt.worst6) {
				t.Errorf("the text summary does not count question 6:\n%s", text.String())
			}
			// A folded finding says which other question it answers.
			folded := tt.q3 > 0 && tt.q6 > 0 && !strings.Contains(tt.name, "unique index")
			if got := strings.Contains(text.String(), "Q3 Constraints (also Q6 Locks)"); got != folded {
				t.Errorf("text: folded finding marked %v, want %v:\n%s", got, folded, text.String())
			}
			if got := strings.Contains(Markdown(rep, MarkdownOptions{}), "Q3 Constraints (also Q6 Locks)"); got != folded {
				t.Errorf("markdown: folded finding marked %v, want %v", got, folded)
			}
		})
	}
}
