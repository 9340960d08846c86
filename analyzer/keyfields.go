package analyzer

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// A migration's fields, but for its text, as one key field. A key hashes
// every migration of a history (hundreds), so the fields are written by
// hand rather than through encoding/json, whose reflection was most of a
// warm run's key work. Every field is length-prefixed or of fixed size,
// in a fixed order, so no two migrations write the same bytes;
// TestMigrationKeyCoversEveryField fails when layout.Migration gains a
// field that is not written here.

// appendMigration appends every field of m but Content and DownContent.
func appendMigration(b []byte, m *layout.Migration) []byte {
	b = appendString(b, string(m.Kind))
	b = appendString(b, m.Dir)
	b = appendString(b, m.Path)
	b = appendString(b, m.Version)
	b = appendString(b, m.Name)
	b = appendPart(b, &m.Up)
	b = appendPartPointer(b, m.Down)
	b = appendString(b, m.DownPath)
	b = appendBool(b, m.SupportsDown)
	b = appendBool(b, m.Repeatable)
	b = appendLength(b, m.More == nil, len(m.More))
	for i := range m.More {
		b = appendPart(b, &m.More[i].Up)
		b = appendPartPointer(b, m.More[i].Down)
	}
	b = appendString(b, m.VerifyPath)
	b = appendBool(b, m.FollowsSameVersion)
	b = appendLength(b, m.Problems == nil, len(m.Problems))
	for _, p := range m.Problems {
		b = appendString(b, p.Path)
		b = appendInt(b, p.Line)
		b = appendString(b, p.Message)
		b = appendBool(b, p.RunTimeText)
	}
	b = appendString(b, m.BlobSHA)
	return appendString(b, m.Unreadable)
}

func appendPart(b []byte, p *layout.Part) []byte {
	b = appendString(b, p.Path)
	b = appendInt(b, p.Start)
	b = appendInt(b, p.End)
	b = appendString(b, string(p.Tx))
	b = appendString(b, p.TxReason)
	b = appendInt(b, p.TxLine)
	b = appendString(b, p.TxSource)
	b = appendBool(b, p.TxAcrossRun)
	return appendBool(b, p.Mixed)
}

func appendPartPointer(b []byte, p *layout.Part) []byte {
	if p == nil {
		return append(b, 0)
	}
	return appendPart(append(b, 1), p)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendInt(b []byte, n int) []byte { return binary.AppendVarint(b, int64(n)) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendLength writes a list's length, a nil list apart from an empty one
// (as encoding/json's null and []).
func appendLength(b []byte, isNil bool, n int) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(append(b, 1), uint64(n))
}

// The base's summary (baseSummary) is kept in the same hand-written form:
// the keys, then each migration with the SHA-256 of its text, the folders
// and the set's problems. readSummary reads it back;
// TestSummaryRoundTrip changes every field and requires it to come back.

func appendSummary(b []byte, sum *baseSummary) []byte {
	b = appendString(b, sum.Keys.CatalogKey)
	b = appendString(b, sum.Keys.Digest)
	set := &sum.Set
	b = appendLength(b, set.Migrations == nil, len(set.Migrations))
	for i := range set.Migrations {
		b = appendMigration(b, &set.Migrations[i])
		b = append(b, sum.Sums[i][:]...)
	}
	b = appendLength(b, set.Folders == nil, len(set.Folders))
	for _, f := range set.Folders {
		b = appendString(b, f.Path)
		b = appendString(b, string(f.Kind))
		b = appendString(b, f.Detected)
		b = appendBool(b, f.Configured)
		b = appendString(b, f.Options.Transaction)
		b = appendBool(b, f.Options.MultiStatement)
		b = appendBool(b, f.Options.Mixed)
		b = appendBool(b, f.Options.Group)
	}
	return appendProblems(b, set.Problems)
}

func appendProblems(b []byte, ps []layout.Problem) []byte {
	b = appendLength(b, ps == nil, len(ps))
	for _, p := range ps {
		b = appendString(b, p.Path)
		b = appendInt(b, p.Line)
		b = appendString(b, p.Message)
		b = appendBool(b, p.RunTimeText)
	}
	return b
}

// fieldReader reads what the append functions wrote; the first error
// sticks, and every read after it gives zero values.
type fieldReader struct {
	b   []byte
	err error
}

func (r *fieldReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("reading %s at %d bytes from the end", what, len(r.b))
	}
}

