package analyzer

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

var (
	ruleCannotRunInTransaction = register(Rule{
		ID: "cannot-run-in-transaction", Question: QTransaction, Severity: Danger,
		Title: "Statement that PostgreSQL refuses inside a transaction",
		Why: "CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, VACUUM, DETACH PARTITION CONCURRENTLY, CREATE/DROP DATABASE and ALTER SYSTEM " +
			"fail with \"cannot run inside a transaction block\". The migration tool wraps this file in a transaction, so the deploy fails at this statement.",
		Example: "-- +goose Up\nCREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
		Safe:    "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
	})
	ruleNestedBegin = register(Rule{
		ID: "nested-begin", Question: QTransaction, Severity: Warning,
		Title: "BEGIN inside a transaction",
		Why: "PostgreSQL ignores a BEGIN inside an open transaction (with a warning), so the COMMIT that goes with it ends the outer transaction early: " +
			"what follows runs outside any transaction, and a failure leaves the migration half applied.",
		Example: "-- migrate:up\nBEGIN;\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;",
		Safe:    "-- migrate:up\nALTER TABLE orders ADD COLUMN note text;",
	})
	ruleCommitInWrapped = register(Rule{
		ID: "commit-in-wrapped-transaction", Question: QTransaction, Severity: Warning,
		Title: "COMMIT or ROLLBACK inside the tool's transaction",
		Why: "The tool opened a transaction around the file. A COMMIT or ROLLBACK in the file ends it: the statements after it run one by one " +
			"outside any transaction, and the tool's own COMMIT at the end does nothing.",
		Example: "-- +goose Up\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;\nCREATE INDEX orders_note_idx ON orders (note);",
		Safe:    "-- +goose Up\nALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX orders_note_idx ON orders (note);",
	})
	ruleBeginWithoutCommit = register(Rule{
		ID: "begin-without-commit", Question: QTransaction, Severity: Warning,
		Title: "BEGIN without COMMIT",
		Why: "A transaction opened in the file and never committed is rolled back when the session ends: psql exits with success and nothing was applied, " +
			"or the tool's next statement runs inside the leftover transaction.",
		Example: "BEGIN;\nALTER TABLE orders ADD COLUMN note text;",
		Safe:    "BEGIN;\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;",
	})
	ruleEnumValueInTransaction = register(Rule{
		ID: "enum-value-in-same-transaction", Question: QTransaction, Severity: Danger,
		Title: "New enum value used in the transaction that added it",
		Why: "PostgreSQL refuses a value added by ALTER TYPE ... ADD VALUE until the transaction that added it commits: casting, inserting, comparing " +
			"or defaulting to it fails with \"unsafe use of new value\", and the deploy stops. Tools that run several migrations in one transaction " +
			"(drizzle runs every pending migration of a run in one) make a value added by one file unusable in the next.",
		Example: "ALTER TYPE order_status ADD VALUE 'refunded';\nUPDATE orders SET status = 'refunded' WHERE refunded_at IS NOT NULL;",
		Safe: "-- migration 1, committed on its own:\nALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded';\n" +
			"-- migration 2, in a later transaction (with drizzle: a later run of the migrator):\nUPDATE orders SET status = 'refunded' WHERE refunded_at IS NOT NULL;",
	})
	ruleNoTransaction = register(Rule{
		ID: "statements-without-transaction", Question: QTransaction, Severity: Warning,
		Title: "Several changes without a transaction",
		Why: "Each statement commits on its own. If a later one fails, the earlier ones stay applied, the tool does not record the migration as done, " +
			"and running it again fails on the first statement: the database is half migrated and needs a hand repair.",
		Example: "-- +goose NO TRANSACTION\n-- +goose Up\nALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);",
		Safe: "-- one migration, in a transaction:\nALTER TABLE orders ADD COLUMN note text;\n" +
			"-- the next migration, alone and without a transaction:\nCREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);",
	})
)

