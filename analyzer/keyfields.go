package analyzer

import (
	"encoding/binary"

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
