// Package locks says, for one migration statement, which table-level lock
// modes PostgreSQL takes on which relations and what work it does while it
// holds them, by target major version (11-17).
//
// The model follows what a real PostgreSQL 15 did (see
// /work/shared/postgres-ddl-measured.md and this package's test against a
// live server) and the release notes for the other versions. Durations are
// not computed here: Impact names the relation whose size decides the cost
// (Subject) and the kind of work, so that a size from production statistics
// can be plugged in later.
package locks

// Mode is one of PostgreSQL's eight table lock modes. The numeric values are
// PostgreSQL's own (lockdefs.h), so LOCK TABLE's parsed mode converts
// directly, and a larger value is a stronger lock.
type Mode int

const (
	AccessShare Mode = iota + 1
	RowShare
	RowExclusive
	ShareUpdateExclusive
	Share
	ShareRowExclusive
	Exclusive
	AccessExclusive
)

var modeNames = [...]string{
	AccessShare:          "ACCESS SHARE",
	RowShare:             "ROW SHARE",
	RowExclusive:         "ROW EXCLUSIVE",
	ShareUpdateExclusive: "SHARE UPDATE EXCLUSIVE",
	Share:                "SHARE",
	ShareRowExclusive:    "SHARE ROW EXCLUSIVE",
	Exclusive:            "EXCLUSIVE",
	AccessExclusive:      "ACCESS EXCLUSIVE",
}

func (m Mode) valid() bool { return m >= AccessShare && m <= AccessExclusive }

// String is the mode as the LOCK TABLE syntax spells it.
func (m Mode) String() string {
	if !m.valid() {
		return "NO LOCK"
	}
	return modeNames[m]
}

// conflicts is the table from the "Explicit Locking" chapter of the
// PostgreSQL manual, as bit sets indexed by Mode.
var conflicts = [...]uint16{
	AccessShare:          1 << AccessExclusive,
	RowShare:             1<<Exclusive | 1<<AccessExclusive,
	RowExclusive:         1<<Share | 1<<ShareRowExclusive | 1<<Exclusive | 1<<AccessExclusive,
	ShareUpdateExclusive: 1<<ShareUpdateExclusive | 1<<Share | 1<<ShareRowExclusive | 1<<Exclusive | 1<<AccessExclusive,
	Share:                1<<RowExclusive | 1<<ShareUpdateExclusive | 1<<ShareRowExclusive | 1<<Exclusive | 1<<AccessExclusive,
	ShareRowExclusive:    1<<RowExclusive | 1<<ShareUpdateExclusive | 1<<Share | 1<<ShareRowExclusive | 1<<Exclusive | 1<<AccessExclusive,
	Exclusive:            1<<RowShare | 1<<RowExclusive | 1<<ShareUpdateExclusive | 1<<Share | 1<<ShareRowExclusive | 1<<Exclusive | 1<<AccessExclusive,
	AccessExclusive:      1<<AccessShare | 1<<RowShare | 1<<RowExclusive | 1<<ShareUpdateExclusive | 1<<Share | 1<<ShareRowExclusive | 1<<Exclusive | 1<<AccessExclusive,
}

// Conflicts reports whether a lock in mode m and one in mode o on the same
// relation cannot be held at the same time by different transactions.
func (m Mode) Conflicts(o Mode) bool {
	if !m.valid() || !o.valid() {
		return false
	}
	return conflicts[m]&(1<<o) != 0
}

// BlocksReads reports whether plain SELECTs (ACCESS SHARE) wait for m.
func (m Mode) BlocksReads() bool { return m.Conflicts(AccessShare) }

// BlocksWrites reports whether INSERT, UPDATE and DELETE (ROW EXCLUSIVE)
// wait for m.
func (m Mode) BlocksWrites() bool { return m.Conflicts(RowExclusive) }

// Blocks says for people what the application notices while m is held.
func (m Mode) Blocks() string {
	switch m {
	case AccessShare:
		return "blocks only ACCESS EXCLUSIVE locks (most ALTER TABLE, DROP, TRUNCATE, VACUUM FULL), not reads or writes"
	case RowShare:
		return "blocks EXCLUSIVE and ACCESS EXCLUSIVE locks, not reads or writes"
	case RowExclusive:
		return "blocks CREATE INDEX, CREATE TRIGGER and stronger DDL, not reads or writes"
	case ShareUpdateExclusive:
		return "blocks other DDL and VACUUM, not reads or writes"
	case Share:
		return "blocks writes, not reads"
	case ShareRowExclusive:
		return "blocks writes and other SHARE ROW EXCLUSIVE lockers (CREATE TRIGGER, ADD FOREIGN KEY), not reads"
	case Exclusive:
		return "blocks writes and SELECT ... FOR UPDATE/SHARE; plain reads continue"
	case AccessExclusive:
		return "blocks every read and write"
	}
	return "blocks nothing"
}

// Work is what a statement does while it holds its locks; it decides how the
// lock's duration grows with the size of Impact.Subject.
type Work string

const (
	// Metadata is a catalog change only: milliseconds at any size. The
	// danger is the lock queue, not the run time.
	Metadata Work = "metadata"
	// Scan reads the whole table (validation: SET NOT NULL, ADD CHECK, ADD
	// FOREIGN KEY, VALIDATE); time grows with the heap.
	Scan Work = "scan"
	// Rewrite copies the heap to a new file and rebuilds every index.
	Rewrite Work = "rewrite"
	// IndexBuild builds or rebuilds one or more indexes from the heap.
	IndexBuild Work = "index-build"
	// Backfill is DML over the whole table.
	Backfill Work = "backfill"
)

// rank orders work by how much of the table it touches, so that the
// subcommands of one ALTER TABLE can be combined into the heaviest.
func (w Work) rank() int {
	switch w {
	case Scan:
		return 1
	case IndexBuild:
		return 2
	case Rewrite:
		return 3
	case Backfill:
		return 4
	}
	return 0
}
