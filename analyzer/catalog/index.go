package catalog

import "sort"

// The model links objects by name, and PostgreSQL's naming rules ask
// questions about a whole schema ("is this relation or constraint name
// taken?", "which foreign keys point at this table?"). Answering them by
// scanning every table made replaying a history quadratic, so the catalog
// keeps reverse indexes next to the objects.
//
// Each table, domain and sequence remembers the keys it contributed. After
// any change to one of them, touch (touchDomain, touchSequence) withdraws
// those keys and adds the current ones, so a change costs the size of that
// one object and no index can keep a key the object no longer has, however
// the change came about. An object that is no longer in the catalog's maps
// contributes nothing, so dropping is the same operation as changing. The
// one obligation is to touch after every change, before the next lookup;
// the package's tests check the indexes against a scan after every
// statement they apply.

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

// refCounts counts how many of a table's objects contribute the same key,
// so that withdrawing one contribution keeps the others.
type refCounts map[*Table]int

type indexes struct {
	refs [refKinds]map[qname]refCounts
	// constraints counts table and domain constraints per (schema, name):
	// PostgreSQL allows the same name on two tables, and ChooseConstraintName
	// only needs to know whether any has it.
	constraints map[qname]int
	// owned: (schema, table) -> sequences OWNED BY a column of it.
	owned map[qname]map[*Sequence]struct{}

	// What each domain and sequence contributed, kept here rather than in
	// the exported types.
	domainKeys map[*Domain][]qname
	ownedBy    map[*Sequence]qname
}

func newIndexes() indexes {
	ix := indexes{constraints: map[qname]int{}, owned: map[qname]map[*Sequence]struct{}{},
		domainKeys: map[*Domain][]qname{}, ownedBy: map[*Sequence]qname{}}
	for k := range ix.refs {
		ix.refs[k] = map[qname]refCounts{}
	}
	return ix
}

