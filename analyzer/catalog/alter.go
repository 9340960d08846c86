package catalog

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// ALTER TABLE runs its subcommands in passes, not in written order
// (AT_PASS_* in tablecmds.c); the order decides which default names win.
const (
	passDrop = iota
	passAlterType
	passOldIndex
	passOldConstr
	passAddCol
	passAddConstr
	passColAttrs
	passAddIndexConstr
	passAddIndex
	passAddOtherConstr
	passMisc
	passCount
)

func (c *Catalog) alterTable(s *pg_query.AlterTableStmt) {
	if s.GetObjtype() == pg_query.ObjectType_OBJECT_INDEX {
		c.alterIndex(s)
		return
	}
	t := c.Relation(s.GetRelation())
	if t == nil {
		return
	}
	// The subcommands change t: every closure below works on c's own copy.
	if addsOnly(s.GetCmds()) {
		t = c.editTableShallow(t)
	} else {
		t = c.editTable(t)
	}
	recurse := s.GetRelation().GetInh()
	var steps [passCount][]func()
	add := func(pass int, f func()) { steps[pass] = append(steps[pass], f) }
	for _, cn := range s.GetCmds() {
		cmd := cn.GetAlterTableCmd()
		if cmd == nil {
			continue
		}
		c.queueAlterCmd(t, cmd, recurse, add)
	}
	for pass := 0; pass < passCount; pass++ {
		for i := 0; i < len(steps[pass]); i++ {
			steps[pass][i]()
		}
	}
}

// addsOnly says every subcommand adds a column or a constraint, or drops
// a column or a constraint, and so changes none of the table's children:
// what adds them takes the table's children for its own first where it
// changes one (the columns a primary key makes NOT NULL:
// addIndexConstraints), and a drop makes new lists of the children left
// (removeObject), each removal taking its own copy of the table.
func addsOnly(cmds []*pg_query.Node) bool {
	for _, cn := range cmds {
		switch cn.GetAlterTableCmd().GetSubtype() {
		case pg_query.AlterTableType_AT_AddColumn, pg_query.AlterTableType_AT_AddColumnToView, pg_query.AlterTableType_AT_AddConstraint,
			pg_query.AlterTableType_AT_DropColumn, pg_query.AlterTableType_AT_DropConstraint:
		default:
			return false
		}
	}
	return true
}

// forColumn runs f on the column of t and, when recursing, on the same column
// of every partition below t.
func (c *Catalog) forColumn(t *Table, name string, recurse bool, f func(*Table, *Column)) {
	if t.Column(name) != nil {
		t = c.editTable(t)
		f(t, t.Column(name))
	}
	if recurse {
		for _, p := range c.Partitions(t) {
			c.forColumn(p, name, true, f)
		}
	}
}

