package pgtree

import (
	"sort"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
	"google.golang.org/protobuf/proto"
)

// benchTexts is the repository's .sql files and the statements above,
// in a fixed order.
func benchTexts(b *testing.B) []string {
	files := repoSQL(b)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	texts := append([]string(nil), statements...)
	for _, name := range names {
		if _, err := parser.ParseToProtobuf(files[name]); err == nil {
			texts = append(texts, files[name])
		}
	}
	return texts
}

// BenchmarkParse: Parse (from pg_query's JSON) against the protobuf path
// and pg_query.Parse, the C parser included, over the same texts (after
// the first iteration protobuf-go's set-up is paid; the cold difference is
// what scripts/decodeprobe measures).
func BenchmarkParse(b *testing.B) {
	texts := benchTexts(b)
	for _, c := range []struct {
		name  string
		parse func(string) (*pg_query.ParseResult, error)
	}{
		{"json", Parse},
		{"protobuf", parseProtobuf},
		{"pg_query", pg_query.Parse},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, t := range texts {
					if _, err := c.parse(t); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkDecode: the decoding alone, from the same bytes.
func BenchmarkDecode(b *testing.B) {
	var trees [][]byte
	for _, t := range benchTexts(b) {
		tree, err := parser.ParseToProtobuf(t)
		if err != nil {
			b.Fatal(err)
		}
		trees = append(trees, tree)
	}
	for _, c := range []struct {
		name   string
		decode func([]byte, proto.Message) error
	}{
		{"generated", func(b []byte, m proto.Message) error { return decodeParseResult(b, m.(*pg_query.ParseResult), 0) }},
		{"proto.Unmarshal", proto.Unmarshal},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, tree := range trees {
					if err := c.decode(tree, &pg_query.ParseResult{}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkDecodeJSON: the JSON decoding alone, from the JSON of the same
// texts (against BenchmarkDecode's generated, from their protobuf).
func BenchmarkDecodeJSON(b *testing.B) {
	var trees []string
	for _, t := range benchTexts(b) {
		tree, err := parser.ParseToJSON(t)
		if err != nil {
			b.Fatal(err)
		}
		trees = append(trees, tree)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, tree := range trees {
			if _, _, err := parseJSONTree(tree); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkMarshal: the generated encoder against proto.Marshal, on the
// parse trees of the same texts.
func BenchmarkMarshal(b *testing.B) {
	var trees []*pg_query.ParseResult
	for _, t := range benchTexts(b) {
		tree, err := pg_query.Parse(t)
		if err != nil {
			b.Fatal(err)
		}
		trees = append(trees, tree)
	}
	for _, c := range []struct {
		name    string
		marshal func(proto.Message) ([]byte, error)
	}{
		{"generated", Marshal},
		{"proto.Marshal", proto.Marshal},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, tree := range trees {
					if _, err := c.marshal(tree); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkClone: the generated deep copy against proto.Clone.
func BenchmarkClone(b *testing.B) {
	var trees []*pg_query.ParseResult
	for _, t := range benchTexts(b) {
		tree, err := pg_query.Parse(t)
		if err != nil {
			b.Fatal(err)
		}
		trees = append(trees, tree)
	}
	for _, c := range []struct {
		name  string
		clone func(*pg_query.ParseResult) *pg_query.ParseResult
	}{
		{"generated", Clone[*pg_query.ParseResult]},
		{"proto.Clone", func(m *pg_query.ParseResult) *pg_query.ParseResult { return proto.Clone(m).(*pg_query.ParseResult) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, tree := range trees {
					c.clone(tree)
				}
			}
		})
	}
}
