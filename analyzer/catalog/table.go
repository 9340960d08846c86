package catalog

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// pendingCon is a constraint waiting for its turn: PostgreSQL creates CHECKs,
// then index-backed constraints, then foreign keys, and the default names it
// picks depend on that order.
type pendingCon struct {
	con    *pg_query.Constraint
	column string // set for a column constraint
}

type conQueue struct {
	checks, indexes, fks []pendingCon
}

func (q *conQueue) add(k *pg_query.Constraint, column string) {
	p := pendingCon{con: k, column: column}
	switch k.GetContype() {
	case pg_query.ConstrType_CONSTR_CHECK:
		q.checks = append(q.checks, p)
	case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
		q.indexes = append(q.indexes, p)
	case pg_query.ConstrType_CONSTR_FOREIGN:
		q.fks = append(q.fks, p)
	}
}

// LIKE option bits (CREATE_TABLE_LIKE_*).
const (
	likeConstraints = 1 << 2
	likeDefaults    = 1 << 3
	likeGenerated   = 1 << 4
	likeIdentity    = 1 << 5
	likeIndexes     = 1 << 6
)

func (c *Catalog) createTable(cs *pg_query.CreateStmt, foreign bool) {
	rv := cs.GetRelation()
	if rv == nil || rv.GetRelpersistence() == "t" || rv.GetRelname() == "" {
		return
	}
	schema := rv.GetSchemaname()
	if schema == "" {
		schema = c.creationSchema()
	}
	name := rv.GetRelname()
	if c.relationNameTaken(schema, name) || c.typeNameTaken(schema, name) {
		return
	}
	t := &Table{Schema: schema, Name: name, Kind: KindTable, Unlogged: rv.GetRelpersistence() == "u", Origin: c.origin(), owner: c.owner}
	if foreign {
		t.Kind = KindForeignTable
	}
	if ps := cs.GetPartspec(); ps != nil {
		t.Kind = KindPartitionedTable
		switch ps.GetStrategy() {
		case pg_query.PartitionStrategy_PARTITION_STRATEGY_RANGE:
			t.PartitionStrategy = "range"
		case pg_query.PartitionStrategy_PARTITION_STRATEGY_LIST:
			t.PartitionStrategy = "list"
		case pg_query.PartitionStrategy_PARTITION_STRATEGY_HASH:
			t.PartitionStrategy = "hash"
		}
	}

	var parent *Table
	for _, inh := range cs.GetInhRelations() {
		p := c.Relation(inh.GetRangeVar())
		if p == nil || p.Kind.IsView() || p.Kind == KindMaterializedView {
			t.ColumnsUnknown = true
			continue
		}
		if p.ColumnsUnknown {
			t.ColumnsUnknown = true
		}
		if cs.GetPartbound() != nil {
			if p.Kind != KindPartitionedTable {
				return
			}
			parent = p
		}
		for _, pc := range p.Columns {
			if t.Column(pc.Name) != nil {
				continue
			}
			nc := &Column{Name: pc.Name, Type: pc.Type.clone(), NotNull: pc.NotNull, Default: pc.Default,
				DefaultNode: pc.DefaultNode, Generated: pc.Generated, GeneratedNode: pc.GeneratedNode,
				generatedFrom: cloneStrings(pc.generatedFrom),
				Collation:     pc.Collation, Origin: c.origin()}
			t.Columns = append(t.Columns, nc)
		}
	}
	if parent != nil {
		t.parent = qname{parent.Schema, parent.Name}
		t.PartitionOf = parent.QualifiedName()
	}

	q := &conQueue{}
	var likes []func()
	var posts []func()
	for _, elt := range cs.GetTableElts() {
		switch e := elt.Node.(type) {
		case *pg_query.Node_ColumnDef:
			cd := e.ColumnDef
			if existing := t.Column(cd.GetColname()); existing != nil {
				// Options for an inherited column (PARTITION OF ... (col WITH
				// OPTIONS ...)) or a merged duplicate from INHERITS.
				c.mergeColumnDef(t, existing, cd, q)
				continue
			}
			col, post := c.columnFromDef(t, cd, q)
			t.Columns = append(t.Columns, col)
			if post != nil {
				posts = append(posts, post)
			}
		case *pg_query.Node_Constraint:
			q.add(e.Constraint, "")
		case *pg_query.Node_TableLikeClause:
			if f := c.likeClause(t, e.TableLikeClause); f != nil {
				likes = append(likes, f)
			}
		}
	}
	c.ensureSchema(schema)
	c.putTable(t)
	for _, p := range posts {
		p()
	}

	// MergeAttributes: a partition inherits its parent's CHECK constraints
	// under the same names before its own are added.
	if parent != nil {
		for _, k := range parent.Constraints {
			if k.Kind == Check && !k.NoInherit && t.Constraint(k.Name) == nil {
				nk := k.clone()
				nk.Origin = c.origin()
				c.addConstraint(t, nk)
			}
		}
	}
	// CREATE TABLE validates nothing (the table is empty), so PostgreSQL
	// marks every constraint valid even if NOT VALID was written; foreign
	// tables are the exception for CHECK.
	for _, p := range q.checks {
		c.addCheck(t, p, !foreign || p.con.GetInitiallyValid())
	}
	if parent != nil {
		for _, ix := range parent.Indexes {
			c.attachOrCreateIndex(t, parent, ix, clonedKeyNames(ix))
		}
		for _, k := range parent.Constraints {
			if k.Kind == ForeignKey {
				c.cloneForeignKey(t, k)
			}
		}
	}
	for _, f := range likes {
		f()
	}
	c.addIndexConstraints(t, q.indexes)
	for _, p := range q.fks {
		c.addForeignKey(t, p, true)
	}
}

