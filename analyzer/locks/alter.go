package locks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

type atType = pg_query.AlterTableType

// cmdMode is the lock one ALTER TABLE subcommand needs on its table, from
// AlterTableGetLockLevel in PostgreSQL's tablecmds.c (the whole statement
// takes the strongest of its subcommands).
func (b *builder) cmdMode(cmd *pg_query.AlterTableCmd) Mode {
	switch cmd.GetSubtype() {
	case pg_query.AlterTableType_AT_SetStatistics, pg_query.AlterTableType_AT_ClusterOn,
		pg_query.AlterTableType_AT_DropCluster, pg_query.AlterTableType_AT_SetOptions,
		pg_query.AlterTableType_AT_ResetOptions, pg_query.AlterTableType_AT_ValidateConstraint,
		pg_query.AlterTableType_AT_DetachPartitionFinalize:
		return ShareUpdateExclusive
	case pg_query.AlterTableType_AT_AttachPartition:
		if b.ver >= 12 {
			return ShareUpdateExclusive
		}
		return AccessExclusive
	case pg_query.AlterTableType_AT_DetachPartition:
		if cmd.GetDef().GetPartitionCmd().GetConcurrent() {
			return ShareUpdateExclusive
		}
		return AccessExclusive
	case pg_query.AlterTableType_AT_EnableTrig, pg_query.AlterTableType_AT_EnableAlwaysTrig,
		pg_query.AlterTableType_AT_EnableReplicaTrig, pg_query.AlterTableType_AT_EnableTrigAll,
		pg_query.AlterTableType_AT_EnableTrigUser, pg_query.AlterTableType_AT_DisableTrig,
		pg_query.AlterTableType_AT_DisableTrigAll, pg_query.AlterTableType_AT_DisableTrigUser:
		return ShareRowExclusive
	case pg_query.AlterTableType_AT_AddConstraint:
		if k := cmd.GetDef().GetConstraint(); k != nil && k.GetContype() == pg_query.ConstrType_CONSTR_FOREIGN {
			// Foreign keys add triggers to both tables, so they need at
			// least CREATE TRIGGER's lock, and no more.
			return ShareRowExclusive
		}
		return AccessExclusive
	case pg_query.AlterTableType_AT_SetRelOptions, pg_query.AlterTableType_AT_ResetRelOptions:
		return relOptionsMode(cmd.GetDef().GetList().GetItems())
	}
	return AccessExclusive
}

// relOptionsMode: most storage parameters only steer future writes,
// autovacuum and planning, and take SHARE UPDATE EXCLUSIVE; the few that
// change query results (view options, user_catalog_table) take ACCESS
// EXCLUSIVE (reloptions.c).
func relOptionsMode(defs []*pg_query.Node) Mode {
	m := ShareUpdateExclusive
	for _, d := range defs {
		switch strings.ToLower(d.GetDefElem().GetDefname()) {
		case "user_catalog_table", "check_option", "security_barrier", "security_invoker":
			m = AccessExclusive
		}
	}
	return m
}

// recurses reports whether PostgreSQL applies the subcommand to every
// partition as well (and so locks each of them in the same mode).
func recurses(t atType) bool {
	switch t {
	case pg_query.AlterTableType_AT_AddColumn, pg_query.AlterTableType_AT_DropColumn,
		pg_query.AlterTableType_AT_AlterColumnType, pg_query.AlterTableType_AT_SetNotNull,
		pg_query.AlterTableType_AT_DropNotNull, pg_query.AlterTableType_AT_ColumnDefault,
		pg_query.AlterTableType_AT_AddConstraint, pg_query.AlterTableType_AT_DropConstraint,
		pg_query.AlterTableType_AT_ValidateConstraint, pg_query.AlterTableType_AT_SetStatistics,
		pg_query.AlterTableType_AT_SetStorage, pg_query.AlterTableType_AT_SetCompression,
		pg_query.AlterTableType_AT_DropExpression, pg_query.AlterTableType_AT_AddIdentity,
		pg_query.AlterTableType_AT_SetIdentity, pg_query.AlterTableType_AT_DropIdentity,
		pg_query.AlterTableType_AT_EnableTrig, pg_query.AlterTableType_AT_EnableAlwaysTrig,
		pg_query.AlterTableType_AT_EnableReplicaTrig, pg_query.AlterTableType_AT_EnableTrigAll,
		pg_query.AlterTableType_AT_EnableTrigUser, pg_query.AlterTableType_AT_DisableTrig,
		pg_query.AlterTableType_AT_DisableTrigAll, pg_query.AlterTableType_AT_DisableTrigUser,
		pg_query.AlterTableType_AT_AlterConstraint:
		return true
	}
	return false
}

func (b *builder) alterTable(s *pg_query.AlterTableStmt) {
	switch s.GetObjtype() {
	case pg_query.ObjectType_OBJECT_INDEX:
		b.alterIndex(s)
		return
	case pg_query.ObjectType_OBJECT_SEQUENCE:
		r := b.resolve(s.GetRelation())
		b.lockRel(r, "sequence", AccessExclusive)
		return
	case pg_query.ObjectType_OBJECT_TYPE:
		// ALTER TYPE on a composite type: no table is locked.
		return
	}
	r := b.resolve(s.GetRelation())
	if r.name == "" {
		return
	}
	var cmds []*pg_query.AlterTableCmd
	var mode Mode
	recurse := false
	b.dropped = DroppedConstraints(s)
	for _, n := range s.GetCmds() {
		if c := n.GetAlterTableCmd(); c != nil {
			cmds = append(cmds, c)
			mode = max(mode, b.cmdMode(c))
			recurse = recurse || recurses(c.GetSubtype())
		}
	}
	if len(cmds) == 0 {
		return
	}
	b.lockRel(r, "", mode)
	b.recurse = r.partitioned() && recurse && s.GetRelation().GetInh()
	if b.recurse {
		b.lockPartitions(r.t, mode, false)
	}
	for _, c := range cmds {
		b.alterCmd(r, c)
	}
}

