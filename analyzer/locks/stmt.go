package locks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

const plannerIndexNote = "the planner takes ACCESS SHARE on every index of a table it plans a query for, so an ACCESS EXCLUSIVE lock on one index blocks SELECTs on the table too"

func (b *builder) statement(n *pg_query.Node) {
	switch s := n.GetNode().(type) {
	case nil:
		b.unknown("empty statement")
	case *pg_query.Node_AlterTableStmt:
		b.alterTable(s.AlterTableStmt)
	case *pg_query.Node_RenameStmt:
		b.rename(s.RenameStmt)
	case *pg_query.Node_IndexStmt:
		b.createIndex(s.IndexStmt)
	case *pg_query.Node_DropStmt:
		b.drop(s.DropStmt)
	case *pg_query.Node_TruncateStmt:
		b.truncate(s.TruncateStmt)
	case *pg_query.Node_CreateTrigStmt:
		r := b.resolve(s.CreateTrigStmt.GetRelation())
		b.lockRel(r, "", ShareRowExclusive)
		b.note("CREATE TRIGGER takes SHARE ROW EXCLUSIVE: writes wait until the transaction ends, reads continue")
	case *pg_query.Node_VacuumStmt:
		b.vacuum(s.VacuumStmt)
	case *pg_query.Node_ClusterStmt:
		b.cluster(s.ClusterStmt)
	case *pg_query.Node_ReindexStmt:
		b.reindex(s.ReindexStmt)
	case *pg_query.Node_CreateTableAsStmt:
		b.createTableAs(s.CreateTableAsStmt.GetQuery(), s.CreateTableAsStmt.GetInto(), s.CreateTableAsStmt.GetObjtype())
	case *pg_query.Node_RefreshMatViewStmt:
		b.refresh(s.RefreshMatViewStmt)
	case *pg_query.Node_AlterEnumStmt:
		b.alterEnum(s.AlterEnumStmt)
	case *pg_query.Node_UpdateStmt:
		b.update(s.UpdateStmt)
	case *pg_query.Node_DeleteStmt:
		b.delete(s.DeleteStmt)
	case *pg_query.Node_InsertStmt:
		b.insert(s.InsertStmt)
	case *pg_query.Node_MergeStmt:
		b.merge(s.MergeStmt)
	case *pg_query.Node_CopyStmt:
		b.copy(s.CopyStmt)
	case *pg_query.Node_SelectStmt:
		b.selectStmt(s.SelectStmt)
	case *pg_query.Node_CreateStmt:
		b.createTable(s.CreateStmt, "table")
	case *pg_query.Node_CreateForeignTableStmt:
		b.createTable(s.CreateForeignTableStmt.GetBaseStmt(), "foreign table")
	case *pg_query.Node_ViewStmt:
		b.createView(s.ViewStmt)
	case *pg_query.Node_CommentStmt:
		b.comment(s.CommentStmt)
	case *pg_query.Node_LockStmt:
		b.lockStmt(s.LockStmt)
	case *pg_query.Node_DoStmt:
		b.unknown("a DO block runs arbitrary code: its locks and work cannot be known from the text; review what it executes")
	case *pg_query.Node_CallStmt:
		b.unknown("CALL runs a procedure: its locks and work cannot be known from the text; review what it executes")
	case *pg_query.Node_ExecuteStmt:
		b.unknown("EXECUTE runs a prepared statement: its locks cannot be known from the text")
	case *pg_query.Node_AlterSeqStmt:
		r := b.resolve(s.AlterSeqStmt.GetSequence())
		b.lockRel(r, "sequence", ShareRowExclusive)
	case *pg_query.Node_AlterDomainStmt:
		b.alterDomain(s.AlterDomainStmt)
	case *pg_query.Node_CreatePolicyStmt:
		b.lockRel(b.resolve(s.CreatePolicyStmt.GetTable()), "", AccessExclusive)
	case *pg_query.Node_AlterPolicyStmt:
		b.lockRel(b.resolve(s.AlterPolicyStmt.GetTable()), "", AccessExclusive)
	case *pg_query.Node_RuleStmt:
		b.lockRel(b.resolve(s.RuleStmt.GetRelation()), "", AccessExclusive)
	case *pg_query.Node_CreateStatsStmt:
		for _, f := range s.CreateStatsStmt.GetRelations() {
			if rv := f.GetRangeVar(); rv != nil {
				b.lockRel(b.resolve(rv), "", ShareUpdateExclusive)
			}
		}
	case *pg_query.Node_AlterObjectSchemaStmt:
		b.setSchema(s.AlterObjectSchemaStmt)
	case *pg_query.Node_CreatePublicationStmt:
		b.publicationTables(s.CreatePublicationStmt.GetPubobjects())
	case *pg_query.Node_AlterPublicationStmt:
		b.publicationTables(s.AlterPublicationStmt.GetPubobjects())
	case *pg_query.Node_ExplainStmt:
		b.explain(s.ExplainStmt)
	case *pg_query.Node_CreateSchemaStmt:
		b.createSchema(s.CreateSchemaStmt)
	case *pg_query.Node_GrantStmt:
		// Measured: GRANT and REVOKE on a table take no table lock.
	case *pg_query.Node_TransactionStmt, *pg_query.Node_VariableSetStmt, *pg_query.Node_VariableShowStmt,
		*pg_query.Node_CreateSeqStmt, *pg_query.Node_CreateEnumStmt, *pg_query.Node_CreateDomainStmt,
		*pg_query.Node_CreateFunctionStmt, *pg_query.Node_AlterFunctionStmt, *pg_query.Node_CreateExtensionStmt,
		*pg_query.Node_AlterExtensionStmt, *pg_query.Node_GrantRoleStmt, *pg_query.Node_CreateRoleStmt,
		*pg_query.Node_AlterRoleStmt, *pg_query.Node_DropRoleStmt, *pg_query.Node_AlterDefaultPrivilegesStmt,
		*pg_query.Node_CompositeTypeStmt, *pg_query.Node_CreateRangeStmt, *pg_query.Node_DefineStmt,
		*pg_query.Node_CreateCastStmt, *pg_query.Node_CreateConversionStmt, *pg_query.Node_DiscardStmt,
		*pg_query.Node_NotifyStmt, *pg_query.Node_ListenStmt, *pg_query.Node_UnlistenStmt,
		*pg_query.Node_CheckPointStmt, *pg_query.Node_DeallocateStmt, *pg_query.Node_PrepareStmt,
		*pg_query.Node_CreateOpClassStmt, *pg_query.Node_CreateOpFamilyStmt, *pg_query.Node_CreateFdwStmt,
		*pg_query.Node_CreateForeignServerStmt, *pg_query.Node_CreateUserMappingStmt,
		*pg_query.Node_AlterTsconfigurationStmt, *pg_query.Node_AlterTsdictionaryStmt,
		*pg_query.Node_CreateTableSpaceStmt, *pg_query.Node_CreateEventTrigStmt, *pg_query.Node_CreatePlangStmt,
		*pg_query.Node_CreateTransformStmt, *pg_query.Node_AlterOwnerStmt, *pg_query.Node_AlterEventTrigStmt,
		*pg_query.Node_AlterCollationStmt, *pg_query.Node_AlterTypeStmt, *pg_query.Node_AlterOperatorStmt,
		*pg_query.Node_CreateAmStmt, *pg_query.Node_SecLabelStmt, *pg_query.Node_AlterExtensionContentsStmt:
		// Catalog objects that are not tables: no table lock.
	default:
		b.unknown(fmt.Sprintf("%s is not modelled: its locks are unknown", nodeName(n)))
	}
}

