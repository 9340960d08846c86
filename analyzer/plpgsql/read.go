package plpgsql

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// Kind says what a piece of procedural code does.
type Kind int

// The kinds of what a body runs.
const (
	// Statement is SQL the code runs (parsed, or with a ParseError).
	Statement Kind = iota
	// Expression is an expression the code evaluates (an IF condition, an
	// assignment): only the functions it calls matter.
	Expression
	// Dynamic is EXECUTE of a string built at run time.
	Dynamic
	// Unreadable is a body that could not be read at all.
	Unreadable
)

// Stmt is one thing a body runs. Its offsets (Stmt.Start, End,
// LocationBase, ParseError.Offset) count in Src.Text; Src.At maps them to
// the file.
type Stmt struct {
	Kind Kind
	// Via says how the code runs it, for people: "EXECUTE", "PERFORM",
	// "RETURN QUERY", "FOR ... IN", "OPEN", "CALL", "CURSOR"; "" when the
	// statement is written as it is.
	Via  string
	Src  Source
	Stmt sqlscript.Statement
	// Reason says why a Dynamic or Unreadable entry cannot be read.
	Reason string
	// Built is, for a Dynamic entry, the expression whose value is the SQL
	// text (format('...', ...), a concatenation); nil when that expression
	// could not be parsed.
	Built *pg_query.Node
	// Comments are the comments written right before it in the body, with
	// offsets as Src.At gives them (in the outer text).
	Comments []sqlscript.Comment
	// Guarded is set for a statement inside a BEGIN ... EXCEPTION block:
	// an error it raises may be caught there, and does not fail the
	// migration.
	Guarded bool
}

// Body is the procedural code of one DO or CREATE FUNCTION/PROCEDURE.
type Body struct {
	// What is "DO", "FUNCTION" or "PROCEDURE".
	What     string
	Language string
	// Name is the function's qualified name as written; nil for DO.
	Name []string
	// Trigger is set for a function that RETURNS trigger or event_trigger.
	Trigger bool
	// Source is the body's text as PostgreSQL runs it.
	Source Source
	Stmts  []Stmt

	// guarded counts the exception blocks being read.
	guarded int
	// walk and bareless are what Bare needs (bare.go): walk[i] is the
	// place of Stmts[i] in the parse tree's order, for a body whose
	// statements were sorted by where they stand (nil when they were not);
	// bareless is set when the body's statements were read from the text
	// of the statement, where a reading without it reads the parse tree.
	walk     []int
	bareless bool
}

// maxDepth bounds nesting (EXECUTE of a string holding a DO block...), so
// that hostile input cannot exhaust the stack; deeper code is Unreadable.
const maxDepth = 16

// Read returns the procedural code of a DO or CREATE FUNCTION/PROCEDURE
// statement, or nil for any other statement. src holds the statement's text
// as the parse tree's locations count it (a zero Source when no text is at
// hand: offsets then all point at 0).
func Read(node *pg_query.Node, src Source) *Body {
	b := readWith(nil, node, src, 0)
	if b != nil {
		noteRead(node)
	}
	return b
}

