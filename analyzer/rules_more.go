package analyzer

import (
	"fmt"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/locks"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// Rules that cover the rest of what established migration linters report,
// each filed under the question it answers.
var (
	ruleIdentifierTooLong = register(Rule{
		ID: "identifier-too-long", Question: QRenames, Severity: Warning,
		Title: "Name longer than 63 bytes",
		Why: "PostgreSQL silently cuts names to 63 bytes (NAMEDATALEN - 1). The object gets a different name than the one written, " +
			"and code or later migrations that use the full name do not find it; two long names with the same beginning collide.",
		Example: "CREATE INDEX orders_customer_id_created_at_status_shipping_country_region_idx ON orders (customer_id);",
		Safe:    "CREATE INDEX orders_customer_created_status_idx ON orders (customer_id);",
	})
	ruleEnableRLS = register(Rule{
		ID: "enable-row-level-security", Question: QConstraints, Severity: Warning,
		Title: "Row-level security enabled, or a policy changed",
		Why: "Once row-level security is on, roles other than the owner see and change only the rows a policy allows: with no policy, none. " +
			"The application's queries start returning nothing or failing the moment it commits.",
		Example: "ALTER TABLE documents ENABLE ROW LEVEL SECURITY;",
		Safe:    "CREATE POLICY documents_owner ON documents USING (owner_id = current_setting('app.user_id')::bigint);\nALTER TABLE documents ENABLE ROW LEVEL SECURITY;",
	})
	ruleSequenceRestart = register(Rule{
		ID: "sequence-restart", Question: QConstraints, Severity: Warning,
		Title:   "Sequence restarted or moved back",
		Why:     "New rows get numbers that existing rows already have: inserts fail on the primary key, or worse, reuse ids that other systems still hold.",
		Example: "ALTER SEQUENCE orders_id_seq RESTART WITH 1;",
		Safe:    "SELECT setval('orders_id_seq', (SELECT max(id) FROM orders));",
	})
	ruleDisableTrigger = register(Rule{
		ID: "disable-trigger", Question: QConstraints, Severity: Warning,
		Title: "Trigger disabled",
		Why: "Whatever the trigger enforced stops for everyone, not just for the migration. DISABLE TRIGGER ALL also switches off the internal triggers " +
			"that enforce foreign keys, so orphan rows can be written.",
		Example: "ALTER TABLE orders DISABLE TRIGGER ALL;",
		Safe:    "-- Prefer SET session_replication_role = replica for a bulk load in one session, and re-enable in the same transaction.",
	})
	ruleRevoke = register(Rule{
		ID: "revoke-privileges", Question: QRenames, Severity: Warning,
		Title:   "Privileges revoked",
		Why:     "The running application's role may lose access it uses: its queries fail with \"permission denied\" from the moment the migration commits.",
		Example: "REVOKE SELECT ON orders FROM app_reader;",
		Safe:    "-- Deploy code that no longer needs the privilege first, then revoke it.",
	})
	ruleJSONColumn = register(Rule{
		ID: "json-column", Question: QTypes, Severity: Info,
		Title: "json instead of jsonb",
		Why: "The json type has no equality operator: SELECT DISTINCT, GROUP BY, UNION and unique indexes on it fail. jsonb does everything json does, " +
			"stored parsed and indexable.",
		Example: "ALTER TABLE events ADD COLUMN payload json;",
		Safe:    "ALTER TABLE events ADD COLUMN payload jsonb;",
	})
	ruleIntKey = register(Rule{
		ID: "int-primary-key", Question: QTypes, Severity: Info,
		Title: "32-bit integer key",
		Why: "A serial or int key runs out at 2,147,483,647. Changing it to bigint later rewrites the table and every table that references it, " +
			"under ACCESS EXCLUSIVE: the hardest migration to do once the table is big.",
		Example: "CREATE TABLE events (id serial PRIMARY KEY);",
		Safe:    "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
	})
	ruleTimestampNoZone = register(Rule{
		ID: "timestamp-without-time-zone", Question: QTypes, Severity: Info,
		Title: "timestamp without time zone",
		Why: "Values are stored without their zone and read back as whatever the session's TimeZone says: servers or clients in different zones " +
			"silently disagree on when things happened. Converting later to timestamptz rewrites the table unless the session is UTC.",
		Example: "ALTER TABLE orders ADD COLUMN shipped_at timestamp;",
		Safe:    "ALTER TABLE orders ADD COLUMN shipped_at timestamptz;",
	})
	ruleCharColumn = register(Rule{
		ID: "char-column", Question: QTypes, Severity: Info,
		Title:   "char(n) column",
		Why:     "char(n) pads values with spaces to n characters, compares ignoring them, and is no faster than text: it surprises every reader of the data.",
		Example: "ALTER TABLE customers ADD COLUMN country char(2);",
		Safe:    "ALTER TABLE customers ADD COLUMN country text CHECK (length(country) = 2);",
	})
	ruleSerialColumn = register(Rule{
		ID: "serial-column", Question: QTypes, Severity: Info,
		Title: "serial instead of identity",
		Why: "A serial column's sequence is a separate object with its own owner and grants: copying tables, granting access and dumping schemas " +
			"need extra steps. Identity columns (PostgreSQL 10+) are part of the column.",
		Example: "CREATE TABLE events (id bigserial PRIMARY KEY);",
		Safe:    "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
	})
	ruleFKWithoutIndex = register(Rule{
		ID: "foreign-key-without-index", Question: QLocks, Severity: Info,
		Title: "Foreign key without an index on its columns",
		Why: "Every DELETE or key UPDATE on the referenced table looks for referencing rows: without an index that leads with the foreign key's columns, " +
			"each one scans the whole referencing table while holding its locks.",
		Example: "ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;",
		Safe:    "CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
	})
	ruleCICBug14 = register(Rule{
		ID: "concurrent-index-pg14-bug", Question: QLocks, Severity: Warning,
		Title: "Concurrent index build on PostgreSQL 14",
		Why: "PostgreSQL 14.0 to 14.3 could build corrupt indexes with CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY (rows missing from the index). " +
			"Fixed in 14.4; the release notes ask to rebuild indexes built concurrently on the earlier minor versions.",
		Example: "CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
		Safe:    "-- Make sure the server runs PostgreSQL 14.4 or later (SELECT version();), then:\nCREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
	})
)

// checkMore runs the rules above on one statement.
func checkMore(c *stmtContext) {
	checkIdentifierLength(c)
	n := c.node
	switch {
	case n.GetAlterTableStmt() != nil:
		t, cmds, _ := c.alterTable()
		for _, ac := range cmds {
			switch ac.GetSubtype() {
			case pg_query.AlterTableType_AT_EnableRowSecurity, pg_query.AlterTableType_AT_ForceRowSecurity:
				if t.isNew() {
					continue
				}
				fd := ruleEnableRLS.finding(fmt.Sprintf("row-level security on %s: roles other than the owner see only rows a policy allows", t.name))
				fd.Objects = []string{t.name}
				c.report(fd)
			case pg_query.AlterTableType_AT_DisableTrig, pg_query.AlterTableType_AT_DisableTrigAll, pg_query.AlterTableType_AT_DisableTrigUser:
				if t.isNew() {
					continue
				}
				what := "trigger " + quoteIdent(ac.GetName())
				if ac.GetSubtype() == pg_query.AlterTableType_AT_DisableTrigAll {
					what = "every trigger, including those that enforce foreign keys,"
				} else if ac.GetSubtype() == pg_query.AlterTableType_AT_DisableTrigUser {
					what = "every user trigger"
				}
				fd := ruleDisableTrigger.finding(fmt.Sprintf("disables %s on %s for every session", what, t.name))
				fd.Objects = []string{t.name}
				c.report(fd)
			case pg_query.AlterTableType_AT_AddColumn:
				if !locks.SkippedAddColumn(t.table, ac) {
					checkColumnType(c, t, ac.GetDef().GetColumnDef())
				}
			}
		}
	case n.GetCreateStmt() != nil:
		cs := n.GetCreateStmt()
		t := c.relation(cs.GetRelation())
		for _, elt := range cs.GetTableElts() {
			checkColumnType(c, t, elt.GetColumnDef())
		}
	case n.GetCreatePolicyStmt() != nil || n.GetAlterPolicyStmt() != nil:
		var rv *pg_query.RangeVar
		verb := "creates"
		if n.GetCreatePolicyStmt() != nil {
			rv = n.GetCreatePolicyStmt().GetTable()
		} else {
			rv, verb = n.GetAlterPolicyStmt().GetTable(), "changes"
		}
		t := c.relation(rv)
		if t.isNew() {
			return
		}
		fd := ruleEnableRLS.finding(fmt.Sprintf("%s a row-level security policy on %s: which rows the application sees or may change changes at once", verb, t.name))
		fd.Objects = []string{t.name}
		c.report(fd)
	case n.GetAlterSeqStmt() != nil:
		as := n.GetAlterSeqStmt()
		for _, o := range as.GetOptions() {
			if o.GetDefElem().GetDefname() == "restart" {
				name := rangeVarName(as.GetSequence())
				fd := ruleSequenceRestart.finding(fmt.Sprintf("restarts sequence %s: new rows may get ids that existing rows already have", name))
				fd.Objects = []string{name}
				fd.SafeAlternative = fmt.Sprintf("-- Move it past the highest id in use instead:\nSELECT setval('%s', (SELECT max(<id column>) FROM <table>));", strings.ReplaceAll(name, "'", "''"))
				c.report(fd)
			}
		}
	case n.GetGrantStmt() != nil && !n.GetGrantStmt().GetIsGrant():
		gs := n.GetGrantStmt()
		var objs []string
		for _, o := range gs.GetObjects() {
			if rv := o.GetRangeVar(); rv != nil {
				objs = append(objs, rangeVarName(rv))
			}
		}
		var roles []string
		for _, g := range gs.GetGrantees() {
			roles = append(roles, g.GetRoleSpec().GetRolename())
		}
		fd := ruleRevoke.finding(fmt.Sprintf("revokes privileges on %s from %s; the running application may use them", orDefault(joinObjects(objs), "objects"), orDefault(joinObjects(roles), "roles")))
		fd.Objects = objs
		c.report(fd)
	case n.GetIndexStmt() != nil && n.GetIndexStmt().GetConcurrent() && c.cfg.PostgresVersion == 14:
		fd := ruleCICBug14.finding("CREATE INDEX CONCURRENTLY on PostgreSQL 14: versions 14.0 to 14.3 could build it corrupt; make sure the server runs 14.4 or later")
		c.report(fd)
	case n.GetReindexStmt() != nil && c.cfg.PostgresVersion == 14:
		for _, p := range n.GetReindexStmt().GetParams() {
			if p.GetDefElem().GetDefname() == "concurrently" {
				c.report(ruleCICBug14.finding("REINDEX CONCURRENTLY on PostgreSQL 14: versions 14.0 to 14.3 could build corrupt indexes; make sure the server runs 14.4 or later"))
			}
		}
	}
}

// checkColumnType reports type choices that cost dearly later. Only new
// columns are judged: changing an existing one is question 2's type change.
func checkColumnType(c *stmtContext, t tableRef, cd *pg_query.ColumnDef) {
	if cd == nil || cd.GetTypeName() == nil {
		return
	}
	names := pgtree.Names(cd.GetTypeName().GetNames())
	if len(names) == 0 {
		return
	}
	raw := names[len(names)-1]
	typ := catalog.TypeFromNode(cd.GetTypeName())
	col := t.qualifiedColumn(cd.GetColname())
	at := c.at(cd.GetTypeName().GetLocation())
	report := func(r Rule, msg, safe string) {
		fd := r.finding(msg)
		fd.Objects = []string{col}
		fd.Marker = at
		fd.SafeAlternative = safe
		c.report(fd)
	}
	isKey := false
	for _, cn := range cd.GetConstraints() {
		if cn.GetConstraint().GetContype() == pg_query.ConstrType_CONSTR_PRIMARY {
			isKey = true
		}
	}
	switch {
	case raw == "serial" || raw == "serial4" || raw == "smallserial" || raw == "serial2":
		report(ruleIntKey, fmt.Sprintf("%s is %s: a 32-bit counter that runs out at 2,147,483,647", col, raw),
			fmt.Sprintf("%s bigint GENERATED ALWAYS AS IDENTITY", quoteIdent(cd.GetColname())))
	case raw == "bigserial" || raw == "serial8":
		report(ruleSerialColumn, fmt.Sprintf("%s is bigserial: its sequence is a separate object to own and grant", col),
			fmt.Sprintf("%s bigint GENERATED ALWAYS AS IDENTITY", quoteIdent(cd.GetColname())))
	case (typ.Name == "int4" || typ.Name == "int2") && (isKey || cd.GetIdentity() != ""):
		report(ruleIntKey, fmt.Sprintf("%s is a %s key: it runs out at %s", col, typ.SQL(), map[string]string{"int4": "2,147,483,647", "int2": "32,767"}[typ.Name]),
			fmt.Sprintf("%s bigint", quoteIdent(cd.GetColname())))
	case typ.Name == "json":
		report(ruleJSONColumn, fmt.Sprintf("%s is json: no equality, so DISTINCT, GROUP BY and unique indexes on it fail", col),
			fmt.Sprintf("%s jsonb", quoteIdent(cd.GetColname())))
	case typ.Name == "timestamp":
		report(ruleTimestampNoZone, fmt.Sprintf("%s is timestamp without time zone: its values mean different instants in different sessions", col),
			fmt.Sprintf("%s timestamptz", quoteIdent(cd.GetColname())))
	case typ.Name == "bpchar":
		report(ruleCharColumn, fmt.Sprintf("%s is %s: values are padded with spaces", col, typ.SQL()),
			fmt.Sprintf("%s text", quoteIdent(cd.GetColname())))
	}
}

// checkIdentifierLength reports names PostgreSQL will cut to 63 bytes. The
// scanner cuts them before the parse tree is built, so the tokens of the
// statement's text are read instead of the tree (the split's tokens, not
// a second scan).
func checkIdentifierLength(c *stmtContext) {
	toks, base, err := sqlscript.StatementTokens(&c.raw)
	if err != nil || c.raw.SQL != c.stmt.SQL {
		// (The statement's text is the split's; should it ever differ,
		// its own scan is the truth.)
		stoks, serr := pgtree.ScanTokens(c.stmt.SQL)
		if serr != nil {
			return
		}
		toks, base = stoks, 0
	}
	seen := map[string]bool{}
	for _, tok := range toks {
		if tok.GetToken() != pg_query.Token_IDENT {
			continue
		}
		name := c.stmt.SQL[int(tok.GetStart())-base : int(tok.GetEnd())-base]
		if strings.HasPrefix(name, `"`) {
			name = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(name, `"`), `"`), `""`, `"`)
		} else {
			name = strings.ToLower(name)
		}
		if len(name) <= 63 || seen[name] {
			continue
		}
		seen[name] = true
		// PostgreSQL cuts at a character boundary (pg_mbcliplen).
		cut := truncateName(name)
		for len(cut) > 0 && !utf8.ValidString(cut) {
			cut = cut[:len(cut)-1]
		}
		fd := ruleIdentifierTooLong.finding(fmt.Sprintf("%s is %d bytes long; PostgreSQL stores it as %s", quoteIdent(name), len(name), quoteIdent(cut)))
		fd.Objects = []string{quoteIdent(cut)}
		line, col := c.lines.Position(c.raw.Start + int(tok.GetStart()) - base)
		fd.Marker = Position{Line: line, Column: col}
		c.report(fd)
	}
}

