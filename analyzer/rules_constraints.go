package analyzer

import (
	"context"
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/locks"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

var (
	ruleAddColumnNotNull = register(Rule{
		ID: "add-column-not-null", Question: QConstraints, Severity: Danger,
		Title: "ADD COLUMN ... NOT NULL without a default",
		Why: "Every existing row would get NULL in the new column, which NOT NULL forbids: on a table with any row the statement fails at once " +
			"and the deploy stops. It only works on an empty table.",
		Example: "ALTER TABLE orders ADD COLUMN region text NOT NULL;",
		Safe: "-- PostgreSQL 11+: a constant default is stored once, no rewrite:\nALTER TABLE orders ADD COLUMN region text NOT NULL DEFAULT 'eu';\n" +
			"-- or without a lasting default: add it nullable, backfill in batches, then enforce (see set-not-null).",
	})
	ruleSetNotNull = register(Rule{
		ID: "set-not-null", Question: QConstraints, Severity: Danger,
		Title: "SET NOT NULL (or a primary key) on an existing column",
		Why: "PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock, blocking every read and write for the scan, and fails if any row is NULL. " +
			"ADD PRIMARY KEY ... USING INDEX on a nullable column does the same. A column added in the same change to a table that has rows holds NULL " +
			"in every one of them unless it was added with a default: a partial backfill leaves NULLs. From PostgreSQL 12 a validated CHECK (col IS NOT NULL) " +
			"lets it skip the scan, unless the same ALTER TABLE drops that CHECK (PostgreSQL drops it first).",
		Example: "ALTER TABLE orders ALTER COLUMN region SET NOT NULL;",
		Safe: "ALTER TABLE orders ADD CONSTRAINT orders_region_not_null CHECK (region IS NOT NULL) NOT VALID;\n" +
			"-- next migration (VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes go on):\nALTER TABLE orders VALIDATE CONSTRAINT orders_region_not_null;\n" +
			"ALTER TABLE orders ALTER COLUMN region SET NOT NULL;  -- no scan on PostgreSQL 12+\nALTER TABLE orders DROP CONSTRAINT orders_region_not_null;",
	})
	ruleAddUnique = register(Rule{
		ID: "add-unique-constraint", Question: QConstraints, Severity: Danger,
		Title: "ADD UNIQUE or PRIMARY KEY that builds its index under the lock",
		Why: "PostgreSQL builds the index while holding ACCESS EXCLUSIVE on the table, blocking reads and writes for the whole build, " +
			"and the statement fails if existing rows hold duplicates (or NULLs, for a primary key).",
		Example: "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
		Safe: "-- a migration without a transaction:\nCREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n" +
			"-- then:\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
	})
	ruleCreateUniqueIndex = register(Rule{
		ID: "create-unique-index", Question: QConstraints, Severity: Warning,
		Title: "CREATE UNIQUE INDEX on an existing table",
		Why: "The build fails if existing rows hold duplicates. Built CONCURRENTLY, a failure leaves an INVALID index behind that still slows writes " +
			"and must be dropped before retrying.",
		Example: "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);",
		Safe: "-- check first: SELECT email, count(*) FROM users GROUP BY email HAVING count(*) > 1;\n" +
			"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);\n-- after a failure: DROP INDEX CONCURRENTLY IF EXISTS users_email_key;",
	})
	ruleAddCheck = register(Rule{
		ID: "add-check-constraint", Question: QConstraints, Severity: Danger,
		Title: "ADD CHECK without NOT VALID",
		Why: "PostgreSQL checks every existing row while holding ACCESS EXCLUSIVE on the table, blocking reads and writes for the scan, " +
			"and fails if any row breaks the rule.",
		Example: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total_cents >= 0);",
		Safe: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total_cents >= 0) NOT VALID;\n" +
			"-- next migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;",
	})
	ruleAddForeignKey = register(Rule{
		ID: "add-foreign-key", Question: QConstraints, Severity: Danger,
		Title: "ADD FOREIGN KEY without NOT VALID",
		Why: "PostgreSQL checks every existing row against the referenced table while holding SHARE ROW EXCLUSIVE on both tables: " +
			"writes to both stop for the whole scan, and the statement fails if any row points at a missing one.",
		Example: "ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);",
		Safe: "ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\n" +
			"-- next migration (SHARE UPDATE EXCLUSIVE on orders, ROW SHARE on customers: writes go on):\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_fkey;",
	})
	ruleValidateSameTx = register(Rule{
		ID: "validate-in-same-transaction", Question: QConstraints, Severity: Danger,
		Title: "VALIDATE in the same transaction as its NOT VALID",
		Why: "NOT VALID exists so that the validating scan runs under a weak lock. In the same transaction, the strong lock taken by ADD CONSTRAINT " +
			"(ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE on both tables for a foreign key) is still held during VALIDATE's scan, which fails on " +
			"a row that breaks the constraint: no better than the plain ADD. Tools that run several migrations in one transaction (drizzle) do this across files.",
		Example: "ALTER TABLE orders ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT c;",
		Safe:    "-- migration 1:\nALTER TABLE orders ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\n-- migration 2 (its own transaction):\nALTER TABLE orders VALIDATE CONSTRAINT c;",
	})
	ruleAddExclusion = register(Rule{
		ID: "add-exclusion-constraint", Question: QConstraints, Severity: Danger,
		Title: "ADD EXCLUDE constraint",
		Why: "An exclusion constraint cannot be added NOT VALID or from a concurrently built index: PostgreSQL builds its index and checks every row " +
			"under ACCESS EXCLUSIVE, and fails on any conflicting pair of rows.",
		Example: "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
		Safe:    "-- Check for conflicts first, and run it in a maintenance window with a lock_timeout:\nSET lock_timeout = '2s';\nALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
	})
	ruleDomainConstraint = register(Rule{
		ID: "domain-constraint", Question: QConstraints, Severity: Danger,
		Title: "ALTER DOMAIN ADD CONSTRAINT or SET NOT NULL",
		Why: "PostgreSQL checks every column of that domain in every table, holding SHARE on each of those tables (writes wait) for the whole scan, " +
			"and fails if any value breaks the rule (measured on PostgreSQL 15).",
		Example: "ALTER DOMAIN email ADD CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%');",
		Safe:    "ALTER DOMAIN email ADD CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%') NOT VALID;\n-- next migration:\nALTER DOMAIN email VALIDATE CONSTRAINT email_has_at;",
	})
)