func (b *builder) alterCmd(r rel, cmd *pg_query.AlterTableCmd) {
	t := r.t
	name := cmd.GetName()
	switch cmd.GetSubtype() {
	case pg_query.AlterTableType_AT_AddColumn:
		if SkippedAddColumn(t, cmd) {
			// The statement's lock is taken all the same (above).
			b.note(fmt.Sprintf("column %s of %s already exists: IF NOT EXISTS makes this ADD COLUMN a no-op after taking the table lock", catalog.QuoteIdent(cmd.GetDef().GetColumnDef().GetColname()), r.name))
			return
		}
		b.addColumn(r, cmd.GetDef().GetColumnDef())
	case pg_query.AlterTableType_AT_DropColumn:
		b.dropColumn(r, name, cmd.GetBehavior() == pg_query.DropBehavior_DROP_CASCADE)
	case pg_query.AlterTableType_AT_AlterColumnType:
		b.alterColumnType(r, name, cmd.GetDef().GetColumnDef())
	case pg_query.AlterTableType_AT_SetNotNull:
		b.setNotNull(r, name)
	case pg_query.AlterTableType_AT_ColumnDefault:
		b.note("changing a default affects future INSERTs only; existing rows are not touched")
	case pg_query.AlterTableType_AT_DropIdentity:
		// The identity's sequence is dropped with it.
		for _, seq := range b.ownedSequences(t) {
			if seq.OwnedByColumn == name && seq.Identity {
				b.lock(seq.QualifiedName(), "sequence", AccessExclusive, !seq.Origin.InChangeSet)
			}
		}
	case pg_query.AlterTableType_AT_AddIdentity:
		b.note("the identity's new sequence starts at 1: follow with ALTER COLUMN ... RESTART WITH max+1 before inserting")
	case pg_query.AlterTableType_AT_AddConstraint:
		b.addConstraint(r, cmd.GetDef().GetConstraint())
	case pg_query.AlterTableType_AT_ValidateConstraint:
		b.validateConstraint(r, name)
	case pg_query.AlterTableType_AT_DropConstraint:
		b.dropConstraint(r, name, cmd.GetBehavior() == pg_query.DropBehavior_DROP_CASCADE)
	case pg_query.AlterTableType_AT_SetLogged, pg_query.AlterTableType_AT_SetUnLogged:
		logged := cmd.GetSubtype() == pg_query.AlterTableType_AT_SetLogged
		if t != nil && t.Unlogged != logged {
			b.note("the table already has that persistence: nothing is rewritten")
			return
		}
		b.rewrite(r, false)
		if b.ver >= 15 {
			b.lockSequences(t, AccessExclusive)
		}
		if logged {
			b.note("SET LOGGED rewrites the table under ACCESS EXCLUSIVE and writes all of it to the WAL, and so to every replica")
		} else {
			b.note("SET UNLOGGED rewrites the table under ACCESS EXCLUSIVE; an unlogged table is emptied after a crash and is not replicated")
		}
	case pg_query.AlterTableType_AT_SetAccessMethod:
		b.rewrite(r, false)
		b.note("SET ACCESS METHOD rewrites the table into the new format and rebuilds every index under ACCESS EXCLUSIVE")
	case pg_query.AlterTableType_AT_SetTableSpace:
		b.work(Rewrite, r.name, 1)
		b.note("SET TABLESPACE copies the table's files block by block under ACCESS EXCLUSIVE; its indexes stay where they are (move them with ALTER INDEX ... SET TABLESPACE)")
	case pg_query.AlterTableType_AT_SetRelOptions, pg_query.AlterTableType_AT_ResetRelOptions:
		b.note("storage parameters apply to future writes only; existing pages change only after a rewrite")
	case pg_query.AlterTableType_AT_ClusterOn:
		if ix := t.Index(name); ix != nil {
			b.lockIndex(t, ix, ShareUpdateExclusive)
		}
	case pg_query.AlterTableType_AT_AddInherit:
		b.lockRel(b.resolve(cmd.GetDef().GetRangeVar()), "", ShareUpdateExclusive)
	case pg_query.AlterTableType_AT_DropInherit:
		b.lockRel(b.resolve(cmd.GetDef().GetRangeVar()), "", AccessShare)
	case pg_query.AlterTableType_AT_AttachPartition:
		b.attachPartition(r, cmd.GetDef().GetPartitionCmd())
	case pg_query.AlterTableType_AT_DetachPartition, pg_query.AlterTableType_AT_DetachPartitionFinalize:
		b.detachPartition(cmd.GetDef().GetPartitionCmd(), cmd.GetSubtype() == pg_query.AlterTableType_AT_DetachPartitionFinalize)
	case pg_query.AlterTableType_AT_DropNotNull, pg_query.AlterTableType_AT_SetStatistics,
		pg_query.AlterTableType_AT_SetOptions, pg_query.AlterTableType_AT_ResetOptions,
		pg_query.AlterTableType_AT_SetStorage, pg_query.AlterTableType_AT_SetCompression,
		pg_query.AlterTableType_AT_SetIdentity,
		pg_query.AlterTableType_AT_DropExpression, pg_query.AlterTableType_AT_AlterConstraint:
		// Catalog changes only.
	}
}

