package sqlscript

import (
	"sort"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// Statement is one SQL statement of a file, as PostgreSQL's parser sees it.
type Statement struct {
	// Start and End are byte offsets in the file's text: Start is the first
	// character of the statement itself (after comments and blank lines), End
	// is just past its terminating semicolon when it has one.
	Start, End int
	SQL        string
	// Node is the parse tree. It is nil when the statement does not parse;
	// ParseError then says why.
	Node       *pg_query.Node
	ParseError *ParseError
	// LocationBase is the byte offset in the file's text that the parse
	// tree's location fields count from.
	LocationBase int
	// CommentsBefore are the comment tokens between the previous statement and
	// this one, kept for directives such as suppressions.
	CommentsBefore []Comment
	// Variables are the psql variables the statement interpolates; the
	// parse tree holds their placeholders.
	Variables []Variable
	// Tokens are the scanner's tokens of SQL, shared with the split (which
	// scanned the whole part once), so that rules reading tokens need not
	// scan again. A token's offsets minus TokenBase index SQL. Tokens is nil
	// when the part could not be scanned or a psql meta-command lies inside
	// the statement: scan SQL itself then (StatementTokens does).
	Tokens    []pgtree.Token
	TokenBase int
}

// StatementTokens returns the tokens of st.SQL with offsets into st.SQL's
// own text, reusing the split's tokens when it has them.
func StatementTokens(st *Statement) ([]pgtree.Token, int, error) {
	if st.Tokens != nil {
		return st.Tokens, st.TokenBase, nil
	}
	toks, err := pgtree.ScanTokens(st.SQL)
	if err != nil {
		return nil, 0, err
	}
	return toks, 0, nil
}

// ParseError is a syntax error located in the file.
type ParseError struct {
	Offset  int // byte offset in the file's text
	Message string
}

// Comment is a SQL comment with its byte range in the file's text.
type Comment struct {
	Start, End int
	Text       string
}

// MetaCommand is a psql backslash command. PostgreSQL's server does not
// understand these; only psql does.
type MetaCommand struct {
	Start, End int
	Text       string // e.g. `\set ON_ERROR_STOP on`
	Name       string // e.g. `set`
}

// Script is the result of splitting one part of a file.
type Script struct {
	Statements   []Statement
	MetaCommands []MetaCommand
	// LexError is set when the part could not even be tokenized (an
	// unterminated string or comment); Statements then holds what could be
	// recovered.
	LexError *ParseError
}

// Split finds the statements in text[start:end]. Positions stay those of the
// whole text, so that a goose Down section or a part after a BOM reports the
// lines people see in their editor.
//
// The parser is asked first for the whole part, because only it knows where
// statements with inner semicolons end (BEGIN ATOMIC function bodies). When
// the part has a syntax error, the part is cut at top-level semicolons found
// by PostgreSQL's scanner and each piece is parsed on its own, so one bad
// statement does not hide the others.
func Split(text string, start, end int) *Script {
	if start < 0 {
		start = 0
	}
	if end > len(text) || end < start {
		end = len(text)
	}
	part := text[start:end]
	sc := &Script{}

	toks, lexErr := pgtree.ScanTokens(part)
	// Meta-commands are blanked out (same length, so offsets hold) before
	// parsing: they are psql's, not PostgreSQL's, and are reported separately.
	clean := part
	var vars []Variable
	if len(toks) > 0 {
		clean, sc.MetaCommands, toks = blankMetaCommands(part, toks)
		for i := range sc.MetaCommands {
			sc.MetaCommands[i].Start += start
			sc.MetaCommands[i].End += start
		}
		// psql variables are interpolation, not syntax errors: the parser
		// is given placeholders, and each statement carries its variables.
		clean, vars = interpolateVariables(clean, toks)
	}

	if tree, err := pgtree.Parse(clean); err == nil {
		if n := len(tree.GetStmts()); n > 0 {
			sc.Statements = make([]Statement, 0, n)
		}
		for _, raw := range tree.GetStmts() {
			s := int(raw.GetStmtLocation())
			e := s + int(raw.GetStmtLen())
			if raw.GetStmtLen() == 0 {
				e = len(clean)
			}
			st := newStatement(part, toks, s, e)
			st.Node = raw.GetStmt()
			st.LocationBase = 0
			sc.Statements = append(sc.Statements, st)
		}
	} else if lexErr != nil {
		// Without tokens the part cannot be cut safely: report it as one
		// unreadable statement at the error's position.
		st := newStatement(part, nil, 0, len(part))
		st.ParseError = parseErrorAt(part, 0, err)
		if strings.TrimSpace(part) != "" {
			sc.Statements = append(sc.Statements, st)
		}
		sc.LexError = &ParseError{Offset: st.ParseError.Offset + start, Message: st.ParseError.Message}
	} else {
		for _, piece := range cutAtSemicolons(clean, toks) {
			st := newStatement(part, toks, piece[0], piece[1])
			if st.SQL == "" {
				continue
			}
			tree, perr := pgtree.Parse(clean[st.Start:st.End])
			switch {
			case perr != nil:
				st.ParseError = parseErrorAt(clean, st.Start, perr)
			case len(tree.GetStmts()) == 0:
				continue // a lone semicolon
			default:
				st.Node = tree.GetStmts()[0].GetStmt()
				st.LocationBase = st.Start
			}
			sc.Statements = append(sc.Statements, st)
		}
	}
	for i := range sc.Statements {
		st := &sc.Statements[i]
		for _, m := range sc.MetaCommands {
			if m.Start-start < st.End && m.End-start > st.Start {
				st.Tokens = nil
			}
		}
		st.Variables = variablesIn(vars, st.Start, st.End)
		for j := range st.Variables {
			st.Variables[j].Start += start
			st.Variables[j].End += start
		}
		st.Start += start
		st.End += start
		st.LocationBase += start
		if st.ParseError != nil {
			st.ParseError.Offset += start
		}
		for j := range st.CommentsBefore {
			st.CommentsBefore[j].Start += start
			st.CommentsBefore[j].End += start
		}
	}
	return sc
}

// newStatement trims a raw statement range [s,e) of part down to the
// statement's own text: leading blanks and comments go (they are kept as
// CommentsBefore), and the terminating semicolon is included.
func newStatement(part string, toks []pgtree.Token, s, e int) Statement {
	st := Statement{Start: s, End: e}
	if toks == nil {
		// No tokens (the part did not scan): blanks are all that can be trimmed.
		st.Start = s + len(part[s:e]) - len(strings.TrimLeft(part[s:e], " \t\r\n\f"))
		st.End = st.Start + len(strings.TrimRight(part[st.Start:e], " \t\r\n\f"))
		st.SQL = part[st.Start:st.End]
		return st
	}
	// The tokens are in text order: start at the range's first one rather
	// than walking the whole part for each statement, which made splitting
	// a file of many statements quadratic, and stop at the statement's
	// first token: the comments before it are all that is read here.
	first := sort.Search(len(toks), func(i int) bool { return int(toks[i].GetStart()) >= s })
	for ; first < len(toks) && int(toks[first].GetStart()) < e && isComment(toks[first]); first++ {
		ts, te := int(toks[first].GetStart()), int(toks[first].GetEnd())
		st.CommentsBefore = append(st.CommentsBefore, Comment{Start: ts, End: te, Text: part[ts:te]})
	}
	if first == len(toks) || int(toks[first].GetStart()) >= e {
		// Nothing but comments and blanks: not a statement.
		st.Start, st.End = e, e
		return st
	}
	st.Start = int(toks[first].GetStart())
	st.End = st.Start + len(strings.TrimRight(part[st.Start:e], " \t\r\n\f"))
	// The parser's length stops before the semicolon; people's statements end with it.
	rest := part[st.End:]
	if trimmed := strings.TrimLeft(rest, " \t\r\n\f"); strings.HasPrefix(trimmed, ";") && !strings.HasSuffix(part[st.Start:st.End], ";") {
		st.End += len(rest) - len(trimmed) + 1
	}
	st.SQL = part[st.Start:st.End]
	// The statement's tokens: they start at its first token and end at its
	// end (its semicolon included).
	last := first
	for last < len(toks) && int(toks[last].GetStart()) < st.End {
		last++
	}
	st.Tokens, st.TokenBase = toks[first:last:last], st.Start
	return st
}

func isComment(t pgtree.Token) bool {
	return t.GetToken() == pg_query.Token_SQL_COMMENT || t.GetToken() == pg_query.Token_C_COMMENT
}

// cutAtSemicolons returns [start,end) ranges of part separated by top-level
// semicolons. The scanner has already put semicolons inside strings, quoted
// identifiers, dollar quotes and comments into those tokens.
func cutAtSemicolons(part string, toks []pgtree.Token) [][2]int {
	var out [][2]int
	from := 0
	for _, t := range toks {
		if t.GetToken() == pg_query.Token_ASCII_59 {
			out = append(out, [2]int{from, int(t.GetEnd())})
			from = int(t.GetEnd())
		}
	}
	if strings.TrimSpace(part[from:]) != "" {
		out = append(out, [2]int{from, len(part)})
	}
	return out
}

// blankMetaCommands replaces each psql meta-command (a backslash outside any
// string, identifier or comment, up to the end of its line) with spaces. A
// \g-family command also ends the current statement, so it becomes a
// semicolon. Tokens inside blanked ranges are dropped.
func blankMetaCommands(part string, toks []pgtree.Token) (string, []MetaCommand, []pgtree.Token) {
	var metas []MetaCommand
	for _, t := range toks {
		if t.GetToken() != pg_query.Token_ASCII_92 {
			continue
		}
		s := int(t.GetStart())
		if len(metas) > 0 && s < metas[len(metas)-1].End {
			continue
		}
		e := strings.IndexByte(part[s:], '\n')
		if e < 0 {
			e = len(part)
		} else {
			e += s
		}
		text := strings.TrimRight(part[s:e], " \t\r")
		name := strings.TrimPrefix(text, `\`)
		if i := strings.IndexAny(name, " \t"); i >= 0 {
			name = name[:i]
		}
		metas = append(metas, MetaCommand{Start: s, End: s + len(text), Text: text, Name: name})
	}
	if len(metas) == 0 {
		return part, nil, toks
	}
	b := []byte(part)
	for _, m := range metas {
		for i := m.Start; i < m.End; i++ {
			if b[i] != '\n' {
				b[i] = ' '
			}
		}
		if strings.HasPrefix(m.Name, "g") {
			b[m.Start] = ';'
		}
	}
	kept := toks[:0:0]
	mi := 0
	for _, t := range toks {
		ts := int(t.GetStart())
		for mi < len(metas) && metas[mi].End <= ts {
			mi++
		}
		if mi < len(metas) && ts >= metas[mi].Start && ts < metas[mi].End {
			if ts == metas[mi].Start && strings.HasPrefix(metas[mi].Name, "g") {
				kept = append(kept, pgtree.Token{Start: t.Start, End: t.Start + 1, Token: pg_query.Token_ASCII_59})
			}
			continue
		}
		kept = append(kept, t)
	}
	return string(b), metas, kept
}

// parseErrorAt converts pg_query's error, whose cursor counts characters from
// 1 within the parsed string, into a byte offset in text.
func parseErrorAt(text string, base int, err error) *ParseError {
	pe := &ParseError{Offset: base, Message: err.Error()}
	perr, ok := err.(*parser.Error)
	if !ok || perr.Cursorpos <= 0 {
		return pe
	}
	off := base
	for n := 1; n < perr.Cursorpos && off < len(text); n++ {
		_, size := utf8.DecodeRuneInString(text[off:])
		off += size
	}
	pe.Offset = off
	return pe
}

// MayHoldMetaCommands says whether a line of text[start:end] starts (after
// blanks) with a backslash, as a psql meta-command does: a cheap test, with
// no scan, of whether ParseTrees is bound to fail on the part. A backslash
// line inside a string or comment makes it true too.
func MayHoldMetaCommands(text string, start, end int) bool {
	if start < 0 || end > len(text) || end < start {
		return false
	}
	atLineStart := true
	for i := start; i < end; i++ {
		switch c := text[i]; {
		case c == '\\' && atLineStart:
			return true
		case c == '\n':
			atLineStart = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
		default:
			atLineStart = false
		}
	}
	return false
}

// ParseTrees returns the parse trees of text[start:end] when the whole part
// parses, without positions or comments: what replaying a migration needs,
// at the cost of the parser alone. ok is false when the part does not parse
// as it is (a syntax error, a psql meta-command); use Split then.
func ParseTrees(text string, start, end int) (nodes []*pg_query.Node, ok bool) {
	if start < 0 || end > len(text) || end < start {
		return nil, false
	}
	tree, err := pgtree.Parse(text[start:end])
	if err != nil {
		return nil, false
	}
	if n := len(tree.GetStmts()); n > 0 {
		nodes = make([]*pg_query.Node, 0, n)
	}
	for _, raw := range tree.GetStmts() {
		nodes = append(nodes, raw.GetStmt())
	}
	return nodes, true
}