// columnFromDef builds a column; the returned function, when not nil, creates
// the column's sequence once the table is registered.
func (c *Catalog) columnFromDef(t *Table, cd *pg_query.ColumnDef, q *conQueue) (*Column, func()) {
	col := &Column{Name: cd.GetColname(), NotNull: cd.GetIsNotNull(), Origin: c.origin()}
	typ := TypeFromNode(cd.GetTypeName())
	serial := false
	if typ.ArrayDims == 0 && (typ.Schema == "" || typ.Schema == "pg_catalog") {
		if base, ok := serialTypes[typ.Name]; ok {
			typ = Type{Schema: "pg_catalog", Name: base}
			serial = true
		}
	}
	col.Type = c.resolveType(typ)
	if cc := cd.GetCollClause(); cc != nil {
		_, col.Collation = nameList(cc.GetCollname())
	}
	identity, identitySeq := c.applyColumnConstraints(t, col, cd.GetConstraints(), q)
	if serial {
		col.NotNull = true
		seqSchema := t.Schema
		seqName := c.chooseRelationName(t.Name, col.Name, "seq", seqSchema, false)
		c.setSequenceDefault(col, seqSchema, seqName)
		return col, func() {
			c.putSequence(&Sequence{Schema: seqSchema, Name: seqName,
				OwnedByTable: t.Name, OwnedByColumn: col.Name, Origin: c.origin(), owner: c.owner})
		}
	}
	if identity {
		return col, func() { c.createIdentitySequence(t, col, identitySeq) }
	}
	return col, nil
}

