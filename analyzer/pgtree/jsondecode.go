package pgtree

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// The JSON pg_query writes for a parse tree (pg_query_outfuncs_json.c)
// follows protobuf's JSON mapping of pg_query.proto: each field under its
// json_name, a Node as an object with one key naming its member, enums by
// name, zero values left out, a NULL list element as {}. Reading it costs
// the C library less than packing the tree as protobuf (protobuf-c sizes
// every Node's 250 oneof members, again at every level of nesting).
//
// The generated functions of jsondecode_gen.go read it with jsonReader,
// which knows exactly what that writer produces (objects, arrays, strings
// with the escapes _outToken writes, integers, true and false) and what
// protojson writes for the same messages (whitespace, int64 in quotes,
// enums by number, any \u escape). Anything else is an error: Parse then
// reads the tree from protobuf, so that a gap here costs time, never a
// different tree.

var (
	errJSONSyntax = errors.New("pgtree: decode JSON: not the JSON pg_query writes")
	// pg_query writes an Integer's value only when it is positive
	// (_outInteger), so {} is 0 or any negative number: a message read
	// whole that holds one is refused (Parse instead tells 0 where it can,
	// and parses the statement again where it cannot).
	errJSONInteger = errors.New("pgtree: decode JSON: an Integer without its value (0 or negative)")
	// pg_query writes doubles with %f and leaves a bitmapset's member 0
	// out: neither says what protobuf holds.
	errJSONLossy = errors.New("pgtree: decode JSON: a field pg_query's JSON does not hold exactly")
	errJSONRange = errors.New("pgtree: decode JSON: a number out of its field's range")
)

// parseJSONTree reads the JSON of a whole parse tree. inexact lists the
// statements that hold an Integer whose value the JSON leaves out: their
// trees must come from elsewhere.
func parseJSONTree(text string) (tree *pg_query.ParseResult, inexact []int, err error) {
	r := &jsonReader{s: text}
	tree = &pg_query.ParseResult{}
	if err := r.openObject(); err != nil {
		return nil, nil, err
	}
	for first := true; ; first = false {
		key, more, err := r.nextKey(first)
		if err != nil {
			return nil, nil, err
		}
		if !more {
			break
		}
		switch key {
		case "version":
			if tree.Version, err = r.int32Value(); err != nil {
				return nil, nil, err
			}
		case "stmts":
			if inexact, err = r.statements(tree, inexact); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, unknownKey("ParseResult", key)
		}
	}
	if err := r.end(nil); err != nil {
		return nil, nil, err
	}
	return tree, inexact, nil
}

// statements reads an array of statements into tree, and adds to inexact
// the index of each that holds an Integer without its value.
func (r *jsonReader) statements(tree *pg_query.ParseResult, inexact []int) ([]int, error) {
	if err := r.openArray(); err != nil {
		return nil, err
	}
	for first := true; ; first = false {
		more, err := r.nextElement(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return inexact, nil
		}
		raw := &pg_query.RawStmt{}
		r.unwrittenInteger = false
		if err := jsonRawStmt(r, raw, 1); err != nil {
			return nil, err
		}
		if r.unwrittenInteger {
			inexact = append(inexact, len(tree.Stmts))
		}
		tree.Stmts = append(tree.Stmts, raw)
	}
}

// jsonReader reads one JSON text from its start.
type jsonReader struct {
	s   string
	pos int
	// unwrittenInteger is set by an Integer read without its value.
	unwrittenInteger bool
}

// exact is end for a message read whole: every Integer in it must have
// had its value.
func (r *jsonReader) exact(err error) error {
	if err == nil && r.unwrittenInteger {
		return errJSONInteger
	}
	return r.end(err)
}

// end passes on err, the outcome of reading one value, and then requires
// the text to end.
func (r *jsonReader) end(err error) error {
	if err != nil {
		return err
	}
	r.skipSpace()
	if r.pos != len(r.s) {
		return r.syntax("the end of the text")
	}
	return nil
}

func (r *jsonReader) syntax(want string) error {
	return fmt.Errorf("%w: %s expected at byte %d", errJSONSyntax, want, r.pos)
}

// unknownKey reports a key the generated decoder of msg does not know:
// a field of a later pg_query, or a writer that differs from the one read.
func unknownKey(msg, key string) error {
	return fmt.Errorf("%w: %s has no field %q", errJSONSyntax, msg, key)
}

// oneofTwice reports a second member of a oneof in one object.
func oneofTwice(msg, key string) error {
	return fmt.Errorf("%w: %s holds a second member of a oneof, %q", errJSONSyntax, msg, key)
}