func (c *Catalog) queueAlterCmd(t *Table, cmd *pg_query.AlterTableCmd, recurse bool, add func(int, func())) {
	name := cmd.GetName()
	switch cmd.GetSubtype() {
	case pg_query.AlterTableType_AT_AddColumn, pg_query.AlterTableType_AT_AddColumnToView:
		cd := cmd.GetDef().GetColumnDef()
		if cd == nil {
			return
		}
		add(passAddCol, func() {
			// PostgreSQL refuses a column beyond its limit, so the model
			// never holds more; this also keeps a file of endless ADD
			// COLUMNs from making each lookup below ever longer.
			if len(t.Columns) >= MaxColumns || t.Column(cd.GetColname()) != nil {
				return
			}
			q := &conQueue{}
			col, post := c.columnFromDef(t, cd, q)
			c.addColumn(t, col)
			if post != nil {
				post()
			}
			if recurse {
				c.addColumnToPartitions(t, col)
			}
			for _, p := range q.checks {
				add(passAddConstr, func() { c.addCheck(t, p, true) })
			}
			if len(q.indexes) > 0 {
				list := q.indexes
				add(passAddIndexConstr, func() { c.addIndexConstraints(t, list) })
			}
			for _, p := range q.fks {
				add(passAddOtherConstr, func() { c.addForeignKey(t, p, true) })
			}
		})
	case pg_query.AlterTableType_AT_DropColumn:
		add(passDrop, func() {
			if t.Column(name) != nil {
				c.dropObject(ObjectRef{Kind: "column", Schema: t.Schema, Table: t.Name, Name: name})
			}
		})
	case pg_query.AlterTableType_AT_AlterColumnType:
		cd := cmd.GetDef().GetColumnDef()
		typ := c.resolveType(TypeFromNode(cd.GetTypeName()))
		if typ.Name == "" {
			return
		}
		add(passAlterType, func() {
			c.forColumn(t, name, true, func(tt *Table, col *Column) {
				col.Type = typ.clone()
				if cc := cd.GetCollClause(); cc != nil {
					_, col.Collation = nameList(cc.GetCollname())
				}
				c.touch(tt)
			})
		})
	case pg_query.AlterTableType_AT_SetNotNull:
		add(passColAttrs, func() {
			c.forColumn(t, name, recurse, func(_ *Table, col *Column) { col.NotNull = true })
		})
	case pg_query.AlterTableType_AT_DropNotNull:
		add(passDrop, func() {
			c.forColumn(t, name, recurse, func(tt *Table, col *Column) {
				// PostgreSQL refuses for primary key and identity columns.
				if pk := tt.PrimaryKey(); (pk != nil && containsString(pk.Columns, col.Name)) || col.Identity != "" {
					return
				}
				col.NotNull = false
			})
		})
	case pg_query.AlterTableType_AT_ColumnDefault:
		def := cmd.GetDef()
		pass := passAddOtherConstr
		if def == nil {
			pass = passDrop
		}
		add(pass, func() {
			text := c.deparseExpr(def)
			c.forColumn(t, name, recurse, func(tt *Table, col *Column) {
				col.Default, col.DefaultNode = text, def
				c.touch(tt)
			})
		})
	case pg_query.AlterTableType_AT_AddIdentity:
		k := cmd.GetDef().GetConstraint()
		add(passAddOtherConstr, func() {
			col := t.Column(name)
			// PostgreSQL insists on NOT NULL and no default first.
			if col == nil || col.Identity != "" || col.Default != "" || !col.NotNull {
				return
			}
			col.Identity = identityKind(k.GetGeneratedWhen())
			col.NotNull = true
			var seqName *pg_query.Node
			for _, o := range k.GetOptions() {
				if o.GetDefElem().GetDefname() == "sequence_name" {
					seqName = o.GetDefElem().GetArg()
				}
			}
			c.createIdentitySequence(t, col, seqName)
		})
	case pg_query.AlterTableType_AT_SetIdentity:
		add(passColAttrs, func() {
			col := t.Column(name)
			if col == nil || col.Identity == "" {
				return
			}
			for _, o := range cmd.GetDef().GetList().GetItems() {
				de := o.GetDefElem()
				if de.GetDefname() != "generated" {
					continue
				}
				switch de.GetArg().GetInteger().GetIval() {
				case 'a':
					col.Identity = "ALWAYS"
				case 'd':
					col.Identity = "BY DEFAULT"
				}
			}
		})
	case pg_query.AlterTableType_AT_DropIdentity:
		add(passDrop, func() {
			col := t.Column(name)
			if col == nil || col.Identity == "" {
				return
			}
			col.Identity = ""
			for _, seq := range c.ownedSequences(qname{t.Schema, t.Name}) {
				if seq.Identity && seq.OwnedByColumn == col.Name {
					c.deleteSequence(qname{seq.Schema, seq.Name})
				}
			}
		})
	case pg_query.AlterTableType_AT_DropExpression:
		add(passDrop, func() {
			c.forColumn(t, name, recurse, func(_ *Table, col *Column) { col.Generated, col.GeneratedNode, col.generatedFrom = "", nil, nil })
		})
	case pg_query.AlterTableType_AT_AddConstraint:
		k := cmd.GetDef().GetConstraint()
		if k == nil {
			return
		}
		p := pendingCon{con: k}
		switch k.GetContype() {
		case pg_query.ConstrType_CONSTR_CHECK:
			add(passAddConstr, func() { c.addCheck(t, p, k.GetInitiallyValid()) })
		case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
			add(passAddIndexConstr, func() { c.addIndexConstraints(t, []pendingCon{p}) })
		case pg_query.ConstrType_CONSTR_FOREIGN:
			add(passAddOtherConstr, func() { c.addForeignKey(t, p, k.GetInitiallyValid()) })
		}
	case pg_query.AlterTableType_AT_ValidateConstraint:
		add(passMisc, func() { c.validateConstraint(t, name) })
	case pg_query.AlterTableType_AT_DropConstraint:
		add(passDrop, func() {
			if t.Constraint(name) != nil {
				c.dropObject(ObjectRef{Kind: "constraint", Schema: t.Schema, Table: t.Name, Name: name})
			}
		})
	case pg_query.AlterTableType_AT_AlterConstraint:
		k := cmd.GetDef().GetConstraint()
		add(passMisc, func() {
			if con := t.Constraint(k.GetConname()); con != nil {
				con.Deferrable, con.InitiallyDeferred = k.GetDeferrable(), k.GetInitdeferred()
			}
		})
	case pg_query.AlterTableType_AT_SetLogged:
		add(passMisc, func() { t.Unlogged = false })
	case pg_query.AlterTableType_AT_SetUnLogged:
		add(passMisc, func() { t.Unlogged = true })
	case pg_query.AlterTableType_AT_AttachPartition:
		pc := cmd.GetDef().GetPartitionCmd()
		add(passMisc, func() { c.attachPartition(t, c.Relation(pc.GetName())) })
	case pg_query.AlterTableType_AT_DetachPartition, pg_query.AlterTableType_AT_DetachPartitionFinalize:
		pc := cmd.GetDef().GetPartitionCmd()
		add(passMisc, func() { c.detachPartition(t, c.Relation(pc.GetName())) })
	}
}

