package checklist

import (
	"io"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/migration-guard/migration-guard/analyzer"
)

// jsonWriter writes the JSON document in one pass, already indented, in the
// exact bytes encoding/json's Encoder gives with SetIndent("", "  ") and
// SetEscapeHTML(false): encoding then indenting in a second pass took a
// quarter of a large history's check. It flushes as it goes, so a large
// report is never held twice. TestWriteReportMatchesDocument keeps the two
// equal over every field of the document (NewDocument's, which encoding/json
// encodes).
type jsonWriter struct {
	w     io.Writer
	buf   []byte
	depth int
	// first is true right after an opening bracket: the next element needs
	// no comma.
	first bool
	err   error
}

const jsonFlushAt = 32 << 10

func (j *jsonWriter) flush() {
	if j.err == nil && len(j.buf) > 0 {
		_, j.err = j.w.Write(j.buf)
	}
	j.buf = j.buf[:0]
}

// jsonIndent is the indentation of the deepest level the document has, and
// more: a line's indentation is appended as one slice of it.
const jsonIndent = "                                "

func (j *jsonWriter) newline() {
	j.buf = append(j.buf, '\n')
	if n := 2 * j.depth; n <= len(jsonIndent) {
		j.buf = append(j.buf, jsonIndent[:n]...)
		return
	}
	for i := 0; i < j.depth; i++ {
		j.buf = append(j.buf, ' ', ' ')
	}
}

// next starts an element of the enclosing object or array.
func (j *jsonWriter) next() {
	if !j.first {
		j.buf = append(j.buf, ',')
	}
	j.first = false
	j.newline()
	if len(j.buf) >= jsonFlushAt {
		j.flush()
	}
}

func (j *jsonWriter) open(c byte) {
	j.buf = append(j.buf, c)
	j.depth++
	j.first = true
}

// close ends an object or array; an empty one stays on one line ({} or []).
func (j *jsonWriter) close(c byte) {
	j.depth--
	if !j.first {
		j.newline()
	}
	j.first = false
	j.buf = append(j.buf, c)
}

// key starts a member. Keys are the document's own field names, letters
// and underscores that need no escaping: they are copied as they are
// (TestWriteJSONMatchesEncoder compares every one with encoding/json).
func (j *jsonWriter) key(k string) {
	j.next()
	j.buf = append(j.buf, '"')
	j.buf = append(j.buf, k...)
	j.buf = append(j.buf, '"', ':', ' ')
}

func (j *jsonWriter) str(k, v string) {
	j.key(k)
	j.buf = appendJSONString(j.buf, v)
}

func (j *jsonWriter) int(k string, v int) { j.int64(k, int64(v)) }

func (j *jsonWriter) int64(k string, v int64) {
	j.key(k)
	j.buf = strconv.AppendInt(j.buf, v, 10)
}

func (j *jsonWriter) bool(k string, v bool) {
	j.key(k)
	j.buf = strconv.AppendBool(j.buf, v)
}

func (j *jsonWriter) null() { j.buf = append(j.buf, "null"...) }

func (j *jsonWriter) strings(k string, vs []string) {
	j.key(k)
	if vs == nil {
		j.null()
		return
	}
	j.open('[')
	for _, v := range vs {
		j.next()
		j.buf = appendJSONString(j.buf, v)
	}
	j.close(']')
}

const jsonHex = "0123456789abcdef"

// Masks for testing eight bytes of a string at once (jsonPlainWord).
const (
	jsonOnes  = 0x0101010101010101
	jsonHighs = 0x8080808080808080
)

// jsonSpecialBytes marks, in the high bit of each of its bytes, the bytes
// of w (a string's bytes, loaded little-endian) that need attention from
// appendJSONString: control characters, quote, backslash and bytes of
// multi-byte sequences. A byte's mark may be wrong only above a byte that
// truly needs attention (a borrow runs upward from it), so the lowest mark
// is always that of the first such byte, and none means none.
func jsonSpecialBytes(w uint64) uint64 {
	control := (w - 0x20*jsonOnes) &^ w // bytes below 0x20
	quote := w ^ '"'*jsonOnes           // a zero byte where w has '"'
	quote = (quote - jsonOnes) &^ quote // zero bytes
	slash := w ^ '\\'*jsonOnes
	slash = (slash - jsonOnes) &^ slash
	return (control | quote | slash | w) & jsonHighs
}

