package catalog

import "github.com/migration-guard/migration-guard/analyzer/catalog/internal/pmap"

// Settle makes everything in the catalog count as existing: objects keep
// where they came from but are no longer "created in this change". The
// analyzer calls it between files it judges one by one without a base
// branch, so that each file is judged against what the earlier ones built
// as if they had already run in production. Only the objects that change
// are copied (a catalog shares its objects with its copies), and after
// the first Settle only those that differ from what it left are looked at.
func (c *Catalog) Settle() {
	var settled settledMaps
	if c.settled != nil {
		settled = *c.settled
	}
	for _, s := range inChangeSet(settled.schemas, c.schemas, func(s *Schema) bool { return s.Origin.InChangeSet }) {
		s = c.editSchema(s)
		s.Origin.InChangeSet = false
		c.putSchema(s)
	}
	for _, t := range inChangeSet(settled.tables, c.tables, tableInChangeSet) {
		// Only the children in the change set change: of a copy that
		// shares its children (Table.sharedKids), those alone are copied.
		t = c.editTableShallow(t)
		t.Origin.InChangeSet = false
		for i, col := range t.Columns {
			if col.Origin.InChangeSet {
				if t.sharedKids {
					n := *col
					col, t.Columns[i] = &n, &n
				}
				col.Origin.InChangeSet = false
			}
		}
		for i, k := range t.Constraints {
			if k.Origin.InChangeSet {
				if t.sharedKids {
					n := *k
					k, t.Constraints[i] = &n, &n
				}
				k.Origin.InChangeSet = false
			}
		}
		for i, ix := range t.Indexes {
			if ix.Origin.InChangeSet {
				if t.sharedKids {
					n := *ix
					ix, t.Indexes[i] = &n, &n
				}
				ix.Origin.InChangeSet = false
			}
		}
	}
	for _, e := range inChangeSet(settled.enums, c.enums, func(e *Enum) bool { return e.Origin.InChangeSet }) {
		e = c.editEnum(e)
		e.Origin.InChangeSet = false
		c.putEnum(e)
	}
	for _, d := range inChangeSet(settled.domains, c.domains, domainInChangeSet) {
		d = c.editDomain(d)
		d.Origin.InChangeSet = false
		for _, k := range d.Constraints {
			k.Origin.InChangeSet = false
		}
		c.putDomain(d)
	}
	for _, s := range inChangeSet(settled.sequences, c.sequences, func(s *Sequence) bool { return s.Origin.InChangeSet }) {
		s = c.editSequence(s)
		s.Origin.InChangeSet = false
		c.putSequence(s)
	}
	c.settled = &settledMaps{schemas: c.schemas, tables: c.tables, enums: c.enums, domains: c.domains, sequences: c.sequences}
	// Everything settled becomes read-only for c, as Clone makes it: a
	// change copies the object first, so that it differs from the one
	// settled holds.
	c.owner, c.copies = pmap.NewOwner(), nil
}

// settledMaps are a catalog's maps as Settle left them: nothing in them
// is part of the change set, and no catalog writes their nodes or objects
// in place (Settle gave the catalog a new owner, as Clone does). Every
// change since made a new object or a copy, so whatever has been part of
// the change set since is among the entries in which the catalog's maps
// differ from these (pmap.Diff). A catalog's copies share its settledMaps;
// a decoded catalog has none, and looks through all its objects.
type settledMaps struct {
	schemas   pmap.Map[qname, *Schema]
	tables    pmap.Map[qname, *Table]
	enums     pmap.Map[qname, *Enum]
	domains   pmap.Map[qname, *Domain]
	sequences pmap.Map[qname, *Sequence]
}

// inChangeSet lists the objects of m that in says are part of the change
// set, looking only at the entries that differ from settled (all of m
// when settled is empty): collected first, since settling them writes m.
func inChangeSet[V any](settled, m pmap.Map[qname, V], in func(V) bool) []V {
	var out []V
	pmap.Diff(settled, m, func(_ qname, _ V, _ bool, v V, inM bool) {
		if inM && in(v) {
			out = append(out, v)
		}
	})
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
