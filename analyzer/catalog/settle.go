package catalog

// Settle makes everything in the catalog count as existing: objects keep
// where they came from but are no longer "created in this change". The
// analyzer calls it between files it judges one by one without a base
// branch, so that each file is judged against what the earlier ones built
// as if they had already run in production. Only the objects that change
// are copied (a catalog shares its objects with its copies).
func (c *Catalog) Settle() {
	var schemas []*Schema
	for _, s := range c.schemas.All() {
		if s.Origin.InChangeSet {
			schemas = append(schemas, s)
		}
	}
	for _, s := range schemas {
		s = c.editSchema(s)
		s.Origin.InChangeSet = false
		c.putSchema(s)
	}
	var tables []*Table
	for _, t := range c.tables.All() {
		if tableInChangeSet(t) {
			tables = append(tables, t)
		}
	}
	for _, t := range tables {
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
	var enums []*Enum
	for _, e := range c.enums.All() {
		if e.Origin.InChangeSet {
			enums = append(enums, e)
		}
	}
	for _, e := range enums {
		e = c.editEnum(e)
		e.Origin.InChangeSet = false
		c.putEnum(e)
	}
	var domains []*Domain
	for _, d := range c.domains.All() {
		if domainInChangeSet(d) {
			domains = append(domains, d)
		}
	}
	for _, d := range domains {
		d = c.editDomain(d)
		d.Origin.InChangeSet = false
		for _, k := range d.Constraints {
			k.Origin.InChangeSet = false
		}
		c.putDomain(d)
	}
	var sequences []*Sequence
	for _, s := range c.sequences.All() {
		if s.Origin.InChangeSet {
			sequences = append(sequences, s)
		}
	}
	for _, s := range sequences {
		s = c.editSequence(s)
		s.Origin.InChangeSet = false
		c.putSequence(s)
	}
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
