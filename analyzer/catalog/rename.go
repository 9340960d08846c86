package catalog

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// PostgreSQL links objects by OID, so a rename never breaks a reference. The
// model links them by name, so every rename rewrites the names that point at
// the renamed object.

func (c *Catalog) rename(s *pg_query.RenameStmt) {
	newName := s.GetNewname()
	if newName == "" {
		return
	}
	switch s.GetRenameType() {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
		pg_query.ObjectType_OBJECT_FOREIGN_TABLE, pg_query.ObjectType_OBJECT_INDEX, pg_query.ObjectType_OBJECT_SEQUENCE:
		rv := s.GetRelation()
		// ALTER TABLE ... RENAME works on any relation, so try every kind.
		if t := c.Relation(rv); t != nil {
			if !c.relationNameTaken(t.Schema, newName) && !c.typeNameTaken(t.Schema, newName) {
				c.moveRelation(t, t.Schema, newName)
			}
			return
		}
		if ix, t := c.IndexByName(rv.GetSchemaname(), rv.GetRelname()); ix != nil {
			if !c.relationNameTaken(t.Schema, newName) {
				c.renameIndex(t, ix, newName)
			}
			return
		}
		if seq := c.Sequence(rv.GetSchemaname(), rv.GetRelname()); seq != nil {
			if !c.relationNameTaken(seq.Schema, newName) {
				c.moveSequence(seq, seq.Schema, newName)
			}
		}
	case pg_query.ObjectType_OBJECT_COLUMN:
		if t := c.Relation(s.GetRelation()); t != nil {
			c.renameColumn(t, s.GetSubname(), newName)
		}
	case pg_query.ObjectType_OBJECT_TABCONSTRAINT:
		if t := c.Relation(s.GetRelation()); t != nil {
			c.renameConstraint(t, s.GetSubname(), newName)
		}
	case pg_query.ObjectType_OBJECT_SCHEMA:
		c.renameSchema(s.GetSubname(), newName)
	case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
		schema, name := nameList(s.GetObject().GetList().GetItems())
		if e := c.Enum(schema, name); e != nil && s.GetRenameType() == pg_query.ObjectType_OBJECT_TYPE {
			if !c.typeNameTaken(e.Schema, newName) {
				c.moveType(qname{e.Schema, e.Name}, qname{e.Schema, newName})
			}
		} else if d := c.Domain(schema, name); d != nil {
			if !c.typeNameTaken(d.Schema, newName) {
				c.moveType(qname{d.Schema, d.Name}, qname{d.Schema, newName})
			}
		}
	case pg_query.ObjectType_OBJECT_DOMCONSTRAINT:
		schema, name := nameList(s.GetObject().GetList().GetItems())
		if d := c.Domain(schema, name); d != nil {
			for _, k := range d.Constraints {
				if k.Name == newName {
					return
				}
			}
			d = c.editDomain(d)
			for _, k := range d.Constraints {
				if k.Name == s.GetSubname() {
					k.Name = newName
				}
			}
			c.putDomain(d)
		}
	}
}

// moveRelation renames a table, view or materialized view and/or moves it to
// another schema, together with its indexes and owned sequences.
func (c *Catalog) moveRelation(t *Table, schema, name string) {
	old := qname{t.Schema, t.Name}
	nw := qname{schema, name}
	if old == nw {
		return
	}
	t = c.editTable(t)
	// Gather everything that names the relation before its keys change.
	fks := c.referrers(refForeignKey, old)
	views := c.referrers(refDependsOn, old)
	parts := c.referrers(refParent, old)
	var attached [][]*Table
	if old.schema != schema {
		for _, ix := range t.Indexes {
			attached = append(attached, c.referrers(refIndexParent, qname{old.schema, ix.Name}))
		}
	}
	owned := c.ownedSequences(old)

	c.ensureSchema(schema)
	// putTable's touch withdraws what t registered under its old name.
	c.tables.Delete(c.owner, old)
	t.Schema, t.Name = schema, name
	c.putTable(t)
	for _, o := range fks {
		o = c.editTable(o)
		for _, k := range o.Constraints {
			if k.Kind == ForeignKey && k.RefSchema == old.schema && k.RefTable == old.name {
				k.RefSchema, k.RefTable = schema, name
			}
		}
		c.touch(o)
	}
	for _, o := range views {
		o = c.editTable(o)
		for i, d := range o.DependsOn {
			if isRelationKind(d.Kind) && d.Schema == old.schema && d.Name == old.name {
				o.DependsOn[i].Schema, o.DependsOn[i].Name = schema, name
			}
			if d.Kind == "column" && d.Schema == old.schema && d.Table == old.name {
				o.DependsOn[i].Schema, o.DependsOn[i].Table = schema, name
			}
		}
		c.touch(o)
	}
	for _, o := range parts {
		if o.parent == old {
			o = c.editTable(o)
			o.parent = nw
			o.PartitionOf = t.QualifiedName()
			c.touch(o)
		}
	}
	for i, ix := range t.Indexes {
		if i >= len(attached) {
			break
		}
		for _, o := range attached[i] {
			o = c.editTable(o)
			for _, x := range o.Indexes {
				if x.parent == (qname{old.schema, ix.Name}) {
					x.parent.schema = schema
				}
			}
			c.touch(o)
		}
	}
	for _, seq := range owned {
		seq = c.editSequence(seq)
		seq.OwnedByTable = name
		c.putSequence(seq)
		if old.schema != schema {
			c.moveSequence(seq, schema, seq.Name)
		}
	}
}

