package catalog

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

func isRelationKind(kind string) bool {
	switch kind {
	case "table", "view", "materialized view", "foreign table":
		return true
	}
	return false
}

// Dependents lists what DROP ... CASCADE of obj would remove besides obj
// itself, transitively and in a stable order. Entries with NeedsCascade set
// are the ones that make a plain DROP fail. A table's own columns, indexes
// and constraints are part of it and not listed.
func (c *Catalog) Dependents(obj ObjectRef) []ObjectRef {
	cl := c.closure(obj)
	if len(cl) == 0 {
		return nil
	}
	return cl[1:]
}

func (c *Catalog) closure(obj ObjectRef) []ObjectRef {
	obj.NeedsCascade = false
	out := []ObjectRef{obj}
	seen := map[ObjectRef]int{obj.key(): 0}
	for i := 0; i < len(out); i++ {
		for _, d := range c.directDependents(out[i]) {
			k := d.key()
			if j, ok := seen[k]; ok {
				if d.NeedsCascade && j > 0 {
					out[j].NeedsCascade = true
				}
				continue
			}
			seen[k] = len(out)
			out = append(out, d)
		}
	}
	// A column default goes away with its own column or table; it only
	// matters when the sequence alone is dropped.
	kept := out[:0]
	for _, r := range out {
		if r.Kind == "default" {
			_, colGone := seen[ObjectRef{Kind: "column", Schema: r.Schema, Table: r.Table, Name: r.Name}]
			_, tableGone := seen[ObjectRef{Kind: "table", Schema: r.Schema, Name: r.Table}]
			if colGone || tableGone {
				continue
			}
		}
		kept = append(kept, r)
	}
	return kept
}

