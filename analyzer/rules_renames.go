package analyzer

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

var (
	ruleRenameTable = register(Rule{
		ID: "rename-table", Question: QRenames, Severity: Danger,
		Title: "Rename (or move) a table or view",
		Why: "During a rolling deploy the old version of the application keeps running and keeps using the old name: " +
			"every one of its queries on the table fails from the moment the migration commits until the last old instance is gone.",
		Example: "ALTER TABLE orders RENAME TO purchases;",
		Safe: "-- Expand: rename, and keep the old name working with a view (simple views accept INSERT, UPDATE and DELETE):\n" +
			"BEGIN;\nALTER TABLE orders RENAME TO purchases;\nCREATE VIEW orders AS SELECT * FROM purchases;\nCOMMIT;\n" +
			"-- Contract, in a later release once no code uses the old name:\nDROP VIEW orders;",
	})
	ruleRenameColumn = register(Rule{
		ID: "rename-column", Question: QRenames, Severity: Danger,
		Title: "Rename a column",
		Why: "The old version of the application, still serving traffic during the deploy, reads and writes the old column name; " +
			"its queries fail until it is gone. ORMs that list every column fail on every query of the table.",
		Example: "ALTER TABLE users RENAME COLUMN email TO email_address;",
		Safe: "-- Expand: add the new column, keep both in step with a trigger, backfill in batches;\n" +
			"-- deploy code that uses the new name; contract: drop the old column in a later release.",
	})
	ruleRenameSchema = register(Rule{
		ID: "rename-schema", Question: QRenames, Severity: Danger,
		Title:   "Rename a schema",
		Why:     "Every query of the running application that names the schema, and every search_path that lists it, breaks at once.",
		Example: "ALTER SCHEMA billing RENAME TO payments;",
		Safe:    "-- Create the new schema and move objects one by one with views left behind, or deploy code that uses both names first.",
	})
	ruleRenameEnumValue = register(Rule{
		ID: "rename-enum-value", Question: QRenames, Severity: Danger,
		Title: "Rename an enum value",
		Why: "Existing rows change value at once. The running application still writes and compares the old label: " +
			"its INSERTs and UPDATEs with it fail with \"invalid input value for enum\", and its WHERE clauses match nothing.",
		Example: "ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';",
		Safe: "-- Expand: add the new value and deploy code that accepts both:\nALTER TYPE order_status ADD VALUE IF NOT EXISTS 'cancelled';\n" +
			"-- Backfill in batches:\nUPDATE orders SET status = 'cancelled' WHERE id IN (SELECT id FROM orders WHERE status = 'canceled' LIMIT 10000);\n" +
			"-- Contract: stop writing the old value; enum values cannot be dropped, so leave it unused or recreate the type later.",
	})
	ruleRenameType = register(Rule{
		ID: "rename-type", Question: QRenames, Severity: Warning,
		Title: "Rename a type or domain",
		Why: "Columns keep working, but queries and functions of the running application that cast to the type by name (status::order_status) fail. " +
			"When the same transaction creates a new type under the old name (the enum swap: rename away, create, move the columns, drop the old one), " +
			"casts by name keep working and the finding is info; the values the new type accepts are judged where the columns change type.",
		Example: "ALTER TYPE order_status RENAME TO purchase_status;",
		Safe:    "-- Deploy code that no longer names the type first, then rename it.",
	})
	ruleRenameConstraint = register(Rule{
		ID: "rename-constraint", Question: QRenames, Severity: Warning,
		Title: "Rename a constraint",
		Why: "Code that names the constraint — ON CONFLICT ON CONSTRAINT, error handling that matches the constraint name " +
			"in unique-violation errors — stops matching while the old version runs.",
		Example: "ALTER TABLE users RENAME CONSTRAINT users_email_key TO users_email_unique;",
		Safe:    "-- Check the application for the old name (ON CONFLICT ON CONSTRAINT, error handling) and deploy that change first.",
	})
	ruleRenameIndex = register(Rule{
		ID: "rename-index", Question: QRenames, Severity: Info,
		Title: "Rename an index",
		Why: "Queries do not name indexes, so the application keeps working; scripts, monitoring and later migrations that name the index " +
			"(DROP INDEX, REINDEX) need the new name. Before PostgreSQL 12 it takes an ACCESS EXCLUSIVE lock.",
		Example: "ALTER INDEX orders_idx RENAME TO orders_customer_id_idx;",
		Safe:    "ALTER INDEX orders_idx RENAME TO orders_customer_id_idx;",
	})
	ruleRenameOther = register(Rule{
		ID: "rename-object", Question: QRenames, Severity: Warning,
		Title:   "Rename a sequence, function or other object",
		Why:     "Code of the running version that names the object — nextval('old_seq'), a function call — fails after the rename.",
		Example: "ALTER SEQUENCE invoice_seq RENAME TO invoice_number_seq;",
		Safe:    "-- Deploy code that uses the new name (or both) first, then rename.",
	})
)