// moveSequence renames or moves a sequence and respells the nextval()
// defaults that use it.
func (c *Catalog) moveSequence(seq *Sequence, schema, name string) {
	if c.relationNameTaken(schema, name) {
		return
	}
	type user struct {
		t   *Table
		col string
	}
	var users []user
	for _, t := range c.referrers(refNextval, qname{"", seq.Name}) {
		for _, col := range t.Columns {
			if c.defaultSequence(t, col) == seq {
				users = append(users, user{t, col.Name})
			}
		}
	}
	c.deleteSequence(qname{seq.Schema, seq.Name})
	seq = c.editSequence(seq)
	seq.Schema, seq.Name = schema, name
	c.putSequence(seq)
	for _, u := range users {
		t := c.editTable(u.t)
		c.setSequenceDefault(t.Column(u.col), schema, name)
		c.touch(t)
	}
}

func (c *Catalog) renameIndex(t *Table, ix *Index, name string) {
	old := qname{t.Schema, ix.Name}
	t = c.editTable(t)
	ix = t.Index(ix.Name)
	ix.Name = name
	// Renaming an index renames the constraint it backs, and vice versa.
	if ix.Constraint != "" {
		if k := t.Constraint(ix.Constraint); k != nil {
			k.Name = name
			k.Index = name
		}
		ix.Constraint = name
	}
	c.touch(t)
	for _, o := range c.referrers(refIndexParent, old) {
		o = c.editTable(o)
		for _, x := range o.Indexes {
			if x.parent == old {
				x.parent.name = name
			}
		}
		c.touch(o)
	}
}

func (c *Catalog) renameColumn(t *Table, old, name string) {
	if t.Column(old) == nil || t.Column(name) != nil {
		return
	}
	t = c.editTable(t)
	t.Column(old).Name = name
	for _, ix := range t.Indexes {
		for i := range ix.Keys {
			if ix.Keys[i].Column == old {
				ix.Keys[i].Column = name
			}
		}
		renameIn(ix.Include, old, name)
		renameIn(ix.exprColumns, old, name)
	}
	for _, cc := range t.Columns {
		renameIn(cc.generatedFrom, old, name)
	}
	for _, k := range t.Constraints {
		renameIn(k.Columns, old, name)
		if k.NotNullColumn == old {
			k.NotNullColumn = name
		}
	}
	self := qname{t.Schema, t.Name}
	for _, o := range c.referrers(refForeignKey, self) {
		o = c.editTable(o)
		for _, k := range o.Constraints {
			if k.Kind == ForeignKey && k.RefSchema == t.Schema && k.RefTable == t.Name {
				renameIn(k.RefColumns, old, name)
			}
		}
	}
	for _, o := range c.referrers(refDependsOn, self) {
		o = c.editTable(o)
		for i, d := range o.DependsOn {
			if d.Kind == "column" && d.Schema == t.Schema && d.Table == t.Name && d.Name == old {
				o.DependsOn[i].Name = name
			}
		}
	}
	for _, seq := range c.ownedSequences(self) {
		if seq.OwnedByColumn == old {
			seq = c.editSequence(seq)
			seq.OwnedByColumn = name
			c.putSequence(seq)
		}
	}
	// Partitions share their parent's columns and follow the rename.
	for _, p := range c.Partitions(t) {
		c.renameColumn(p, old, name)
	}
}