// SkippedAddColumn says an ADD COLUMN IF NOT EXISTS names a column t
// already has: PostgreSQL skips the whole column definition (NOTICE ...
// already exists, skipping), so its type, default, constraints, sequence
// and rewrite do not happen (measured on PostgreSQL 15); the statement
// still takes its lock. t is the table before the statement; nil (not
// known) never skips.
func SkippedAddColumn(t *catalog.Table, cmd *pg_query.AlterTableCmd) bool {
	cd := cmd.GetDef().GetColumnDef()
	return cmd.GetSubtype() == pg_query.AlterTableType_AT_AddColumn && cmd.GetMissingOk() && cd != nil &&
		t != nil && t.Column(cd.GetColname()) != nil
}

// ---------------------------------------------------------------- columns

func (b *builder) addColumn(r rel, cd *pg_query.ColumnDef) {
	if cd == nil {
		return
	}
	t := r.t
	typ := catalog.TypeFromNode(cd.GetTypeName())
	var def *pg_query.Node
	var identity, generated, notNull bool
	var fks []*pg_query.Constraint
	var checks, indexes int
	var pk bool
	for _, c := range cd.GetConstraints() {
		k := c.GetConstraint()
		if k == nil {
			continue
		}
		switch k.GetContype() {
		case pg_query.ConstrType_CONSTR_DEFAULT:
			def = k.GetRawExpr()
		case pg_query.ConstrType_CONSTR_IDENTITY:
			identity = true
		case pg_query.ConstrType_CONSTR_GENERATED:
			generated = true
		case pg_query.ConstrType_CONSTR_NOTNULL:
			notNull = true
		case pg_query.ConstrType_CONSTR_CHECK:
			if !k.GetSkipValidation() {
				checks++
			}
		case pg_query.ConstrType_CONSTR_PRIMARY:
			indexes++
			pk = true
		case pg_query.ConstrType_CONSTR_UNIQUE:
			indexes++
		case pg_query.ConstrType_CONSTR_FOREIGN:
			fks = append(fks, k)
		}
	}
	serial := typ.Schema == "" && isSerial(typ.Name)
	rewrite := ""
	switch {
	case generated:
		rewrite = "a stored generated column is computed for every existing row, so the table is rewritten"
		if b.ver < 12 {
			b.note("GENERATED ... STORED columns need PostgreSQL 12 or later")
		}
	case identity:
		rewrite = "an identity column gives every existing row its own value from the new sequence, so the table is rewritten"
	case serial:
		rewrite = "a serial column's default is nextval(), which is volatile: every existing row gets its own value, so the table is rewritten (a new sequence is created too)"
	case def != nil && Volatile(def):
		rewrite = "the default " + deparse(def) + " is volatile: every existing row needs its own value, so the table is rewritten"
		if usesFunc(def, "gen_random_uuid") && b.ver < 13 {
			b.note("gen_random_uuid() is built in from PostgreSQL 13; before that it needs the pgcrypto extension")
		}
	case b.domainHasConstraints(typ):
		rewrite = "the column's domain has constraints, which PostgreSQL checks against every existing row by rewriting the table (measured, even without a default)"
	}
	if rewrite != "" {
		b.rewrite(r, b.recurse)
		b.note(rewrite + "; reads and writes wait for the whole rewrite")
	} else if def != nil {
		if Stable(def) {
			b.note("the default " + deparse(def) + " is STABLE, not volatile: it is evaluated once, so every existing row gets the same value, and nothing is rewritten")
		} else {
			b.note("PostgreSQL 11+: a non-volatile default is stored once in the catalog, so no rewrite")
		}
	}
	if notNull && def == nil && !identity && !serial && !generated {
		if t != nil && t.Origin.InChangeSet {
			b.note("NOT NULL without a default works only because the table is new (empty)")
		} else {
			b.note("NOT NULL without a default fails at once on a table that has rows (column ... contains null values); add a default, or add the column nullable, backfill, then SET NOT NULL")
		}
	}
	if checks > 0 && rewrite == "" {
		b.work(Scan, r.name, checks)
	}
	if indexes > 0 {
		scans := indexes
		if pk && def == nil && !identity && !serial {
			scans++
		}
		for _, c := range cd.GetConstraints() {
			if k := c.GetConstraint(); k != nil && k.GetConname() != "" &&
				(k.GetContype() == pg_query.ConstrType_CONSTR_PRIMARY || k.GetContype() == pg_query.ConstrType_CONSTR_UNIQUE) {
				b.lock(qualify(tableSchema(r), k.GetConname()), "index", AccessExclusive, false)
			}
		}
		b.work(IndexBuild, r.name, scans)
		b.note("the new column's index is built while ACCESS EXCLUSIVE is held")
	}
	for _, k := range fks {
		p := b.resolve(k.GetPktable())
		b.lockRel(p, "referenced table", ShareRowExclusive)
		if def != nil || identity || serial || generated {
			b.validationPass(r.name)
			b.note(fmt.Sprintf("with a default, the new foreign key is validated against %s by a full scan while the locks are held", p.name))
		} else {
			b.note("the new column is all NULL, so its foreign key needs no validation scan")
		}
		b.note(fmt.Sprintf("the foreign key takes SHARE ROW EXCLUSIVE on %s: writes to it wait until the transaction ends", p.name))
	}
}

func tableSchema(r rel) string {
	if r.t != nil {
		return r.t.Schema
	}
	if i := strings.LastIndexByte(r.name, '.'); i > 0 {
		return strings.Trim(r.name[:i], `"`)
	}
	return ""
}

func isSerial(name string) bool {
	switch name {
	case "serial", "serial4", "bigserial", "serial8", "smallserial", "serial2":
		return true
	}
	return false
}

func (b *builder) domainHasConstraints(typ catalog.Type) bool {
	if typ.IsBuiltin() || typ.Name == "" {
		return false
	}
	d := b.cat.Domain(typ.Schema, typ.Name)
	return d != nil && (len(d.Constraints) > 0 || d.NotNull)
}

