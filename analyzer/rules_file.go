package analyzer

import (
	"fmt"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// These rules are about whether the tool runs the file as written at all;
// they sit with question 5, which asks how the tool really runs the file.
var (
	ruleUnreadableFile = register(Rule{
		ID: "unreadable-file", Question: QTransaction, Severity: Danger,
		Title: "Migration file that cannot be read",
		Why: "The migration tool runs the file, but it is binary, not UTF-8, larger than the configured limit, a symbolic link that leads out of the repository, " +
			"loops or leads nowhere, or in a folder GitHub would not list in full, so migration-guard could not check any of it. " +
			"Whatever it does reaches production unreviewed unless a person reads it; the approval is bound to the file's bytes (its git blob id), so other bytes need a new one.",
		Example: "(a migration saved as Latin-1, a binary file named .sql, or a link to /srv/deploy/drop.sql)",
		Safe:    "-- Save the file as UTF-8 text in the repository; split generated dumps into reviewed migrations.",
	})
	ruleSyntaxError = register(Rule{
		ID: "syntax-error", Question: QTransaction, Severity: Danger,
		Title: "Statement PostgreSQL's parser cannot read",
		Why: "PostgreSQL would reject the statement, so the deploy fails here, possibly after earlier statements already committed. " +
			"migration-guard cannot answer the checklist for it, so a person must.",
		Example: "ALTER TABLE orders ADD COLUM note text;",
		Safe:    "ALTER TABLE orders ADD COLUMN note text;",
	})
	ruleGrammarTooOld = register(Rule{
		ID: "grammar-not-understood", Question: QTransaction, Severity: Danger,
		Title: "Statement the bundled grammar cannot read (newer PostgreSQL)",
		Why: "migration-guard reads SQL with pg_query, which parses PostgreSQL 16's grammar. The configured postgres_version is newer, so a statement " +
			"that grammar cannot read may be valid syntax of the newer version (ALTER COLUMN ... SET EXPRESSION, MERGE ... RETURNING, JSON_TABLE) " +
			"or a plain mistake: migration-guard cannot tell which, and cannot answer the checklist for it, so a person must read it.",
		Example: "-- postgres_version: 17\nALTER TABLE orders ALTER COLUMN total SET EXPRESSION AS (price * quantity);",
		Safe:    "-- Review the statement by hand: what it locks, rewrites or drops is not known to migration-guard.",
	})
	rulePsqlMetaCommand = register(Rule{
		ID: "psql-meta-command", Question: QTransaction, Severity: Warning,
		Title: "psql meta-command in a migration",
		Why: "Backslash commands (\\set, \\connect, \\i, \\gexec, ...) are psql's, not PostgreSQL's: every migration tool other than psql sends them " +
			"to the server, which rejects them. \\i, \\ir, \\gexec and \\! run SQL or commands that are not in the file and were not reviewed.",
		Example: "\\set ON_ERROR_STOP on\nALTER TABLE orders ADD COLUMN note text;",
		Safe:    "ALTER TABLE orders ADD COLUMN note text;",
	})
	ruleLayoutProblem = register(Rule{
		ID: "migration-layout", Question: QTransaction, Severity: Warning,
		Title: "File the migration tool will not run as intended",
		Why: "The tool decides from names and directives which files and sections it runs: a missing -- +goose Up, a duplicate version or a down file " +
			"without its up file means the statements are skipped, run twice, or make the tool refuse to start.",
		Example: "-- a goose file without its '-- +goose Up' line",
		Safe:    "-- +goose Up\nALTER TABLE orders ADD COLUMN note text;",
	})
	ruleEditedMigration = register(Rule{
		ID: "edited-migration", Question: QTransaction, Severity: Warning,
		Title: "Edit to a migration that already exists",
		Why: "Migration tools record which versions ran and never run them again, so an edit to an applied migration reaches no database that ran it " +
			"and only fresh ones (new environments, tests) get the new text: production and development drift apart.",
		Example: "(a change to 0007_add_orders.sql, which is on the main branch)",
		Safe:    "-- Leave applied migrations as they are; write the change as a new migration.",
	})
	ruleMissingDown = register(Rule{
		ID: "missing-down", Question: QTransaction, Severity: Warning,
		Title: "No down migration",
		Why: "The tool supports rolling back, but this migration cannot be: a failed release has to be repaired by hand, under pressure. " +
			"It is not asked of a project whose migrations at the base never have a down part (three or more of them): the notes say so once.",
		Example: "-- +goose Up\nALTER TABLE orders ADD COLUMN note text;",
		Safe:    "-- +goose Up\nALTER TABLE orders ADD COLUMN note text;\n-- +goose Down\nALTER TABLE orders DROP COLUMN note;",
	})
)

// grammarMajor is the PostgreSQL major version whose grammar the linked
// pg_query parses (16 for pg_query_go v5).
var grammarMajor = sync.OnceValue(func() int {
	tree, err := pgtree.Parse("SELECT 1")
	if err != nil {
		return 0
	}
	return int(tree.GetVersion() / 10000)
})

// GrammarMajor is the PostgreSQL major version whose grammar migration-guard
// parses.
func GrammarMajor() int { return grammarMajor() }

// parseErrorFinding reports a statement the parser could not read. When the
// target server is newer than the grammar, the statement may be valid there:
// it is not understood, not rejected, and still needs a person.
func parseErrorFinding(pgVersion int, e *sqlscript.ParseError, line, col int) Finding {
	var fd Finding
	if g := GrammarMajor(); g > 0 && pgVersion > g {
		fd = ruleGrammarTooOld.finding(fmt.Sprintf("not understood by this version's grammar: review by hand. migration-guard parses PostgreSQL %d's grammar, "+
			"which cannot read this statement (%s, line %d, column %d); PostgreSQL %d may accept it, and what it does was not checked",
			g, e.Message, line, col, pgVersion))
	} else {
		fd = ruleSyntaxError.finding(fmt.Sprintf("PostgreSQL's parser cannot read this statement: %s (line %d, column %d)", e.Message, line, col))
	}
	fd.Marker = Position{Line: line, Column: col}
	return fd
}

// changesSomething says a statement changes schema or data, so that running
// it outside a transaction next to another such statement can half-apply.
func changesSomething(n *pg_query.Node) bool {
	switch {
	case n == nil:
		return false
	case n.GetTransactionStmt() != nil, n.GetVariableSetStmt() != nil, n.GetVariableShowStmt() != nil,
		n.GetExplainStmt() != nil, n.GetCheckPointStmt() != nil:
		return false
	case n.GetSelectStmt() != nil:
		return n.GetSelectStmt().GetIntoClause() != nil
	}
	return true
}

// checkStatementsWithoutTransaction reports the first statement that runs
// outside a transaction after another one that changed something already
// committed on its own.
func checkStatementsWithoutTransaction(f *File, stmts []sqlscript.Statement, states []bool, reported []*Statement, cfg Config) {
	first := -1
	for i, st := range stmts {
		if states[i] || !changesSomething(st.Node) {
			continue
		}
		if first < 0 {
			first = i
			continue
		}
		if reported[i] == nil || reported[first] == nil {
			return
		}
		c := &stmtContext{cfg: &cfg, stmt: reported[i], part: reported[i].Part}
		c.report(ruleNoTransaction.finding(fmt.Sprintf(
			"runs outside a transaction after line %d already committed on its own: if this fails, the migration is left half applied",
			reported[first].Start.Line)))
		return
	}
}