// applyColumnConstraints applies NULL/NOT NULL/DEFAULT/identity/generated to
// col and queues the rest. It reports whether an identity was declared and
// the sequence name given for it, if any.
func (c *Catalog) applyColumnConstraints(t *Table, col *Column, cons []*pg_query.Node, q *conQueue) (bool, *pg_query.Node) {
	identity := false
	var seqName *pg_query.Node
	var queued []*pg_query.Constraint
	for _, cn := range cons {
		k := cn.GetConstraint()
		if k == nil {
			continue
		}
		switch k.GetContype() {
		case pg_query.ConstrType_CONSTR_NULL:
			col.NotNull = false
		case pg_query.ConstrType_CONSTR_NOTNULL:
			col.NotNull = true
		case pg_query.ConstrType_CONSTR_DEFAULT:
			col.DefaultNode = k.GetRawExpr()
			col.Default = c.deparseExpr(k.GetRawExpr())
		case pg_query.ConstrType_CONSTR_IDENTITY:
			col.Identity = identityKind(k.GetGeneratedWhen())
			col.NotNull = true
			identity = true
			for _, o := range k.GetOptions() {
				if o.GetDefElem().GetDefname() == "sequence_name" {
					seqName = o.GetDefElem().GetArg()
				}
			}
		case pg_query.ConstrType_CONSTR_GENERATED:
			col.GeneratedNode = k.GetRawExpr()
			col.generatedFrom = columnRefNames(k.GetRawExpr())
			col.Generated = c.deparseExpr(k.GetRawExpr())
		case pg_query.ConstrType_CONSTR_ATTR_DEFERRABLE, pg_query.ConstrType_CONSTR_ATTR_NOT_DEFERRABLE,
			pg_query.ConstrType_CONSTR_ATTR_DEFERRED, pg_query.ConstrType_CONSTR_ATTR_IMMEDIATE:
			if n := len(queued); n > 0 {
				queued[n-1] = pgtree.Clone(queued[n-1])
				applyDeferral(queued[n-1], k.GetContype())
			}
		default:
			queued = append(queued, k)
		}
	}
	if q != nil {
		for _, k := range queued {
			q.add(k, col.Name)
		}
	}
	return identity, seqName
}

// applyDeferral folds a trailing DEFERRABLE/INITIALLY DEFERRED attribute into
// the constraint it follows; the caller passes a copy because parse trees
// belong to the caller.
func applyDeferral(k *pg_query.Constraint, attr pg_query.ConstrType) {
	switch attr {
	case pg_query.ConstrType_CONSTR_ATTR_DEFERRABLE:
		k.Deferrable = true
	case pg_query.ConstrType_CONSTR_ATTR_NOT_DEFERRABLE:
		k.Deferrable = false
	case pg_query.ConstrType_CONSTR_ATTR_DEFERRED:
		k.Initdeferred = true
		k.Deferrable = true
	case pg_query.ConstrType_CONSTR_ATTR_IMMEDIATE:
		k.Initdeferred = false
	}
}

func identityKind(when string) string {
	if when == "a" {
		return "ALWAYS"
	}
	return "BY DEFAULT"
}

func (c *Catalog) createIdentitySequence(t *Table, col *Column, explicit *pg_query.Node) {
	schema, name := t.Schema, ""
	if explicit != nil {
		s, n := nameList(explicit.GetList().GetItems())
		if s != "" {
			schema = s
		}
		name = n
	}
	if name == "" || c.relationNameTaken(schema, name) {
		name = c.chooseRelationName(t.Name, col.Name, "seq", schema, false)
	}
	c.putSequence(&Sequence{Schema: schema, Name: name, OwnedByTable: t.Name,
		OwnedByColumn: col.Name, Identity: true, Origin: c.origin(), owner: c.owner})
}

// setSequenceDefault gives col the default that serial produces, spelled as
// pg_get_expr shows it with the default search path.
func (c *Catalog) setSequenceDefault(col *Column, schema, name string) {
	ref := QuoteIdent(name)
	if schema != "public" {
		ref = qualify(schema, name)
	}
	col.Default = "nextval(" + quoteLiteral(ref) + "::regclass)"
	col.DefaultNode = parseExpr(col.Default)
}

func (c *Catalog) mergeColumnDef(t *Table, col *Column, cd *pg_query.ColumnDef, q *conQueue) {
	if cd.GetIsNotNull() {
		col.NotNull = true
	}
	c.applyColumnConstraints(t, col, cd.GetConstraints(), q)
}