// columnIndexes lists t's indexes that use col as a key, INCLUDE column,
// or inside an expression or predicate.
func columnIndexes(t *catalog.Table, col string) []*catalog.Index {
	if t == nil {
		return nil
	}
	var out []*catalog.Index
	for _, ix := range t.Indexes {
		if indexUses(ix, col) {
			out = append(out, ix)
		}
	}
	return out
}

func indexUses(ix *catalog.Index, col string) bool {
	for _, k := range ix.Keys {
		if k.Column == col || (k.ExprNode != nil && refsColumn(k.ExprNode, col)) {
			return true
		}
	}
	for _, c := range ix.Include {
		if c == col {
			return true
		}
	}
	return ix.WhereNode != nil && refsColumn(ix.WhereNode, col)
}

func refsColumn(n *pg_query.Node, col string) bool {
	found := false
	pgtree.Walk(n, func(x *pg_query.Node) bool {
		if cr := x.GetColumnRef(); cr != nil {
			f := cr.GetFields()
			if len(f) > 0 && f[len(f)-1].GetString_().GetSval() == col {
				found = true
			}
			return false
		}
		return !found
	})
	return found
}

func (b *builder) dropColumn(r rel, col string, cascade bool) {
	t := r.t
	b.note("DROP COLUMN only marks the column dropped (no rewrite); the space comes back only after a later rewrite")
	if t == nil || t.Column(col) == nil {
		return
	}
	for _, ix := range columnIndexes(t, col) {
		b.lockIndex(t, ix, AccessExclusive)
	}
	for _, k := range t.Constraints {
		if k.Kind == catalog.ForeignKey && contains(k.Columns, col) {
			b.lockFKTable(k, AccessExclusive)
		}
		if k.Index != "" && contains(k.Columns, col) {
			if ix := t.Index(k.Index); ix != nil {
				b.lockIndex(t, ix, AccessExclusive)
			}
		}
	}
	b.dropDependents(catalog.ObjectRef{Kind: "column", Schema: t.Schema, Table: t.Name, Name: col}, cascade)
}

