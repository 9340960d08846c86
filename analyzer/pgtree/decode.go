package pgtree

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Parse is pg_query.Parse: the same tree, the same errors. The tree is
// read from the JSON pg_query writes (jsondecode.go), which costs the C
// library a third of packing it as protobuf. That JSON leaves out the
// value of an Integer of 0 or below; unless every such Integer of a
// statement is an array bound written [] or ARRAY (unwrittenBoundsRead)
// or a constant that is 0 (zeroConstantsOnly), the statement is parsed
// again on its own into protobuf. Whatever the JSON decoder does
// not read sends the whole text to protobuf, which is always right, only
// slower. Both calls run the same raw parser first, so a syntax error is
// the same error from either.
func Parse(sql string) (*pg_query.ParseResult, error) {
	text, err := parser.ParseToJSON(sql)
	if err != nil {
		return nil, err
	}
	tree, inexact, err := parseJSONTree(text)
	for _, i := range inexact {
		if err != nil {
			break
		}
		if !unwrittenBoundsRead(sql, tree.Stmts[i]) || !zeroConstantsOnly(sql, tree.Stmts[i].Stmt) {
			err = reparseStatement(sql, tree.Stmts[i])
		}
	}
	if err == nil {
		return tree, nil
	}
	slog.Debug("parse tree read from protobuf instead of JSON", "err", err)
	return parseProtobuf(sql)
}

// zeroConstantsOnly says whether every Integer that the JSON of n left
// without its value (read as 0) is the value of a constant that starts
// with a digit, and so is 0 indeed. In PostgreSQL's grammar an integer
// constant's location is where its literal starts, and a literal is never
// negative: a negative constant (doNegate, a signed number) is located at
// its minus sign. Any other Integer read as 0 (an array bound, a sequence
// option, a constant after a minus sign) may have been negative.
func zeroConstantsOnly(sql string, n *pg_query.Node) bool {
	var visit func(m proto.Message) bool
	visit = func(m proto.Message) bool {
		switch v := m.(type) {
		case *pg_query.A_Const:
			if x, ok := v.Val.(*pg_query.A_Const_Ival); ok && x.Ival != nil && x.Ival.Ival == 0 {
				at := int(v.Location)
				return at >= 0 && at < len(sql) && sql[at] >= '0' && sql[at] <= '9'
			}
		case *pg_query.Integer:
			if v.Ival == 0 {
				return false
			}
		}
		ok := true
		known := children(m, func(c proto.Message) {
			ok = ok && visit(c)
		})
		return ok && known
	}
	return visit(n)
}

// unwrittenBoundsRead sets each array bound of raw's type names that the
// JSON left without its value to -1 where the text says [] or ARRAY
// (makeInteger(-1) in the grammar), and says whether it could tell every
// such bound from the statement's tokens. Only -1 is read from the text:
// a bound written [0] answers false, as does any statement the scanner
// cannot read.
func unwrittenBoundsRead(sql string, raw *pg_query.RawStmt) bool {
	var tokens []Token
	scanned, ok := false, true
	var visit func(m proto.Message)
	visit = func(m proto.Message) {
		if !ok {
			return
		}
		if tn, isType := m.(*pg_query.TypeName); isType && hasUnwrittenBound(tn) {
			if !scanned {
				tokens, scanned = statementTokens(sql, raw), true
			}
			ok = readEmptyBounds(tokens, tn)
		}
		if !children(m, visit) {
			ok = false
		}
	}
	visit(raw.Stmt)
	return ok
}

// hasUnwrittenBound says whether one of tn's array bounds was read as 0:
// its value left out of the JSON.
func hasUnwrittenBound(tn *pg_query.TypeName) bool {
	for _, b := range tn.ArrayBounds {
		if b.GetInteger() != nil && b.GetInteger().Ival == 0 {
			return true
		}
	}
	return false
}

// statementTokens scans the text of raw, its tokens' offsets moved to be
// offsets into sql; nil when it cannot be scanned (no bound is then read).
func statementTokens(sql string, raw *pg_query.RawStmt) []Token {
	start, end := int(raw.StmtLocation), len(sql)
	if raw.StmtLen > 0 {
		end = start + int(raw.StmtLen)
	}
	if start < 0 || start > end || end > len(sql) {
		return nil
	}
	tokens, err := ScanTokens(sql[start:end])
	if err != nil {
		slog.Debug("statement not scanned for its array bounds", "at", start, "err", err)
		return nil
	}
	for i := range tokens {
		tokens[i].Start += int32(start)
		tokens[i].End += int32(start)
	}
	return tokens
}