// likeClause copies the columns of LIKE's source now and returns the part
// that PostgreSQL runs after the table exists (constraints and indexes).
func (c *Catalog) likeClause(t *Table, like *pg_query.TableLikeClause) func() {
	src := c.Relation(like.GetRelation())
	if src == nil {
		t.ColumnsUnknown = true
		return nil
	}
	if src.ColumnsUnknown {
		t.ColumnsUnknown = true
	}
	opts := like.GetOptions()
	var identities []*Column
	for _, sc := range src.Columns {
		if t.Column(sc.Name) != nil {
			continue
		}
		nc := &Column{Name: sc.Name, Type: sc.Type.clone(), NotNull: sc.NotNull, Collation: sc.Collation, Origin: c.origin()}
		if opts&likeDefaults != 0 && sc.Generated == "" {
			nc.Default, nc.DefaultNode = sc.Default, sc.DefaultNode
		}
		if opts&likeGenerated != 0 {
			nc.Generated, nc.GeneratedNode = sc.Generated, sc.GeneratedNode
			nc.generatedFrom = cloneStrings(sc.generatedFrom)
		}
		if opts&likeIdentity != 0 && sc.Identity != "" {
			nc.Identity = sc.Identity
			identities = append(identities, nc)
		}
		t.Columns = append(t.Columns, nc)
	}
	return func() {
		for _, col := range identities {
			c.createIdentitySequence(t, col, nil)
		}
		if opts&likeConstraints != 0 {
			for _, k := range src.Constraints {
				if k.Kind == Check && t.Constraint(k.Name) == nil {
					nk := k.clone()
					nk.Validated = true
					nk.Origin = c.origin()
					c.addConstraint(t, nk)
				}
			}
		}
		if opts&likeIndexes != 0 {
			for _, ix := range src.Indexes {
				var k *Constraint
				if ix.Constraint != "" {
					k = src.Constraint(ix.Constraint)
				}
				c.createClonedIndex(t, ix, k, clonedKeyNames(ix), qname{})
			}
		}
	}
}

// clonedKeyNames is what ChooseIndexColumnNames sees for an index that
// PostgreSQL rebuilds from the catalog (partitions, LIKE): the column names,
// and for expressions the name FigureIndexColname finds again.
func clonedKeyNames(ix *Index) []string {
	var out []string
	for _, k := range ix.Keys {
		switch {
		case k.Column != "":
			out = append(out, k.Column)
		default:
			name := "expr"
			if n, strength := figureColname(k.ExprNode); strength > 0 {
				name = n
			}
			out = append(out, name)
		}
	}
	return append(out, ix.Include...)
}

func (c *Catalog) addCheck(t *Table, p pendingCon, valid bool) {
	k := p.con
	expr := k.GetRawExpr()
	var refs []string
	for _, r := range columnRefNames(expr) {
		if t.Column(r) != nil || t.ColumnsUnknown {
			refs = append(refs, r)
		}
	}
	name := k.GetConname()
	if name == "" {
		colname := ""
		if len(refs) == 1 {
			colname = refs[0]
		}
		name = c.chooseConstraintName(t.Name, colname, "check", t.Schema, nil)
	} else if t.Constraint(name) != nil {
		return
	}
	con := &Constraint{Name: name, Kind: Check, Columns: refs, Validated: valid, Check: c.deparseExpr(expr),
		CheckNode: expr, NotNullColumn: notNullCheckColumn(expr), NoInherit: k.GetIsNoInherit(),
		Deferrable: k.GetDeferrable(), InitiallyDeferred: k.GetInitdeferred(), Origin: c.origin()}
	t = c.addConstraint(t, con)
	if !con.NoInherit {
		c.inheritCheck(t, con)
	}
}

func (c *Catalog) inheritCheck(t *Table, con *Constraint) {
	for _, p := range c.Partitions(t) {
		if p.Constraint(con.Name) != nil {
			continue
		}
		nk := con.clone()
		nk.Origin = c.origin()
		c.addConstraint(p, nk)
		c.inheritCheck(p, nk)
	}
}

type indexSig struct {
	keys, include, where, method string
	excl, nnd, deferrable        bool
}

