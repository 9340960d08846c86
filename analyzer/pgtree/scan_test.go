package pgtree

import (
	"fmt"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
	"google.golang.org/protobuf/proto"
)

// scanTexts is every text the scan decoders are compared and measured
// on: the statements above, those that do not parse, and the
// repository's .sql files.
func scanTexts(t testing.TB) map[string]string {
	texts := repoSQL(t)
	for i, s := range statements {
		texts[fmt.Sprintf("statement %d", i)] = s
	}
	for i, s := range errorStatements {
		texts[fmt.Sprintf("error statement %d", i)] = s
	}
	return texts
}

// TestScanTokensMatchUnmarshal: the slab decoder reads from the scanner's
// bytes what proto.Unmarshal reads, for every text, and for two results
// one after the other (one message merged from both, as protobuf has it).
func TestScanTokensMatchUnmarshal(t *testing.T) {
	var previous []byte
	for name, sql := range scanTexts(t) {
		b, err := parser.ScanToProtobuf(sql)
		if err != nil {
			continue // an unterminated string: Scan returns the error
		}
		for _, bytes := range [][]byte{b, append(append([]byte(nil), previous...), b...)} {
			want := &pg_query.ScanResult{}
			if err := proto.Unmarshal(bytes, want); err != nil {
				t.Fatalf("%s: proto.Unmarshal: %v", name, err)
			}
			got := &pg_query.ScanResult{}
			if err := decodeScanTokens(bytes, got); err != nil {
				t.Errorf("%s: decodeScanTokens: %v", name, err)
				continue
			}
			if !proto.Equal(got, want) || len(got.Tokens) == 0 {
				t.Errorf("%s: %d tokens decoded, differing from proto.Unmarshal's %d", name, len(got.Tokens), len(want.Tokens))
			}
		}
		previous = b
	}
}

// TestScanTokensRefuseWhatGeneratedRefuses: bytes the generated decoder
// refuses (cut short, a field it does not know, a token with another
// wire type) the slab decoder refuses too, so that Scan falls back to
// proto.Unmarshal on them.
func TestScanTokensRefuseWhatGeneratedRefuses(t *testing.T) {
	b, err := parser.ScanToProtobuf(statements[2])
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"cut short":       b[:len(b)-1],
		"unknown field":   append(append([]byte(nil), b...), 0x18, 0x01), // field 3, varint
		"token as varint": append(append([]byte(nil), b...), 0x10, 0x01), // field 2, varint
		// A token whose field is one a token does not have, or whose start
		// is written as eight bytes, or whose value is cut short.
		"token field unknown":  append(append([]byte(nil), b...), 0x12, 0x02, 0x18, 0x01),
		"token start fixed64":  append(append([]byte(nil), b...), 0x12, 0x09, 0x09, 1, 2, 3, 4, 5, 6, 7, 8),
		"token value cut":      append(append([]byte(nil), b...), 0x12, 0x02, 0x08, 0x80),
		"token field number 0": append(append([]byte(nil), b...), 0x12, 0x02, 0x00, 0x01),
	}
	for name, bytes := range cases {
		if decodeScanResult(bytes, &pg_query.ScanResult{}, 0) == nil {
			t.Fatalf("%s: the generated decoder accepts it", name)
		}
		if decodeScanTokens(bytes, &pg_query.ScanResult{}) == nil {
			t.Errorf("%s: decodeScanTokens accepts what the generated decoder refuses", name)
		}
	}
}

// BenchmarkScanDecode: reading the scanner's bytes, the slab decoder
// against the generated one and proto.Unmarshal.
func BenchmarkScanDecode(b *testing.B) {
	var results [][]byte
	for _, sql := range benchTexts(b) {
		res, err := parser.ScanToProtobuf(sql)
		if err != nil {
			b.Fatal(err)
		}
		results = append(results, res)
	}
	for _, c := range []struct {
		name   string
		decode func([]byte, *pg_query.ScanResult) error
	}{
		{"slab", decodeScanTokens},
		{"generated", func(b []byte, m *pg_query.ScanResult) error { return decodeScanResult(b, m, 0) }},
		{"proto.Unmarshal", func(b []byte, m *pg_query.ScanResult) error { return proto.Unmarshal(b, m) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, res := range results {
					if err := c.decode(res, &pg_query.ScanResult{}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// FuzzScanTokens: whatever bytes the slab decoder accepts proto.Unmarshal
// accepts as the same result, and it accepts whatever the generated
// decoder accepts.
func FuzzScanTokens(f *testing.F) {
	for _, s := range statements[:20] {
		b, err := parser.ScanToProtobuf(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := &pg_query.ScanResult{}
		if err := decodeScanTokens(b, got); err != nil {
			if decodeScanResult(b, &pg_query.ScanResult{}, 0) == nil {
				t.Fatalf("the generated decoder accepts what decodeScanTokens refuses (%v)", err)
			}
			return
		}
		want := &pg_query.ScanResult{}
		if err := proto.Unmarshal(b, want); err != nil {
			t.Fatalf("decoded bytes proto.Unmarshal refuses: %v", err)
		}
		if !proto.Equal(got, want) {
			t.Fatal("decoded tokens differ from proto.Unmarshal's")
		}
	})
}
