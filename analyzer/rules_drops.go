package analyzer

import (
	"fmt"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
)

var (
	ruleDropTable = register(Rule{
		ID: "drop-table", Question: QDrops, Severity: Danger,
		Title: "DROP TABLE",
		Why: "Every row of the table is gone at COMMIT, and the version of the application still running during the deploy " +
			"fails on every query that touches it. \"Unused\" tables often still hold the only copy of data someone needs later.",
		Example: "DROP TABLE legacy_invoices;",
		Safe: "-- Release N: remove every use of the table from the application and deploy that.\n" +
			"-- Release N+1: hide it without losing it.\nALTER TABLE legacy_invoices RENAME TO legacy_invoices_deprecated;\n" +
			"-- Release N+2, once nothing broke:\nDROP TABLE legacy_invoices_deprecated;",
	})
	ruleDropColumn = register(Rule{
		ID: "drop-column", Question: QDrops, Severity: Danger,
		Title: "DROP COLUMN",
		Why: "The column's data is gone, and the version of the application still running keeps selecting and inserting it: " +
			"those queries fail until the deploy finishes (ORMs that list every column fail on every query of the table).",
		Example: "ALTER TABLE users DROP COLUMN legacy_email;",
		Safe: "-- Release N: stop reading and writing users.legacy_email in the application (tell the ORM to ignore it).\n" +
			"-- Keep a copy if the data may be needed:\nCREATE TABLE users_legacy_email_backup AS SELECT id, legacy_email FROM users;\n" +
			"-- Release N+1:\nALTER TABLE users DROP COLUMN legacy_email;",
	})
	ruleDropSchema = register(Rule{
		ID: "drop-schema", Question: QDrops, Severity: Danger,
		Title:   "DROP SCHEMA",
		Why:     "Dropping a schema drops every table, view, function and type in it when CASCADE is given, and fails otherwise.",
		Example: "DROP SCHEMA reporting CASCADE;",
		Safe:    "-- Drop the objects one by one, each reviewed, after the application stopped using them; then:\nDROP SCHEMA reporting;",
	})
	ruleDropDatabase = register(Rule{
		ID: "drop-database", Question: QDrops, Severity: Danger,
		Title:   "DROP DATABASE",
		Why:     "Everything in the database is gone. A migration should never do this.",
		Example: "DROP DATABASE analytics;",
		Safe:    "-- Remove this statement. Drop databases by hand, after a backup, outside the migrations.",
	})
	ruleDropView = register(Rule{
		ID: "drop-view", Question: QDrops, Severity: Warning,
		Title: "DROP VIEW or MATERIALIZED VIEW",
		Why: "A view holds no data of its own, but the application version still running fails on every query of it, " +
			"and CASCADE drops the views built on it too. A materialized view's contents must be recomputed to get them back.",
		Example: "DROP VIEW active_users;",
		Safe:    "-- Release N: stop querying the view. Release N+1:\nDROP VIEW active_users;",
	})
	ruleDropIndex = register(Rule{
		ID: "drop-index", Question: QDrops, Severity: Warning,
		Title: "DROP INDEX",
		Why: "Queries that used the index fall back to other plans, often full scans, the moment it is gone; a UNIQUE index also stops " +
			"enforcing uniqueness. Without CONCURRENTLY it takes an ACCESS EXCLUSIVE lock on the table.",
		Example: "DROP INDEX orders_customer_id_idx;",
		Safe:    "-- Check pg_stat_user_indexes.idx_scan first; then, in a migration without a transaction:\nDROP INDEX CONCURRENTLY IF EXISTS orders_customer_id_idx;",
	})
	ruleDropConstraint = register(Rule{
		ID: "drop-constraint", Question: QDrops, Severity: Warning,
		Title: "DROP CONSTRAINT",
		Why: "Rows that break the rule can be written from now on, and a primary key or unique constraint takes its index with it " +
			"(ON CONFLICT clauses that name it fail). Dropping a foreign key locks both tables with ACCESS EXCLUSIVE.",
		Example: "ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;",
		Safe:    "SET lock_timeout = '2s';\nALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;",
	})
	ruleDropType = register(Rule{
		ID: "drop-type", Question: QDrops, Severity: Danger,
		Title:   "DROP TYPE or DOMAIN",
		Why:     "With CASCADE, every column of that type is dropped with its data; without it, the statement fails while a column uses the type.",
		Example: "DROP TYPE order_status CASCADE;",
		Safe:    "-- Change the columns to another type first (reviewed on their own), then:\nDROP TYPE order_status;",
	})
	ruleDropSequence = register(Rule{
		ID: "drop-sequence", Question: QDrops, Severity: Danger,
		Title: "DROP SEQUENCE",
		Why: "Column defaults that call nextval() on it fail (or are dropped with CASCADE), and the sequence's position is lost: " +
			"recreating it restarts numbering and collides with existing keys. A sequence that no column default of the known schema uses (its serial column " +
			"changed type, its default dropped) takes no row's value with it: that is a warning.",
		Example: "DROP SEQUENCE invoice_number_seq;",
		Safe:    "-- Remove the defaults that use it first; keep its value if it may come back:\nSELECT last_value FROM invoice_number_seq;\nDROP SEQUENCE invoice_number_seq;",
	})
	ruleDropOther = register(Rule{
		ID: "drop-object", Question: QDrops, Severity: Warning,
		Title: "DROP of a function, trigger, extension, policy or other object",
		Why: "Code that calls the function, behaviour the trigger enforced, or rows a row-level security policy protected change at once, " +
			"for the application version still running too. DROP EXTENSION also drops the types and functions it owns, and with CASCADE the columns that use them.",
		Example: "DROP TRIGGER orders_audit ON orders;",
		Safe:    "-- Make sure nothing relies on it any more, then drop it in its own reviewed migration.",
	})
	ruleTruncate = register(Rule{
		ID: "truncate", Question: QDrops, Severity: Danger,
		Title: "TRUNCATE",
		Why: "Every row is removed at once, without firing DELETE triggers, under an ACCESS EXCLUSIVE lock. " +
			"With CASCADE, every table with a foreign key to it is emptied too.",
		Example: "TRUNCATE sessions;",
		Safe:    "-- Keep a copy if any of it may be needed, and delete what must go in batches:\nDELETE FROM sessions WHERE ctid IN (SELECT ctid FROM sessions WHERE expires_at < now() LIMIT 10000);",
	})
	ruleDeleteAll = register(Rule{
		ID: "delete-without-where", Question: QDrops, Severity: Danger,
		Title: "DELETE without WHERE",
		Why: "Every row of the table is deleted in one transaction that holds a row lock on each of them until COMMIT, " +
			"so concurrent updates of those rows wait; on a large table it also bloats it and its indexes.",
		Example: "DELETE FROM audit_log;",
		Safe:    "-- Say which rows, and delete them in batches, one transaction each:\nDELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE created_at < now() - interval '90 days' LIMIT 10000);",
	})
	ruleUpdateAll = register(Rule{
		ID: "update-without-where", Question: QDrops, Severity: Danger,
		Title: "UPDATE without WHERE",
		Why: "Every row's old value is overwritten, in one transaction that locks every row until COMMIT and writes a new version of each row " +
			"(the table's size doubles until VACUUM). A mistake cannot be undone without a backup.",
		Example: "UPDATE users SET plan = 'free';",
		Safe: "-- Backfill in batches, one short transaction each, repeated until it updates 0 rows:\n" +
			"UPDATE users SET plan = 'free' WHERE id IN (SELECT id FROM users WHERE plan IS DISTINCT FROM 'free' LIMIT 10000);",
	})
)

