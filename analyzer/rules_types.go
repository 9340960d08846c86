package analyzer

import (
	"context"
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/typechange"
)

var (
	ruleTypeNarrowing = register(Rule{
		ID: "type-narrowing", Question: QTypes, Severity: Danger,
		Title: "Type change that can lose or reject data",
		Why: "The new type cannot hold every value the old one could. Without USING, PostgreSQL fails on the first value that does not fit and the deploy stops; " +
			"with an explicit cast in USING it succeeds and silently cuts or rounds the values. Either way it rewrites the table under ACCESS EXCLUSIVE.",
		Example: "ALTER TABLE customers ALTER COLUMN address TYPE varchar(255);",
		Safe: "-- Keep the column's type and enforce the limit without a rewrite:\n" +
			"ALTER TABLE customers ADD CONSTRAINT customers_address_length CHECK (char_length(address) <= 255) NOT VALID;\n" +
			"-- next migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):\nALTER TABLE customers VALIDATE CONSTRAINT customers_address_length;",
	})
	ruleTypeChangeFails = register(Rule{
		ID: "type-change-fails", Question: QTypes, Severity: Danger,
		Title: "Type change PostgreSQL refuses",
		Why: "PostgreSQL rejects the statement whatever the data: there is no automatic cast to the new type (USING is needed), or a view or rule " +
			"uses the column. The deploy stops here.",
		Example: "ALTER TABLE orders ALTER COLUMN reference TYPE integer;",
		Safe:    "ALTER TABLE orders ALTER COLUMN reference TYPE integer USING reference::integer;",
	})
	ruleTypeRewrite = register(Rule{
		ID: "type-change-rewrite", Question: QTypes, Severity: Warning,
		Title: "Type change that rewrites the table",
		Why: "The values fit, but PostgreSQL copies the whole table to a new file and rebuilds every index while holding ACCESS EXCLUSIVE: " +
			"no read or write gets through until it finishes (about 10 s per GB on a small server, more in production).",
		Example: "ALTER TABLE events ALTER COLUMN id TYPE bigint;",
		Safe: "-- Expand and contract instead of rewriting under the lock:\nALTER TABLE events ADD COLUMN id_new bigint;\n" +
			"-- a trigger keeps id_new = id for new writes; backfill old rows in batches; switch reads and writes; drop the old column later.",
	})
	ruleTypeMetadata = register(Rule{
		ID: "type-change-metadata", Question: QTypes, Severity: Info,
		Title: "Type change that only updates the catalog",
		Why: "The new type accepts every old value with the same bytes (binary coercible: a longer varchar, varchar to text, more numeric precision), " +
			"so PostgreSQL changes the catalog and keeps the data and indexes. It still takes ACCESS EXCLUSIVE for a moment: see the lock timeout.",
		Example: "ALTER TABLE customers ALTER COLUMN name TYPE varchar(200);",
		Safe:    "SET lock_timeout = '2s';\nALTER TABLE customers ALTER COLUMN name TYPE varchar(200);",
	})
	ruleEnumAddValue = register(Rule{
		ID: "enum-add-value", Question: QTypes, Severity: Info,
		Title: "New enum value",
		Why: "Adding a label changes no row. The new value cannot be used in the transaction that added it (\"unsafe use of new value\"), " +
			"and before PostgreSQL 12 ADD VALUE cannot run in a transaction at all. Old application versions reading the new label must cope with it.",
		Example: "ALTER TYPE order_status ADD VALUE 'refunded';",
		Safe:    "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded';\n-- use it from the next migration on",
	})
)