// nonTransactionalReason says why a statement cannot run inside a
// transaction block on the target version, or "" when it can.
func nonTransactionalReason(n *pg_query.Node, pgVersion int) string {
	switch {
	case n.GetIndexStmt() != nil && n.GetIndexStmt().GetConcurrent():
		return "CREATE INDEX CONCURRENTLY"
	case n.GetDropStmt() != nil && n.GetDropStmt().GetConcurrent():
		return "DROP INDEX CONCURRENTLY"
	case n.GetReindexStmt() != nil:
		for _, p := range n.GetReindexStmt().GetParams() {
			if p.GetDefElem().GetDefname() == "concurrently" {
				return "REINDEX CONCURRENTLY"
			}
		}
		if scope := reindexManyTables(n.GetReindexStmt()); scope != "" {
			return scope
		}
	case n.GetVacuumStmt() != nil && n.GetVacuumStmt().GetIsVacuumcmd():
		return "VACUUM"
	case n.GetDiscardStmt() != nil && n.GetDiscardStmt().GetTarget() == pg_query.DiscardMode_DISCARD_ALL:
		return "DISCARD ALL"
	case n.GetCreateSubscriptionStmt() != nil && createsSlot(n.GetCreateSubscriptionStmt()):
		return "CREATE SUBSCRIPTION that creates a replication slot"
	case n.GetDropSubscriptionStmt() != nil:
		return "DROP SUBSCRIPTION (of a subscription with a replication slot)"
	case n.GetCreatedbStmt() != nil:
		return "CREATE DATABASE"
	case n.GetDropdbStmt() != nil:
		return "DROP DATABASE"
	case n.GetCreateTableSpaceStmt() != nil:
		return "CREATE TABLESPACE"
	case n.GetDropTableSpaceStmt() != nil:
		return "DROP TABLESPACE"
	case n.GetAlterSystemStmt() != nil:
		return "ALTER SYSTEM"
	case n.GetClusterStmt() != nil && n.GetClusterStmt().GetRelation() == nil:
		return "CLUSTER without a table"
	case n.GetAlterTableStmt() != nil:
		for _, cmd := range n.GetAlterTableStmt().GetCmds() {
			if pc := cmd.GetAlterTableCmd().GetDef().GetPartitionCmd(); pc != nil && pc.GetConcurrent() {
				return "DETACH PARTITION CONCURRENTLY"
			}
		}
	case n.GetAlterEnumStmt() != nil && n.GetAlterEnumStmt().GetOldVal() == "" && pgVersion < 12:
		return fmt.Sprintf("ALTER TYPE ... ADD VALUE on PostgreSQL %d", pgVersion)
	}
	return ""
}

// createsSlot says CREATE SUBSCRIPTION creates a replication slot, which
// PostgreSQL refuses inside a transaction block: the default, unless
// create_slot or connect is false.
func createsSlot(cs *pg_query.CreateSubscriptionStmt) bool {
	for _, o := range cs.GetOptions() {
		d := o.GetDefElem()
		switch strings.ToLower(d.GetDefname()) {
		case "create_slot", "connect":
			if v := strings.ToLower(defElemString(d)); v == "false" || v == "off" || v == "0" {
				return false
			}
		}
	}
	return true
}

func defElemString(d *pg_query.DefElem) string {
	switch {
	case d.GetArg().GetString_() != nil:
		return d.GetArg().GetString_().GetSval()
	case d.GetArg().GetBoolean() != nil:
		return fmt.Sprint(d.GetArg().GetBoolean().GetBoolval())
	case d.GetArg().GetInteger() != nil:
		return fmt.Sprint(d.GetArg().GetInteger().GetIval())
	case d.GetArg().GetAConst() != nil:
		ac := d.GetArg().GetAConst()
		if ac.GetBoolval() != nil {
			return fmt.Sprint(ac.GetBoolval().GetBoolval())
		}
		return ac.GetSval().GetSval()
	}
	return ""
}

