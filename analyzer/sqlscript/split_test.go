package sqlscript

import (
	"strings"
	"testing"
)

type wantStmt struct {
	sql        string
	startLine  int
	startCol   int
	endLine    int
	endCol     int
	parseError string // substring; "" means the statement parses
}

func TestSplitPositions(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		start int
		end   int // -1: to the end
		want  []wantStmt
		metas []string
	}{
		{
			name: "two statements with comments and blank lines",
			text: "-- create it\nCREATE TABLE a (id int);\n\n  /* then */ ALTER TABLE a ADD COLUMN b text;\n",
			end:  -1,
			want: []wantStmt{
				{sql: "CREATE TABLE a (id int);", startLine: 2, startCol: 1, endLine: 2, endCol: 25},
				{sql: "ALTER TABLE a ADD COLUMN b text;", startLine: 4, startCol: 14, endLine: 4, endCol: 46},
			},
		},
		{
			name: "columns count characters after multi-byte text",
			text: "CREATE TABLE é (a text); ALTER TABLE é ADD b int;",
			end:  -1,
			want: []wantStmt{
				{sql: "CREATE TABLE é (a text);", startLine: 1, startCol: 1, endLine: 1, endCol: 25},
				{sql: "ALTER TABLE é ADD b int;", startLine: 1, startCol: 26, endLine: 1, endCol: 50},
			},
		},
		{
			name: "last statement without semicolon",
			text: "SELECT 1;\nSELECT 2\n",
			end:  -1,
			want: []wantStmt{
				{sql: "SELECT 1;", startLine: 1, startCol: 1, endLine: 1, endCol: 10},
				{sql: "SELECT 2", startLine: 2, startCol: 1, endLine: 2, endCol: 9},
			},
		},
		{
			name: "semicolons inside a DO block and a function body stay inside",
			text: "DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n",
			end:  -1,
			want: []wantStmt{
				{sql: "DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;", startLine: 1, startCol: 1, endLine: 1, endCol: 42},
				{sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;", startLine: 2, startCol: 1, endLine: 2, endCol: 83},
			},
		},
		{
			name:  "a part of a file keeps the file's line numbers",
			text:  "-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n",
			start: len("-- +goose Up\nCREATE TABLE a (id int);\n"),
			end:   -1,
			want: []wantStmt{
				{sql: "DROP TABLE a;", startLine: 4, startCol: 1, endLine: 4, endCol: 14},
			},
		},
		{
			name: "a syntax error does not hide the statements around it",
			text: "CREATE TABLE a (id int);\nALTER TABLEX a ADD b int;\nDROP TABLE a;\n",
			end:  -1,
			want: []wantStmt{
				{sql: "CREATE TABLE a (id int);", startLine: 1, startCol: 1, endLine: 1, endCol: 25},
				{sql: "ALTER TABLEX a ADD b int;", startLine: 2, startCol: 1, endLine: 2, endCol: 26, parseError: `syntax error at or near "TABLEX"`},
				{sql: "DROP TABLE a;", startLine: 3, startCol: 1, endLine: 3, endCol: 14},
			},
		},
		{
			name: "psql meta-commands are reported, not parsed",
			text: "\\set ON_ERROR_STOP on\nCREATE TABLE a (id int);\nSELECT count(*) AS n FROM a \\gset\nSELECT 2;\n",
			end:  -1,
			want: []wantStmt{
				{sql: "CREATE TABLE a (id int);", startLine: 2, startCol: 1, endLine: 2, endCol: 25},
				{sql: "SELECT count(*) AS n FROM a", startLine: 3, startCol: 1, endLine: 3, endCol: 28},
				{sql: "SELECT 2;", startLine: 4, startCol: 1, endLine: 4, endCol: 10},
			},
			metas: []string{`\set ON_ERROR_STOP on`, `\gset`},
		},
		{
			name: "an unterminated string is one unreadable statement",
			text: "CREATE TABLE a (id int);\nINSERT INTO a VALUES ('oops);\n",
			end:  -1,
			want: []wantStmt{
				{sql: "CREATE TABLE a (id int);\nINSERT INTO a VALUES ('oops);", startLine: 1, startCol: 1, endLine: 2, endCol: 30, parseError: "unterminated quoted string"},
			},
		},
		{
			name: "only comments",
			text: "-- nothing here\n/* or here */\n",
			end:  -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end := tt.end
			if end < 0 {
				end = len(tt.text)
			}
			sc := Split(tt.text, tt.start, end)
			lines := NewLines(tt.text)
			if len(sc.Statements) != len(tt.want) {
				var got []string
				for _, s := range sc.Statements {
					got = append(got, s.SQL)
				}
				t.Fatalf("got %d statements %q, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				s := sc.Statements[i]
				if s.SQL != w.sql {
					t.Errorf("statement %d: SQL %q, want %q", i, s.SQL, w.sql)
				}
				if tt.text[s.Start:s.End] != s.SQL {
					t.Errorf("statement %d: offsets [%d,%d) do not frame its SQL", i, s.Start, s.End)
				}
				sl, sc := lines.Position(s.Start)
				el, ec := lines.Position(s.End)
				if sl != w.startLine || sc != w.startCol || el != w.endLine || ec != w.endCol {
					t.Errorf("statement %d: %d:%d-%d:%d, want %d:%d-%d:%d", i, sl, sc, el, ec, w.startLine, w.startCol, w.endLine, w.endCol)
				}
				switch {
				case w.parseError == "" && s.ParseError != nil:
					t.Errorf("statement %d: unexpected parse error %q", i, s.ParseError.Message)
				case w.parseError == "" && s.Node == nil:
					t.Errorf("statement %d: no parse tree", i)
				case w.parseError != "" && (s.ParseError == nil || !strings.Contains(s.ParseError.Message, w.parseError)):
					t.Errorf("statement %d: parse error %+v, want %q", i, s.ParseError, w.parseError)
				}
			}
			var metas []string
			for _, m := range sc.MetaCommands {
				metas = append(metas, m.Text)
				if tt.text[m.Start:m.End] != m.Text {
					t.Errorf("meta-command %q: offsets do not frame it", m.Text)
				}
			}
			if strings.Join(metas, "|") != strings.Join(tt.metas, "|") {
				t.Errorf("meta-commands %q, want %q", metas, tt.metas)
			}
		})
	}
}

