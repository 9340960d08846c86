package analyzer

// The safe ways printed with findings are built from the statement's own
// parse tree: a copy of the tree is changed (CONCURRENTLY, NOT VALID, a
// constraint split into an index and USING INDEX) and deparsed, so that
// everything the original meant — index method, operator classes,
// collations, expressions, predicate, ordering, INCLUDE, storage options,
// tablespace, foreign-key actions, MATCH, DEFERRABLE — is kept, and every
// identifier is quoted as PostgreSQL needs. Where no faithful rewrite
// exists, the safe way says so in a comment and holds no SQL: a generic
// example would be pasted as if it were this statement's.
//
// Every builder here is run against a real PostgreSQL by
// safeway_pg_test.go, which compares the effect with the original's.

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// noSafeWay is the text of a safe way that does not exist: the reason,
// as a comment, and no SQL.
func noSafeWay(reason string) string {
	return "-- No safe rewrite of this statement is printed: " + reason
}

// deparseStmt prints one statement node as SQL ending in a semicolon.
func deparseStmt(n *pg_query.Node) (string, error) {
	out, err := pgtree.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: n}}})
	if err != nil {
		return "", fmt.Errorf("printing the safe way: %w", err)
	}
	return out + ";", nil
}

func indexNode(is *pg_query.IndexStmt) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_IndexStmt{IndexStmt: is}}
}

func alterNode(at *pg_query.AlterTableStmt) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_AlterTableStmt{AlterTableStmt: at}}
}

// concurrentIndex is the statement's own CREATE INDEX with CONCURRENTLY.
// IF NOT EXISTS is kept only when the original had it: after a failed
// concurrent build it would silently keep the INVALID index.
func concurrentIndex(is *pg_query.IndexStmt) (string, error) {
	cp := pgtree.Clone(is)
	cp.Concurrent = true
	return deparseStmt(indexNode(cp))
}

// partitioned says the relation is a partitioned table, on which PostgreSQL
// refuses CREATE INDEX CONCURRENTLY.
func (r tableRef) partitioned() bool {
	return r.table != nil && r.table.Kind == catalog.KindPartitionedTable
}

// safeIndexBuild writes CREATE INDEX ... CONCURRENTLY for an index built
// under a blocking lock, in a migration of its own without a transaction.
func safeIndexBuild(c *stmtContext, is *pg_query.IndexStmt) string {
	t := c.relation(is.GetRelation())
	if t.partitioned() {
		return noSafeWay(fmt.Sprintf("%s is partitioned, and PostgreSQL cannot build an index on a partitioned table CONCURRENTLY; "+
			"build it ON ONLY the parent, CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH PARTITION each one.", t.name))
	}
	sql, err := concurrentIndex(is)
	if err != nil {
		return noSafeWay(err.Error())
	}
	if is.GetIdxname() != "" {
		sql += "\n-- if it fails, it leaves an INVALID index behind: drop it before retrying:\n-- DROP INDEX CONCURRENTLY IF EXISTS " +
			qualifiedIndex(is) + ";"
	}
	return replaceWithOwnMigration(c, sql)
}

// qualifiedIndex names the index of a CREATE INDEX in its table's schema.
func qualifiedIndex(is *pg_query.IndexStmt) string {
	return qualified(is.GetRelation().GetSchemaname(), is.GetIdxname())
}

// safeReindex adds CONCURRENTLY to the statement's own REINDEX.
func safeReindex(c *stmtContext, rs *pg_query.ReindexStmt) string {
	if rs.GetKind() == pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM {
		return noSafeWay("REINDEX SYSTEM cannot run CONCURRENTLY.")
	}
	cp := pgtree.Clone(rs)
	for _, p := range cp.GetParams() {
		if p.GetDefElem().GetDefname() == "concurrently" {
			return noSafeWay("it is already CONCURRENTLY.")
		}
	}
	cp.Params = append(cp.Params, pg_query.MakeSimpleDefElemNode("concurrently", nil, 0))
	sql, err := deparseStmt(&pg_query.Node{Node: &pg_query.Node_ReindexStmt{ReindexStmt: cp}})
	if err != nil {
		return noSafeWay(err.Error())
	}
	return ownMigrationWithoutTransaction(c.mig.Kind, sql)
}

// safeUniqueIndex writes the safe way for CREATE UNIQUE INDEX on a table
// with rows: look for duplicates, build concurrently, drop on failure.
func safeUniqueIndex(c *stmtContext, is *pg_query.IndexStmt, t tableRef) string {
	if t.partitioned() {
		return noSafeWay(fmt.Sprintf("%s is partitioned, and PostgreSQL cannot build an index on a partitioned table CONCURRENTLY.", t.name))
	}
	var keys []string
	for _, p := range is.GetIndexParams() {
		ie := p.GetIndexElem()
		if ie.GetName() != "" {
			keys = append(keys, quoteIdent(ie.GetName()))
		} else {
			keys = append(keys, deparseExpr(ie.GetExpr()))
		}
	}
	where := ""
	if is.GetWhereClause() != nil {
		where = " WHERE " + deparseExpr(is.GetWhereClause())
	}
	rel := rangeVarName(is.GetRelation())
	sql, err := concurrentIndex(is)
	if err != nil {
		return noSafeWay(err.Error())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- look for duplicates first:\nSELECT %[1]s, count(*) FROM %[2]s%[3]s GROUP BY %[1]s HAVING count(*) > 1;\n%[4]s",
		strings.Join(keys, ", "), rel, where, sql)
	if is.GetIdxname() != "" {
		fmt.Fprintf(&b, "\n-- if it fails, it leaves an INVALID index behind: drop it before retrying:\n-- DROP INDEX CONCURRENTLY IF EXISTS %s;", qualifiedIndex(is))
	}
	return replaceWithOwnMigration(c, b.String())
}

