// Package sqlscript turns the bytes of a migration file into statements with
// exact positions, using PostgreSQL's own scanner and parser (pg_query).
//
// It decides nothing about safety: it only answers "what statements are in
// this file, where exactly, and what did PostgreSQL's parser make of them".
package sqlscript

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/encoding/unicode"
)

// DefaultMaxBytes is the largest file read by default. Real migrations are far
// smaller; the limit keeps a generated dump or a misnamed binary from taking
// the analyzer's memory and time.
const DefaultMaxBytes = 5 << 20

// binarySniffLen is how much of a file is searched for a NUL byte, the same
// heuristic git uses to call a file binary.
const binarySniffLen = 8000

// DecodeError says why a file could not be read as SQL text.
type DecodeError struct {
	Kind    string // "too-large", "binary", "encoding"
	Line    int    // 1-based line of the problem, 1 when it concerns the whole file
	Column  int
	Message string
}

func (e *DecodeError) Error() string { return e.Message }

// Decoded is a file's content as UTF-8 text.
type Decoded struct {
	Text     string
	Encoding string // "utf-8", "utf-8 with BOM", "utf-16le", "utf-16be"
	// BOMOffset is the number of bytes removed from the start of the raw file.
	// Line numbers are unaffected: the BOM sits on line 1 before any text.
	BOMOffset int
}

// Decode turns raw bytes into UTF-8 text. PostgreSQL migrations are run with
// client_encoding UTF8 by every tool migration-guard knows, so any other
// encoding is an error that would also fail (or corrupt data) at deploy time;
// UTF-16 with a byte-order mark is the one exception editors produce on
// purpose, and it is converted.
func Decode(raw []byte, maxBytes int) (*Decoded, *DecodeError) {
	return decode(raw, maxBytes, false)
}

// DecodeShared is Decode for bytes that nobody writes once they are read,
// such as a layout.Migration's Content: the text of a UTF-8 file is then
// read in raw's own bytes rather than in a copy of the whole file, which a
// run held next to the bytes. raw must not be written while the text, or
// anything taken from it, is in use. TestDecodeSharedIsDecode holds it to
// Decode.
func DecodeShared(raw []byte, maxBytes int) (*Decoded, *DecodeError) {
	return decode(raw, maxBytes, true)
}

func decode(raw []byte, maxBytes int, shared bool) (*Decoded, *DecodeError) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if len(raw) > maxBytes {
		return nil, &DecodeError{Kind: "too-large", Line: 1, Column: 1, Message: fmt.Sprintf(
			"file is %s, larger than the %s limit (max_file_bytes); it was not analyzed", humanBytes(len(raw)), humanBytes(maxBytes))}
	}
	switch {
	case bytes.HasPrefix(raw, []byte{0xEF, 0xBB, 0xBF}):
		d, err := checkUTF8(raw[3:], shared)
		if err != nil {
			return nil, err
		}
		d.Encoding, d.BOMOffset = "utf-8 with BOM", 3
		return d, nil
	case bytes.HasPrefix(raw, []byte{0xFF, 0xFE}), bytes.HasPrefix(raw, []byte{0xFE, 0xFF}):
		return decodeUTF16(raw)
	}
	sniff := raw
	if len(sniff) > binarySniffLen {
		sniff = sniff[:binarySniffLen]
	}
	if i := bytes.IndexByte(sniff, 0); i >= 0 {
		line, col := lineColOfByte(raw, i)
		return nil, &DecodeError{Kind: "binary", Line: line, Column: col, Message: fmt.Sprintf(
			"file holds a NUL byte at line %d: it is binary, not SQL text; it was not analyzed", line)}
	}
	return checkUTF8(raw, shared)
}

func checkUTF8(raw []byte, shared bool) (*Decoded, *DecodeError) {
	if utf8.Valid(raw) {
		if i := bytes.IndexByte(raw, 0); i >= 0 {
			line, col := lineColOfByte(raw, i)
			return nil, &DecodeError{Kind: "binary", Line: line, Column: col, Message: fmt.Sprintf(
				"file holds a NUL byte at line %d: PostgreSQL cannot receive it in a query; it was not analyzed", line)}
		}
		if shared {
			return &Decoded{Text: unsafe.String(unsafe.SliceData(raw), len(raw)), Encoding: "utf-8"}, nil
		}
		return &Decoded{Text: string(raw), Encoding: "utf-8"}, nil
	}
	i := firstInvalidUTF8(raw)
	line, col := lineColOfByte(raw, i)
	return nil, &DecodeError{Kind: "encoding", Line: line, Column: col, Message: fmt.Sprintf(
		"file is not valid UTF-8 (byte 0x%02X at line %d, column %d); PostgreSQL would reject it under client_encoding UTF8 or store mangled text. Re-save the file as UTF-8; it was not analyzed",
		raw[i], line, col)}
}

func decodeUTF16(raw []byte) (*Decoded, *DecodeError) {
	enc := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)
	name := "utf-16le"
	if raw[0] == 0xFE {
		enc = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)
		name = "utf-16be"
	}
	out, err := enc.NewDecoder().Bytes(raw)
	if err != nil || !utf8.Valid(out) || bytes.IndexByte(out, 0) >= 0 {
		return nil, &DecodeError{Kind: "encoding", Line: 1, Column: 1, Message: "file starts with a UTF-16 byte-order mark but is not valid UTF-16; it was not analyzed"}
	}
	return &Decoded{Text: string(out), Encoding: name}, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func lineColOfByte(b []byte, off int) (line, col int) {
	line = 1 + bytes.Count(b[:off], []byte{'\n'})
	start := bytes.LastIndexByte(b[:off], '\n') + 1
	return line, 1 + utf8.RuneCount(b[start:off])
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Lines maps byte offsets of a text to 1-based lines and columns. Columns
// count characters (runes), as editors and GitHub do, not bytes.
type Lines struct {
	text   string
	starts []int // byte offset where each line starts
}

// NewLines indexes text once, so that every statement position costs a
// binary search. The newlines are counted first, so that the index takes
// one allocation of its size, and found by strings.IndexByte, which reads
// many bytes at a time.
func NewLines(text string) *Lines {
	starts := make([]int, 1, 1+strings.Count(text, "\n"))
	for i := 0; ; {
		j := strings.IndexByte(text[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		starts = append(starts, i)
	}
	return &Lines{text: text, starts: starts}
}

// Position returns the 1-based line and column of byte offset off.
func (l *Lines) Position(off int) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(l.text) {
		off = len(l.text)
	}
	lo, hi := 0, len(l.starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if l.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, 1 + utf8.RuneCountInString(l.text[l.starts[lo]:off])
}

// LineText returns line n (1-based) without its newline.
func (l *Lines) LineText(n int) string {
	if n < 1 || n > len(l.starts) {
		return ""
	}
	end := len(l.text)
	if n < len(l.starts) {
		end = l.starts[n] - 1
	}
	s := l.text[l.starts[n-1]:end]
	if len(s) > 0 && s[len(s)-1] == '\r' {
		s = s[:len(s)-1]
	}
	return s
}

// Count is the number of lines.
func (l *Lines) Count() int { return len(l.starts) }