func TestParseErrorPointsAtTheOffendingToken(t *testing.T) {
	text := "CREATE TABLE é (a text);\n  ALTER TABLEX é ADD b int;"
	sc := Split(text, 0, len(text))
	if len(sc.Statements) != 2 || sc.Statements[1].ParseError == nil {
		t.Fatalf("want the second statement to fail, got %+v", sc.Statements)
	}
	line, col := NewLines(text).Position(sc.Statements[1].ParseError.Offset)
	if line != 2 || col != 9 {
		t.Errorf("error at %d:%d, want 2:9 (TABLEX)", line, col)
	}
}

func TestCommentsBeforeAreKept(t *testing.T) {
	text := "SELECT 1;\n-- migration-guard:ignore drop-table reason=\"x\"\n/* two */\nDROP TABLE a;"
	sc := Split(text, 0, len(text))
	got := sc.Statements[1].CommentsBefore
	if len(got) != 2 || got[0].Text != `-- migration-guard:ignore drop-table reason="x"` || got[1].Text != "/* two */" {
		t.Fatalf("comments before: %+v", got)
	}
	if len(sc.Statements[0].CommentsBefore) != 0 {
		t.Errorf("first statement should have no comments, got %+v", sc.Statements[0].CommentsBefore)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		raw      []byte
		max      int
		wantText string
		wantEnc  string
		wantKind string
		wantLine int
	}{
		{name: "utf-8", raw: []byte("SELECT 'é';"), wantText: "SELECT 'é';", wantEnc: "utf-8"},
		{name: "utf-8 with BOM", raw: append([]byte{0xEF, 0xBB, 0xBF}, "SELECT 1;"...), wantText: "SELECT 1;", wantEnc: "utf-8 with BOM"},
		{name: "utf-16le with BOM", raw: []byte{0xFF, 0xFE, 'S', 0, 'E', 0, 'L', 0, ';', 0}, wantText: "SEL;", wantEnc: "utf-16le"},
		{name: "utf-16be with BOM", raw: []byte{0xFE, 0xFF, 0, 'S', 0, ';'}, wantText: "S;", wantEnc: "utf-16be"},
		{name: "latin-1 is refused with its line", raw: []byte("SELECT 1;\nSELECT 'caf\xe9';"), wantKind: "encoding", wantLine: 2},
		{name: "binary", raw: []byte("\x89PNG\r\n\x1a\n\x00\x00"), wantKind: "binary", wantLine: 3},
		{name: "too large", raw: []byte(strings.Repeat("x", 11)), max: 10, wantKind: "too-large", wantLine: 1},
		{name: "empty", raw: nil, wantText: "", wantEnc: "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode(tt.raw, tt.max)
			if tt.wantKind != "" {
				if err == nil || err.Kind != tt.wantKind || err.Line != tt.wantLine {
					t.Fatalf("got %+v %+v, want %s error on line %d", d, err, tt.wantKind, tt.wantLine)
				}
				if err.Message == "" {
					t.Error("error without a message")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if d.Text != tt.wantText || d.Encoding != tt.wantEnc {
				t.Errorf("got %q (%s), want %q (%s)", d.Text, d.Encoding, tt.wantText, tt.wantEnc)
			}
		})
	}
}

func TestLines(t *testing.T) {
	l := NewLines("ab\r\ncd\n\nλx")
	cases := []struct{ off, line, col int }{{0, 1, 1}, {2, 1, 3}, {4, 2, 1}, {7, 3, 1}, {8, 4, 1}, {10, 4, 2}, {99, 4, 3}}
	for _, c := range cases {
		if line, col := l.Position(c.off); line != c.line || col != c.col {
			t.Errorf("Position(%d) = %d:%d, want %d:%d", c.off, line, col, c.line, c.col)
		}
	}
	if got := l.LineText(1); got != "ab" {
		t.Errorf("LineText(1) = %q", got)
	}
	if l.Count() != 4 {
		t.Errorf("Count = %d", l.Count())
	}
}

// FuzzSplit holds the splitter to its contract on any input: no panic, every
// statement framed by its offsets, every offset inside the text.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"CREATE TABLE a (id int);",
		"\\set x 1\nSELECT 1 \\gset\n",
		"DO $$ BEGIN PERFORM 1; END $$;",
		"SELECT 'unterminated",
		"ALTER TABLEX a;;; SELECT é;",
		"/* open comment",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
		"DROP TABLE :t; SELECT :'v', :\"i\", a[1:n], ARRAY[:x];",
	} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, text string, start int) {
		if start < 0 || start > len(text) {
			start = 0
		}
		d, derr := Decode([]byte(text), 0)
		if derr != nil {
			return
		}
		text = d.Text
		sc := Split(text, start, len(text))
		for _, s := range sc.Statements {
			if s.Start < start || s.End > len(text) || s.Start > s.End {
				t.Fatalf("statement offsets [%d,%d) outside [%d,%d)", s.Start, s.End, start, len(text))
			}
			if text[s.Start:s.End] != s.SQL {
				t.Fatalf("statement offsets do not frame its SQL")
			}
			if s.Node == nil && s.ParseError == nil {
				t.Fatalf("statement %q has neither a tree nor an error", s.SQL)
			}
			if s.ParseError != nil && (s.ParseError.Offset < start || s.ParseError.Offset > len(text)) {
				t.Fatalf("parse error offset %d outside the text", s.ParseError.Offset)
			}
			for _, v := range s.Variables {
				if v.Start < s.Start || v.End > s.End || text[v.Start:v.End] != v.String() || len(v.Placeholder) != v.End-v.Start {
					t.Fatalf("variable %+v does not frame its reference in %q", v, s.SQL)
				}
			}
		}
	})
}

