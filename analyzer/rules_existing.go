package analyzer

import (
	"fmt"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/locks"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/analyzer/typechange"
)

var (
	ruleExistingRows = register(Rule{
		ID: "existing-rows", Question: QTypes, Severity: Info,
		Title: "What the rows already in the table hold afterwards",
		Why: "A default is what rows inserted later get; what the rows already there hold is decided once, by the statement. " +
			"ADD COLUMN gives them NULL without a default, the default evaluated once when it is a constant or STABLE (now() is the migration's time, for every old row), " +
			"a value per row, computed by a rewrite, when it is volatile; SET DEFAULT and DROP DEFAULT leave them as they are. " +
			"Check that old rows hold what the application expects of them, not only new ones.",
		Example: "ALTER TABLE orders ADD COLUMN region text;\nALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';",
		Safe: "-- To give the existing rows the value as well, add the column with its default in one statement\n" +
			"-- (a constant default is stored once: nothing is rewritten), or backfill them in batches after SET DEFAULT (see backfill).",
	})
	ruleReplicationLag = register(Rule{
		ID: "replication-lag", Question: QLocks, Severity: Info,
		Title: "Concurrent index build that writes gigabytes of WAL",
		Why: "Every byte of write-ahead log a statement writes is sent to every replica and replayed there. A concurrent index build blocks no one on the primary, " +
			"but it writes about the new index's size of WAL, and replicas (and the reads sent to them) fall behind until they have replayed it. " +
			"Rewrites, index builds under a lock, and UPDATEs and DELETEs of every row say the WAL they write in their own finding.",
		Example: "CREATE INDEX CONCURRENTLY events_payload_idx ON events (payload);",
		Safe:    "-- Build it when the replicas have room to catch up, and watch their lag (pg_stat_replication.replay_lag) while it runs.",
	})
)

// walNotable is the WAL volume from which a concurrent index build, which
// no other finding reports, is worth a reviewer's attention: replicas
// replay a gigabyte in seconds to minutes, depending on their disks and
// the network.
const walNotable = 1 << 30

// checkExistingRows says, for ADD COLUMN, SET DEFAULT and DROP DEFAULT on a
// table that has rows, what those rows hold afterwards beside what new
// rows get: one finding per statement. Type changes say it in their own
// finding (checkAlterColumnType).
func checkExistingRows(c *stmtContext) {
	t, cmds, ok := c.alterTable()
	if !ok || t.isNew() {
		return
	}
	rows := c.existingRows(t)
	var parts []rowsPart
	var objects []string
	// Columns this statement adds: PostgreSQL fills them from their own
	// definition before it applies a SET or DROP DEFAULT of the same
	// statement (measured), which changes only what new rows get.
	added := map[string]int{}
	for _, ac := range cmds {
		switch ac.GetSubtype() {
		case pg_query.AlterTableType_AT_AddColumn:
			cd := ac.GetDef().GetColumnDef()
			if cd == nil || c.addFails(t, cd.GetColname()) || locks.SkippedAddColumn(t.table, ac) {
				// A skipped ADD COLUMN IF NOT EXISTS leaves the column
				// and its rows as they are.
				continue
			}
			added[cd.GetColname()] = len(parts)
			parts = append(parts, addColumnRows(t, cd, rows))
			objects = append(objects, t.qualifiedColumn(cd.GetColname()))
		case pg_query.AlterTableType_AT_ColumnDefault:
			name, def := ac.GetName(), ac.GetDef()
			if i, ok := added[name]; ok {
				p := &parts[i]
				if def != nil {
					p.what += ", then SET DEFAULT " + deparseExpr(def)
					p.newRows = "only rows inserted later get " + deparseExpr(def) + ": the SET DEFAULT of the same statement does not fill the existing rows"
				} else {
					p.what += ", then DROP DEFAULT"
					p.newRows = "rows inserted later get NULL"
				}
				continue
			}
			parts = append(parts, c.defaultChangeRows(t, name, def, rows))
			objects = append(objects, t.qualifiedColumn(name))
		}
	}
	if len(parts) == 0 {
		return
	}
	fd := ruleExistingRows.finding(renderRows(parts, false))
	fd.Objects = objects
	if t.table == nil {
		fd.Message += unknownNote(t.name)
	}
	fd.rows = &rowsFacts{parts: parts, note: fd.Message[len(renderRows(parts, false)):], message: fd.Message}
	c.report(fd)
}