// checkConstraints answers question 3 for one statement.
func checkConstraints(c *stmtContext) {
	n := c.node
	switch t, cmds, ok := c.alterTable(); {
	case ok:
		if t.isNew() {
			return
		}
		dropped := locks.DroppedConstraints(n.GetAlterTableStmt())
		for _, ac := range cmds {
			switch ac.GetSubtype() {
			case pg_query.AlterTableType_AT_AddColumn:
				cd := ac.GetDef().GetColumnDef()
				if locks.SkippedAddColumn(t.table, ac) {
					// PostgreSQL skips it: the column keeps its rows, NULLs
					// included, and nothing here can fail.
					continue
				}
				if cd != nil && c.run != nil && (!ac.GetMissingOk() || t.provenNewColumn(cd.GetColname())) {
					// With IF NOT EXISTS on a table whose columns are not
					// all known, the column may be there already with its
					// own rows (NULLs included): later statements judge it
					// as a column that existed, not as one this filled.
					c.run.addedColumns[columnKey(t, cd.GetColname())] = addedColumn{at: c.place(), filled: nonNullDefault(cd)}
				}
				checkAddColumnNotNull(c, t, cd)
			case pg_query.AlterTableType_AT_SetNotNull:
				checkSetNotNull(c, t, ac.GetName(), dropped)
			case pg_query.AlterTableType_AT_AddConstraint:
				con := ac.GetDef().GetConstraint()
				if con.GetSkipValidation() && c.run != nil && c.tx != "" {
					name := con.GetConname()
					if name == "" {
						name = defaultConstraintName(t, con)
					}
					c.run.notValid[constraintKey(t, name)] = c.place()
				}
				checkAddConstraint(c, t, con, dropped)
			case pg_query.AlterTableType_AT_ValidateConstraint:
				checkValidateSameTransaction(c, t, ac.GetName())
			}
		}
	case n.GetUpdateStmt() != nil && c.run != nil:
		recordBackfill(c)
	case n.GetIndexStmt() != nil && n.GetIndexStmt().GetUnique():
		is := n.GetIndexStmt()
		t := c.relation(is.GetRelation())
		if t.isNew() {
			return
		}
		cols := indexColumnNames(is)
		fd := ruleCreateUniqueIndex.finding(fmt.Sprintf("CREATE UNIQUE INDEX on %s (%s) fails if existing rows hold duplicates", t.name, strings.Join(cols, ", ")))
		if is.GetConcurrent() {
			fd.Message += "; CONCURRENTLY leaves an INVALID index behind when it fails"
		}
		if is.GetWhereClause() == nil && allPlainColumns(is) {
			fd.Message += probeDuplicates(c, t, cols)
		}
		fd.Objects = []string{t.name}
		fd.Marker = c.at(is.GetRelation().GetLocation())
		fd.SafeAlternative = safeUniqueIndex(c, is, t)
		c.report(fd)
	case n.GetAlterDomainStmt() != nil:
		checkDomainConstraint(c, n.GetAlterDomainStmt())
	}
}