// addIndexConstraints creates PRIMARY KEY, UNIQUE and EXCLUDE constraints as
// transformIndexConstraints does: primary key first, and a constraint that
// duplicates an earlier one (same columns, method and options) folded into it.
func (c *Catalog) addIndexConstraints(t *Table, list []pendingCon) {
	if len(list) == 0 {
		return
	}
	t = c.editTable(t)
	var ordered []pendingCon
	for _, p := range list {
		if p.con.GetContype() == pg_query.ConstrType_CONSTR_PRIMARY {
			ordered = append(ordered, p)
		}
	}
	for _, p := range list {
		if p.con.GetContype() != pg_query.ConstrType_CONSTR_PRIMARY {
			ordered = append(ordered, p)
		}
	}
	type kept struct {
		sig  indexSig
		p    pendingCon
		name string
	}
	var keep []*kept
	for _, p := range ordered {
		if p.con.GetIndexname() != "" {
			keep = append(keep, &kept{p: p, name: p.con.GetConname()})
			continue
		}
		sig := c.constraintSig(p)
		dup := false
		for _, k := range keep {
			if k.p.con.GetIndexname() == "" && k.sig == sig {
				if k.name == "" {
					k.name = p.con.GetConname()
				}
				dup = true
				break
			}
		}
		if !dup {
			keep = append(keep, &kept{sig: sig, p: p, name: p.con.GetConname()})
		}
	}
	for _, k := range keep {
		c.addIndexConstraint(t, k.p, k.name)
	}
}

func (c *Catalog) constraintSig(p pendingCon) indexSig {
	keys, _, include := c.constraintKeys(p)
	ix := &Index{Keys: keys}
	s := indexSig{include: joinNames(include), method: p.con.GetAccessMethod(),
		excl: p.con.GetContype() == pg_query.ConstrType_CONSTR_EXCLUSION, nnd: p.con.GetNullsNotDistinct(),
		deferrable: p.con.GetDeferrable(), where: c.deparseExpr(p.con.GetWhereClause())}
	for _, k := range ix.Keys {
		s.keys += k.String() + ","
	}
	return s
}

func joinNames(n []string) string {
	out := ""
	for _, s := range n {
		out += QuoteIdent(s) + ","
	}
	return out
}

// constraintKeys returns the keys of an index-backed constraint, the names
// ChooseIndexColumnNames starts from, and the INCLUDE columns.
func (c *Catalog) constraintKeys(p pendingCon) ([]IndexKey, []string, []string) {
	k := p.con
	var keys []IndexKey
	var names []string
	switch {
	case p.column != "":
		keys = []IndexKey{{Column: p.column}}
		names = []string{p.column}
	case k.GetContype() == pg_query.ConstrType_CONSTR_EXCLUSION:
		for _, ex := range k.GetExclusions() {
			items := ex.GetList().GetItems()
			if len(items) == 0 {
				continue
			}
			key, name := c.indexKeyFromElem(items[0].GetIndexElem(), true)
			keys = append(keys, key)
			names = append(names, name)
		}
	default:
		for _, n := range pgtree.Names(k.GetKeys()) {
			keys = append(keys, IndexKey{Column: n})
			names = append(names, n)
		}
	}
	include := pgtree.Names(k.GetIncluding())
	return keys, append(names, include...), include
}

func (c *Catalog) indexKeyFromElem(e *pg_query.IndexElem, figure bool) (IndexKey, string) {
	if e == nil {
		return IndexKey{}, "expr"
	}
	key := IndexKey{Desc: e.GetOrdering() == pg_query.SortByDir_SORTBY_DESC}
	if e.GetName() != "" {
		key.Column = e.GetName()
		name := e.GetName()
		if e.GetIndexcolname() != "" {
			name = e.GetIndexcolname()
		}
		return key, name
	}
	key.ExprNode = e.GetExpr()
	key.Expr = c.deparseExpr(e.GetExpr())
	name := e.GetIndexcolname()
	if name == "" && figure {
		if n, strength := figureColname(e.GetExpr()); strength > 0 {
			name = n
		}
	}
	if name == "" {
		name = "expr"
	}
	return key, name
}