// checkDrops answers question 1 for one statement.
func checkDrops(c *stmtContext) {
	n := c.node
	switch {
	case n.GetDropStmt() != nil:
		checkDropStmt(c, n.GetDropStmt())
	case n.GetDropdbStmt() != nil:
		db := n.GetDropdbStmt().GetDbname()
		fd := ruleDropDatabase.finding(fmt.Sprintf("DROP DATABASE %s destroys the whole database", quoteIdent(db)))
		fd.Objects = []string{quoteIdent(db)}
		fd.SafeAlternative = "-- Remove this statement from the migration. Drop a database by hand, after a backup."
		c.report(fd)
	case n.GetAlterTableStmt() != nil:
		t, cmds, _ := c.alterTable()
		for _, ac := range cmds {
			switch ac.GetSubtype() {
			case pg_query.AlterTableType_AT_DropColumn:
				checkDropColumn(c, t, ac)
			case pg_query.AlterTableType_AT_DropConstraint:
				checkDropConstraint(c, t, ac)
			}
		}
	case n.GetTruncateStmt() != nil:
		checkTruncate(c, n.GetTruncateStmt())
	}
	// DELETE, UPDATE and MERGE of every row, at the top or in a WITH query.
	checkRowWrites(c)
	checkOwnedAndCopy(c)
}