// checkRenames answers question 4 for one statement.
func checkRenames(c *stmtContext) {
	n := c.node
	switch {
	case n.GetRenameStmt() != nil:
		checkRenameStmt(c, n.GetRenameStmt())
	case n.GetAlterEnumStmt() != nil && n.GetAlterEnumStmt().GetOldVal() != "":
		ae := n.GetAlterEnumStmt()
		typ := qualified(pgtree.Names(ae.GetTypeName())...)
		fd := ruleRenameEnumValue.finding(fmt.Sprintf("renames value %s of enum %s to %s; existing rows change at once and the running version still uses the old label",
			quoteLiteral(ae.GetOldVal()), typ, quoteLiteral(ae.GetNewVal())))
		fd.Objects = []string{typ}
		schema, name := splitSchema(pgtree.Names(ae.GetTypeName()))
		if e := c.cat.Enum(schema, name); e != nil && e.Origin.InChangeSet {
			fd.Severity = Info
			fd.Message += newNote
		} else {
			fd.SafeAlternative = enumRenameSafeWay(c, typ, schema, name, ae.GetOldVal(), ae.GetNewVal())
		}
		c.report(fd)
	case n.GetAlterObjectSchemaStmt() != nil && n.GetAlterObjectSchemaStmt().GetRelation() != nil:
		as := n.GetAlterObjectSchemaStmt()
		t := c.relation(as.GetRelation())
		fd := ruleRenameTable.finding(fmt.Sprintf("moves %s to schema %s; queries of the running version that use the old name fail", t.name, quoteIdent(as.GetNewschema())))
		fd.Objects = []string{t.name}
		fd.Marker = c.at(as.GetRelation().GetLocation())
		lowerIfNew(&fd, t)
		c.report(fd)
	}
}

func checkRenameStmt(c *stmtContext, rs *pg_query.RenameStmt) {
	newName := rs.GetNewname()
	switch rs.GetRenameType() {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW, pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
		t := c.relation(rs.GetRelation())
		kind := "table"
		create := "VIEW"
		switch rs.GetRenameType() {
		case pg_query.ObjectType_OBJECT_VIEW:
			kind = "view"
		case pg_query.ObjectType_OBJECT_MATVIEW:
			kind, create = "materialized view", "MATERIALIZED VIEW"
		}
		fd := ruleRenameTable.finding(fmt.Sprintf("renames %s %s to %s; every query of the running version that uses the old name fails", kind, t.name, quoteIdent(newName)))
		fd.Objects = []string{t.name}
		fd.Marker = c.at(rs.GetRelation().GetLocation())
		if !lowerIfNew(&fd, t) {
			newQualified := qualifiedSibling(t, newName)
			if kind == "table" {
				fd.SafeAlternative = fmt.Sprintf("-- Expand: rename, and keep the old name working with a view (simple views accept INSERT, UPDATE and DELETE):\n"+
					"BEGIN;\nALTER TABLE %[1]s RENAME TO %[2]s;\nCREATE VIEW %[1]s AS SELECT * FROM %[3]s;\nCOMMIT;\n"+
					"-- Contract, in a later release once no code uses %[1]s:\nDROP VIEW %[1]s;", t.name, quoteIdent(newName), newQualified)
			} else {
				fd.SafeAlternative = fmt.Sprintf("-- Create the view under the new name beside the old one, deploy code that uses it, then drop the old one:\n"+
					"CREATE %s %s AS /* the same query */ SELECT ...;", create, newQualified)
			}
		}
		c.report(fd)
	case pg_query.ObjectType_OBJECT_COLUMN:
		t := c.relation(rs.GetRelation())
		old := rs.GetSubname()
		qc := t.qualifiedColumn(old)
		fd := ruleRenameColumn.finding(fmt.Sprintf("renames column %s to %s; the running version still reads and writes %s", qc, quoteIdent(newName), quoteIdent(old)))
		fd.Objects = []string{qc}
		fd.Marker = c.at(rs.GetRelation().GetLocation())
		col := t.column(old)
		switch {
		case t.isNew() || (col != nil && col.Origin.InChangeSet):
			fd.Severity = Info
			fd.Message += newNote
		default:
			if t.table == nil {
				fd.Message += unknownNote(t.name)
			}
			fd.SafeAlternative = safeColumnRename(c, t, old, newName)
		}
		c.report(fd)
	case pg_query.ObjectType_OBJECT_SCHEMA:
		fd := ruleRenameSchema.finding(fmt.Sprintf("renames schema %s to %s; everything that names it breaks", quoteIdent(rs.GetSubname()), quoteIdent(newName)))
		fd.Objects = []string{quoteIdent(rs.GetSubname())}
		if s := c.cat.Schema(rs.GetSubname()); s != nil && s.Origin.InChangeSet {
			fd.Severity = Info
			fd.Message += newNote
		}
		c.report(fd)
	case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
		parts := objectNames(rs.GetObject())
		typ := qualified(parts...)
		fd := ruleRenameType.finding(fmt.Sprintf("renames type %s to %s; casts to the old name in the running version fail", typ, quoteIdent(newName)))
		fd.Objects = []string{typ}
		schema, name := splitSchema(parts)
		if e := c.cat.Enum(schema, name); e != nil && e.Origin.InChangeSet {
			fd.Severity = Info
			fd.Message += newNote
		}
		c.report(fd)
	case pg_query.ObjectType_OBJECT_TABCONSTRAINT, pg_query.ObjectType_OBJECT_DOMCONSTRAINT:
		t := c.relation(rs.GetRelation())
		old := rs.GetSubname()
		fd := ruleRenameConstraint.finding(fmt.Sprintf("renames constraint %s to %s", quoteIdent(old), quoteIdent(newName)))
		if rs.GetRelation() != nil {
			fd.Message += " on " + t.name
			fd.Objects = []string{fmt.Sprintf("constraint %s on %s", quoteIdent(old), t.name)}
			if t.table != nil {
				if con := c.cat.ConstraintByName(t.table, old); con != nil && con.Origin.InChangeSet {
					fd.Severity = Info
					fd.Message += newNote
				}
			}
		}
		lowerIfNew(&fd, t)
		c.report(fd)
	case pg_query.ObjectType_OBJECT_INDEX:
		t := c.relation(rs.GetRelation())
		fd := ruleRenameIndex.finding(fmt.Sprintf("renames index %s to %s", t.name, quoteIdent(newName)))
		fd.Objects = []string{t.name}
		if c.cfg.PostgresVersion < 12 {
			fd.Severity = Warning
			fd.Message += fmt.Sprintf("; on PostgreSQL %d this takes an ACCESS EXCLUSIVE lock on the table", c.cfg.PostgresVersion)
		}
		c.report(fd)
	case pg_query.ObjectType_OBJECT_SEQUENCE, pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE,
		pg_query.ObjectType_OBJECT_TRIGGER, pg_query.ObjectType_OBJECT_POLICY:
		name := rangeVarName(rs.GetRelation())
		if name == "" {
			name = qualified(objectNames(rs.GetObject())...)
		}
		if rs.GetRenameType() == pg_query.ObjectType_OBJECT_TRIGGER || rs.GetRenameType() == pg_query.ObjectType_OBJECT_POLICY {
			name = quoteIdent(rs.GetSubname()) + " on " + name
		}
		fd := ruleRenameOther.finding(fmt.Sprintf("renames %s to %s", name, quoteIdent(newName)))
		fd.Objects = []string{name}
		c.report(fd)
	}
}