// readWith is Read with what m kept (nil: nothing).
func readWith(m *Memo, node *pg_query.Node, src Source, depth int) *Body {
	switch {
	case node.GetDoStmt() != nil:
		b := &Body{What: "DO", Language: "plpgsql"}
		var code *pg_query.DefElem
		for _, a := range node.GetDoStmt().GetArgs() {
			d := a.GetDefElem()
			switch d.GetDefname() {
			case "language":
				b.Language = strings.ToLower(d.GetArg().GetString_().GetSval())
			case "as":
				code = d
			}
		}
		if code == nil {
			return b
		}
		b.Source = literalSource(src, int(code.GetLocation()), code.GetArg().GetString_().GetSval())
		b.readBody(m, nil, depth)
		return b
	case node.GetCreateFunctionStmt() != nil:
		cf := node.GetCreateFunctionStmt()
		b := &Body{What: "FUNCTION", Name: names(cf.GetFuncname()), Language: "sql"}
		if cf.GetIsProcedure() {
			b.What = "PROCEDURE"
		}
		if rt := names(cf.GetReturnType().GetNames()); len(rt) > 0 {
			last := rt[len(rt)-1]
			b.Trigger = last == "trigger" || last == "event_trigger"
		}
		var code *pg_query.DefElem
		for _, o := range cf.GetOptions() {
			d := o.GetDefElem()
			switch d.GetDefname() {
			case "language":
				b.Language = strings.ToLower(d.GetArg().GetString_().GetSval())
			case "as":
				code = d
			}
		}
		switch {
		case cf.GetSqlBody() != nil:
			b.readAtomic(cf.GetSqlBody(), src)
		case code != nil:
			items := code.GetArg().GetList().GetItems()
			if len(items) == 0 {
				return b
			}
			b.Source = literalSource(src, int(code.GetLocation()), items[0].GetString_().GetSval())
			b.readBody(m, cf, depth)
		}
		return b
	}
	return nil
}

// readBody reads Source in the body's language, or takes what m kept of
// the same reading.
func (b *Body) readBody(m *Memo, cf *pg_query.CreateFunctionStmt, depth int) {
	if depth > maxDepth {
		b.unreadable(0, "procedural code nested too deep to follow")
		return
	}
	switch b.Language {
	case "sql":
		m.reuse(b, memoKey{language: b.Language, text: b.Source.Text}, func() { b.addScript(nil, b.Source, "", Statement) })
	case "plpgsql":
		head := m.signature(cf)
		key := memoKey{language: b.Language, head: head, text: b.Source.Text, out: hasOutParameters(cf), setof: cf.GetReturnType().GetSetof()}
		m.reuse(b, key, func() { b.readPlpgsql(m, cf, head, depth) })
	case "c", "internal":
		b.unreadable(0, fmt.Sprintf("LANGUAGE %s runs compiled code, not SQL: what it does cannot be read here", b.Language))
	default:
		b.unreadable(0, fmt.Sprintf("LANGUAGE %s: migration-guard reads only plpgsql and sql, so the statements this code runs cannot be seen", b.Language))
	}
}

func (b *Body) unreadable(at int, reason string) {
	st := sqlscript.Statement{Start: 0, End: len(b.Source.Text), SQL: b.Source.Text,
		ParseError: &sqlscript.ParseError{Offset: clamp(at, len(b.Source.Text)), Message: reason}}
	b.Stmts = append(b.Stmts, Stmt{Kind: Unreadable, Src: b.Source, Stmt: st, Reason: reason})
}

// addScript splits src into statements and adds them, with m's split of
// the same text when it kept one.
func (b *Body) addScript(m *Memo, src Source, via string, kind Kind) {
	sc := m.split(src.Text)
	for _, st := range sc.Statements {
		if st.ParseError != nil {
			// Its own: the split may be m's, shared.
			pe := *st.ParseError
			st.ParseError = &pe
		}
		var cs []sqlscript.Comment
		for _, cm := range st.CommentsBefore {
			cm.Start, cm.End = src.At(cm.Start), src.At(cm.End)
			cs = append(cs, cm)
		}
		b.Stmts = append(b.Stmts, Stmt{Kind: kind, Via: via, Src: src, Stmt: st, Comments: cs, Guarded: b.guarded > 0})
	}
	for _, mc := range sc.MetaCommands {
		st := sqlscript.Statement{Start: mc.Start, End: mc.End, SQL: mc.Text,
			ParseError: &sqlscript.ParseError{Offset: mc.Start, Message: "a backslash command is not SQL: PostgreSQL rejects it"}}
		b.Stmts = append(b.Stmts, Stmt{Kind: kind, Via: via, Src: src, Stmt: st})
	}
}