// load64 reads the eight bytes of w as a little-endian word; the compiler
// makes it one load, with one bounds check.
func load64(w string) uint64 {
	_ = w[7]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// appendJSONString quotes s as encoding/json does without HTML escaping:
// control characters, quote and backslash escaped, invalid UTF-8 replaced
// by U+FFFD, U+2028 and U+2029 escaped. Runs of bytes that need none of
// that (most of a report's text: SQL, messages, paths) are skipped eight
// bytes at a time, up to the first byte that needs attention, which the
// word's marks point at (jsonSpecialBytes), and appended at once.
func appendJSONString(dst []byte, s string) []byte {
	dst = slices.Grow(dst, len(s)+2)
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			m := jsonSpecialBytes(load64(s[i : i+8]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		b := s[i]
		if b >= 0x20 && b < utf8.RuneSelf && b != '"' && b != '\\' {
			// Within a string's last seven bytes, taken one at a time.
			i++
			continue
		}
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', jsonHex[b>>4], jsonHex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			start = i + size
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', jsonHex[c&0xF])
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// report writes the document NewDocument builds of r, reading the report
// where it is instead: building the document first copied every statement
// and finding of a large history once more. TestWriteReportMatchesDocument
// holds the two to the same bytes.
func (j *jsonWriter) report(r *analyzer.Report, version string) {
	j.open('{')
	j.int("schema_version", SchemaVersion)
	j.key("tool")
	j.open('{')
	j.str("name", "migration-guard")
	j.str("version", version)
	j.close('}')
	j.int("postgres_version", r.PostgresVersion)
	j.bool("requires_approval", r.RequiresApproval())
	j.key("summary")
	j.open('[')
	for _, q := range Summarize(r) {
		j.next()
		j.open('{')
		j.int("question", q.Question)
		j.str("title", q.Title)
		j.int("count", q.Count)
		j.str("worst", q.Worst)
		j.int("requires_approval", q.RequiresApproval)
		j.close('}')
	}
	j.close(']')
	j.int("base_migrations", r.BaseMigrations)
	j.key("files")
	j.open('[')
	for i := range r.Files {
		j.next()
		j.reportFile(&r.Files[i])
	}
	j.close(']')
	// The document's notes are a copy, never nil: an empty list is [].
	j.key("notes")
	j.open('[')
	for _, n := range r.Notes {
		j.next()
		j.buf = appendJSONString(j.buf, n)
	}
	j.close(']')
	j.close('}')
	j.buf = append(j.buf, '\n')
}

// reportFile writes what FileDoc and StatementDoc hold of f.
func (j *jsonWriter) reportFile(f *analyzer.File) {
	j.open('{')
	j.str("path", f.Path)
	j.str("layout", f.Layout)
	if f.Version != "" {
		j.str("version", f.Version)
	}
	if f.DownPath != "" {
		j.str("down_path", f.DownPath)
	}
	j.bool("in_transaction", f.InTransaction)
	j.str("transaction_mode", f.TransactionMode)
	j.str("transaction_reason", f.TransactionReason)
	j.reportFindings(f.Findings)
	j.key("statements")
	j.open('[')
	for i := range f.Statements {
		s := &f.Statements[i]
		j.next()
		j.open('{')
		j.str("path", s.Path)
		j.str("part", s.Part)
		j.int("start_line", s.Start.Line)
		j.int("start_column", s.Start.Column)
		j.int("end_line", s.End.Line)
		j.int("end_column", s.End.Column)
		j.str("sql", s.SQL)
		j.str("kind", s.Kind)
		j.bool("in_transaction", s.InTx)
		if len(s.Objects) > 0 {
			j.strings("objects", s.Objects)
		}
		if len(s.Settings) > 0 {
			j.strings("settings", s.Settings)
		}
		if s.Inner {
			j.bool("inner", true)
		}
		if s.Estimate != nil && s.Estimate.WALBytes != 0 {
			j.int64("wal_bytes", s.Estimate.WALBytes)
		}
		j.reportFindings(s.Findings)
		j.close('}')
	}
	j.close(']')
	if f.BlobSHA != "" {
		j.str("blob_sha", f.BlobSHA)
	}
	if f.UpDigest != "" {
		j.str("up_digest", f.UpDigest)
	}
	if f.RunTransaction != "" {
		j.str("run_transaction", f.RunTransaction)
	}
	j.close('}')
}

// reportFindings writes what findingDocs makes of fs: the lists are never
// nil there, so an empty one is [], and a suppression is its flag and
// reason.
func (j *jsonWriter) reportFindings(fs []analyzer.Finding) {
	j.key("findings")
	j.open('[')
	for i := range fs {
		f := &fs[i]
		j.next()
		j.open('{')
		j.str("rule", f.Rule)
		j.int("question", int(f.Question))
		j.key("also_questions")
		j.open('[')
		for _, q := range f.AlsoQuestions {
			j.next()
			j.buf = strconv.AppendInt(j.buf, int64(q), 10)
		}
		j.close(']')
		j.str("severity", string(f.Severity))
		j.bool("requires_approval", f.RequiresApproval)
		j.key("objects")
		j.open('[')
		for _, o := range f.Objects {
			j.next()
			j.buf = appendJSONString(j.buf, o)
		}
		j.close(']')
		j.str("message", f.Message)
		j.str("why", f.Why)
		j.str("safe_alternative", f.SafeAlternative)
		j.int("line", f.Marker.Line)
		j.int("column", f.Marker.Column)
		j.bool("suppressed", f.Suppressed != nil)
		if f.Suppressed != nil && f.Suppressed.Reason != "" {
			j.str("suppressed_reason", f.Suppressed.Reason)
		}
		if f.Rehearsal != "" {
			j.str("rehearsal", f.Rehearsal)
		}
		j.close('}')
	}
	j.close(']')
}