func (c *Catalog) addIndexConstraint(t *Table, p pendingCon, name string) {
	k := p.con
	kind := Unique
	switch k.GetContype() {
	case pg_query.ConstrType_CONSTR_PRIMARY:
		kind = PrimaryKey
	case pg_query.ConstrType_CONSTR_EXCLUSION:
		kind = Exclude
	}
	if kind == PrimaryKey && t.PrimaryKey() != nil {
		return
	}
	if k.GetIndexname() != "" {
		c.constraintUsingIndex(t, k, kind)
		return
	}
	keys, keyNames, include := c.constraintKeys(p)
	var cols []string
	for _, key := range keys {
		if key.Column != "" {
			if t.Column(key.Column) == nil && !t.ColumnsUnknown {
				return
			}
			cols = append(cols, key.Column)
		}
	}
	if name != "" {
		if c.relationNameTaken(t.Schema, name) || t.Constraint(name) != nil {
			return
		}
	} else {
		name = c.chooseIndexName(t.Name, t.Schema, indexColumnNames(keyNames), kind == Exclude, kind == PrimaryKey, true)
	}
	method := k.GetAccessMethod()
	if method == "" {
		method = "btree"
	}
	ix := &Index{Name: name, Keys: keys, Include: include, Unique: kind != Exclude, Primary: kind == PrimaryKey,
		NullsNotDistinct: k.GetNullsNotDistinct(), Method: method, Where: c.deparseExpr(k.GetWhereClause()),
		WhereNode: k.GetWhereClause(), Valid: true, Constraint: name, Origin: c.origin(),
		exprColumns: exprColumns(keys, k.GetWhereClause())}
	con := &Constraint{Name: name, Kind: kind, Columns: cols, Validated: true, Index: name,
		Deferrable: k.GetDeferrable(), InitiallyDeferred: k.GetInitdeferred(), Origin: c.origin()}
	t = c.editTable(t)
	if kind == PrimaryKey {
		for _, col := range cols {
			if cc := t.Column(col); cc != nil {
				cc.NotNull = true
			}
		}
	}
	t = c.addIndex(t, ix)
	t = c.addConstraint(t, con)
	for _, part := range c.Partitions(t) {
		c.attachOrCreateIndex(part, t, ix, keyNames)
	}
}

// constraintUsingIndex is ADD CONSTRAINT ... PRIMARY KEY/UNIQUE USING INDEX:
// the index is adopted, and renamed to the constraint's name if one is given.
func (c *Catalog) constraintUsingIndex(t *Table, k *pg_query.Constraint, kind ConstraintKind) {
	t = c.editTable(t)
	ix := t.Index(k.GetIndexname())
	if ix == nil || !ix.Unique || ix.Constraint != "" || len(ix.Columns()) != len(ix.Keys) || ix.Where != "" {
		return
	}
	name := k.GetConname()
	if name == "" {
		name = ix.Name
	}
	if t.Constraint(name) != nil {
		return
	}
	if name != ix.Name {
		if c.relationNameTaken(t.Schema, name) {
			return
		}
		c.renameIndex(t, ix, name)
	}
	ix.Constraint = name
	ix.Primary = kind == PrimaryKey
	con := &Constraint{Name: name, Kind: kind, Columns: ix.Columns(), Validated: true, Index: ix.Name,
		Deferrable: k.GetDeferrable(), InitiallyDeferred: k.GetInitdeferred(), Origin: c.origin()}
	if kind == PrimaryKey {
		for _, col := range con.Columns {
			if cc := t.Column(col); cc != nil {
				cc.NotNull = true
			}
		}
	}
	c.addConstraint(t, con)
}

func fkAction(a string) string {
	switch a {
	case "r":
		return "RESTRICT"
	case "c":
		return "CASCADE"
	case "n":
		return "SET NULL"
	case "d":
		return "SET DEFAULT"
	}
	return "NO ACTION"
}