// readAtomic reads a SQL-standard body (BEGIN ATOMIC ... END, or RETURN
// expr), which the parser already parsed with the statement.
func (b *Body) readAtomic(body *pg_query.Node, src Source) {
	start, end := atomicRange(src.Text)
	if start >= 0 {
		b.Source = src.Slice(start, end)
		b.addScript(nil, b.Source, "", Statement)
		b.bareless = true
		return
	}
	// RETURN expr, or no text at hand: the parse tree is all there is.
	var stmts []*pg_query.Node
	if l := body.GetList(); l != nil {
		for _, item := range l.GetItems() {
			if inner := item.GetList(); inner != nil {
				stmts = append(stmts, inner.GetItems()...)
			} else {
				stmts = append(stmts, item)
			}
		}
	} else {
		stmts = append(stmts, body)
	}
	for _, n := range stmts {
		kind := Statement
		if n.GetReturnStmt() != nil {
			kind = Expression
		}
		text := deparse(n)
		b.Stmts = append(b.Stmts, Stmt{Kind: kind, Src: src.pinned(text, 0),
			Stmt: sqlscript.Statement{End: len(text), SQL: text, Node: n, LocationBase: 0}})
	}
}

// atomicRange finds the statements between BEGIN ATOMIC and the last END.
func atomicRange(text string) (start, end int) {
	if text == "" {
		return -1, -1
	}
	toks, err := pgtree.ScanTokens(text)
	if err != nil {
		return -1, -1
	}
	start, end = -1, -1
	for i, t := range toks {
		if start < 0 && t.GetToken() == pg_query.Token_BEGIN_P && i+1 < len(toks) && toks[i+1].GetToken() == pg_query.Token_ATOMIC {
			start = int(toks[i+1].GetEnd())
		}
		if start >= 0 && t.GetToken() == pg_query.Token_END_P {
			end = int(t.GetStart())
		}
	}
	if start < 0 || end < start {
		return -1, -1
	}
	return start, end
}

// literalSource finds the string constant holding value at or after byte
// from of src and returns value mapped to the file. When the literal cannot
// be found or decoded, value is pinned to from.
func literalSource(src Source, from int, value string) Source {
	from = clamp(from, len(src.Text))
	if s, tag, e, ok := dollarQuoteAt(src.Text, from); ok && src.verbatim() && src.Text[s+tag:e-tag] == value {
		// The common case (AS $$...$$), found without the scanner: the
		// token the scan below would find first.
		return Source{Text: value, Base: src.Base + s + tag}
	}
	return scannedLiteralSource(src, from, value)
}

// scannedLiteralSource is literalSource with the scanner.
func scannedLiteralSource(src Source, from int, value string) Source {
	if toks, err := pgtree.ScanTokens(src.Text[from:]); err == nil {
		for _, t := range toks {
			if t.GetToken() != pg_query.Token_SCONST {
				continue
			}
			s, e := from+int(t.GetStart()), from+int(t.GetEnd())
			lit := src.Text[s:e]
			if at, ok := dollarBody(lit); ok && src.verbatim() && lit[at:len(lit)-at] == value {
				// A dollar-quoted body stands verbatim in a text that
				// stands verbatim in the file: no offsets to keep.
				return Source{Text: value, Base: src.Base + s + at}
			}
			got, index, ok := decodeLiteral(lit)
			if ok && got == value {
				return src.mapped(value, func(k int) int { return s + index[k] })
			}
			return src.spanned(value, s, e)
		}
	}
	return src.pinned(value, from)
}

