package pgtree

import (
	"errors"
	"reflect"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Deparse is pg_query.Deparse: the same text, the same errors. The tree
// goes to the C deparser in the bytes proto.Marshal would write, written by
// the encoder generated in encode_gen.go, which spares protobuf-go's
// per-type set-up. A tree it cannot write (a string that is not UTF-8,
// unknown fields kept by proto.Unmarshal) is left to pg_query.Deparse.
func Deparse(tree *pg_query.ParseResult) (string, error) {
	b, err := encodeParseResult(nil, tree)
	if err != nil {
		return pg_query.Deparse(tree)
	}
	return parser.DeparseFromProtobuf(b)
}

// Marshal is proto.Marshal for the messages of pg_query.proto, byte for
// byte, through the generated encoder where it can.
func Marshal(m proto.Message) ([]byte, error) {
	if b, ok, err := marshal(nil, m); ok && err == nil {
		return b, nil
	}
	return proto.Marshal(m)
}

var (
	errUnknownFields = errors.New("pgtree: encode: a message holds fields unknown to this pg_query")
	errInvalidString = errors.New("pgtree: encode: string field holds invalid UTF-8")
)

// hasUnknown says whether the message m points to holds unknown fields
// (its unexported unknownFields, the struct field at index): proto.Marshal
// would write them, the generated code cannot.
func hasUnknown(m any, index int) bool {
	return reflect.ValueOf(m).Elem().Field(index).Len() > 0
}

// appendString appends a string field; proto.Marshal refuses a proto3
// string that is not UTF-8, and so does this.
func appendString(b, tag []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, errInvalidString
	}
	b = append(b, tag...)
	b = protowire.AppendVarint(b, uint64(len(s)))
	return append(b, s...), nil
}

// startLen reserves one byte for the length of a message about to be
// appended to *b and returns its place; most of a parse tree's messages
// are shorter than 128 bytes.
func startLen(b *[]byte) int {
	*b = append(*b, 0)
	return len(*b) - 1
}

// endLen writes the length of what follows the place at, moving it up
// when the length takes more than the byte reserved.
func endLen(b []byte, at int) []byte {
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	size := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, size-1)...)
	copy(b[at+size:], b[at+1:at+1+n])
	protowire.AppendVarint(b[:at], uint64(n))
	return b
}

// Clone is proto.Clone for the messages of pg_query.proto, through the
// generated deep copy of clone_gen.go, which spares protobuf-go's per-type
// set-up; a tree holding unknown fields is left to proto.Clone.
func Clone[T proto.Message](m T) T {
	ok := true
	if c, known := clone(m, &ok); known && ok {
		return c.(T)
	}
	c, _ := proto.Clone(m).(T)
	return c
}
