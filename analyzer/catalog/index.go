package catalog

import (
	"slices"
	"sort"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog/internal/pmap"
)

// The model links objects by name, and PostgreSQL's naming rules ask
// questions about a whole schema ("is this relation or constraint name
// taken?", "which foreign keys point at this table?"). Answering them by
// scanning every table made replaying a history quadratic, so the catalog
// keeps reverse indexes next to the objects.
//
// Each table remembers the keys it contributed (the indexes remember the
// domains' and sequences'). After any change to one of them, touch
// (reindexDomain, reindexSequence) withdraws those keys and adds the current
// ones, so a change costs the size of that one object and no index can keep
// a key the object no longer has, however the change came about. An object
// that is no longer in the catalog's maps contributes nothing, so dropping
// is the same operation as changing. The one obligation is to touch after
// every change, before the next lookup; the package's tests check the
// indexes against a scan after every statement they apply.

// refKind names a reverse index over tables.
type refKind int

const (
	// refIndexName: (schema, index name) -> the table the index is on.
	refIndexName refKind = iota
	// refForeignKey: (RefSchema, RefTable) -> tables with a foreign key to
	// it, including keys to relations the model does not know yet.
	refForeignKey
	// refDependsOn: relation -> views that read it or one of its columns.
	refDependsOn
	// refParent: partitioned table -> its partitions.
	refParent
	// refIndexParent: (schema, partitioned index) -> tables with an index
	// attached to it.
	refIndexParent
	// refNextval: ("", sequence name as written in nextval()) -> tables
	// with such a column default. The schema is left out because an
	// unqualified name resolves against the table's schema at lookup time.
	refNextval
	// refColumnType: type -> tables with a column of that type.
	refColumnType
	refKinds
)

// refCounts counts, per table (by the name it registered under), how many
// of the table's objects contribute the same key, so that withdrawing one
// contribution keeps the others.
type refCounts = pmap.Map[qname, int]

// indexes are persistent maps, like the objects': a copy of the catalog
// shares them, and each side copies the nodes it changes. They refer to
// objects by name, never by pointer, so that a private copy of a table
// (editTable) takes its place without touching them.
type indexes struct {
	refs [refKinds]pmap.Map[qname, refCounts]
	// constraints counts table and domain constraints per (schema, name):
	// PostgreSQL allows the same name on two tables, and ChooseConstraintName
	// only needs to know whether any has it.
	constraints pmap.Map[qname, int]
	// owned: (schema, table) -> sequences OWNED BY a column of it.
	owned pmap.Map[qname, pmap.Map[qname, struct{}]]

	// What each domain and sequence contributed, by its key in the
	// catalog's maps: domain -> constraint names, sequence -> owning table.
	domainKeys pmap.Map[qname, []qname]
	ownedBy    pmap.Map[qname, qname]
}

// tableKeys is what a table contributed to the indexes when last touched,
// and under which name (at) it did.
type tableKeys struct {
	at          qname
	refs        [refKinds][]qname
	constraints []qname
}

// tableContribution lists the keys t contributes in its current state.
// Duplicates are kept: they are counted.
func tableContribution(t *Table, k *tableKeys) {
	for _, ix := range t.Indexes {
		k.refs[refIndexName] = append(k.refs[refIndexName], qname{t.Schema, ix.Name})
		if ix.parent.name != "" {
			k.refs[refIndexParent] = append(k.refs[refIndexParent], ix.parent)
		}
	}
	for _, con := range t.Constraints {
		k.constraints = append(k.constraints, qname{t.Schema, con.Name})
		if con.Kind == ForeignKey {
			k.refs[refForeignKey] = append(k.refs[refForeignKey], qname{con.RefSchema, con.RefTable})
		}
	}
	for _, d := range t.DependsOn {
		switch {
		case isRelationKind(d.Kind):
			k.refs[refDependsOn] = append(k.refs[refDependsOn], qname{d.Schema, d.Name})
		case d.Kind == "column":
			k.refs[refDependsOn] = append(k.refs[refDependsOn], qname{d.Schema, d.Table})
		}
	}
	if t.parent.name != "" {
		k.refs[refParent] = append(k.refs[refParent], t.parent)
	}
	for _, col := range t.Columns {
		if _, name, ok := nextvalSequence(col.DefaultNode); ok {
			k.refs[refNextval] = append(k.refs[refNextval], qname{"", name})
		}
		k.refs[refColumnType] = append(k.refs[refColumnType], qname{col.Type.Schema, col.Type.Name})
	}
}

