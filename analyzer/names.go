package analyzer

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// quoteIdent quotes an identifier as PostgreSQL's quote_ident does, so
// that safe alternatives can be pasted as they are.
func quoteIdent(name string) string { return catalog.QuoteIdent(name) }

// qualified joins and quotes name parts: qualified("public", "orders") is public.orders.
func qualified(parts ...string) string {
	var q []string
	for _, p := range parts {
		if p != "" {
			q = append(q, quoteIdent(p))
		}
	}
	return strings.Join(q, ".")
}

// rangeVarName is a relation as the statement wrote it, quoted as needed.
func rangeVarName(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	return qualified(rv.GetCatalogname(), rv.GetSchemaname(), rv.GetRelname())
}

// objectNames reads the names of a DROP's objects: a List of Strings for
// most kinds, a TypeName for types and domains, a bare String for schemas.
func objectNames(n *pg_query.Node) []string {
	switch {
	case n.GetList() != nil:
		return pgtree.Names(n.GetList().GetItems())
	case n.GetTypeName() != nil:
		return pgtree.Names(n.GetTypeName().GetNames())
	case n.GetString_() != nil:
		return []string{n.GetString_().GetSval()}
	case n.GetObjectWithArgs() != nil:
		return pgtree.Names(n.GetObjectWithArgs().GetObjname())
	}
	return nil
}

// splitSchema separates an optional schema from an object's qualified name.
func splitSchema(parts []string) (schema, name string) {
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}
