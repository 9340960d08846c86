package analyzer

import (
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// SQL built at run time is read through its skeleton: the constant text of
// format('...', ...) or of a concatenation, with each value filled in at run
// time replaced by a placeholder that stands where the text puts it (a name,
// a number, a quoted value). When every way of filling the placeholders that
// PostgreSQL's parser accepts gives statements that only create (a table, a
// partition, an index, a sequence) or attach a partition or set storage
// parameters, nothing the text runs can drop, delete or rewrite data,
// whatever names it is given: the partition helpers that projects call from
// their migrations. Anything else, a skeleton that does not parse, or one
// built from a variable alone, stays as unknowable as before.

// hole is what a run-time value stands for in the text.
type hole int

const (
	noHole    hole = iota
	holeIdent      // format's %I, quote_ident(): one quoted name
	holeValue      // format's %L, quote_literal(), quote_nullable(): one quoted value
	holeRaw        // format's %s, any other expression: text as it is
)

// piece is constant text or a hole.
type piece struct {
	text string
	hole hole
}

// maxRawHoles bounds the ways of filling %s placeholders that are tried
// (two each); a longer skeleton is left unread.
const maxRawHoles = 8

// skeleton splits the expression that builds SQL text into constant text and
// holes; ok is false when it cannot be told (a format() whose format string
// is not a constant, or is malformed).
func skeleton(n *pg_query.Node) (pieces []piece, ok bool) {
	for n.GetTypeCast() != nil {
		n = n.GetTypeCast().GetArg()
	}
	if n == nil {
		return nil, false
	}
	if c := n.GetAConst(); c != nil && c.GetSval() != nil {
		return []piece{{text: c.GetSval().GetSval()}}, true
	}
	if e := n.GetAExpr(); e != nil && e.GetKind() == pg_query.A_Expr_Kind_AEXPR_OP && len(e.GetName()) == 1 && e.GetName()[0].GetString_().GetSval() == "||" {
		l, ok := skeleton(e.GetLexpr())
		if !ok {
			return nil, false
		}
		r, ok := skeleton(e.GetRexpr())
		if !ok {
			return nil, false
		}
		return append(l, r...), true
	}
	if fc := n.GetFuncCall(); fc != nil {
		name := pgtree.Names(fc.GetFuncname())
		if len(name) == 2 && name[0] == "pg_catalog" {
			name = name[1:]
		}
		if len(name) == 1 {
			switch name[0] {
			case "format":
				if len(fc.GetArgs()) == 0 {
					return nil, false
				}
				f := fc.GetArgs()[0]
				for f.GetTypeCast() != nil {
					f = f.GetTypeCast().GetArg()
				}
				if c := f.GetAConst(); c != nil && c.GetSval() != nil {
					return formatPieces(c.GetSval().GetSval())
				}
				return nil, false
			case "quote_ident":
				return []piece{{hole: holeIdent}}, true
			case "quote_literal", "quote_nullable":
				return []piece{{hole: holeValue}}, true
			}
		}
	}
	return []piece{{hole: holeRaw}}, true
}

// formatPieces reads a format() string as PostgreSQL does:
// %[position$][flags][width]type, type s, I or L, and %% for a percent sign.
func formatPieces(f string) ([]piece, bool) {
	var out []piece
	var text strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			text.WriteByte(f[i])
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			text.WriteByte('%')
			continue
		}
		// Position (n$), flags (-), width (n, * or *n$): they say which
		// argument and how wide, not what kind of text.
		for i < len(f) && strings.IndexByte("0123456789$-*", f[i]) >= 0 {
			i++
		}
		if i >= len(f) {
			return nil, false
		}
		var h hole
		switch f[i] {
		case 's':
			h = holeRaw
		case 'I':
			h = holeIdent
		case 'L':
			h = holeValue
		default:
			return nil, false // PostgreSQL rejects it at run time
		}
		out = append(out, piece{text: text.String()}, piece{hole: h})
		text.Reset()
	}
	return append(out, piece{text: text.String()}), true
}