func checkDropStmt(c *stmtContext, ds *pg_query.DropStmt) {
	cascade := ds.GetBehavior() == pg_query.DropBehavior_DROP_CASCADE
	// The safe way's own DROP keeps the statement's IF EXISTS and CASCADE:
	// without them it fails where the statement does not (an object an
	// earlier migration dropped already, dependents the statement drops).
	ifExists, cascadeWord := "", ""
	if ds.GetMissingOk() {
		ifExists = "IF EXISTS "
	}
	if cascade {
		cascadeWord = " CASCADE"
	}
	for _, obj := range ds.GetObjects() {
		parts := objectNames(obj)
		if len(parts) == 0 {
			continue
		}
		switch ds.GetRemoveType() {
		case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
			t := c.relationByName(parts)
			dropRelation(c, ruleDropTable, "table", t, cascade, fmt.Sprintf(
				"-- Release N: remove every use of %[1]s from the application and deploy that.\n"+
					"-- Release N+1: hide it without losing it:\nALTER TABLE %[4]s%[1]s RENAME TO %[2]s;\n"+
					"-- Release N+2, once nothing broke:\nDROP TABLE %[4]s%[3]s%[5]s;",
				t.name, quoteIdent(lastName(parts)+"_deprecated"), qualifiedSibling(t, lastName(parts)+"_deprecated"), ifExists, cascadeWord))
		case pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW:
			t := c.relationByName(parts)
			kind := "view"
			if ds.GetRemoveType() == pg_query.ObjectType_OBJECT_MATVIEW {
				kind = "materialized view"
			}
			dropRelation(c, ruleDropView, kind, t, cascade, fmt.Sprintf(
				"-- Release N: stop querying %s in the application. Release N+1:\nDROP %s %s%s%s;", t.name, strings.ToUpper(kind), ifExists, t.name, cascadeWord))
		case pg_query.ObjectType_OBJECT_INDEX:
			checkDropIndex(c, ds, parts, cascade)
		case pg_query.ObjectType_OBJECT_SCHEMA:
			name := parts[len(parts)-1]
			fd := ruleDropSchema.finding(fmt.Sprintf("DROP SCHEMA %s", quoteIdent(name)))
			fd.Objects = []string{quoteIdent(name)}
			var inside []string
			for _, t := range c.cat.Tables() {
				if t.Schema == name {
					inside = append(inside, t.QualifiedName())
				}
			}
			switch {
			case cascade && len(inside) > 0:
				fd.Message += fmt.Sprintf(" CASCADE also drops %s with their data: %s", plural(len(inside), "relation", "relations"), joinObjects(inside))
				fd.Objects = append(fd.Objects, inside...)
			case cascade:
				fd.Message += " CASCADE drops everything in it" + unknownNote("nothing in it")
			case len(inside) > 0:
				fd.Message += fmt.Sprintf(" fails while it holds %s (%s)", plural(len(inside), "relation", "relations"), joinObjects(inside))
			}
			fd.SafeAlternative = fmt.Sprintf("-- Drop each object in it on its own, reviewed, once the application no longer uses it; then:\nDROP SCHEMA %s%s%s;", ifExists, quoteIdent(name), cascadeWord)
			c.report(fd)
		case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
			checkDropType(c, parts, cascade, ds.GetRemoveType() == pg_query.ObjectType_OBJECT_DOMAIN, ifExists, cascadeWord)
		case pg_query.ObjectType_OBJECT_SEQUENCE:
			name := qualified(parts...)
			fd := ruleDropSequence.finding(fmt.Sprintf("DROP SEQUENCE %s loses its current value", name))
			fd.Objects = []string{name}
			schema, bare := splitSchema(parts)
			if schema == "" {
				if s := c.cat.SoleSchema(); s != "" {
					schema = s
				} else {
					schema = "public"
				}
			}
			switch seq := c.cat.Sequence(schema, bare); {
			case seq == nil:
				fd.Message += "; defaults calling nextval() on it stop working" + unknownNote(name)
			case seq.Origin.InChangeSet:
				fd.Severity = Info
				fd.Message += newNote
			default:
				deps := len(c.cat.Dependents(catalog.ObjectRef{Kind: "sequence", Schema: seq.Schema, Name: seq.Name}))
				describeDependents(c, &fd, catalog.ObjectRef{Kind: "sequence", Schema: seq.Schema, Name: seq.Name}, cascade)
				if deps == 0 {
					// Only code that calls nextval() on it by name can miss it,
					// and no value of any row goes with it.
					fd.Severity = Warning
					fd.Message += "; no column default in the known schema uses it, so no row's value depends on it"
				}
			}
			if fd.Severity != Info {
				fd.SafeAlternative = fmt.Sprintf("-- Remove the column defaults that use it first, and note its value:\nSELECT last_value FROM %s;\nDROP SEQUENCE %s%s%s;", name, ifExists, name, cascadeWord)
			}
			c.report(fd)
		default:
			kind := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(ds.GetRemoveType().String(), "OBJECT_"), "_", " "))
			name := qualified(parts...)
			fd := ruleDropOther.finding(fmt.Sprintf("DROP %s %s", strings.ToUpper(kind), name))
			if ds.GetRemoveType() == pg_query.ObjectType_OBJECT_EXTENSION {
				fd.Severity = Danger
				fd.Message += ": the types and functions it owns go with it"
				if cascade {
					fd.Message += ", and CASCADE drops the columns that use them, with their data"
				}
			}
			fd.Objects = []string{kind + " " + name}
			c.report(fd)
		}
	}
}

