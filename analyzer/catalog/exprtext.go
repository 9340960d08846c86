package catalog

import (
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// exprTexts keeps, for a catalog and its copies, the SQL text of the
// expressions deparsed (defaults, checks, index expressions and
// predicates): a history repeats a handful of them (now(), 0, false,
// gen_random_uuid()) in every file, and each deparse is a round trip
// through the C library. Texts are kept by the protobuf encoding of the
// expression's tree with its locations cleared (pgtree.DeparseKey): the deparser
// prints no location, so trees equal but for where they stand in their
// texts deparse alike. It is shared by a catalog and its copies, so it
// lives as long as the run's catalog; a write adds a key and never
// changes a kept text, and a mutex makes it safe for concurrent use. A
// nil *exprTexts keeps nothing.
type exprTexts struct {
	mu     sync.Mutex
	byTree map[string]string
}

func newExprTexts() *exprTexts { return &exprTexts{byTree: map[string]string{}} }

// deparseExpr is deparseExpr(n), kept in c's exprTexts.
func (c *Catalog) deparseExpr(n *pg_query.Node) string {
	return c.texts.of(n)
}

// of returns deparseExpr(n), deparsing it only when no tree of the same
// key was deparsed before.
func (k *exprTexts) of(n *pg_query.Node) string {
	if k == nil || n == nil {
		return deparseExpr(n)
	}
	key, ok := pgtree.DeparseKey(n)
	if !ok {
		return deparseExpr(n)
	}
	k.mu.Lock()
	text, kept := k.byTree[key]
	k.mu.Unlock()
	if kept {
		return text
	}
	text = deparseExpr(n)
	k.mu.Lock()
	k.byTree[key] = text
	k.mu.Unlock()
	return text
}
