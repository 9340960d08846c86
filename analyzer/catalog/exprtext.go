package catalog

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// deparseExpr is deparseExpr(n), kept in c's texts: the SQL text of the
// expressions deparsed (defaults, checks, index expressions and
// predicates), of which a history repeats a handful (now(), 0, false,
// gen_random_uuid()) in every file. The memo is shared by a catalog and
// its copies, so it lives as long as the run's catalog.
func (c *Catalog) deparseExpr(n *pg_query.Node) string {
	return c.texts.Of(n, deparseExpr)
}
