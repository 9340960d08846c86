package sqlscript

import (
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/internal/repotext"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// normalizeJoined is the form approvals were first bound to: each token's
// text (lower-cased through strings.ToLower where PostgreSQL folds it),
// joined by spaces. The normalizer must keep giving these bytes. It
// reads pg_query.Scan's messages as well as the split's Tokens (both
// have the accessors of scanToken).
func normalizeJoined[T scanToken](sql string, toks []T, base int) string {
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

// scanToken is what normalizeJoined reads of a token.
type scanToken interface {
	GetStart() int32
	GetEnd() int32
	GetToken() pg_query.Token
	GetKeywordKind() pg_query.KeywordKind
}

// TestNormalizeKeepsItsBytes: over every statement of the repository's
// .sql files and a few spellings that exercise case folding beyond ASCII,
// NormalizeStatement, AppendNormalizedStatement and Normalize give the
// bytes of normalizeJoined over pg_query.Scan's own tokens of the
// statement (and of the whitespace collapse for text the scanner
// rejects), whatever tokens the split kept.
func TestNormalizeKeepsItsBytes(t *testing.T) {
	texts := append(repotext.Texts(t),
		"CREATE TABLE Ärger (ÉtÉ INT, \"Keep\" TEXT, ǅx int); -- Ünïcödé\nSELECT 'ÀB' AS Σίσυφος, U&\"\\00C4\" FROM ΣΊΣΥΦΟΣ;",
		"SELECT   1 ,\t2\n;   /* c */  SELECT $$ A  B $$, E'\\x41', x'FF', 1.5E3, :v;",
		"SELECT 'unterminated",
		"\\set x 1\nSELECT :'x', :\"y\";\n\\gset\nSELECT İ, ı FROM K;",
	)
	statements := 0
	for _, text := range texts {
		for _, st := range Split(text, 0, len(text)).Statements {
			statements++
			var want string
			if res, err := pg_query.Scan(st.SQL); err != nil {
				want = strings.Join(strings.Fields(st.SQL), " ")
			} else {
				want = normalizeJoined(st.SQL, res.GetTokens(), 0)
			}
			if got := NormalizeStatement(&st); got != want {
				t.Errorf("statement %q normalizes to %q, want %q", st.SQL, got, want)
			}
			prefix := []byte("prefix\x00")
			if got := AppendNormalizedStatement(prefix, &st); string(got) != string(prefix)+want {
				t.Errorf("statement %q: appended %q, want %q", st.SQL, got, string(prefix)+want)
			}
			if got := Normalize(st.SQL); got != want {
				t.Errorf("statement %q: Normalize gives %q, want %q", st.SQL, got, want)
			}
		}
	}
	if statements < 100 {
		t.Errorf("only %d statements compared", statements)
	}
}

// BenchmarkNormalizeStatement normalizes every statement of the
// repository's .sql files from the split's tokens, into one reused
// buffer (append), as strings joined token by token (joined) and as
// strings (string).
func BenchmarkNormalizeStatement(b *testing.B) {
	var statements []Statement
	for _, text := range repotext.Texts(b) {
		statements = append(statements, Split(text, 0, len(text)).Statements...)
	}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			for i := range statements {
				buf = AppendNormalizedStatement(buf[:0], &statements[i])
			}
		}
	})
	// joined is the former way, a string per token joined.
	b.Run("joined", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range statements {
				toks, base, _ := StatementTokens(&statements[i])
				normalizeJoined(statements[i].SQL, toks, base)
			}
		}
	})
	b.Run("string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range statements {
				NormalizeStatement(&statements[i])
			}
		}
	})
}
