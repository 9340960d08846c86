package prodstats

import "strings"

// What a statement writes to the write-ahead log is what every replica
// must receive and replay before it is current again: a physical replica
// lags the primary by that volume, and a logical one decodes it all. The
// estimates below are orders of magnitude, measured on PostgreSQL 15 with
// wal_level=replica and full_page_writes=on (TestWALEstimatesMatchServer
// measures each one against the real server's WAL of the statement).

// RewriteWAL is the WAL a rewrite writes: the new copy of the heap, its
// TOAST and every index, each page logged whole (measured: 1.0-1.3 times
// the table's total size, the new copy of a bloated table being smaller).
func (t *Table) RewriteWAL() int64 {
	if t == nil {
		return 0
	}
	if t.TotalBytes > 0 {
		return t.TotalBytes
	}
	return t.HeapBytes + t.IndexBytes + t.ToastBytes
}

// UpdateWAL is the WAL an UPDATE of every row writes: the new version of
// each row, the whole of each heap page the first time it changes after a
// checkpoint, the old version's page marked, and an entry in every index
// (with its pages' images) when the update is not HOT, as it is not on
// full pages or when an indexed column changes. Measured: 3.3 times the
// heap without indexes, 3 times the heap plus 5 times the indexes with
// them.
func (t *Table) UpdateWAL() int64 {
	if t == nil {
		return 0
	}
	return 3*t.HeapBytes + 5*t.IndexBytes
}

// DeleteWAL is the WAL a DELETE of every row writes: a record of about 54
// bytes per row, and the whole of each heap page the first time it
// changes after a checkpoint; indexes are left for VACUUM. Measured: 1.0
// times the estimate.
func (t *Table) DeleteWAL() int64 {
	if t == nil {
		return 0
	}
	if t.Rows < 0 {
		return t.HeapBytes * 3 / 2
	}
	return t.HeapBytes + 54*t.Rows
}

// IndexBuildWAL is the WAL of building one btree index on the key columns
// of t: the index, every page logged whole as it is written (measured: 0.9
// times the index's size). The index's size is estimated from the row
// count and the columns' widths (btree leaf tuples of 8 bytes of header
// plus the key, 8-byte aligned, and a 4-byte line pointer, on pages filled
// to 90%); deduplication of repeated keys (PostgreSQL 13+) makes it
// smaller, so this is an upper bound. Without widths for every key (an
// expression, a column without statistics) it is the table's average
// index; 0 when that is unknown too.
func (t *Table) IndexBuildWAL(keys []string) int64 {
	if t == nil {
		return 0
	}
	if w, ok := t.keyWidth(keys); ok && t.Rows >= 0 {
		entry := align8(8+w) + 4
		const leafBytes = (8192 - 24 - 16) * 9 / 10
		pages := (t.Rows*int64(entry) + leafBytes - 1) / leafBytes
		return pages * 8192
	}
	if t.Indexes > 0 {
		return t.IndexBytes / int64(t.Indexes)
	}
	return 0
}

// keyWidth is the bytes the key columns take in an index tuple.
func (t *Table) keyWidth(keys []string) (int, bool) {
	if len(keys) == 0 {
		return 0, false
	}
	w := 0
	for _, k := range keys {
		c := t.Column(k)
		if c == nil {
			return 0, false
		}
		cw := fixedWidth(c.Type)
		if cw == 0 {
			if c.AvgWidth <= 0 || !t.HasStats(k) {
				return 0, false
			}
			cw = c.AvgWidth
		}
		w += cw
	}
	return w, true
}

// fixedWidth is the stored width of the fixed-width types, by
// format_type's spelling; 0 for variable-width and unknown types.
func fixedWidth(typ string) int {
	// "timestamp(3) with time zone" is as wide as "timestamp with time zone".
	if i := strings.IndexByte(typ, '('); i >= 0 {
		if j := strings.IndexByte(typ[i:], ')'); j >= 0 {
			typ = typ[:i] + typ[i+j+1:]
		}
	}
	switch typ {
	case "boolean", `"char"`:
		return 1
	case "smallint":
		return 2
	case "integer", "real", "date", "oid":
		return 4
	case "bigint", "double precision", "money", "timestamp with time zone", "timestamp without time zone", "time without time zone":
		return 8
	case "time with time zone":
		return 12
	case "uuid", "interval":
		return 16
	}
	return 0
}

func align8(n int) int { return (n + 7) &^ 7 }