// lowerIfNew makes a finding informational when its table is new in this
// change, and says whether it did.
func lowerIfNew(fd *Finding, t tableRef) bool {
	if !t.isNew() {
		if t.table == nil && t.rv != nil {
			fd.Message += unknownNote(t.name)
		}
		return false
	}
	fd.Severity = Info
	fd.Message += newNote
	return true
}

func quoteLiteral(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += "''"
		} else {
			out += string(r)
		}
	}
	return out + "'"
}

func enumRenameSafeWay(c *stmtContext, typ, schema, name, oldVal, newVal string) string {
	out := fmt.Sprintf("-- 1. Expand: add the new label and deploy code that accepts both.\nALTER TYPE %s ADD VALUE IF NOT EXISTS %s;\n", typ, quoteLiteral(newVal))
	var users []string
	for _, t := range c.cat.Tables() {
		for _, col := range t.Columns {
			if col.Type.Name == name && (schema == "" || col.Type.Schema == "" || col.Type.Schema == schema) {
				ref := tableRef{table: t, name: t.QualifiedName()}
				key := ref.rowKey()
				users = append(users, fmt.Sprintf("UPDATE %[1]s SET %[2]s = %[3]s WHERE %[5]s IN (SELECT %[5]s FROM %[1]s WHERE %[2]s = %[4]s LIMIT 10000);",
					t.QualifiedName(), quoteIdent(col.Name), quoteLiteral(newVal), quoteLiteral(oldVal), key))
			}
		}
	}
	out += "-- 2. In a later migration (a new enum value cannot be used in the transaction that added it), backfill in batches until 0 rows:\n"
	if len(users) == 0 {
		out += fmt.Sprintf("UPDATE <table> SET <column> = %s WHERE <column> = %s;\n", quoteLiteral(newVal), quoteLiteral(oldVal))
	}
	for _, u := range users {
		out += u + "\n"
	}
	out += "-- 3. Deploy code that writes only the new label. Enum values cannot be dropped: leave the old one unused."
	return out
}
