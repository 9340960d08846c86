package catalog

import (
	"fmt"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// benchHistory writes a history that grows to the given number of tables
// and exercises every lookup that used to scan the whole catalog: default
// names for indexes, constraints and sequences, foreign keys to earlier
// tables, views, renames of tables, columns, indexes and constraints, moves
// to another schema, partitions, and drops.
func benchHistory(tables int) string {
	var b strings.Builder
	b.WriteString("CREATE SCHEMA archive;\n")
	for i := 1; i <= tables; i++ {
		fmt.Fprintf(&b, "CREATE TABLE t%d (id bigserial PRIMARY KEY, account_id bigint NOT NULL, email text UNIQUE, "+
			"status text CHECK (status <> ''), amount numeric(12,2) DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now());\n", i)
		fmt.Fprintf(&b, "CREATE INDEX ON t%d (account_id, created_at);\n", i)
		fmt.Fprintf(&b, "ALTER TABLE t%d ADD CHECK (amount >= 0), ADD COLUMN note text;\n", i)
		if i > 1 {
			fmt.Fprintf(&b, "ALTER TABLE t%d ADD FOREIGN KEY (account_id) REFERENCES t%d (id) NOT VALID;\n", i, i-1)
			fmt.Fprintf(&b, "ALTER TABLE t%d VALIDATE CONSTRAINT t%d_account_id_fkey;\n", i, i)
			fmt.Fprintf(&b, "ALTER TABLE t%d RENAME COLUMN note TO remark;\n", i-1)
		}
		fmt.Fprintf(&b, "ALTER INDEX t%[1]d_account_id_created_at_idx RENAME TO t%[1]d_account_idx;\n", i)
		fmt.Fprintf(&b, "ALTER TABLE t%[1]d RENAME CONSTRAINT t%[1]d_status_check TO t%[1]d_status_valid;\n", i)
		fmt.Fprintf(&b, "CREATE VIEW v%[1]d AS SELECT id, email, amount FROM t%[1]d WHERE status = 'new';\n", i)
		switch i % 10 {
		case 3:
			fmt.Fprintf(&b, "CREATE TABLE e%[1]d (id bigint, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);\n"+
				"CREATE TABLE e%[1]d_2024 PARTITION OF e%[1]d FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"+
				"CREATE TABLE e%[1]d_2025 (LIKE e%[1]d);\n"+
				"ALTER TABLE e%[1]d ATTACH PARTITION e%[1]d_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n", i)
		case 7:
			fmt.Fprintf(&b, "DROP VIEW v%[1]d;\nALTER TABLE t%[1]d RENAME TO t%[1]d_old;\nALTER TABLE t%[1]d_old SET SCHEMA archive;\n", i-5)
		case 9:
			fmt.Fprintf(&b, "DROP TABLE archive.t%d_old CASCADE;\n", i-7)
		}
	}
	return b.String()
}

// BenchmarkApplyHistory replays histories of two sizes; ns/stmt must not
// grow with the size of the history.
func BenchmarkApplyHistory(b *testing.B) {
	// The tests' hooks check the indexes and copies after every statement:
	// the benchmark measures the replay alone.
	saved, savedBefore := testHookApplied, testHookBeforeApply
	testHookApplied, testHookBeforeApply = nil, nil
	b.Cleanup(func() { testHookApplied, testHookBeforeApply = saved, savedBefore })
	for _, tables := range []int{2000, 8000} {
		b.Run(fmt.Sprintf("tables=%d", tables), func(b *testing.B) {
			res, err := pg_query.Parse(benchHistory(tables))
			if err != nil {
				b.Fatal(err)
			}
			stmts := res.GetStmts()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c := New()
				for _, rs := range stmts {
					c.Apply(rs.GetStmt())
				}
				if c.tables.Len() < tables {
					b.Fatalf("%d relations, want at least %d", c.tables.Len(), tables)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(stmts)), "ns/stmt")
		})
	}
}

// TestBenchHistory makes sure the benchmark's statements do what they say,
// rather than being refused and measuring nothing.
func TestBenchHistory(t *testing.T) {
	c := build(t, benchHistory(28))
	for _, want := range []struct{ schema, table, index, constraint string }{
		{"public", "t28", "t28_account_idx", "t28_status_valid"},
		{"public", "t27", "t27_pkey", "t27_account_id_fkey"},
		{"archive", "t22_old", "t22_email_key", "t22_amount_check"},
		{"public", "e23_2025", "e23_2025_pkey", "e23_2025_pkey"},
	} {
		tb := c.Table(want.schema, want.table)
		if tb == nil || tb.Index(want.index) == nil || tb.Constraint(want.constraint) == nil {
			t.Errorf("%s.%s with index %s and constraint %s missing", want.schema, want.table, want.index, want.constraint)
		}
	}
	if c.Table("public", "t27").Column("remark") == nil || c.Table("archive", "t12_old") != nil || c.Table("public", "v22") != nil {
		t.Error("renames or drops of the history were not applied")
	}
	if p := c.Partitions(c.Table("", "e23")); len(p) != 2 {
		t.Errorf("e23 has %d partitions, want 2", len(p))
	}
}