// lockFKTable locks the table a foreign key of the target points at.
func (b *builder) lockFKTable(k *catalog.Constraint, m Mode) rel {
	if p := b.cat.Table(k.RefSchema, k.RefTable); p != nil {
		r := b.resolveTable(p)
		b.lockRel(r, "referenced table", m)
		return r
	}
	r := rel{name: qualifyIf(k.RefSchema, k.RefTable)}
	b.lock(r.name, "referenced table", m, true)
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (b *builder) alterColumnType(r rel, colName string, cd *pg_query.ColumnDef) {
	t := r.t
	col := t.Column(colName)
	newType := catalog.TypeFromNode(cd.GetTypeName())
	using := cd.GetRawDefault()
	w := Rewrite
	switch {
	case col == nil:
		if t != nil {
			b.note(fmt.Sprintf("column %s is not known; assuming the type change rewrites the table", catalog.QuoteIdent(colName)))
		}
	case b.opt.TypeChange != nil:
		w = b.opt.TypeChange(col.Type, newType, using)
	}
	colIdx := columnIndexes(t, colName)
	switch w {
	case Rewrite:
		b.rewrite(r, b.recurse)
		for _, ix := range colIdx {
			b.lockIndex(t, ix, AccessExclusive)
		}
		b.note("the type change rewrites the table and rebuilds every index under ACCESS EXCLUSIVE: reads and writes wait for the whole rewrite")
	case IndexBuild:
		for _, ix := range colIdx {
			b.lockIndex(t, ix, AccessExclusive)
		}
		if len(colIdx) > 0 {
			b.work(IndexBuild, r.name, len(colIdx))
			b.note("the heap is kept, but the column's indexes are rebuilt under ACCESS EXCLUSIVE")
		}
	default:
		// The column's indexes are re-created in the catalog (same files),
		// which takes ACCESS EXCLUSIVE on them (measured).
		for _, ix := range colIdx {
			b.lockIndex(t, ix, AccessExclusive)
		}
		if w != Metadata {
			b.work(w, r.name, 1)
		}
	}
	if t == nil {
		return
	}
	// Foreign keys on the column are dropped and re-added, which takes
	// ACCESS EXCLUSIVE on the other table and validates them again.
	for _, k := range t.Constraints {
		if k.Kind == catalog.ForeignKey && contains(k.Columns, colName) {
			p := b.lockFKTable(k, AccessExclusive)
			b.validationPass(r.name)
			b.note(fmt.Sprintf("foreign key %s is dropped and re-created: ACCESS EXCLUSIVE on %s and a new validation scan", catalog.QuoteIdent(k.Name), p.name))
		}
	}
	for _, fk := range b.cat.ReferencingForeignKeys(t) {
		if fk.Table != t && contains(fk.Constraint.RefColumns, colName) {
			o := b.resolveTable(fk.Table)
			b.lockRel(o, "referencing table", AccessExclusive)
			b.validationPass(r.name)
			b.note(fmt.Sprintf("foreign key %s of %s references the column: it is re-created, which locks %s ACCESS EXCLUSIVE and scans it to validate", catalog.QuoteIdent(fk.Constraint.Name), o.name, o.name))
		}
	}
	for _, d := range b.cat.Dependents(catalog.ObjectRef{Kind: "column", Schema: t.Schema, Table: t.Name, Name: colName}) {
		if d.Kind == "view" || d.Kind == "materialized view" {
			b.note(fmt.Sprintf("fails: %s uses the column (cannot alter type of a column used by a view or rule); drop and re-create it in the same migration", d.String()))
		}
	}
}

func (b *builder) setNotNull(r rel, colName string) {
	t := r.t
	col := t.Column(colName)
	if col != nil && col.NotNull {
		b.note("the column is already NOT NULL: nothing is scanned")
		return
	}
	var valid, invalid, dropped bool
	if t != nil {
		for _, k := range t.Constraints {
			if k.Kind == catalog.Check && k.NotNullColumn == colName {
				switch {
				case b.dropped[k.Name]:
					dropped = true
				case k.Validated:
					valid = true
				default:
					invalid = true
				}
			}
		}
	}
	switch {
	case valid && b.ver >= 12:
		b.note("a validated CHECK (" + catalog.QuoteIdent(colName) + " IS NOT NULL) proves there are no NULLs, so PostgreSQL 12+ skips the scan; drop that CHECK afterwards")
		return
	case valid:
		b.note("before PostgreSQL 12 a validated CHECK (" + catalog.QuoteIdent(colName) + " IS NOT NULL) does not let SET NOT NULL skip its scan")
	case invalid:
		b.note("a NOT VALID CHECK (" + catalog.QuoteIdent(colName) + " IS NOT NULL) does not let SET NOT NULL skip its scan: VALIDATE it first")
	case dropped:
		b.note("the CHECK (" + catalog.QuoteIdent(colName) + " IS NOT NULL) that would let SET NOT NULL skip its scan is dropped by the same statement, first: drop it in a later statement")
	}
	b.work(Scan, r.name, 1)
	b.note("SET NOT NULL scans the whole table under ACCESS EXCLUSIVE; on PostgreSQL 12+ add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it (SHARE UPDATE EXCLUSIVE), then SET NOT NULL skips the scan")
}

// ---------------------------------------------------------------- constraints

func (b *builder) addConstraint(r rel, k *pg_query.Constraint) {
	if k == nil {
		return
	}
	t := r.t
	switch k.GetContype() {
	case pg_query.ConstrType_CONSTR_CHECK:
		if k.GetSkipValidation() {
			b.note("NOT VALID: only new and updated rows are checked; VALIDATE CONSTRAINT later scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes continue")
			return
		}
		b.work(Scan, r.name, 1)
		b.note("ADD CHECK scans the whole table under ACCESS EXCLUSIVE; add it NOT VALID, then VALIDATE CONSTRAINT (SHARE UPDATE EXCLUSIVE)")
	case pg_query.ConstrType_CONSTR_FOREIGN:
		p := b.resolve(k.GetPktable())
		b.lockRel(p, "referenced table", ShareRowExclusive)
		if k.GetSkipValidation() {
			b.note(fmt.Sprintf("NOT VALID skips the validation scan, but SHARE ROW EXCLUSIVE still blocks writes to both %s and %s until the transaction ends", r.name, p.name))
			return
		}
		b.work(Scan, r.name, 1)
		b.note(fmt.Sprintf("ADD FOREIGN KEY validates every row while holding SHARE ROW EXCLUSIVE on %s and %s (plus ROW SHARE on %s): writes to both wait for the whole scan; add it NOT VALID, then VALIDATE CONSTRAINT", r.name, p.name, p.name))
	case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
		pk := k.GetContype() == pg_query.ConstrType_CONSTR_PRIMARY
		if iname := k.GetIndexname(); iname != "" {
			b.constraintUsingIndex(r, k, pk)
			return
		}
		keys := constraintColumns(k)
		scans := 1
		if k.GetContype() == pg_query.ConstrType_CONSTR_EXCLUSION {
			scans = 2
		}
		if pk && b.unprovenNullable(t, keys) {
			scans++
			b.note("the key has nullable columns: PostgreSQL first scans the table to prove them NOT NULL, then builds the index (2 passes)")
		}
		if name := k.GetConname(); name != "" {
			b.lock(qualify(tableSchema(r), name), "index", AccessExclusive, false)
		}
		if r.partitioned() {
			b.lockPartitions(t, AccessExclusive, false)
		}
		b.work(IndexBuild, r.name, scans)
		b.note("the index is built while ACCESS EXCLUSIVE blocks reads and writes; build it first with CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX")
	}
}

func constraintColumns(k *pg_query.Constraint) []string {
	var out []string
	for _, n := range k.GetKeys() {
		out = append(out, n.GetString_().GetSval())
	}
	return out
}

// constraintUsingIndex: the index already exists; if the constraint gets a
// different name the index is renamed (SHARE UPDATE EXCLUSIVE on it from
// PostgreSQL 12, ACCESS EXCLUSIVE before), else it is only read (measured).
func (b *builder) constraintUsingIndex(r rel, k *pg_query.Constraint, pk bool) {
	t := r.t
	iname := k.GetIndexname()
	m := AccessShare
	if k.GetConname() != "" && k.GetConname() != iname {
		m = ShareUpdateExclusive
		if b.ver < 12 {
			m = AccessExclusive
		}
	}
	ix := t.Index(iname)
	if ix != nil {
		b.lockIndex(t, ix, m)
	} else {
		b.lock(qualify(tableSchema(r), iname), "index", m, true)
	}
	if !pk {
		b.note("USING INDEX adopts the existing index: no build, no scan")
		return
	}
	var cols []string
	if ix != nil {
		cols = ix.Columns()
	}
	if ix == nil || b.unprovenNullable(t, cols) {
		b.work(Scan, r.name, 1)
		b.note("a primary key needs NOT NULL columns: for a nullable column PostgreSQL scans the table under ACCESS EXCLUSIVE; make the columns NOT NULL first (CHECK ... NOT VALID, VALIDATE, SET NOT NULL)")
		return
	}
	b.note("USING INDEX adopts the existing index and the columns are already NOT NULL: no build, no scan")
}

// unprovenNullable: a nullable key column whose NOT NULL no validated
// CHECK (col IS NOT NULL) proves (PostgreSQL 12+), so that making it NOT
// NULL scans the table (measured: ADD PRIMARY KEY USING INDEX skips the
// scan when such a CHECK exists).
func (b *builder) unprovenNullable(t *catalog.Table, cols []string) bool {
	if t == nil {
		return true
	}
	for _, c := range cols {
		col := t.Column(c)
		if col == nil || (!col.NotNull && !NotNullProven(t, c, b.dropped, b.ver)) {
			return true
		}
	}
	return false
}

// NotNullProven says PostgreSQL can make a column NOT NULL without scanning
// the table: from version 12 a validated CHECK (col IS NOT NULL) proves it,
// unless the same ALTER TABLE drops that CHECK (dropped, from
// DroppedConstraints), which PostgreSQL does before anything else.
func NotNullProven(t *catalog.Table, col string, dropped map[string]bool, version int) bool {
	if t == nil || version < 12 {
		return false
	}
	for _, k := range t.Constraints {
		if k.Kind == catalog.Check && k.NotNullColumn == col && k.Validated && !dropped[k.Name] {
			return true
		}
	}
	return false
}

// DroppedConstraints names the constraints an ALTER TABLE drops.
func DroppedConstraints(s *pg_query.AlterTableStmt) map[string]bool {
	out := map[string]bool{}
	for _, n := range s.GetCmds() {
		if c := n.GetAlterTableCmd(); c != nil && c.GetSubtype() == pg_query.AlterTableType_AT_DropConstraint {
			out[c.GetName()] = true
		}
	}
	return out
}

func (b *builder) validateConstraint(r rel, name string) {
	t := r.t
	k := t.Constraint(name)
	if k != nil && k.Validated {
		b.note("the constraint is already valid: nothing is scanned")
		return
	}
	b.work(Scan, r.name, 1)
	switch {
	case k != nil && k.Kind == catalog.ForeignKey:
		p := b.lockFKTable(k, RowShare)
		b.note(fmt.Sprintf("VALIDATE scans the table under SHARE UPDATE EXCLUSIVE and reads %s with ROW SHARE: reads and writes of both tables continue", p.name))
	case k == nil:
		b.note("VALIDATE scans the table under SHARE UPDATE EXCLUSIVE (reads and writes continue); if the constraint is a foreign key, the referenced table also gets ROW SHARE")
	default:
		b.note("VALIDATE scans the table under SHARE UPDATE EXCLUSIVE: reads and writes continue")
	}
}

func (b *builder) dropConstraint(r rel, name string, cascade bool) {
	t := r.t
	k := t.Constraint(name)
	if k == nil {
		b.note("if the constraint is a foreign key, the table it references is locked ACCESS EXCLUSIVE too (its triggers are dropped), blocking reads of that table")
		return
	}
	switch k.Kind {
	case catalog.ForeignKey:
		p := b.lockFKTable(k, AccessExclusive)
		b.note(fmt.Sprintf("dropping a foreign key drops its triggers on %s too: ACCESS EXCLUSIVE there blocks its reads and writes until the transaction ends", p.name))
	case catalog.PrimaryKey, catalog.Unique, catalog.Exclude:
		if ix := t.Index(k.Index); ix != nil {
			b.lockIndex(t, ix, AccessExclusive)
		}
	}
	b.dropDependents(catalog.ObjectRef{Kind: "constraint", Schema: t.Schema, Table: t.Name, Name: name}, cascade)
}

// ---------------------------------------------------------------- partitions

func (b *builder) attachPartition(parent rel, pc *pg_query.PartitionCmd) {
	if pc == nil {
		return
	}
	p := b.resolve(pc.GetName())
	b.lockRel(p, "", AccessExclusive)
	if b.ver < 12 {
		b.note("before PostgreSQL 12, ATTACH PARTITION takes ACCESS EXCLUSIVE on the parent")
	} else {
		b.note("ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent (PostgreSQL 12+) and ACCESS EXCLUSIVE on the table being attached")
	}
	if p.t != nil && b.boundImplied(p.t, pc.GetBound()) {
		b.note("a validated CHECK constraint on the partition implies its bound, so the validation scan is skipped")
	} else {
		b.work(Scan, p.name, 1)
		b.note("the partition is scanned to prove every row fits the bound; a validated CHECK constraint matching the bound (added NOT VALID and validated beforehand) lets PostgreSQL skip the scan")
	}
	b.note("if the parent has a DEFAULT partition, it is locked ACCESS EXCLUSIVE and scanned too")
	// A partition must get an index for each of the parent's indexes: one
	// it already has is adopted, a missing one is built under the lock.
	if parent.t != nil {
		// Each of the parent's (partitioned) indexes gets the partition's
		// index attached to it, which takes SHARE UPDATE EXCLUSIVE on it
		// (measured).
		b.lockIndexes(parent.t, ShareUpdateExclusive)
	}
	if parent.t != nil && p.t != nil {
		built := 0
		for _, pix := range parent.t.Indexes {
			if !hasMatchingIndex(p.t, pix) {
				built++
			}
		}
		if built > 0 {
			b.work(IndexBuild, p.name, built)
			what := "1 index of the parent has no match on the partition and is"
			if built > 1 {
				what = fmt.Sprintf("%d indexes of the parent have no match on the partition and are", built)
			}
			b.note(what + " built during the attach, under its ACCESS EXCLUSIVE; create matching indexes on the partition beforehand (CONCURRENTLY) so they are adopted")
		}
	}
}

func hasMatchingIndex(t *catalog.Table, want *catalog.Index) bool {
	for _, ix := range t.Indexes {
		if ix.Unique != want.Unique || ix.Where != want.Where || len(ix.Keys) != len(want.Keys) {
			continue
		}
		same := true
		for i := range ix.Keys {
			if ix.Keys[i].Column != want.Keys[i].Column || ix.Keys[i].Expr != want.Keys[i].Expr {
				same = false
			}
		}
		if same {
			return true
		}
	}
	return false
}

func (b *builder) detachPartition(pc *pg_query.PartitionCmd, finalize bool) {
	if pc == nil {
		return
	}
	p := b.resolve(pc.GetName())
	switch {
	case finalize:
		b.lockRel(p, "", ShareUpdateExclusive)
	case pc.GetConcurrent():
		b.lockRel(p, "", ShareUpdateExclusive)
		b.imp.Concurrently = true
		b.imp.HeldUntilCommit = false
		b.imp.OutsideTransaction = true
		if b.ver < 14 {
			b.note("DETACH PARTITION CONCURRENTLY needs PostgreSQL 14 or later")
		}
		b.note("DETACH ... CONCURRENTLY holds SHARE UPDATE EXCLUSIVE and waits for every transaction using the parent; if interrupted, finish it with DETACH PARTITION ... FINALIZE")
	default:
		b.lockRel(p, "", AccessExclusive)
		b.note("DETACH PARTITION takes ACCESS EXCLUSIVE on the parent and the partition (and on a DEFAULT partition, if any); on PostgreSQL 14+ DETACH ... CONCURRENTLY needs only SHARE UPDATE EXCLUSIVE")
	}
}

// boundImplied reports whether t's validated CHECK constraints (and NOT
// NULL columns) prove every row satisfies the partition bound, in the
// simple forms people write for this purpose: col >= lo AND col < hi for a
// one-column range, col IN (...) for a list. The catalog does not record
// the parent's partition key, so the column is taken from the CHECK itself.
func (b *builder) boundImplied(t *catalog.Table, bound *pg_query.PartitionBoundSpec) bool {
	if bound == nil || bound.GetIsDefault() {
		return false
	}
	var conj []*pg_query.Node
	for _, k := range t.Constraints {
		if k.Kind == catalog.Check && k.Validated && k.CheckNode != nil {
			conj = append(conj, conjuncts(k.CheckNode)...)
		}
	}
	if len(conj) == 0 {
		return false
	}
	notNull := func(col string) bool {
		if c := t.Column(col); c != nil && c.NotNull {
			return true
		}
		for _, n := range conj {
			if nt := n.GetNullTest(); nt != nil && nt.GetNulltesttype() == pg_query.NullTestType_IS_NOT_NULL && columnName(nt.GetArg()) == col {
				return true
			}
		}
		return false
	}
	switch bound.GetStrategy() {
	case "r":
		lo, hi := bound.GetLowerdatums(), bound.GetUpperdatums()
		if len(lo) != 1 || len(hi) != 1 {
			return false
		}
		for _, col := range columnsIn(conj) {
			if notNull(col) && hasComparison(conj, col, lo[0], ">=") && hasComparison(conj, col, hi[0], "<") {
				return true
			}
		}
	case "l":
		for _, col := range columnsIn(conj) {
			if !notNull(col) {
				continue
			}
			for _, n := range conj {
				if inListCovers(n, col, bound.GetListdatums()) {
					return true
				}
			}
		}
	}
	return false
}

func conjuncts(n *pg_query.Node) []*pg_query.Node {
	if be := n.GetBoolExpr(); be != nil && be.GetBoolop() == pg_query.BoolExprType_AND_EXPR {
		var out []*pg_query.Node
		for _, a := range be.GetArgs() {
			out = append(out, conjuncts(a)...)
		}
		return out
	}
	return []*pg_query.Node{n}
}

func columnName(n *pg_query.Node) string {
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.GetArg()
	}
	f := n.GetColumnRef().GetFields()
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1].GetString_().GetSval()
}