// addFails says the statement's ADD COLUMN of the column fails on a table
// with rows (add-column-not-null): then no row holds anything.
func (c *stmtContext) addFails(t tableRef, col string) bool {
	for _, f := range c.stmt.Findings {
		if f.Rule == ruleAddColumnNotNull.ID && len(f.Objects) == 1 && f.Objects[0] == t.qualifiedColumn(col) {
			return true
		}
	}
	return false
}

// rowsPart is one thing an existing-rows finding says: verb ("ADD COLUMN",
// "SET DEFAULT 'x' on") col what (" DEFAULT 1", " without a default"):
// existing; newRows. Parts of the same verb, what and outcome are said
// once for all their columns.
type rowsPart struct {
	line              int
	verb, col, what   string
	existing, newRows string
	// raw is a message said as it is, alone.
	raw bool
}

func (p rowsPart) outcome() string {
	if p.newRows == "" {
		return p.existing
	}
	return p.existing + "; " + p.newRows
}

// rowsFacts keeps the parts of an existing-rows finding for the fold of a
// part's findings into one, with the message they made: a message changed
// since (a note added) is folded as it reads.
type rowsFacts struct {
	parts []rowsPart
	// note is said after the parts (the table is not known).
	note    string
	message string
}

// maxRowsListed caps the columns named for one outcome; the finding's
// Objects list every one.
const maxRowsListed = 5

// renderRows says the parts, columns changed the same way with the same
// outcome said once for all of them; lines says each part's line.
func renderRows(parts []rowsPart, lines bool) string {
	at := func(p rowsPart) string {
		if lines {
			return fmt.Sprintf("line %d: ", p.line)
		}
		return ""
	}
	type group struct {
		first rowsPart
		cols  []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, p := range parts {
		key := p.verb + "\x00" + p.what + "\x00" + p.outcome()
		if p.raw {
			groups = append(groups, &group{first: p})
			continue
		}
		if g, ok := byKey[key]; ok {
			g.cols = append(g.cols, at(p)+p.col)
			continue
		}
		g := &group{first: p, cols: []string{at(p) + p.col}}
		byKey[key] = g
		groups = append(groups, g)
	}
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		p := g.first
		if p.raw {
			out = append(out, at(p)+p.existing)
			continue
		}
		if len(g.cols) == 1 {
			out = append(out, at(p)+p.verb+" "+p.col+p.what+": "+p.outcome())
			continue
		}
		named, more := g.cols, ""
		if len(named) > maxRowsListed {
			more = fmt.Sprintf(", and %d more (the finding's objects list them all)", len(named)-maxRowsListed)
			named = named[:maxRowsListed]
		}
		verb := strings.TrimSuffix(p.verb, " on")
		out = append(out, fmt.Sprintf("%s%s, for %d columns (%s%s): %s", verb, p.what, len(g.cols), strings.Join(named, ", "), more, p.outcome()))
	}
	if lines {
		return strings.Join(out, "; ")
	}
	return strings.Join(out, "; and ")
}

// addColumnRows says what the existing rows hold in a column ADD COLUMN
// adds (head names the column and its default), and what new rows get.
func addColumnRows(t tableRef, cd *pg_query.ColumnDef, rows string) rowsPart {
	p := rowsPart{verb: "ADD COLUMN", col: t.qualifiedColumn(cd.GetColname())}
	set := func(what, existing, newRows string) rowsPart {
		p.what, p.existing, p.newRows = what, existing, newRows
		return p
	}
	var def, generated *pg_query.Node
	identity := isSerial(cd.GetTypeName())
	for _, cn := range cd.GetConstraints() {
		k := cn.GetConstraint()
		switch k.GetContype() {
		case pg_query.ConstrType_CONSTR_DEFAULT:
			def = k.GetRawExpr()
		case pg_query.ConstrType_CONSTR_IDENTITY:
			identity = true
		case pg_query.ConstrType_CONSTR_GENERATED:
			generated = k.GetRawExpr()
		}
	}
	switch {
	case generated != nil:
		return set(" GENERATED ALWAYS AS ("+deparseExpr(generated)+") STORED",
			rows+" get it computed from their own values as the table is rewritten", "new rows get it computed at INSERT and UPDATE")
	case identity:
		return set(" (identity)", rows+" are numbered from the new sequence (1, 2, ...) in the order the rewrite reads them, not by age",
			"new rows continue from the sequence")
	case def == nil || isNullConstant(def):
		return set(" without a default", rows+" hold NULL in it", "new rows get NULL too unless the INSERT gives a value")
	}
	d := deparseExpr(def)
	what := " DEFAULT " + d
	switch {
	case locks.Volatile(def):
		return set(what, fmt.Sprintf("each of %s gets its own value of %s, computed while the table is rewritten (not when the row was created)", rows, d),
			"each new row gets one at its INSERT")
	case locks.Stable(def):
		return set(what, fmt.Sprintf("%s all hold the one value %s has when the migration runs (evaluated once, stored in the catalog)", rows, d),
			fmt.Sprintf("each new row gets %s at its INSERT", d))
	}
	return set(what, fmt.Sprintf("%s read %s (evaluated once and stored in the catalog: nothing is rewritten)", rows, d), fmt.Sprintf("new rows get %s too", d))
}