func (c *Catalog) directDependents(r ObjectRef) []ObjectRef {
	var out []ObjectRef
	switch {
	case isRelationKind(r.Kind):
		t := c.tables.Get(qname{r.Schema, r.Name})
		if t == nil {
			return nil
		}
		for _, o := range c.referrers(refDependsOn, qname{t.Schema, t.Name}) {
			if o != t && (o.Kind == KindView || o.Kind == KindMaterializedView) && dependsOnRelation(o, t) {
				d := tableRef(o)
				d.NeedsCascade = true
				out = append(out, d)
			}
		}
		for _, fk := range c.ReferencingForeignKeys(t) {
			if fk.Table != t {
				out = append(out, ObjectRef{Kind: "constraint", Schema: fk.Table.Schema, Table: fk.Table.Name, Name: fk.Constraint.Name, NeedsCascade: true})
			}
		}
		for _, p := range c.Partitions(t) {
			out = append(out, tableRef(p))
		}
		for _, s := range c.ownedSequences(qname{t.Schema, t.Name}) {
			out = append(out, ObjectRef{Kind: "sequence", Schema: s.Schema, Name: s.Name})
		}
	case r.Kind == "column":
		t := c.tables.Get(qname{r.Schema, r.Table})
		if t == nil || t.Column(r.Name) == nil {
			return nil
		}
		for _, ix := range t.Indexes {
			if ix.Constraint == "" && indexUsesColumn(ix, r.Name) {
				out = append(out, ObjectRef{Kind: "index", Schema: t.Schema, Name: ix.Name})
			}
		}
		for _, k := range t.Constraints {
			if constraintUsesColumn(t, k, r.Name) {
				out = append(out, ObjectRef{Kind: "constraint", Schema: t.Schema, Table: t.Name, Name: k.Name})
			}
		}
		for _, fk := range c.ReferencingForeignKeys(t) {
			if containsString(fk.Constraint.RefColumns, r.Name) && !(fk.Table == t && containsString(fk.Constraint.Columns, r.Name)) {
				out = append(out, ObjectRef{Kind: "constraint", Schema: fk.Table.Schema, Table: fk.Table.Name, Name: fk.Constraint.Name, NeedsCascade: true})
			}
		}
		colRef := ObjectRef{Kind: "column", Schema: t.Schema, Table: t.Name, Name: r.Name}
		for _, o := range c.referrers(refDependsOn, qname{t.Schema, t.Name}) {
			if o.Kind != KindView && o.Kind != KindMaterializedView {
				continue
			}
			for _, d := range o.DependsOn {
				if d == colRef {
					v := tableRef(o)
					v.NeedsCascade = true
					out = append(out, v)
					break
				}
			}
		}
		for _, col := range t.Columns {
			if col.Name != r.Name && containsString(col.generatedFrom, r.Name) {
				out = append(out, ObjectRef{Kind: "column", Schema: t.Schema, Table: t.Name, Name: col.Name, NeedsCascade: true})
			}
		}
		for _, s := range c.ownedSequences(qname{t.Schema, t.Name}) {
			if s.OwnedByColumn == r.Name {
				out = append(out, ObjectRef{Kind: "sequence", Schema: s.Schema, Name: s.Name})
			}
		}
		for _, p := range c.Partitions(t) {
			if p.Column(r.Name) != nil {
				out = append(out, ObjectRef{Kind: "column", Schema: p.Schema, Table: p.Name, Name: r.Name})
			}
		}
	case r.Kind == "constraint":
		t := c.tables.Get(qname{r.Schema, r.Table})
		k := t.Constraint(r.Name)
		if k == nil {
			return nil
		}
		if k.Kind == PrimaryKey || k.Kind == Unique {
			for _, fk := range c.ReferencingForeignKeys(t) {
				if sameSet(fk.Constraint.RefColumns, k.Columns) {
					out = append(out, ObjectRef{Kind: "constraint", Schema: fk.Table.Schema, Table: fk.Table.Name, Name: fk.Constraint.Name, NeedsCascade: true})
				}
			}
		}
		for _, p := range c.Partitions(t) {
			if k.Index != "" {
				for _, pix := range p.Indexes {
					if pix.parent == (qname{t.Schema, k.Index}) && pix.Constraint != "" {
						out = append(out, ObjectRef{Kind: "constraint", Schema: p.Schema, Table: p.Name, Name: pix.Constraint})
					}
				}
			} else if pk := p.Constraint(k.Name); pk != nil && pk.Kind == k.Kind {
				out = append(out, ObjectRef{Kind: "constraint", Schema: p.Schema, Table: p.Name, Name: pk.Name})
			}
		}
	case r.Kind == "index":
		ix, t := c.indexIn(r.Schema, r.Name)
		if ix == nil {
			return nil
		}
		if ix.Unique && ix.Constraint == "" && !hasConstraintOn(t, ix.Columns()) {
			for _, fk := range c.ReferencingForeignKeys(t) {
				if sameSet(fk.Constraint.RefColumns, ix.Columns()) {
					out = append(out, ObjectRef{Kind: "constraint", Schema: fk.Table.Schema, Table: fk.Table.Name, Name: fk.Constraint.Name, NeedsCascade: true})
				}
			}
		}
		for _, p := range c.Partitions(t) {
			for _, pix := range p.Indexes {
				if pix.parent == (qname{t.Schema, ix.Name}) {
					out = append(out, ObjectRef{Kind: "index", Schema: p.Schema, Name: pix.Name})
				}
			}
		}
	case r.Kind == "sequence":
		s := c.sequences.Get(qname{r.Schema, r.Name})
		if s == nil {
			return nil
		}
		for _, t := range c.referrers(refNextval, qname{"", s.Name}) {
			for _, col := range t.Columns {
				if c.defaultSequence(t, col) == s {
					out = append(out, ObjectRef{Kind: "default", Schema: t.Schema, Table: t.Name, Name: col.Name, NeedsCascade: true})
				}
			}
		}
	case r.Kind == "type" || r.Kind == "domain":
		for _, t := range c.referrers(refColumnType, qname{r.Schema, r.Name}) {
			for _, col := range t.Columns {
				if col.Type.Schema == r.Schema && col.Type.Name == r.Name {
					out = append(out, ObjectRef{Kind: "column", Schema: t.Schema, Table: t.Name, Name: col.Name, NeedsCascade: true})
				}
			}
		}
		for _, d := range c.Domains() {
			if d.BaseType.Schema == r.Schema && d.BaseType.Name == r.Name {
				out = append(out, ObjectRef{Kind: "domain", Schema: d.Schema, Name: d.Name, NeedsCascade: true})
			}
		}
	case r.Kind == "schema":
		for _, t := range c.Tables() {
			if t.Schema == r.Name {
				d := tableRef(t)
				d.NeedsCascade = true
				out = append(out, d)
			}
		}
		for _, s := range c.Sequences() {
			if s.Schema == r.Name {
				out = append(out, ObjectRef{Kind: "sequence", Schema: s.Schema, Name: s.Name, NeedsCascade: true})
			}
		}
		for _, e := range c.Enums() {
			if e.Schema == r.Name {
				out = append(out, ObjectRef{Kind: "type", Schema: e.Schema, Name: e.Name, NeedsCascade: true})
			}
		}
		for _, d := range c.Domains() {
			if d.Schema == r.Name {
				out = append(out, ObjectRef{Kind: "domain", Schema: d.Schema, Name: d.Name, NeedsCascade: true})
			}
		}
	}
	return out
}