func (c *Catalog) addForeignKey(t *Table, p pendingCon, valid bool) {
	k := p.con
	cols := pgtree.Names(k.GetFkAttrs())
	if p.column != "" {
		cols = []string{p.column}
	}
	if len(cols) == 0 {
		return
	}
	for _, col := range cols {
		if t.Column(col) == nil && !t.ColumnsUnknown {
			return
		}
	}
	pk := k.GetPktable()
	ref := c.Relation(pk)
	refSchema, refName := pk.GetSchemaname(), pk.GetRelname()
	if ref != nil {
		refSchema, refName = ref.Schema, ref.Name
	} else if refSchema == "" {
		refSchema = c.creationSchema()
	}
	refCols := pgtree.Names(k.GetPkAttrs())
	if len(refCols) == 0 && ref != nil {
		if pkey := ref.PrimaryKey(); pkey != nil {
			refCols = cloneStrings(pkey.Columns)
		}
	}
	name := k.GetConname()
	if name == "" {
		name = c.chooseConstraintName(t.Name, nameAddition(cols), "fkey", t.Schema, nil)
	} else if t.Constraint(name) != nil {
		return
	}
	con := &Constraint{Name: name, Kind: ForeignKey, Columns: cols, Validated: valid, RefSchema: refSchema,
		RefTable: refName, RefColumns: refCols, OnDelete: fkAction(k.GetFkDelAction()),
		OnUpdate: fkAction(k.GetFkUpdAction()), Deferrable: k.GetDeferrable(),
		InitiallyDeferred: k.GetInitdeferred(), Origin: c.origin()}
	c.addConstraint(t, con)
	for _, part := range c.Partitions(t) {
		c.cloneForeignKey(part, con)
	}
}

// cloneForeignKey copies a partitioned table's foreign key to a partition,
// keeping its name unless the partition already uses it (CloneFkReferencing).
func (c *Catalog) cloneForeignKey(p *Table, k *Constraint) {
	for _, o := range p.Constraints {
		if o.Kind == ForeignKey && o.RefSchema == k.RefSchema && o.RefTable == k.RefTable &&
			equalStrings(o.Columns, k.Columns) && equalStrings(o.RefColumns, k.RefColumns) {
			return
		}
	}
	nk := k.clone()
	nk.Origin = c.origin()
	if p.Constraint(k.Name) != nil {
		nk.Name = c.chooseConstraintName(p.Name, nameAddition(k.Columns), "fkey", p.Schema, nil)
	}
	c.addConstraint(p, nk)
	for _, sub := range c.Partitions(p) {
		c.cloneForeignKey(sub, nk)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !containsString(b, x) {
			return false
		}
	}
	return true
}

func indexesMatch(a, b *Index) bool {
	if a.Unique != b.Unique || a.Method != b.Method || a.Where != b.Where || len(a.Keys) != len(b.Keys) ||
		!equalStrings(a.Include, b.Include) || a.NullsNotDistinct != b.NullsNotDistinct {
		return false
	}
	for i := range a.Keys {
		if a.Keys[i].Column != b.Keys[i].Column || a.Keys[i].Expr != b.Keys[i].Expr || a.Keys[i].Desc != b.Keys[i].Desc {
			return false
		}
	}
	return true
}

// attachOrCreateIndex gives partition p an index attached to parent index
// pix: an existing matching index is adopted (AttachPartitionEnsureIndexes),
// otherwise a new one is created with a name chosen for the partition.
func (c *Catalog) attachOrCreateIndex(p *Table, parent *Table, pix *Index, keyNames []string) {
	pq := qname{parent.Schema, pix.Name}
	for _, ix := range p.Indexes {
		if ix.parent == pq {
			return
		}
	}
	for _, ix := range p.Indexes {
		if ix.parent.name == "" && indexesMatch(ix, pix) && (pix.Constraint == "" || ix.Constraint != "") {
			p = c.editTable(p)
			p.Index(ix.Name).parent = pq
			c.touch(p)
			return
		}
	}
	var k *Constraint
	if pix.Constraint != "" {
		k = parent.Constraint(pix.Constraint)
	}
	c.createClonedIndex(p, pix, k, keyNames, pq)
}