// nodeName names a statement node for notes ("DropOwnedStmt").
func nodeName(n *pg_query.Node) string {
	name := fmt.Sprintf("%T", n.GetNode())
	name = strings.TrimPrefix(name, "*pg_query.Node_")
	return name
}

// ---------------------------------------------------------------- indexes

func (b *builder) createIndex(s *pg_query.IndexStmt) {
	r := b.resolve(s.GetRelation())
	conc := s.GetConcurrent()
	if r.t != nil && s.GetIdxname() != "" && r.t.Index(s.GetIdxname()) != nil && s.GetIfNotExists() {
		b.lockRel(r, "", Share)
		b.note("the index already exists: IF NOT EXISTS makes this a no-op after taking the table lock")
		return
	}
	if conc {
		b.imp.Concurrently = true
		b.imp.HeldUntilCommit = false
		b.imp.OutsideTransaction = true
		b.lockRel(r, "", ShareUpdateExclusive)
		b.work(IndexBuild, r.name, 2)
		b.note("CREATE INDEX CONCURRENTLY holds SHARE UPDATE EXCLUSIVE (reads and writes continue) and scans the table twice; it first waits for every transaction writing to the table and at the end for every older snapshot")
		b.note("if it fails it leaves an INVALID index behind that must be dropped before retrying")
		if r.partitioned() {
			b.note("PostgreSQL 11-17 cannot create an index concurrently on a partitioned table: create it ON ONLY the parent, build each partition's index concurrently and ALTER INDEX ... ATTACH PARTITION")
		}
		if b.ver == 14 {
			b.note("PostgreSQL 14.0-14.3 could build corrupt indexes concurrently; run 14.4 or later")
		}
		return
	}
	b.lockRel(r, "", Share)
	if s.GetIdxname() != "" {
		schema := s.GetRelation().GetSchemaname()
		if r.t != nil {
			schema = r.t.Schema
		}
		b.lock(qualify(schema, s.GetIdxname()), "index", AccessExclusive, false)
	}
	if r.partitioned() && !s.GetRelation().GetInh() {
		b.note("ON ONLY creates an invalid index on the parent alone: nothing is built until each partition's index is attached")
		return
	}
	if r.partitioned() {
		b.lockPartitions(r.t, Share, false)
	}
	b.work(IndexBuild, r.name, 1)
	b.note("CREATE INDEX takes SHARE on the table: reads continue, every INSERT/UPDATE/DELETE waits for the whole build; CREATE INDEX CONCURRENTLY avoids that")
}

func (b *builder) reindex(s *pg_query.ReindexStmt) {
	conc := false
	for _, p := range s.GetParams() {
		if de := p.GetDefElem(); de != nil && de.GetDefname() == "concurrently" && defElemTrue(de) {
			conc = true
		}
	}
	tableMode, indexMode, scansPer := Share, AccessExclusive, 1
	if conc {
		b.imp.Concurrently = true
		b.imp.HeldUntilCommit = false
		b.imp.OutsideTransaction = true
		tableMode, scansPer = ShareUpdateExclusive, 2
		if b.ver < 12 {
			b.note("REINDEX CONCURRENTLY needs PostgreSQL 12 or later; on this version it is a syntax error")
		}
		b.note("REINDEX CONCURRENTLY builds a new index beside the old one under SHARE UPDATE EXCLUSIVE, then swaps them; the old index is locked ACCESS EXCLUSIVE only briefly, at the swap and drop")
	}
	switch s.GetKind() {
	case pg_query.ReindexObjectType_REINDEX_OBJECT_INDEX:
		rv := s.GetRelation()
		ix, t, name := b.lookupIndex(rv.GetSchemaname(), rv.GetRelname())
		if t != nil {
			b.lockRel(b.resolveTable(t), "", tableMode)
			b.lockIndex(t, ix, indexMode)
			b.work(IndexBuild, t.QualifiedName(), scansPer)
		} else {
			b.lock(name, "index", indexMode, true)
			b.work(IndexBuild, name, scansPer)
			b.note(fmt.Sprintf("the index's table is not known; it is locked %s as well", tableMode))
		}
		if !conc {
			b.note("REINDEX INDEX blocks SELECTs as well as writes: " + plannerIndexNote)
		}
	case pg_query.ReindexObjectType_REINDEX_OBJECT_TABLE:
		r := b.resolve(s.GetRelation())
		b.lockRel(r, "", tableMode)
		b.lockIndexes(r.t, indexMode)
		n := 1
		if r.t != nil {
			n = max(len(r.t.Indexes), 1)
		}
		if r.partitioned() {
			if b.ver < 14 {
				b.note("REINDEX of a partitioned table needs PostgreSQL 14 or later")
			}
			for _, p := range b.partitionsOf(r.t) {
				b.lockRel(b.resolveTable(p), "", tableMode)
				b.lockIndexes(p, indexMode)
			}
		}
		b.work(IndexBuild, r.name, n*scansPer)
		if !conc {
			b.note("REINDEX TABLE locks every index ACCESS EXCLUSIVE: reads and writes wait for the whole rebuild")
		}
	default:
		b.imp.OutsideTransaction = true
		b.imp.HeldUntilCommit = false
		b.work(IndexBuild, "", 1)
		if s.GetKind() == pg_query.ReindexObjectType_REINDEX_OBJECT_SCHEMA {
			for _, t := range b.cat.Tables() {
				if t.Schema == s.GetName() && len(t.Indexes) > 0 {
					b.lockRel(b.resolveTable(t), "", tableMode)
					b.lockIndexes(t, indexMode)
				}
			}
		}
		b.unknown("REINDEX SCHEMA/DATABASE/SYSTEM rebuilds every index it covers, one table at a time, each in its own transaction; tables no migration created are not listed")
	}
}

