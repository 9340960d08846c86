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

// tokensDiffer says how toks differ from the messages of want, field by
// field, or "" when they hold the same tokens.
func tokensDiffer(toks []Token, want *pg_query.ScanResult) string {
	if len(toks) != len(want.GetTokens()) {
		return fmt.Sprintf("%d tokens, %d messages", len(toks), len(want.GetTokens()))
	}
	if (toks == nil) != (want.GetTokens() == nil) {
		return fmt.Sprintf("nil %v, messages nil %v", toks == nil, want.GetTokens() == nil)
	}
	for i, w := range want.GetTokens() {
		g := toks[i]
		if g.Start != w.GetStart() || g.End != w.GetEnd() || g.Token != w.GetToken() || g.KeywordKind != w.GetKeywordKind() {
			return fmt.Sprintf("token %d is %+v, the message %v", i, g, w)
		}
	}
	return ""
}

// TestTokensDiffer: the comparison the tests below rest on tells a
// token's every field, and the count, from those of the messages.
func TestTokensDiffer(t *testing.T) {
	want := &pg_query.ScanResult{Tokens: []*pg_query.ScanToken{
		{Start: 0, End: 6, Token: pg_query.Token_SELECT, KeywordKind: pg_query.KeywordKind_RESERVED_KEYWORD},
		{Start: 7, End: 8, Token: pg_query.Token_ICONST},
	}}
	same := []Token{
		{Start: 0, End: 6, Token: pg_query.Token_SELECT, KeywordKind: pg_query.KeywordKind_RESERVED_KEYWORD},
		{Start: 7, End: 8, Token: pg_query.Token_ICONST},
	}
	if d := tokensDiffer(same, want); d != "" {
		t.Fatalf("the same tokens differ: %s", d)
	}
	if d := tokensDiffer(nil, &pg_query.ScanResult{}); d != "" {
		t.Fatalf("no tokens differ from none: %s", d)
	}
	for name, change := range map[string]func([]Token) []Token{
		"start":        func(ts []Token) []Token { ts[1].Start++; return ts },
		"end":          func(ts []Token) []Token { ts[0].End--; return ts },
		"token":        func(ts []Token) []Token { ts[1].Token = pg_query.Token_FCONST; return ts },
		"keyword kind": func(ts []Token) []Token { ts[0].KeywordKind = pg_query.KeywordKind_NO_KEYWORD; return ts },
		"one less":     func(ts []Token) []Token { return ts[:1] },
		"one more":     func(ts []Token) []Token { return append(ts, Token{}) },
	} {
		if tokensDiffer(change(append([]Token(nil), same...)), want) == "" {
			t.Errorf("%s: a changed token reads as the same", name)
		}
	}
	if tokensDiffer([]Token{}, &pg_query.ScanResult{}) == "" {
		t.Error("an empty slice reads as nil: the split tells no tokens by nil")
	}
}

// TestScanTokensMatchUnmarshal: decodeTokens reads from the scanner's
// bytes the tokens proto.Unmarshal reads, for every text, and for two
// results one after the other (one message merged from both, as protobuf
// has it).
func TestScanTokensMatchUnmarshal(t *testing.T) {
	var previous []byte
	for name, sql := range scanTexts(t) {
		b, err := parser.ScanToProtobuf(sql)
		if err != nil {
			continue // an unterminated string: ScanTokens returns the error
		}
		for _, bytes := range [][]byte{b, append(append([]byte(nil), previous...), b...)} {
			want := &pg_query.ScanResult{}
			if err := proto.Unmarshal(bytes, want); err != nil {
				t.Fatalf("%s: proto.Unmarshal: %v", name, err)
			}
			got, err := decodeTokens(bytes)
			if err != nil {
				t.Errorf("%s: decodeTokens: %v", name, err)
				continue
			}
			if d := tokensDiffer(got, want); d != "" || len(got) == 0 {
				t.Errorf("%s: tokens differ from proto.Unmarshal's: %s", name, d)
			}
		}
		previous = b
	}
}

// TestScanTokensRefuseWhatGeneratedRefuses: bytes the generated decoder
// refuses (cut short, a field it does not know, a token with another
// wire type) decodeTokens refuses too, so that ScanTokens falls back to
// proto.Unmarshal on them; what proto.Unmarshal then reads, ScanTokens
// gives (tokensOf).
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
		"version as bytes":     append(append([]byte(nil), b...), 0x0a, 0x00),
	}
	for name, bytes := range cases {
		if decodeScanResult(bytes, &pg_query.ScanResult{}, 0) == nil {
			t.Fatalf("%s: the generated decoder accepts it", name)
		}
		if _, err := decodeTokens(bytes); err == nil {
			t.Errorf("%s: decodeTokens accepts what the generated decoder refuses", name)
		}
		want := &pg_query.ScanResult{}
		if proto.Unmarshal(bytes, want) == nil {
			if d := tokensDiffer(tokensOf(want), want); d != "" {
				t.Errorf("%s: the fallback's tokens differ from proto.Unmarshal's: %s", name, d)
			}
		}
	}
}