// statsTable finds a table in the statistics file; nil without one, or
// when the file does not know the table.
func (c *stmtContext) statsTable(t tableRef) *prodstats.Table {
	if c.stats == nil || t.isNew() {
		return nil
	}
	schema, name := splitQualified(t.name)
	if t.table != nil {
		schema, name = t.table.Schema, t.table.Name
	}
	st := c.stats.Table(schema, name)
	if st == nil && schema == "" {
		st = c.stats.Table("public", name)
	}
	return st
}

// rowsOf is what the statistics file says of a table's rows, for the first
// sentence of a finding that loses or overwrites them: " (~200.0M rows,
// 48.0 GB)"; "" when it says nothing.
func (c *stmtContext) rowsOf(t tableRef) string {
	st := c.statsTable(t)
	if st == nil || st.Rows < 0 {
		return ""
	}
	return fmt.Sprintf(" (~%s rows, %s)", humanCount(st.Rows), humanSize(st.TotalBytes))
}

// valuesOf is what the statistics file says of a column's values: " (~200.0M
// rows, 12% of them NULL)", or the rows alone without column statistics.
func (c *stmtContext) valuesOf(t tableRef, col string) string {
	st := c.statsTable(t)
	if st == nil || st.Rows < 0 {
		return ""
	}
	if sc := st.Column(col); sc != nil && st.HasStats(col) {
		return fmt.Sprintf(" (~%s rows, %.0f%% of them NULL)", humanCount(st.Rows), sc.NullFrac*100)
	}
	return fmt.Sprintf(" (~%s rows)", humanCount(st.Rows))
}

func lastName(parts []string) string { return parts[len(parts)-1] }

// qualifiedSibling names another relation in the same schema as t.
func qualifiedSibling(t tableRef, name string) string {
	if t.table != nil {
		return qualified(t.table.Schema, name)
	}
	if t.rv != nil && t.rv.GetSchemaname() != "" {
		return qualified(t.rv.GetSchemaname(), name)
	}
	return quoteIdent(name)
}

// dropRelation reports dropping a table or view, with what CASCADE takes along.
func dropRelation(c *stmtContext, r Rule, kind string, t tableRef, cascade bool, safe string) {
	fd := r.finding(fmt.Sprintf("DROP %s %s", strings.ToUpper(kind), t.name))
	fd.Objects = []string{t.name}
	if t.table == nil {
		fd.Message += unknownNote(t.name)
	} else {
		if kind == "table" {
			fd.Message += fmt.Sprintf(" deletes every row of its %s%s", plural(len(t.table.Columns), "column", "columns"), c.rowsOf(t))
		}
		describeDependents(c, &fd, catalog.ObjectRef{Kind: kind, Schema: t.table.Schema, Name: t.table.Name}, cascade)
		if t.isNew() {
			fd.Severity = Info
			fd.Message += newNote
		}
	}
	if fd.Severity != Info {
		fd.SafeAlternative = safe
	}
	c.report(fd)
}