func defElemTrue(de *pg_query.DefElem) bool {
	a := de.GetArg()
	if a == nil {
		return true
	}
	if s := a.GetString_(); s != nil {
		v := strings.ToLower(s.GetSval())
		return v != "false" && v != "off" && v != "0"
	}
	if i := a.GetInteger(); i != nil {
		return i.GetIval() != 0
	}
	if bl := a.GetBoolean(); bl != nil {
		return bl.GetBoolval()
	}
	return true
}

// ---------------------------------------------------------------- drops

func (b *builder) drop(s *pg_query.DropStmt) {
	cascade := s.GetBehavior() == pg_query.DropBehavior_DROP_CASCADE
	switch s.GetRemoveType() {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_FOREIGN_TABLE,
		pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW:
		for _, o := range s.GetObjects() {
			r := b.resolveNames(o.GetList().GetItems())
			if r.name == "" {
				continue
			}
			b.dropRelation(r, cascade)
		}
		b.note("the files are removed at COMMIT; the locks are held until then")
	case pg_query.ObjectType_OBJECT_SEQUENCE:
		for _, o := range s.GetObjects() {
			schema, name := splitNames(o.GetList().GetItems())
			if seq := b.cat.Sequence(schema, name); seq != nil {
				b.lock(seq.QualifiedName(), "sequence", AccessExclusive, !seq.Origin.InChangeSet)
			} else if name != "" {
				b.lock(qualifyIf(schema, name), "sequence", AccessExclusive, true)
			}
		}
	case pg_query.ObjectType_OBJECT_INDEX:
		b.dropIndex(s)
	case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
		for _, o := range s.GetObjects() {
			tn := o.GetTypeName()
			if tn == nil {
				continue
			}
			schema, name := splitNames(tn.GetNames())
			kind := "type"
			if s.GetRemoveType() == pg_query.ObjectType_OBJECT_DOMAIN {
				kind = "domain"
			}
			b.lock(b.typeName(schema, name), "type", AccessExclusive, b.typeExisting(schema, name))
			if e := b.cat.Enum(schema, name); e != nil {
				schema = e.Schema
			} else if d := b.cat.Domain(schema, name); d != nil {
				schema = d.Schema
			}
			if schema != "" {
				b.dropDependents(catalog.ObjectRef{Kind: kind, Schema: schema, Name: name}, cascade)
			}
		}
	case pg_query.ObjectType_OBJECT_SCHEMA:
		for _, o := range s.GetObjects() {
			name := o.GetString_().GetSval()
			if name == "" {
				continue
			}
			b.dropDependents(catalog.ObjectRef{Kind: "schema", Name: name}, cascade)
		}
	case pg_query.ObjectType_OBJECT_TRIGGER, pg_query.ObjectType_OBJECT_POLICY, pg_query.ObjectType_OBJECT_RULE:
		for _, o := range s.GetObjects() {
			items := o.GetList().GetItems()
			if len(items) < 2 {
				continue
			}
			b.lockRel(b.resolveNames(items[:len(items)-1]), "", AccessExclusive)
		}
	}
}

func qualifyIf(schema, name string) string {
	if schema == "" {
		return catalog.QuoteIdent(name)
	}
	return qualify(schema, name)
}

// dropRelation locks what DROP TABLE/VIEW takes: the relation, its
// indexes and owned sequences, the tables its foreign keys point at (their
// triggers are dropped: measured ACCESS EXCLUSIVE), a partition's parent,
// and with CASCADE everything that goes with it.
func (b *builder) dropRelation(r rel, cascade bool) {
	b.lockRel(r, "", AccessExclusive)
	if r.t == nil {
		b.note(fmt.Sprintf("%s is not known: its indexes, the tables its foreign keys reference and the tables referencing it are locked ACCESS EXCLUSIVE too", r.name))
		return
	}
	t := r.t
	b.lockIndexes(t, AccessExclusive)
	b.lockSequences(t, AccessExclusive)
	b.lockReferenced(t, AccessExclusive)
	if p := b.cat.Parent(t); p != nil {
		b.lockRel(b.resolveTable(p), "", AccessExclusive)
	}
	for _, p := range b.partitionsOf(t) {
		b.lockRel(b.resolveTable(p), "", AccessExclusive)
		b.lockIndexes(p, AccessExclusive)
		b.lockSequences(p, AccessExclusive)
		b.lockReferenced(p, AccessExclusive)
	}
	ref := catalog.ObjectRef{Kind: "table", Schema: t.Schema, Name: t.Name}
	switch t.Kind {
	case catalog.KindView:
		ref.Kind = "view"
	case catalog.KindMaterializedView:
		ref.Kind = "materialized view"
	case catalog.KindForeignTable:
		ref.Kind = "foreign table"
	}
	b.dropDependents(ref, cascade)
}