// checkTypes answers question 2 for one statement.
func checkTypes(c *stmtContext) {
	if t, cmds, ok := c.alterTable(); ok {
		if t.isNew() {
			return
		}
		for _, ac := range cmds {
			if ac.GetSubtype() == pg_query.AlterTableType_AT_AlterColumnType {
				checkAlterColumnType(c, t, ac)
			}
		}
		return
	}
	n := c.node
	switch {
	case n.GetAlterEnumStmt() != nil && n.GetAlterEnumStmt().GetOldVal() == "":
		ae := n.GetAlterEnumStmt()
		schema, name := splitSchema(pgtree.Names(ae.GetTypeName()))
		if e := c.cat.Enum(schema, name); e != nil && e.Origin.InChangeSet {
			return
		}
		typ := qualified(pgtree.Names(ae.GetTypeName())...)
		fd := ruleEnumAddValue.finding(fmt.Sprintf("adds %s to enum %s; it cannot be used before this transaction commits", quoteLiteral(ae.GetNewVal()), typ))
		fd.Objects = []string{typ}
		c.report(fd)
	}
}

func checkAlterColumnType(c *stmtContext, t tableRef, ac *pg_query.AlterTableCmd) {
	cd := ac.GetDef().GetColumnDef()
	if cd == nil {
		return
	}
	name := ac.GetName()
	qc := t.qualifiedColumn(name)
	newType := catalog.TypeFromNode(cd.GetTypeName())
	using := cd.GetRawDefault()
	col := t.column(name)
	if col != nil && col.Origin.InChangeSet {
		return
	}
	marker := c.at(cd.GetTypeName().GetLocation())
	report := func(r Rule, msg, safe string) {
		fd := r.finding(msg)
		fd.Objects = []string{qc}
		fd.Marker = marker
		fd.SafeAlternative = safe
		c.report(fd)
	}
	if col == nil {
		report(ruleTypeRewrite, fmt.Sprintf("changes %s to %s; its current type is unknown%s, so assume PostgreSQL rewrites the table under ACCESS EXCLUSIVE",
			qc, newType.SQL(), unknownNote(qc)), typeChangeSafeWay(c, t, name, "", newType, using))
		return
	}
	// A view or rule on the column makes PostgreSQL refuse the change.
	var views []string
	if t.table != nil {
		for _, d := range c.cat.Dependents(catalog.ObjectRef{Kind: "column", Schema: t.table.Schema, Table: t.table.Name, Name: name}) {
			if d.Kind == "view" || d.Kind == "materialized view" {
				views = append(views, d.String())
			}
		}
	}
	if len(views) > 0 {
		report(ruleTypeChangeFails, fmt.Sprintf("changes the type of %s, which %s uses: PostgreSQL fails with \"cannot alter type of a column used by a view or rule\"", qc, joinObjects(views)),
			fmt.Sprintf("-- Drop and recreate the views in the same migration:\nDROP VIEW %s;\nALTER TABLE %s ALTER COLUMN %s TYPE %s;\nCREATE VIEW ... -- as before",
				strings.Join(views, ", "), t.name, quoteIdent(name), newType.SQL()))
	}
	tz := ""
	if c.stats != nil {
		tz = c.stats.Settings.TimeZone
	}
	v := typechange.Classify(col.Type, newType, typechange.Options{PostgresVersion: c.cfg.PostgresVersion, Using: using, TimeZone: tz, Column: name, Catalog: c.cat})
	change := fmt.Sprintf("%s from %s to %s", qc, col.Type.SQL(), newType.SQL())
	// What the rows hold afterwards is said once, in the type finding.
	rows := "; " + typeChangeRows(c.existingRows(t), col.Type, newType, using, v)
	switch {
	case v.NoImplicitCast && using == nil:
		report(ruleTypeChangeFails, fmt.Sprintf("changes %s: PostgreSQL has no automatic cast and refuses it without USING", change),
			fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s;\n-- (it still rewrites the table under ACCESS EXCLUSIVE, as every type change that converts values does)", t.name, quoteIdent(name), newType.SQL(), quoteIdent(name), newType.SQL()))
	case v.Narrowing || v.FailsWhen != "" || v.SilentLoss != "":
		var parts []string
		if v.FailsWhen != "" {
			parts = append(parts, "fails if there are "+v.FailsWhen)
		}
		if v.SilentLoss != "" {
			parts = append(parts, "silently: "+v.SilentLoss)
		}
		if len(parts) == 0 {
			parts = append(parts, "some existing values may not fit")
		}
		msg := fmt.Sprintf("changes %s: it %s", change, strings.Join(parts, "; and "))
		if v.Effect == typechange.Rewrite {
			msg += "; it rewrites the table under ACCESS EXCLUSIVE"
		}
		msg += probeNarrowing(c, t, name, col.Type, newType, v)
		report(ruleTypeNarrowing, msg+rows, typeChangeSafeWay(c, t, name, col.Type.SQL(), newType, using))
	case v.Effect == typechange.Rewrite:
		report(ruleTypeRewrite, fmt.Sprintf("changes %s: %s%s", change, v.Reason, rows), typeChangeSafeWay(c, t, name, col.Type.SQL(), newType, using))
	case v.Effect == typechange.IndexRebuild:
		report(ruleTypeRewrite, fmt.Sprintf("changes %s: %s%s", change, v.Reason, rows), "")
	default:
		report(ruleTypeMetadata, fmt.Sprintf("changes %s: %s%s", change, v.Reason, rows), "")
	}
}

// fromNew rewrites an expression so that the column is read from a
// trigger's NEW row. It works on the scanner's tokens, so that other
// identifiers, strings and type names that contain the column's name stay
// as they are.
func fromNew(expr, column string) string {
	toks, err := pgtree.ScanTokens(expr)
	if err != nil {
		return expr
	}
	var b strings.Builder
	last := 0
	for _, tok := range toks {
		text := expr[tok.GetStart():tok.GetEnd()]
		name := text
		if strings.HasPrefix(text, `"`) {
			name = strings.ReplaceAll(strings.Trim(text, `"`), `""`, `"`)
		} else {
			name = strings.ToLower(text)
		}
		// An identifier after a dot is a field, not the column.
		prevDot := tok.GetStart() > 0 && expr[tok.GetStart()-1] == '.'
		if (tok.GetToken() == pg_query.Token_IDENT || tok.GetKeywordKind() == pg_query.KeywordKind_UNRESERVED_KEYWORD) && name == column && !prevDot {
			b.WriteString(expr[last:tok.GetStart()])
			b.WriteString("NEW." + quoteIdent(column))
			last = int(tok.GetEnd())
		}
	}
	b.WriteString(expr[last:])
	return b.String()
}

// probeNarrowing counts the values that do not fit the new type, for the
// narrowings a count can decide: shorter strings and smaller integers.
func probeNarrowing(c *stmtContext, t tableRef, column string, old, new catalog.Type, v typechange.Verdict) string {
	consequence := "this ALTER fails and the deploy stops"
	if v.SilentLoss != "" && v.FailsWhen == "" {
		consequence = "their values are changed silently"
	}
	switch {
	case (new.Name == "varchar" || new.Name == "bpchar") && len(new.Mods) == 1:
		n := int(new.Mods[0])
		if v.SilentLoss != "" && strings.Contains(v.SilentLoss, "cut") {
			consequence = fmt.Sprintf("they would be cut to %d characters", n)
		}
		return c.probe(t, fmt.Sprintf("rows longer than %d characters", n), consequence, func(ctx context.Context, p DataProbe, tn TableName) (ProbeCount, error) {
			return p.LongerThan(ctx, tn, column, n)
		})
	case new.Name == "int2" || new.Name == "int4":
		lo, hi := "-32768", "32767"
		if new.Name == "int4" {
			lo, hi = "-2147483648", "2147483647"
		}
		if old.Name == "int2" || (old.Name == "int4" && new.Name == "int4") {
			return ""
		}
		return c.probe(t, fmt.Sprintf("rows outside %s..%s", lo, hi), consequence, func(ctx context.Context, p DataProbe, tn TableName) (ProbeCount, error) {
			return p.OutOfRange(ctx, tn, column, lo, hi)
		})
	}
	return ""
}