// describeDependents adds what the catalog says would go with an object.
// Owned sequences, indexes and constraints go with it silently; views and
// other tables' foreign keys make a plain DROP fail and CASCADE take them.
func describeDependents(c *stmtContext, fd *Finding, ref catalog.ObjectRef, cascade bool) {
	var all, blocking []string
	for _, d := range c.cat.Dependents(ref) {
		all = append(all, d.String())
		if d.NeedsCascade {
			blocking = append(blocking, d.String())
		}
	}
	switch {
	case cascade && len(all) > 0:
		fd.Message += fmt.Sprintf("; CASCADE also drops %s", joinObjects(all))
		fd.Objects = append(fd.Objects, all...)
		if len(blocking) > 0 && fd.Severity != Info {
			fd.Severity = Danger
		}
	case len(blocking) > 0:
		verb := "depends"
		if len(blocking) > 1 {
			verb = "depend"
		}
		fd.Message += fmt.Sprintf("; it fails: %s %s on it (drop them first, or add CASCADE)", joinObjects(blocking), verb)
	}
}

func checkDropIndex(c *stmtContext, ds *pg_query.DropStmt, parts []string, cascade bool) {
	schema, name := splitSchema(parts)
	idx, t := c.cat.IndexByName(schema, name)
	display := c.objectName(parts)
	if idx != nil && schema == "" {
		// An index lives in its table's schema.
		display = qualified(t.Schema, name)
	}
	fd := ruleDropIndex.finding(fmt.Sprintf("DROP INDEX %s", display))
	fd.Objects = []string{display}
	if idx == nil {
		fd.Message += unknownNote(display)
	} else {
		if idx.Unique {
			fd.Message += fmt.Sprintf(": it is UNIQUE, so %s stops rejecting duplicates", t.QualifiedName())
		}
		if t.Origin.InChangeSet || idx.Origin.InChangeSet {
			fd.Severity = Info
			fd.Message += newNote
		}
	}
	switch {
	case fd.Severity == Info:
	case idx != nil && t != nil && t.Kind == catalog.KindPartitionedTable:
		fd.SafeAlternative = noSafeWay(fmt.Sprintf("%s is an index of the partitioned table %s, which PostgreSQL cannot drop CONCURRENTLY; drop it when the table is quiet, with SET lock_timeout.", display, t.QualifiedName()))
	default:
		fd.SafeAlternative = fmt.Sprintf("-- Check pg_stat_user_indexes.idx_scan for it first; then, in a migration run without a transaction:\nDROP INDEX CONCURRENTLY IF EXISTS %s;", display)
	}
	c.report(fd)
}

func checkDropType(c *stmtContext, parts []string, cascade, domain bool, ifExists, cascadeWord string) {
	schema, name := splitSchema(parts)
	display := c.objectName(parts)
	fd := ruleDropType.finding(fmt.Sprintf("DROP TYPE %s", display))
	fd.Objects = []string{display}
	var users []string
	for _, t := range c.cat.Tables() {
		for _, col := range t.Columns {
			if col.Type.Name == name && (schema == "" || col.Type.Schema == "" || col.Type.Schema == schema) {
				users = append(users, t.QualifiedName()+"."+quoteIdent(col.Name))
			}
		}
	}
	switch {
	case len(users) > 0 && cascade:
		fd.Message += fmt.Sprintf(" CASCADE drops %s with their data: %s", plural(len(users), "column", "columns"), joinObjects(users))
		fd.Objects = append(fd.Objects, users...)
	case len(users) > 0:
		fd.Severity = Warning
		fd.Message += fmt.Sprintf(" fails: %s still use it", joinObjects(users))
	case cascade:
		fd.Message += " CASCADE drops every column of this type" + unknownNote("no column of this type")
	default:
		fd.Severity = Warning
		fd.Message += ": no column in the known schema uses it"
	}
	if e := c.cat.Enum(schema, name); e != nil && e.Origin.InChangeSet {
		fd.Severity = Info
		fd.Message += newNote
	}
	if fd.Severity != Info {
		keyword := "TYPE"
		if domain {
			keyword = "DOMAIN"
		}
		fd.SafeAlternative = fmt.Sprintf("-- Move the columns to another type first, each reviewed on its own; then:\nDROP %s %s%s%s;", keyword, ifExists, display, cascadeWord)
	}
	c.report(fd)
}