// readPlpgsql parses the body with PostgreSQL's PL/pgSQL parser and collects
// what it runs.
// head is signature(cf); m keeps the inner statements' splits and parses.
func (b *Body) readPlpgsql(m *Memo, cf *pg_query.CreateFunctionStmt, head string, depth int) {
	wrapper, prefix, err := wrap(head, b.Source.Text)
	if err != nil {
		b.unreadable(0, err.Error())
		return
	}
	out, err := pg_query.ParsePlPgSqlToJSON(wrapper)
	rewritten := 0
	if err != nil && hasOutParameters(cf) && cf.GetReturnType().GetSetof() && strings.HasPrefix(err.Error(), "missing expression") {
		// The parser pg_query ships sets up no OUT parameters, so it wants
		// a value after RETURN NEXT, which PostgreSQL forbids in a function
		// with OUT parameters (it returns their current values). Reading
		// RETURN NEXT; as RETURN; loses nothing (neither runs SQL) and keeps
		// every offset; an error that remains is the body's own.
		var text string
		if text, rewritten = bareReturnNextAsReturn(b.Source.Text); rewritten > 0 {
			if w, p, werr := wrap(head, text); werr == nil {
				out, err = pg_query.ParsePlPgSqlToJSON(w)
				prefix = p
			}
		}
	}
	if err != nil {
		at := 0
		var perr *parser.Error
		if errors.As(err, &perr) && perr.Cursorpos > prefix {
			at = perr.Cursorpos - 1 - prefix
		}
		reason := "PostgreSQL's PL/pgSQL parser cannot read this body: " + err.Error()
		if rewritten == 0 && hasOutParameters(cf) && strings.HasPrefix(err.Error(), "missing expression") {
			// A RETURN NEXT without a value that the scan above could not
			// find: the parser used here is stricter than PostgreSQL.
			reason = "the PL/pgSQL parser used here rejects this body (" + err.Error() +
				"), possibly a RETURN NEXT without a value, which PostgreSQL accepts in a function with OUT parameters: review the body by hand"
		}
		b.unreadable(at, reason)
		return
	}
	tree, err := decodeWith(out)
	if err != nil {
		b.unreadable(0, "the PL/pgSQL parse tree could not be read: "+err.Error())
		return
	}
	r := &plReader{body: b, used: map[int]bool{}, depth: depth, memo: m}
	r.walk(&tree, "", "", 1)
	b.sortByPlace()
	b.attachComments()
}

// decodeWith is how readPlpgsql decodes the parse tree: decodeWalked;
// tests set it to decodeTree, to compare with a walk of the whole tree.
var decodeWith = decodeWalked

// attachComments gives each statement of a PL/pgSQL body the comments
// written right before it (the parser's copy of a statement leaves them
// out): ignore directives can stand there.
func (b *Body) attachComments() {
	if !strings.Contains(b.Source.Text, "--") && !strings.Contains(b.Source.Text, "/*") {
		// No comment token can come out of the scanner: spare the scan.
		return
	}
	if spareCommentScans && !b.commentsMayStand() {
		return
	}
	toks, err := pgtree.ScanTokens(b.Source.Text)
	if err != nil {
		return
	}
	for i := range b.Stmts {
		st := &b.Stmts[i]
		if st.Kind != Statement || len(st.Comments) > 0 {
			continue
		}
		start := st.Src.At(st.Stmt.Start)
		k := sort.Search(len(toks), func(k int) bool { return b.Source.At(int(toks[k].GetStart())) >= start })
		var cs []sqlscript.Comment
		for k--; k >= 0; k-- {
			t := toks[k]
			if t.GetToken() != pg_query.Token_SQL_COMMENT && t.GetToken() != pg_query.Token_C_COMMENT {
				break
			}
			cs = append([]sqlscript.Comment{{Start: b.Source.At(int(t.GetStart())), End: b.Source.At(int(t.GetEnd())),
				Text: b.Source.Text[t.GetStart():t.GetEnd()]}}, cs...)
		}
		st.Comments = cs
	}
}

// spareCommentScans is unset by tests only, to compare with readings that
// scan every body holding a comment.
var spareCommentScans = true

// commentsMayStand says whether the scan of attachComments may find a
// comment right before a statement that is to get them: a body whose
// comments all stand elsewhere (at its top, at the end of a line of code)
// is spared the scan, which would attach nothing. A body with an offset
// per byte is always scanned.
func (b *Body) commentsMayStand() bool {
	if !b.Source.verbatim() {
		return true
	}
	var blocks []int
	for i := range b.Stmts {
		st := &b.Stmts[i]
		if st.Kind != Statement || len(st.Comments) > 0 {
			continue
		}
		if blocks == nil {
			blocks = blockEnds(b.Source.Text)
		}
		if commentMayEndAt(b.Source.Text, blocks, st.Src.At(st.Stmt.Start)-b.Source.Base) {
			return true
		}
	}
	return false
}

