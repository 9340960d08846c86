package analyzer

import (
	"strings"
	"testing"
)

// TestLockTimeoutNamesFirstBlockingLock: the missing-lock-timeout finding
// names the first lock of the statement that blocks an existing relation
// (an index's with its own message, a type's never), as when every
// blocking lock was listed and the first taken.
func TestLockTimeoutNamesFirstBlockingLock(t *testing.T) {
	tests := []struct {
		sql  string
		want string // the message up to " with no lock_timeout", "" for none
	}{
		{"ALTER TABLE orders ADD COLUMN extra int;", "takes ACCESS EXCLUSIVE on public.orders"},
		{"DROP INDEX orders_customer_id_idx;", "takes ACCESS EXCLUSIVE on public.orders"},
		{"ALTER INDEX orders_customer_id_idx RENAME TO orders_cust_idx;", ""},
		{"ALTER TYPE order_status ADD VALUE 'shipped';", ""},
		{"CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);", ""},
		{"ALTER TABLE orders ADD CONSTRAINT orders_customer_fk2 FOREIGN KEY (customer_id) REFERENCES customers (id);", "takes SHARE ROW EXCLUSIVE on public.orders"},
		{"SELECT 1;", ""},
		{"REINDEX INDEX orders_customer_id_idx;", "takes SHARE on public.orders"},
		{"ALTER INDEX orders_customer_id_idx SET (fillfactor = 70);", ""},
		{"ALTER INDEX orders_customer_id_idx SET TABLESPACE pg_default;", "takes ACCESS EXCLUSIVE on index public.orders_customer_id_idx"},
		{"ALTER TYPE order_status ADD VALUE 'shipped';\nALTER TABLE orders ADD COLUMN extra int;", "takes ACCESS EXCLUSIVE on public.orders"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(tt.sql)}}.analyze(t)
			got := ""
			for _, l := range rep.AllFindings() {
				if l.Finding.Rule == ruleLockTimeout.ID {
					got, _, _ = strings.Cut(l.Finding.Message, " with no lock_timeout")
				}
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
