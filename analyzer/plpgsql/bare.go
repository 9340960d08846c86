package plpgsql

import (
	"sort"
	"sync/atomic"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// sortByPlace puts the statements of a PL/pgSQL body in the order they
// stand in the file (the parse tree lists an IF's branches, for one, in
// an order of its own), and keeps the tree's order in walk for Bare.
func (b *Body) sortByPlace() {
	at := func(s *Stmt) int { return s.Src.At(s.Stmt.Start) }
	if sort.SliceIsSorted(b.Stmts, func(i, j int) bool { return at(&b.Stmts[i]) < at(&b.Stmts[j]) }) {
		return
	}
	// A stable sort of the indexes orders them as a stable sort of the
	// statements would.
	order := make([]int, len(b.Stmts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return at(&b.Stmts[order[i]]) < at(&b.Stmts[order[j]]) })
	sorted := make([]Stmt, len(b.Stmts))
	for i, k := range order {
		sorted[i] = b.Stmts[k]
	}
	b.Stmts, b.walk = sorted, order
}

// Bare returns what Read gives for the same statement without its text
// (Read(node, Source{})), which is how the catalog reads the bodies it keeps
// (they are run from other files, where this file's offsets mean nothing):
// the same statements and parse trees, in the parse tree's order rather
// than the file's, every offset 0, and no comments but those a statement's
// own split found. It is built from b without parsing anything again, and
// shares b's parse trees, which nobody changes. It returns nil for a body
// whose reading without text differs in more than that (a BEGIN ATOMIC body
// read from the text): read that one again.
func (b *Body) Bare() *Body {
	if b == nil || b.bareless {
		return nil
	}
	zero := func(s Source) Source { return Source{Text: s.Text, Offsets: zeros(len(s.Text) + 1)} }
	out := &Body{What: b.What, Language: b.Language, Name: b.Name, Trigger: b.Trigger}
	if b.Source.Text != "" || b.Source.Offsets != nil || b.Source.Base != 0 || b.Source.lead != 0 {
		// Set (a body with no code leaves it unset, read either way).
		out.Source = zero(b.Source)
	}
	if len(b.Stmts) == 0 {
		return out
	}
	out.Stmts = make([]Stmt, len(b.Stmts))
	for i, s := range b.Stmts {
		at := i
		if b.walk != nil {
			at = b.walk[i]
		}
		s.Src = zero(s.Src)
		// Without the text, the comments before a PL/pgSQL statement
		// cannot be found (attachComments); those the split of a
		// statement's own text found stay, at offset 0.
		s.Comments = nil
		if len(s.Stmt.CommentsBefore) > 0 {
			s.Comments = make([]sqlscript.Comment, len(s.Stmt.CommentsBefore))
			for j, cm := range s.Stmt.CommentsBefore {
				s.Comments[j] = sqlscript.Comment{Text: cm.Text}
			}
		}
		out.Stmts[at] = s
	}
	return out
}

// zeroOffsets backs the Offsets of every bare Source: each maps every byte
// to offset 0, so they can all share one array of zeros, which no one
// writes to (each slice is capped: an append copies it first).
var zeroOffsets atomic.Pointer[[]int]

// zeros returns n zeros from zeroOffsets, growing it as needed.
func zeros(n int) []int {
	if z := zeroOffsets.Load(); z != nil && len(*z) >= n {
		return (*z)[:n:n]
	}
	z := make([]int, max(n, 1<<12))
	// Goroutines growing it at once each store an array of zeros: any
	// one will do.
	zeroOffsets.Store(&z)
	return z[:n:n]
}

// readHook, when set, is called with each statement whose body Read
// parses.
var readHook atomic.Pointer[func(node *pg_query.Node)]

// OnRead has f called with each statement whose body Read parses, until
// the function it returns is called. It is for tests: a run is to read each
// body once. f may be called from several goroutines at once.
func OnRead(f func(node *pg_query.Node)) (stop func()) {
	readHook.Store(&f)
	return func() { readHook.CompareAndSwap(&f, nil) }
}

func noteRead(node *pg_query.Node) {
	if f := readHook.Load(); f != nil {
		(*f)(node)
	}
}
