package analyzer

import (
	"fmt"
	"slices"
	"strings"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/locks"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// A finding a reviewer must read twice is noise: what one statement does
// is said once, by the most specific finding.

// foldRewriteIntoTypeChange reports the rewrite of a type change through
// the type finding already made on the statement: it takes the rewrite's
// size and estimate, and the lock finding's severity when that is worse.
// It says whether there was one to fold into.
func (c *stmtContext) foldRewriteIntoTypeChange(est *Estimate, size sizeNote) bool {
	for i := range c.stmt.Findings {
		f := &c.stmt.Findings[i]
		if f.Rule != ruleTypeRewrite.ID && f.Rule != ruleTypeNarrowing.ID {
			continue
		}
		f.Message += "; " + size.text
		if sev := lockSeverity(c, ruleTableRewrite, est, size); c.part != "down" && sev.Rank() > f.Severity.Rank() {
			f.Severity = sev
			f.RequiresApproval = c.cfg.NeedsApproval(sev)
		}
		return true
	}
	return false
}

// lockSeverity is the severity of lock work: the rule's, unless a known
// size gives an estimate under the threshold.
func lockSeverity(c *stmtContext, r Rule, est *Estimate, size sizeNote) Severity {
	if size.known && est != nil {
		switch high := time.Duration(est.HighMS) * time.Millisecond; {
		case high < c.cfg.Threshold()/10:
			return Info
		case high < c.cfg.Threshold():
			return Warning
		}
	}
	return r.Severity
}

// downHabit tells whether the project writes down migrations at all. A
// project whose migrations at the base never have one has decided not to
// roll back that way: asking for one on every new file would be noise.
type downHabit struct {
	// could counts the base migrations whose tool supports a down part;
	// with counts those that have one.
	could, with int
	// skipped counts the missing-down findings left out for that reason.
	skipped int
}

// neverWritesDown needs a few migrations to go by: one or two files
// without a down part are not yet a habit.
const neverWritesDown = 3

func (h *downHabit) count(m layout.Migration) {
	if !m.SupportsDown || m.Repeatable {
		return
	}
	h.could++
	if m.Down != nil || m.DownPath != "" {
		h.with++
	}
}

// skipMissingDown says whether missing-down is off for this project, and
// counts the finding it leaves out.
func (s *session) skipMissingDown() bool {
	h := &s.downParts
	if h.could >= neverWritesDown && h.with == 0 {
		h.skipped++
		return true
	}
	return false
}

// note says once why missing-down was not reported.
func (h *downHabit) note() string {
	if h.skipped == 0 {
		return ""
	}
	return fmt.Sprintf("missing-down is off: none of the %d migrations read (at the base, or given) has a down part, so this project does not write them (%s left out)",
		h.could, plural(h.skipped, "file", "files"))
}

// foldReplacedDrops turns the drop of a view, index, constraint, function
// or trigger that a later statement of the same transaction creates again
// into one info finding: the object is never missing, and it holds no
// data the new definition could lose. Tables, sequences and types, which
// hold or shape data, are never folded; nor is a DROP ... CASCADE, whose
// dependents are not created again, nor a drop outside a transaction.
// Names must be written the same (schema included) to count as the same
// object: anything else stays reported.
//
// An index or constraint is folded only when the new one enforces what
// the old one did (compared in the catalogs before and after the part):
// a UNIQUE index re-created without UNIQUE, or a foreign key re-created ON
// DELETE CASCADE, is a change a reviewer must see.
func foldReplacedDrops(cfg Config, reported []*Statement, stmts []sqlscript.Statement, states []bool, starts []int, before, after *catalog.Catalog) {
	for i, st := range reported {
		if st == nil || !states[i] || starts[i] < 0 || stmts[i].Node == nil {
			continue
		}
		key := droppedKey(stmts[i].Node)
		if key == "" {
			continue
		}
		for j := i + 1; j < len(stmts); j++ {
			if !states[j] || starts[j] != starts[i] {
				break
			}
			if stmts[j].Node == nil || createdKey(stmts[j].Node) != key || reported[j] == nil {
				continue
			}
			if !enforcesTheSame(stmts[i].Node, before, after) {
				break
			}
			for k := range st.Findings {
				f := &st.Findings[k]
				switch f.Rule {
				case ruleDropView.ID, ruleDropIndex.ID, ruleDropConstraint.ID, ruleDropOther.ID:
					f.Severity = Info
					f.RequiresApproval = cfg.NeedsApproval(Info)
					f.Message += fmt.Sprintf("; replaced: line %d creates it again in the same transaction, so it is never missing and no data is lost", reported[j].Start.Line)
					f.SafeAlternative = ""
				case ruleRenameType.ID:
					// The enum swap: rename the type away, create the new one
					// under its name, move the columns. Which values the new
					// type accepts is judged where the columns change type.
					f.Severity = Info
					f.RequiresApproval = cfg.NeedsApproval(Info)
					f.Message += fmt.Sprintf("; replaced: line %d creates a type under the old name in the same transaction, so casts to that name keep working", reported[j].Start.Line)
					f.SafeAlternative = ""
				}
			}
			break
		}
	}
}

// droppedKey names the one object a DROP (without CASCADE) or an ALTER
// TABLE ... DROP CONSTRAINT removes, for the kinds foldReplacedDrops folds;
// "" otherwise.
func droppedKey(n *pg_query.Node) string {
	if ds := n.GetDropStmt(); ds != nil {
		if ds.GetBehavior() == pg_query.DropBehavior_DROP_CASCADE || len(ds.GetObjects()) != 1 {
			return ""
		}
		parts := objectNames(ds.GetObjects()[0])
		if len(parts) == 0 {
			return ""
		}
		switch ds.GetRemoveType() {
		case pg_query.ObjectType_OBJECT_VIEW:
			return "view " + qualified(parts...)
		case pg_query.ObjectType_OBJECT_INDEX:
			return "index " + qualified(parts...)
		case pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE:
			return "function " + qualified(parts...)
		case pg_query.ObjectType_OBJECT_TRIGGER:
			if len(parts) < 2 {
				return ""
			}
			return "trigger " + qualified(parts[:len(parts)-1]...) + " " + quoteIdent(parts[len(parts)-1])
		}
		return ""
	}
	if rs := n.GetRenameStmt(); rs != nil && (rs.GetRenameType() == pg_query.ObjectType_OBJECT_TYPE || rs.GetRenameType() == pg_query.ObjectType_OBJECT_DOMAIN) {
		if parts := objectNames(rs.GetObject()); len(parts) > 0 {
			return "type " + qualified(parts...)
		}
		return ""
	}
	if at := n.GetAlterTableStmt(); at != nil && len(at.GetCmds()) == 1 {
		ac := at.GetCmds()[0].GetAlterTableCmd()
		if ac.GetSubtype() == pg_query.AlterTableType_AT_DropConstraint && ac.GetBehavior() != pg_query.DropBehavior_DROP_CASCADE {
			return "constraint " + rangeVarName(at.GetRelation()) + " " + quoteIdent(ac.GetName())
		}
	}
	return ""
}

// createdKey names what a statement creates, in droppedKey's terms.
func createdKey(n *pg_query.Node) string {
	switch {
	case n.GetViewStmt() != nil:
		return "view " + rangeVarName(n.GetViewStmt().GetView())
	case n.GetRenameStmt() != nil && (n.GetRenameStmt().GetRenameType() == pg_query.ObjectType_OBJECT_TYPE || n.GetRenameStmt().GetRenameType() == pg_query.ObjectType_OBJECT_DOMAIN):
		// Prisma's swap renames the new type to the old name.
		parts := objectNames(n.GetRenameStmt().GetObject())
		if len(parts) == 0 {
			return ""
		}
		return "type " + qualified(append(parts[:len(parts)-1:len(parts)-1], n.GetRenameStmt().GetNewname())...)
	case n.GetCreateEnumStmt() != nil:
		return "type " + qualified(pgtree.Names(n.GetCreateEnumStmt().GetTypeName())...)
	case n.GetCreateDomainStmt() != nil:
		return "type " + qualified(pgtree.Names(n.GetCreateDomainStmt().GetDomainname())...)
	case n.GetCompositeTypeStmt() != nil:
		return "type " + rangeVarName(n.GetCompositeTypeStmt().GetTypevar())
	case n.GetIndexStmt() != nil && n.GetIndexStmt().GetIdxname() != "":
		is := n.GetIndexStmt()
		return "index " + qualified(is.GetRelation().GetSchemaname(), is.GetIdxname())
	case n.GetCreateFunctionStmt() != nil:
		return "function " + qualified(pgtree.Names(n.GetCreateFunctionStmt().GetFuncname())...)
	case n.GetCreateTrigStmt() != nil:
		ct := n.GetCreateTrigStmt()
		return "trigger " + rangeVarName(ct.GetRelation()) + " " + quoteIdent(ct.GetTrigname())
	case n.GetAlterTableStmt() != nil:
		at := n.GetAlterTableStmt()
		for _, cmd := range at.GetCmds() {
			ac := cmd.GetAlterTableCmd()
			if ac.GetSubtype() == pg_query.AlterTableType_AT_AddConstraint && ac.GetDef().GetConstraint().GetConname() != "" {
				// One key per statement: the first constraint it adds.
				return "constraint " + rangeVarName(at.GetRelation()) + " " + quoteIdent(ac.GetDef().GetConstraint().GetConname())
			}
		}
	}
	return ""
}

// catalogBeforeDrops keeps the schema as it is before a part that holds a
// drop foldReplacedDrops may fold; nil otherwise, so that parts without
// one do not pay for the copy.
func catalogBeforeDrops(stmts []sqlscript.Statement, cat *catalog.Catalog) *catalog.Catalog {
	for _, st := range stmts {
		if st.Node != nil && droppedKey(st.Node) != "" {
			return cat.Clone()
		}
	}
	return nil
}

// enforcesTheSame says whether the index or constraint a drop removes is
// enforced the same by its namesake in the schema after the part. Views,
// functions and triggers are replaced as CREATE OR REPLACE would.
func enforcesTheSame(drop *pg_query.Node, before, after *catalog.Catalog) bool {
	if before == nil || after == nil {
		return false
	}
	if drop.GetRenameStmt() != nil {
		return true // a type renamed away: casts by name are all it can break
	}
	if ds := drop.GetDropStmt(); ds != nil {
		if ds.GetRemoveType() != pg_query.ObjectType_OBJECT_INDEX {
			return true
		}
		schema, name := splitSchema(objectNames(ds.GetObjects()[0]))
		old, _ := before.IndexByName(schema, name)
		nw, _ := after.IndexByName(schema, name)
		if old == nil || nw == nil {
			return false
		}
		if !old.Unique {
			return true
		}
		if !nw.Unique || old.Where != nw.Where || old.NullsNotDistinct != nw.NullsNotDistinct || len(old.Keys) != len(nw.Keys) {
			return false
		}
		for i := range old.Keys {
			if old.Keys[i].Column != nw.Keys[i].Column || old.Keys[i].Expr != nw.Keys[i].Expr {
				return false
			}
		}
		return true
	}
	at := drop.GetAlterTableStmt()
	name := at.GetCmds()[0].GetAlterTableCmd().GetName()
	ot, nt := before.Relation(at.GetRelation()), after.Relation(at.GetRelation())
	if ot == nil || nt == nil {
		return false
	}
	old, nw := before.ConstraintByName(ot, name), after.ConstraintByName(nt, name)
	return old != nil && nw != nil && old.Kind == nw.Kind && slices.Equal(old.Columns, nw.Columns) && old.Check == nw.Check &&
		old.RefSchema == nw.RefSchema && old.RefTable == nw.RefTable && slices.Equal(old.RefColumns, nw.RefColumns) &&
		old.OnDelete == nw.OnDelete && old.OnUpdate == nw.OnUpdate
}

// foldIntoLaterDrop leaves out the findings on a table that a later DROP
// TABLE of the same part removes anyway (a column added, changed or
// constrained, then the table dropped), and says so in the drop's finding.
// Lock findings stay, and so does every finding of a statement that does
// more than change the catalog (a rewrite, a scan, an index build): that
// work is done, under its locks, before the drop all the same.
// A finding that needs approval is never folded into a drop that does not.
func foldIntoLaterDrop(reported []*Statement) {
	for j, dst := range reported {
		if dst == nil {
			continue
		}
		for k := range dst.Findings {
			drop := &dst.Findings[k]
			if drop.Rule != ruleDropTable.ID || len(drop.Objects) == 0 {
				continue
			}
			table := drop.Objects[0]
			var folded []string
			for _, st := range reported[:j] {
				if st == nil || (st.Work != "" && st.Work != string(locks.Metadata)) {
					continue
				}
				kept := st.Findings[:0]
				for _, f := range st.Findings {
					if f.Question != QLocks && f.Rule != ruleDropTable.ID && onlyOn(f.Objects, table) && (drop.RequiresApproval || !f.RequiresApproval) {
						folded = append(folded, fmt.Sprintf("%s on line %d", f.Rule, st.Start.Line))
						continue
					}
					kept = append(kept, f)
				}
				st.Findings = kept
			}
			if len(folded) > 0 {
				drop.Message += fmt.Sprintf("; this also settles %s on it earlier in the file (%s)", plural(len(folded), "finding", "findings"), joinObjects(folded))
			}
		}
	}
}

// onlyOn says every object is the table or one of its columns.
func onlyOn(objects []string, table string) bool {
	if len(objects) == 0 {
		return false
	}
	for _, o := range objects {
		if o != table && !strings.HasPrefix(o, table+".") {
			return false
		}
	}
	return true
}