// withConstraintCmd copies the ALTER TABLE statement being judged and lets
// change edit the copy of the subcommand that adds con. It returns nil
// when the statement is not such an ALTER TABLE.
func withConstraintCmd(c *stmtContext, con *pg_query.Constraint, change func(*pg_query.AlterTableCmd, *pg_query.Constraint)) *pg_query.AlterTableStmt {
	at := c.node.GetAlterTableStmt()
	if at == nil {
		return nil
	}
	cp := pgtree.Clone(at)
	for i, cmd := range at.GetCmds() {
		if cmd.GetAlterTableCmd().GetDef().GetConstraint() == con {
			ac := cp.Cmds[i].GetAlterTableCmd()
			change(ac, ac.GetDef().GetConstraint())
			return cp
		}
	}
	return nil
}

// alterDrop is ALTER TABLE <the statement's table> DROP COLUMN or DROP
// CONSTRAINT of the subcommand, with the statement's IF EXISTS (of the
// table and of the subcommand), ONLY and CASCADE kept, so the step does
// what that part of the statement did: without its CASCADE, a DROP
// CONSTRAINT of a key fails on the foreign keys that use it; without IF
// EXISTS, a drop of what an earlier migration dropped already fails.
func alterDrop(t tableRef, c *stmtContext, ac *pg_query.AlterTableCmd, what string) string {
	at := c.node.GetAlterTableStmt()
	var b strings.Builder
	b.WriteString("ALTER TABLE ")
	if at.GetMissingOk() {
		b.WriteString("IF EXISTS ")
	}
	if at.GetRelation() != nil && !at.GetRelation().GetInh() {
		b.WriteString("ONLY ")
	}
	fmt.Fprintf(&b, "%s DROP %s ", t.name, what)
	if ac.GetMissingOk() {
		b.WriteString("IF EXISTS ")
	}
	b.WriteString(quoteIdent(ac.GetName()))
	if ac.GetBehavior() == pg_query.DropBehavior_DROP_CASCADE {
		b.WriteString(" CASCADE")
	}
	b.WriteString(";")
	return b.String()
}

// validateLater is ALTER TABLE <the statement's table> VALIDATE CONSTRAINT name.
func validateLater(at *pg_query.AlterTableStmt, name string) (string, error) {
	v := &pg_query.AlterTableStmt{Relation: pgtree.Clone(at.GetRelation()), Objtype: at.GetObjtype(),
		Cmds: []*pg_query.Node{{Node: &pg_query.Node_AlterTableCmd{AlterTableCmd: &pg_query.AlterTableCmd{
			Subtype: pg_query.AlterTableType_AT_ValidateConstraint, Name: name, Behavior: pg_query.DropBehavior_DROP_RESTRICT}}}}}
	return deparseStmt(alterNode(v))
}

// safeNotValid writes the statement with the CHECK or FOREIGN KEY added
// NOT VALID (everything else in it as written), then VALIDATE in the next
// migration. name is the constraint's name, the one PostgreSQL would
// choose when the statement gives none.
func safeNotValid(c *stmtContext, con *pg_query.Constraint, name, lockNote string) string {
	at := withConstraintCmd(c, con, func(_ *pg_query.AlterTableCmd, k *pg_query.Constraint) {
		k.SkipValidation = true
		k.InitiallyValid = false
		k.Conname = name
	})
	if at == nil {
		return noSafeWay("the statement could not be copied.")
	}
	add, err := deparseStmt(alterNode(at))
	if err != nil {
		return noSafeWay(err.Error())
	}
	validate, err := validateLater(at, name)
	if err != nil {
		return noSafeWay(err.Error())
	}
	return fmt.Sprintf("%s\n-- next migration (%s):\n%s", add, lockNote, validate)
}

