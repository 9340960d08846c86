package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// exprCases are expressions of the kinds a catalog deparses, each also
// written with other spacing so that the same tree stands elsewhere.
var exprCases = []string{
	"now()", "0", "false", "true", "NULL", "'x'", "'x'::text", "-1.5", "B'101'",
	"gen_random_uuid()", "CURRENT_TIMESTAMP", "current_timestamp(3)", "CURRENT_USER", "localtime",
	"nextval('s'::regclass)", "(a > 0) AND (b < 10) OR c IS NULL", "a IS NOT TRUE", "NOT a",
	"CASE WHEN a = 1 THEN 'one' WHEN a = 2 THEN 'two' ELSE 'many' END", "CASE a WHEN 1 THEN 2 END",
	"coalesce(a, b, 0)", "greatest(a, 1)", "least(a, b)", "ARRAY[1, 2, 3]", "'{}'::text[]", "ROW(1, 2)",
	"a IN (1, 2, 3)", "a = ANY (ARRAY['x', 'y'])", "lower(email)", "(lower((email)::text))",
	"a BETWEEN 1 AND 2", "a LIKE 'x%'", "a COLLATE \"C\"", "EXISTS (SELECT 1 FROM t WHERE t.a = b)",
	"a::numeric(10, 2)", "(data ->> 'k')::int", "date_trunc('day', created_at)", "interval '1 day'",
	"jsonb_build_object('a', 1)", "length(name) <= 63", "a % 2 = 0", "char_length(x) BETWEEN 1 AND 255",
	"deleted_at IS NULL", "status <> 'done'::status", "x ~ '^[a-z]+$'", "$1",
}

// TestExprTextsEqualFreshDeparse: the text exprTexts hands out, deparsed
// or kept, is always deparseExpr's text of the tree asked about, for
// expressions that differ and for the same expression standing at other
// places (each case twice, after a prefix of spaces, and at the end of a
// longer list); and asking writes no tree it is given.
func TestExprTextsEqualFreshDeparse(t *testing.T) {
	var trees []*pg_query.Node
	for _, e := range exprCases {
		for _, text := range []string{e, "    " + e, "1, " + e} {
			res, err := pgtree.Parse("SELECT " + text)
			if err != nil {
				t.Fatalf("%s: %v", text, err)
			}
			tl := res.GetStmts()[0].GetStmt().GetSelectStmt().GetTargetList()
			trees = append(trees, tl[len(tl)-1].GetResTarget().GetVal())
		}
	}
	trees = append(trees, replayExprs(t)...)
	checkExprTexts(t, pgtree.NewDeparseMemo(), trees)
}

// replayExprs lists the defaults, checks and predicates of the replay
// tests' migrations, many of which repeat.
func replayExprs(t *testing.T) []*pg_query.Node {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "replay", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no replay migrations: %v", err)
	}
	var out []*pg_query.Node
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := pgtree.Parse(string(text))
		if err != nil {
			continue
		}
		for _, st := range res.GetStmts() {
			pgtree.Walk(st.GetStmt(), func(n *pg_query.Node) bool {
				if k := n.GetConstraint(); k != nil {
					out = append(out, k.GetRawExpr(), k.GetWhereClause())
				}
				if ix := n.GetIndexStmt(); ix != nil {
					out = append(out, ix.GetWhereClause())
				}
				if e := n.GetIndexElem(); e != nil {
					out = append(out, e.GetExpr())
				}
				return true
			})
		}
	}
	return out
}

// checkExprTexts asks k about every tree twice, from several goroutines,
// and compares each answer with a fresh deparse and each tree with its
// encoding before.
func checkExprTexts(t *testing.T, k *pgtree.DeparseMemo, trees []*pg_query.Node) {
	t.Helper()
	before := make([][]byte, len(trees))
	want := make([]string, len(trees))
	for i, n := range trees {
		if n == nil {
			continue
		}
		enc, err := pgtree.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		before[i] = enc
		want[i] = deparseExpr(n)
		if want[i] == "" {
			t.Errorf("%s: does not deparse", enc)
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 2; round++ {
				for i, n := range trees {
					if got := k.Of(n, deparseExpr); got != want[i] {
						t.Errorf("kept text %q, fresh deparse %q", got, want[i])
					}
				}
			}
		}()
	}
	wg.Wait()
	for i, n := range trees {
		if n == nil {
			continue
		}
		if enc, _ := pgtree.Marshal(n); !bytes.Equal(enc, before[i]) {
			t.Errorf("%q: the tree was written while its text was asked for", want[i])
		}
	}
	if (*pgtree.DeparseMemo)(nil).Of(trees[0], deparseExpr) != want[0] {
		t.Errorf("a nil memo's text differs from a fresh deparse")
	}
	// The same expression standing elsewhere shares one key: fewer kept
	// than asked about.
	distinct := map[string]bool{}
	for _, w := range want {
		distinct[w] = true
	}
	if k.Len() >= len(trees) || k.Len() < len(distinct)-1 {
		t.Errorf("kept %d texts for %d trees of %d texts", k.Len(), len(trees), len(distinct))
	}
}

// TestExprTextsSharedByCopies: a catalog's copies keep their texts in the
// catalog's memo of texts, and a decoded catalog has one of its own.
func TestExprTextsSharedByCopies(t *testing.T) {
	c := build(t, "CREATE TABLE t (a int DEFAULT 42, b text DEFAULT lower('X'))")
	cp := c.Clone()
	if cp.texts != c.texts || c.Snapshot().c.texts != c.texts {
		t.Fatal("a copy does not share the catalog's memo of texts")
	}
	mustApply(t, cp, "ALTER TABLE t ADD COLUMN c int DEFAULT 42")
	if got := cp.Table("", "t").Column("c").Default; got != "42" {
		t.Errorf("default %q, want 42", got)
	}
	if c.texts.Len() != 2 {
		t.Errorf("kept %d texts, want 2 (42 and lower('X'))", c.texts.Len())
	}
}
