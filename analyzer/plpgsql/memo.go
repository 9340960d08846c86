package plpgsql

import (
	"slices"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// Memo keeps what reading each body gave, for one analysis, so that a body
// read again (a function that the up and the down part, or later
// migrations, create again with the same code) is not parsed again: a
// history re-creating its functions read a quarter of its bodies twice or
// more. It is safe for concurrent use (the files are parsed ahead on
// several goroutines). A nil *Memo reads every body afresh.
//
// What reading a body gives depends only on its language, its text and,
// for PL/pgSQL, the signature handed to the PL/pgSQL parser (the
// function's parameters and result type, which declare the body's
// variables); its offsets in the file are the body's place plus offsets
// within its text. A body that stands verbatim in the file (its Source has
// no Offsets: the usual $$...$$) is kept once and handed out at each place
// by moving those offsets. A body with an offset per byte (a quoted body
// with escapes) is read afresh each time.
//
// Within the bodies it reads, it keeps each inner statement's split and
// each expression's parse by text, which hold no offsets in the file:
// different bodies run many of the same statements and expressions.
//
// Each Body handed out has statements, sources, comments and parse errors
// of its own. The parse trees (Stmt.Stmt.Node, Stmt.Built) and the slices
// of sqlscript.Statement (tokens, comments, variables) are shared between
// them: nothing writes to a parse tree once it is parsed (the rules that
// rewrite a statement clone it first, pgtree.Clone), which Bare relies on
// too.
type Memo struct {
	mu    sync.Mutex
	kept  map[memoKey]*keptRead
	count int
	// scripts and trees keep the split of each statement text and the
	// parse of each expression that a PL/pgSQL body runs (the SELECT of
	// it), by text: bodies
	// that differ share many (RETURN NEW, the same UPDATE in a function
	// and its replacement). They hold no offsets in the file.
	scripts map[string]*sqlscript.Script
	trees   map[string]parsedText
	texts   int
	// heads keeps signature's text by the encoded tree it deparses: many
	// functions share a signature (a trigger function's RETURNS trigger,
	// no parameters), and deparsing is a round trip through the C library
	// (a history of 204 PL/pgSQL bodies had 35 signatures).
	heads *pgtree.DeparseMemo
}

// parsedText is what pgtree.Parse gave for text, the SELECT of an
// expression.
type parsedText struct {
	text string
	tree *pg_query.ParseResult
	err  error
}

// memoKey is everything reading a body depends on: for PL/pgSQL, head is
// the signature the PL/pgSQL parser is given, and out and setof say whether
// the function has OUT parameters and returns a set (readPlpgsql reads a
// bare RETURN NEXT then); for LANGUAGE sql, only the text.
type memoKey struct {
	language, head, text string
	out, setof           bool
}

// keptRead is a body's statements as first read, with the file offset of
// its text then.
type keptRead struct {
	base  int
	stmts []Stmt
	walk  []int
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo {
	return &Memo{kept: map[memoKey]*keptRead{}, scripts: map[string]*sqlscript.Script{}, trees: map[string]parsedText{}, heads: pgtree.NewDeparseMemo()}
}

// Read is Read, reusing what m kept.
func (m *Memo) Read(node *pg_query.Node, src Source) *Body {
	b := readWith(m, node, src, 0)
	if b != nil {
		noteRead(node)
	}
	return b
}

// Reused counts the bodies handed out from what m kept rather than read.
func (m *Memo) Reused() int {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count
}

// ReusedTexts counts the statement texts and expressions handed out
// from what m kept rather than split or parsed.
func (m *Memo) ReusedTexts() int {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.texts
}

// split is sqlscript.Split of the whole text, kept by text. Callers copy
// the statements out and change none of the script.
func (m *Memo) split(text string) *sqlscript.Script {
	if m == nil {
		return sqlscript.Split(text, 0, len(text))
	}
	m.mu.Lock()
	sc, ok := m.scripts[text]
	if ok {
		m.texts++
	}
	m.mu.Unlock()
	if ok {
		return sc
	}
	sc = sqlscript.Split(text, 0, len(text))
	m.mu.Lock()
	m.scripts[text] = sc
	m.mu.Unlock()
	return sc
}

// signature is signature(cf), kept by the protobuf encoding of the tree
// it deparses with its locations cleared (pgtree.DeparseKey): trees equal
// but for where they stand in their texts deparse alike (the deparser
// prints no location), and two functions' parameters and result type
// always stand elsewhere.
func (m *Memo) signature(cf *pg_query.CreateFunctionStmt) string {
	tree := signatureTree(cf)
	if m == nil {
		return deparse(tree)
	}
	return m.heads.Of(tree, deparse)
}

// parseSelect is pgtree.Parse of "SELECT " + expr, kept by expr, with
// that text: the bodies that evaluate the same expression share the text
// too (a string, which nobody changes).
func (m *Memo) parseSelect(expr string) (string, *pg_query.ParseResult, error) {
	if m == nil {
		text := "SELECT " + expr
		tree, err := pgtree.Parse(text)
		return text, tree, err
	}
	m.mu.Lock()
	p, ok := m.trees[expr]
	if ok {
		m.texts++
	}
	m.mu.Unlock()
	if ok {
		return p.text, p.tree, p.err
	}
	p.text = "SELECT " + expr
	p.tree, p.err = pgtree.Parse(p.text)
	m.mu.Lock()
	m.trees[expr] = p
	m.mu.Unlock()
	return p.text, p.tree, p.err
}

// Kept returns the statements of each body m keeps, as first read, for
// tests: they check that nothing changed the parse trees handed out.
func (m *Memo) Kept() [][]Stmt {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]Stmt, 0, len(m.kept))
	for _, k := range m.kept {
		out = append(out, k.stmts)
	}
	return out
}