func columnsIn(conj []*pg_query.Node) []string {
	var out []string
	for _, n := range conj {
		pgtree.Walk(n, func(x *pg_query.Node) bool {
			if c := columnName(x); c != "" && !contains(out, c) {
				out = append(out, c)
			}
			return x.GetColumnRef() == nil
		})
	}
	return out
}

// hasComparison looks for "col op value" (or the mirrored "value op' col")
// with exactly the bound's value.
func hasComparison(conj []*pg_query.Node, col string, value *pg_query.Node, op string) bool {
	want := constText(value)
	if want == "" {
		return false
	}
	mirror := map[string]string{">=": "<=", "<": ">"}[op]
	for _, n := range conj {
		e := n.GetAExpr()
		if e == nil || e.GetKind() != pg_query.A_Expr_Kind_AEXPR_OP || len(e.GetName()) != 1 {
			continue
		}
		o := e.GetName()[0].GetString_().GetSval()
		switch {
		case o == op && columnName(e.GetLexpr()) == col && constText(e.GetRexpr()) == want:
			return true
		case o == mirror && columnName(e.GetRexpr()) == col && constText(e.GetLexpr()) == want:
			return true
		}
	}
	return false
}

func inListCovers(n *pg_query.Node, col string, values []*pg_query.Node) bool {
	e := n.GetAExpr()
	if e == nil || columnName(e.GetLexpr()) != col {
		return false
	}
	var have []string
	switch e.GetKind() {
	case pg_query.A_Expr_Kind_AEXPR_IN:
		for _, v := range e.GetRexpr().GetList().GetItems() {
			have = append(have, constText(v))
		}
	case pg_query.A_Expr_Kind_AEXPR_OP:
		if len(e.GetName()) == 1 && e.GetName()[0].GetString_().GetSval() == "=" {
			have = append(have, constText(e.GetRexpr()))
		}
	default:
		return false
	}
	for _, v := range values {
		if !contains(have, constText(v)) {
			return false
		}
	}
	return true
}