// lockReferenced locks the tables t's foreign keys point at.
func (b *builder) lockReferenced(t *catalog.Table, m Mode) {
	for _, k := range t.Constraints {
		if k.Kind != catalog.ForeignKey {
			continue
		}
		if p := b.cat.Table(k.RefSchema, k.RefTable); p != nil {
			b.lockRel(b.resolveTable(p), "referenced table", m)
		} else {
			b.lock(qualifyIf(k.RefSchema, k.RefTable), "referenced table", m, true)
		}
	}
}

// dropDependents locks what DROP ... CASCADE removes along with obj. Without
// CASCADE the statement fails if anything depends on obj.
func (b *builder) dropDependents(obj catalog.ObjectRef, cascade bool) {
	deps := b.cat.Dependents(obj)
	var blockers []string
	for _, d := range deps {
		if d.NeedsCascade && !cascade {
			blockers = append(blockers, d.String())
		}
	}
	if len(blockers) > 0 {
		b.note("fails without CASCADE: " + strings.Join(blockers, ", ") + " depend(s) on it")
		return
	}
	for _, d := range deps {
		switch d.Kind {
		case "table", "view", "materialized view", "foreign table":
			if t := b.cat.Table(d.Schema, d.Name); t != nil {
				r := b.resolveTable(t)
				b.lockRel(r, "", AccessExclusive)
				b.lockIndexes(t, AccessExclusive)
				b.lockSequences(t, AccessExclusive)
				if obj.Kind == "schema" {
					b.lockReferenced(t, AccessExclusive)
				}
			}
		case "constraint", "column":
			// A dependent foreign key is dropped with its triggers, a
			// dependent column (of a dropped type) with the table's
			// ACCESS EXCLUSIVE; either way its table is locked.
			if t := b.cat.Table(d.Schema, d.Table); t != nil {
				kind := ""
				if k := t.Constraint(d.Name); d.Kind == "constraint" && k != nil && k.Kind == catalog.ForeignKey {
					kind = "referencing table"
				}
				b.lockRel(b.resolveTable(t), kind, AccessExclusive)
			}
		case "index":
			if ix, t := b.cat.IndexByName(d.Schema, d.Name); ix != nil {
				b.lockIndex(t, ix, AccessExclusive)
			}
		case "sequence":
			if s := b.cat.Sequence(d.Schema, d.Name); s != nil {
				b.lock(s.QualifiedName(), "sequence", AccessExclusive, !s.Origin.InChangeSet)
			}
		}
	}
}

func (b *builder) dropIndex(s *pg_query.DropStmt) {
	conc := s.GetConcurrent()
	if conc {
		b.imp.Concurrently = true
		b.imp.HeldUntilCommit = false
		b.imp.OutsideTransaction = true
	}
	for _, o := range s.GetObjects() {
		schema, name := splitNames(o.GetList().GetItems())
		if name == "" {
			continue
		}
		ix, t, iname := b.lookupIndex(schema, name)
		tableMode := AccessExclusive
		if conc {
			tableMode = ShareUpdateExclusive
		}
		if t != nil {
			b.lockRel(b.resolveTable(t), "", tableMode)
			b.lockIndex(t, ix, AccessExclusive)
			if ix.Constraint != "" {
				b.note(fmt.Sprintf("fails: index %s backs constraint %s; drop the constraint instead", iname, catalog.QuoteIdent(ix.Constraint)))
			}
			if t.Kind == catalog.KindPartitionedTable {
				for _, p := range b.partitionsOf(t) {
					b.lockRel(b.resolveTable(p), "", tableMode)
				}
				if conc {
					b.note("DROP INDEX CONCURRENTLY cannot drop an index on a partitioned table")
				}
			}
		} else {
			b.lock(iname, "index", AccessExclusive, true)
			b.note(fmt.Sprintf("the table of index %s is not known; it is locked %s too", iname, tableMode))
		}
	}
	if conc {
		b.note("DROP INDEX CONCURRENTLY holds SHARE UPDATE EXCLUSIVE on the table and waits for every transaction using it; only the final step takes ACCESS EXCLUSIVE on the index (" + plannerIndexNote + ")")
	} else {
		b.note("DROP INDEX takes ACCESS EXCLUSIVE on the table: every read and write waits until the transaction ends; DROP INDEX CONCURRENTLY avoids that")
	}
}

// ---------------------------------------------------------------- truncate

func (b *builder) truncate(s *pg_query.TruncateStmt) {
	cascade := s.GetBehavior() == pg_query.DropBehavior_DROP_CASCADE
	named := map[*catalog.Table]bool{}
	var queue []*catalog.Table
	for _, n := range s.GetRelations() {
		rv := n.GetRangeVar()
		r := b.resolve(rv)
		b.lockRel(r, "", AccessExclusive)
		if r.t == nil {
			continue
		}
		named[r.t] = true
		queue = append(queue, r.t)
		b.lockIndexes(r.t, AccessExclusive)
		if s.GetRestartSeqs() {
			b.lockSequences(r.t, AccessExclusive)
		}
		if rv.GetInh() {
			for _, p := range b.partitionsOf(r.t) {
				named[p] = true
				queue = append(queue, p)
				b.lockRel(b.resolveTable(p), "", AccessExclusive)
				b.lockIndexes(p, AccessExclusive)
			}
		}
	}
	// Tables whose foreign keys point at a truncated table must be
	// truncated too: CASCADE adds them, transitively; otherwise it fails.
	for i := 0; i < len(queue); i++ {
		for _, fk := range b.cat.ReferencingForeignKeys(queue[i]) {
			if named[fk.Table] {
				continue
			}
			if !cascade {
				b.note(fmt.Sprintf("fails without CASCADE: %s has a foreign key referencing %s", fk.Table.QualifiedName(), queue[i].QualifiedName()))
				continue
			}
			named[fk.Table] = true
			queue = append(queue, fk.Table)
			b.lockRel(b.resolveTable(fk.Table), "referencing table", AccessExclusive)
			b.lockIndexes(fk.Table, AccessExclusive)
		}
	}
	b.note("TRUNCATE swaps in new empty files (no scan) under ACCESS EXCLUSIVE; the old files are removed at COMMIT")
}