// blockEnds gives, for each "/*" of text, in order, where a block comment
// starting there would end (the byte after its "*/"; len(text)+1 when it
// never does), as the scanner reads one: each "/*" inside nests one more,
// each "*/" closes one. Most are no comment (a "/*" in a string): the
// ends are what they would be if they were.
func blockEnds(text string) []int {
	ends := []int{} // not nil: computed
	for p := strings.Index(text, "/*"); p >= 0; {
		depth, i := 1, p+2
		end := len(text) + 1
		for i < len(text) {
			switch {
			case strings.HasPrefix(text[i:], "/*"):
				depth++
				i += 2
			case strings.HasPrefix(text[i:], "*/"):
				depth--
				i += 2
			default:
				i++
				continue
			}
			if depth == 0 {
				end = i
				break
			}
		}
		ends = append(ends, p, end)
		next := strings.Index(text[p+1:], "/*")
		if next < 0 {
			break
		}
		p += 1 + next
	}
	return ends
}

// commentMayEndAt says whether the last token of text that starts before
// byte at may be a comment (attachComments takes the comments among the
// tokens right before a statement); false only when it cannot be. blocks
// is blockEnds(text). The scanner reads every byte that is not a blank as
// part of a token, so the token before at, after the blanks there, is:
//   - none, when only blanks stand before at;
//   - a block comment only when the last byte before at that is not a
//     blank ends a "*/" (the comment ended there), or a "/*" starts
//     before at whose comment ends after at (at stands inside it);
//   - a line comment only when a "--" stands on the line of the last byte
//     before at that is not a blank, at or before at (such a comment
//     holds no line feed, and is followed by blanks alone up to at, or
//     holds at).
//
// The blanks skipped here are those of PostgreSQL's scanner and more: a
// byte taken for a blank wrongly only moves the search back to another
// byte, where it may find a "*/" or a "--" that is no comment's, which
// says maybe.
func commentMayEndAt(text string, blocks []int, at int) bool {
	at = clamp(at, len(text))
	j := at - 1
	for j >= 0 && strings.IndexByte(" \t\n\r\f\v", text[j]) >= 0 {
		j--
	}
	if j < 0 {
		return false
	}
	if j >= 1 && text[j-1:j+1] == "*/" {
		return true
	}
	for k := 0; k+1 < len(blocks) && blocks[k] < at; k += 2 {
		if blocks[k+1] > at {
			return true
		}
	}
	upto := text[:min(at+1, len(text))]
	line := strings.LastIndexByte(text[:j+1], '\n') + 1
	return strings.Contains(upto[line:], "--")
}

// wrap builds the one CREATE FUNCTION the PL/pgSQL parser reads: head
// (signature's), then the body under a dollar tag it does not contain.
// prefix is the length before the body.
func wrap(head, body string) (string, int, error) {
	if strings.IndexByte(body, 0) >= 0 {
		return "", 0, fmt.Errorf("the body holds a NUL byte")
	}
	if head == "" {
		return "", 0, fmt.Errorf("the function's signature could not be rebuilt for the PL/pgSQL parser")
	}
	tag := "$mg$"
	for n := 0; strings.Contains(body, tag) || strings.Contains(head, tag); n++ {
		tag = "$mg" + strconv.Itoa(n) + "$"
	}
	// One concatenation: the text is built in one allocation.
	return head + " AS " + tag + body + tag, len(head) + len(" AS ") + len(tag), nil
}