func (r *fieldReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *fieldReader) string() string {
	n := r.uvarint("a length")
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail("a string")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *fieldReader) int() int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("a number")
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *fieldReader) byte(what string) byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail(what)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fieldReader) bool() bool {
	switch r.byte("a boolean") {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("a boolean")
	return false
}

// length reads a list's length: -1 for a nil list. A list longer than
// the bytes left (every element takes one at least) is an error.
func (r *fieldReader) length() int {
	switch r.byte("a list") {
	case 0:
		return -1
	case 1:
	default:
		r.fail("a list")
		return -1
	}
	n := r.uvarint("a list's length")
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail("a list's length")
		return -1
	}
	return int(n)
}

func (r *fieldReader) part() layout.Part {
	return layout.Part{Path: r.string(), Start: r.int(), End: r.int(), Tx: layout.TxMode(r.string()),
		TxReason: r.string(), TxLine: r.int(), TxSource: r.string(), TxAcrossRun: r.bool(), Mixed: r.bool()}
}

func (r *fieldReader) partPointer() *layout.Part {
	switch r.byte("a part") {
	case 0:
		return nil
	case 1:
		p := r.part()
		return &p
	}
	r.fail("a part")
	return nil
}

func (r *fieldReader) problems() []layout.Problem {
	n := r.length()
	if n < 0 {
		return nil
	}
	ps := make([]layout.Problem, n)
	for i := range ps {
		ps[i] = layout.Problem{Path: r.string(), Line: r.int(), Message: r.string(), RunTimeText: r.bool()}
	}
	return ps
}

func (r *fieldReader) migration() layout.Migration {
	m := layout.Migration{Kind: layout.Kind(r.string()), Dir: r.string(), Path: r.string(), Version: r.string(), Name: r.string()}
	m.Up = r.part()
	m.Down = r.partPointer()
	m.DownPath = r.string()
	m.SupportsDown = r.bool()
	m.Repeatable = r.bool()
	if n := r.length(); n >= 0 {
		m.More = make([]layout.Section, n)
		for i := range m.More {
			m.More[i].Up = r.part()
			m.More[i].Down = r.partPointer()
		}
	}
	m.VerifyPath = r.string()
	m.FollowsSameVersion = r.bool()
	m.Problems = r.problems()
	m.BlobSHA = r.string()
	m.Unreadable = r.string()
	return m
}

// readSummary reads what appendSummary wrote, all of it.
func readSummary(b []byte) (*baseSummary, error) {
	r := &fieldReader{b: b}
	sum := &baseSummary{Keys: baseKeys{CatalogKey: r.string(), Digest: r.string()}}
	if n := r.length(); n >= 0 {
		sum.Set.Migrations = make([]layout.Migration, n)
		sum.Sums = make([][sha256.Size]byte, n)
		for i := range sum.Set.Migrations {
			sum.Set.Migrations[i] = r.migration()
			if r.err == nil && len(r.b) < sha256.Size {
				r.fail("a migration's sum")
			}
			if r.err == nil {
				r.b = r.b[copy(sum.Sums[i][:], r.b):]
			}
		}
	}
	if n := r.length(); n >= 0 {
		sum.Set.Folders = make([]layout.Folder, n)
		for i := range sum.Set.Folders {
			sum.Set.Folders[i] = layout.Folder{Path: r.string(), Kind: layout.Kind(r.string()), Detected: r.string(), Configured: r.bool(),
				Options: layout.Options{Transaction: r.string(), MultiStatement: r.bool(), Mixed: r.bool(), Group: r.bool()}}
		}
	}
	sum.Set.Problems = r.problems()
	if r.err == nil && len(r.b) != 0 {
		r.fail("the end")
	}
	if r.err != nil {
		return nil, r.err
	}
	return sum, nil
}