// fillings renders the skeleton in every way of filling its %s holes with a
// name or a number (names and values for the others), for the parser to
// try.
func fillings(pieces []piece) []string {
	raw := 0
	for _, p := range pieces {
		if p.hole == holeRaw {
			raw++
		}
	}
	if raw > maxRawHoles {
		return nil
	}
	var out []string
	for mask := 0; mask < 1<<raw; mask++ {
		var b strings.Builder
		k, n := 0, 0
		for _, p := range pieces {
			switch p.hole {
			case noHole:
				b.WriteString(p.text)
				continue
			case holeIdent:
				fmt.Fprintf(&b, "mg_value_%d", n)
			case holeValue:
				fmt.Fprintf(&b, "'mg_value_%d'", n)
			case holeRaw:
				if mask&(1<<k) != 0 {
					b.WriteString(strconv.Itoa(n + 1))
				} else {
					fmt.Fprintf(&b, "mg_value_%d", n)
				}
				k++
			}
			n++
		}
		out = append(out, b.String())
	}
	return out
}

// createsKey is what createsOnly's answer depends on: the expression's
// parse tree, which nothing writes to once parsed and which the memo of
// bodies (plpgsql.Memo) shares between the readings of one body text,
// and whether a raw hole may be read as one token.
type createsKey struct {
	built      *pg_query.Node
	rawAsToken bool
}

type createsAnswer struct {
	does string
	ok   bool
}

// creationsOf is createsOnly, kept for the run by expression: a body's
// dynamic SQL is judged at its CREATE and again at every call and trigger
// that runs it, and each answer parses every filling of the skeleton (a
// history of partition helpers asked 364 times about 61 expressions).
func (s *session) creationsOf(built *pg_query.Node, rawAsToken bool) (does string, ok bool) {
	key := createsKey{built: built, rawAsToken: rawAsToken}
	if a, kept := s.creates[key]; kept {
		return a.does, a.ok
	}
	does, ok = createsOnly(built, rawAsToken)
	if s.creates == nil {
		s.creates = map[createsKey]createsAnswer{}
	}
	s.creates[key] = createsAnswer{does: does, ok: ok}
	return does, ok
}

// createsOnly says what SQL built by expression n does when every way its
// skeleton parses only creates objects, attaches partitions or sets storage
// parameters ("creates a table, attaches a partition"); ok is false
// otherwise, and whenever that cannot be told.
//
// rawAsToken says whether a raw hole (format's %s, an unquoted expression in
// a concatenation) may be read as one name or number. It may not where the
// text runs with values the migration itself supplies: a raw value can hold
// any text, a DROP after a semicolon included.
func createsOnly(n *pg_query.Node, rawAsToken bool) (does string, ok bool) {
	pieces, ok := skeleton(n)
	if !ok {
		return "", false
	}
	if !rawAsToken {
		for _, p := range pieces {
			if p.hole == holeRaw {
				return "", false
			}
		}
	}
	var actions []string
	seen := map[string]bool{}
	parsed := false
	for _, text := range fillings(pieces) {
		tree, err := pgtree.Parse(text)
		if err != nil || len(tree.GetStmts()) == 0 {
			continue
		}
		parsed = true
		for _, rs := range tree.GetStmts() {
			a, ok := creationOnly(rs.GetStmt())
			if !ok {
				return "", false
			}
			for _, x := range a {
				if !seen[x] {
					seen[x] = true
					actions = append(actions, x)
				}
			}
		}
	}
	if !parsed {
		return "", false
	}
	return strings.Join(actions, ", "), true
}

// creationOnly says what one statement does when it only creates, attaches
// a partition or sets storage parameters.
func creationOnly(n *pg_query.Node) ([]string, bool) {
	switch {
	case n.GetCreateStmt() != nil:
		if n.GetCreateStmt().GetPartbound() != nil {
			return []string{"creates a partition"}, true
		}
		return []string{"creates a table"}, true
	case n.GetIndexStmt() != nil:
		return []string{"creates an index"}, true
	case n.GetCreateSeqStmt() != nil:
		return []string{"creates a sequence"}, true
	case n.GetAlterTableStmt() != nil:
		var out []string
		for _, cmd := range n.GetAlterTableStmt().GetCmds() {
			switch cmd.GetAlterTableCmd().GetSubtype() {
			case pg_query.AlterTableType_AT_AttachPartition:
				out = append(out, "attaches a partition")
			case pg_query.AlterTableType_AT_SetRelOptions, pg_query.AlterTableType_AT_ResetRelOptions:
				// Storage and autovacuum parameters: no row is touched, no
				// rewrite (SET TABLESPACE, SET LOGGED and the like are
				// other subcommands).
				out = append(out, "sets storage parameters")
			default:
				return nil, false
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}