// signature is the CREATE FUNCTION that wrap puts the body in: the
// function's own parameters and result type (they declare variables the
// body uses: NEW and OLD of a trigger, OUT parameters) and LANGUAGE
// plpgsql. The text is built from the parse tree, never from the user's
// text, because that parser aborts the process on a function it does not
// expect. It is "" when the tree cannot be deparsed.
func signature(cf *pg_query.CreateFunctionStmt) string {
	return deparse(signatureTree(cf))
}

// signatureTree is the tree signature deparses.
func signatureTree(cf *pg_query.CreateFunctionStmt) *pg_query.Node {
	fn := &pg_query.CreateFunctionStmt{
		Funcname:   []*pg_query.Node{pg_query.MakeStrNode("migration_guard_body")},
		ReturnType: &pg_query.TypeName{Names: []*pg_query.Node{pg_query.MakeStrNode("void")}, Typemod: -1},
	}
	if cf != nil {
		fn.IsProcedure = cf.GetIsProcedure()
		fn.Parameters = cf.GetParameters()
		if cf.GetReturnType() != nil {
			fn.ReturnType = cf.GetReturnType()
		}
		if fn.IsProcedure {
			fn.ReturnType = nil
		}
	}
	fn.Options = []*pg_query.Node{{Node: &pg_query.Node_DefElem{DefElem: &pg_query.DefElem{Defname: "language", Arg: pg_query.MakeStrNode("plpgsql"), Defaction: pg_query.DefElemAction_DEFELEM_UNSPEC}}}}
	return &pg_query.Node{Node: &pg_query.Node_CreateFunctionStmt{CreateFunctionStmt: fn}}
}

func deparse(n *pg_query.Node) string {
	out, err := pgtree.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: n}}})
	if err != nil {
		return ""
	}
	return out
}

// plReader walks the PL/pgSQL parse tree (JSON from pg_query).
type plReader struct {
	body  *Body
	used  map[int]bool // body offsets already matched to a query
	depth int
	// memo keeps the splits and parses of inner statements (nil: none).
	memo *Memo
}

// dynamicFields are the expressions whose value is SQL text run by EXECUTE.
var dynamicFields = map[string]string{
	"PLpgSQL_stmt_dynexecute.query":      "EXECUTE",
	"PLpgSQL_stmt_dynfors.query":         "FOR ... IN EXECUTE",
	"PLpgSQL_stmt_return_query.dynquery": "RETURN QUERY EXECUTE",
	"PLpgSQL_stmt_open.dynquery":         "OPEN ... FOR EXECUTE",
}

var viaOf = map[string]string{
	"PLpgSQL_stmt_perform":      "PERFORM",
	"PLpgSQL_stmt_call":         "CALL",
	"PLpgSQL_stmt_return_query": "RETURN QUERY",
	"PLpgSQL_stmt_fors":         "FOR ... IN",
	"PLpgSQL_stmt_open":         "OPEN",
	"PLpgSQL_var":               "CURSOR",
}

func (r *plReader) walk(v *jval, owner, field string, line int) {
	switch v.kind {
	case jArr:
		for i := range v.arr {
			r.walk(&v.arr[i], owner, field, line)
		}
	case jObj:
		if n := v.get("lineno"); n != nil && n.kind == jNum && n.num >= 1 {
			line = int(n.num)
		}
		// Members are sorted by key.
		for i := range v.obj {
			k, x := v.obj[i].key, &v.obj[i].val
			switch {
			case k == "PLpgSQL_expr":
				r.expr(x, owner, field, line)
			case strings.HasPrefix(k, "PLpgSQL_"):
				r.walk(x, k, "", line)
			case owner == "PLpgSQL_stmt_block" && k == "body" && v.get("exceptions") != nil && v.get("exceptions").kind != jNull:
				// The statements a handler protects; the handlers' own
				// actions are not.
				r.body.guarded++
				r.walk(x, owner, k, line)
				r.body.guarded--
			default:
				r.walk(x, owner, k, line)
			}
		}
	}
}

