package locks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
)

// Lock is one table-level lock a statement takes: the strongest mode it
// requests on that relation.
type Lock struct {
	// Relation is schema-qualified when the catalog knows it
	// ("public.orders"), as written otherwise.
	Relation string
	// Kind is "table", "index", "referenced table", "referencing table",
	// "view", "materialized view", "foreign table", "sequence" or "type".
	Kind string
	Mode Mode
	// Existing is false for relations created in the change set under
	// review, or by this very statement: nothing running waits on those.
	// Relations the catalog does not know count as existing.
	Existing bool
}

// Impact is what one statement locks and does.
type Impact struct {
	// Locks lists each relation once, the statement's target first.
	Locks []Lock
	Work  Work
	// Subject is the relation whose size decides how long the work takes
	// ("" for Metadata).
	Subject string
	// Scans is how many passes the work makes over Subject's heap: 2 for
	// CREATE INDEX CONCURRENTLY or ADD PRIMARY KEY on a nullable column, one
	// per index for REINDEX TABLE, 1 + the number of indexes for a rewrite
	// (each index is rebuilt from the new heap).
	Scans int
	// HeldUntilCommit: the locks are kept until the transaction ends. False
	// for CONCURRENTLY variants and VACUUM, which hold them only while they
	// run.
	HeldUntilCommit bool
	// Concurrently: the statement is the non-blocking variant.
	Concurrently bool
	// OutsideTransaction: PostgreSQL refuses to run the statement inside a
	// transaction block (CREATE/DROP INDEX CONCURRENTLY, VACUUM, ...).
	OutsideTransaction bool
	// Unknown: what the statement locks cannot be known from its text (DO,
	// CALL, statements not modelled); Locks is then incomplete.
	Unknown bool
	// Notes are version-specific facts for people.
	Notes []string
}

// Strongest returns the strongest mode in the impact, 0 when nothing is
// locked.
func (im Impact) Strongest() Mode {
	var m Mode
	for _, l := range im.Locks {
		if l.Mode > m {
			m = l.Mode
		}
	}
	return m
}

// Lock returns the lock on a relation, if any.
func (im Impact) Lock(relation string) (Lock, bool) {
	for _, l := range im.Locks {
		if l.Relation == relation {
			return l, true
		}
	}
	return Lock{}, false
}

// Options tune the model.
type Options struct {
	// PostgresVersion is the target major version, 11-17. 0 means
	// DefaultVersion; versions outside the range are judged as the nearest
	// modelled one, with a note.
	PostgresVersion int
	// TypeChange decides ALTER COLUMN TYPE's work from the old and new
	// types and the USING expression (nil when absent). Nil means assume
	// Rewrite.
	TypeChange func(old, new catalog.Type, using *pg_query.Node) Work
}

// DefaultVersion is the major version the reference measurements were made
// on.
const DefaultVersion = 15

const (
	minVersion = 11
	maxVersion = 17
)

// Analyze says what one statement locks and does, judged against the
// catalog as it stands just before the statement. stmt may be a RawStmt or
// the statement node itself; a nil catalog is treated as empty.
func Analyze(stmt *pg_query.Node, cat *catalog.Catalog, opt Options) Impact {
	if cat == nil {
		cat = catalog.New()
	}
	b := &builder{cat: cat, opt: opt, ver: opt.PostgresVersion}
	b.imp.Work = Metadata
	b.imp.HeldUntilCommit = true
	switch {
	case b.ver == 0:
		b.ver = DefaultVersion
	case b.ver < minVersion:
		b.note(fmt.Sprintf("PostgreSQL %d is older than the oldest modelled version; judged as PostgreSQL %d", b.ver, minVersion))
		b.ver = minVersion
	case b.ver > maxVersion:
		b.note(fmt.Sprintf("PostgreSQL %d is newer than the newest modelled version; judged as PostgreSQL %d", b.ver, maxVersion))
		b.ver = maxVersion
	}
	if raw := stmt.GetRawStmt(); raw != nil {
		stmt = raw.GetStmt()
	}
	b.statement(stmt)
	if b.imp.Work == Metadata {
		b.imp.Subject, b.imp.Scans = "", 0
	}
	b.queueNote()
	return b.imp
}

// queueNote explains the lock queue (measured document, section 4): a lock
// request waiting behind a running transaction makes every later request
// it conflicts with wait as well, so even a "0.2 ms" statement can stall
// the table for as long as the oldest transaction stays open. Indexes are
// named only when no table is, since their tables are what people know.
func (b *builder) queueNote() {
	var reads, readIdx, writes []string
	for _, l := range b.imp.Locks {
		switch {
		case !l.Existing:
		case l.Mode.BlocksReads() && l.Kind == "index":
			readIdx = append(readIdx, l.Relation)
		case l.Mode.BlocksReads():
			reads = append(reads, l.Relation)
		case l.Mode.BlocksWrites() && l.Kind != "index":
			writes = append(writes, l.Relation)
		}
	}
	if len(reads) == 0 {
		reads = readIdx
	}
	if len(reads) > 0 {
		b.note(fmt.Sprintf("lock queue: while it waits for ACCESS EXCLUSIVE on %s behind any open transaction, every later query on %s waits too; set lock_timeout (a few seconds) and retry", strings.Join(reads, ", "), itThem(reads)))
	}
	if len(writes) > 0 {
		b.note(fmt.Sprintf("lock queue: while it waits for its lock on %s behind any open transaction, every later write to %s waits too; set lock_timeout and retry", strings.Join(writes, ", "), itThem(writes)))
	}
}