func renameIn(list []string, old, name string) {
	for i := range list {
		if list[i] == old {
			list[i] = name
		}
	}
}

func (c *Catalog) renameConstraint(t *Table, old, name string) {
	if t.Constraint(old) == nil || t.Constraint(name) != nil {
		return
	}
	t = c.editTable(t)
	k := t.Constraint(old)
	if k.Index != "" {
		if c.relationNameTaken(t.Schema, name) {
			return
		}
		if ix := t.Index(k.Index); ix != nil {
			c.renameIndex(t, ix, name)
			return
		}
	}
	k.Name = name
	c.touch(t)
	// Inherited CHECK constraints are renamed in the partitions too.
	if k.Kind == Check {
		for _, p := range c.Partitions(t) {
			if pk := p.Constraint(old); pk != nil && pk.Kind == Check {
				c.renameConstraint(p, old, name)
			}
		}
	}
}

func (c *Catalog) renameSchema(old, name string) {
	s := c.schemas.Get(schemaKey(old))
	if s == nil || c.schemas.Has(schemaKey(name)) {
		return
	}
	c.schemas.Delete(c.owner, schemaKey(old))
	s = c.editSchema(s)
	s.Name = name
	c.putSchema(s)
	for _, t := range c.Tables() {
		if t = c.current(t); t.Schema == old {
			c.moveRelation(t, name, t.Name)
		}
	}
	for _, seq := range c.Sequences() {
		// Moving a table moved the sequences it owns: those are gone
		// from the old schema, and seq is what was there before.
		if seq.Schema == old && c.sequences.Get(qname{seq.Schema, seq.Name}) == seq {
			c.moveSequence(seq, name, seq.Name)
		}
	}
	for _, e := range c.Enums() {
		if e.Schema == old {
			c.moveType(qname{old, e.Name}, qname{name, e.Name})
		}
	}
	for _, d := range c.Domains() {
		if d.Schema == old {
			c.moveType(qname{old, d.Name}, qname{name, d.Name})
		}
	}
}

// moveType renames or moves an enum or domain and the column and domain
// types that refer to it.
func (c *Catalog) moveType(old, nw qname) {
	if e := c.enums.Get(old); e != nil {
		c.enums.Delete(c.owner, old)
		e = c.editEnum(e)
		e.Schema, e.Name = nw.schema, nw.name
		c.putEnum(e)
	} else if d := c.domains.Get(old); d != nil {
		c.deleteDomain(old)
		d = c.editDomain(d)
		d.Schema, d.Name = nw.schema, nw.name
		c.putDomain(d)
	} else {
		return
	}
	c.ensureSchema(nw.schema)
	for _, t := range c.referrers(refColumnType, old) {
		t = c.editTable(t)
		for _, col := range t.Columns {
			if col.Type.Schema == old.schema && col.Type.Name == old.name {
				col.Type.Schema, col.Type.Name = nw.schema, nw.name
			}
		}
		c.touch(t)
	}
	for _, d := range c.Domains() {
		if d.BaseType.Schema == old.schema && d.BaseType.Name == old.name {
			d = c.editDomain(d)
			d.BaseType.Schema, d.BaseType.Name = nw.schema, nw.name
			c.putDomain(d)
		}
	}
}

func (c *Catalog) setSchema(s *pg_query.AlterObjectSchemaStmt) {
	ns := s.GetNewschema()
	if ns == "" {
		return
	}
	switch s.GetObjectType() {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
		pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
		t := c.Relation(s.GetRelation())
		if t == nil || c.relationNameTaken(ns, t.Name) || c.typeNameTaken(ns, t.Name) {
			return
		}
		for _, ix := range t.Indexes {
			if c.relationNameTaken(ns, ix.Name) {
				return
			}
		}
		c.moveRelation(t, ns, t.Name)
	case pg_query.ObjectType_OBJECT_SEQUENCE:
		rv := s.GetRelation()
		if seq := c.Sequence(rv.GetSchemaname(), rv.GetRelname()); seq != nil && seq.OwnedByTable == "" {
			c.moveSequence(seq, ns, seq.Name)
		}
	case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
		schema, name := nameList(s.GetObject().GetList().GetItems())
		var old qname
		if e := c.Enum(schema, name); e != nil {
			old = qname{e.Schema, e.Name}
		} else if d := c.Domain(schema, name); d != nil {
			old = qname{d.Schema, d.Name}
		} else {
			return
		}
		if !c.typeNameTaken(ns, name) {
			c.moveType(old, qname{ns, name})
		}
	}
}