func (r *plReader) expr(e *jval, owner, field string, line int) {
	var q string
	var mode float64
	if x := e.get("query"); x != nil && x.kind == jStr {
		q = x.str
	}
	if x := e.get("parseMode"); x != nil && x.kind == jNum {
		mode = x.num
	}
	if strings.TrimSpace(q) == "" {
		return
	}
	if via, ok := dynamicFields[owner+"."+field]; ok {
		at := r.locate(q, line, owner)
		r.dynamic(r.body.Source.shifted(q, at), via)
		return
	}
	if mode == 0 {
		at := r.locate(q, line, owner)
		src := r.body.Source.shifted(q, at)
		if owner == "PLpgSQL_stmt_perform" {
			src = r.body.Source.mapped(q, func(k int) int {
				if k >= len("SELECT") {
					// PERFORM is one byte longer than the SELECT put in its place.
					return at + k + 1
				}
				return at + k
			})
		}
		r.body.addScript(r.memo, src, viaOf[owner], Statement)
		return
	}
	// An expression: PostgreSQL evaluates it as SELECT expr; an assignment
	// (target := expr) as the expression after the operator.
	at := r.locate(q, line, owner)
	exprText := q
	if mode >= 3 {
		cut := assignmentValue(q)
		if cut < 0 {
			return
		}
		for cut < len(q) && strings.IndexByte(" \t\r\n", q[cut]) >= 0 {
			cut++
		}
		exprText = q[cut:]
		at += cut
	}
	text, tree, err := r.memo.parseSelect(exprText)
	if err != nil || len(tree.GetStmts()) != 1 {
		return
	}
	src := r.body.Source.led(text, len("SELECT "), at)
	r.body.Stmts = append(r.body.Stmts, Stmt{Kind: Expression, Src: src,
		Stmt: sqlscript.Statement{Start: len("SELECT "), End: len(text), SQL: exprText, Node: tree.GetStmts()[0].GetStmt()}})
}

// assignmentValue returns where the value of "target := value" starts.
func assignmentValue(q string) int {
	toks, err := pgtree.ScanTokens(q)
	if err != nil {
		return -1
	}
	depth := 0
	for _, t := range toks {
		switch t.GetToken() {
		case pg_query.Token_ASCII_40, pg_query.Token_ASCII_91:
			depth++
		case pg_query.Token_ASCII_41, pg_query.Token_ASCII_93:
			depth--
		case pg_query.Token_COLON_EQUALS, pg_query.Token_ASCII_61:
			if depth == 0 {
				return int(t.GetEnd())
			}
		}
	}
	return -1
}

// dynamic handles the SQL text given to EXECUTE: a constant is read like
// any statement; anything else is built at run time.
func (r *plReader) dynamic(expr Source, via string) {
	_, tree, err := r.memo.parseSelect(expr.Text)
	var val *pg_query.Node
	if err == nil && len(tree.GetStmts()) == 1 {
		if sel := tree.GetStmts()[0].GetStmt().GetSelectStmt(); sel != nil && len(sel.GetTargetList()) == 1 && sel.GetFromClause() == nil {
			val = sel.GetTargetList()[0].GetResTarget().GetVal()
		}
	}
	for val.GetTypeCast() != nil {
		val = val.GetTypeCast().GetArg()
	}
	if c := val.GetAConst(); c != nil && c.GetSval() != nil {
		s := int(c.GetLocation()) - len("SELECT ")
		r.body.addScript(r.memo, literalSource(expr, s, c.GetSval().GetSval()), via, Statement)
		return
	}
	if s, ok := constantConcat(val); ok {
		r.body.addScript(r.memo, expr.spanned(s, 0, len(expr.Text)), via, Statement)
		return
	}
	st := sqlscript.Statement{Start: 0, End: len(expr.Text), SQL: expr.Text}
	r.body.Stmts = append(r.body.Stmts, Stmt{Kind: Dynamic, Via: via, Src: expr, Stmt: st, Built: val,
		Reason: "the SQL text is built at run time, so what it runs cannot be known before it runs"})
}

