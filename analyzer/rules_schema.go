package analyzer

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
)

var ruleFailsAgainstSchema = register(Rule{
	ID: "fails-against-schema", Question: QTransaction, Severity: Warning,
	Title: "Statement PostgreSQL rejects against the migrated schema",
	Why: "Against the schema the migrations before it build, PostgreSQL rejects this statement: it adds a column or creates a table that " +
		"is already there, or drops, renames or alters a column that is not. The migration then fails where the tool runs it " +
		"(and, in a transaction, rolls back all of it). The schema was replayed from the migrations migration-guard read, " +
		"so an object made or changed outside them (by hand, by another tool) could explain it; migrations applied out of order are " +
		"the common cause. Only tables those migrations created, with every column known, are checked.",
	Example: "-- 0158 already added it:\nALTER TABLE application ADD COLUMN \"customEntrypoint\" text;",
	Safe:    "ALTER TABLE application ADD COLUMN IF NOT EXISTS \"customEntrypoint\" text;",
})

// systemColumns are every table's hidden columns: adding or dropping one
// fails with another error, and they are not in the model.
var systemColumns = map[string]bool{"ctid": true, "xmin": true, "xmax": true, "cmin": true, "cmax": true, "tableoid": true, "oid": true}

// checkFailsAgainstSchema reports statements PostgreSQL rejects against the
// replayed schema, where the replay is certain: the table was created by a
// migration read, its columns are all known, and no IF [NOT] EXISTS makes
// the statement a no-op. The catalog leaves such statements unapplied (see
// catalog.Apply); this says so.
func checkFailsAgainstSchema(c *stmtContext) {
	if c.guarded {
		// BEGIN ... EXCEPTION WHEN duplicate_column: the error is expected.
		return
	}
	switch n := c.node.GetNode().(type) {
	case *pg_query.Node_CreateStmt:
		schema, name, ok := c.cat.CreateTableConflict(n.CreateStmt)
		if !ok {
			return
		}
		fd := ruleFailsAgainstSchema.finding(fmt.Sprintf(
			"PostgreSQL rejects it: relation %q already exists (SQLSTATE 42P07 duplicate_table): the migrations before it already created %s %s; "+
				"the schema was replayed from the migrations migration-guard read, so something done outside them could explain it, "+
				"but as migrated this fails. If it may already exist, write CREATE TABLE IF NOT EXISTS",
			name, c.cat.RelationKindOf(schema, name), qualified(schema, name)))
		fd.Marker = c.at(n.CreateStmt.GetRelation().GetLocation())
		c.report(fd)
	case *pg_query.Node_AlterTableStmt:
		failsAlterTable(c, n.AlterTableStmt)
	case *pg_query.Node_RenameStmt:
		failsRename(c, n.RenameStmt)
	}
}

// certainTable is the table a statement names, when the replay knows all
// of it.
func certainTable(c *stmtContext, rv *pg_query.RangeVar) *catalog.Table {
	t := c.cat.Relation(rv)
	if t == nil || t.ColumnsUnknown || (t.Kind != catalog.KindTable && t.Kind != catalog.KindPartitionedTable) {
		return nil
	}
	return t
}