func itThem(list []string) string {
	if len(list) == 1 {
		return "it"
	}
	return "them"
}

// builder accumulates one statement's impact.
type builder struct {
	cat *catalog.Catalog
	opt Options
	ver int
	imp Impact
	// recurse: the ALTER TABLE being judged applies to every partition.
	recurse bool
	// dropped names the constraints the ALTER TABLE being judged drops:
	// PostgreSQL runs its DROP CONSTRAINT subcommands first, so they no
	// longer prove anything to the other subcommands.
	dropped map[string]bool
}

func (b *builder) note(s string) {
	for _, n := range b.imp.Notes {
		if n == s {
			return
		}
	}
	b.imp.Notes = append(b.imp.Notes, s)
}

func (b *builder) unknown(why string) {
	b.imp.Unknown = true
	b.note(why)
}

// lock records a lock, keeping the strongest mode per relation and the
// first kind it was recorded with (a self-referencing foreign key must not
// turn the target into its own "referenced table").
func (b *builder) lock(rel, kind string, m Mode, existing bool) {
	if rel == "" || !m.valid() {
		return
	}
	for i := range b.imp.Locks {
		l := &b.imp.Locks[i]
		if l.Relation == rel {
			if m > l.Mode {
				l.Mode = m
			}
			l.Existing = l.Existing || existing
			return
		}
	}
	b.imp.Locks = append(b.imp.Locks, Lock{Relation: rel, Kind: kind, Mode: m, Existing: existing})
}

// work records the statement's work, keeping the heaviest kind. Passes over
// the same relation add up (ADD CHECK and ADD UNIQUE in one ALTER TABLE
// read the table twice, measured), except that a rewrite checks
// constraints while it copies, so it absorbs the others.
func (b *builder) work(w Work, subject string, scans int) {
	if w == Metadata {
		return
	}
	cur := b.imp.Work
	if cur == Metadata {
		b.imp.Work, b.imp.Subject, b.imp.Scans = w, subject, scans
		return
	}
	if subject != b.imp.Subject {
		if w.rank() > cur.rank() {
			b.imp.Work, b.imp.Subject, b.imp.Scans = w, subject, scans
		}
		return
	}
	switch {
	case w == Rewrite && cur == Rewrite:
		b.imp.Scans = max(b.imp.Scans, scans)
	case w == Rewrite:
		b.imp.Work, b.imp.Scans = w, scans
	case cur == Rewrite:
	default:
		b.imp.Scans += scans
		if w.rank() > cur.rank() {
			b.imp.Work = w
		}
	}
}

// validationPass records a foreign-key validation over subject. Unlike a
// CHECK, which a rewrite evaluates while it copies, the validation is a
// query of its own, so after a rewrite it is one more pass (measured).
func (b *builder) validationPass(subject string) {
	if b.imp.Work == Rewrite && b.imp.Subject == subject {
		b.imp.Scans++
		return
	}
	b.work(Scan, subject, 1)
}

// rel is a relation as the statement names it, resolved against the
// catalog when possible.
type rel struct {
	t    *catalog.Table // nil when no migration created it
	name string
}

func (r rel) existing() bool { return r.t == nil || !r.t.Origin.InChangeSet }

func (r rel) kind() string {
	if r.t == nil {
		return "table"
	}
	switch r.t.Kind {
	case catalog.KindView:
		return "view"
	case catalog.KindMaterializedView:
		return "materialized view"
	case catalog.KindForeignTable:
		return "foreign table"
	}
	return "table"
}

func (r rel) partitioned() bool { return r.t != nil && r.t.Kind == catalog.KindPartitionedTable }

func (b *builder) resolve(rv *pg_query.RangeVar) rel {
	if rv == nil {
		return rel{}
	}
	if t := b.cat.Relation(rv); t != nil {
		return rel{t: t, name: t.QualifiedName()}
	}
	return rel{name: rangeVarName(rv)}
}

func (b *builder) resolveTable(t *catalog.Table) rel {
	return rel{t: t, name: t.QualifiedName()}
}

func (b *builder) resolveNames(names []*pg_query.Node) rel {
	schema, name := splitNames(names)
	if name == "" {
		return rel{}
	}
	return b.resolve(&pg_query.RangeVar{Schemaname: schema, Relname: name, Inh: true, Relpersistence: "p"})
}

