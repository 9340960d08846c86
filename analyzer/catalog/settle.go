package catalog

import "github.com/migration-guard/migration-guard/analyzer/catalog/internal/pmap"

// Settle makes everything in the catalog count as existing: objects keep
// where they came from but are no longer "created in this change". The
// analyzer calls it between files it judges one by one without a base
// branch, so that each file is judged against what the earlier ones built
// as if they had already run in production. Only the objects that change
// are copied (a catalog shares its objects with its copies).
func (c *Catalog) Settle() {
	for _, s := range inChangeSet(c.schemas, func(s *Schema) bool { return s.Origin.InChangeSet }) {
		s = c.editSchema(s)
		s.Origin.InChangeSet = false
		c.putSchema(s)
	}
	for _, t := range inChangeSet(c.tables, tableInChangeSet) {
		t = c.editTable(t)
		t.Origin.InChangeSet = false
		for _, col := range t.Columns {
			col.Origin.InChangeSet = false
		}
		for _, k := range t.Constraints {
			k.Origin.InChangeSet = false
		}
		for _, ix := range t.Indexes {
			ix.Origin.InChangeSet = false
		}
	}
	for _, e := range inChangeSet(c.enums, func(e *Enum) bool { return e.Origin.InChangeSet }) {
		e = c.editEnum(e)
		e.Origin.InChangeSet = false
		c.putEnum(e)
	}
	for _, d := range inChangeSet(c.domains, domainInChangeSet) {
		d = c.editDomain(d)
		d.Origin.InChangeSet = false
		for _, k := range d.Constraints {
			k.Origin.InChangeSet = false
		}
		c.putDomain(d)
	}
	for _, s := range inChangeSet(c.sequences, func(s *Sequence) bool { return s.Origin.InChangeSet }) {
		s = c.editSequence(s)
		s.Origin.InChangeSet = false
		c.putSequence(s)
	}
}

// inChangeSet lists the objects of m that in says are part of the change
// set: collected first, since settling them writes m.
func inChangeSet[V any](m pmap.Map[qname, V], in func(V) bool) []V {
	var out []V
	for _, v := range m.All() {
		if in(v) {
			out = append(out, v)
		}
	}
	return out
}

func tableInChangeSet(t *Table) bool {
	if t.Origin.InChangeSet {
		return true
	}
	for _, col := range t.Columns {
		if col.Origin.InChangeSet {
			return true
		}
	}
	for _, k := range t.Constraints {
		if k.Origin.InChangeSet {
			return true
		}
	}
	for _, ix := range t.Indexes {
		if ix.Origin.InChangeSet {
			return true
		}
	}
	return false
}

func domainInChangeSet(d *Domain) bool {
	if d.Origin.InChangeSet {
		return true
	}
	for _, k := range d.Constraints {
		if k.Origin.InChangeSet {
			return true
		}
	}
	return false
}