// constantConcat folds 'a' || 'b' of string constants.
func constantConcat(n *pg_query.Node) (string, bool) {
	for n.GetTypeCast() != nil {
		n = n.GetTypeCast().GetArg()
	}
	if c := n.GetAConst(); c != nil && c.GetSval() != nil {
		return c.GetSval().GetSval(), true
	}
	e := n.GetAExpr()
	if e == nil || e.GetKind() != pg_query.A_Expr_Kind_AEXPR_OP || len(e.GetName()) != 1 || e.GetName()[0].GetString_().GetSval() != "||" {
		return "", false
	}
	l, ok := constantConcat(e.GetLexpr())
	if !ok {
		return "", false
	}
	rt, ok := constantConcat(e.GetRexpr())
	if !ok {
		return "", false
	}
	return l + rt, true
}

// locate finds where the parser's copy of a query stands in the body: at or
// after the start of its line, the first place not matched yet where it
// reads the same, a blank in the copy standing for anything (the parser
// blanks out INTO targets). PERFORM is written where the copy says SELECT.
// When nothing matches, the start of the line is the best that can be said.
func (r *plReader) locate(q string, line int, owner string) int {
	text := r.body.Source.Text
	from := lineStart(text, line)
	want := q
	if owner == "PLpgSQL_stmt_perform" && strings.HasPrefix(q, "SELECT") {
		want = "PERFORM" + q[len("SELECT"):]
	}
	for i := from; i+len(want) <= len(text); i++ {
		if r.used[i] || !sameWithBlanks(text[i:i+len(want)], want) {
			continue
		}
		r.used[i] = true
		return i
	}
	for from < len(text) && strings.IndexByte(" \t\r\n", text[from]) >= 0 {
		from++
	}
	return from
}

func sameWithBlanks(have, want string) bool {
	for k := 0; k < len(want); k++ {
		if want[k] != have[k] && want[k] != ' ' {
			return false
		}
	}
	return len(want) > 0 && (want[0] == have[0])
}

// lineStart is the byte offset of 1-based line n of text.
func lineStart(text string, n int) int {
	off := 0
	for i := 1; i < n; i++ {
		j := strings.IndexByte(text[off:], '\n')
		if j < 0 {
			return off
		}
		off += j + 1
	}
	return off
}

func names(nodes []*pg_query.Node) []string {
	var out []string
	for _, n := range nodes {
		if s := n.GetString_(); s != nil {
			out = append(out, s.GetSval())
		}
	}
	return out
}

// bareReturnNextAsReturn blanks out NEXT in each RETURN NEXT written
// without a value (RETURN, NEXT and ';' tokens, comments allowed between
// them), so that the body reads as the same statements at the same offsets,
// and says how many it changed. Words in strings, quoted identifiers and
// comments are tokens of their own and are left alone.
func bareReturnNextAsReturn(body string) (string, int) {
	all, err := pgtree.ScanTokens(body)
	if err != nil {
		return body, 0
	}
	var toks []pgtree.Token
	for _, t := range all {
		if t.GetToken() != pg_query.Token_SQL_COMMENT && t.GetToken() != pg_query.Token_C_COMMENT {
			toks = append(toks, t)
		}
	}
	out := []byte(body)
	n := 0
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].GetToken() == pg_query.Token_RETURN && toks[i+1].GetToken() == pg_query.Token_NEXT && toks[i+2].GetToken() == pg_query.Token_ASCII_59 {
			for k := toks[i+1].GetStart(); k < toks[i+1].GetEnd(); k++ {
				out[k] = ' '
			}
			n++
		}
	}
	return string(out), n
}

func hasOutParameters(cf *pg_query.CreateFunctionStmt) bool {
	for _, p := range cf.GetParameters() {
		switch p.GetFunctionParameter().GetMode() {
		case pg_query.FunctionParameterMode_FUNC_PARAM_OUT, pg_query.FunctionParameterMode_FUNC_PARAM_INOUT, pg_query.FunctionParameterMode_FUNC_PARAM_TABLE:
			return true
		}
	}
	return false
}