// flywayNonTransactional says whether Flyway's PostgreSQL parser marks a
// statement as unable to run in a transaction, which decides whether
// Flyway runs the script without one. Flyway looks at the first keywords
// of the statement (PostgreSQLParser.detectCanExecuteInTransaction, listed
// in layout.FlywayNonTransactional), not at what PostgreSQL refuses:
// REINDEX TABLE CONCURRENTLY, DETACH PARTITION CONCURRENTLY and CLUSTER are
// not on its list, so Flyway wraps them in a transaction and PostgreSQL
// refuses them there.
func flywayNonTransactional(n *pg_query.Node, pgVersion int) string {
	switch {
	case n.GetCreatedbStmt() != nil:
		return "CREATE DATABASE"
	case n.GetDropdbStmt() != nil:
		return "DROP DATABASE"
	case n.GetCreateTableSpaceStmt() != nil:
		return "CREATE TABLESPACE"
	case n.GetDropTableSpaceStmt() != nil:
		return "DROP TABLESPACE"
	case n.GetCreateSubscriptionStmt() != nil:
		return "CREATE SUBSCRIPTION"
	case n.GetDropSubscriptionStmt() != nil:
		return "DROP SUBSCRIPTION"
	case n.GetAlterSystemStmt() != nil:
		return "ALTER SYSTEM"
	case n.GetIndexStmt() != nil && n.GetIndexStmt().GetConcurrent():
		return "CREATE INDEX CONCURRENTLY"
	case n.GetDropStmt() != nil && n.GetDropStmt().GetConcurrent():
		return "DROP INDEX CONCURRENTLY"
	case n.GetReindexStmt() != nil:
		if scope := reindexManyTables(n.GetReindexStmt()); scope != "" {
			return scope
		}
	case n.GetVacuumStmt() != nil && n.GetVacuumStmt().GetIsVacuumcmd():
		return "VACUUM"
	case n.GetDiscardStmt() != nil && n.GetDiscardStmt().GetTarget() == pg_query.DiscardMode_DISCARD_ALL:
		return "DISCARD ALL"
	case n.GetAlterEnumStmt() != nil && n.GetAlterEnumStmt().GetOldVal() == "" && pgVersion < 12:
		return fmt.Sprintf("ALTER TYPE ... ADD VALUE on PostgreSQL %d", pgVersion)
	}
	return ""
}

// transactionStates says, for each statement, whether it runs inside a
// transaction as the tool runs the part, and what is wrong with the
// part's own transaction control.
//
// starts[i] is the index of the statement where statement i's transaction
// began (0 for a transaction the tool opened), or -1 outside one.
func transactionStates(mode layout.TxMode, stmts []sqlscript.Statement, kind layout.Kind) (states []bool, starts []int, found [][]Finding) {
	states = make([]bool, len(stmts))
	starts = make([]int, len(stmts))
	found = make([][]Finding, len(stmts))
	parsed := 0
	for _, st := range stmts {
		if st.Node != nil {
			parsed++
		}
	}
	inTx := false
	switch mode {
	case layout.TxWrapped:
		inTx = true
	case layout.TxImplicit:
		inTx = parsed > 1
	}
	wrapped := mode == layout.TxWrapped
	start := -1
	if inTx {
		start = 0
	}
	// explicit says a BEGIN of the file's own is open.
	explicit := false
	for i, st := range stmts {
		ts := st.Node.GetTransactionStmt()
		starts[i] = start
		if !inTx {
			starts[i] = -1
		}
		if ts == nil {
			states[i] = inTx
			continue
		}
		switch ts.GetKind() {
		case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
			if inTx && mode == layout.TxImplicit && !wrapped && !explicit {
				// In one multi-statement query, a BEGIN turns the implicit
				// transaction into a regular one: the statements before it
				// commit with the ones after it, at the COMMIT. Nothing is
				// ignored.
				explicit = true
				starts[i] = start
				continue
			}
			explicit = true
			if inTx {
				msg := "BEGIN inside a transaction that is already open; PostgreSQL ignores it"
				if wrapped {
					msg = fmt.Sprintf("BEGIN inside the transaction %s already opened around this file; PostgreSQL ignores it, and the matching COMMIT ends %s's transaction early", toolName(string(kind)), toolName(string(kind)))
				}
				found[i] = append(found[i], ruleNestedBegin.finding(msg))
			} else {
				start = i
			}
			starts[i] = start
			inTx = true
		case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK,
			pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
			if wrapped {
				found[i] = append(found[i], ruleCommitInWrapped.finding(fmt.Sprintf(
					"this ends the transaction %s opened around the file; the statements after it run outside any transaction", toolName(string(kind)))))
				wrapped = false
			}
			states[i] = inTx
			explicit = false
			// In a multi-statement query the statements after a COMMIT start
			// a new implicit transaction.
			inTx = mode == layout.TxImplicit && parsed > 1 && i < len(stmts)-1
			start = i + 1
			continue
		}
		states[i] = inTx
	}
	return states, starts, found
}