// safeUniqueConstraint splits ADD UNIQUE / PRIMARY KEY into a unique index
// built concurrently (same columns, INCLUDE, NULLS NOT DISTINCT, storage
// options and tablespace) and ADD CONSTRAINT ... USING INDEX (same name,
// same DEFERRABLE), the rest of the statement as written.
func safeUniqueConstraint(c *stmtContext, t tableRef, con *pg_query.Constraint, name string) string {
	if n := len(c.node.GetAlterTableStmt().GetCmds()); n > 1 {
		// The index would be built before the statement's other changes
		// (a column it adds, a key it drops under the same name): no
		// rewrite of this part alone keeps the statement's meaning.
		return noSafeWay(fmt.Sprintf("this ALTER TABLE makes %d changes at once; split it into one ALTER TABLE per change first, then build the key's index CONCURRENTLY and add the key USING INDEX.", n))
	}
	if t.partitioned() {
		return noSafeWay(fmt.Sprintf("%s is partitioned, and PostgreSQL cannot build an index on a partitioned table CONCURRENTLY.", t.name))
	}
	at := c.node.GetAlterTableStmt()
	rel := pgtree.Clone(at.GetRelation())
	rel.Inh = true
	is := &pg_query.IndexStmt{Idxname: name, Relation: rel, AccessMethod: "btree", Unique: true, Concurrent: true,
		NullsNotDistinct: con.GetNullsNotDistinct(), Options: con.GetOptions(), TableSpace: con.GetIndexspace()}
	elems := func(names []*pg_query.Node) []*pg_query.Node {
		var out []*pg_query.Node
		for _, k := range names {
			out = append(out, &pg_query.Node{Node: &pg_query.Node_IndexElem{IndexElem: &pg_query.IndexElem{Name: k.GetString_().GetSval(),
				Ordering: pg_query.SortByDir_SORTBY_DEFAULT, NullsOrdering: pg_query.SortByNulls_SORTBY_NULLS_DEFAULT}}})
		}
		return out
	}
	is.IndexParams = elems(con.GetKeys())
	is.IndexIncludingParams = elems(con.GetIncluding())
	build, err := deparseStmt(indexNode(is))
	if err != nil {
		return noSafeWay(err.Error())
	}
	using := withConstraintCmd(c, con, func(_ *pg_query.AlterTableCmd, k *pg_query.Constraint) {
		k.Conname, k.Indexname = name, name
		k.Keys, k.Including, k.Options, k.Indexspace, k.NullsNotDistinct = nil, nil, nil, "", false
	})
	attach, err := deparseStmt(alterNode(using))
	if err != nil {
		return noSafeWay(err.Error())
	}
	note := ""
	if con.GetContype() == pg_query.ConstrType_CONSTR_PRIMARY {
		note = "-- (ADD PRIMARY KEY USING INDEX also sets NOT NULL on its columns: a scan under ACCESS EXCLUSIVE unless they are NOT NULL already)\n"
	}
	return ownMigrationWithoutTransaction(c.mig.Kind, build) +
		fmt.Sprintf("\n-- if it fails, it leaves an INVALID index behind: drop it before retrying:\n-- DROP INDEX CONCURRENTLY IF EXISTS %s;\n-- then, in the next migration:\n%s%s",
			qualified(rel.GetSchemaname(), name), note, attach)
}

// safeLockWork is the safe way for lock work (question 6) on the statement.
func safeLockWork(c *stmtContext, r Rule) string {
	switch r.ID {
	case ruleBlockingIndexBuild.ID:
		if is := c.node.GetIndexStmt(); is != nil {
			return safeIndexBuild(c, is)
		}
		if rs := c.node.GetReindexStmt(); rs != nil {
			return safeReindex(c, rs)
		}
		return noSafeWay("PostgreSQL has no concurrent form of this statement; run it when the table is quiet, with SET lock_timeout.")
	case ruleTableRewrite.ID:
		if c.node.GetVacuumStmt() != nil || c.node.GetClusterStmt() != nil {
			return "-- pg_repack rebuilds a table online, holding ACCESS EXCLUSIVE only for the final swap."
		}
		if c.hasFinding(ruleTypeNarrowing.ID, ruleTypeRewrite.ID) {
			return "-- See the safe way of the type change on this statement."
		}
		if s, ok := safeVolatileDefault(c); ok {
			return s
		}
		return noSafeWay("no form of it avoids the rewrite; run it when the table is quiet, with SET lock_timeout, or rebuild the table online with pg_repack.")
	case ruleBlockingScan.ID:
		if at := c.node.GetAlterTableStmt(); at != nil {
			for _, cmd := range at.GetCmds() {
				if ac := cmd.GetAlterTableCmd(); ac.GetSubtype() == pg_query.AlterTableType_AT_AttachPartition {
					part := rangeVarName(ac.GetDef().GetPartitionCmd().GetName())
					return noSafeWay(fmt.Sprintf("add a CHECK to %s that matches the partition bound first (NOT VALID, then VALIDATE in its own migration), "+
						"so that ATTACH PARTITION finds it and skips its scan.", part))
				}
			}
		}
		return noSafeWay("no form of it avoids the scan; run it when the table is quiet, with SET lock_timeout.")
	}
	return noSafeWay("none is known for this rule.")
}

