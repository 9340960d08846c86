package catalog

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// columnRefNames lists the distinct column names an expression references
// (the last field of each ColumnRef), in order of first appearance. Sub-selects
// are not entered: their columns belong to other tables.
func columnRefNames(n *pg_query.Node) []string {
	var out []string
	seen := map[string]bool{}
	pgtree.Walk(n, func(x *pg_query.Node) bool {
		if x.GetSubLink() != nil {
			return false
		}
		if cr := x.GetColumnRef(); cr != nil {
			f := cr.GetFields()
			if len(f) > 0 {
				if s := f[len(f)-1].GetString_(); s != nil && !seen[s.GetSval()] {
					seen[s.GetSval()] = true
					out = append(out, s.GetSval())
				}
			}
			return false
		}
		return true
	})
	return out
}

// notNullCheckColumn returns the column of a "col IS NOT NULL" check.
func notNullCheckColumn(n *pg_query.Node) string {
	nt := n.GetNullTest()
	if nt == nil || nt.GetNulltesttype() != pg_query.NullTestType_IS_NOT_NULL {
		return ""
	}
	f := nt.GetArg().GetColumnRef().GetFields()
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1].GetString_().GetSval()
}

// splitQualifiedName splits the text of a regclass literal such as
// 'app."Orders_id_seq"' into schema and name, honouring double quotes and
// folding unquoted parts to lower case as PostgreSQL does.
func splitQualifiedName(s string) (string, string) {
	var parts []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case inQuote && ch == '"' && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case ch == '"':
			inQuote = !inQuote
		case !inQuote && ch == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		case !inQuote && ch >= 'A' && ch <= 'Z':
			cur.WriteByte(ch + ('a' - 'A'))
		case !inQuote && (ch == ' ' || ch == '\t' || ch == '\n'):
		default:
			cur.WriteByte(ch)
		}
	}
	parts = append(parts, cur.String())
	if len(parts) == 1 {
		return "", parts[0]
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// nextvalSequence returns the sequence name written in a nextval('...')
// default, as (schema, name); schema is "" when unqualified.
func nextvalSequence(n *pg_query.Node) (string, string, bool) {
	fc := n.GetFuncCall()
	if fc == nil {
		return "", "", false
	}
	_, fname := nameList(fc.GetFuncname())
	if fname != "nextval" || len(fc.GetArgs()) != 1 {
		return "", "", false
	}
	arg := fc.GetArgs()[0]
	if tc := arg.GetTypeCast(); tc != nil {
		arg = tc.GetArg()
	}
	s := arg.GetAConst().GetSval()
	if s == nil {
		return "", "", false
	}
	schema, name := splitQualifiedName(s.GetSval())
	return schema, name, true
}

// parseExpr parses a standalone SQL expression.
func parseExpr(sql string) *pg_query.Node {
	res, err := pgtree.Parse("SELECT " + sql)
	if err != nil || len(res.GetStmts()) != 1 {
		return nil
	}
	tl := res.GetStmts()[0].GetStmt().GetSelectStmt().GetTargetList()
	if len(tl) != 1 {
		return nil
	}
	return tl[0].GetResTarget().GetVal()
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