// withdrawKeys takes back what k records. It leaves k as it is: the caller
// empties it when it owns the table.
func (c *Catalog) withdrawKeys(k *tableKeys) {
	for kind := range k.refs {
		for _, q := range k.refs[kind] {
			c.uncountRef(refKind(kind), q, k.at)
		}
	}
	c.dropConstraintNames(k.constraints)
}

func (c *Catalog) uncountRef(kind refKind, q, table qname) {
	m := &c.idx.refs[kind]
	rc := m.Get(q)
	switch n := rc.Get(table); {
	case n > 1:
		rc.Set(c.owner, table, n-1)
	default:
		rc.Delete(c.owner, table)
	}
	if rc.Len() == 0 {
		m.Delete(c.owner, q)
	} else {
		m.Set(c.owner, q, rc)
	}
}

func (c *Catalog) dropConstraintNames(names []qname) {
	for _, q := range names {
		if n := c.idx.constraints.Get(q); n > 1 {
			c.idx.constraints.Set(c.owner, q, n-1)
		} else {
			c.idx.constraints.Delete(c.owner, q)
		}
	}
}

// touch brings the indexes up to date with t after any change to its name,
// schema, columns (names aside), constraints, indexes, view dependencies or
// partition parent. It must run before the next lookup that could see the
// change, because PostgreSQL's name choices inside one statement see the
// objects created earlier in it.
//
// A table c does not own has not changed since c's version began: if it
// is in c, its keys are current; if it is not, it left through
// deleteTable or putTable, which withdrew them. Either way there is
// nothing to do.
func (c *Catalog) touch(t *Table) {
	if t == nil || t.owner != c.owner {
		return
	}
	at := qname{t.Schema, t.Name}
	if c.tables.Get(at) != t {
		if k := t.keys; k != nil {
			c.withdrawKeys(k)
			for kind := range k.refs {
				k.refs[kind] = k.refs[kind][:0]
			}
			k.constraints = k.constraints[:0]
		}
		return
	}
	if t.keys == nil {
		t.keys = &tableKeys{}
	}
	k := t.keys
	// Most changes touch one column, constraint or index of the table:
	// only the keys between the common beginning and end of the old and
	// new lists are withdrawn and added, which leaves the counts as
	// withdrawing and adding every key would, without writing the
	// indexes' nodes for the rest (after a copy of the catalog, each such
	// write copies a path of nodes).
	next := tableKeysPool.Get().(*tableKeys)
	tableContribution(t, next)
	moved := k.at != at
	for kind := range k.refs {
		old, cur := k.refs[kind], next.refs[kind]
		p, q := 0, 0
		if !moved {
			p, q = commonEnds(old, cur)
		}
		for _, r := range old[p : len(old)-q] {
			c.uncountRef(refKind(kind), r, k.at)
		}
		for _, r := range cur[p : len(cur)-q] {
			c.countRef(at, refKind(kind), r)
		}
		// t keeps the new list; the old one's array is reused.
		k.refs[kind], next.refs[kind] = cur, old[:0]
	}
	// Constraint names are counted by name alone, whichever table has them.
	p, q := commonEnds(k.constraints, next.constraints)
	c.dropConstraintNames(k.constraints[p : len(k.constraints)-q])
	for _, n := range next.constraints[p : len(next.constraints)-q] {
		c.idx.constraints.Set(c.owner, n, c.idx.constraints.Get(n)+1)
	}
	k.constraints, next.constraints = next.constraints, k.constraints[:0]
	k.at = at
	tableKeysPool.Put(next)
}

// tableKeysPool holds emptied key lists for touch to fill.
var tableKeysPool = sync.Pool{New: func() any { return &tableKeys{} }}

// commonEnds returns the lengths of the common beginning and end of a and
// b, which do not overlap in either.
func commonEnds(a, b []qname) (prefix, suffix int) {
	n := min(len(a), len(b))
	for prefix < n && a[prefix] == b[prefix] {
		prefix++
	}
	for suffix < n-prefix && a[len(a)-1-suffix] == b[len(b)-1-suffix] {
		suffix++
	}
	return prefix, suffix
}

// leave withdraws what a table contributed when it stops being in c under
// its registered name (dropped, displaced or renamed).
func (c *Catalog) leave(t *Table) {
	if t.keys == nil {
		return
	}
	if t.owner == c.owner {
		c.touch(t)
		return
	}
	// Shared: its keys are those registered, and they stay as they are for
	// the other versions that still hold it.
	c.withdrawKeys(t.keys)
}