// safeVolatileDefault splits ADD COLUMN ... DEFAULT <volatile> (the only
// subcommand of the statement) into a column without a default, the
// default for new rows, and a batched backfill of the existing rows; a NOT
// NULL follows through a validated CHECK.
func safeVolatileDefault(c *stmtContext) (string, bool) {
	t, cmds, ok := c.alterTable()
	if !ok || len(cmds) != 1 || cmds[0].GetSubtype() != pg_query.AlterTableType_AT_AddColumn {
		return "", false
	}
	cd := cmds[0].GetDef().GetColumnDef()
	if cd == nil {
		return "", false
	}
	var def *pg_query.Node
	notNull := false
	at := pgtree.Clone(c.node.GetAlterTableStmt())
	ncd := at.Cmds[0].GetAlterTableCmd().GetDef().GetColumnDef()
	ncd.Constraints = nil
	for _, cn := range cd.GetConstraints() {
		switch k := cn.GetConstraint(); k.GetContype() {
		case pg_query.ConstrType_CONSTR_DEFAULT:
			def = k.GetRawExpr()
		case pg_query.ConstrType_CONSTR_NOTNULL:
			notNull = true
		case pg_query.ConstrType_CONSTR_NULL:
		default:
			// Keys, references, checks, identity and generated columns
			// change what the split would have to rebuild.
			return "", false
		}
	}
	if def == nil || cd.GetRawDefault() != nil {
		return "", false
	}
	if why := firesTriggers(t); why != "" {
		return noSafeWay(why), true
	}
	add, err := deparseStmt(alterNode(at))
	if err != nil {
		return "", false
	}
	col := quoteIdent(cd.GetColname())
	expr := deparseExpr(def)
	key := t.rowKey()
	var b strings.Builder
	fmt.Fprintf(&b, "-- Add the column without the volatile default (no rewrite), give new rows the default, then fill the existing rows in batches:\n%s\n", add)
	fmt.Fprintf(&b, "ALTER TABLE %[1]s ALTER COLUMN %[2]s SET DEFAULT %[3]s;\n"+
		"-- backfill in batches, one short transaction each, until it updates 0 rows:\n"+
		"UPDATE %[1]s SET %[2]s = %[3]s WHERE %[4]s IN (SELECT %[4]s FROM %[1]s WHERE %[2]s IS NULL LIMIT 10000);", t.name, col, expr, key)
	if notNull {
		b.WriteString("\n" + notNullAfterBackfill(c, t, cd.GetColname()))
	}
	return b.String(), true
}

// notNullAfterBackfill makes a filled column NOT NULL without a long
// ACCESS EXCLUSIVE scan: a CHECK added NOT VALID, validated under SHARE
// UPDATE EXCLUSIVE, which SET NOT NULL then trusts (PostgreSQL 12+).
func notNullAfterBackfill(c *stmtContext, t tableRef, column string) string {
	col := quoteIdent(column)
	check := quoteIdent(truncateName(t.rvName() + "_" + column + "_not_null"))
	s := fmt.Sprintf("ALTER TABLE %[1]s ADD CONSTRAINT %[2]s CHECK (%[3]s IS NOT NULL) NOT VALID;\n"+
		"-- next migration (VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes go on):\nALTER TABLE %[1]s VALIDATE CONSTRAINT %[2]s;\n", t.name, check, col)
	if c.cfg.PostgresVersion >= 12 {
		return s + fmt.Sprintf("ALTER TABLE %[1]s ALTER COLUMN %[2]s SET NOT NULL;  -- PostgreSQL 12+ uses the valid CHECK and skips the scan\n"+
			"ALTER TABLE %[1]s DROP CONSTRAINT %[3]s;", t.name, col, check)
	}
	return s + fmt.Sprintf("-- PostgreSQL %d cannot use the CHECK to skip SET NOT NULL's scan: keep the CHECK as the rule, or SET NOT NULL in a quiet window.", c.cfg.PostgresVersion)
}