// readEmptyBounds reads tn's array bounds from the tokens of its text and
// sets to -1 each one left without its value that is written [] or
// ARRAY. tn is located at the first token of its type's name; the name
// holds no [ and no ARRAY outside parentheses (its modifiers), and the
// grammar takes every bound that follows it (opt_array_bounds), so the
// first [ or ARRAY after its location at the same depth starts its bounds.
// Anything else than what the grammar reads there, or bounds that do not
// agree with those of the JSON (a value there where the text says [], a
// number where it left none), answers false.
func readEmptyBounds(tokens []Token, tn *pg_query.TypeName) bool {
	at := sort.Search(len(tokens), func(i int) bool { return tokens[i].Start >= tn.Location })
	if tn.Location < 0 || at == len(tokens) || tokens[at].Start != tn.Location {
		return false
	}
	token := func(i int) pg_query.Token {
		if i < len(tokens) {
			return tokens[i].Token
		}
		return pg_query.Token_NUL
	}
	i, depth := at, 0
	for ; i < len(tokens); i++ {
		t := token(i)
		if t == pg_query.Token_ASCII_40 {
			depth++
		} else if t == pg_query.Token_ASCII_41 {
			if depth--; depth < 0 {
				return false
			}
		} else if depth == 0 && (t == pg_query.Token_ASCII_91 || t == pg_query.Token_ARRAY) {
			break
		}
	}
	// empty[k] says whether bound k is written without a number.
	var empty []bool
	switch {
	case token(i) == pg_query.Token_ARRAY && token(i+1) != pg_query.Token_ASCII_91:
		empty = append(empty, true)
	case token(i) == pg_query.Token_ARRAY:
		if token(i+2) != pg_query.Token_ICONST || token(i+3) != pg_query.Token_ASCII_93 {
			return false
		}
		empty = append(empty, false)
	default:
		for len(empty) < len(tn.ArrayBounds) && token(i) == pg_query.Token_ASCII_91 {
			switch {
			case token(i+1) == pg_query.Token_ASCII_93:
				empty, i = append(empty, true), i+2
			case token(i+1) == pg_query.Token_ICONST && token(i+2) == pg_query.Token_ASCII_93:
				empty, i = append(empty, false), i+3
			default:
				return false
			}
		}
	}
	if len(empty) != len(tn.ArrayBounds) {
		return false
	}
	for k, b := range tn.ArrayBounds {
		n := b.GetInteger()
		if n == nil || (n.Ival != 0) == empty[k] || n.Ival < 0 {
			return false
		}
	}
	for k, b := range tn.ArrayBounds {
		if empty[k] {
			b.GetInteger().Ival = -1
		}
	}
	return true
}

// reparseStatement replaces the tree of raw, a statement of sql, by the one
// protobuf gives for it. PostgreSQL's grammar reads each statement of a
// text independently of the ones before it, so the statement is parsed
// alone and its locations (byte offsets into the text) moved by where it
// starts. It is parsed after one space: a location of 0 is then never a
// place in the text but what a node the grammar gives no location holds,
// and stays 0 as it is in the whole text.
func reparseStatement(sql string, raw *pg_query.RawStmt) error {
	start, end := int(raw.StmtLocation), len(sql)
	if raw.StmtLen > 0 {
		end = start + int(raw.StmtLen)
	}
	if start < 0 || start > end || end > len(sql) {
		return fmt.Errorf("pgtree: statement at %d of length %d is outside the text of %d bytes", raw.StmtLocation, raw.StmtLen, len(sql))
	}
	alone, err := parseProtobuf(" " + sql[start:end])
	if err != nil {
		return fmt.Errorf("pgtree: parsing the statement at %d alone: %w", start, err)
	}
	if len(alone.Stmts) != 1 {
		return fmt.Errorf("pgtree: the statement at %d is %d statements alone", start, len(alone.Stmts))
	}
	stmt := alone.Stmts[0].Stmt
	if !moveLocations(stmt, int32(start-1)) {
		return fmt.Errorf("pgtree: the statement at %d holds a location that cannot be moved", start)
	}
	raw.Stmt = stmt
	return nil
}

