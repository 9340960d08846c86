package catalog

import (
	_ "embed"
	"slices"
	"strings"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
)

// builtinFunctionNames are the names of PostgreSQL 15's functions in
// pg_catalog, one a line, as `SELECT DISTINCT proname FROM pg_proc WHERE
// pronamespace = 'pg_catalog'::regnamespace` lists them
// (TestBuiltinFunctionsMatchPostgres keeps the list equal to the server's).
//
//go:embed builtin_functions.txt
var builtinFunctionNames string

// builtinFunctions is builtinFunctionNames as a slice, for a binary search:
// the file is in byte order (TestBuiltinFunctionsMatchPostgres compares it
// with the server's list sorted COLLATE "C"). Splitting it costs a few
// microseconds on the first call; a map of its 2,647 names cost a third of a
// millisecond, paid by every run of the CLI that asked once.
var builtinFunctions = sync.OnceValue(func() []string {
	return strings.Fields(builtinFunctionNames)
})

// IsBuiltinFunction says a function name as written (qualified or not)
// names one of PostgreSQL's own functions.
func IsBuiltinFunction(parts []string) bool {
	if len(parts) == 0 {
		return false
	}
	if len(parts) > 1 && parts[len(parts)-2] != "pg_catalog" {
		return false
	}
	_, found := slices.BinarySearch(builtinFunctions(), parts[len(parts)-1])
	return found
}

// TextCall is SQL text passed as a string constant to a function that no
// migration read created and that is not PostgreSQL's own (a project's
// run_migration(n, $$ ... $$) defined outside its migration folder): the
// function most likely runs it, so it is read as if it did.
type TextCall struct {
	// Name is the function's name as written.
	Name []string
	// Location is the call's byte offset in the statement's text.
	Location int32
	Body     *plpgsql.Body
}

// TextCalls lists the string arguments of calls of unknown functions, in
// a query, DML or CALL that runs them now (see Evaluates), that parse as SQL
// statements that do something (see plpgsql.ReadText). src holds the
// statement's text as its locations count it (a zero Source when there is
// none). dblink's functions are not listed: they run their text on a
// connection of their own, which is another finding.
func (c *Catalog) TextCalls(stmt *pg_query.Node, src plpgsql.Source) []TextCall {
	if !Evaluates(stmt) || stmt.GetAlterTableStmt() != nil || stmt.GetIndexStmt() != nil {
		// A column default, CHECK, USING or index expression that hands SQL
		// text to a function is not how projects run migrations, and
		// walking every ALTER TABLE of a long history costs the replay
		// more than a tenth of its time: only queries and CALL are read.
		return nil
	}
	var out []TextCall
	add := func(fc *pg_query.FuncCall) {
		parts := pgtree.Names(fc.GetFuncname())
		if len(parts) == 0 || IsBuiltinFunction(parts) || len(c.FunctionsByName(parts)) > 0 ||
			strings.HasPrefix(parts[len(parts)-1], "dblink") {
			return
		}
		for _, a := range fc.GetArgs() {
			if na := a.GetNamedArgExpr(); na != nil {
				a = na.GetArg()
			}
			for a.GetTypeCast() != nil {
				a = a.GetTypeCast().GetArg()
			}
			k := a.GetAConst()
			if k == nil || k.GetSval() == nil {
				continue
			}
			if b := plpgsql.ReadText(src, int(k.GetLocation()), k.GetSval().GetSval(), parts); b != nil {
				out = append(out, TextCall{Name: parts, Location: fc.GetLocation(), Body: b})
			}
		}
	}
	if fc := stmt.GetCallStmt().GetFunccall(); fc != nil {
		add(fc)
	}
	pgtree.Walk(stmt, func(n *pg_query.Node) bool {
		if fc := n.GetFuncCall(); fc != nil {
			add(fc)
		}
		return true
	})
	return out
}

// runTextCalls applies the SQL text a statement hands to unknown functions.
func (c *Catalog) runTextCalls(stmt *pg_query.Node) {
	for _, tc := range c.TextCalls(stmt, plpgsql.Source{}) {
		c.runBody(tc.Body)
	}
}