func (r *jsonReader) skipSpace() {
	for r.pos < len(r.s) {
		switch r.s[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// next skips white space and says whether c comes next, consuming it.
func (r *jsonReader) next(c byte) bool {
	// pg_query writes no white space: look at the next byte first.
	if r.pos < len(r.s) && r.s[r.pos] == c {
		r.pos++
		return true
	}
	r.skipSpace()
	if r.pos < len(r.s) && r.s[r.pos] == c {
		r.pos++
		return true
	}
	return false
}

func (r *jsonReader) openObject() error {
	if !r.next('{') {
		return r.syntax("{")
	}
	return nil
}

// nextKey reads the next key of an object up to its colon; more is false
// at the object's end. first tells whether a member was read before.
func (r *jsonReader) nextKey(first bool) (key string, more bool, err error) {
	if r.next('}') {
		return "", false, nil
	}
	if !first && !r.next(',') {
		return "", false, r.syntax(", or }")
	}
	if !r.next('"') {
		return "", false, r.syntax("a key")
	}
	start := r.pos
	// Keys are field names: a backslash in one is no field of ours.
	for r.pos < len(r.s) && r.s[r.pos] != '"' && r.s[r.pos] != '\\' {
		r.pos++
	}
	if r.pos == len(r.s) || r.s[r.pos] != '"' {
		return "", false, r.syntax("the end of a key")
	}
	key = r.s[start:r.pos]
	r.pos++
	if !r.next(':') {
		return "", false, r.syntax(":")
	}
	return key, true, nil
}

func (r *jsonReader) openArray() error {
	if !r.next('[') {
		return r.syntax("[")
	}
	return nil
}

// nextElement says whether an array has another element, consuming the
// comma before it.
func (r *jsonReader) nextElement(first bool) (bool, error) {
	if r.next(']') {
		return false, nil
	}
	if !first && !r.next(',') {
		return false, r.syntax(", or ]")
	}
	return true, nil
}

// jsonMessages appends the messages of a JSON array to list, each read by
// decode; {} is an empty message, which is what protobuf holds for a
// NULL element.
func jsonMessages[T any](r *jsonReader, list []*T, depth int, decode func(*jsonReader, *T, int) error) ([]*T, error) {
	if err := r.openArray(); err != nil {
		return nil, err
	}
	for first := true; ; first = false {
		more, err := r.nextElement(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return list, nil
		}
		c := new(T)
		if err := decode(r, c, depth); err != nil {
			return nil, err
		}
		list = append(list, c)
	}
}

// jsonNodes is jsonMessages for lists of Node, nearly every list of a
// tree, each element read by jsonNodeElement in one allocation.
func jsonNodes(r *jsonReader, list []*pg_query.Node, depth int) ([]*pg_query.Node, error) {
	if err := r.openArray(); err != nil {
		return nil, err
	}
	for first := true; ; first = false {
		more, err := r.nextElement(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return list, nil
		}
		c, err := jsonNodeElement(r, depth)
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
}

// literal consumes word (true, false, null) if it comes next.
func (r *jsonReader) literal(word string) bool {
	r.skipSpace()
	if strings.HasPrefix(r.s[r.pos:], word) {
		r.pos += len(word)
		return true
	}
	return false
}

func (r *jsonReader) boolValue() (bool, error) {
	switch {
	case r.literal("true"):
		return true, nil
	case r.literal("false"):
		return false, nil
	}
	return false, r.syntax("true or false")
}

// digits reads an integer's text: pg_query writes numbers bare, protojson
// writes 64-bit ones in quotes. Fractions and exponents are no integer.
func (r *jsonReader) digits() (neg bool, mag uint64, err error) {
	quoted := r.next('"')
	if !quoted {
		r.skipSpace()
	}
	if r.pos < len(r.s) && r.s[r.pos] == '-' {
		neg = true
		r.pos++
	}
	start := r.pos
	for r.pos < len(r.s) && r.s[r.pos] >= '0' && r.s[r.pos] <= '9' {
		d := uint64(r.s[r.pos] - '0')
		if mag > (1<<64-1-d)/10 {
			return false, 0, errJSONRange
		}
		mag = mag*10 + d
		r.pos++
	}
	if r.pos == start {
		return false, 0, r.syntax("a digit")
	}
	if quoted && !r.next('"') {
		return false, 0, r.syntax("the end of a quoted number")
	}
	return neg, mag, nil
}

func (r *jsonReader) int64Value() (int64, error) {
	neg, mag, err := r.digits()
	switch {
	case err != nil:
		return 0, err
	case neg && mag <= 1<<63:
		return int64(-mag), nil
	case !neg && mag < 1<<63:
		return int64(mag), nil
	}
	return 0, errJSONRange
}

func (r *jsonReader) int32Value() (int32, error) {
	v, err := r.int64Value()
	if err == nil && int64(int32(v)) != v {
		err = errJSONRange
	}
	return int32(v), err
}

func (r *jsonReader) uint64Value() (uint64, error) {
	neg, mag, err := r.digits()
	if err == nil && neg && mag != 0 {
		err = errJSONRange
	}
	return mag, err
}

func (r *jsonReader) uint32Value() (uint32, error) {
	v, err := r.uint64Value()
	if err == nil && uint64(uint32(v)) != v {
		err = errJSONRange
	}
	return uint32(v), err
}

// enumValue reads an enum by its value's name (what pg_query and
// protojson write) or by number (what protojson writes for a value it
// does not know); values is protoc-gen-go's name-to-number map.
func (r *jsonReader) enumValue(values map[string]int32) (int32, error) {
	r.skipSpace()
	if r.pos == len(r.s) {
		return 0, r.syntax("an enum value")
	}
	if r.s[r.pos] != '"' {
		return r.int32Value()
	}
	r.pos++
	start := r.pos
	for r.pos < len(r.s) && r.s[r.pos] != '"' && r.s[r.pos] != '\\' {
		r.pos++
	}
	if r.pos == len(r.s) || r.s[r.pos] != '"' {
		return 0, r.syntax("the end of an enum name")
	}
	v, ok := values[r.s[start:r.pos]]
	if !ok {
		return 0, fmt.Errorf("%w: unknown enum value %q", errJSONSyntax, r.s[start:r.pos])
	}
	r.pos++
	return v, nil
}

// stringValue reads a string field. null is what _outToken writes for a
// NULL string, which protobuf holds as "". The text is copied out of the
// JSON, as protobuf's decoders copy theirs, so that a tree never keeps the
// whole JSON alive. A string that is not UTF-8 is an error, as it is for
// protobuf-go (pg_query.proto is proto3), whose error Parse then returns.
func (r *jsonReader) stringValue() (string, error) {
	if r.literal("null") {
		return "", nil
	}
	if !r.next('"') {
		return "", r.syntax("a string")
	}
	start := r.pos
	for r.pos < len(r.s) {
		switch c := r.s[r.pos]; {
		case c == '"':
			s := r.s[start:r.pos]
			r.pos++
			if !utf8.ValidString(s) {
				return "", errInvalid
			}
			return strings.Clone(s), nil
		case c == '\\':
			return r.escapedString(start)
		case c < ' ':
			return "", r.syntax("a control character escaped")
		}
		r.pos++
	}
	return "", r.syntax("the end of a string")
}

// escapedString reads the rest of a string from its first backslash on;
// start is where its text began.
func (r *jsonReader) escapedString(start int) (string, error) {
	// The string's text runs to the first quote no backslash escapes: no
	// escape decodes to more bytes than it takes, so that length holds the
	// decoded string, which is then built without growing.
	end := r.pos
	for end < len(r.s) && r.s[end] != '"' {
		if r.s[end] == '\\' {
			end++
		}
		end++
	}
	var b strings.Builder
	b.Grow(min(end, len(r.s)) - start)
	b.WriteString(r.s[start:r.pos])
	for r.pos < len(r.s) {
		c := r.s[r.pos]
		switch {
		case c == '"':
			r.pos++
			s := b.String()
			if !utf8.ValidString(s) {
				return "", errInvalid
			}
			return s, nil
		case c < ' ':
			return "", r.syntax("a control character escaped")
		case c != '\\':
			b.WriteByte(c)
			r.pos++
			continue
		}
		if r.pos+1 >= len(r.s) {
			break
		}
		r.pos += 2
		switch e := r.s[r.pos-1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			c, err := r.unicodeEscape()
			if err != nil {
				return "", err
			}
			b.WriteRune(c)
		default:
			return "", r.syntax("an escape")
		}
	}
	return "", r.syntax("the end of a string")
}

// unicodeEscape reads the four hex digits after \u, and a second \u
// escape where the first is half of a surrogate pair. pg_query writes
// \u00XX for control characters, < and >; protojson may write any. A lone
// surrogate is no character.
func (r *jsonReader) unicodeEscape() (rune, error) {
	c, ok := r.hex4()
	if !ok {
		return 0, r.syntax("four hex digits")
	}
	if !utf16.IsSurrogate(c) {
		return c, nil
	}
	if !strings.HasPrefix(r.s[r.pos:], `\u`) {
		return 0, r.syntax("the second half of a surrogate pair")
	}
	r.pos += 2
	low, ok := r.hex4()
	if !ok {
		return 0, r.syntax("four hex digits")
	}
	if c = utf16.DecodeRune(c, low); c == utf8.RuneError {
		return 0, r.syntax("a surrogate pair")
	}
	return c, nil
}

func (r *jsonReader) hex4() (rune, bool) {
	if r.pos+4 > len(r.s) {
		return 0, false
	}
	var c rune
	for _, h := range []byte(r.s[r.pos : r.pos+4]) {
		switch {
		case h >= '0' && h <= '9':
			c = c<<4 | rune(h-'0')
		case h >= 'a' && h <= 'f':
			c = c<<4 | rune(h-'a'+10)
		case h >= 'A' && h <= 'F':
			c = c<<4 | rune(h-'A'+10)
		default:
			return 0, false
		}
	}
	r.pos += 4
	return c, true
}
