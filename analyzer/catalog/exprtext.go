package catalog

import (
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// exprTexts keeps, for a catalog and its copies, the SQL text of the
// expressions deparsed (defaults, checks, index expressions and
// predicates): a history repeats a handful of them (now(), 0, false,
// gen_random_uuid()) in every file, and each deparse is a round trip
// through the C library. Texts are kept by the protobuf encoding of the
// expression's tree with its locations cleared (exprKey): the deparser
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
	key, ok := exprKey(n)
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

// exprKey is the protobuf encoding of a copy of n with the locations of
// the messages an expression usually holds cleared; n itself, shared with
// the statement it came from, is not written. A location left (a rarer
// message) only keeps two expressions' keys apart. ok is false when the
// tree cannot be encoded.
func exprKey(n *pg_query.Node) (string, bool) {
	c := pgtree.Clone(n)
	pgtree.WalkMessages(c, func(m protoreflect.ProtoMessage) bool {
		switch v := m.(type) {
		case *pg_query.A_Const:
			v.Location = 0
		case *pg_query.ColumnRef:
			v.Location = 0
		case *pg_query.FuncCall:
			v.Location = 0
		case *pg_query.TypeCast:
			v.Location = 0
		case *pg_query.TypeName:
			v.Location = 0
		case *pg_query.A_Expr:
			v.Location = 0
		case *pg_query.A_ArrayExpr:
			v.Location = 0
		case *pg_query.BoolExpr:
			v.Location = 0
		case *pg_query.NullTest:
			v.Location = 0
		case *pg_query.BooleanTest:
			v.Location = 0
		case *pg_query.SubLink:
			v.Location = 0
		case *pg_query.CaseExpr:
			v.Location = 0
		case *pg_query.CaseWhen:
			v.Location = 0
		case *pg_query.CoalesceExpr:
			v.Location = 0
		case *pg_query.MinMaxExpr:
			v.Location = 0
		case *pg_query.SQLValueFunction:
			v.Location = 0
		case *pg_query.RowExpr:
			v.Location = 0
		case *pg_query.ParamRef:
			v.Location = 0
		case *pg_query.CollateClause:
			v.Location = 0
		}
		return true
	})
	enc, err := pgtree.Marshal(c)
	if err != nil {
		return "", false
	}
	return string(enc), true
}