// ---------------------------------------------------------------- maintenance

func (b *builder) vacuum(s *pg_query.VacuumStmt) {
	full, analyzeOnly := false, !s.GetIsVacuumcmd()
	for _, o := range s.GetOptions() {
		if de := o.GetDefElem(); de != nil && de.GetDefname() == "full" && defElemTrue(de) {
			full = true
		}
	}
	var rels []rel
	for _, n := range s.GetRels() {
		if vr := n.GetVacuumRelation(); vr != nil && vr.GetRelation() != nil {
			rels = append(rels, b.resolve(vr.GetRelation()))
		}
	}
	switch {
	case analyzeOnly:
		for _, r := range rels {
			b.lockRel(r, "", ShareUpdateExclusive)
			if r.partitioned() {
				b.lockPartitions(r.t, ShareUpdateExclusive, false)
			}
		}
		b.note("ANALYZE reads a fixed-size sample (300 × the statistics target rows), so its time stays roughly constant with table size; SHARE UPDATE EXCLUSIVE lets reads and writes continue")
	case full:
		b.imp.OutsideTransaction = true
		b.imp.HeldUntilCommit = false
		for i, r := range rels {
			b.lockRel(r, "", AccessExclusive)
			b.lockIndexes(r.t, AccessExclusive)
			if i == 0 {
				b.work(Rewrite, r.name, rewriteScans(r.t))
			}
		}
		if len(rels) == 0 {
			b.work(Rewrite, "", 1)
			b.unknown("VACUUM FULL without a table rewrites every table of the database, one at a time")
		}
		b.note("VACUUM FULL rewrites the table and rebuilds every index under ACCESS EXCLUSIVE: every read and write waits for the whole rewrite")
	default:
		b.imp.OutsideTransaction = true
		b.imp.HeldUntilCommit = false
		for i, r := range rels {
			b.lockRel(r, "", ShareUpdateExclusive)
			b.lockIndexes(r.t, RowExclusive)
			if i == 0 {
				b.work(Scan, r.name, 1)
			}
		}
		b.note("plain VACUUM holds SHARE UPDATE EXCLUSIVE: reads and writes continue, other DDL on the table waits")
		if len(rels) == 0 {
			b.work(Scan, "", 1)
			b.unknown("VACUUM without a table processes every table of the database, one at a time")
		}
	}
}

func (b *builder) cluster(s *pg_query.ClusterStmt) {
	if s.GetRelation() == nil {
		b.imp.OutsideTransaction = true
		b.imp.HeldUntilCommit = false
		b.work(Rewrite, "", 1)
		b.unknown("CLUSTER without a table rewrites every previously clustered table, each in its own transaction")
		return
	}
	r := b.resolve(s.GetRelation())
	b.lockRel(r, "", AccessExclusive)
	b.lockIndexes(r.t, AccessExclusive)
	b.work(Rewrite, r.name, rewriteScans(r.t))
	b.note("CLUSTER rewrites the table in index order and rebuilds every index under ACCESS EXCLUSIVE: every read and write waits for the whole rewrite")
}

// ---------------------------------------------------------------- queries

// sources lists the relations queries read, excluding the names of their
// CTEs, in order of appearance. Sub-selects are included: they are read
// too.
func (b *builder) sources(qs ...*pg_query.Node) []rel {
	ctes := map[string]bool{}
	for _, n := range qs {
		pgtree.Walk(n, func(x *pg_query.Node) bool {
			if c := x.GetCommonTableExpr(); c != nil {
				ctes[c.GetCtename()] = true
			}
			return true
		})
	}
	var out []rel
	seen := map[string]bool{}
	for _, n := range qs {
		pgtree.Walk(n, func(x *pg_query.Node) bool {
			rv := x.GetRangeVar()
			if rv == nil {
				return true
			}
			if rv.GetSchemaname() == "" && ctes[rv.GetRelname()] {
				return false
			}
			r := b.resolve(rv)
			if !seen[r.name] {
				seen[r.name] = true
				out = append(out, r)
			}
			return false
		})
	}
	return out
}

// plus appends to a copy: appending to a parse tree's own slice could
// overwrite the caller's tree.
func plus(list []*pg_query.Node, more ...*pg_query.Node) []*pg_query.Node {
	out := make([]*pg_query.Node, 0, len(list)+len(more))
	return append(append(out, list...), more...)
}

func withNode(wc *pg_query.WithClause) *pg_query.Node {
	if wc == nil {
		return nil
	}
	return &pg_query.Node{Node: &pg_query.Node_WithClause{WithClause: wc}}
}

// readSources locks what queries read and returns the first table read,
// whose size decides a backfill's time.
func (b *builder) readSources(m Mode, qs ...*pg_query.Node) string {
	first := ""
	for _, r := range b.sources(qs...) {
		if r.t != nil && (r.t.Kind == catalog.KindView) {
			b.lockRel(r, "", m)
			continue
		}
		b.lockRel(r, "", m)
		if r.partitioned() {
			b.lockPartitions(r.t, m, false)
		}
		if first == "" {
			first = r.name
		}
	}
	return first
}

func (b *builder) selectStmt(s *pg_query.SelectStmt) {
	if into := s.GetIntoClause(); into != nil {
		b.createTableAs(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: s}}, into, pg_query.ObjectType_OBJECT_TABLE)
		return
	}
	m := AccessShare
	if len(s.GetLockingClause()) > 0 {
		m = RowShare
	}
	b.readSources(m, &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: s}})
	if m == RowShare {
		b.note("SELECT ... FOR UPDATE/SHARE holds row locks until the transaction ends")
	}
}

