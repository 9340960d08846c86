package pgtree

import (
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// DeparseKey is the protobuf encoding of a copy of n with the locations
// of the messages an expression or a function's signature usually holds
// cleared, for keeping what n deparses to: the deparser prints no
// location, so trees equal but for where they stand in their texts
// deparse alike. n itself, often shared with the statement it came from,
// is not written. A location left (a rarer message) only keeps two keys
// apart. ok is false when the tree cannot be encoded.
func DeparseKey(n *pg_query.Node) (string, bool) {
	c := Clone(n)
	WalkMessages(c, func(m protoreflect.ProtoMessage) bool {
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
	enc, err := Marshal(c)
	if err != nil {
		return "", false
	}
	return string(enc), true
}

// DeparseMemo keeps what trees deparse to, by DeparseKey, for a run: the
// same expression or signature stands again and again in a history, and
// each deparse is a round trip through the C library. A write adds a key
// and never changes a kept text; a mutex makes it safe for concurrent use.
// A nil *DeparseMemo keeps nothing.
type DeparseMemo struct {
	mu    sync.Mutex
	texts map[string]string
}

// NewDeparseMemo returns an empty memo.
func NewDeparseMemo() *DeparseMemo { return &DeparseMemo{texts: map[string]string{}} }

// Of returns deparse(n), calling deparse only when no tree of the same key
// was deparsed before, and always for a tree without a key.
func (m *DeparseMemo) Of(n *pg_query.Node, deparse func(*pg_query.Node) string) string {
	if m == nil || n == nil {
		return deparse(n)
	}
	key, ok := DeparseKey(n)
	if !ok {
		return deparse(n)
	}
	m.mu.Lock()
	text, kept := m.texts[key]
	m.mu.Unlock()
	if kept {
		return text
	}
	text = deparse(n)
	m.mu.Lock()
	m.texts[key] = text
	m.mu.Unlock()
	return text
}

// Len is the number of texts m keeps.
func (m *DeparseMemo) Len() int {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.texts)
}