// unclosedTransaction returns the index of a BEGIN that the part never
// commits, or -1. Inside a tool's transaction a BEGIN is only ignored.
func unclosedTransaction(mode layout.TxMode, stmts []sqlscript.Statement) int {
	if mode == layout.TxWrapped {
		return -1
	}
	open := -1
	for i, st := range stmts {
		ts := st.Node.GetTransactionStmt()
		if ts == nil {
			continue
		}
		switch ts.GetKind() {
		case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
			if open < 0 {
				open = i
			}
		case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK,
			pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
			open = -1
		}
	}
	return open
}

func beginWithoutCommitMessage(mode layout.TxMode, kind layout.Kind) string {
	if mode == layout.TxImplicit {
		return fmt.Sprintf("this BEGIN is never committed: %s leaves the transaction open on its connection", toolName(string(kind)))
	}
	return "this BEGIN is never committed: the changes after it are rolled back when the session ends, and the run still reports success"
}

// checkNonTransactional reports statements PostgreSQL refuses inside a
// transaction when the tool runs them inside one.
func checkNonTransactional(c *stmtContext) {
	what := nonTransactionalReason(c.node, c.cfg.PostgresVersion)
	if what == "" || !c.inTx {
		return
	}
	how := "the file runs inside a transaction"
	switch c.fileTx {
	case layout.TxWrapped:
		how = fmt.Sprintf("%s runs this file inside a transaction", toolName(string(c.mig.Kind)))
	case layout.TxImplicit:
		how = fmt.Sprintf("%s sends the file as one multi-statement query, which PostgreSQL runs as one implicit transaction", toolName(string(c.mig.Kind)))
	case layout.TxNone:
		how = "it stands between BEGIN and COMMIT"
	}
	if c.fileTx == layout.TxWrapped && c.mig.Kind == layout.Flyway && flywayNonTransactional(c.node, c.cfg.PostgresVersion) == "" {
		how = "Flyway runs this script inside a transaction: it decides that from its own list of statements (PostgreSQLParser), which does not hold this one"
	}
	name, objects := nonTransactionalObject(c)
	if name != "" {
		what += " " + name
	}
	fd := ruleCannotRunInTransaction.finding(fmt.Sprintf("%s cannot run inside a transaction block, and %s: the deploy fails here", what, how))
	fd.Objects = objects
	fd.SafeAlternative = replaceWithOwnMigration(c, strings.TrimSpace(c.stmt.SQL))
	c.report(fd)
}

