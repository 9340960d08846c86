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
	toks, err := pgtree.ScanTokens(sql)
	if err != nil {
		return strings.Join(strings.Fields(sql), " ")
	}
	return string(appendNormalizedTokens(nil, sql, toks, 0))
}

// NormalizeStatement is Normalize(st.SQL), from the tokens the split
// already holds when it has them.
func NormalizeStatement(st *Statement) string {
	return string(AppendNormalizedStatement(nil, st))
}

// AppendNormalizedStatement appends NormalizeStatement(st) to dst: the
// same bytes, without a string per token or per statement, for callers
// that hash them.
func AppendNormalizedStatement(dst []byte, st *Statement) []byte {
	toks, base, err := StatementTokens(st)
	if err != nil {
		return append(dst, strings.Join(strings.Fields(st.SQL), " ")...)
	}
	return appendNormalizedTokens(dst, st.SQL, toks, base)
}

// appendNormalizedTokens appends the tokens of sql, whose offsets minus
// base index sql, as Normalize joins them.
func appendNormalizedTokens(dst []byte, sql string, toks []pgtree.Token, base int) []byte {
	first := true
	for _, tok := range toks {
		switch tok.GetToken() {
		case pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT:
			continue
		}
		start, end := int(tok.GetStart())-base, int(tok.GetEnd())-base
		if start < 0 || end > len(sql) || start > end {
			continue
		}
		if !first {
			dst = append(dst, ' ')
		}
		first = false
		text := sql[start:end]
		if tok.GetKeywordKind() != pg_query.KeywordKind_NO_KEYWORD || (tok.GetToken() == pg_query.Token_IDENT && !strings.HasPrefix(text, `"`)) {
			dst = appendLower(dst, text)
		} else {
			dst = append(dst, text...)
		}
	}
	return dst
}

// appendLower appends strings.ToLower(s): byte by byte when s is ASCII,
// as nearly every keyword and identifier is, through strings.ToLower's
// Unicode case mapping otherwise.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return append(dst, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