func hasConstraintOn(t *Table, cols []string) bool {
	for _, k := range t.Constraints {
		if (k.Kind == PrimaryKey || k.Kind == Unique) && sameSet(k.Columns, cols) {
			return true
		}
	}
	return false
}

func dependsOnRelation(v, t *Table) bool {
	for _, d := range v.DependsOn {
		if isRelationKind(d.Kind) && d.Schema == t.Schema && d.Name == t.Name {
			return true
		}
	}
	return false
}

func indexUsesColumn(ix *Index, col string) bool {
	for _, k := range ix.Keys {
		if k.Column == col {
			return true
		}
	}
	return containsString(ix.Include, col) || containsString(ix.exprColumns, col)
}

func constraintUsesColumn(t *Table, k *Constraint, col string) bool {
	if containsString(k.Columns, col) {
		return true
	}
	if k.Index != "" {
		if ix := t.Index(k.Index); ix != nil && indexUsesColumn(ix, col) {
			return true
		}
	}
	return false
}

// defaultSequence resolves the sequence a nextval() default uses. An
// unqualified name is looked up in the table's schema first: PostgreSQL
// stores the sequence's OID, so the search path at lookup time is moot.
func (c *Catalog) defaultSequence(t *Table, col *Column) *Sequence {
	schema, name, ok := nextvalSequence(col.DefaultNode)
	if !ok {
		return nil
	}
	if schema != "" {
		return c.sequences.Get(qname{schema, name})
	}
	if s := c.sequences.Get(qname{t.Schema, name}); s != nil {
		return s
	}
	return c.sequences.Get(qname{"public", name})
}

// dropObject removes obj and everything that depends on it.
func (c *Catalog) dropObject(obj ObjectRef) {
	cl := c.closure(obj)
	// Remove in reverse discovery order so dependents go before what they
	// depend on; each removal tolerates a vanished owner.
	for i := len(cl) - 1; i >= 0; i-- {
		c.removeObject(cl[i])
	}
}

func (c *Catalog) removeObject(r ObjectRef) {
	switch {
	case isRelationKind(r.Kind):
		q := qname{r.Schema, r.Name}
		if !c.tables.Has(q) {
			return
		}
		c.deleteTable(q)
		for _, s := range c.ownedSequences(q) {
			c.deleteSequence(qname{s.Schema, s.Name})
		}
	case r.Kind == "column":
		// Removing a column, constraint or index makes new lists and
		// changes none of the children left: a copy made to remove one
		// shares them (editTableShallow).
		t := c.editTableShallow(c.tables.Get(qname{r.Schema, r.Table}))
		if t == nil {
			return
		}
		for i, col := range t.Columns {
			if col.Name == r.Name {
				t.Columns = append(t.Columns[:i:i], t.Columns[i+1:]...)
				break
			}
		}
		// Anything left that still names the column cannot survive.
		var keepK []*Constraint
		for _, k := range t.Constraints {
			if !constraintUsesColumn(t, k, r.Name) {
				keepK = append(keepK, k)
			}
		}
		t.Constraints = keepK
		var keepI []*Index
		for _, ix := range t.Indexes {
			if !indexUsesColumn(ix, r.Name) {
				keepI = append(keepI, ix)
			}
		}
		t.Indexes = keepI
		c.touch(t)
	case r.Kind == "constraint":
		t := c.tables.Get(qname{r.Schema, r.Table})
		if t == nil || t.Constraint(r.Name) == nil {
			return
		}
		t = c.editTableShallow(t)
		for i, k := range t.Constraints {
			if k.Name == r.Name {
				t.Constraints = append(t.Constraints[:i:i], t.Constraints[i+1:]...)
				if k.Index != "" {
					removeIndex(t, k.Index)
				}
				c.touch(t)
				break
			}
		}
	case r.Kind == "index":
		if _, t := c.indexIn(r.Schema, r.Name); t != nil {
			t = c.editTableShallow(t)
			removeIndex(t, r.Name)
			c.touch(t)
		}
	case r.Kind == "sequence":
		c.deleteSequence(qname{r.Schema, r.Name})
	case r.Kind == "default":
		t := c.tables.Get(qname{r.Schema, r.Table})
		if t.Column(r.Name) != nil {
			t = c.editTable(t)
			col := t.Column(r.Name)
			col.Default, col.DefaultNode = "", nil
			c.touch(t)
		}
	case r.Kind == "type":
		c.enums.Delete(c.owner, qname{r.Schema, r.Name})
	case r.Kind == "domain":
		c.deleteDomain(qname{r.Schema, r.Name})
	case r.Kind == "schema":
		c.schemas.Delete(c.owner, schemaKey(r.Name))
	}
}

