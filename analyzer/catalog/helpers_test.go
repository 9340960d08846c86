package catalog

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

type migration struct {
	path string
	sql  string
}

func replayFiles(t *testing.T) []migration {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "replay", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	var out []migration
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, migration{path: filepath.ToSlash(p), sql: string(b)})
	}
	if len(out) < 12 {
		t.Fatalf("expected at least 12 replay migrations, found %d", len(out))
	}
	return out
}

// replay applies the migrations the way the analyzer does: a fresh session
// per file, the first half as base and the rest as the change set.
func replay(t *testing.T, files []migration) *Catalog {
	t.Helper()
	c := New()
	for i, f := range files {
		if i == len(files)/2 {
			c.BeginChangeSet()
		}
		c.ResetSession()
		if err := c.ApplySQL(f.path, f.sql); err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
	}
	checkRoundTrip(t, c)
	return c
}

// build applies SQL to a fresh catalog and fails the test on a parse error.
func build(t *testing.T, sql string) *Catalog {
	t.Helper()
	c := New()
	mustApply(t, c, sql)
	return c
}

func mustApply(t *testing.T, c *Catalog, sql string) {
	t.Helper()
	if err := c.ApplySQL("test.sql", sql); err != nil {
		t.Fatalf("parse %q: %v", sql, err)
	}
	// Every catalog a test builds must come back whole from its encoding
	// (the cache of replayed histories relies on it).
	checkRoundTrip(t, c)
}

func parseOne(t *testing.T, sql string) *pg_query.Node {
	t.Helper()
	res, err := pg_query.Parse(sql)
	if err != nil || len(res.GetStmts()) != 1 {
		t.Fatalf("parse %q: %v", sql, err)
	}
	return res.GetStmts()[0].GetStmt()
}