// TestLocationBase checks that node locations plus LocationBase land on the
// node's text in the file, on the parser's path and on the recovery path.
func TestLocationBase(t *testing.T) {
	for _, text := range []string{
		"-- head\nSELECT 1;\nALTER TABLE orders ADD COLUMN note text;",
		"-- head\nSELEC 1;\nALTER TABLE orders ADD COLUMN note text;",
	} {
		sc := Split(text, 8, len(text))
		last := sc.Statements[len(sc.Statements)-1]
		rv := last.Node.GetAlterTableStmt().GetRelation()
		off := last.LocationBase + int(rv.GetLocation())
		if !strings.HasPrefix(text[off:], "orders") {
			t.Errorf("%q: relation location lands on %q", text, text[off:])
		}
	}
}

func TestParseTrees(t *testing.T) {
	text := "-- +goose Up\nCREATE TABLE a (id int);\nALTER TABLE a ADD b int;\n"
	nodes, ok := ParseTrees(text, 13, len(text))
	if !ok || len(nodes) != 2 || nodes[0].GetCreateStmt() == nil || nodes[1].GetAlterTableStmt() == nil {
		t.Fatalf("got %v %v", nodes, ok)
	}
	for _, bad := range []string{"\\set x 1\nSELECT 1;", "SELEC 1;"} {
		if _, ok := ParseTrees(bad, 0, len(bad)); ok {
			t.Errorf("%q should not parse as it is", bad)
		}
	}
}
