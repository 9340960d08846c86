package analyzer

import (
	"fmt"
	"strings"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

var (
	ruleMergeMatched = register(Rule{
		ID: "merge-matched", Question: QDrops, Severity: Danger,
		Title: "MERGE ... WHEN MATCHED THEN DELETE or UPDATE",
		Why: "MERGE deletes or overwrites every row of the target that the join matches: how many depends on the data of both sides, " +
			"which the review cannot see, and it runs in one transaction that locks every matched row until COMMIT.",
		Example: "MERGE INTO customers c USING legacy_customers l ON c.email = l.email WHEN MATCHED THEN DELETE;",
		Safe: "-- Count what it would touch first, keep a copy, and work in batches:\n" +
			"SELECT count(*) FROM customers c JOIN legacy_customers l ON c.email = l.email;",
	})
	ruleDropOwned = register(Rule{
		ID: "drop-owned", Question: QDrops, Severity: Danger,
		Title: "DROP OWNED",
		Why: "DROP OWNED BY drops every table, view, sequence, function and type the roles own in this database, with their data, " +
			"whatever their names: what goes is decided by ownership in production, not by anything the migration shows.",
		Example: "DROP OWNED BY legacy_app;",
		Safe:    "-- Drop the objects by name, each reviewed; then revoke what is left:\nREVOKE ALL ON ALL TABLES IN SCHEMA public FROM legacy_app;",
	})
	ruleReassignOwned = register(Rule{
		ID: "reassign-owned", Question: QDrops, Severity: Warning,
		Title: "REASSIGN OWNED",
		Why: "Every object the roles own in this database changes owner at once; a role that loses ownership can no longer ALTER or DROP " +
			"its tables, and the application's migrations running as that role start to fail.",
		Example: "REASSIGN OWNED BY legacy_app TO app;",
		Safe:    "-- Change owners by name, so the review sees which objects move:\nALTER TABLE orders OWNER TO app;",
	})
	ruleCopyProgram = register(Rule{
		ID: "copy-program", Question: QDrops, Severity: Danger,
		Title: "COPY ... PROGRAM",
		Why: "COPY ... PROGRAM runs a shell command on the database server as the operating system user PostgreSQL runs as: " +
			"it can read, change or delete any file the server can, including the database's own.",
		Example: "COPY audit_log TO PROGRAM 'gzip > /tmp/audit.gz';",
		Safe:    "-- Export or import from the client instead (psql's \\copy), outside the migrations.",
	})
	ruleCopyFrom = register(Rule{
		ID: "copy-from", Question: QDrops, Severity: Warning,
		Title: "COPY ... FROM into an existing table",
		Why: "COPY FROM adds rows that the review cannot see (from a file on the server, or data sent by the client) to a table in use, " +
			"firing its triggers and checking its constraints: a bad row fails the whole migration, and what was loaded must be cleaned up by hand.",
		Example: "COPY countries FROM '/data/countries.csv' WITH (FORMAT csv);",
		Safe:    "-- Load reference data with INSERT statements in the migration, so that the review sees it:\nINSERT INTO countries (code, name) VALUES ('FR', 'France');",
	})
	ruleBackfill = register(Rule{
		ID: "backfill", Question: QLocks, Severity: Danger,
		Title: "Backfill of a column added in the same change",
		Why: "Filling a column this change added loses no data (it held only its default), but the UPDATE writes a new version of every row " +
			"and holds a row lock on each until COMMIT: writes to those rows wait for the whole backfill, which takes as long as the table is large.",
		Example: "ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';",
		Safe: "-- Backfill in batches, one short transaction each, repeated until it updates 0 rows:\n" +
			"UPDATE users SET plan = 'free' WHERE id IN (SELECT id FROM users WHERE plan IS NULL LIMIT 10000);",
	})
)

// rowWrite is a DELETE, UPDATE, MERGE or INSERT ... ON CONFLICT DO UPDATE
// a statement runs, at its top or in one of its WITH queries.
type rowWrite struct {
	node *pg_query.Node
	cte  string // the WITH query's name, "" at the top
}

// rowWrites lists the data-changing statements a statement runs. Only
// statements that run now are read: a function body or a view definition
// stores its statements for later.
func rowWrites(n *pg_query.Node) []rowWrite {
	if ps := n.GetPrepareStmt(); ps != nil {
		// Judged where it is prepared: EXECUTE runs it, by name.
		out := rowWrites(ps.GetQuery())
		for i := range out {
			out[i].cte = "PREPARE " + quoteIdent(ps.GetName()) + ": " + ctePrefix(out[i].cte)
		}
		return out
	}
	if rs := n.GetRuleStmt(); rs != nil {
		// A rule's actions run with every matching statement on the table.
		var out []rowWrite
		for _, a := range rs.GetActions() {
			for _, w := range rowWrites(a) {
				w.cte = fmt.Sprintf("rule %s runs on every %s on %s: %s", quoteIdent(rs.GetRulename()),
					strings.TrimPrefix(rs.GetEvent().String(), "CMD_"), rangeVarName(rs.GetRelation()), ctePrefix(w.cte))
				out = append(out, w)
			}
		}
		return out
	}
	if ex := n.GetExplainStmt(); ex != nil {
		// EXPLAIN ANALYZE runs the statement.
		for _, o := range ex.GetOptions() {
			if strings.EqualFold(o.GetDefElem().GetDefname(), "analyze") {
				return rowWrites(ex.GetQuery())
			}
		}
		return nil
	}
	switch n.Node.(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
	default:
		return nil
	}
	var out []rowWrite
	switch n.Node.(type) {
	case *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
		out = append(out, rowWrite{node: n})
	case *pg_query.Node_InsertStmt:
		if isUpsert(n) {
			out = append(out, rowWrite{node: n})
		}
	}
	pgtree.Walk(n, func(x *pg_query.Node) bool {
		if cte := x.GetCommonTableExpr(); cte != nil {
			switch q := cte.GetCtequery(); q.Node.(type) {
			case *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
				out = append(out, rowWrite{node: q, cte: cte.GetCtename()})
			case *pg_query.Node_InsertStmt:
				if isUpsert(q) {
					out = append(out, rowWrite{node: q, cte: cte.GetCtename()})
				}
			}
		}
		return true
	})
	return out
}

// checkRowWrites answers question 1 for the rows a statement deletes or
// overwrites.
func checkRowWrites(c *stmtContext) {
	for _, w := range rowWrites(c.node) {
		switch {
		case w.node.GetDeleteStmt() != nil:
			ds := w.node.GetDeleteStmt()
			if every, why := everyRow(c, ds.GetRelation(), ds.GetWhereClause(), len(ds.GetUsingClause()) > 0); every {
				checkDeleteAll(c, ds, why, w.cte)
			} else {
				checkDeleteSome(c, ds, w.cte)
			}
		case w.node.GetUpdateStmt() != nil:
			us := w.node.GetUpdateStmt()
			if every, why := everyRow(c, us.GetRelation(), us.GetWhereClause(), len(us.GetFromClause()) > 0); every {
				checkUpdateAll(c, us, why, w.cte)
			} else {
				checkUpdateSome(c, us, w.cte)
			}
		case w.node.GetMergeStmt() != nil:
			checkMerge(c, w.node.GetMergeStmt(), w.cte)
		case w.node.GetInsertStmt() != nil:
			checkUpsert(c, w.node.GetInsertStmt(), w.cte)
		}
	}
}

// everyRow says whether a DELETE or UPDATE reaches every row of its
// target, and how to say why: no WHERE, a WHERE that is always true, or a
// WHERE that names no column of the target (the same for every row).
func everyRow(c *stmtContext, rv *pg_query.RangeVar, where *pg_query.Node, joined bool) (bool, string) {
	if where == nil {
		if joined {
			return true, "without WHERE"
		}
		return true, "without WHERE"
	}
	switch conditionTruth(where) {
	case isTrue:
		return true, fmt.Sprintf("WHERE %s (always true)", deparseExpr(where))
	case isFalse, isNull:
		return false, ""
	}
	if !namesTarget(c, rv, where, joined) {
		return true, fmt.Sprintf("WHERE %s (names no column of %s, so it holds for every row or for none)", deparseExpr(where), rangeVarName(rv))
	}
	return false, ""
}

// namesTarget says whether a condition refers to the target's rows. An
// unqualified column is the target's when there is no join; with one, when
// the target is known to have it (or the target is unknown: then it may).
func namesTarget(c *stmtContext, rv *pg_query.RangeVar, where *pg_query.Node, joined bool) bool {
	t := c.relation(rv)
	alias := rv.GetAlias().GetAliasname()
	found := false
	pgtree.Walk(where, func(n *pg_query.Node) bool {
		cr := n.GetColumnRef()
		if cr == nil || found {
			return !found
		}
		parts := pgtree.Names(cr.GetFields())
		switch {
		case len(parts) == 0:
		case len(parts) == 1:
			if !joined || t.table == nil || t.table.Column(parts[0]) != nil || isSystemColumn(parts[0]) || parts[0] == alias || parts[0] == rv.GetRelname() {
				found = true
			}
		default:
			q := parts[len(parts)-2]
			if len(cr.GetFields()) > len(parts) {
				q = parts[len(parts)-1] // t.* : the last name is the table
			}
			if (alias != "" && q == alias) || (alias == "" && q == rv.GetRelname()) {
				found = true
			}
		}
		return !found
	})
	return found
}

func isSystemColumn(name string) bool {
	switch name {
	case "ctid", "xmin", "xmax", "cmin", "cmax", "tableoid":
		return true
	}
	return false
}

func checkMerge(c *stmtContext, ms *pg_query.MergeStmt, cte string) {
	t := c.relation(ms.GetRelation())
	always := conditionTruth(ms.GetJoinCondition()) == isTrue
	for _, wn := range ms.GetMergeWhenClauses() {
		w := wn.GetMergeWhenClause()
		if w == nil || !w.GetMatched() {
			continue
		}
		var verb string
		switch w.GetCommandType() {
		case pg_query.CmdType_CMD_DELETE:
			verb = "deletes"
		case pg_query.CmdType_CMD_UPDATE:
			verb = "overwrites"
		default:
			continue
		}
		fd := ruleMergeMatched.finding(fmt.Sprintf("%sMERGE INTO %s ... WHEN MATCHED THEN %s %s every row of %s that the join matches",
			ctePrefix(cte), t.name, strings.TrimSuffix(strings.ToUpper(verb), "S"), verb, t.name))
		fd.Objects = []string{t.name}
		fd.Marker = c.at(ms.GetRelation().GetLocation())
		if always {
			fd.Message += fmt.Sprintf(": the join condition %s is always true, so that is every row", deparseExpr(ms.GetJoinCondition()))
		}
		if w.GetCondition() != nil {
			fd.Message += fmt.Sprintf(" and where %s", deparseExpr(w.GetCondition()))
		}
		// Overwriting the matched rows is as destructive as deleting them,
		// and as an UPDATE or INSERT ... ON CONFLICT DO UPDATE of existing
		// rows (update-rows): how many the join matches is production's.
		switch {
		case t.table == nil:
			fd.Message += unknownNote(t.name)
		case t.isNew():
			fd.Severity = Info
			fd.Message += newNote
		}
		c.report(fd)
	}
}

// ctePrefix says where a row write stands: in a WITH query (its name), or
// in a PREPARE or a rule (a sentence already).
func ctePrefix(cte string) string {
	switch {
	case cte == "":
		return ""
	case strings.HasSuffix(cte, ": "):
		return cte
	}
	return fmt.Sprintf("WITH %s AS (...): ", quoteIdent(cte))
}

// checkOwnedAndCopy reports DROP OWNED, REASSIGN OWNED and COPY.
func checkOwnedAndCopy(c *stmtContext) {
	n := c.node
	switch {
	case n.GetDropOwnedStmt() != nil:
		roles := roleNames(n.GetDropOwnedStmt().GetRoles())
		fd := ruleDropOwned.finding(fmt.Sprintf("DROP OWNED BY %s drops every object %s in this database, with its data, whatever its name; which objects that is depends on production, not on anything the migration shows",
			roles, ownerWords(n.GetDropOwnedStmt().GetRoles())))
		if n.GetDropOwnedStmt().GetBehavior() == pg_query.DropBehavior_DROP_CASCADE {
			fd.Message += ", and CASCADE drops what depends on them too"
		}
		c.report(fd)
	case n.GetReassignOwnedStmt() != nil:
		rs := n.GetReassignOwnedStmt()
		fd := ruleReassignOwned.finding(fmt.Sprintf("REASSIGN OWNED BY %s TO %s gives every object %s in this database to %s at once",
			roleNames(rs.GetRoles()), rs.GetNewrole().GetRolename(), ownerWords(rs.GetRoles()), rs.GetNewrole().GetRolename()))
		c.report(fd)
	case n.GetCopyStmt() != nil:
		checkCopy(c, n.GetCopyStmt())
	}
}

func roleNames(roles []*pg_query.Node) string {
	var out []string
	for _, r := range roles {
		rs := r.GetRoleSpec()
		switch rs.GetRoletype() {
		case pg_query.RoleSpecType_ROLESPEC_CSTRING:
			out = append(out, quoteIdent(rs.GetRolename()))
		case pg_query.RoleSpecType_ROLESPEC_CURRENT_USER:
			out = append(out, "CURRENT_USER")
		case pg_query.RoleSpecType_ROLESPEC_SESSION_USER:
			out = append(out, "SESSION_USER")
		case pg_query.RoleSpecType_ROLESPEC_CURRENT_ROLE:
			out = append(out, "CURRENT_ROLE")
		default:
			out = append(out, "PUBLIC")
		}
	}
	return strings.Join(out, ", ")
}

func ownerWords(roles []*pg_query.Node) string {
	if len(roles) == 1 {
		return "that role owns"
	}
	return "those roles own"
}

func checkCopy(c *stmtContext, cs *pg_query.CopyStmt) {
	if cs.GetIsProgram() {
		dir := "writes its output to"
		if cs.GetIsFrom() {
			dir = "reads its input from"
		}
		// COPY (query) TO PROGRAM has no table: it copies the query's rows.
		what, name := "(query)", ""
		if cs.GetRelation() != nil {
			name = c.relation(cs.GetRelation()).name
			what = name
		}
		to := "TO"
		if cs.GetIsFrom() {
			to = "FROM"
		}
		fd := ruleCopyProgram.finding(fmt.Sprintf("COPY %s %s PROGRAM %s: it %s a shell command run on the database server as PostgreSQL's operating system user",
			what, to, quoteLiteral(cs.GetFilename()), dir))
		if name != "" {
			fd.Objects = []string{name}
		}
		c.report(fd)
	}
	if !cs.GetIsFrom() || cs.GetRelation() == nil {
		return
	}
	t := c.relation(cs.GetRelation())
	from := "the client (STDIN)"
	if cs.GetFilename() != "" {
		from = quoteLiteral(cs.GetFilename())
		if cs.GetIsProgram() {
			from = "the program's output"
		}
	}
	fd := ruleCopyFrom.finding(fmt.Sprintf("COPY %s FROM %s adds rows the review cannot see to %s", t.name, from, t.name))
	fd.Objects = []string{t.name}
	fd.Marker = c.at(cs.GetRelation().GetLocation())
	switch {
	case t.table == nil:
		fd.Message += unknownNote(t.name)
	case t.isNew():
		fd.Severity = Info
		fd.Message += newNote
	}
	c.report(fd)
}

// isBackfill says whether an UPDATE of every row only fills columns this
// change added to an existing table: no data is lost, the question is how
// long it holds its row locks.
func isBackfill(t tableRef, us *pg_query.UpdateStmt) bool {
	if t.table == nil || t.isNew() || len(us.GetTargetList()) == 0 {
		return false
	}
	for _, tgt := range us.GetTargetList() {
		col := t.column(tgt.GetResTarget().GetName())
		if col == nil || !col.Origin.InChangeSet {
			return false
		}
	}
	return true
}

// reportBackfill reports the backfill of new columns as lock work.
func reportBackfill(c *stmtContext, t tableRef, us *pg_query.UpdateStmt, why string, hasSets bool) {
	var cols []string
	for _, tgt := range us.GetTargetList() {
		cols = append(cols, quoteIdent(tgt.GetResTarget().GetName()))
	}
	fd := ruleBackfill.finding(fmt.Sprintf("UPDATE %s %s fills %s, added earlier in this change: no data is lost, but it writes every row of %s in one transaction and holds a row lock on each until COMMIT",
		t.name, why, joinObjects(cols), t.name))
	fd.Objects = []string{t.name}
	fd.Marker = c.at(us.GetRelation().GetLocation())
	if hasSets {
		fd.SafeAlternative = safeBatchedUpdate(t, us, "Backfill")
	}
	c.report(fd)
}

// amendBackfill gives a backfill finding its size and a severity by it,
// as the lock rules do for their own findings. It says whether there was
// one.
func (c *stmtContext) amendBackfill(est *Estimate, size sizeNote) bool {
	for i := range c.stmt.Findings {
		f := &c.stmt.Findings[i]
		if f.Rule != ruleBackfill.ID {
			continue
		}
		f.Message += "; " + size.textFor(f.Message)
		if size.known && est != nil {
			sev := f.Severity
			switch high := time.Duration(est.HighMS) * time.Millisecond; {
			case high < c.cfg.Threshold()/10:
				sev = Info
			case high < c.cfg.Threshold():
				sev = Warning
			}
			if sev.Rank() < f.Severity.Rank() {
				f.Severity, f.RequiresApproval = sev, c.cfg.NeedsApproval(sev)
			}
		}
		return true
	}
	return false
}
