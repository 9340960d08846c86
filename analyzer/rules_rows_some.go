package analyzer

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// A DELETE or UPDATE with a WHERE is judged here when everyRow does not
// already say it reaches every row: how many rows a WHERE reaches depends on
// production data, and a condition that looks narrow (id > 0, id = id, a
// subquery on the same table) may reach them all. Spotting always-true
// conditions can always be routed around, so any such write to rows that
// existed before the change needs approval.
var (
	ruleDeleteRows = register(Rule{
		ID: "delete-rows", Question: QDrops, Severity: Danger,
		Title: "DELETE of existing rows",
		Why: "The DELETE destroys every existing row its WHERE matches, and how many that is depends on production data, which the SQL does not show: " +
			"a condition that looks narrow (id > 0, a subquery on the same table) may match every row. Once committed, only a backup brings them back.",
		Example: "DELETE FROM users WHERE last_login < now() - interval '2 years';",
		Safe: rowsAdvice + "\n" +
			"-- SELECT count(*) FROM users WHERE last_login < now() - interval '2 years';\n" +
			"-- CREATE TABLE users_deleted AS SELECT * FROM users WHERE last_login < now() - interval '2 years';",
	})
	ruleUpdateRows = register(Rule{
		ID: "update-rows", Question: QDrops, Severity: Danger,
		Title: "UPDATE of existing rows (also INSERT ... ON CONFLICT DO UPDATE)",
		Why: "The UPDATE overwrites the old values of existing columns in every row its WHERE matches (an INSERT ... ON CONFLICT DO UPDATE, in every row " +
			"an inserted row conflicts with), and how many that is depends on production data, which the SQL does not show: a condition that looks narrow " +
			"may match every row. Once committed, only a backup brings the old values back.",
		Example: "UPDATE users SET email = NULL WHERE deleted_at IS NOT NULL;",
		Safe: rowsAdvice + "\n" +
			"-- SELECT count(*) FROM users WHERE deleted_at IS NOT NULL;\n" +
			"-- CREATE TABLE users_email_backup AS SELECT id, email FROM users WHERE deleted_at IS NOT NULL;",
	})
)

// rowsAdvice is the safe way of delete-rows and update-rows: which rows
// are meant is the author's to say, so no SQL is written for them.
const rowsAdvice = "-- Count the rows it reaches on production first, and keep a copy of them:"

// rowsNoSQL says, in a finding, why no safe SQL is printed.
const rowsNoSQL = "which rows are meant is the author's to say. Count the rows the condition reaches on production first (SELECT count(*) with the same WHERE), " +
	"and keep a copy of them (CREATE TABLE ... AS SELECT) until the change is known to be right."

// noRows says a condition folds to false or NULL: it reaches no row.
func noRows(where *pg_query.Node) bool {
	switch conditionTruth(where) {
	case isFalse, isNull:
		return true
	}
	return false
}

// clipSQL keeps a condition short enough for a message.
func clipSQL(s string) string {
	const max = 120
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "..."
	}
	return s
}

// checkDeleteSome reports a DELETE with a WHERE of rows that existed before
// the change; one that reaches every row is delete-without-where's.
func checkDeleteSome(c *stmtContext, ds *pg_query.DeleteStmt, cte string) {
	if noRows(ds.GetWhereClause()) {
		return
	}
	t := c.relation(ds.GetRelation())
	if t.isNew() {
		return
	}
	using := ""
	if len(ds.GetUsingClause()) > 0 {
		using = " ... USING ..."
	}
	fd := ruleDeleteRows.finding(fmt.Sprintf("%sDELETE FROM %s%s WHERE %s deletes the existing rows it matches, up to every row of %s%s; how many it reaches cannot be known from the SQL",
		ctePrefix(cte), t.name, using, clipSQL(deparseExpr(ds.GetWhereClause())), t.name, c.rowsOf(t)))
	fd.Objects = []string{t.name}
	if cte != "" {
		fd.Marker = c.at(ds.GetRelation().GetLocation())
	}
	if t.table == nil {
		fd.Message += unknownNote(t.name)
	}
	fd.SafeAlternative = noSafeWay(rowsNoSQL)
	c.report(fd)
}

// oldColumns lists the columns an UPDATE (or ON CONFLICT DO UPDATE) sets
// that existed before the change; a column not known is taken to exist.
func oldColumns(t tableRef, targets []*pg_query.Node) []string {
	var out []string
	seen := map[string]bool{}
	for _, tgt := range targets {
		rt := tgt.GetResTarget()
		if rt == nil || seen[rt.GetName()] {
			continue
		}
		seen[rt.GetName()] = true
		if col := t.column(rt.GetName()); col == nil || !col.Origin.InChangeSet {
			out = append(out, quoteIdent(rt.GetName()))
		}
	}
	return out
}