func checkDropColumn(c *stmtContext, t tableRef, ac *pg_query.AlterTableCmd) {
	col := ac.GetName()
	qc := t.qualifiedColumn(col)
	fd := ruleDropColumn.finding(fmt.Sprintf("DROP COLUMN %s deletes its data in every row%s", qc, c.valuesOf(t, col)))
	fd.Objects = []string{qc}
	column := t.column(col)
	switch {
	case t.table == nil:
		fd.Message += unknownNote(t.name)
	case column == nil:
		fd.Message += unknownNote(qc)
	default:
		describeDependents(c, &fd, catalog.ObjectRef{Kind: "column", Schema: t.table.Schema, Table: t.table.Name, Name: col},
			ac.GetBehavior() == pg_query.DropBehavior_DROP_CASCADE)
		if t.isNew() || column.Origin.InChangeSet {
			fd.Severity = Info
			fd.Message += newNote
		}
	}
	if fd.Severity != Info {
		// The key, to join the copy back on, then the column (once, when
		// it is the key itself).
		kept := quoteAll(slices.DeleteFunc(slices.Clone(t.primaryKey()), func(k string) bool { return k == col }))
		backup := fmt.Sprintf("CREATE TABLE %s AS SELECT %s FROM %s;", qualifiedSibling(t, lastName([]string{t.rv.GetRelname()})+"_"+col+"_backup"),
			strings.Join(append(kept, quoteIdent(col)), ", "), t.name)
		if len(t.primaryKey()) == 0 {
			backup = fmt.Sprintf("-- (the table has no known primary key: include the columns that identify a row)\nCREATE TABLE %s AS SELECT %s FROM %s;",
				qualifiedSibling(t, t.rv.GetRelname()+"_"+col+"_backup"), quoteIdent(col), t.name)
		}
		if t.table != nil && column == nil {
			// The migrations do not have the column (an earlier one
			// dropped it, or it was never made): the copy is printed for
			// where it does exist, as a comment, since on the schema the
			// migrations build it fails.
			backup = "-- " + qc + " is not in the schema the migrations build; where it exists:\n-- " + strings.ReplaceAll(strings.TrimPrefix(backup, "-- "), "\n", "\n-- ")
		}
		drop := alterDrop(t, c, ac, "COLUMN")
		if _, cmds, _ := c.alterTable(); len(cmds) > 1 {
			// The statement does more (another column dropped, one added
			// in its place): it runs whole, so that nothing it does is
			// lost.
			drop = "-- (the whole statement, which also makes its other changes)\n" + strings.TrimSuffix(strings.TrimSpace(c.stmt.SQL), ";") + ";"
		}
		fd.SafeAlternative = fmt.Sprintf("-- Release N: stop reading and writing %[1]s in the application (tell the ORM to ignore the column) and deploy that.\n"+
			"-- Keep a copy if the data may be needed:\n%[2]s\n-- Release N+1:\n%[3]s", qc, backup, drop)
	}
	c.report(fd)
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quoteIdent(n)
	}
	return out
}

func checkDropConstraint(c *stmtContext, t tableRef, ac *pg_query.AlterTableCmd) {
	name := ac.GetName()
	fd := ruleDropConstraint.finding(fmt.Sprintf("DROP CONSTRAINT %s on %s", quoteIdent(name), t.name))
	fd.Objects = []string{fmt.Sprintf("constraint %s on %s", quoteIdent(name), t.name)}
	var con *catalog.Constraint
	if t.table != nil {
		con = c.cat.ConstraintByName(t.table, name)
	}
	switch {
	case con == nil:
		fd.Message += unknownNote("the constraint")
	case con.Kind == catalog.PrimaryKey || con.Kind == catalog.Unique:
		if again := readdedKey(c, con); again != "" {
			fd.Message += fmt.Sprintf(": its index is dropped and the same ALTER TABLE adds %s in its place", again)
		} else {
			fd.Message += fmt.Sprintf(": %s stops rejecting duplicate (%s), and its index is dropped with it", t.name, strings.Join(con.Columns, ", "))
		}
	case con.Kind == catalog.ForeignKey:
		fd.Message += fmt.Sprintf(": rows of %s may now point at missing rows of %s; the drop locks both tables with ACCESS EXCLUSIVE", t.name, qualified(con.RefSchema, con.RefTable))
	case con.Kind == catalog.Check:
		fd.Message += fmt.Sprintf(": rows that fail CHECK (%s) can be written from now on", con.Check)
	}
	if t.isNew() || (con != nil && con.Origin.InChangeSet) {
		fd.Severity = Info
		fd.Message += newNote
	} else {
		fd.SafeAlternative = "SET lock_timeout = '2s';\n" + alterDrop(t, c, ac, "CONSTRAINT")
		if _, cmds, _ := c.alterTable(); len(cmds) > 1 {
			// The statement does more than the drop (a key added in its
			// place): it is kept whole, so that nothing it does is lost.
			fd.SafeAlternative = "SET lock_timeout = '2s';\n" + strings.TrimSpace(c.stmt.SQL)
			if !strings.HasSuffix(fd.SafeAlternative, ";") {
				fd.SafeAlternative += ";"
			}
		}
	}
	c.report(fd)
}

