package analyzer

import (
	"slices"
	"testing"
)

// TestStatementsKeepTheirOwnFields: judgePart builds every statement, and
// its context, in one Statement and one stmtContext set anew for each.
// Each statement of a part keeps what was found of it after later
// statements were judged, and carries nothing of the statement before it
// (findings, locks, objects, kind): what separate values per statement
// gave.
func TestStatementsKeepTheirOwnFields(t *testing.T) {
	type want struct {
		kind  string
		rules []string // rules of the statement's findings, sorted
		locks bool
		objs  bool
	}
	tests := []struct {
		name  string
		body  string
		wants []want
	}{
		{
			name: "findings and locks, then a statement without",
			body: "ALTER TABLE orders ALTER COLUMN note TYPE varchar(10);\nSELECT 1;\nCREATE INDEX orders_status_idx ON orders (status);",
			wants: []want{
				{"AlterTableStmt", []string{"missing-lock-timeout", "type-narrowing"}, true, true},
				{"SelectStmt", nil, false, false},
				{"IndexStmt", []string{"blocking-index-build", "work-while-holding-lock"}, true, true},
				{"SelectStmt", nil, false, false}, // the down part
			},
		},
		{
			name: "a statement without, then findings",
			body: "SELECT 1;\nDROP TABLE customers CASCADE;\nSELECT 2;",
			wants: []want{
				{"SelectStmt", nil, false, false},
				{"DropStmt", []string{"drop-table", "missing-lock-timeout"}, true, true},
				{"SelectStmt", nil, false, false},
				{"SelectStmt", nil, false, false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(tt.body)}}.analyze(t)
			var f *File
			for i := range rep.Files {
				if rep.Files[i].Path == next {
					f = &rep.Files[i]
				}
			}
			if f == nil {
				t.Fatalf("no file %s", next)
			}
			if len(f.Statements) != len(tt.wants) {
				t.Fatalf("%d statements, want %d", len(f.Statements), len(tt.wants))
			}
			for i, w := range tt.wants {
				s := &f.Statements[i]
				var rules []string
				for _, fd := range s.Findings {
					rules = append(rules, fd.Rule)
					// A finding is marked on its own statement's lines.
					if fd.Marker.Line < s.Start.Line || fd.Marker.Line > s.End.Line {
						t.Errorf("statement %d (lines %d-%d): %s marked at line %d", i, s.Start.Line, s.End.Line, fd.Rule, fd.Marker.Line)
					}
				}
				slices.Sort(rules)
				if s.Kind != w.kind || !slices.Equal(rules, w.rules) || (len(s.Locks) > 0) != w.locks || (len(s.Objects) > 0) != w.objs {
					t.Errorf("statement %d %q: kind %s, rules %v, %d locks, objects %v; want %+v", i, s.SQL, s.Kind, rules, len(s.Locks), s.Objects, w)
				}
			}
		})
	}
}