// reuse sets b's statements from what m kept under key, or calls read to
// read them and keeps them.
func (m *Memo) reuse(b *Body, key memoKey, read func()) {
	if m == nil || !b.Source.verbatim() {
		read()
		return
	}
	m.mu.Lock()
	k := m.kept[key]
	if k != nil {
		m.count++
	}
	m.mu.Unlock()
	if k != nil {
		b.Stmts, b.walk = movedStmts(k.stmts, b.Source.Base-k.base), slices.Clone(k.walk)
		return
	}
	read()
	// A copy of its own: the body read is its reader's. Goroutines reading
	// the same body at once each keep theirs: the same statements either
	// way.
	k = &keptRead{base: b.Source.Base, stmts: movedStmts(b.Stmts, 0), walk: slices.Clone(b.walk)}
	m.mu.Lock()
	m.kept[key] = k
	m.mu.Unlock()
}

// movedStmts copies stmts with every file offset moved by d: their
// sources, comments and parse errors are the copy's own.
func movedStmts(stmts []Stmt, d int) []Stmt {
	if stmts == nil {
		return nil
	}
	out := make([]Stmt, len(stmts))
	for i, s := range stmts {
		s.Src = s.Src.moved(d)
		if s.Comments != nil {
			cs := make([]sqlscript.Comment, len(s.Comments))
			for j, c := range s.Comments {
				c.Start, c.End = c.Start+d, c.End+d
				cs[j] = c
			}
			s.Comments = cs
		}
		if s.Stmt.ParseError != nil {
			pe := *s.Stmt.ParseError
			s.Stmt.ParseError = &pe
		}
		out[i] = s
	}
	return out
}

// moved is s with every file offset moved by d.
func (s Source) moved(d int) Source {
	if s.Offsets == nil {
		return Source{Text: s.Text, Base: s.Base + d, lead: s.lead}
	}
	offs := make([]int, len(s.Offsets))
	for i, o := range s.Offsets {
		offs[i] = o + d
	}
	return Source{Text: s.Text, Offsets: offs}
}
