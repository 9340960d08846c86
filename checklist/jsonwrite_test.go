package checklist

import (
	"bytes"
	"encoding/json"
	"math/bits"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/migration-guard/migration-guard/analyzer"
)

func encoderJSON(t *testing.T, doc *Document) []byte {
	t.Helper()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return want.Bytes()
}

// TestWriteJSONFlushes: a report larger than the flush threshold arrives
// whole, in more than one write.
func TestWriteJSONFlushes(t *testing.T) {
	r := &analyzer.Report{}
	fillReport(reflect.ValueOf(r).Elem(), 4)
	for i := 0; i < 400; i++ {
		r.Files = append(r.Files, analyzer.File{Path: strings.Repeat("p", 200), Statements: []analyzer.Statement{{SQL: strings.Repeat("x", 200)}}})
	}
	doc := NewDocument(r, "v")
	want := encoderJSON(t, &doc)
	w := &countingWriter{}
	if err := WriteJSON(w, r, "v"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, w.Bytes()) {
		t.Fatalf("large report differs from encoding/json: %s", firstDifference(w.String(), string(want)))
	}
	if w.writes < 2 {
		t.Fatalf("%d writes for %d bytes: the writer did not stream", w.writes, len(want))
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

// encoderString is s as encoding/json's Encoder writes it without HTML
// escaping, the bytes appendJSONString must give.
func encoderString(t testing.TB, s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// jsonStringCases put every kind of byte the quoting treats apart at every
// offset of an eight-byte word, and at a string's end.
var jsonStringCases = []string{
	"", "a", "plain ascii text of more than eight bytes", "12345678", "1234567\"", "\"1234567",
	"tab\tnl\ncr\rbs\bff\f nul\x00 esc\x1b del\x7f us\x1f sp ",
	"quote \" backslash \\ slash / <html> & 'x'",
	"é 日本 \u2028 \u2029 invalid \xff\xfe end", "abcdefg\xe2\x80\xa8", "abcdefgh\xe2\x80", "\xf0\x9f\x98\x80 emoji",
	"SELECT 1 FROM t WHERE a = 'b';\n", "~~~~~~~~\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f!!!!!!!!",
}

// TestAppendJSONStringMatchesEncoder: every byte value at every place in a
// word of the fast path, and the cases above, quote as encoding/json does.
func TestAppendJSONStringMatchesEncoder(t *testing.T) {
	cases := append([]string(nil), jsonStringCases...)
	for b := 0; b < 256; b++ {
		for at := 0; at < 17; at++ {
			s := []byte(strings.Repeat("x", 17))
			s[at] = byte(b)
			cases = append(cases, string(s))
		}
	}
	for _, s := range cases {
		if got, want := appendJSONString(nil, s), encoderString(t, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

// FuzzAppendJSONString: for any string, the quoting is encoding/json's,
// byte for byte, and decodes to the string (invalid UTF-8 aside, which
// both replace).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString([]byte("prefix"), s)
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("the prefix was lost: %q", got)
		}
		got = got[len("prefix"):]
		if want := encoderString(t, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("%q decodes to %q", s, back)
		}
	})
}

// BenchmarkAppendJSONString quotes a statement's SQL, a message with a
// quote, and text that is mostly multi-byte.
func BenchmarkAppendJSONString(b *testing.B) {
	for _, tc := range []struct{ name, s string }{
		{"sql", "CREATE TABLE \"public\".\"accounts\" (\n  id bigserial PRIMARY KEY,\n  email text NOT NULL UNIQUE,\n  created_at timestamptz NOT NULL DEFAULT now()\n);"},
		{"message", "ALTER TABLE accounts ADD COLUMN status text NOT NULL DEFAULT 'active' rewrites the table under an ACCESS EXCLUSIVE lock: every read and write of accounts waits until it ends."},
		{"multibyte", strings.Repeat("日本語のテキスト ", 16)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.SetBytes(int64(len(tc.s)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				buf = appendJSONString(buf[:0], tc.s)
			}
		})
	}
}

// TestAppendJSONStringPairs: two bytes that need attention, or sit at the
// edge of needing it, at every pair of places in the first words of a
// string. The quoting jumps to the first byte a word marks; a borrow from
// one such byte may mark the bytes above it, and the jump must still land
// on the first, with what follows it quoted as encoding/json does.
func TestAppendJSONStringPairs(t *testing.T) {
	edges := []string{"\x00", "\x1f", " ", "!", "\"", "#", "\\", "]", "\x7f", "\x80", "\xff", "é", "\u2028", "日"}
	for _, a := range edges {
		for _, b := range edges {
			for at := 0; at < 17; at++ {
				for bt := at + 1; bt < 18; bt++ {
					s := strings.Repeat("x", at) + a + strings.Repeat("y", bt-at-1) + b + "zz"
					if got, want := appendJSONString(nil, s), encoderString(t, s); !bytes.Equal(got, want) {
						t.Fatalf("%q: got %s, want %s", s, got, want)
					}
				}
			}
		}
	}
}

// TestJSONSpecialBytesFirstMark: the lowest mark of a word is its first
// byte that needs attention, whatever the bytes around it.
func TestJSONSpecialBytesFirstMark(t *testing.T) {
	special := func(b byte) bool { return b < 0x20 || b == '"' || b == '\\' || b >= 0x80 }
	bytesOf := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"' - 1, '"', '"' + 1, '\\' - 1, '\\', '\\' + 1, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff}
	for _, a := range bytesOf {
		for _, b := range bytesOf {
			for at := 0; at < 8; at++ {
				for bt := 0; bt < 8; bt++ {
					w := []byte("plainABC")
					w[at], w[bt] = a, b
					first := -1
					for i, c := range w {
						if special(c) {
							first = i
							break
						}
					}
					m := jsonSpecialBytes(load64(string(w)))
					got := -1
					if m != 0 {
						got = bits.TrailingZeros64(m) >> 3
					}
					if got != first {
						t.Fatalf("%q: first marked byte %d, want %d", w, got, first)
					}
				}
			}
		}
	}
}
