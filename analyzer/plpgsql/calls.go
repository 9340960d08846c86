package plpgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// CalledNames returns the names (pgtree.Names) of the functions the
// body's statements call: each function call and CALL, in the order
// pgtree.Walk meets them in each statement's tree in turn.
func (b *Body) CalledNames() [][]string {
	var names [][]string
	for _, bs := range b.Stmts {
		pgtree.Walk(bs.Stmt.Node, func(n *pg_query.Node) bool {
			if fc := n.GetFuncCall(); fc != nil && fc.GetFuncname() != nil {
				names = append(names, pgtree.Names(fc.GetFuncname()))
			} else if cs := n.GetCallStmt(); cs != nil && cs.GetFunccall().GetFuncname() != nil {
				names = append(names, pgtree.Names(cs.GetFunccall().GetFuncname()))
			}
			return true
		})
	}
	return names
}
