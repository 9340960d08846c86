package locks

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// FuzzAnalyze parses arbitrary SQL and judges every statement against the
// test schema, applying each to the catalog afterwards as the analyzer
// does, so later statements see what earlier ones created. It checks that
// Analyze never panics and that every impact is well formed.
func FuzzAnalyze(f *testing.F) {
	for _, c := range analyzeCases {
		f.Add(c.sql, uint8(c.ver))
	}
	for _, c := range liveCases {
		f.Add(c.setup+";\n"+c.sql, uint8(15))
	}
	f.Add("ALTER TABLE t ADD COLUMN c int DEFAULT random(), ALTER COLUMN email SET NOT NULL, ADD CONSTRAINT k CHECK (amount > 0) NOT VALID", uint8(11))
	f.Add("CREATE TABLE z (id int PRIMARY KEY) PARTITION BY LIST (id); CREATE TABLE z1 PARTITION OF z DEFAULT; ALTER TABLE z DETACH PARTITION z1 CONCURRENTLY", uint8(17))
	base := catalogFor(f, baseSchema)
	f.Fuzz(func(t *testing.T, sql string, ver uint8) {
		res, err := pg_query.Parse(sql)
		if err != nil {
			return
		}
		cat := base.Clone()
		opts := []Options{{PostgresVersion: int(ver)}, {PostgresVersion: 15, TypeChange: typeChange}}
		for _, raw := range res.GetStmts() {
			for _, opt := range opts {
				checkWellFormed(t, Analyze(raw.GetStmt(), cat, opt))
			}
			cat.Apply(raw.GetStmt())
		}
	})
}

func checkWellFormed(t *testing.T, imp Impact) {
	t.Helper()
	seen := map[string]bool{}
	for _, l := range imp.Locks {
		if l.Relation == "" || !l.Mode.valid() || l.Kind == "" {
			t.Fatalf("malformed lock %+v", l)
		}
		if seen[l.Relation] {
			t.Fatalf("%s listed twice: %+v", l.Relation, imp.Locks)
		}
		seen[l.Relation] = true
	}
	switch imp.Work {
	case Metadata:
		if imp.Subject != "" || imp.Scans != 0 {
			t.Fatalf("metadata with subject %q and %d scans", imp.Subject, imp.Scans)
		}
	case Scan, Rewrite, IndexBuild, Backfill:
		if imp.Scans < 0 {
			t.Fatalf("negative scans")
		}
	default:
		t.Fatalf("unknown work %q", imp.Work)
	}
}