// readdedKey describes the PRIMARY KEY or UNIQUE constraint that the same
// ALTER TABLE adds on the columns of the one it drops ("PRIMARY KEY (id,
// project_id)"), "" when it adds none.
func readdedKey(c *stmtContext, dropped *catalog.Constraint) string {
	_, cmds, _ := c.alterTable()
	for _, ac := range cmds {
		con := ac.GetDef().GetConstraint()
		if ac.GetSubtype() != pg_query.AlterTableType_AT_AddConstraint || con == nil {
			continue
		}
		kind := ""
		switch con.GetContype() {
		case pg_query.ConstrType_CONSTR_PRIMARY:
			kind = "PRIMARY KEY"
		case pg_query.ConstrType_CONSTR_UNIQUE:
			kind = "UNIQUE"
		default:
			continue
		}
		cols := pgtree.Names(con.GetKeys())
		if len(cols) == 0 {
			continue
		}
		// Duplicates of the dropped key's columns stay rejected when the
		// new key's columns are among them.
		same := true
		for _, col := range cols {
			if !slices.Contains(dropped.Columns, col) {
				same = false
			}
		}
		desc := fmt.Sprintf("%s (%s)", kind, strings.Join(cols, ", "))
		if !same {
			desc += fmt.Sprintf(", which rejects duplicates of (%s) only, no longer of (%s) alone", strings.Join(cols, ", "), strings.Join(dropped.Columns, ", "))
		}
		return desc
	}
	return ""
}

func checkTruncate(c *stmtContext, ts *pg_query.TruncateStmt) {
	cascade := ts.GetBehavior() == pg_query.DropBehavior_DROP_CASCADE
	for _, rel := range ts.GetRelations() {
		t := c.relation(rel.GetRangeVar())
		fd := ruleTruncate.finding(fmt.Sprintf("TRUNCATE %s deletes every row%s", t.name, c.rowsOf(t)))
		fd.Objects = []string{t.name}
		fd.Marker = c.at(rel.GetRangeVar().GetLocation())
		if t.table == nil {
			fd.Message += unknownNote(t.name)
		} else {
			var referencing []string
			for _, other := range c.cat.Tables() {
				for _, con := range other.Constraints {
					if con.Kind == catalog.ForeignKey && con.RefSchema == t.table.Schema && con.RefTable == t.table.Name && other != t.table {
						referencing = append(referencing, other.QualifiedName())
					}
				}
			}
			if cascade && len(referencing) > 0 {
				fd.Message += fmt.Sprintf("; CASCADE also empties %s", joinObjects(referencing))
				fd.Objects = append(fd.Objects, referencing...)
			}
			if t.isNew() {
				fd.Severity = Info
				fd.Message += newNote
			}
		}
		if fd.Severity != Info {
			key := t.rowKey()
			fd.SafeAlternative = fmt.Sprintf("-- Keep a copy if any of it may be needed, then delete in batches (repeat until it deletes 0 rows):\n"+
				"DELETE FROM %[1]s WHERE %[2]s IN (SELECT %[2]s FROM %[1]s LIMIT 10000);", t.name, key)
		}
		c.report(fd)
	}
}

// checkDeleteAll reports a DELETE that reaches every row; why says how
// (see everyRow), cte names the WITH query it stands in.
func checkDeleteAll(c *stmtContext, ds *pg_query.DeleteStmt, why, cte string) {
	t := c.relation(ds.GetRelation())
	fd := ruleDeleteAll.finding(fmt.Sprintf("%sDELETE FROM %s %s deletes every row%s", ctePrefix(cte), t.name, why, c.rowsOf(t)))
	fd.Objects = []string{t.name}
	if cte != "" {
		fd.Marker = c.at(ds.GetRelation().GetLocation())
	}
	if len(ds.GetUsingClause()) > 0 {
		fd.Message = fmt.Sprintf("%sDELETE FROM %s ... USING %s deletes every row%s as soon as the join finds one match", ctePrefix(cte), t.name, why, c.rowsOf(t))
	}
	if t.table == nil {
		fd.Message += unknownNote(t.name)
	} else if t.isNew() {
		fd.Severity = Info
		fd.Message += newNote
	}
	if fd.Severity != Info {
		key := t.rowKey()
		fd.SafeAlternative = fmt.Sprintf("-- Say which rows, and delete them in batches of one short transaction each (repeat until it deletes 0 rows):\n"+
			"DELETE FROM %[1]s WHERE %[2]s IN (SELECT %[2]s FROM %[1]s WHERE /* which rows */ true LIMIT 10000);", t.name, key)
	}
	c.report(fd)
}