func (c *Catalog) addColumnToPartitions(t *Table, col *Column) {
	for _, p := range c.Partitions(t) {
		if p.Column(col.Name) != nil {
			continue
		}
		nc := &Column{Name: col.Name, Type: col.Type.clone(), NotNull: col.NotNull, Default: col.Default,
			DefaultNode: col.DefaultNode, Generated: col.Generated, GeneratedNode: col.GeneratedNode,
			generatedFrom: cloneStrings(col.generatedFrom),
			Collation:     col.Collation, Origin: c.origin()}
		p = c.editTable(p)
		p.Columns = append(p.Columns, nc)
		c.touch(p)
		c.addColumnToPartitions(p, nc)
	}
}

// validateConstraint marks a constraint valid; PostgreSQL validates the
// partitions' copies (same name) along with it.
func (c *Catalog) validateConstraint(t *Table, name string) {
	if t.Constraint(name) == nil {
		return
	}
	t = c.editTable(t)
	t.Constraint(name).Validated = true
	for _, p := range c.Partitions(t) {
		if pk := p.Constraint(name); pk != nil && (pk.Kind == Check || pk.Kind == ForeignKey) {
			c.validateConstraint(p, name)
		}
	}
}

func (c *Catalog) attachPartition(parent, p *Table) {
	if parent == nil || p == nil || parent.Kind != KindPartitionedTable || p.parent.name != "" || p == parent {
		return
	}
	if p.Kind != KindTable && p.Kind != KindPartitionedTable && p.Kind != KindForeignTable {
		return
	}
	for a := parent; a != nil; a = c.Parent(a) {
		if a == p {
			return
		}
	}
	// The partition must already carry the parent's CHECK constraints, matched
	// by name, or PostgreSQL refuses the attach.
	for _, k := range parent.Constraints {
		if k.Kind == Check && !k.NoInherit {
			if pk := p.Constraint(k.Name); pk == nil || pk.Kind != Check {
				return
			}
		}
	}
	p = c.editTable(p)
	p.parent = qname{parent.Schema, parent.Name}
	p.PartitionOf = parent.QualifiedName()
	c.touch(p)
	for _, ix := range parent.Indexes {
		c.attachOrCreateIndex(p, parent, ix, clonedKeyNames(ix))
	}
	for _, k := range parent.Constraints {
		if k.Kind == ForeignKey {
			c.cloneForeignKey(p, k)
		}
	}
	c.refreshIndexValidity(parent)
}

func (c *Catalog) detachPartition(parent, p *Table) {
	if parent == nil || p == nil || p.parent != (qname{parent.Schema, parent.Name}) {
		return
	}
	p = c.editTable(p)
	p.parent = qname{}
	p.PartitionOf = ""
	for _, ix := range p.Indexes {
		if ix.parent.schema == parent.Schema && parent.Index(ix.parent.name) != nil {
			ix.parent = qname{}
		}
	}
	c.touch(p)
}

// refreshIndexValidity marks an ON ONLY index valid once every partition has
// an index attached to it, as ALTER INDEX ... ATTACH PARTITION does.
func (c *Catalog) refreshIndexValidity(t *Table) {
	var valid []string
	for _, ix := range t.Indexes {
		if !ix.Valid && c.indexHasAllPartitions(t, ix) {
			valid = append(valid, ix.Name)
		}
	}
	if len(valid) == 0 {
		return
	}
	t = c.editTable(t)
	for _, name := range valid {
		t.Index(name).Valid = true
	}
}

func (c *Catalog) alterIndex(s *pg_query.AlterTableStmt) {
	rv := s.GetRelation()
	pix, pt := c.IndexByName(rv.GetSchemaname(), rv.GetRelname())
	if pix == nil {
		return
	}
	for _, cn := range s.GetCmds() {
		cmd := cn.GetAlterTableCmd()
		if cmd.GetSubtype() != pg_query.AlterTableType_AT_AttachPartition {
			continue
		}
		crv := cmd.GetDef().GetPartitionCmd().GetName()
		cix, ct := c.IndexByName(crv.GetSchemaname(), crv.GetRelname())
		if cix == nil || ct.parent != (qname{pt.Schema, pt.Name}) || cix.parent.name != "" {
			continue
		}
		ct = c.editTable(ct)
		cix = ct.Index(cix.Name)
		cix.parent = qname{pt.Schema, pix.Name}
		c.touch(ct)
		c.refreshIndexValidity(pt)
	}
}