// defaultChangeRows says what SET DEFAULT (def set) or DROP DEFAULT (def
// nil) leaves in the existing rows.
func (c *stmtContext) defaultChangeRows(t tableRef, name string, def *pg_query.Node, rows string) rowsPart {
	p := rowsPart{col: t.qualifiedColumn(name)}
	var msg string
	if def != nil {
		p.verb = "SET DEFAULT " + deparseExpr(def) + " on"
		msg = fmt.Sprintf("only rows inserted later that leave the column out get %s; %s keep what they hold", deparseExpr(def), rows)
	} else {
		p.verb = "DROP DEFAULT on"
		msg = "rows inserted later that leave the column out get NULL"
		if col := t.column(name); col != nil && col.NotNull {
			msg += " (the column is NOT NULL, so such INSERTs fail)"
		}
		msg += fmt.Sprintf("; %s keep what they hold (a default stored when the column was added stays in them too)", rows)
	}
	if c.run != nil {
		if a, ok := c.run.addedColumns[columnKey(t, name)]; ok && !a.filled {
			msg += fmt.Sprintf(": NULL, since the column was added at %s without a default, wherever nothing has filled them since", a.at.where(c.stmt.Path))
		}
	}
	p.existing = msg
	return p
}

// existingRows names the rows a table already holds, counted when the
// statistics file has the table.
func (c *stmtContext) existingRows(t tableRef) string {
	if st := c.statsTable(t); st != nil && st.Rows >= 0 {
		return fmt.Sprintf("the ~%s existing rows", humanCount(st.Rows))
	}
	return "the existing rows"
}

// statsTableNamed looks a relation up in the statistics file by the name a
// message gives it; nil when there is none or it lacks the relation.
func (c *stmtContext) statsTableNamed(subject string) *prodstats.Table {
	if c.stats == nil || subject == "" {
		return nil
	}
	schema, name := splitQualified(subject)
	t := c.stats.Table(schema, name)
	if t == nil && schema == "" {
		t = c.stats.Table("public", name)
	}
	return t
}

// typeChangeRows says what the existing rows hold after a type change.
func typeChangeRows(rows string, old, new catalog.Type, using *pg_query.Node, v typechange.Verdict) string {
	switch {
	case using != nil:
		return fmt.Sprintf("%s hold the result of USING %s, computed from each row's old value", rows, deparseExpr(using))
	case v.Effect == typechange.Metadata:
		return fmt.Sprintf("%s keep their values as they are, byte for byte", rows)
	}
	return fmt.Sprintf("%s hold their values cast from %s to %s", rows, old.SQL(), new.SQL())
}

// walNote says how much WAL the work writes and what replicas make of it;
// "" for work that writes none worth telling (a scan, catalog changes, an
// unlogged table).
func (c *stmtContext) walNote(t *prodstats.Table, imp locks.Impact) (int64, string) {
	if c.writesNoWAL(imp.Subject) {
		return 0, ""
	}
	var bytes int64
	var what string
	switch imp.Work {
	case locks.Rewrite:
		bytes, what = t.RewriteWAL(), "the table and its indexes, written anew"
	case locks.IndexBuild:
		keys, all := indexBuildKeys(c.node)
		if all && t != nil {
			bytes = t.IndexBytes
		} else {
			bytes = t.IndexBuildWAL(keys)
		}
		what = "the index built, written whole"
	case locks.Backfill:
		if c.node.GetDeleteStmt() != nil {
			bytes, what = t.DeleteWAL(), "a record per row, and every page it changes logged whole after a checkpoint"
			break
		}
		bytes, what = t.UpdateWAL(), "each row's new version, every page it changes logged whole after a checkpoint, and the index entries"
	default:
		return 0, ""
	}
	if t == nil || bytes <= 0 {
		scales := map[locks.Work]string{locks.Rewrite: "about the table's total size", locks.IndexBuild: "about the new index's size", locks.Backfill: "several times the table's size"}[imp.Work]
		if imp.Work == locks.Backfill && c.node.GetDeleteStmt() != nil {
			scales = "about the table's size"
		}
		return 0, fmt.Sprintf("the WAL it writes is %s, and replicas fall behind until they have replayed it", scales)
	}
	return bytes, fmt.Sprintf("it writes about %s of WAL (%s): replicas fall behind until they have replayed it", humanSize(bytes), what)
}