// tableKeys is what a table contributed to the indexes when last touched.
type tableKeys struct {
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

func (c *Catalog) withdrawTable(t *Table) {
	k := t.keys
	if k == nil {
		return
	}
	for kind := range k.refs {
		m := c.idx.refs[kind]
		for _, q := range k.refs[kind] {
			rc := m[q]
			if rc[t] <= 1 {
				delete(rc, t)
				if len(rc) == 0 {
					delete(m, q)
				}
			} else {
				rc[t]--
			}
		}
		k.refs[kind] = k.refs[kind][:0]
	}
	c.dropConstraintNames(k.constraints)
	k.constraints = k.constraints[:0]
}

func (c *Catalog) dropConstraintNames(names []qname) {
	for _, q := range names {
		if c.idx.constraints[q] <= 1 {
			delete(c.idx.constraints, q)
		} else {
			c.idx.constraints[q]--
		}
	}
}

// touch brings the indexes up to date with t after any change to its name,
// schema, columns (names aside), constraints, indexes, view dependencies or
// partition parent. It must run before the next lookup that could see the
// change, because PostgreSQL's name choices inside one statement see the
// objects created earlier in it.
func (c *Catalog) touch(t *Table) {
	if t == nil {
		return
	}
	c.withdrawTable(t)
	if c.tables[qname{t.Schema, t.Name}] != t {
		return
	}
	if t.keys == nil {
		t.keys = &tableKeys{}
	}
	k := t.keys
	tableContribution(t, k)
	for kind := range k.refs {
		for _, q := range k.refs[kind] {
			c.countRef(t, refKind(kind), q)
		}
	}
	for _, q := range k.constraints {
		c.idx.constraints[q]++
	}
}

// touchDomain is touch for a domain's constraint names.
func (c *Catalog) touchDomain(d *Domain) {
	c.dropConstraintNames(c.idx.domainKeys[d])
	delete(c.idx.domainKeys, d)
	if c.domains[qname{d.Schema, d.Name}] != d || len(d.Constraints) == 0 {
		return
	}
	keys := make([]qname, 0, len(d.Constraints))
	for _, k := range d.Constraints {
		q := qname{d.Schema, k.Name}
		keys = append(keys, q)
		c.idx.constraints[q]++
	}
	c.idx.domainKeys[d] = keys
}

// touchSequence is touch for a sequence's owner.
func (c *Catalog) touchSequence(s *Sequence) {
	if q, ok := c.idx.ownedBy[s]; ok {
		set := c.idx.owned[q]
		delete(set, s)
		if len(set) == 0 {
			delete(c.idx.owned, q)
		}
		delete(c.idx.ownedBy, s)
	}
	if s.OwnedByTable == "" || c.sequences[qname{s.Schema, s.Name}] != s {
		return
	}
	q := qname{s.Schema, s.OwnedByTable}
	c.idx.ownedBy[s] = q
	set := c.idx.owned[q]
	if set == nil {
		set = map[*Sequence]struct{}{}
		c.idx.owned[q] = set
	}
	set[s] = struct{}{}
}

// putTable registers t under its name; a relation it displaces stops
// contributing.
func (c *Catalog) putTable(t *Table) {
	q := qname{t.Schema, t.Name}
	old := c.tables[q]
	c.tables[q] = t
	if old != nil && old != t {
		c.touch(old)
	}
	c.touch(t)
}

func (c *Catalog) deleteTable(q qname) {
	if t := c.tables[q]; t != nil {
		delete(c.tables, q)
		c.touch(t)
	}
}

func (c *Catalog) putSequence(s *Sequence) {
	q := qname{s.Schema, s.Name}
	old := c.sequences[q]
	c.sequences[q] = s
	if old != nil && old != s {
		c.touchSequence(old)
	}
	c.touchSequence(s)
}

func (c *Catalog) deleteSequence(q qname) {
	if s := c.sequences[q]; s != nil {
		delete(c.sequences, q)
		c.touchSequence(s)
	}
}

func (c *Catalog) putDomain(d *Domain) {
	q := qname{d.Schema, d.Name}
	old := c.domains[q]
	c.domains[q] = d
	if old != nil && old != d {
		c.touchDomain(old)
	}
	c.touchDomain(d)
}

func (c *Catalog) deleteDomain(q qname) {
	if d := c.domains[q]; d != nil {
		delete(c.domains, q)
		c.touchDomain(d)
	}
}

// addConstraint and addIndex append to t and add only what the new object
// contributes: a table gets its constraints one at a time, and touching the
// whole table for each would make wide tables quadratic.
func (c *Catalog) addConstraint(t *Table, k *Constraint) {
	t.Constraints = append(t.Constraints, k)
	if !c.indexed(t) {
		c.touch(t)
		return
	}
	q := qname{t.Schema, k.Name}
	t.keys.constraints = append(t.keys.constraints, q)
	c.idx.constraints[q]++
	if k.Kind == ForeignKey {
		c.addRef(t, refForeignKey, qname{k.RefSchema, k.RefTable})
	}
}

// MaxColumns is PostgreSQL's limit on a table's columns
// (MaxHeapAttributeNumber); ADD COLUMN beyond it fails.
const MaxColumns = 1600

// addColumn is addConstraint for a column: ALTER TABLE ... ADD COLUMN
// one at a time must not cost the width of the table each time.
func (c *Catalog) addColumn(t *Table, col *Column) {
	t.Columns = append(t.Columns, col)
	if !c.indexed(t) {
		c.touch(t)
		return
	}
	if _, name, ok := nextvalSequence(col.DefaultNode); ok {
		c.addRef(t, refNextval, qname{"", name})
	}
	c.addRef(t, refColumnType, qname{col.Type.Schema, col.Type.Name})
}

func (c *Catalog) addIndex(t *Table, ix *Index) {
	t.Indexes = append(t.Indexes, ix)
	if !c.indexed(t) {
		c.touch(t)
		return
	}
	c.addRef(t, refIndexName, qname{t.Schema, ix.Name})
	if ix.parent.name != "" {
		c.addRef(t, refIndexParent, ix.parent)
	}
}

// indexed reports whether t is in the catalog and its keys are current up
// to the change being made.
func (c *Catalog) indexed(t *Table) bool {
	return t.keys != nil && c.tables[qname{t.Schema, t.Name}] == t
}

func (c *Catalog) addRef(t *Table, kind refKind, q qname) {
	t.keys.refs[kind] = append(t.keys.refs[kind], q)
	c.countRef(t, kind, q)
}

func (c *Catalog) countRef(t *Table, kind refKind, q qname) {
	rc := c.idx.refs[kind][q]
	if rc == nil {
		rc = refCounts{}
		c.idx.refs[kind][q] = rc
	}
	rc[t]++
}

// referrers lists the tables that contribute key q to an index, ordered by
// schema and name as Tables() orders them, so that results built from them
// come out in the order a scan of every table would give.
func (c *Catalog) referrers(kind refKind, q qname) []*Table {
	rc := c.idx.refs[kind][q]
	if len(rc) == 0 {
		return nil
	}
	out := make([]*Table, 0, len(rc))
	for t := range rc {
		out = append(out, t)
	}
	sortTables(out)
	return out
}

func sortTables(ts []*Table) {
	sort.Slice(ts, func(i, j int) bool {
		return lessQ(qname{ts[i].Schema, ts[i].Name}, qname{ts[j].Schema, ts[j].Name})
	})
}

// ownedSequences lists the sequences owned by a column of the table q, in
// Sequences() order.
func (c *Catalog) ownedSequences(q qname) []*Sequence {
	set := c.idx.owned[q]
	if len(set) == 0 {
		return nil
	}
	out := make([]*Sequence, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		return lessQ(qname{out[i].Schema, out[i].Name}, qname{out[j].Schema, out[j].Name})
	})
	return out
}

