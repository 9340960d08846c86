package catalog

import (
	"strconv"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// maxIdentLen is NAMEDATALEN-1: PostgreSQL truncates longer names.
const maxIdentLen = 63

// QuoteIdent quotes an identifier when PostgreSQL's quote_ident would: when it
// is not all lower-case letters, digits and underscores, or is a keyword
// other than an unreserved one.
func QuoteIdent(s string) string {
	safe := s != "" && (s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))
	for i := 0; safe && i < len(s); i++ {
		ch := s[i]
		safe = ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
	}
	if safe && isReservedWord(s) {
		safe = false
	}
	if safe {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// isReservedWord says whether s, lower-case letters, digits and
// underscores, is a keyword that quote_ident quotes (quotedKeywords).
func isReservedWord(s string) bool {
	_, quoted := quotedKeywords[s]
	return quoted
}

// clipBytes shortens s to at most n bytes without splitting a character, as
// pg_mbcliplen does.
func clipBytes(s string, n int) string {
	if n >= len(s) {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// makeObjectName is PostgreSQL's makeObjectName: name1_name2_label, with the
// longer of the two names shortened first to fit in 63 bytes.
func makeObjectName(name1, name2, label string) string {
	overhead := 0
	n1 := len(name1)
	n2 := 0
	if name2 != "" {
		n2 = len(name2)
		overhead++
	}
	if label != "" {
		overhead += len(label) + 1
	}
	avail := maxIdentLen - overhead
	for n1+n2 > avail && n1+n2 > 0 {
		if n1 > n2 {
			n1--
		} else {
			n2--
		}
	}
	var b strings.Builder
	b.WriteString(clipBytes(name1, n1))
	if name2 != "" {
		b.WriteString("_")
		b.WriteString(clipBytes(name2, n2))
	}
	if label != "" {
		b.WriteString("_")
		b.WriteString(label)
	}
	return b.String()
}

// relationNameTaken reports whether a relation-namespace object (table, view,
// index, sequence) already uses the name.
func (c *Catalog) relationNameTaken(schema, name string) bool {
	if c.tables.Has(qname{schema, name}) || c.sequences.Has(qname{schema, name}) {
		return true
	}
	return c.idx.refs[refIndexName].Get(qname{schema, name}).Len() > 0
}

// constraintNameTaken mirrors ConstraintNameExists: any table or domain
// constraint in the schema.
func (c *Catalog) constraintNameTaken(schema, name string) bool {
	return c.idx.constraints.Get(qname{schema, name}) > 0
}

// chooseRelationName is PostgreSQL's ChooseRelationName.
func (c *Catalog) chooseRelationName(name1, name2, label, schema string, isConstraint bool) string {
	mod := label
	for pass := 1; ; pass++ {
		name := makeObjectName(name1, name2, mod)
		if !c.relationNameTaken(schema, name) && (!isConstraint || !c.constraintNameTaken(schema, name)) {
			return name
		}
		mod = label + strconv.Itoa(pass)
	}
}

// chooseConstraintName is PostgreSQL's ChooseConstraintName.
func (c *Catalog) chooseConstraintName(name1, name2, label, schema string, others []string) string {
	mod := label
	for pass := 1; ; pass++ {
		name := makeObjectName(name1, name2, mod)
		taken := c.constraintNameTaken(schema, name)
		for _, o := range others {
			if o == name {
				taken = true
			}
		}
		if !taken {
			return name
		}
		mod = label + strconv.Itoa(pass)
	}
}

// nameAddition is ChooseIndexNameAddition / ChooseForeignKeyConstraintNameAddition:
// column names joined by "_", cut once it reaches NAMEDATALEN.
func nameAddition(cols []string) string {
	var b strings.Builder
	for _, n := range cols {
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		b.WriteString(clipBytes(n, maxIdentLen))
		if b.Len() >= maxIdentLen+1 {
			break
		}
	}
	return b.String()
}

// indexColumnNames is ChooseIndexColumnNames: key and INCLUDE column names,
// "expr" (or the name FigureIndexColname found) for expressions, made
// distinct with numeric suffixes.
func indexColumnNames(names []string) []string {
	var out []string
	for _, orig := range names {
		cur := orig
		for i := 1; ; i++ {
			dup := false
			for _, o := range out {
				if o == cur {
					dup = true
					break
				}
			}
			if !dup {
				break
			}
			suffix := strconv.Itoa(i)
			cur = clipBytes(orig, maxIdentLen-len(suffix)) + suffix
		}
		out = append(out, cur)
	}
	return out
}

// chooseIndexName is ChooseIndexName.
func (c *Catalog) chooseIndexName(table, schema string, colNames []string, exclusion, primary, isConstraint bool) string {
	switch {
	case primary:
		return c.chooseRelationName(table, "", "pkey", schema, true)
	case exclusion:
		return c.chooseRelationName(table, nameAddition(colNames), "excl", schema, true)
	case isConstraint:
		return c.chooseRelationName(table, nameAddition(colNames), "key", schema, true)
	}
	return c.chooseRelationName(table, nameAddition(colNames), "idx", schema, false)
}

// figureColname is FigureColnameInternal: the output name PostgreSQL gives an
// unnamed select-list expression, with its strength (0 = none found, 1 = a
// guess from a type name or keyword, 2 = a real name).
func figureColname(n *pg_query.Node) (string, int) {
	if n == nil {
		return "", 0
	}
	switch v := n.Node.(type) {
	case *pg_query.Node_ColumnRef:
		f := v.ColumnRef.GetFields()
		if len(f) > 0 {
			if s := f[len(f)-1].GetString_(); s != nil {
				return s.GetSval(), 2
			}
		}
	case *pg_query.Node_AIndirection:
		ind := v.AIndirection.GetIndirection()
		for i := len(ind) - 1; i >= 0; i-- {
			if s := ind[i].GetString_(); s != nil {
				return s.GetSval(), 2
			}
		}
		return figureColname(v.AIndirection.GetArg())
	case *pg_query.Node_FuncCall:
		f := v.FuncCall.GetFuncname()
		if len(f) > 0 {
			return f[len(f)-1].GetString_().GetSval(), 2
		}
	case *pg_query.Node_AExpr:
		if v.AExpr.GetKind() == pg_query.A_Expr_Kind_AEXPR_NULLIF {
			return "nullif", 2
		}
	case *pg_query.Node_TypeCast:
		name, strength := figureColname(v.TypeCast.GetArg())
		if strength <= 1 {
			names := v.TypeCast.GetTypeName().GetNames()
			if len(names) > 0 {
				return names[len(names)-1].GetString_().GetSval(), 1
			}
		}
		return name, strength
	case *pg_query.Node_CollateClause:
		return figureColname(v.CollateClause.GetArg())
	case *pg_query.Node_GroupingFunc:
		return "grouping", 2
	case *pg_query.Node_SubLink:
		switch v.SubLink.GetSubLinkType() {
		case pg_query.SubLinkType_EXISTS_SUBLINK:
			return "exists", 2
		case pg_query.SubLinkType_ARRAY_SUBLINK:
			return "array", 2
		case pg_query.SubLinkType_EXPR_SUBLINK:
			if sel := v.SubLink.GetSubselect().GetSelectStmt(); sel != nil && len(sel.GetTargetList()) > 0 {
				rt := sel.GetTargetList()[0].GetResTarget()
				if rt.GetName() != "" {
					return rt.GetName(), 2
				}
			}
		}
	case *pg_query.Node_CaseExpr:
		name, strength := figureColname(v.CaseExpr.GetDefresult())
		if strength <= 1 {
			return "case", 1
		}
		return name, strength
	case *pg_query.Node_AArrayExpr:
		return "array", 2
	case *pg_query.Node_RowExpr:
		return "row", 2
	case *pg_query.Node_CoalesceExpr:
		return "coalesce", 2
	case *pg_query.Node_MinMaxExpr:
		if v.MinMaxExpr.GetOp() == pg_query.MinMaxOp_IS_GREATEST {
			return "greatest", 2
		}
		return "least", 2
	case *pg_query.Node_SqlvalueFunction:
		switch v.SqlvalueFunction.GetOp() {
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
			return "current_date", 2
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:
			return "current_time", 2
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
			return "current_timestamp", 2
		case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME_N:
			return "localtime", 2
		case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
			return "localtimestamp", 2
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:
			return "current_role", 2
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER:
			return "current_user", 2
		case pg_query.SQLValueFunctionOp_SVFOP_USER:
			return "user", 2
		case pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:
			return "session_user", 2
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
			return "current_catalog", 2
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
			return "current_schema", 2
		}
	case *pg_query.Node_XmlExpr:
		return "xmlelement", 1
	}
	return "", 0
}

// deparseExpr renders an expression as SQL by deparsing "SELECT expr".
func deparseExpr(n *pg_query.Node) string {
	if n == nil {
		return ""
	}
	tree := &pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{
		SelectStmt: &pg_query.SelectStmt{TargetList: []*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: n}}}}},
	}}}}}
	out, err := pgtree.Deparse(tree)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(out, "SELECT ")
}

// deparseStmt renders a whole statement (a view's query).
func deparseStmt(n *pg_query.Node) string {
	if n == nil {
		return ""
	}
	out, err := pgtree.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: n}}})
	if err != nil {
		return ""
	}
	return out
}

// nameList turns a list of String nodes into (schema, name).
func nameList(nodes []*pg_query.Node) (string, string) {
	var parts []string
	for _, n := range nodes {
		parts = append(parts, n.GetString_().GetSval())
	}
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}