func failsAlterTable(c *stmtContext, at *pg_query.AlterTableStmt) {
	if at.GetObjtype() != pg_query.ObjectType_OBJECT_TABLE {
		return
	}
	t := certainTable(c, at.GetRelation())
	if t == nil {
		return
	}
	// The columns as the statement's earlier subcommands leave them: the
	// table's, under what those subcommands added (a new column) or
	// dropped (nil) in changed. Most statements have one subcommand:
	// copying every column of the table into a map for each allocated
	// more than the rest of the rule.
	var changed map[string]*catalog.Column
	column := func(name string) *catalog.Column {
		if col, ok := changed[name]; ok {
			return col
		}
		return lastColumn(t, name)
	}
	// Only a later subcommand reads what an earlier one changed.
	later := len(at.GetCmds()) > 1
	set := func(name string, col *catalog.Column) {
		if !later {
			return
		}
		if changed == nil {
			changed = map[string]*catalog.Column{}
		}
		changed[name] = col
	}
	var added map[string]bool
	for _, cmd := range at.GetCmds() {
		ac := cmd.GetAlterTableCmd()
		if ac == nil {
			continue
		}
		switch ac.GetSubtype() {
		case pg_query.AlterTableType_AT_AddColumn:
			cd := ac.GetDef().GetColumnDef()
			name := cd.GetColname()
			if cd == nil || name == "" {
				continue
			}
			if col := column(name); col != nil && !ac.GetMissingOk() && !added[name] {
				fd := ruleFailsAgainstSchema.finding(fmt.Sprintf(
					"PostgreSQL rejects it: column %q of relation %q already exists (SQLSTATE 42701 duplicate_column): %s%s; "+
						"the schema was replayed from the migrations migration-guard read, so a column dropped outside them could explain it, "+
						"but as migrated this fails. If it may already exist, write ADD COLUMN IF NOT EXISTS",
					name, t.Name, qualified(t.Schema, t.Name, name), addedWhere(col)))
				fd.Marker = c.at(cd.GetLocation())
				c.report(fd)
			}
			if later {
				set(name, &catalog.Column{Name: name})
				if added == nil {
					added = map[string]bool{}
				}
				added[name] = true
			}
		case pg_query.AlterTableType_AT_DropColumn:
			name := ac.GetName()
			if column(name) == nil && !ac.GetMissingOk() && !systemColumns[name] {
				reportMissingColumn(c, t, name, "DROP COLUMN", "If it may be gone already, write DROP COLUMN IF EXISTS")
			}
			set(name, nil)
		case pg_query.AlterTableType_AT_AlterColumnType, pg_query.AlterTableType_AT_SetNotNull,
			pg_query.AlterTableType_AT_DropNotNull, pg_query.AlterTableType_AT_ColumnDefault:
			name := ac.GetName()
			if column(name) == nil && name != "" && !systemColumns[name] {
				reportMissingColumn(c, t, name, "ALTER COLUMN", "")
			}
		}
	}
}

// lastColumn is the table's last column of that name: the one a map of
// its columns by name keeps (a replayed table has each name once).
func lastColumn(t *catalog.Table, name string) *catalog.Column {
	for i := len(t.Columns) - 1; i >= 0; i-- {
		if t.Columns[i].Name == name {
			return t.Columns[i]
		}
	}
	return nil
}

func failsRename(c *stmtContext, rs *pg_query.RenameStmt) {
	switch rs.GetRenameType() {
	case pg_query.ObjectType_OBJECT_COLUMN:
		if rs.GetRelationType() != pg_query.ObjectType_OBJECT_TABLE {
			return
		}
		t := certainTable(c, rs.GetRelation())
		if t == nil {
			return
		}
		old, to := rs.GetSubname(), rs.GetNewname()
		if t.Column(old) == nil {
			if !systemColumns[old] {
				reportMissingColumn(c, t, old, "RENAME COLUMN", "")
			}
			return
		}
		if col := t.Column(to); col != nil && old != to {
			c.report(ruleFailsAgainstSchema.finding(fmt.Sprintf(
				"PostgreSQL rejects it: column %q of relation %q already exists (SQLSTATE 42701 duplicate_column): %s%s; "+
					"the schema was replayed from the migrations migration-guard read, so something done outside them could explain it, but as migrated this fails",
				to, t.Name, qualified(t.Schema, t.Name, to), addedWhere(col))))
		}
	case pg_query.ObjectType_OBJECT_TABLE:
		t := certainTable(c, rs.GetRelation())
		if t == nil || rs.GetNewname() == t.Name || !c.cat.RelationNameTaken(t.Schema, rs.GetNewname()) {
			return
		}
		c.report(ruleFailsAgainstSchema.finding(fmt.Sprintf(
			"PostgreSQL rejects it: relation %q already exists (SQLSTATE 42P07 duplicate_table): the migrations before it already created %s %s; "+
				"the schema was replayed from the migrations migration-guard read, so something done outside them could explain it, but as migrated this fails",
			rs.GetNewname(), c.cat.RelationKindOf(t.Schema, rs.GetNewname()), qualified(t.Schema, rs.GetNewname()))))
	}
}

func reportMissingColumn(c *stmtContext, t *catalog.Table, name, what, advice string) {
	msg := fmt.Sprintf("PostgreSQL rejects it: %s of column %q, which %s does not have (SQLSTATE 42703 undefined_column): "+
		"%s was created by %s and, after the migrations before this statement, has no column %s; the schema was replayed from the migrations migration-guard read, "+
		"so a column added outside them could explain it, but as migrated this fails",
		what, name, qualified(t.Schema, t.Name), qualified(t.Schema, t.Name), originText(t.Origin), quoteIdent(name))
	if advice != "" {
		msg += ". " + advice
	}
	c.report(ruleFailsAgainstSchema.finding(msg))
}

// addedWhere says where the migrations added a column, when known.
func addedWhere(col *catalog.Column) string {
	if col == nil || col.Origin.Path == "" {
		return " is already there"
	}
	return " was added at " + originText(col.Origin)
}
