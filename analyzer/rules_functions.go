package analyzer

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

var ruleDestructiveFunction = register(Rule{
	ID: "destructive-function", Question: QDrops, Severity: Danger,
	Title: "Built-in function that destroys data",
	Why: "Some of PostgreSQL's built-in functions destroy what no DROP or DELETE names: lo_unlink deletes a large object (the file, image or " +
		"document a row points to by its oid), lo_truncate and lo_put cut or overwrite one, lo_export and adminpack's pg_file_* functions " +
		"write, rename or delete files on the database server, and dropping or reading a replication slot (pg_drop_replication_slot, " +
		"pg_logical_slot_get_changes, pg_replication_slot_advance) makes the replica or change-data-capture consumer reading from it lose what " +
		"it had not read. A SELECT that calls one looks like a query, so it is said here, with what it destroys.",
	Example: "SELECT lo_unlink(avatar_oid) FROM users;",
	Safe: "-- Run it by hand, once a person has checked which large objects, files or changes it destroys and that\n" +
		"-- nothing still needs them; or limit it in the migration to the rows that no longer point to anything in use.",
})

// destructiveBuiltins are the built-in functions whose call destroys data
// or what a consumer has not read yet, with what they destroy.
var destructiveBuiltins = map[string]string{
	"lo_unlink":                          "deletes the large object with its data",
	"lo_truncate":                        "cuts the data of an open large object",
	"lo_truncate64":                      "cuts the data of an open large object",
	"lo_put":                             "overwrites bytes of a large object",
	"lowrite":                            "overwrites bytes of an open large object",
	"lo_export":                          "writes a file on the database server, replacing any file of that name",
	"pg_file_write":                      "writes a file on the database server",
	"pg_file_rename":                     "renames a file on the database server",
	"pg_file_unlink":                     "deletes a file on the database server",
	"pg_drop_replication_slot":           "drops a replication slot: the replica or consumer reading from it loses its place and what it had not read",
	"pg_replication_origin_drop":         "drops a replication origin: the subscriber loses track of what it has applied",
	"pg_logical_slot_get_changes":        "consumes the slot's changes: the consumer reading from that slot never receives them",
	"pg_logical_slot_get_binary_changes": "consumes the slot's changes: the consumer reading from that slot never receives them",
	"pg_replication_slot_advance":        "moves the slot past changes its consumer has not read: it never receives them",
}

// checkDestructiveFunctions reports calls of destructive built-in
// functions in what a statement evaluates when it runs.
func checkDestructiveFunctions(c *stmtContext) {
	evaluatedCalls(c.node, func(fc *pg_query.FuncCall, parts []string) {
		if len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
			// A function of another schema, named so, is not the
			// built-in one (pg_catalog comes first on every search path).
			return
		}
		what, ok := destructiveBuiltins[parts[len(parts)-1]]
		if !ok {
			return
		}
		fd := ruleDestructiveFunction.finding(fmt.Sprintf("%s() %s", parts[len(parts)-1], what))
		fd.Marker = c.at(fc.GetLocation())
		c.report(fd)
	})
}

// evaluatedCalls calls fn for every function call a statement evaluates
// when it runs (none for one that only stores expressions), with the
// call's name as written.
func evaluatedCalls(node *pg_query.Node, fn func(fc *pg_query.FuncCall, parts []string)) {
	if !catalog.Evaluates(node) {
		return
	}
	pgtree.Walk(node, func(n *pg_query.Node) bool {
		if fc := n.GetFuncCall(); fc != nil {
			if parts := pgtree.Names(fc.GetFuncname()); len(parts) > 0 {
				fn(fc, parts)
			}
		}
		return true
	})
}