// constText is a literal's value as text ("" when not a literal), so that
// 100, '100' and 100::int compare equal.
func constText(n *pg_query.Node) string {
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.GetArg()
	}
	c := n.GetAConst()
	if c == nil || c.GetIsnull() {
		return ""
	}
	switch {
	case c.GetIval() != nil:
		return fmt.Sprint(c.GetIval().GetIval())
	case c.GetFval() != nil:
		return c.GetFval().GetFval()
	case c.GetSval() != nil:
		return c.GetSval().GetSval()
	case c.GetBoolval() != nil:
		return fmt.Sprint(c.GetBoolval().GetBoolval())
	}
	return ""
}

// ---------------------------------------------------------------- ALTER INDEX

func (b *builder) alterIndex(s *pg_query.AlterTableStmt) {
	rv := s.GetRelation()
	ix, t, name := b.lookupIndex(rv.GetSchemaname(), rv.GetRelname())
	existing := ix == nil || !ix.Origin.InChangeSet
	for _, n := range s.GetCmds() {
		cmd := n.GetAlterTableCmd()
		if cmd == nil {
			continue
		}
		switch cmd.GetSubtype() {
		case pg_query.AlterTableType_AT_SetRelOptions, pg_query.AlterTableType_AT_ResetRelOptions,
			pg_query.AlterTableType_AT_SetStatistics:
			b.lock(name, "index", ShareUpdateExclusive, existing)
		case pg_query.AlterTableType_AT_AttachPartition:
			b.lock(name, "index", ShareUpdateExclusive, existing)
			crv := cmd.GetDef().GetPartitionCmd().GetName()
			cix, ct, cname := b.lookupIndex(crv.GetSchemaname(), crv.GetRelname())
			b.lock(cname, "index", AccessExclusive, cix == nil || !cix.Origin.InChangeSet)
			if t != nil {
				b.lockRel(b.resolveTable(t), "", AccessShare)
			}
			if ct != nil {
				b.lockRel(b.resolveTable(ct), "", AccessShare)
			}
		case pg_query.AlterTableType_AT_SetTableSpace:
			b.lock(name, "index", AccessExclusive, existing)
			b.work(Rewrite, name, 0)
			b.note("SET TABLESPACE copies the index file block by block under ACCESS EXCLUSIVE on the index; " + plannerIndexNote)
		default:
			b.lock(name, "index", AccessExclusive, existing)
		}
	}
}

