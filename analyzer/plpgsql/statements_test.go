package plpgsql

import pg_query "github.com/pganalyze/pg_query_go/v5"

// eachStatement calls fn with every statement of every text that parses,
// its text and its place: start and end in the text (a last statement
// without a length runs to the text's end), as Read is given a statement
// of a file.
func eachStatement(texts []string, fn func(stmt *pg_query.Node, text string, start, end int)) {
	for _, text := range texts {
		tree, err := pg_query.Parse(text)
		if err != nil {
			continue
		}
		for _, raw := range tree.GetStmts() {
			start := int(raw.GetStmtLocation())
			end := start + int(raw.GetStmtLen())
			if raw.GetStmtLen() == 0 {
				end = len(text)
			}
			fn(raw.GetStmt(), text, start, end)
		}
	}
}