// checkUpdateSome reports an UPDATE with a WHERE that overwrites columns
// that existed before the change; one that reaches every row is
// update-without-where's, one that only fills new columns loses nothing.
func checkUpdateSome(c *stmtContext, us *pg_query.UpdateStmt, cte string) {
	if noRows(us.GetWhereClause()) {
		return
	}
	t := c.relation(us.GetRelation())
	if t.isNew() {
		return
	}
	cols := oldColumns(t, us.GetTargetList())
	if len(cols) == 0 || (len(us.GetFromClause()) == 0 && keepsEveryValue(us)) || fillsOnlyNulls(us) {
		return
	}
	from := ""
	if len(us.GetFromClause()) > 0 {
		from = " ... FROM ..."
	}
	fd := ruleUpdateRows.finding(fmt.Sprintf("%sUPDATE %s%s WHERE %s overwrites %s in the existing rows it matches, up to every row of %s%s; how many it reaches cannot be known from the SQL",
		ctePrefix(cte), t.name, from, clipSQL(deparseExpr(us.GetWhereClause())), joinObjects(cols), t.name, c.rowsOf(t)))
	fd.Objects = []string{t.name}
	if cte != "" {
		fd.Marker = c.at(us.GetRelation().GetLocation())
	}
	if t.table == nil {
		fd.Message += unknownNote(t.name)
	}
	fd.SafeAlternative = noSafeWay(rowsNoSQL)
	c.report(fd)
}

// fillsOnlyNulls says the WHERE holds only where every column the UPDATE
// sets is NULL (x IS NULL, ANDed with anything): such an UPDATE replaces
// NULLs and nothing else. An unqualified column is the target's: the
// target has it (SET names it), and PostgreSQL rejects a name that a
// FROM table has too as ambiguous.
func fillsOnlyNulls(us *pg_query.UpdateStmt) bool {
	rv := us.GetRelation()
	null := map[string]bool{}
	var walk func(n *pg_query.Node)
	walk = func(n *pg_query.Node) {
		if be := n.GetBoolExpr(); be != nil && be.GetBoolop() == pg_query.BoolExprType_AND_EXPR {
			for _, a := range be.GetArgs() {
				walk(a)
			}
			return
		}
		nt := n.GetNullTest()
		if nt == nil || nt.GetNulltesttype() != pg_query.NullTestType_IS_NULL || nt.GetArg().GetColumnRef() == nil {
			return
		}
		parts := pgtree.Names(nt.GetArg().GetColumnRef().GetFields())
		switch {
		case len(parts) == 1:
			null[parts[0]] = true
		case len(parts) == 2 && (parts[0] == rv.GetAlias().GetAliasname() || (rv.GetAlias() == nil && parts[0] == rv.GetRelname())):
			null[parts[1]] = true
		}
	}
	walk(us.GetWhereClause())
	if len(us.GetTargetList()) == 0 {
		return false
	}
	for _, tgt := range us.GetTargetList() {
		rt := tgt.GetResTarget()
		if rt == nil || !null[rt.GetName()] {
			return false
		}
	}
	return true
}

// checkUpsert reports an INSERT ... ON CONFLICT DO UPDATE into a table that
// held rows before the change: it overwrites every existing row an inserted
// row conflicts with, as MERGE ... WHEN MATCHED THEN UPDATE does.
func checkUpsert(c *stmtContext, is *pg_query.InsertStmt, cte string) {
	oc := is.GetOnConflictClause()
	if oc.GetAction() != pg_query.OnConflictAction_ONCONFLICT_UPDATE || noRows(oc.GetWhereClause()) {
		return
	}
	t := c.relation(is.GetRelation())
	if t.isNew() {
		return
	}
	cols := oldColumns(t, oc.GetTargetList())
	if len(cols) == 0 {
		return
	}
	where := ""
	if w := oc.GetWhereClause(); w != nil {
		where = " (where " + clipSQL(deparseExpr(w)) + ")"
	}
	fd := ruleUpdateRows.finding(fmt.Sprintf("%sINSERT INTO %s ... ON CONFLICT DO UPDATE overwrites %s in every existing row that an inserted row conflicts with%s, up to every row of %s%s; how many it reaches cannot be known from the SQL",
		ctePrefix(cte), t.name, joinObjects(cols), where, t.name, c.rowsOf(t)))
	fd.Objects = []string{t.name}
	if cte != "" {
		fd.Marker = c.at(is.GetRelation().GetLocation())
	}
	if t.table == nil {
		fd.Message += unknownNote(t.name)
	}
	fd.SafeAlternative = noSafeWay(rowsNoSQL)
	c.report(fd)
}

// isUpsert says a statement node is an INSERT ... ON CONFLICT DO UPDATE.
func isUpsert(n *pg_query.Node) bool {
	return n.GetInsertStmt().GetOnConflictClause().GetAction() == pg_query.OnConflictAction_ONCONFLICT_UPDATE
}
