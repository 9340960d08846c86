package checklist

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// fillDocument sets every field of v, however deep, to a non-zero value
// (strings with every character class encoding/json escapes), so that a
// field added to the document without its line in jsonWriter fails the
// comparison below.
func fillDocument(v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString([]string{
			"plain", "quote \" backslash \\ slash / <html> & 'x'",
			"tab\tnl\ncr\rbs\bff\f nul\x00 esc\x1b del\x7f",
			"é 日本 \u2028 \u2029 invalid \xff\xfe end", "",
		}[seed%5])
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(seed*7 - 3))
	case reflect.Bool:
		v.SetBool(seed%2 == 1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fillDocument(v.Field(i), seed+i)
		}
	case reflect.Slice:
		n := seed % 3 // 0: empty (not nil), 1 or 2 elements
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fillDocument(s.Index(i), seed+i+1)
		}
		v.Set(s)
	default:
		panic("fillDocument: unexpected kind " + v.Kind().String())
	}
}

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

func writerJSON(t *testing.T, doc *Document) []byte {
	t.Helper()
	var got bytes.Buffer
	j := &jsonWriter{w: &got}
	j.document(doc)
	j.flush()
	if j.err != nil {
		t.Fatal(j.err)
	}
	return got.Bytes()
}

// TestWriteJSONMatchesEncoder: the one-pass writer gives the same bytes as
// encoding/json's indenting Encoder, for documents with every field set,
// empty and nil lists, omitted fields and every escaped character.
func TestWriteJSONMatchesEncoder(t *testing.T) {
	for seed := 0; seed < 12; seed++ {
		var doc Document
		fillDocument(reflect.ValueOf(&doc).Elem(), seed)
		want, got := encoderJSON(t, &doc), writerJSON(t, &doc)
		if !bytes.Equal(want, got) {
			t.Fatalf("seed %d: writer differs from encoding/json\nwant:\n%s\ngot:\n%s", seed, want, got)
		}
	}
	// nil lists encode as null, as encoding/json writes them.
	var doc Document
	want, got := encoderJSON(t, &doc), writerJSON(t, &doc)
	if !bytes.Equal(want, got) || !strings.Contains(string(got), `"files": null`) {
		t.Fatalf("zero document: want\n%s\ngot\n%s", want, got)
	}
}

// TestWriteJSONFlushes: a document larger than the flush threshold arrives
// whole, in more than one write.
func TestWriteJSONFlushes(t *testing.T) {
	var doc Document
	fillDocument(reflect.ValueOf(&doc).Elem(), 4)
	for i := 0; i < 400; i++ {
		doc.Files = append(doc.Files, FileDoc{Path: strings.Repeat("p", 200), Statements: []StatementDoc{{SQL: strings.Repeat("x", 200)}}})
	}
	want := encoderJSON(t, &doc)
	w := &countingWriter{}
	j := &jsonWriter{w: w}
	j.document(&doc)
	j.flush()
	if !bytes.Equal(want, w.Bytes()) {
		t.Fatal("large document differs from encoding/json")
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