// moveLocations adds by to every location above 0 in m and the messages
// in it, and says whether it knew them all.
func moveLocations(m proto.Message, by int32) bool {
	ok := moveOwnLocations(m, by)
	known := children(m, func(c proto.Message) {
		ok = ok && moveLocations(c, by)
	})
	return ok && known
}

// parseProtobuf is pg_query.Parse through the decoder generated in
// decode_gen.go: protobuf-go sets up each message type the first time it
// decodes one, which costs a short run more than the C parser itself.
// Whatever the generated decoder cannot read (a field it does not know, a
// wire type that does not match, nesting deeper than protobuf-go allows)
// is decoded again by proto.Unmarshal, which is always right, only slower.
func parseProtobuf(sql string) (*pg_query.ParseResult, error) {
	b, err := parser.ParseToProtobuf(sql)
	if err != nil {
		return nil, err
	}
	tree := &pg_query.ParseResult{}
	err = decodeParseResult(b, tree, 0)
	if err == nil {
		return tree, nil
	}
	slog.Debug("parse tree left to proto.Unmarshal", "err", err)
	tree = &pg_query.ParseResult{}
	return tree, proto.Unmarshal(b, tree)
}

// maxDepth is protobuf-go's default recursion limit: a tree nested deeper
// is left to proto.Unmarshal, which then says what it says about it.
const maxDepth = 10000

var (
	errDepth   = errors.New("pgtree: decode: nested too deeply")
	errInvalid = errors.New("pgtree: decode: string field holds invalid UTF-8")
)

// fieldError reports a field the decoder does not know, or a known field
// whose wire type is not the one its kind is written with.
func fieldError(msg string, num protowire.Number, typ protowire.Type) error {
	return fmt.Errorf("pgtree: decode %s: field %d with wire type %d is not one the decoder reads", msg, num, typ)
}

func wireError(n int) error {
	return fmt.Errorf("pgtree: decode: %w", protowire.ParseError(n))
}

// varintField reads a field written as a varint.
func varintField(b []byte, typ protowire.Type) (uint64, []byte, error) {
	if typ != protowire.VarintType {
		return 0, nil, errors.New("pgtree: decode: a varint field with another wire type")
	}
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, nil, wireError(n)
	}
	return v, b[n:], nil
}

// fixed64Field reads a field written as eight bytes (a double).
func fixed64Field(b []byte, typ protowire.Type) (uint64, []byte, error) {
	if typ != protowire.Fixed64Type {
		return 0, nil, errors.New("pgtree: decode: a fixed64 field with another wire type")
	}
	v, n := protowire.ConsumeFixed64(b)
	if n < 0 {
		return 0, nil, wireError(n)
	}
	return v, b[n:], nil
}

// lenField reads the contents of a length-delimited field.
func lenField(b []byte, typ protowire.Type) ([]byte, []byte, error) {
	if typ != protowire.BytesType {
		return nil, nil, errors.New("pgtree: decode: a length-delimited field with another wire type")
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return nil, nil, wireError(n)
	}
	return v, b[n:], nil
}

// stringField reads a string field. pg_query.proto is proto3, whose
// strings protobuf-go requires to be valid UTF-8: one that is not is an
// error here too, and proto.Unmarshal then gives its own.
func stringField(b []byte, typ protowire.Type) (string, []byte, error) {
	v, rest, err := lenField(b, typ)
	if err != nil {
		return "", nil, err
	}
	if !utf8.Valid(v) {
		return "", nil, errInvalid
	}
	return string(v), rest, nil
}

// varintList reads one field of a repeated varint field, packed (the way
// pg_query writes it) or one value at a time (which a reader must accept
// as well).
func varintList(b []byte, typ protowire.Type, add func(uint64)) ([]byte, error) {
	if typ == protowire.VarintType {
		v, rest, err := varintField(b, typ)
		if err != nil {
			return nil, err
		}
		add(v)
		return rest, nil
	}
	packed, rest, err := lenField(b, typ)
	if err != nil {
		return nil, err
	}
	for len(packed) > 0 {
		v, n := protowire.ConsumeVarint(packed)
		if n < 0 {
			return nil, wireError(n)
		}
		add(v)
		packed = packed[n:]
	}
	return rest, nil
}

// Unmarshal is proto.Unmarshal for the messages of pg_query.proto (a
// Node, a ParseResult...), through the generated decoder where it can.
func Unmarshal(b []byte, m proto.Message) error {
	if ok, err := unmarshal(b, m); ok && err == nil {
		return nil
	}
	return proto.Unmarshal(b, m)
}