// typeChangeSafeWay writes the safe way for a type change: a CHECK for a
// length limit, else expand and contract with a second column that a
// trigger keeps in step, swapped in for the old one in one short
// transaction, so the application keeps its column name throughout.
func typeChangeSafeWay(c *stmtContext, t tableRef, column, oldType string, newType catalog.Type, using *pg_query.Node) string {
	col := quoteIdent(column)
	if n := len(c.node.GetAlterTableStmt().GetCmds()); n > 1 {
		// Each change of the statement would need its own rewrite, in
		// step with the others: no rewrite of this part alone keeps the
		// statement's meaning.
		return noSafeWay(fmt.Sprintf("this ALTER TABLE makes %d changes at once; split it into one ALTER TABLE per change first, then change %s on its own.", n, t.qualifiedColumn(column)))
	}
	if newType.Name == "varchar" && len(newType.Mods) == 1 && narrowsText(oldType, int(newType.Mods[0])) {
		n := newType.Mods[0]
		check := quoteIdent(truncateName(t.rvName() + "_" + column + "_length"))
		return fmt.Sprintf("-- Count what would not fit first:\nSELECT count(*) FROM %[1]s WHERE char_length(%[2]s) > %[3]d;\n"+
			"-- Keep the type and enforce the limit without a rewrite:\nALTER TABLE %[1]s ADD CONSTRAINT %[4]s CHECK (char_length(%[2]s) <= %[3]d) NOT VALID;\n"+
			"-- next migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):\nALTER TABLE %[1]s VALIDATE CONSTRAINT %[4]s;", t.name, col, n, check)
	}
	if t.table == nil || t.column(column) == nil {
		return noSafeWay(fmt.Sprintf("%s is not known from the migrations, so what the replacement column must keep (default, NOT NULL, keys, indexes) is unknown.", t.qualifiedColumn(column)))
	}
	cur := t.column(column)
	if why := firesTriggers(t); why != "" {
		return noSafeWay(why)
	}
	// The primary key is rebuilt on the new column: a unique index built
	// concurrently beforehand, swapped in with USING INDEX. Anything else
	// that depends on the column is not.
	pk := t.table.PrimaryKey()
	var keeps []string
	rebuildKey := false
	for _, d := range c.cat.Dependents(catalog.ObjectRef{Kind: "column", Schema: t.table.Schema, Table: t.table.Name, Name: column}) {
		if pk != nil && d.Kind == "constraint" && d.Table == t.table.Name && d.Name == pk.Name && !d.NeedsCascade {
			rebuildKey = true
			continue
		}
		keeps = append(keeps, d.String())
	}
	if cur.Identity != "" {
		keeps = append(keeps, "its identity")
	}
	if cur.Generated != "" {
		keeps = append(keeps, "its generation expression")
	}
	if len(keeps) > 0 {
		return noSafeWay(fmt.Sprintf("a replacement column would have to rebuild %s on it, which this expand/contract does not write; "+
			"rebuild those by hand on the new column, or run the rewrite when the table is quiet, with SET lock_timeout.", joinObjects(keeps)))
	}
	expr := fmt.Sprintf("%s::%s", col, newType.SQL())
	if using != nil {
		expr = deparseExpr(using)
	}
	newCol := quoteIdent(truncateName(column + "_new"))
	fn := qualifiedSibling(t, truncateName(t.rvName()+"_sync_"+column+"_new"))
	trg := quoteIdent(truncateName(t.rvName() + "_sync_" + column + "_new"))
	key := t.rowKey()
	var b strings.Builder
	fmt.Fprintf(&b, `-- 1. Expand: a new column of the new type, kept in step by a trigger.
ALTER TABLE %[1]s ADD COLUMN %[3]s %[4]s;
CREATE FUNCTION %[6]s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.%[3]s := %[5]s;
  RETURN NEW;
END $$;
CREATE TRIGGER %[7]s BEFORE INSERT OR UPDATE ON %[1]s
  FOR EACH ROW EXECUTE FUNCTION %[6]s();
-- 2. Backfill in batches, one short transaction each, until it updates 0 rows:
UPDATE %[1]s SET %[3]s = %[9]s WHERE %[8]s IN (SELECT %[8]s FROM %[1]s WHERE %[3]s IS NULL AND %[2]s IS NOT NULL LIMIT 10000);
`, t.name, col, newCol, newType.SQL(), fromNew(expr, column), fn, trg, key, expr)
	check := quoteIdent(truncateName(t.rvName() + "_" + column + "_new_not_null"))
	if cur.NotNull {
		fmt.Fprintf(&b, "ALTER TABLE %[1]s ADD CONSTRAINT %[2]s CHECK (%[3]s IS NOT NULL) NOT VALID;\n"+
			"-- next migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):\nALTER TABLE %[1]s VALIDATE CONSTRAINT %[2]s;\n", t.name, check, newCol)
	}
	keyIndex := quoteIdent(truncateName(t.rvName() + "_" + column + "_new_key"))
	if rebuildKey {
		var keyCols []string
		for _, k := range pk.Columns {
			if k == column {
				keyCols = append(keyCols, newCol)
			} else {
				keyCols = append(keyCols, quoteIdent(k))
			}
		}
		include := ""
		if ix := t.table.Index(pk.Index); ix != nil && len(ix.Include) > 0 {
			include = " INCLUDE (" + strings.Join(quoteAll(ix.Include), ", ") + ")"
		}
		fmt.Fprintf(&b, "-- the primary key's index on the new column, built without blocking writes:\n%s\n",
			ownMigrationWithoutTransaction(c.mig.Kind, fmt.Sprintf("CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (%s)%s;", keyIndex, t.name, strings.Join(keyCols, ", "), include)))
	}
	fmt.Fprintf(&b, "-- 3. Contract: swap the columns in one short transaction; the application keeps using %s.\nBEGIN;\n"+
		"DROP TRIGGER %s ON %s;\nDROP FUNCTION %s();\n", col, trg, t.name, fn)
	if rebuildKey {
		fmt.Fprintf(&b, "ALTER TABLE %s DROP CONSTRAINT %s;\n", t.name, quoteIdent(pk.Name))
	}
	fmt.Fprintf(&b, "ALTER TABLE %s DROP COLUMN %s;\nALTER TABLE %s RENAME COLUMN %s TO %s;\n", t.name, col, t.name, newCol, col)
	if cur.DefaultNode != nil {
		// A constant default keeps the old type, converted to the new one
		// as ALTER TYPE converts it ('{}' of a jsonb column stays jsonb's
		// '{}' on a json one); an expression is kept as written.
		def := deparseExpr(cur.DefaultNode)
		if k := cur.DefaultNode.GetAConst(); k != nil && !k.GetIsnull() {
			def += "::" + cur.Type.SQL()
		}
		fmt.Fprintf(&b, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;\n", t.name, col, def)
	}
	if cur.NotNull {
		if c.cfg.PostgresVersion < 12 {
			return noSafeWay(fmt.Sprintf("%s is NOT NULL, and PostgreSQL %d cannot use a valid CHECK to skip SET NOT NULL's scan of the new column.", col, c.cfg.PostgresVersion))
		}
		fmt.Fprintf(&b, "ALTER TABLE %[1]s ALTER COLUMN %[2]s SET NOT NULL;  -- the valid CHECK spares the scan\nALTER TABLE %[1]s DROP CONSTRAINT %[3]s;\n", t.name, col, check)
	}
	if rebuildKey {
		deferrable := ""
		if pk.Deferrable {
			deferrable = " DEFERRABLE"
			if pk.InitiallyDeferred {
				deferrable += " INITIALLY DEFERRED"
			}
		}
		fmt.Fprintf(&b, "ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY USING INDEX %s%s;\n", t.name, quoteIdent(pk.Name), keyIndex, deferrable)
	}
	b.WriteString("COMMIT;")
	return b.String()
}

// valuePlaceholder stands for the value the operator must choose; the
// deparser prints it as a bare identifier, which is then shown as <value>.
const valuePlaceholder = "mg_value_placeholder"

// safeAddColumnNotNull adds the statement's column with a constant default
// for the existing rows (PostgreSQL 11+ stores it once, without a rewrite)
// and then drops the default, so new rows must give a value as the
// original asked. Everything else in the statement is kept as written.
func safeAddColumnNotNull(c *stmtContext, cd *pg_query.ColumnDef) string {
	at := c.node.GetAlterTableStmt()
	if at == nil {
		return noSafeWay("the statement could not be copied.")
	}
	cp := pgtree.Clone(at)
	var target *pg_query.ColumnDef
	for i, cmd := range at.GetCmds() {
		if cmd.GetAlterTableCmd().GetDef().GetColumnDef() == cd {
			target = cp.Cmds[i].GetAlterTableCmd().GetDef().GetColumnDef()
		}
	}
	if target == nil {
		return noSafeWay("the statement could not be copied.")
	}
	target.Constraints = append(target.Constraints, &pg_query.Node{Node: &pg_query.Node_Constraint{Constraint: &pg_query.Constraint{
		Contype: pg_query.ConstrType_CONSTR_DEFAULT, RawExpr: pg_query.MakeColumnRefNode([]*pg_query.Node{pg_query.MakeStrNode(valuePlaceholder)}, 0)}}})
	add, err := deparseStmt(alterNode(cp))
	if err != nil {
		return noSafeWay(err.Error())
	}
	add = strings.Replace(add, valuePlaceholder, "<value>", 1)
	drop := &pg_query.AlterTableStmt{Relation: cp.GetRelation(), Objtype: cp.GetObjtype(),
		Cmds: []*pg_query.Node{{Node: &pg_query.Node_AlterTableCmd{AlterTableCmd: &pg_query.AlterTableCmd{
			Subtype: pg_query.AlterTableType_AT_ColumnDefault, Name: cd.GetColname(), Behavior: pg_query.DropBehavior_DROP_RESTRICT}}}}}
	dropSQL, err := deparseStmt(alterNode(drop))
	if err != nil {
		return noSafeWay(err.Error())
	}
	return "-- Existing rows get <value>, a constant stored once without a rewrite (PostgreSQL 11+); new rows must give one, as before:\n" + add + "\n" + dropSQL
}

// safeColumnRename writes the expand/contract of a column rename: a new
// column with the same type, default and NOT NULL, kept in step with the
// old one by a trigger while old and new code run, backfilled in batches;
// the old column dropped later. Indexes, constraints, views and identity
// on the column would have to be rebuilt on the new one, which it does not
// write: then it prints none and says so.
func safeColumnRename(c *stmtContext, t tableRef, old, newName string) string {
	cur := t.column(old)
	if t.table == nil || cur == nil {
		return noSafeWay(fmt.Sprintf("%s is not known from the migrations, so what the new column must keep (type, default, NOT NULL, keys, indexes) is unknown.", t.qualifiedColumn(old)))
	}
	var keeps []string
	for _, d := range c.cat.Dependents(catalog.ObjectRef{Kind: "column", Schema: t.table.Schema, Table: t.table.Name, Name: old}) {
		keeps = append(keeps, d.String())
	}
	if cur.Identity != "" {
		keeps = append(keeps, "its identity")
	}
	if cur.Generated != "" {
		keeps = append(keeps, "its generation expression")
	}
	if len(keeps) > 0 {
		return noSafeWay(fmt.Sprintf("a new column would have to rebuild %s on it, which this expand/contract does not write; "+
			"deploy code that copes with both names first, or rebuild those by hand on the new column.", joinObjects(keeps)))
	}
	if why := firesTriggers(t); why != "" {
		return noSafeWay(why)
	}
	fn := qualifiedSibling(t, truncateName(t.rvName()+"_sync_"+newName))
	trigger := quoteIdent(truncateName(t.rvName() + "_sync_" + newName))
	o, n := quoteIdent(old), quoteIdent(newName)
	def := ""
	if cur.DefaultNode != nil {
		def = " DEFAULT " + deparseExpr(cur.DefaultNode)
	}
	coll := ""
	if cur.Collation != "" {
		coll = " COLLATE " + quoteIdent(cur.Collation)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `-- 1. Expand: add the new column and keep both in step while old and new code run.
ALTER TABLE %[1]s ADD COLUMN %[3]s %[4]s%[8]s%[9]s;
CREATE FUNCTION %[5]s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.%[3]s := COALESCE(NEW.%[3]s, NEW.%[2]s);
    NEW.%[2]s := COALESCE(NEW.%[2]s, NEW.%[3]s);
  ELSIF NEW.%[2]s IS DISTINCT FROM OLD.%[2]s THEN
    NEW.%[3]s := NEW.%[2]s;
  ELSIF NEW.%[3]s IS DISTINCT FROM OLD.%[3]s THEN
    NEW.%[2]s := NEW.%[3]s;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER %[6]s BEFORE INSERT OR UPDATE ON %[1]s
  FOR EACH ROW EXECUTE FUNCTION %[5]s();
-- 2. Backfill in batches, one short transaction each, until it updates 0 rows:
UPDATE %[1]s SET %[3]s = %[2]s WHERE %[7]s IN (SELECT %[7]s FROM %[1]s WHERE %[3]s IS DISTINCT FROM %[2]s LIMIT 10000);
`, t.name, o, n, cur.Type.SQL(), fn, trigger, t.rowKey(), coll, def)
	if cur.NotNull {
		b.WriteString(notNullAfterBackfill(c, t, newName) + "\n")
	}
	fmt.Fprintf(&b, `-- 3. Deploy code that reads and writes %[3]s only.
-- 4. Contract, in a later release:
DROP TRIGGER %[2]s ON %[1]s;
DROP FUNCTION %[4]s();
ALTER TABLE %[1]s DROP COLUMN %[5]s;`, t.name, trigger, n, fn, o)
	return b.String()
}

// safeForeignKeyIndex builds the index a new foreign key needs,
// CONCURRENTLY, in a migration of its own without a transaction in the
// layout of the file that added the key: pasted into a migration the tool
// wraps in a transaction, CONCURRENTLY fails.
func safeForeignKeyIndex(rep *Report, st *Statement, t *catalog.Table, cols []string) string {
	name := quoteIdent(truncateName(t.Name + "_" + strings.Join(cols, "_") + "_idx"))
	if t.Origin.InChangeSet {
		return fmt.Sprintf("-- %s is created in this change, so it is empty: build the index in the same migration, without CONCURRENTLY:\nCREATE INDEX %s ON %s (%s);",
			t.QualifiedName(), name, t.QualifiedName(), strings.Join(quoteAll(cols), ", "))
	}
	kind := layout.Kind("")
	for _, f := range rep.Files {
		if f.Path == st.Path || f.DownPath == st.Path {
			kind = layout.Kind(f.Layout)
		}
	}
	return ownMigrationWithoutTransaction(kind, fmt.Sprintf("CREATE INDEX CONCURRENTLY %s ON %s (%s);", name, t.QualifiedName(), strings.Join(quoteAll(cols), ", ")))
}

// batchedUpdate writes the statement's UPDATE in batches of one short
// transaction each, repeated until it updates 0 rows: each batch takes rows
// whose columns do not hold their new value yet. The UPDATE keeps its
// alias, which its values may use. It returns "" and why when no such
// batch is faithful: when a new value is computed from a column the
// UPDATE sets (SET n = n + 1, SET tags = tags || ...), a row already
// updated still differs from its "new" value, so the batches would never
// end or would apply the change twice; when the values come from a join
// (FROM), which the batch would lose.
func batchedUpdate(t tableRef, us *pg_query.UpdateStmt, label string) (string, string) {
	if len(us.GetFromClause()) > 0 {
		return "", "its values come from a join (UPDATE ... FROM); write the batches with the join's condition by hand, each taking rows the join matches and that do not hold their new value yet."
	}
	alias := us.GetRelation().GetAlias().GetAliasname()
	set := map[string]bool{}
	for _, tgt := range us.GetTargetList() {
		set[tgt.GetResTarget().GetName()] = true
	}
	// readsSet says an expression reads a column the UPDATE sets, of the
	// updated row (unqualified, or qualified with the table or its alias;
	// an unqualified name in a subquery is counted too: the careful side).
	readsSet := func(n *pg_query.Node) string {
		found := ""
		pgtree.Walk(n, func(x *pg_query.Node) bool {
			names := pgtree.Names(x.GetColumnRef().GetFields())
			if len(names) == 0 || found != "" {
				return found == ""
			}
			col := names[len(names)-1]
			if !set[col] {
				return true
			}
			if len(names) == 1 || names[len(names)-2] == alias || names[len(names)-2] == us.GetRelation().GetRelname() {
				found = col
			}
			return true
		})
		return found
	}
	var sets, notDone []string
	for _, tgt := range us.GetTargetList() {
		rt := tgt.GetResTarget()
		if rt == nil || len(rt.GetIndirection()) > 0 || rt.GetVal().GetMultiAssignRef() != nil {
			return "", "it sets part of a column or several columns from one row expression; write the batches by hand."
		}
		val := rt.GetVal()
		// SET x = x and SET x = COALESCE(x, ...) keep every value: only
		// their other arguments must not read what the UPDATE sets.
		check := []*pg_query.Node{val}
		if ce := val.GetCoalesceExpr(); ce != nil && len(ce.GetArgs()) >= 2 && pgtree.Names(ce.GetArgs()[0].GetColumnRef().GetFields()) != nil &&
			lastName(pgtree.Names(ce.GetArgs()[0].GetColumnRef().GetFields())) == rt.GetName() {
			check = ce.GetArgs()[1:]
		} else if names := pgtree.Names(val.GetColumnRef().GetFields()); len(names) > 0 && lastName(names) == rt.GetName() {
			check = nil
		}
		if fn := volatileCall(val); fn != "" {
			return "", fmt.Sprintf("the new value of %s comes from %s(), which gives another value at each call, so a batch cannot tell a row it already updated from one it did not "+
				"(the batches would never end); batch it by ranges of %s by hand, each range updated once.", quoteIdent(rt.GetName()), fn, t.rowKey())
		}
		for _, n := range check {
			if col := readsSet(n); col != "" {
				return "", fmt.Sprintf("the new value of %s is computed from %s, which the UPDATE sets, so a batch cannot tell a row it already updated from one it did not "+
					"(the batches would never end, or apply the change twice); batch it by ranges of %s by hand, each range updated once.", quoteIdent(rt.GetName()), quoteIdent(col), t.rowKey())
			}
		}
		v := deparseExpr(val)
		sets = append(sets, fmt.Sprintf("%s = %s", quoteIdent(rt.GetName()), v))
		// The value is compared as the column stores it: a json value
		// with a jsonb column, an enum with a text one, have no "=".
		// json itself has none: it is compared as text.
		done := fmt.Sprintf("%s IS DISTINCT FROM %s", quoteIdent(rt.GetName()), v)
		if col := t.column(rt.GetName()); col != nil {
			switch {
			case col.Type.Name == "json" && col.Type.ArrayDims == 0:
				done = fmt.Sprintf("%s::text IS DISTINCT FROM ((%s)::json)::text", quoteIdent(rt.GetName()), v)
			case val.GetAConst().GetSval() != nil || val.GetAConst().GetIsnull():
				// A quoted literal takes the column's type by itself.
			default:
				done = fmt.Sprintf("%s IS DISTINCT FROM (%s)::%s", quoteIdent(rt.GetName()), v, col.Type.SQL())
			}
		}
		notDone = append(notDone, done)
	}
	if len(sets) == 0 {
		return "", "it sets no column."
	}
	rel := t.name
	if alias != "" {
		rel += " AS " + quoteIdent(alias)
	}
	key := t.rowKey()
	return fmt.Sprintf("-- %s in batches, one short transaction each, repeated until it updates 0 rows:\n"+
		"UPDATE %[2]s SET %[3]s WHERE %[4]s IN (SELECT %[4]s FROM %[2]s WHERE %[5]s LIMIT 10000);",
		label, rel, strings.Join(sets, ", "), key, strings.Join(notDone, " OR ")), ""
}

// safeBatchedUpdate is batchedUpdate's SQL, or why there is none.
func safeBatchedUpdate(t tableRef, us *pg_query.UpdateStmt, label string) string {
	sql, why := batchedUpdate(t, us, label)
	if sql == "" {
		return noSafeWay(why)
	}
	return sql
}

// firesTriggers says why a backfill the safe way adds would change more
// than the statement: the table's triggers on UPDATE (an updated_at
// stamp, an audit row) fire for every row it writes, where the statement
// itself (DDL) fires none. "" when the table has no such trigger.
func firesTriggers(t tableRef) string {
	if t.table == nil || len(t.table.UpdateTriggers) == 0 {
		return ""
	}
	return fmt.Sprintf("its batched UPDATE would fire the triggers on UPDATE of %s (%s) for every row, which the statement itself does not; "+
		"backfill with them disabled for the session (SET session_replication_role = replica, which needs a superuser) if that is right, "+
		"or run the statement when the table is quiet, with SET lock_timeout.", t.name, strings.Join(quoteAll(t.table.UpdateTriggers), ", "))
}

// narrowsText says a text or varchar column of type old becomes varchar(n)
// with fewer characters allowed: then keeping the type with a CHECK on
// the length means the same for every value. Not for char(m), whose
// values are padded, nor for a wider varchar.
func narrowsText(old string, n int) bool {
	if old == "text" || old == "varchar" || old == "character varying" {
		return true
	}
	var m int
	if _, err := fmt.Sscanf(old, "varchar(%d)", &m); err == nil {
		return m > n
	}
	if _, err := fmt.Sscanf(old, "character varying(%d)", &m); err == nil {
		return m > n
	}
	return false
}

// restOfAlter is the statement's ALTER TABLE without the subcommands skip
// matches: the safe way of one subcommand ends with it, since the rest of
// the statement still has to run (a SET DEFAULT beside the SET NOT NULL).
// "" when nothing is left.
func restOfAlter(c *stmtContext, skip func(*pg_query.AlterTableCmd) bool) string {
	at := c.node.GetAlterTableStmt()
	if at == nil {
		return ""
	}
	cp := pgtree.Clone(at)
	cp.Cmds = nil
	for _, cmd := range at.GetCmds() {
		if !skip(cmd.GetAlterTableCmd()) {
			cp.Cmds = append(cp.Cmds, pgtree.Clone(cmd))
		}
	}
	if len(cp.Cmds) == 0 {
		return ""
	}
	sql, err := deparseStmt(alterNode(cp))
	if err != nil {
		return ""
	}
	return sql
}

// volatileCall names a function in the expression whose value changes from
// call to call or from transaction to transaction ("" when none).
func volatileCall(n *pg_query.Node) string {
	found := ""
	pgtree.Walk(n, func(x *pg_query.Node) bool {
		if found != "" {
			return false
		}
		if fc := x.GetFuncCall(); fc != nil {
			switch name := lastName(pgtree.Names(fc.GetFuncname())); name {
			case "random", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v4", "clock_timestamp", "now", "statement_timestamp",
				"transaction_timestamp", "timeofday", "nextval", "random_normal":
				found = name
			}
		}
		if x.GetSqlvalueFunction() != nil {
			found = "CURRENT_TIMESTAMP"
		}
		return found == ""
	})
	return found
}