// nonTransactionalObject names what a statement that cannot run in a
// transaction is about, for its message ("orders_note_idx on
// public.orders"), and the objects it touches.
func nonTransactionalObject(c *stmtContext) (string, []string) {
	n := c.node
	switch {
	case n.GetIndexStmt() != nil:
		t := c.relation(n.GetIndexStmt().GetRelation())
		if name := n.GetIndexStmt().GetIdxname(); name != "" {
			return fmt.Sprintf("%s on %s", quoteIdent(name), t.name), []string{t.name}
		}
		return "on " + t.name, []string{t.name}
	case n.GetDropdbStmt() != nil:
		db := quoteIdent(n.GetDropdbStmt().GetDbname())
		return db, []string{db}
	case n.GetCreatedbStmt() != nil:
		db := quoteIdent(n.GetCreatedbStmt().GetDbname())
		return db, []string{db}
	}
	objects := statementObjects(c)
	return joinObjects(objects), objects
}

// ownMigrationWithoutTransaction writes a statement as a migration of its
// own that the team's tool runs without a transaction.
func ownMigrationWithoutTransaction(kind layout.Kind, sql string) string {
	if !strings.HasSuffix(sql, ";") {
		sql += ";"
	}
	switch kind {
	case layout.Goose:
		return "-- A new migration file of its own:\n-- +goose NO TRANSACTION\n-- +goose Up\n" + sql
	case layout.Dbmate:
		return "-- A new migration file of its own:\n-- migrate:up transaction:false\n" + sql
	case layout.GolangMigrate:
		return "-- A new migration (NNN_name.up.sql) holding only this statement; golang-migrate runs a single statement outside a transaction:\n" + sql
	case layout.Prisma:
		// prisma migrate sends migration.sql as one query: alone in its
		// file, a statement runs outside any transaction.
		return "-- A migration of its own (prisma migrate dev --create-only) whose migration.sql holds only this statement: prisma migrate sends one statement outside any transaction:\n" + sql
	case layout.Flyway:
		return "-- A new migration V<next>__name.sql holding only this statement, with V<next>__name.sql.conf containing executeInTransaction=false:\n" + sql
	case layout.Sqitch, layout.Plain:
		return "-- Outside BEGIN ... COMMIT, in a change of its own:\n" + sql
	}
	return fmt.Sprintf("-- %s runs every migration in a transaction; run this statement on its own, outside the tool, before or after the deploy:\n%s", toolName(string(kind)), sql)
}

// replaceWithOwnMigration is the safe way that takes the statement out of
// its migration and runs sql, its replacement (CONCURRENTLY), in a
// migration of its own without a transaction: the reader is told to remove
// the statement, not only to add another.
func replaceWithOwnMigration(c *stmtContext, sql string) string {
	index := c.node.GetIndexStmt() != nil
	if c.mig.Kind == layout.Prisma {
		if index {
			return "-- Remove this CREATE INDEX from the migration.sql, and build the index in a migration of its own (prisma migrate dev --create-only) " +
				"whose migration.sql holds only the CREATE INDEX CONCURRENTLY below: prisma migrate sends one statement outside any transaction. " +
				"Keep the index's name, so that the @@index or @unique of schema.prisma still matches it:\n" + sql
		}
		return "-- Remove this statement from the migration.sql, and put it alone in a migration of its own (prisma migrate dev --create-only): " +
			"prisma migrate sends one statement outside any transaction:\n" + sql
	}
	what := "this statement"
	if index {
		what = "this CREATE INDEX"
	}
	return fmt.Sprintf("-- Remove %s from this migration, and run this in its place:\n%s", what, ownMigrationWithoutTransaction(c.mig.Kind, sql))
}

// reindexManyTables names a REINDEX of a whole schema, database or system
// catalog, which PostgreSQL (and Flyway's list) runs outside a
// transaction; "" for one table or index.
func reindexManyTables(rs *pg_query.ReindexStmt) string {
	switch rs.GetKind() {
	case pg_query.ReindexObjectType_REINDEX_OBJECT_SCHEMA:
		return "REINDEX SCHEMA"
	case pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE:
		return "REINDEX DATABASE"
	case pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM:
		return "REINDEX SYSTEM"
	}
	return ""
}