// checkDomainConstraint: adding (or validating) a domain constraint, or
// SET NOT NULL on a domain, checks every column of the domain in every
// table under SHARE on each table, and fails on a value that breaks it.
func checkDomainConstraint(c *stmtContext, ad *pg_query.AlterDomainStmt) {
	var what string
	con := ad.GetDef().GetConstraint()
	switch ad.GetSubtype() {
	case "C":
		if con == nil || con.GetSkipValidation() {
			return
		}
		what = "ADD CONSTRAINT"
	case "O":
		what = "SET NOT NULL"
	case "V":
		what = "VALIDATE CONSTRAINT"
	default:
		return
	}
	schema, dname := splitSchema(pgtree.Names(ad.GetTypeName()))
	name := qualified(schema, dname)
	d := c.cat.Domain(schema, dname)
	var tables, arrays []string
	if d != nil {
		name = qualified(d.Schema, d.Name)
		for _, t := range c.cat.Tables() {
			if t.Kind == catalog.KindView {
				continue
			}
			for _, col := range t.Columns {
				if col.Type.Name == d.Name && (col.Type.Schema == "" || col.Type.Schema == d.Schema) {
					qc := t.QualifiedName() + "." + quoteIdent(col.Name)
					tables = append(tables, qc)
					if col.Type.ArrayDims > 0 {
						arrays = append(arrays, qc)
					}
				}
			}
		}
	}
	var fd Finding
	switch {
	case d != nil && d.Origin.InChangeSet:
		fd = ruleDomainConstraint.finding(fmt.Sprintf("ALTER DOMAIN %s %s checks the columns of that domain%s", name, what, newNote))
		fd.Severity = Info
	case d != nil && len(tables) == 0:
		fd = ruleDomainConstraint.finding(fmt.Sprintf("ALTER DOMAIN %s %s checks every column of that domain in every table; no table the migrations build uses it, so nothing is scanned", name, what))
		fd.Severity = Info
	case d == nil:
		fd = ruleDomainConstraint.finding(fmt.Sprintf("ALTER DOMAIN %s %s checks every column of that domain in every table, under SHARE on each table (writes wait) for the scan, and fails on a value that breaks it%s",
			name, what, unknownNote("the domain")))
	default:
		fd = ruleDomainConstraint.finding(fmt.Sprintf("ALTER DOMAIN %s %s checks %s under SHARE on each table (writes wait) for the whole scan, and fails on a value that breaks it",
			name, what, joinObjects(tables)))
	}
	if len(arrays) > 0 && (d == nil || !d.Origin.InChangeSet) {
		// Measured on PostgreSQL 15: get_rels_with_domain refuses a domain
		// that an array column uses ("cannot alter type ... because column
		// ... uses it").
		fd.Severity = Danger
		fd.Message += fmt.Sprintf("; PostgreSQL refuses it outright while %s, an array of the domain, exists (cannot alter type %s because column ... uses it)", joinObjects(arrays), name)
	}
	fd.Objects = append([]string{name}, tables...)
	if ad.GetSubtype() == "C" {
		fd.SafeAlternative = fmt.Sprintf("ALTER DOMAIN %[1]s ADD CONSTRAINT %[2]s CHECK (%[3]s) NOT VALID;\n-- next migration (it still scans under SHARE: run it when writes can wait):\nALTER DOMAIN %[1]s VALIDATE CONSTRAINT %[2]s;",
			name, quoteIdent(orDefault(con.GetConname(), "domain_check")), deparseExpr(con.GetRawExpr()))
	}
	c.report(fd)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func checkAddColumnNotNull(c *stmtContext, t tableRef, cd *pg_query.ColumnDef) {
	if cd == nil {
		return
	}
	notNull, hasDefault := false, false
	for _, cn := range cd.GetConstraints() {
		con := cn.GetConstraint()
		switch con.GetContype() {
		case pg_query.ConstrType_CONSTR_NOTNULL, pg_query.ConstrType_CONSTR_PRIMARY:
			notNull = true
		case pg_query.ConstrType_CONSTR_DEFAULT, pg_query.ConstrType_CONSTR_IDENTITY, pg_query.ConstrType_CONSTR_GENERATED:
			hasDefault = true
		}
	}
	if isSerial(cd.GetTypeName()) {
		hasDefault = true
	}
	if !notNull || hasDefault {
		return
	}
	col := quoteIdent(cd.GetColname())
	typ := catalog.TypeFromNode(cd.GetTypeName()).SQL()
	fd := ruleAddColumnNotNull.finding(fmt.Sprintf("ADD COLUMN %s %s NOT NULL without a default fails on %s as soon as it holds a row", col, typ, t.name))
	fd.Objects = []string{t.qualifiedColumn(cd.GetColname())}
	fd.Marker = c.at(cd.GetLocation())
	fd.SafeAlternative = safeAddColumnNotNull(c, cd)
	c.report(fd)
}

func isSerial(tn *pg_query.TypeName) bool {
	names := pgtree.Names(tn.GetNames())
	if len(names) == 0 {
		return false
	}
	switch names[len(names)-1] {
	case "serial", "serial4", "bigserial", "serial8", "smallserial", "serial2":
		return true
	}
	return false
}

// notNullSteps writes the safe way to make a column NOT NULL on a large
// table: nullable, backfill, CHECK NOT VALID, VALIDATE, SET NOT NULL.
func notNullSteps(c *stmtContext, t tableRef, column string, add bool, typ string) string {
	col := quoteIdent(column)
	check := quoteIdent(truncateName(t.rvName() + "_" + column + "_not_null"))
	key := t.rowKey()
	var b strings.Builder
	if add {
		fmt.Fprintf(&b, "ALTER TABLE %s ADD COLUMN %s %s;\n", t.name, col, typ)
	}
	fmt.Fprintf(&b, "-- backfill in batches, one short transaction each, until it updates 0 rows:\n"+
		"UPDATE %[1]s SET %[2]s = <value> WHERE %[3]s IN (SELECT %[3]s FROM %[1]s WHERE %[2]s IS NULL LIMIT 10000);\n", t.name, col, key)
	fmt.Fprintf(&b, "ALTER TABLE %[1]s ADD CONSTRAINT %[2]s CHECK (%[3]s IS NOT NULL) NOT VALID;\n"+
		"-- next migration (VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes go on):\nALTER TABLE %[1]s VALIDATE CONSTRAINT %[2]s;\n", t.name, check, col)
	if c.cfg.PostgresVersion >= 12 {
		fmt.Fprintf(&b, "ALTER TABLE %[1]s ALTER COLUMN %[2]s SET NOT NULL;  -- PostgreSQL 12+ uses the valid CHECK and skips the scan\n"+
			"ALTER TABLE %[1]s DROP CONSTRAINT %[3]s;", t.name, col, check)
	} else {
		fmt.Fprintf(&b, "-- PostgreSQL %d cannot use the CHECK to skip SET NOT NULL's scan: keep the CHECK as the rule, or SET NOT NULL in a quiet window.", c.cfg.PostgresVersion)
	}
	return b.String()
}

func (r tableRef) rvName() string {
	if r.table != nil {
		return r.table.Name
	}
	if r.rv != nil {
		return r.rv.GetRelname()
	}
	return "t"
}

// truncateName keeps generated names within PostgreSQL's 63-byte limit.
func truncateName(s string) string {
	if len(s) <= 63 {
		return s
	}
	return s[:63]
}

func checkSetNotNull(c *stmtContext, t tableRef, column string, dropped map[string]bool) {
	qc := t.qualifiedColumn(column)
	if col := t.column(column); col != nil && col.NotNull {
		return
	}
	if locks.NotNullProven(t.table, column, dropped, c.cfg.PostgresVersion) {
		return
	}
	fd := ruleSetNotNull.finding(fmt.Sprintf("SET NOT NULL on %s scans the whole table under ACCESS EXCLUSIVE and fails if any row is NULL", qc))
	why, ok := c.nullsOfAddedColumn(t, column)
	if !ok {
		// Added in this change with a value for every row, or backfilled
		// in full while the ADD COLUMN's lock was held: no NULL can be
		// there. The scan is question 6's.
		return
	}
	fd.Message += why
	fd.Message += notNullCheckNote(c, t, column, dropped)
	fd.Objects = []string{qc}
	fd.Message += c.probe(t, "rows with NULL in "+quoteIdent(column), "SET NOT NULL fails", func(ctx context.Context, p DataProbe, tn TableName) (ProbeCount, error) {
		return p.Nulls(ctx, tn, column)
	})
	typ := "<type>"
	if col := t.column(column); col != nil {
		typ = col.Type.SQL()
	}
	fd.SafeAlternative = notNullSteps(c, t, column, false, typ)
	if rest := restOfAlter(c, func(ac *pg_query.AlterTableCmd) bool {
		return ac.GetSubtype() == pg_query.AlterTableType_AT_SetNotNull && ac.GetName() == column
	}); rest != "" {
		fd.SafeAlternative += "\n-- the rest of the statement:\n" + rest
	}
	c.report(fd)
}

// nullsOfAddedColumn says why a column added earlier in this change holds
// NULLs, for the message; ok is false when it cannot: the ADD COLUMN gave
// every existing row a value, or an UPDATE set every row in the
// transaction that added it (whose ACCESS EXCLUSIVE lock kept out any
// other INSERT) and that SET NOT NULL runs in. A column that existed
// before the change gives "" and true.
func (c *stmtContext) nullsOfAddedColumn(t tableRef, column string) (why string, ok bool) {
	if c.run == nil {
		return "", true
	}
	added, isAdded := c.run.addedColumns[columnKey(t, column)]
	if !isAdded {
		return "", true
	}
	if added.filled {
		return "", false
	}
	if c.tx != "" && added.at.tx == c.tx && c.run.backfilled[columnKey(t, column)] == c.tx {
		return "", false
	}
	return fmt.Sprintf("; the column was added on %s without a default that fills it, so every row that existed holds NULL in it until a backfill sets them all "+
		"(a partial backfill, or rows inserted between the backfill and this statement, leave NULLs)", added.at.where(c.stmt.Path)), true
}

// notNullCheckNote explains why a CHECK (col IS NOT NULL) on the column
// does not spare the scan.
func notNullCheckNote(c *stmtContext, t tableRef, column string, dropped map[string]bool) string {
	if t.table == nil || c.cfg.PostgresVersion < 12 {
		return ""
	}
	for _, con := range t.table.Constraints {
		if con.Kind != catalog.Check || con.NotNullColumn != column {
			continue
		}
		if dropped[con.Name] {
			return fmt.Sprintf("; the same statement drops %s, the CHECK (… IS NOT NULL) that would spare the scan, and PostgreSQL drops it first: drop it in a later statement", quoteIdent(con.Name))
		}
		if !con.Validated {
			return "; the CHECK (… IS NOT NULL) on it is NOT VALID, so PostgreSQL still scans: VALIDATE it first"
		}
	}
	return ""
}

// checkPrimaryKeyUsingIndex: ADD PRIMARY KEY USING INDEX makes the index's
// columns NOT NULL, which scans the table and fails on a NULL when a
// column is nullable (measured on PostgreSQL 15).
func checkPrimaryKeyUsingIndex(c *stmtContext, t tableRef, con *pg_query.Constraint, dropped map[string]bool) {
	iname := con.GetIndexname()
	var ix *catalog.Index
	if t.table != nil {
		ix = t.table.Index(iname)
	}
	if ix == nil {
		fd := ruleSetNotNull.finding(fmt.Sprintf("ADD PRIMARY KEY USING INDEX %s on %s makes the index's columns NOT NULL: the index is not known, so whether that scans %s under ACCESS EXCLUSIVE and fails on a NULL is not known either%s",
			quoteIdent(iname), t.name, t.name, unknownNote("the index")))
		fd.Objects = []string{t.name}
		fd.Marker = c.at(con.GetLocation())
		c.report(fd)
		return
	}
	var nullable []string
	why := ""
	for _, col := range ix.Columns() {
		if cc := t.column(col); cc != nil && cc.NotNull {
			continue
		}
		if locks.NotNullProven(t.table, col, dropped, c.cfg.PostgresVersion) {
			continue
		}
		w, ok := c.nullsOfAddedColumn(t, col)
		if !ok {
			continue
		}
		nullable = append(nullable, col)
		if why == "" {
			why = w + notNullCheckNote(c, t, col, dropped)
		}
	}
	if len(nullable) == 0 {
		return
	}
	fd := ruleSetNotNull.finding(fmt.Sprintf("ADD PRIMARY KEY USING INDEX %s makes %s NOT NULL: PostgreSQL scans %s under ACCESS EXCLUSIVE and fails if any row is NULL there%s",
		quoteIdent(iname), joinObjects(quoteAll(nullable)), t.name, why))
	for _, col := range nullable {
		fd.Objects = append(fd.Objects, t.qualifiedColumn(col))
	}
	first := nullable[0]
	fd.Message += c.probe(t, "rows with NULL in "+quoteIdent(first), "ADD PRIMARY KEY fails", func(ctx context.Context, p DataProbe, tn TableName) (ProbeCount, error) {
		return p.Nulls(ctx, tn, first)
	})
	typ := "<type>"
	if col := t.column(first); col != nil {
		typ = col.Type.SQL()
	}
	fd.SafeAlternative = "-- make the columns NOT NULL first, without a long lock:\n" + notNullSteps(c, t, first, false, typ) +
		fmt.Sprintf("\nALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY USING INDEX %s;", t.name, quoteIdent(orDefault(con.GetConname(), iname)), quoteIdent(iname))
	fd.Marker = c.at(con.GetLocation())
	c.report(fd)
}

// defaultConstraintName is the name PostgreSQL gives an unnamed CHECK or
// foreign key (close enough to find it again in the run state).
func defaultConstraintName(t tableRef, con *pg_query.Constraint) string {
	switch con.GetContype() {
	case pg_query.ConstrType_CONSTR_FOREIGN:
		return t.rvName() + "_" + strings.Join(pgtree.Names(con.GetFkAttrs()), "_") + "_fkey"
	}
	return t.rvName() + "_check"
}

func checkAddConstraint(c *stmtContext, t tableRef, con *pg_query.Constraint, dropped map[string]bool) {
	if con == nil {
		return
	}
	name := con.GetConname()
	switch con.GetContype() {
	case pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_PRIMARY:
		if con.GetIndexname() != "" {
			// USING INDEX: the index was built beforehand, ideally
			// concurrently; a primary key still needs NOT NULL columns.
			if con.GetContype() == pg_query.ConstrType_CONSTR_PRIMARY {
				checkPrimaryKeyUsingIndex(c, t, con, dropped)
			}
			return
		}
		kind := "UNIQUE"
		if con.GetContype() == pg_query.ConstrType_CONSTR_PRIMARY {
			kind = "PRIMARY KEY"
		}
		cols := pgtree.Names(con.GetKeys())
		if name == "" {
			name = t.rvName() + "_" + strings.Join(cols, "_") + "_key"
			if kind == "PRIMARY KEY" {
				name = t.rvName() + "_pkey"
			}
		}
		fd := ruleAddUnique.finding(fmt.Sprintf("ADD %s (%s) on %s builds its index under ACCESS EXCLUSIVE, blocking reads and writes, and fails on duplicates", kind, strings.Join(cols, ", "), t.name))
		fd.Message += probeDuplicates(c, t, cols)
		fd.Objects = []string{t.name}
		fd.Marker = c.at(con.GetLocation())
		fd.SafeAlternative = safeUniqueConstraint(c, t, con, truncateName(name))
		c.report(fd)
	case pg_query.ConstrType_CONSTR_CHECK:
		if con.GetSkipValidation() {
			return
		}
		expr := deparseExpr(con.GetRawExpr())
		if name == "" {
			name = t.rvName() + "_check"
		}
		fd := ruleAddCheck.finding(fmt.Sprintf("ADD CHECK (%s) on %s checks every row under ACCESS EXCLUSIVE and fails if one breaks it", expr, t.name))
		fd.Message += c.probe(t, "rows that break the CHECK", "ADD CONSTRAINT fails", func(ctx context.Context, p DataProbe, tn TableName) (ProbeCount, error) {
			return p.ViolatingCheck(ctx, tn, expr)
		})
		fd.Objects = []string{t.name}
		fd.Marker = c.at(con.GetLocation())
		fd.SafeAlternative = safeNotValid(c, con, truncateName(name), "SHARE UPDATE EXCLUSIVE: reads and writes go on")
		c.report(fd)
	case pg_query.ConstrType_CONSTR_FOREIGN:
		if con.GetSkipValidation() {
			return
		}
		ref := c.relation(con.GetPktable())
		cols := pgtree.Names(con.GetFkAttrs())
		refCols := pgtree.Names(con.GetPkAttrs())
		if name == "" {
			name = t.rvName() + "_" + strings.Join(cols, "_") + "_fkey"
		}
		fd := ruleAddForeignKey.finding(fmt.Sprintf("ADD FOREIGN KEY (%s) checks every row of %s against %s while writes to both are blocked, and fails on any orphan",
			strings.Join(cols, ", "), t.name, ref.name))
		fd.Objects = []string{t.name, ref.name}
		fd.Marker = c.at(con.GetLocation())
		if ref.table != nil {
			pk := refCols
			if len(pk) == 0 {
				pk = ref.primaryKey()
			}
			refName := TableName{Schema: ref.table.Schema, Name: ref.table.Name}
			fd.Message += c.probe(t, "rows pointing at a missing "+ref.name+" row", "ADD FOREIGN KEY fails", func(ctx context.Context, p DataProbe, tn TableName) (ProbeCount, error) {
				return p.Orphans(ctx, tn, cols, refName, pk)
			})
		}
		fd.SafeAlternative = safeNotValid(c, con, truncateName(name), fmt.Sprintf("SHARE UPDATE EXCLUSIVE on %s, ROW SHARE on %s: writes go on", t.name, ref.name))
		c.report(fd)
	case pg_query.ConstrType_CONSTR_EXCLUSION:
		fd := ruleAddExclusion.finding(fmt.Sprintf("ADD EXCLUDE on %s builds its index and checks every row under ACCESS EXCLUSIVE; it cannot be added NOT VALID", t.name))
		fd.Objects = []string{t.name}
		fd.Marker = c.at(con.GetLocation())
		c.report(fd)
	}
}

// checkValidateSameTransaction reports VALIDATE run in the same transaction
// as the ADD ... NOT VALID that created the constraint.
func checkValidateSameTransaction(c *stmtContext, t tableRef, name string) {
	if c.tx == "" || c.run == nil {
		return
	}
	added, ok := c.run.notValid[constraintKey(t, name)]
	if !ok || added.tx != c.tx {
		return
	}
	lock := "ACCESS EXCLUSIVE on " + t.name
	if con := c.cat.ConstraintByName(t.table, name); con != nil && con.Kind == catalog.ForeignKey {
		lock = "SHARE ROW EXCLUSIVE on " + t.name + " and the table it references"
	}
	fd := ruleValidateSameTx.finding(fmt.Sprintf("VALIDATE CONSTRAINT %s runs in the transaction that added it NOT VALID on %s%s: the ADD's %s is held for the whole scan, "+
		"which fails on a row that breaks it, no better than the plain ADD",
		quoteIdent(name), added.where(c.stmt.Path), c.runsWithOthers(added), lock))
	fd.Objects = []string{fmt.Sprintf("constraint %s on %s", quoteIdent(name), t.name)}
	fd.SafeAlternative = fmt.Sprintf("-- the ADD ... NOT VALID in one migration, committed; then, in a later transaction:\nALTER TABLE %s VALIDATE CONSTRAINT %s;", t.name, quoteIdent(name))
	c.report(fd)
}

// indexColumnNames lists an index's key columns (expressions as SQL).
func indexColumnNames(is *pg_query.IndexStmt) []string {
	var out []string
	for _, p := range is.GetIndexParams() {
		ie := p.GetIndexElem()
		if ie.GetName() != "" {
			out = append(out, ie.GetName())
		} else {
			out = append(out, deparseExpr(ie.GetExpr()))
		}
	}
	return out
}

// probeDuplicates counts the groups of rows that share the key.
func probeDuplicates(c *stmtContext, t tableRef, cols []string) string {
	return c.probe(t, "groups of rows with the same ("+strings.Join(cols, ", ")+")", "the unique index cannot be built", func(ctx context.Context, p DataProbe, tn TableName) (ProbeCount, error) {
		return p.DuplicateGroups(ctx, tn, cols)
	})
}

// allPlainColumns says the index is on columns only, no expressions, so
// that a duplicate count by column answers for it.
func allPlainColumns(is *pg_query.IndexStmt) bool {
	for _, p := range is.GetIndexParams() {
		if p.GetIndexElem().GetName() == "" {
			return false
		}
	}
	return true
}