func (b *builder) createTableAs(q *pg_query.Node, into *pg_query.IntoClause, objtype pg_query.ObjectType) {
	r := b.resolve(into.GetRel())
	kind := "table"
	if objtype == pg_query.ObjectType_OBJECT_MATVIEW {
		kind = "materialized view"
	}
	if r.t == nil {
		b.lock(r.name, kind, AccessExclusive, false)
	} else {
		b.note(fmt.Sprintf("%s already exists", r.name))
	}
	first := b.readSources(AccessShare, q)
	if into.GetSkipData() {
		return
	}
	if first != "" {
		b.work(Backfill, first, 1)
		b.note("the query runs in full inside the statement; its time grows with the tables it reads, which stay readable and writable (ACCESS SHARE)")
	}
}

func (b *builder) refresh(s *pg_query.RefreshMatViewStmt) {
	r := b.resolve(s.GetRelation())
	var q *pg_query.Node
	if r.t != nil {
		q = r.t.Query
	}
	if s.GetConcurrent() {
		b.imp.Concurrently = true
		b.lockRel(r, "materialized view", Exclusive)
		b.readSources(AccessShare, q)
		b.work(Backfill, r.name, 2)
		b.note("REFRESH ... CONCURRENTLY takes EXCLUSIVE: readers of the materialized view continue, other refreshes wait; it needs a unique index, re-runs the query and applies the difference row by row (measured ~4× slower than a plain refresh)")
		if r.t != nil && !hasUniqueIndex(r.t) {
			b.note(fmt.Sprintf("fails: %s has no unique index, which REFRESH ... CONCURRENTLY requires", r.name))
		}
		return
	}
	b.lockRel(r, "materialized view", AccessExclusive)
	b.lockIndexes(r.t, AccessExclusive)
	b.readSources(AccessShare, q)
	if s.GetSkipData() {
		return
	}
	// The query's output is written straight to a new file; only the
	// index builds read it back.
	scans := 1
	if r.t != nil {
		scans = max(1, len(r.t.Indexes))
	}
	b.work(Rewrite, r.name, scans)
	b.note("REFRESH MATERIALIZED VIEW re-runs the query into a new file under ACCESS EXCLUSIVE: readers of the materialized view wait for the whole refresh; CONCURRENTLY keeps them running")
}

