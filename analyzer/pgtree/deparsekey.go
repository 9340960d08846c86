package pgtree

import (
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