// reindexDomain is touch for a domain's constraint names: it brings them
// up to date with the domain now under q, if any.
func (c *Catalog) reindexDomain(q qname) {
	c.dropConstraintNames(c.idx.domainKeys.Get(q))
	c.idx.domainKeys.Delete(c.owner, q)
	d := c.domains.Get(q)
	if d == nil || len(d.Constraints) == 0 {
		return
	}
	keys := make([]qname, 0, len(d.Constraints))
	for _, k := range d.Constraints {
		n := qname{d.Schema, k.Name}
		keys = append(keys, n)
		c.idx.constraints.Set(c.owner, n, c.idx.constraints.Get(n)+1)
	}
	c.idx.domainKeys.Set(c.owner, q, keys)
}

// reindexSequence is touch for a sequence's owner: it brings the owner
// index up to date with the sequence now under q, if any.
func (c *Catalog) reindexSequence(q qname) {
	if tq, ok := c.idx.ownedBy.Lookup(q); ok {
		set := c.idx.owned.Get(tq)
		set.Delete(c.owner, q)
		if set.Len() == 0 {
			c.idx.owned.Delete(c.owner, tq)
		} else {
			c.idx.owned.Set(c.owner, tq, set)
		}
		c.idx.ownedBy.Delete(c.owner, q)
	}
	s := c.sequences.Get(q)
	if s == nil || s.OwnedByTable == "" {
		return
	}
	tq := qname{s.Schema, s.OwnedByTable}
	c.idx.ownedBy.Set(c.owner, q, tq)
	set := c.idx.owned.Get(tq)
	set.Set(c.owner, q, struct{}{})
	c.idx.owned.Set(c.owner, tq, set)
}

// putTable registers t under its name; a relation it displaces stops
// contributing. t is new or c's own.
func (c *Catalog) putTable(t *Table) {
	q := qname{t.Schema, t.Name}
	old := c.tables.Get(q)
	if t.owner == nil {
		t.owner = c.owner
	}
	c.tables.Set(c.owner, q, t)
	if old != nil && old != t {
		c.leave(old)
	}
	c.touch(t)
}

func (c *Catalog) deleteTable(q qname) {
	if t := c.tables.Get(q); t != nil {
		c.tables.Delete(c.owner, q)
		c.leave(t)
	}
}

// putSequence stores s (new, or c's own copy) under its name.
func (c *Catalog) putSequence(s *Sequence) {
	if s.owner == nil {
		s.owner = c.owner
	}
	q := qname{s.Schema, s.Name}
	c.sequences.Set(c.owner, q, s)
	c.reindexSequence(q)
}

func (c *Catalog) deleteSequence(q qname) {
	if c.sequences.Has(q) {
		c.sequences.Delete(c.owner, q)
		c.reindexSequence(q)
	}
}

// putDomain stores d (new, or c's own copy) under its name.
func (c *Catalog) putDomain(d *Domain) {
	if d.owner == nil {
		d.owner = c.owner
	}
	q := qname{d.Schema, d.Name}
	c.domains.Set(c.owner, q, d)
	c.reindexDomain(q)
}

func (c *Catalog) deleteDomain(q qname) {
	if c.domains.Has(q) {
		c.domains.Delete(c.owner, q)
		c.reindexDomain(q)
	}
}

// putEnum and putSchema store a new object or c's own copy.
func (c *Catalog) putEnum(e *Enum) {
	if e.owner == nil {
		e.owner = c.owner
	}
	c.enums.Set(c.owner, qname{e.Schema, e.Name}, e)
}

func (c *Catalog) putSchema(s *Schema) {
	if s.owner == nil {
		s.owner = c.owner
	}
	c.schemas.Set(c.owner, schemaKey(s.Name), s)
}

// addConstraint and addIndex append to t and add only what the new object
// contributes: a table gets its constraints one at a time, and touching the
// whole table for each would make wide tables quadratic. They return the
// table as changed, c's own copy of t.
func (c *Catalog) addConstraint(t *Table, k *Constraint) *Table {
	t = c.editTableShallow(t)
	t.Constraints = append(t.Constraints, k)
	if !c.indexed(t) {
		c.touch(t)
		return t
	}
	q := qname{t.Schema, k.Name}
	t.keys.constraints = append(t.keys.constraints, q)
	c.idx.constraints.Set(c.owner, q, c.idx.constraints.Get(q)+1)
	if k.Kind == ForeignKey {
		c.addRef(t, refForeignKey, qname{k.RefSchema, k.RefTable})
	}
	return t
}

// MaxColumns is PostgreSQL's limit on a table's columns
// (MaxHeapAttributeNumber); ADD COLUMN beyond it fails.
const MaxColumns = 1600

