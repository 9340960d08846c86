package catalog

// Settle makes everything in the catalog count as existing: objects keep
// where they came from but are no longer "created in this change". The
// analyzer calls it between files it judges one by one without a base
// branch, so that each file is judged against what the earlier ones built
// as if they had already run in production.
func (c *Catalog) Settle() {
	for _, s := range c.schemas {
		s.Origin.InChangeSet = false
	}
	for _, t := range c.tables {
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
	for _, e := range c.enums {
		e.Origin.InChangeSet = false
	}
	for _, d := range c.domains {
		d.Origin.InChangeSet = false
		for _, k := range d.Constraints {
			k.Origin.InChangeSet = false
		}
	}
	for _, s := range c.sequences {
		s.Origin.InChangeSet = false
	}
}