func (b *builder) lockRel(r rel, kind string, m Mode) {
	if kind == "" {
		kind = r.kind()
	}
	b.lock(r.name, kind, m, r.existing())
}

// lockIndexes locks every index the catalog knows on t.
func (b *builder) lockIndexes(t *catalog.Table, m Mode) {
	if t == nil {
		return
	}
	for _, ix := range t.Indexes {
		b.lockIndex(t, ix, m)
	}
}

func (b *builder) lockIndex(t *catalog.Table, ix *catalog.Index, m Mode) {
	b.lock(indexName(t, ix), "index", m, !ix.Origin.InChangeSet)
}

// lockPartitions locks every partition below a partitioned table, as
// PostgreSQL does when a command recurses (find_all_inheritors takes the
// same mode on each).
func (b *builder) lockPartitions(t *catalog.Table, m Mode, withIndexes bool) {
	for _, p := range b.partitionsOf(t) {
		b.lockRel(b.resolveTable(p), "", m)
		if withIndexes {
			b.lockIndexes(p, m)
		}
	}
}

// partitionsOf lists every partition below t, depth first.
func (b *builder) partitionsOf(t *catalog.Table) []*catalog.Table {
	if t == nil || t.Kind != catalog.KindPartitionedTable {
		return nil
	}
	var out []*catalog.Table
	seen := map[*catalog.Table]bool{t: true}
	var walk func(*catalog.Table)
	walk = func(p *catalog.Table) {
		for _, c := range b.cat.Partitions(p) {
			if seen[c] {
				continue
			}
			seen[c] = true
			out = append(out, c)
			walk(c)
		}
	}
	walk(t)
	return out
}

// ownedSequences lists the sequences behind t's serial and identity
// columns.
func (b *builder) ownedSequences(t *catalog.Table) []*catalog.Sequence {
	if t == nil {
		return nil
	}
	var out []*catalog.Sequence
	for _, s := range b.cat.Sequences() {
		if s.Schema == t.Schema && s.OwnedByTable == t.Name {
			out = append(out, s)
		}
	}
	return out
}

func (b *builder) lockSequences(t *catalog.Table, m Mode) {
	for _, s := range b.ownedSequences(t) {
		b.lock(s.QualifiedName(), "sequence", m, !s.Origin.InChangeSet)
	}
}

// rewriteScans is how many heap passes a rewrite of t makes: the copy,
// then one per index rebuilt from the new heap (measured: 4 with 3 indexes).
func rewriteScans(t *catalog.Table) int {
	if t == nil {
		return 1
	}
	return 1 + len(t.Indexes)
}

// rewrite records a heap rewrite of r, which rebuilds every index under
// ACCESS EXCLUSIVE. A partitioned table has no heap of its own: with
// recursion, each partition is rewritten, and the passes add up over them.
func (b *builder) rewrite(r rel, recurse bool) {
	scans := rewriteScans(r.t)
	if !r.partitioned() {
		// A partitioned table's own indexes have no storage to rebuild
		// (measured: not locked).
		b.lockIndexes(r.t, AccessExclusive)
	}
	if recurse && r.partitioned() {
		scans = 0
		for _, p := range b.partitionsOf(r.t) {
			b.lockIndexes(p, AccessExclusive)
			if p.Kind != catalog.KindPartitionedTable {
				scans += rewriteScans(p)
			}
		}
	}
	b.work(Rewrite, r.name, scans)
}

func indexName(t *catalog.Table, ix *catalog.Index) string {
	return qualify(t.Schema, ix.Name)
}

func qualify(schema, name string) string {
	if schema == "" {
		return catalog.QuoteIdent(name)
	}
	return catalog.QuoteIdent(schema) + "." + catalog.QuoteIdent(name)
}

// rangeVarName spells a relation the catalog does not know as written,
// quoted where PostgreSQL would need quotes.
func rangeVarName(rv *pg_query.RangeVar) string {
	if rv.GetSchemaname() != "" {
		return qualify(rv.GetSchemaname(), rv.GetRelname())
	}
	return catalog.QuoteIdent(rv.GetRelname())
}

// splitNames turns a qualified name list into schema and name (the catalog
// name, if any, is dropped).
func splitNames(names []*pg_query.Node) (string, string) {
	var parts []string
	for _, n := range names {
		if s := n.GetString_(); s != nil {
			parts = append(parts, s.GetSval())
		}
	}
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// lookupIndex finds an index by a possibly qualified name.
func (b *builder) lookupIndex(schema, name string) (*catalog.Index, *catalog.Table, string) {
	ix, t := b.cat.IndexByName(schema, name)
	if ix == nil {
		if schema != "" {
			return nil, nil, qualify(schema, name)
		}
		return nil, nil, catalog.QuoteIdent(name)
	}
	return ix, t, indexName(t, ix)
}