// createClonedIndex creates on t a copy of index ix (and of its constraint
// k), named as PostgreSQL names an index it generates for t.
func (c *Catalog) createClonedIndex(t *Table, ix *Index, k *Constraint, keyNames []string, parent qname) {
	if ix.Primary && t.PrimaryKey() != nil {
		return
	}
	name := c.chooseIndexName(t.Name, t.Schema, indexColumnNames(keyNames), k != nil && k.Kind == Exclude, ix.Primary, k != nil)
	t = c.editTable(t)
	child := ix.clone()
	child.Name = name
	child.Constraint = ""
	child.parent = parent
	child.Valid = true
	child.Concurrently = false
	child.Origin = c.origin()
	if k != nil {
		nk := k.clone()
		nk.Name = name
		nk.Index = name
		nk.Origin = c.origin()
		child.Constraint = name
		t = c.addConstraint(t, nk)
		if nk.Kind == PrimaryKey {
			for _, col := range nk.Columns {
				if cc := t.Column(col); cc != nil {
					cc.NotNull = true
				}
			}
		}
	}
	t = c.addIndex(t, child)
	if t.Kind == KindPartitionedTable {
		for _, sub := range c.Partitions(t) {
			c.attachOrCreateIndex(sub, t, child, keyNames)
		}
	}
}

func (c *Catalog) indexHasAllPartitions(t *Table, ix *Index) bool {
	pq := qname{t.Schema, ix.Name}
	for _, p := range c.Partitions(t) {
		found := false
		for _, pi := range p.Indexes {
			if pi.parent == pq {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// exprColumns lists the columns that index expressions and a predicate read.
func exprColumns(keys []IndexKey, where *pg_query.Node) []string {
	var out []string
	add := func(names []string) {
		for _, n := range names {
			if !containsString(out, n) {
				out = append(out, n)
			}
		}
	}
	for _, k := range keys {
		add(columnRefNames(k.ExprNode))
	}
	add(columnRefNames(where))
	return out
}

func (c *Catalog) createIndex(s *pg_query.IndexStmt) {
	rv := s.GetRelation()
	t := c.Relation(rv)
	if t == nil || t.Kind == KindView {
		return
	}
	var keys []IndexKey
	var keyNames []string
	for _, e := range s.GetIndexParams() {
		key, name := c.indexKeyFromElem(e.GetIndexElem(), true)
		if key.Column != "" && t.Column(key.Column) == nil && !t.ColumnsUnknown {
			return
		}
		keys = append(keys, key)
		keyNames = append(keyNames, name)
	}
	var include []string
	for _, e := range s.GetIndexIncludingParams() {
		if n := e.GetIndexElem().GetName(); n != "" {
			include = append(include, n)
			keyNames = append(keyNames, n)
		}
	}
	name := s.GetIdxname()
	if name != "" {
		if c.relationNameTaken(t.Schema, name) {
			return
		}
	} else {
		name = c.chooseIndexName(t.Name, t.Schema, indexColumnNames(keyNames), false, s.GetPrimary(), s.GetIsconstraint())
	}
	method := s.GetAccessMethod()
	if method == "" {
		method = "btree"
	}
	ix := &Index{Name: name, Keys: keys, Include: include, Unique: s.GetUnique(), NullsNotDistinct: s.GetNullsNotDistinct(),
		Method: method, Where: c.deparseExpr(s.GetWhereClause()), WhereNode: s.GetWhereClause(), Valid: true,
		Concurrently: s.GetConcurrent(), Origin: c.origin(), exprColumns: exprColumns(keys, s.GetWhereClause())}
	t = c.addIndex(t, ix)
	if t.Kind == KindPartitionedTable {
		if !rv.GetInh() {
			// CREATE INDEX ON ONLY: invalid until every partition's index is
			// attached with ALTER INDEX ... ATTACH PARTITION.
			ix.Valid = len(c.Partitions(t)) == 0
			return
		}
		for _, p := range c.Partitions(t) {
			c.attachOrCreateIndex(p, t, ix, keyNames)
		}
	}
}
