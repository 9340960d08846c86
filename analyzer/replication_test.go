package analyzer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/prodstats"
)

// TestWALInFindings: the work that writes the table anew says how much WAL
// it writes (the figures are measured in internal/pgstats'
// TestWALEstimatesMatchServer), or what it scales with when the size is
// unknown; a concurrent index build, which no other finding reports, says
// it only when it is large; work that writes no WAL says nothing of it.
func TestWALInFindings(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		stats bool
		rule  string // the finding that must say it; "" for none
		want  string
		wal   int64 // the statement's Estimate.WALBytes
	}{
		{"a rewrite writes the table again", "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();", true,
			"table-rewrite", "it writes about 48.0 GB of WAL (the table and its indexes, written anew): replicas fall behind until they have replayed it", 48 << 30},
		{"a rewrite of a table of unknown size says what it scales with", "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();", false,
			"table-rewrite", "the WAL it writes is about the table's total size, and replicas fall behind", 0},
		{"an UPDATE of every row writes several times the table", "UPDATE orders SET note = '';", true,
			"update-without-where", "it writes about 160.0 GB of WAL (each row's new version", (3*40 + 5*8) << 30},
		{"a type change that rewrites", "ALTER TABLE orders ALTER COLUMN note TYPE bytea USING convert_to(note, 'UTF8');", true,
			"type-change-rewrite", "it writes about 48.0 GB of WAL", 48 << 30},
		{"a blocking index build writes the index", "CREATE INDEX orders_status_idx ON orders (status);", true,
			"blocking-index-build", "it writes about 2.7 GB of WAL (the index built, written whole)", (8 << 30) / 3},
		{"a concurrent build of a large index", "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);", true,
			"replication-lag", "builds an index on public.orders (~200.0M rows) without blocking writes, but it writes about 2.7 GB of WAL", (8 << 30) / 3},
		{"a concurrent build of a small index is not worth a finding", "CREATE INDEX CONCURRENTLY customers_name_idx ON customers (name);", true,
			"", "", (100 << 10) / 2},
		{"a concurrent build of an index of unknown size is not either", "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);", false,
			"", "", 0},
		{"SET UNLOGGED writes no WAL", "ALTER TABLE orders SET UNLOGGED;", true, "table-rewrite", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stats *prodstats.File
			if tt.stats {
				stats = shopStats(t, nil)
			}
			rep := change{base: shopBase, changed: map[string]string{next: goose("SET lock_timeout = '2s';\n" + tt.body)}}.analyzeWithStats(t, stats)
			var saying []string
			for _, l := range rep.AllFindings() {
				if strings.Contains(l.Finding.Message, "of WAL") || strings.Contains(l.Finding.Message, "the WAL it writes") {
					saying = append(saying, l.Finding.Rule+": "+l.Finding.Message)
				}
			}
			switch {
			case tt.want == "" && len(saying) > 0:
				t.Errorf("no finding should speak of WAL: %q", saying)
			case tt.want != "" && (len(saying) != 1 || !strings.HasPrefix(saying[0], tt.rule+": ") || !strings.Contains(saying[0], tt.want)):
				t.Errorf("want one %s finding saying %q, got %q", tt.rule, tt.want, saying)
			}
			if tt.rule == "replication-lag" || tt.name == "a concurrent build of a small index is not worth a finding" {
				if g := findingsOf(rep, ruleReplicationLag.ID); (g == 1) != (tt.rule == "replication-lag") {
					t.Errorf("%d replication-lag findings", g)
				}
			}
			var wal int64
			for _, st := range rep.Files[0].Statements {
				if st.Estimate != nil {
					wal = st.Estimate.WALBytes
				}
			}
			if wal != tt.wal {
				t.Errorf("Estimate.WALBytes = %d, want %d", wal, tt.wal)
			}
		})
	}
}

func findingsOf(rep *Report, rule string) int {
	n := 0
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == rule {
			n++
		}
	}
	return n
}

// TestExistingRowsCounted: with a statistics file, the existing rows are
// counted; the finding is info and never asks for approval.
func TestExistingRowsCounted(t *testing.T) {
	rep := change{base: shopBase, changed: map[string]string{next: goose("SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN region text, ALTER COLUMN note SET DEFAULT '';")}}.analyzeWithStats(t, shopStats(t, nil))
	f := findingOf(t, rep, ruleExistingRows.ID)
	for _, want := range []string{"ADD COLUMN public.orders.region without a default: the ~200.0M existing rows hold NULL in it",
		"; and SET DEFAULT '' on public.orders.note: only rows inserted later that leave the column out get ''; the ~200.0M existing rows keep what they hold"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q: %s", want, f.Message)
		}
	}
	if f.Severity != Info || f.RequiresApproval || strings.Join(f.Objects, " ") != "public.orders.region public.orders.note" {
		t.Errorf("severity %s, approval %v, objects %v", f.Severity, f.RequiresApproval, f.Objects)
	}
	// A column added NOT NULL without a default fails: it holds nothing.
	rep = change{base: shopBase, changed: map[string]string{next: goose("SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN region text NOT NULL;")}}.analyze(t)
	if n := findingsOf(rep, ruleExistingRows.ID); n != 0 {
		t.Errorf("%d existing-rows findings on an ADD COLUMN that fails", n)
	}
	// A table created in the change has no rows.
	rep = change{base: shopBase, changed: map[string]string{next: goose("CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN region text DEFAULT 'eu';")}}.analyze(t)
	if n := findingsOf(rep, ruleExistingRows.ID); n != 0 {
		t.Errorf("%d existing-rows findings on a new table", n)
	}
}

// TestExistingRowsFolded: what the old rows hold after one migration is one
// finding, on its first statement, each statement's part by its line; a
// suppressed one stays apart.
func TestExistingRowsFolded(t *testing.T) {
	rep := change{base: shopBase, changed: map[string]string{next: goose("SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN region text;\nALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';\n" +
		"-- migration-guard:ignore existing-rows reason=\"known\"\nALTER TABLE customers ADD COLUMN flag boolean DEFAULT false;\nALTER TABLE customers ADD COLUMN seen_at timestamptz DEFAULT now();")}}.analyze(t)
	var got []string
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleExistingRows.ID {
			got = append(got, fmt.Sprintf("%d %v %s | %s", l.Statement.Start.Line, l.Finding.Suppressed != nil, strings.Join(l.Finding.Objects, ","), l.Finding.Message))
		}
	}
	if len(got) != 2 {
		t.Fatalf("want 2 existing-rows findings, got %q", got)
	}
	for i, want := range []string{
		"3 false public.orders.region,public.customers.seen_at | line 3: ADD COLUMN public.orders.region without a default: the existing rows hold NULL in it; new rows get NULL too unless the INSERT gives a value; " +
			"line 4: SET DEFAULT 'eu' on public.orders.region: only rows inserted later that leave the column out get 'eu'; the existing rows keep what they hold: NULL, since the column was added at line 3 without a default, wherever nothing has filled them since; " +
			"line 7: ADD COLUMN public.customers.seen_at DEFAULT now(): the existing rows all hold the one value now() has",
		"6 true public.customers.flag | ADD COLUMN public.customers.flag DEFAULT false: the existing rows read false",
	} {
		if !strings.HasPrefix(got[i], want) {
			t.Errorf("finding %d:\n got  %s\n want %s...", i, got[i], want)
		}
	}
}
