package sqlscript

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// Normalize is a statement as PostgreSQL's scanner reads it: comments
// dropped, keywords and unquoted identifiers folded to lower case as
// PostgreSQL folds them, one space between tokens. Two spellings of one
// statement normalize alike; text the scanner rejects is only
// whitespace-collapsed. Approvals bind to this form, so that reformatting
// keeps them.
func Normalize(sql string) string {
	res, err := pgtree.Scan(sql)
	if err != nil {
		return strings.Join(strings.Fields(sql), " ")
	}
	return normalizeTokens(sql, res.GetTokens(), 0)
}

// NormalizeStatement is Normalize(st.SQL), from the tokens the split
// already holds when it has them.
func NormalizeStatement(st *Statement) string {
	toks, base, err := StatementTokens(st)
	if err != nil {
		return strings.Join(strings.Fields(st.SQL), " ")
	}
	return normalizeTokens(st.SQL, toks, base)
}

// normalizeTokens joins the tokens of sql, whose offsets minus base index
// sql, as Normalize does.
func normalizeTokens(sql string, toks []*pg_query.ScanToken, base int) string {
	var parts []string
	for _, tok := range toks {
		switch tok.GetToken() {
		case pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT:
			continue
		}
		start, end := int(tok.GetStart())-base, int(tok.GetEnd())-base
		if start < 0 || end > len(sql) || start > end {
			continue
		}
		text := sql[start:end]
		if tok.GetKeywordKind() != pg_query.KeywordKind_NO_KEYWORD || (tok.GetToken() == pg_query.Token_IDENT && !strings.HasPrefix(text, `"`)) {
			text = strings.ToLower(text)
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, " ")
}