// ---------------------------------------------------------------- renames

func (b *builder) rename(s *pg_query.RenameStmt) {
	switch s.GetRenameType() {
	case pg_query.ObjectType_OBJECT_INDEX:
		rv := s.GetRelation()
		ix, _, name := b.lookupIndex(rv.GetSchemaname(), rv.GetRelname())
		b.lock(name, "index", b.indexRenameMode(), ix == nil || !ix.Origin.InChangeSet)
		if b.ver < 12 {
			b.note("before PostgreSQL 12, renaming an index takes ACCESS EXCLUSIVE on it; " + plannerIndexNote)
		}
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
		pg_query.ObjectType_OBJECT_FOREIGN_TABLE, pg_query.ObjectType_OBJECT_SEQUENCE:
		rv := s.GetRelation()
		r := b.resolve(rv)
		kind := ""
		if s.GetRenameType() == pg_query.ObjectType_OBJECT_SEQUENCE {
			kind = "sequence"
		}
		if r.t == nil {
			// ALTER TABLE on an index name renames the index, but with
			// ALTER TABLE's ACCESS EXCLUSIVE (measured): the lock follows
			// the statement, not the object.
			if ix, t, _ := b.lookupIndex(rv.GetSchemaname(), rv.GetRelname()); ix != nil {
				b.lockIndex(t, ix, AccessExclusive)
				b.note("ALTER TABLE ... RENAME on an index takes ACCESS EXCLUSIVE on it; ALTER INDEX ... RENAME needs only SHARE UPDATE EXCLUSIVE")
				return
			}
			if seq := b.cat.Sequence(rv.GetSchemaname(), rv.GetRelname()); seq != nil {
				b.lock(seq.QualifiedName(), "sequence", AccessExclusive, !seq.Origin.InChangeSet)
				return
			}
		}
		b.lockRel(r, kind, AccessExclusive)
		b.note("renaming is instant, but code still using the old name breaks at once")
	case pg_query.ObjectType_OBJECT_COLUMN:
		rv := s.GetRelation()
		r := b.resolve(rv)
		b.lockRel(r, "", AccessExclusive)
		if r.partitioned() && rv.GetInh() {
			b.lockPartitions(r.t, AccessExclusive, false)
		}
		b.note("renaming is instant, but code still using the old name breaks at once")
	case pg_query.ObjectType_OBJECT_TABCONSTRAINT:
		r := b.resolve(s.GetRelation())
		b.lockRel(r, "", AccessExclusive)
		if k := r.t.Constraint(s.GetSubname()); k != nil && k.Index != "" {
			if ix := r.t.Index(k.Index); ix != nil {
				b.lockIndex(r.t, ix, b.indexRenameMode())
			}
		}
	case pg_query.ObjectType_OBJECT_TRIGGER, pg_query.ObjectType_OBJECT_POLICY, pg_query.ObjectType_OBJECT_RULE:
		b.lockRel(b.resolve(s.GetRelation()), "", AccessExclusive)
	case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
		schema, name := splitNames(s.GetObject().GetList().GetItems())
		if name != "" {
			b.lock(b.typeName(schema, name), "type", AccessExclusive, b.typeExisting(schema, name))
		}
	}
}

// indexRenameMode: RenameRelation takes SHARE UPDATE EXCLUSIVE on an index
// from PostgreSQL 12, ACCESS EXCLUSIVE before.
func (b *builder) indexRenameMode() Mode {
	if b.ver >= 12 {
		return ShareUpdateExclusive
	}
	return AccessExclusive
}