func removeIndex(t *Table, name string) {
	for i, ix := range t.Indexes {
		if ix.Name == name {
			t.Indexes = append(t.Indexes[:i:i], t.Indexes[i+1:]...)
			return
		}
	}
}

func (c *Catalog) dropStmt(s *pg_query.DropStmt) {
	for _, o := range s.GetObjects() {
		if r, ok := c.dropTarget(s.GetRemoveType(), o); ok {
			c.dropObject(r)
		}
	}
}

// dropTarget resolves one object of a DROP statement. PostgreSQL refuses to
// drop an index that backs a constraint or belongs to a partitioned index,
// and a relation through the wrong kind of DROP; those resolve to nothing.
func (c *Catalog) dropTarget(kind pg_query.ObjectType, o *pg_query.Node) (ObjectRef, bool) {
	switch kind {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
		pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
		schema, name := nameList(o.GetList().GetItems())
		t := c.relation(schema, name)
		if t == nil {
			return ObjectRef{}, false
		}
		want := map[pg_query.ObjectType][]TableKind{
			pg_query.ObjectType_OBJECT_TABLE:         {KindTable, KindPartitionedTable},
			pg_query.ObjectType_OBJECT_VIEW:          {KindView},
			pg_query.ObjectType_OBJECT_MATVIEW:       {KindMaterializedView},
			pg_query.ObjectType_OBJECT_FOREIGN_TABLE: {KindForeignTable},
		}[kind]
		for _, k := range want {
			if t.Kind == k {
				return tableRef(t), true
			}
		}
	case pg_query.ObjectType_OBJECT_INDEX:
		schema, name := nameList(o.GetList().GetItems())
		ix, t := c.IndexByName(schema, name)
		if ix == nil || ix.Constraint != "" || ix.parent.name != "" {
			return ObjectRef{}, false
		}
		return ObjectRef{Kind: "index", Schema: t.Schema, Name: ix.Name}, true
	case pg_query.ObjectType_OBJECT_SEQUENCE:
		schema, name := nameList(o.GetList().GetItems())
		if s := c.Sequence(schema, name); s != nil {
			return ObjectRef{Kind: "sequence", Schema: s.Schema, Name: s.Name}, true
		}
	case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
		tn := TypeFromNode(o.GetTypeName())
		schema := tn.Schema
		if schema == "pg_catalog" {
			return ObjectRef{}, false
		}
		if e := c.Enum(schema, tn.Name); e != nil && kind == pg_query.ObjectType_OBJECT_TYPE {
			return ObjectRef{Kind: "type", Schema: e.Schema, Name: e.Name}, true
		}
		if d := c.Domain(schema, tn.Name); d != nil {
			return ObjectRef{Kind: "domain", Schema: d.Schema, Name: d.Name}, true
		}
	case pg_query.ObjectType_OBJECT_SCHEMA:
		name := o.GetString_().GetSval()
		if c.schemas.Has(schemaKey(name)) {
			return ObjectRef{Kind: "schema", Name: name}, true
		}
	}
	return ObjectRef{}, false
}
