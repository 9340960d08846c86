package sqlscript

import (
	"slices"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/internal/repotext"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// TestStatementTokensMatchScan: the tokens a statement carries from the
// split are the tokens a scan of its own text gives, offsets included, in
// every shape of part: comments, psql meta-commands and variables, syntax
// errors, dollar quotes, a part that does not start the text.
func TestStatementTokensMatchScan(t *testing.T) {
	prefix := "-- +goose Up\nSELECT 0;\n"
	for _, text := range []string{
		"CREATE TABLE a (id int); -- c\n/* b */ ALTER TABLE a ADD COLUMN x text;",
		"\\set ON_ERROR_STOP on\nCREATE TABLE a (id int);\n\\echo done\nDROP TABLE a;",
		"SELECT 1 \\gset\nSELECT :'v', :v, :{?v};\nCREATE TABLE \"" + strings.Repeat("x", 70) + "\" (id int);",
		"CREATE TABLE a (id int;\nCREATE TABLE b (id int);\nSELEC 1;",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT $x$ ; $x$;",
		"SELECT 'unterminated",
		"SELECT 1;;; SELECT 2",
	} {
		full := prefix + text
		sc := Split(full, len(prefix), len(full))
		withTokens := 0
		for _, st := range sc.Statements {
			got, base, err := StatementTokens(&st)
			res, werr := pg_query.Scan(st.SQL)
			if (err != nil) != (werr != nil) {
				t.Fatalf("%q: statement %q: error %v, scan error %v", text, st.SQL, err, werr)
			}
			if werr != nil {
				continue
			}
			if st.Tokens != nil {
				withTokens++
			}
			want := res.GetTokens()
			if len(got) != len(want) {
				t.Fatalf("%q: statement %q: %d tokens, scan gives %d", text, st.SQL, len(got), len(want))
			}
			for i := range want {
				if int(got[i].GetStart())-base != int(want[i].GetStart()) || int(got[i].GetEnd())-base != int(want[i].GetEnd()) ||
					got[i].GetToken() != want[i].GetToken() || got[i].GetKeywordKind() != want[i].GetKeywordKind() {
					t.Fatalf("%q: statement %q: token %d is %v (base %d), scan gives %v", text, st.SQL, i, got[i], base, want[i])
				}
			}
		}
		if !strings.Contains(text, "unterminated") && withTokens == 0 {
			t.Errorf("%q: no statement reused the split's tokens", text)
		}
	}
}

// TestNormalizeStatementMatchesNormalize: normalizing from the split's
// tokens gives what scanning the statement's text again gives.
func TestNormalizeStatementMatchesNormalize(t *testing.T) {
	prefix := "-- +goose Up\nSELECT 0;\n"
	for _, text := range []string{
		"CREATE TABLE A (Id INT); -- c\n/* b */ ALTER TABLE \"A\" ADD COLUMN x TEXT;",
		"\\set ON_ERROR_STOP on\nCREATE TABLE a (id int);\n\\echo done\nDROP TABLE a;",
		"SELECT 1 \\gset\nSELECT :'v', :v;\nSELECT   'Keep Case'   FROM T;",
		"CREATE TABLE a (id int;\nCREATE TABLE b (id int);\nSELEC 1;",
		"SELECT 'unterminated",
	} {
		full := prefix + text
		reused := 0
		for _, st := range Split(full, len(prefix), len(full)).Statements {
			if st.Tokens != nil {
				reused++
			}
			if got, want := NormalizeStatement(&st), Normalize(st.SQL); got != want {
				t.Errorf("%q: statement %q normalizes to %q from the split's tokens, %q from its text", text, st.SQL, got, want)
			}
		}
		if !strings.Contains(text, "unterminated") && reused == 0 {
			t.Errorf("%q: no statement had the split's tokens", text)
		}
	}
}

func TestMayHoldMetaCommands(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"\\set ON_ERROR_STOP on\nSELECT 1;", true},
		{"SELECT 1;\n  \t\\echo x\n", true},
		{"SELECT E'\\n';\nSELECT 'a\\b';", false},
		{"SELECT 1;", false},
		{"SELECT '\n\\not a command\n';", true}, // inside a string: Split finds no meta-command then
	} {
		if got := MayHoldMetaCommands(tc.text, 0, len(tc.text)); got != tc.want {
			t.Errorf("MayHoldMetaCommands(%q) = %v, want %v", tc.text, got, tc.want)
		}
		// A meta-command always makes ParseTrees fail, so skipping it loses nothing.
		if sc := Split(tc.text, 0, len(tc.text)); len(sc.MetaCommands) > 0 {
			if _, ok := ParseTrees(tc.text, 0, len(tc.text)); ok || !tc.want {
				t.Errorf("%q: meta-commands %v, ParseTrees ok %v, MayHoldMetaCommands %v", tc.text, sc.MetaCommands, ok, tc.want)
			}
		}
	}
}

// TestStatementTokensOverRepositoryFiles: over every .sql file of the
// repository, each statement's tokens are its own text's, and its
// comments before are the comment tokens between the previous statement
// and it.
func TestStatementTokensOverRepositoryFiles(t *testing.T) {
	commented := 0
	for _, text := range repotext.Texts(t) {
		res, err := pg_query.Scan(text)
		if err != nil {
			continue
		}
		sc := Split(text, 0, len(text))
		prevEnd := 0
		for _, st := range sc.Statements {
			var comments []Comment
			for _, tok := range res.GetTokens() {
				if s := int(tok.GetStart()); s >= prevEnd && s < st.Start && (tok.GetToken() == pg_query.Token_SQL_COMMENT || tok.GetToken() == pg_query.Token_C_COMMENT) {
					comments = append(comments, Comment{Start: s, End: int(tok.GetEnd()), Text: text[s:tok.GetEnd()]})
				}
			}
			if len(sc.MetaCommands) == 0 && st.ParseError == nil && !slices.Equal(st.CommentsBefore, comments) {
				t.Errorf("statement %q: comments before %v, the scan gives %v", st.SQL, st.CommentsBefore, comments)
			}
			commented += len(comments)
			prevEnd = st.End
			if st.Tokens == nil {
				continue
			}
			want, err := pg_query.Scan(st.SQL)
			if err != nil {
				t.Fatalf("statement %q: %v", st.SQL, err)
			}
			if len(st.Tokens) != len(want.GetTokens()) {
				t.Fatalf("statement %q: %d tokens, its scan gives %d", st.SQL, len(st.Tokens), len(want.GetTokens()))
			}
			for i, w := range want.GetTokens() {
				g := st.Tokens[i]
				if g.GetStart()-int32(st.TokenBase) != w.GetStart() || g.GetEnd()-int32(st.TokenBase) != w.GetEnd() || g.GetToken() != w.GetToken() || g.GetKeywordKind() != w.GetKeywordKind() {
					t.Fatalf("statement %q: token %d is %v (base %d), its scan gives %v", st.SQL, i, g, st.TokenBase, w)
				}
			}
		}
	}
	if commented == 0 {
		t.Error("no statement of the repository's files has a comment before it")
	}
}