func hasUniqueIndex(t *catalog.Table) bool {
	for _, ix := range t.Indexes {
		if ix.Unique && ix.Where == "" {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- DML

// lockDMLTarget locks the table an INSERT/UPDATE/DELETE writes to. UPDATE
// and DELETE also lock every index ROW EXCLUSIVE (the planner opens them
// with the target's lock mode); INSERT does not (measured).
func (b *builder) lockDMLTarget(rv *pg_query.RangeVar, indexes bool) rel {
	r := b.resolve(rv)
	b.lockRel(r, "", RowExclusive)
	if indexes {
		b.lockIndexes(r.t, RowExclusive)
	}
	if r.partitioned() && rv.GetInh() {
		b.lockPartitions(r.t, RowExclusive, indexes)
	}
	return r
}

// lockForeignKeyChecks locks what the foreign-key triggers touch:
// referenced tables are read with FOR KEY SHARE (ROW SHARE) when the
// referencing side gains or changes rows, and referencing tables are
// checked (ROW SHARE) or changed by cascading actions (ROW EXCLUSIVE) when
// the referenced side loses or changes rows.
func (b *builder) lockForeignKeyChecks(t *catalog.Table, referencing, referenced bool, cols []string, onDelete bool) {
	if t == nil {
		return
	}
	if referencing {
		for _, k := range t.Constraints {
			if k.Kind != catalog.ForeignKey || (cols != nil && !overlaps(k.Columns, cols)) {
				continue
			}
			if p := b.cat.Table(k.RefSchema, k.RefTable); p != nil {
				b.lockRel(b.resolveTable(p), "referenced table", RowShare)
			}
		}
	}
	if referenced {
		for _, fk := range b.cat.ReferencingForeignKeys(t) {
			if cols != nil && !overlaps(fk.Constraint.RefColumns, cols) {
				continue
			}
			action := fk.Constraint.OnUpdate
			if onDelete {
				action = fk.Constraint.OnDelete
			}
			m := RowShare
			switch action {
			case "CASCADE", "SET NULL", "SET DEFAULT":
				m = RowExclusive
			}
			b.lockRel(b.resolveTable(fk.Table), "referencing table", m)
		}
	}
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func (b *builder) update(s *pg_query.UpdateStmt) {
	r := b.lockDMLTarget(s.GetRelation(), true)
	var cols []string
	for _, tgt := range s.GetTargetList() {
		if rt := tgt.GetResTarget(); rt != nil {
			cols = append(cols, rt.GetName())
		}
	}
	b.lockForeignKeyChecks(r.t, true, true, cols, false)
	b.readSources(AccessShare, plus(s.GetFromClause(), withNode(s.GetWithClause()))...)
	b.dmlWork(r, s.GetWhereClause(), "UPDATE")
}

func (b *builder) delete(s *pg_query.DeleteStmt) {
	r := b.lockDMLTarget(s.GetRelation(), true)
	b.lockForeignKeyChecks(r.t, false, true, nil, true)
	b.readSources(AccessShare, plus(s.GetUsingClause(), withNode(s.GetWithClause()))...)
	b.dmlWork(r, s.GetWhereClause(), "DELETE")
}

func (b *builder) dmlWork(r rel, where *pg_query.Node, verb string) {
	if where == nil {
		b.work(Backfill, r.name, 1)
		if verb == "UPDATE" {
			b.note("UPDATE without WHERE writes a new version of every row (the table roughly doubles until VACUUM) and holds a row lock on every row until COMMIT; batch it by primary key ranges")
		} else {
			b.note("DELETE without WHERE visits every row and holds a row lock on each until COMMIT; batch it, or use TRUNCATE if the table may be locked")
		}
		return
	}
	b.note(verb + " with WHERE touches only the rows it selects (time depends on how many); their row locks are held until COMMIT")
}

func (b *builder) insert(s *pg_query.InsertStmt) {
	r := b.lockDMLTarget(s.GetRelation(), false)
	b.lockForeignKeyChecks(r.t, true, false, nil, false)
	sel := s.GetSelectStmt()
	if sel == nil {
		return
	}
	if first := b.readSources(AccessShare, sel, withNode(s.GetWithClause())); first != "" {
		b.work(Backfill, first, 1)
		b.note("INSERT ... SELECT copies rows inside one statement; its time grows with the rows read, and the new rows' locks are held until COMMIT")
	}
}

func (b *builder) merge(s *pg_query.MergeStmt) {
	r := b.lockDMLTarget(s.GetRelation(), true)
	b.lockForeignKeyChecks(r.t, true, true, nil, true)
	b.readSources(AccessShare, s.GetSourceRelation(), withNode(s.GetWithClause()))
	b.work(Backfill, r.name, 1)
	b.note("MERGE joins the source to the whole target table; its row locks are held until COMMIT")
}

func (b *builder) copy(s *pg_query.CopyStmt) {
	if s.GetQuery() != nil {
		b.readSources(AccessShare, s.GetQuery())
		return
	}
	r := b.resolve(s.GetRelation())
	if s.GetIsFrom() {
		b.lockRel(r, "", RowExclusive)
		b.lockForeignKeyChecks(r.t, true, false, nil, false)
		b.note("COPY FROM's time grows with the amount of data loaded; the new rows are invisible until COMMIT")
		return
	}
	b.lockRel(r, "", AccessShare)
	b.work(Scan, r.name, 1)
}

// ---------------------------------------------------------------- creates

func (b *builder) createTable(s *pg_query.CreateStmt, kind string) {
	if s == nil {
		return
	}
	r := b.resolve(s.GetRelation())
	if r.t != nil {
		if s.GetIfNotExists() {
			b.note(fmt.Sprintf("%s already exists: IF NOT EXISTS makes this a no-op", r.name))
			return
		}
		b.note(fmt.Sprintf("fails: %s already exists", r.name))
	}
	self := r.name
	b.lock(r.name, kind, AccessExclusive, false)
	fk := func(pk *pg_query.RangeVar) {
		p := b.resolve(pk)
		if p.name == self || (pk.GetSchemaname() == "" && pk.GetRelname() == s.GetRelation().GetRelname()) {
			return
		}
		b.lockRel(p, "referenced table", ShareRowExclusive)
		b.note(fmt.Sprintf("the foreign key takes SHARE ROW EXCLUSIVE on %s: writes to it wait until the transaction ends", p.name))
	}
	for _, e := range s.GetTableElts() {
		switch {
		case e.GetColumnDef() != nil:
			for _, c := range e.GetColumnDef().GetConstraints() {
				if k := c.GetConstraint(); k != nil && k.GetContype() == pg_query.ConstrType_CONSTR_FOREIGN {
					fk(k.GetPktable())
				}
			}
		case e.GetConstraint() != nil:
			if k := e.GetConstraint(); k.GetContype() == pg_query.ConstrType_CONSTR_FOREIGN {
				fk(k.GetPktable())
			}
		case e.GetTableLikeClause() != nil:
			b.lockRel(b.resolve(e.GetTableLikeClause().GetRelation()), "", AccessShare)
		}
	}
	for _, n := range s.GetInhRelations() {
		p := b.resolve(n.GetRangeVar())
		if s.GetPartbound() != nil {
			b.lockRel(p, "", AccessExclusive)
			b.note(fmt.Sprintf("CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE on %s; if it has a DEFAULT partition, that is locked and scanned too. Creating the table separately and using ATTACH PARTITION holds only SHARE UPDATE EXCLUSIVE on the parent (PostgreSQL 12+)", p.name))
		} else {
			b.lockRel(p, "", ShareUpdateExclusive)
		}
	}
}

func (b *builder) createView(s *pg_query.ViewStmt) {
	r := b.resolve(s.GetView())
	if r.t != nil {
		b.lockRel(r, "view", AccessExclusive)
	} else {
		b.lock(r.name, "view", AccessExclusive, false)
	}
	b.readSources(AccessShare, s.GetQuery())
}

// createSchema judges each element of CREATE SCHEMA ... CREATE TABLE ...;
// the objects it creates without a schema go into the new schema.
func (b *builder) createSchema(s *pg_query.CreateSchemaStmt) {
	schema := s.GetSchemaname()
	if schema == "" {
		schema = s.GetAuthrole().GetRolename()
	}
	for _, e := range s.GetSchemaElts() {
		e = pgtree.Clone(e)
		var rv *pg_query.RangeVar
		switch x := e.GetNode().(type) {
		case *pg_query.Node_CreateStmt:
			rv = x.CreateStmt.GetRelation()
		case *pg_query.Node_ViewStmt:
			rv = x.ViewStmt.GetView()
		case *pg_query.Node_CreateSeqStmt:
			rv = x.CreateSeqStmt.GetSequence()
		case *pg_query.Node_CreateTableAsStmt:
			rv = x.CreateTableAsStmt.GetInto().GetRel()
		}
		if rv != nil && rv.GetSchemaname() == "" {
			rv.Schemaname = schema
		}
		sub := Analyze(e, b.cat, b.opt)
		for _, l := range sub.Locks {
			b.lock(l.Relation, l.Kind, l.Mode, l.Existing)
		}
		b.work(sub.Work, sub.Subject, sub.Scans)
		for _, n := range sub.Notes {
			b.note(n)
		}
	}
}

func (b *builder) explain(s *pg_query.ExplainStmt) {
	analyze := false
	for _, o := range s.GetOptions() {
		if de := o.GetDefElem(); de != nil && de.GetDefname() == "analyze" && defElemTrue(de) {
			analyze = true
		}
	}
	if analyze {
		b.statement(s.GetQuery())
		b.note("EXPLAIN ANALYZE executes the statement")
		return
	}
	// Planning takes the statement's own locks, but nothing runs.
	sub := Analyze(s.GetQuery(), b.cat, b.opt)
	for _, l := range sub.Locks {
		b.lock(l.Relation, l.Kind, l.Mode, l.Existing)
	}
}

// ---------------------------------------------------------------- misc

func (b *builder) comment(s *pg_query.CommentStmt) {
	obj := s.GetObject()
	switch s.GetObjtype() {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
		pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
		b.lockRel(b.resolveNames(obj.GetList().GetItems()), "", ShareUpdateExclusive)
	case pg_query.ObjectType_OBJECT_SEQUENCE:
		b.lockRel(b.resolveNames(obj.GetList().GetItems()), "sequence", ShareUpdateExclusive)
	case pg_query.ObjectType_OBJECT_INDEX:
		schema, name := splitNames(obj.GetList().GetItems())
		b.lock(b.indexDisplayName(schema, name), "index", ShareUpdateExclusive, b.indexExisting(schema, name))
	case pg_query.ObjectType_OBJECT_COLUMN:
		items := obj.GetList().GetItems()
		if len(items) >= 2 {
			b.lockRel(b.resolveNames(items[:len(items)-1]), "", ShareUpdateExclusive)
		}
	case pg_query.ObjectType_OBJECT_TABCONSTRAINT, pg_query.ObjectType_OBJECT_TRIGGER,
		pg_query.ObjectType_OBJECT_POLICY, pg_query.ObjectType_OBJECT_RULE:
		items := obj.GetList().GetItems()
		if len(items) >= 2 {
			b.lockRel(b.resolveNames(items[:len(items)-1]), "", AccessShare)
		}
	}
}

func (b *builder) indexDisplayName(schema, name string) string {
	_, _, n := b.lookupIndex(schema, name)
	return n
}

func (b *builder) indexExisting(schema, name string) bool {
	ix, _ := b.cat.IndexByName(schema, name)
	return ix == nil || !ix.Origin.InChangeSet
}

func (b *builder) lockStmt(s *pg_query.LockStmt) {
	m := Mode(s.GetMode())
	if !m.valid() {
		m = AccessExclusive
	}
	for _, n := range s.GetRelations() {
		rv := n.GetRangeVar()
		r := b.resolve(rv)
		b.lockRel(r, "", m)
		if r.partitioned() && rv.GetInh() {
			b.lockPartitions(r.t, m, false)
		}
	}
	b.note(fmt.Sprintf("LOCK TABLE ... IN %s MODE holds the lock until the transaction ends (%s); it is an error outside a transaction block", m, m.Blocks()))
}

func (b *builder) typeName(schema, name string) string {
	if e := b.cat.Enum(schema, name); e != nil {
		return e.QualifiedName()
	}
	if d := b.cat.Domain(schema, name); d != nil {
		return d.QualifiedName()
	}
	return qualifyIf(schema, name)
}

func (b *builder) typeExisting(schema, name string) bool {
	if e := b.cat.Enum(schema, name); e != nil {
		return !e.Origin.InChangeSet
	}
	if d := b.cat.Domain(schema, name); d != nil {
		return !d.Origin.InChangeSet
	}
	return true
}

func (b *builder) alterEnum(s *pg_query.AlterEnumStmt) {
	schema, name := splitNames(s.GetTypeName())
	b.lock(b.typeName(schema, name), "type", Exclusive, b.typeExisting(schema, name))
	if s.GetOldVal() != "" {
		return
	}
	b.note("ALTER TYPE ... ADD VALUE locks only the type (EXCLUSIVE), no table that uses it; the new value cannot be used until the transaction commits")
	if b.ver < 12 {
		b.note("before PostgreSQL 12, ALTER TYPE ... ADD VALUE cannot run inside a transaction block (unless the type was created in the same transaction)")
	}
}

// alterDomain: adding or validating a constraint (or NOT NULL) checks every
// column of the domain's type, with SHARE on each table (measured).
func (b *builder) alterDomain(s *pg_query.AlterDomainStmt) {
	// The domain itself gets only ACCESS SHARE (measured); the tables
	// using it are what matter.
	schema, name := splitNames(s.GetTypeName())
	validates := false
	switch s.GetSubtype() {
	case "C":
		k := s.GetDef().GetConstraint()
		validates = k != nil && !k.GetSkipValidation()
	case "O", "V":
		validates = true
	}
	if !validates {
		return
	}
	d := b.cat.Domain(schema, name)
	if d == nil {
		b.note("every table with a column of this domain is locked SHARE (writes wait) and scanned; the domain is not known, so those tables are not listed")
		b.work(Scan, "", 1)
		return
	}
	for _, t := range b.cat.Tables() {
		if t.Kind == catalog.KindView {
			continue
		}
		for _, c := range t.Columns {
			if c.Type.Name == d.Name && (c.Type.Schema == d.Schema || c.Type.Schema == "") {
				r := b.resolveTable(t)
				b.lockRel(r, "", Share)
				b.work(Scan, r.name, 1)
				break
			}
		}
	}
	b.note("validating a domain constraint locks every table using the domain SHARE (writes wait) and scans it; add the constraint NOT VALID, then VALIDATE")
}

func (b *builder) setSchema(s *pg_query.AlterObjectSchemaStmt) {
	switch s.GetObjectType() {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
		pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
		r := b.resolve(s.GetRelation())
		b.lockRel(r, "", AccessExclusive)
		b.lockSequences(r.t, AccessExclusive)
	case pg_query.ObjectType_OBJECT_SEQUENCE:
		b.lockRel(b.resolve(s.GetRelation()), "sequence", AccessExclusive)
	}
}

func (b *builder) publicationTables(objs []*pg_query.Node) {
	for _, o := range objs {
		if pt := o.GetPublicationObjSpec().GetPubtable(); pt != nil {
			b.lockRel(b.resolve(pt.GetRelation()), "", ShareUpdateExclusive)
		}
	}
}
