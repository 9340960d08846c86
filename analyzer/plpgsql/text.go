package plpgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// ReadText reads a string constant handed to a function as SQL the function
// may run: value is the constant's value, at the offset in src where the
// constant (or the expression holding it) starts. It returns nil unless the
// whole text parses as SQL statements and at least one of them does
// something (a query, DML, DDL): ordinary strings ('hello', a JSON literal,
// a name) do not parse as statements, and a lone COMMIT or SHOW is not worth
// judging. name is the function's name as written, kept in Body.Name.
func ReadText(src Source, at int, value string, name []string) *Body {
	if !looksLikeStatements(value) {
		return nil
	}
	b := &Body{What: "TEXT", Language: "sql", Name: name}
	b.Source = literalSource(src, at, value)
	b.addScript(nil, b.Source, "", Statement)
	if len(b.Stmts) == 0 {
		return nil
	}
	doing := false
	for _, s := range b.Stmts {
		if s.Stmt.ParseError != nil || s.Stmt.Node == nil {
			return nil
		}
		doing = doing || !idle(s.Stmt.Node)
	}
	if !doing {
		return nil
	}
	return b
}

// looksLikeStatements spares the parser most ordinary strings: SQL text
// starts with a keyword, a parenthesis or a comment, and has at least two
// words.
func looksLikeStatements(v string) bool {
	v = strings.TrimLeft(v, " \t\r\n\f")
	if v == "" {
		return false
	}
	c := v[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '(' || c == '-' || c == '/') {
		return false
	}
	return strings.ContainsAny(v, " \t\r\n\f")
}

// idle says a statement neither reads nor changes anything a migration is
// judged on: transaction control, SHOW, LISTEN and the like.
func idle(n *pg_query.Node) bool {
	switch n.GetNode().(type) {
	case *pg_query.Node_TransactionStmt, *pg_query.Node_VariableShowStmt, *pg_query.Node_CheckPointStmt,
		*pg_query.Node_ListenStmt, *pg_query.Node_UnlistenStmt, *pg_query.Node_NotifyStmt,
		*pg_query.Node_LoadStmt, *pg_query.Node_DiscardStmt, *pg_query.Node_VacuumStmt:
		return true
	}
	return false
}
