package analyzer

import (
	"slices"
	"strings"
	"testing"
)

// TestFailsAlterTableSubcommands: failsAlterTable follows the columns
// through a statement's subcommands without copying the table's into a
// map: a column added, dropped, added again or altered by an earlier
// subcommand of the same statement is seen as that subcommand leaves it.
// The findings are those the map of every column gave.
func TestFailsAlterTableSubcommands(t *testing.T) {
	tests := []struct {
		sql  string
		want []string // fails-against-schema messages, each cut at its first ';'
	}{
		{"ALTER TABLE orders ADD COLUMN note text;", []string{"PostgreSQL rejects it: column \"note\" of relation \"orders\" already exists (SQLSTATE 42701 duplicate_column): public.orders.note was added at db/migrations/00001_init.sql"}},
		{"ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;", nil},
		{"ALTER TABLE orders ADD COLUMN extra text, ADD COLUMN extra int;", nil},
		{"ALTER TABLE orders DROP COLUMN note, ADD COLUMN note text;", nil},
		{"ALTER TABLE orders DROP COLUMN note, DROP COLUMN note;", []string{"PostgreSQL rejects it: DROP COLUMN of column \"note\", which public.orders does not have (SQLSTATE 42703 undefined_column): public.orders was created by db/migrations/00001_init.sql and, after the migrations before this statement, has no column note"}},
		{"ALTER TABLE orders DROP COLUMN nope;", []string{"PostgreSQL rejects it: DROP COLUMN of column \"nope\", which public.orders does not have (SQLSTATE 42703 undefined_column): public.orders was created by db/migrations/00001_init.sql and, after the migrations before this statement, has no column nope"}},
		{"ALTER TABLE orders DROP COLUMN IF EXISTS nope;", nil},
		{"ALTER TABLE orders DROP COLUMN xmin;", nil},
		{"ALTER TABLE orders ALTER COLUMN nope TYPE int;", []string{"PostgreSQL rejects it: ALTER COLUMN of column \"nope\", which public.orders does not have (SQLSTATE 42703 undefined_column): public.orders was created by db/migrations/00001_init.sql and, after the migrations before this statement, has no column nope"}},
		{"ALTER TABLE orders ADD COLUMN extra int, ALTER COLUMN extra SET NOT NULL;", nil},
		{"ALTER TABLE orders DROP COLUMN note, ALTER COLUMN note SET DEFAULT 'x';", []string{"PostgreSQL rejects it: ALTER COLUMN of column \"note\", which public.orders does not have (SQLSTATE 42703 undefined_column): public.orders was created by db/migrations/00001_init.sql and, after the migrations before this statement, has no column note"}},
		{"ALTER TABLE orders ADD COLUMN extra int, DROP COLUMN extra, ALTER COLUMN extra DROP NOT NULL;", []string{"PostgreSQL rejects it: ALTER COLUMN of column \"extra\", which public.orders does not have (SQLSTATE 42703 undefined_column): public.orders was created by db/migrations/00001_init.sql and, after the migrations before this statement, has no column extra"}},
		{"ALTER TABLE orders ALTER COLUMN status DROP DEFAULT, ALTER COLUMN customer_id SET NOT NULL;", nil},
		{"ALTER TABLE customers ADD COLUMN email text, DROP COLUMN name, ADD COLUMN name text, ADD COLUMN name int;", []string{"PostgreSQL rejects it: column \"email\" of relation \"customers\" already exists (SQLSTATE 42701 duplicate_column): public.customers.email was added at db/migrations/00001_init.sql"}},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(tt.sql)}}.analyze(t)
			var got []string
			for _, l := range rep.AllFindings() {
				if l.Finding.Rule == ruleFailsAgainstSchema.ID {
					msg, _, _ := strings.Cut(l.Finding.Message, ";")
					got = append(got, msg)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