// reindex rebuilds every index from the model, for a fresh copy.
func (c *Catalog) reindex() {
	c.idx = newIndexes()
	for _, t := range c.tables {
		t.keys = nil
		c.touch(t)
	}
	for _, d := range c.domains {
		c.touchDomain(d)
	}
	for _, s := range c.sequences {
		c.touchSequence(s)
	}
}

// copyIndexes gives n, a copy of c's objects (copyObjects), c's indexes
// with c's objects replaced by n's: a clone need not recompute what every
// table contributes. It returns false, leaving n's indexes to reindex, if
// an index names an object that n does not have (an index out of step with
// the objects, which touch's obligation rules out).
func (n *Catalog) copyIndexes(c *Catalog) bool {
	tables := make(map[*Table]*Table, len(c.tables))
	for k, t := range c.tables {
		nt := n.tables[k]
		tables[t] = nt
		if t.keys != nil {
			nk := &tableKeys{constraints: cloneQnames(t.keys.constraints)}
			for kind := range t.keys.refs {
				nk.refs[kind] = cloneQnames(t.keys.refs[kind])
			}
			nt.keys = nk
		}
	}
	idx := indexes{
		constraints: make(map[qname]int, len(c.idx.constraints)),
		owned:       make(map[qname]map[*Sequence]struct{}, len(c.idx.owned)),
		domainKeys:  make(map[*Domain][]qname, len(c.idx.domainKeys)),
		ownedBy:     make(map[*Sequence]qname, len(c.idx.ownedBy)),
	}
	for kind := range c.idx.refs {
		m := make(map[qname]refCounts, len(c.idx.refs[kind]))
		for q, rc := range c.idx.refs[kind] {
			nrc := make(refCounts, len(rc))
			for t, count := range rc {
				nt := tables[t]
				if nt == nil {
					return false
				}
				nrc[nt] = count
			}
			m[q] = nrc
		}
		idx.refs[kind] = m
	}
	for q, count := range c.idx.constraints {
		idx.constraints[q] = count
	}
	for d, keys := range c.idx.domainKeys {
		nd := n.domains[qname{d.Schema, d.Name}]
		if c.domains[qname{d.Schema, d.Name}] != d || nd == nil {
			return false
		}
		idx.domainKeys[nd] = cloneQnames(keys)
	}
	sequences := func(s *Sequence) *Sequence {
		if c.sequences[qname{s.Schema, s.Name}] != s {
			return nil
		}
		return n.sequences[qname{s.Schema, s.Name}]
	}
	for s, q := range c.idx.ownedBy {
		ns := sequences(s)
		if ns == nil {
			return false
		}
		idx.ownedBy[ns] = q
	}
	for q, set := range c.idx.owned {
		nset := make(map[*Sequence]struct{}, len(set))
		for s := range set {
			ns := sequences(s)
			if ns == nil {
				return false
			}
			nset[ns] = struct{}{}
		}
		idx.owned[q] = nset
	}
	n.idx = idx
	return true
}

func cloneQnames(q []qname) []qname {
	if q == nil {
		return nil
	}
	return append([]qname(nil), q...)
}

// testHookApplied, set by this package's tests, runs after every statement
// Apply handles, so that every test also checks the indexes against a scan
// of the model.
var testHookApplied func(*Catalog)