// checkForeignKeyIndexes runs once the change is applied: a foreign key
// created in the change needs an index leading with its columns on the
// referencing table, created anywhere in the change. Only the tables
// holding something of the change can hold such a key.
func (s *session) checkForeignKeyIndexes(rep *Report) {
	for _, t := range s.cat.ChangeSetTables() {
		for _, con := range t.Constraints {
			if con.Kind != catalog.ForeignKey || !con.Origin.InChangeSet || len(con.Columns) == 0 {
				continue
			}
			if hasLeadingIndex(t, con.Columns) {
				continue
			}
			st := rep.statementAt(con.Origin.Path, con.Origin.Line)
			if st == nil {
				continue
			}
			fd := ruleFKWithoutIndex.finding(fmt.Sprintf("foreign key %s on %s (%s) has no index leading with its columns: deletes on %s scan %s",
				quoteIdent(con.Name), t.QualifiedName(), strings.Join(con.Columns, ", "), qualified(con.RefSchema, con.RefTable), t.QualifiedName()))
			fd.Objects = []string{t.QualifiedName()}
			fd.SafeAlternative = safeForeignKeyIndex(rep, st, t, con.Columns)
			c := &stmtContext{cfg: &s.cfg, stmt: st, part: st.Part}
			c.report(fd)
		}
	}
}

func hasLeadingIndex(t *catalog.Table, cols []string) bool {
	for _, ix := range t.Indexes {
		keys := ix.Columns()
		if len(keys) < len(cols) {
			continue
		}
		match := true
		for i, c := range cols {
			if keys[i] != c {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// statementAt finds a judged statement by file and first line.
func (r *Report) statementAt(path string, line int) *Statement {
	for i := range r.Files {
		for j := range r.Files[i].Statements {
			st := &r.Files[i].Statements[j]
			if st.Path == path && st.Start.Line == line && st.Part == "up" {
				return st
			}
		}
	}
	return nil
}