// BenchmarkScanDecode: reading the scanner's bytes, decodeTokens against
// the generated decoder and proto.Unmarshal.
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
		decode func([]byte) error
	}{
		{"tokens", func(b []byte) error { _, err := decodeTokens(b); return err }},
		{"generated", func(b []byte) error { return decodeScanResult(b, &pg_query.ScanResult{}, 0) }},
		{"proto.Unmarshal", func(b []byte) error { return proto.Unmarshal(b, &pg_query.ScanResult{}) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, res := range results {
					if err := c.decode(res); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// FuzzScanTokens: whatever bytes decodeTokens accepts proto.Unmarshal
// accepts as the same tokens, and it accepts whatever the generated
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
		got, err := decodeTokens(b)
		if err != nil {
			if decodeScanResult(b, &pg_query.ScanResult{}, 0) == nil {
				t.Fatalf("the generated decoder accepts what decodeTokens refuses (%v)", err)
			}
			return
		}
		want := &pg_query.ScanResult{}
		if err := proto.Unmarshal(b, want); err != nil {
			t.Fatalf("decoded bytes proto.Unmarshal refuses: %v", err)
		}
		if d := tokensDiffer(got, want); d != "" {
			t.Fatalf("decoded tokens differ from proto.Unmarshal's: %s", d)
		}
	})
}

// FuzzScanTokensSQL: for any text, ScanTokens gives pg_query.Scan's
// tokens and its error.
func FuzzScanTokensSQL(f *testing.F) {
	for _, s := range statements[:20] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		got, err := ScanTokens(sql)
		want, wantErr := pg_query.Scan(sql)
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("error %v, pg_query.Scan's %v", err, wantErr)
		}
		if err == nil {
			if d := tokensDiffer(got, want); d != "" {
				t.Fatalf("tokens differ from pg_query.Scan's: %s", d)
			}
		}
	})
}

// TestReadTokenVarints: a token's values written in one byte, two (the
// in-place path), three and ten, not in their shortest form, cut short
// or too long, and its tags likewise: decodeTokens accepts what
// proto.Unmarshal accepts with the same fields, and refuses the rest;
// fields a token does not have proto.Unmarshal keeps as unknown, and
// decodeTokens refuses them (ScanTokens then falls back).
func TestReadTokenVarints(t *testing.T) {
	for _, tc := range []struct {
		name  string
		token []byte // the contents of one token field
		ok    bool   // decodeTokens reads it
		// unknown: proto.Unmarshal reads it though decodeTokens does not
		unknown bool
	}{
		{"one byte each", []byte{0x08, 0x05, 0x10, 0x7f, 0x20, 0x01, 0x28, 0x04}, true, false},
		{"two-byte offsets", []byte{0x08, 0x80, 0x01, 0x10, 0xff, 0x7f, 0x20, 0xa2, 0x02}, true, false},
		{"two bytes, not shortest", []byte{0x08, 0x85, 0x00, 0x10, 0x80, 0x00}, true, false},
		{"three-byte offset", []byte{0x08, 0x80, 0x80, 0x01, 0x10, 0xff, 0xff, 0x7f}, true, false},
		{"ten-byte negative", []byte{0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, true, false},
		{"above int32", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0x7f}, true, false},
		{"tag in two bytes", []byte{0x88, 0x00, 0x07}, true, false},
		{"field written twice", []byte{0x08, 0x01, 0x08, 0x90, 0x03}, true, false},
		{"empty token", []byte{}, true, false},
		// The in-place path hands over to the general one mid-token.
		{"three-byte value between", []byte{0x08, 0x05, 0x10, 0x80, 0x80, 0x01, 0x20, 0x07, 0x08, 0x09}, true, false},
		{"two-byte tag between", []byte{0x08, 0x05, 0x90, 0x00, 0x06, 0x28, 0x02}, true, false},
		{"unknown field after", []byte{0x08, 0x05, 0x10, 0x06, 0x30, 0x01}, false, true},
		{"value cut after a high byte", []byte{0x08, 0x80}, false, false},
		{"value cut after two high bytes", []byte{0x08, 0x80, 0x80}, false, false},
		{"tag cut", []byte{0x88}, false, false},
		{"value missing", []byte{0x08}, false, false},
		{"eleven-byte varint", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, false, false},
		{"ten-byte varint overflowing", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, false, false},
		{"field 3", []byte{0x18, 0x01}, false, true},
		{"fixed32 start", []byte{0x0d, 1, 2, 3, 4}, false, true},
	} {
		b := append([]byte{0x12, byte(len(tc.token))}, tc.token...)
		got, err := decodeTokens(b)
		want := &pg_query.ScanResult{}
		werr := proto.Unmarshal(b, want)
		if (tc.ok || tc.unknown) != (werr == nil) {
			t.Fatalf("%s: proto.Unmarshal gives %v: the case is wrong", tc.name, werr)
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: decodeTokens gives %v, proto.Unmarshal %v", tc.name, err, werr)
			continue
		}
		if err == nil {
			if d := tokensDiffer(got, want); d != "" {
				t.Errorf("%s: %s", tc.name, d)
			}
		}
	}
}
