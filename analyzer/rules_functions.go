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
	for _, call := range c.evaluatedCalls() {
		parts := call.parts
		if len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
			// A function of another schema, named so, is not the
			// built-in one (pg_catalog comes first on every search path).
			continue
		}
		what, ok := destructiveBuiltins[parts[len(parts)-1]]
		if !ok {
			continue
		}
		fd := ruleDestructiveFunction.finding(fmt.Sprintf("%s() %s", parts[len(parts)-1], what))
		fd.Marker = c.at(call.fc.GetLocation())
		c.report(fd)
	}
}

// evaluatedCall is a function call a statement evaluates, with its name as
// written.
type evaluatedCall struct {
	fc    *pg_query.FuncCall
	parts []string
}

// callsOfNode is the evaluated calls of one parse tree, when known.
type callsOfNode struct {
	node  *pg_query.Node
	calls []evaluatedCall
	known bool
}

// evaluatedCalls lists every function call c's statement evaluates when it
// runs (none for one that only stores expressions), in the order of its
// tree. Both checks that read them (destructive built-ins, dblink) ask for
// every statement, so the walk is made once (for a statement of the file,
// with its parse: parsedFile.calls) and kept on c for c.node: a
// context copied for another statement (innerStatement) has another node
// and makes a list of its own. A statement of procedural code is judged
// again wherever its body runs (at its CREATE, at each call, for each
// trigger), on the same tree (plpgsql.Memo shares it): its list is kept
// for the run (c.innerCalls).
func (c *stmtContext) evaluatedCalls() []evaluatedCall {
	if c.calls.known && c.calls.node == c.node {
		return c.calls.calls
	}
	calls, kept := c.innerCalls[c.node]
	if !kept {
		calls = listEvaluatedCalls(c.node)
		if c.innerCalls != nil {
			c.innerCalls[c.node] = calls
		}
	}
	c.calls = callsOfNode{node: c.node, calls: calls, known: true}
	return calls
}

func listEvaluatedCalls(node *pg_query.Node) []evaluatedCall {
	if !catalog.Evaluates(node) {
		return nil
	}
	var out []evaluatedCall
	pgtree.Walk(node, func(n *pg_query.Node) bool {
		if fc := n.GetFuncCall(); fc != nil {
			if parts := pgtree.Names(fc.GetFuncname()); len(parts) > 0 {
				out = append(out, evaluatedCall{fc: fc, parts: parts})
			}
		}
		return true
	})
	return out
}
