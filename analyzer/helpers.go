package analyzer

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// tableRef resolves a relation against the catalog and says how to name it.
type tableRef struct {
	table *catalog.Table // nil when no migration created it
	name  string         // schema-qualified when known, else as written
	rv    *pg_query.RangeVar
}

func (c *stmtContext) relation(rv *pg_query.RangeVar) tableRef {
	t := c.cat.Relation(rv)
	if t != nil {
		return tableRef{table: t, name: t.QualifiedName(), rv: rv}
	}
	if rv != nil && rv.GetSchemaname() == "" && rv.GetRelpersistence() != "t" {
		// Not created by a migration, but the session's search path says
		// where it is: SET search_path = billing makes it billing.<name>.
		if s := c.cat.SoleSchema(); s != "" {
			return tableRef{name: qualified(s, rv.GetRelname()), rv: rv}
		}
	}
	return tableRef{name: rangeVarName(rv), rv: rv}
}

// alterTable returns the table and subcommands of an ALTER TABLE statement;
// ok is false for any other statement.
func (c *stmtContext) alterTable() (t tableRef, cmds []*pg_query.AlterTableCmd, ok bool) {
	at := c.node.GetAlterTableStmt()
	if at == nil {
		return tableRef{}, nil, false
	}
	for _, cmd := range at.GetCmds() {
		if ac := cmd.GetAlterTableCmd(); ac != nil {
			cmds = append(cmds, ac)
		}
	}
	return c.relation(at.GetRelation()), cmds, true
}

// objectName names a non-relation object (an index, a type) as written,
// or in the one schema the session's search path leaves when unqualified.
func (c *stmtContext) objectName(parts []string) string {
	if len(parts) == 1 {
		if s := c.cat.SoleSchema(); s != "" {
			return qualified(s, parts[0])
		}
	}
	return qualified(parts...)
}

// relationByName resolves a qualified name given as strings.
func (c *stmtContext) relationByName(parts []string) tableRef {
	schema, name := splitSchema(parts)
	return c.relation(&pg_query.RangeVar{Schemaname: schema, Relname: name, Inh: true, Relpersistence: "p"})
}

// isNew says the table was created earlier in this change: it is empty and
// nothing running depends on it yet.
func (r tableRef) isNew() bool { return r.table != nil && r.table.Origin.InChangeSet }

// provenNewColumn says the table is known with all its columns and has no
// column of that name, so an ADD COLUMN IF NOT EXISTS of it adds it.
func (r tableRef) provenNewColumn(name string) bool {
	return r.table != nil && !r.table.ColumnsUnknown && r.table.Column(name) == nil
}

// column returns the named column when the table is known.
func (r tableRef) column(name string) *catalog.Column {
	if r.table == nil {
		return nil
	}
	return r.table.Column(name)
}

// qualifiedColumn names a column for people: public.orders.note.
func (r tableRef) qualifiedColumn(col string) string { return r.name + "." + quoteIdent(col) }

// primaryKey returns the table's primary key columns, or nil.
func (r tableRef) primaryKey() []string {
	if r.table == nil {
		return nil
	}
	for _, con := range r.table.Constraints {
		if con.Kind == catalog.PrimaryKey {
			return con.Columns
		}
	}
	return nil
}

// rowKey is how a batched statement names rows: the primary key when there
// is a single-column one, else ctid.
func (r tableRef) rowKey() string {
	if pk := r.primaryKey(); len(pk) == 1 {
		return quoteIdent(pk[0])
	}
	return "ctid"
}

// unknownNote is said of objects that no migration created: they may well
// exist in production, created by hand or before the migrations began.
func unknownNote(what string) string {
	return fmt.Sprintf(" (%s is not created by any migration migration-guard read; if it exists in production, this applies to it)", what)
}

// newNote is said of objects created earlier in the same change.
const newNote = "; it was created earlier in this change, so no existing data or running code depends on it"

// deparseExpr prints an expression node as SQL.
func deparseExpr(n *pg_query.Node) string {
	if n == nil {
		return ""
	}
	sel := &pg_query.SelectStmt{
		TargetList:  []*pg_query.Node{pg_query.MakeResTargetNodeWithVal(n, 0)},
		LimitOption: pg_query.LimitOption_LIMIT_OPTION_DEFAULT,
		Op:          pg_query.SetOperation_SETOP_NONE,
	}
	tree := &pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sel}}}}}
	out, err := pgtree.Deparse(tree)
	if err != nil {
		return "<expression>"
	}
	return strings.TrimPrefix(out, "SELECT ")
}

// joinObjects lists objects for a sentence.
func joinObjects(objs []string) string {
	switch len(objs) {
	case 0:
		return ""
	case 1:
		return objs[0]
	}
	return strings.Join(objs[:len(objs)-1], ", ") + " and " + objs[len(objs)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