// checkUpdateAll reports an UPDATE that reaches every row; a backfill of
// columns added in this change is lock work, not lost data.
func checkUpdateAll(c *stmtContext, us *pg_query.UpdateStmt, why, cte string) {
	t := c.relation(us.GetRelation())
	var cols []string
	for _, tgt := range us.GetTargetList() {
		if rt := tgt.GetResTarget(); rt != nil {
			cols = append(cols, quoteIdent(rt.GetName()))
		}
	}
	if isBackfill(t, us) {
		reportBackfill(c, t, us, why, len(cols) > 0)
		return
	}
	if len(us.GetFromClause()) == 0 && keepsEveryValue(us) {
		reportNullFill(c, t, us, why, cte)
		return
	}
	fd := ruleUpdateAll.finding(fmt.Sprintf("%sUPDATE %s %s overwrites %s in every row%s", ctePrefix(cte), t.name, why, joinObjects(cols), c.rowsOf(t)))
	if len(us.GetFromClause()) > 0 {
		fd.Message = fmt.Sprintf("%sUPDATE %s ... FROM %s overwrites %s in every row%s as soon as the join finds one match", ctePrefix(cte), t.name, why, joinObjects(cols), c.rowsOf(t))
	}
	fd.Objects = []string{t.name}
	if cte != "" {
		fd.Marker = c.at(us.GetRelation().GetLocation())
	}
	if t.table == nil {
		fd.Message += unknownNote(t.name)
	} else if t.isNew() {
		fd.Severity = Info
		fd.Message += newNote
	}
	if fd.Severity != Info && len(cols) > 0 {
		fd.SafeAlternative = safeBatchedUpdate(t, us, "Backfill")
	}
	c.report(fd)
}

// keepsEveryValue says every column the UPDATE sets keeps its value where
// it has one: SET x = COALESCE(x, ...) (or x = x). Such an UPDATE only
// fills NULLs; nothing is lost.
func keepsEveryValue(us *pg_query.UpdateStmt) bool {
	targets := us.GetTargetList()
	if len(targets) == 0 {
		return false
	}
	isColumn := func(n *pg_query.Node, name string) bool {
		names := pgtree.Names(n.GetColumnRef().GetFields())
		return len(names) > 0 && names[len(names)-1] == name
	}
	for _, tgt := range targets {
		rt := tgt.GetResTarget()
		if rt == nil || len(rt.GetIndirection()) > 0 {
			return false
		}
		val := rt.GetVal()
		if isColumn(val, rt.GetName()) {
			continue
		}
		ce := val.GetCoalesceExpr()
		if ce == nil || len(ce.GetArgs()) < 2 || !isColumn(ce.GetArgs()[0], rt.GetName()) {
			return false
		}
	}
	return true
}

// reportNullFill reports an UPDATE of every row that only fills NULLs
// (SET x = COALESCE(x, 0)) as the write it is, not as lost data: the lock
// rules add its size and severity, as for a backfill.
func reportNullFill(c *stmtContext, t tableRef, us *pg_query.UpdateStmt, why, cte string) {
	var cols []string
	for _, tgt := range us.GetTargetList() {
		cols = append(cols, quoteIdent(tgt.GetResTarget().GetName()))
	}
	fd := ruleBackfill.finding(fmt.Sprintf("%sUPDATE %s %s fills only the NULLs of %s, keeping every value already there: no data is lost, but it writes every row of %s in one transaction and holds a row lock on each until COMMIT",
		ctePrefix(cte), t.name, why, joinObjects(cols), t.name))
	fd.Objects = []string{t.name}
	fd.Marker = c.at(us.GetRelation().GetLocation())
	if t.table != nil && t.isNew() {
		fd.Severity = Info
		fd.Message += newNote
	} else {
		fd.SafeAlternative = safeBatchedUpdate(t, us, "Fill")
	}
	c.report(fd)
}