// addColumn is addConstraint for a column: ALTER TABLE ... ADD COLUMN
// one at a time must not cost the width of the table each time.
func (c *Catalog) addColumn(t *Table, col *Column) *Table {
	t = c.editTableShallow(t)
	t.Columns = append(t.Columns, col)
	if !c.indexed(t) {
		c.touch(t)
		return t
	}
	if _, name, ok := nextvalSequence(col.DefaultNode); ok {
		c.addRef(t, refNextval, qname{"", name})
	}
	c.addRef(t, refColumnType, qname{col.Type.Schema, col.Type.Name})
	return t
}

func (c *Catalog) addIndex(t *Table, ix *Index) *Table {
	t = c.editTableShallow(t)
	t.Indexes = append(t.Indexes, ix)
	if !c.indexed(t) {
		c.touch(t)
		return t
	}
	c.addRef(t, refIndexName, qname{t.Schema, ix.Name})
	if ix.parent.name != "" {
		c.addRef(t, refIndexParent, ix.parent)
	}
	return t
}

// indexed reports whether t is in the catalog and its keys are current up
// to the change being made.
func (c *Catalog) indexed(t *Table) bool {
	return t.keys != nil && t.keys.at == (qname{t.Schema, t.Name}) && c.tables.Get(t.keys.at) == t
}

func (c *Catalog) addRef(t *Table, kind refKind, q qname) {
	t.keys.refs[kind] = append(t.keys.refs[kind], q)
	c.countRef(t.keys.at, kind, q)
}

func (c *Catalog) countRef(table qname, kind refKind, q qname) {
	m := &c.idx.refs[kind]
	rc := m.Get(q)
	rc.Set(c.owner, table, rc.Get(table)+1)
	m.Set(c.owner, q, rc)
}

// referrers lists the tables that contribute key q to an index, ordered by
// schema and name as Tables() orders them, so that results built from them
// come out in the order a scan of every table would give.
func (c *Catalog) referrers(kind refKind, q qname) []*Table {
	rc := c.idx.refs[kind].Get(q)
	if rc.Len() == 0 {
		return nil
	}
	out := make([]*Table, 0, rc.Len())
	for tq := range rc.All() {
		if t := c.tables.Get(tq); t != nil {
			out = append(out, t)
		}
	}
	sortTables(out)
	return out
}

func sortTables(ts []*Table) { slices.SortFunc(ts, compareTables) }

// ownedSequences lists the sequences owned by a column of the table q, in
// Sequences() order.
func (c *Catalog) ownedSequences(q qname) []*Sequence {
	set := c.idx.owned.Get(q)
	if set.Len() == 0 {
		return nil
	}
	out := make([]*Sequence, 0, set.Len())
	for sq := range set.All() {
		if s := c.sequences.Get(sq); s != nil {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return lessQ(qname{out[i].Schema, out[i].Name}, qname{out[j].Schema, out[j].Name})
	})
	return out
}

// reindex rebuilds every index from the objects, for a catalog whose maps
// were filled without put (a decoder's): afterwards, every table is c's own
// and registered under its name.
func (c *Catalog) reindex() {
	c.idx = indexes{}
	for _, t := range c.Tables() {
		t = c.editTable(t)
		t.keys = nil
		c.touch(t)
	}
	var domains, sequences []qname
	for q := range c.domains.All() {
		domains = append(domains, q)
	}
	for q := range c.sequences.All() {
		sequences = append(sequences, q)
	}
	for _, q := range domains {
		c.reindexDomain(q)
	}
	for _, q := range sequences {
		c.reindexSequence(q)
	}
}

// clone copies k's lists into one array: each list is a slice of it whose
// capacity ends where the list does, so that appending to one (addRef)
// moves it out rather than overwriting the next. An empty list stays nil.
func (k *tableKeys) clone() *tableKeys {
	n := &tableKeys{at: k.at}
	total := len(k.constraints)
	for _, r := range k.refs {
		total += len(r)
	}
	all := make([]qname, 0, total)
	take := func(q []qname) []qname {
		if len(q) == 0 {
			return nil
		}
		start := len(all)
		all = append(all, q...)
		return all[start:len(all):len(all)]
	}
	for kind, r := range k.refs {
		n.refs[kind] = take(r)
	}
	n.constraints = take(k.constraints)
	return n
}

// testHookApplied, set by this package's tests, runs after every statement
// Apply handles, so that every test also checks the indexes against a scan
// of the model.
var testHookApplied func(*Catalog)

// testHookBeforeApply, set by this package's tests, runs before every
// statement Apply handles; the function it returns, if any, runs after.
var testHookBeforeApply func(*Catalog, *pg_query.Node) func()
