package analyzer

import (
	"strings"
	"testing"
)

// TestSizeUnknownOnlyWhereSaid: without a statistics file, checkLocks
// writes what it knows of a relation's size only for the work it judges;
// the findings say it where they did when it was written for every
// statement, and no statement has an estimate.
func TestSizeUnknownOnlyWhereSaid(t *testing.T) {
	tests := []struct {
		sql  string
		want []string // rules of the findings that say the size is unknown
	}{
		{"ALTER TABLE orders ADD COLUMN extra int;", nil},
		{"ALTER TABLE orders ADD COLUMN made timestamptz NOT NULL DEFAULT clock_timestamp();", []string{"table-rewrite"}},
		{"ALTER TABLE orders ALTER COLUMN note TYPE varchar(10);", []string{"type-narrowing"}},
		{"ALTER TABLE orders ALTER COLUMN customer_id TYPE text;", nil},
		{"ALTER TABLE orders ALTER COLUMN status TYPE int;", nil},
		{"CREATE INDEX orders_status_idx ON orders (status);", []string{"blocking-index-build"}},
		{"CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);", nil},
		{"ALTER TABLE orders ADD CONSTRAINT orders_note_len CHECK (length(note) < 10);", []string{"add-check-constraint"}},
		{"ALTER TABLE orders ADD CONSTRAINT orders_note_len CHECK (length(note) < 10) NOT VALID;", nil},
		{"ALTER TABLE orders ALTER COLUMN note SET NOT NULL;", []string{"set-not-null"}},
		{"UPDATE orders SET note = 'x';", []string{"update-without-where"}},
		{"DELETE FROM orders;", []string{"delete-without-where"}},
		{"VACUUM FULL orders;", []string{"table-rewrite"}},
		{"CLUSTER orders USING orders_customer_id_idx;", []string{"table-rewrite"}},
		{"CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);\nUPDATE t SET id = 1;", nil},
		{"ALTER TABLE orders ADD COLUMN n int;\nUPDATE orders SET n = 1;", []string{"backfill"}},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(tt.sql)}}.analyze(t)
			var got []string
			for _, l := range rep.AllFindings() {
				if l.Statement != nil && l.Statement.Estimate != nil {
					t.Errorf("%q: an estimate without statistics", l.Statement.SQL)
				}
				if strings.Contains(l.Finding.Message, "is unknown (no statistics file") {
					got = append(got, l.Finding.Rule)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