// writesNoWAL: work on an unlogged or temporary table, or SET UNLOGGED,
// writes no WAL for its data.
func (c *stmtContext) writesNoWAL(subject string) bool {
	if at := c.node.GetAlterTableStmt(); at != nil {
		if at.GetRelation().GetRelpersistence() == "t" {
			return true
		}
		for _, cmd := range at.GetCmds() {
			if cmd.GetAlterTableCmd().GetSubtype() == pg_query.AlterTableType_AT_SetUnLogged {
				return true
			}
		}
	}
	schema, name := splitQualified(subject)
	if t := c.cat.Table(schema, name); t != nil && t.Unlogged {
		return true
	}
	return false
}

// indexBuildKeys names the key columns of the one index a statement
// builds; all is set when it rebuilds every index of the table (REINDEX
// TABLE). Keys are nil when an expression is among them.
func indexBuildKeys(n *pg_query.Node) (keys []string, all bool) {
	switch {
	case n.GetIndexStmt() != nil:
		is := n.GetIndexStmt()
		if !allPlainColumns(is) {
			return nil, false
		}
		return indexColumnNames(is), false
	case n.GetReindexStmt() != nil:
		return nil, n.GetReindexStmt().GetKind() != pg_query.ReindexObjectType_REINDEX_OBJECT_INDEX
	case n.GetAlterTableStmt() != nil:
		for _, cmd := range n.GetAlterTableStmt().GetCmds() {
			k := cmd.GetAlterTableCmd().GetDef().GetConstraint()
			if k != nil && (k.GetContype() == pg_query.ConstrType_CONSTR_PRIMARY || k.GetContype() == pg_query.ConstrType_CONSTR_UNIQUE) && k.GetIndexname() == "" {
				return pgtree.Names(k.GetKeys()), false
			}
		}
	}
	return nil, false
}

// foldExistingRows makes the existing-rows findings of one part one
// finding, on the first statement that has one, each statement's part
// introduced by its line: what the old rows hold after a migration is one
// thing for a reviewer to check, however many statements add columns or
// change defaults. Suppressed findings stay as they are.
func foldExistingRows(reported []*Statement, all []Statement) {
	// The parts are for this fold only: every finding of the file (those
	// of code a function runs too) leaves judging as it reads, equal to
	// its copy from the cache.
	defer func() {
		for k := range all {
			for i := range all[k].Findings {
				all[k].Findings[i].rows = nil
			}
		}
	}()
	var sts []*Statement
	for _, st := range reported {
		if st != nil && existingRowsIndex(st) >= 0 {
			sts = append(sts, st)
		}
	}
	if len(sts) < 2 {
		return
	}
	first := &sts[0].Findings[existingRowsIndex(sts[0])]
	var parts []rowsPart
	for k, st := range sts {
		i := existingRowsIndex(st)
		f := &st.Findings[i]
		if f.rows != nil && f.rows.message == f.Message {
			for _, p := range f.rows.parts {
				p.line = st.Start.Line
				// The note names the statement's table: its columns
				// are said together, apart from other tables'.
				if p.newRows != "" {
					p.newRows += f.rows.note
				} else {
					p.existing += f.rows.note
				}
				parts = append(parts, p)
			}
		} else {
			// Changed since it was made: said as it reads.
			parts = append(parts, rowsPart{line: st.Start.Line, raw: true, existing: f.Message})
		}
		if k == 0 {
			continue
		}
		for _, o := range f.Objects {
			if !slices.Contains(first.Objects, o) {
				first.Objects = append(first.Objects, o)
			}
		}
		st.Findings = slices.Delete(st.Findings, i, i+1)
	}
	first.Message = renderRows(parts, true)
	first.rows = nil
}

// existingRowsIndex is the index of the statement's unsuppressed
// existing-rows finding, -1 when it has none.
func existingRowsIndex(st *Statement) int {
	for i, f := range st.Findings {
		if f.Rule == ruleExistingRows.ID && f.Suppressed == nil {
			return i
		}
	}
	return -1
}
