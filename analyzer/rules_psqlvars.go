package analyzer

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// rulePsqlVariable: psql interpolates :name, :'name' and :"name" before the
// server sees a statement, so what runs depends on a value that is not in the
// file. The statement is judged with a placeholder in its place and says so.
var rulePsqlVariable = register(Rule{
	ID: "psql-variable", Question: QTransaction, Severity: Warning,
	Title: "Statement that depends on a psql variable",
	Why: "psql replaces :name, :'name' and :\"name\" with values given on its command line (-v name=value) or by \\set before the server sees " +
		"the statement: what runs depends on a value that is not in the file. migration-guard judges the statement with a placeholder in its place; " +
		"a person must check the value when it names the object of a destructive statement, and always for :name, which psql pastes unquoted " +
		"as SQL text that can hold anything, further statements included (:'name' and :\"name\" are quoted by psql).",
	Example: "DROP TABLE :\"old_table\";",
	Safe:    "DROP TABLE public.events_2019;  -- the object named in the file, reviewed as it will run",
})

// checkPsqlVariables runs before the other rules of a statement.
func checkPsqlVariables(c *stmtContext) {
	vars := c.raw.Variables
	if len(vars) == 0 {
		return
	}
	refs := make([]string, len(vars))
	for i, v := range vars {
		refs[i] = v.String()
	}
	list := strings.Join(refs, ", ")
	first := vars[0]
	line, col := c.lines.Position(first.Start)
	if !c.mig.Kind.RunsWithPsql() {
		// Only psql interpolates: every other tool sends the text as it is.
		fd := ruleSyntaxError.finding(fmt.Sprintf(
			"%s is psql's variable syntax, but %s sends the file to the server without psql: PostgreSQL rejects the statement (line %d, column %d)",
			list, c.mig.Kind, line, col))
		fd.Marker = Position{Line: line, Column: col}
		c.report(fd)
		return
	}
	what := destructiveStatement(c.node)
	var named []string
	for _, v := range vars {
		if v.Named() {
			named = append(named, v.String())
		}
	}
	msg := fmt.Sprintf("depends on psql variable%s %s, set outside this file (psql -v or \\set)%s; judged with %s in %s place",
		pluralS(len(vars)), list, setInFile(c, vars), placeholders(vars), pronoun(len(vars)))
	var raw []string
	for _, v := range vars {
		if v.Form == sqlscript.VarText {
			raw = append(raw, v.String())
		}
	}
	fd := rulePsqlVariable.finding(msg)
	switch {
	case what != "" && len(named) > 0:
		// Fail closed: which object this destroys is not in the file.
		fd.Severity = Danger
		fd.Message = fmt.Sprintf("%s on an object named by psql variable%s %s: which one is not in the file, so the review cannot say what it destroys; %s",
			what, pluralS(len(named)), strings.Join(named, ", "), msg)
	case len(raw) > 0:
		// psql pastes :name as SQL text, unquoted: its value can hold any
		// SQL, a semicolon and further statements included. psql quotes
		// :'name' and :"name", which bounds them to a value or a name.
		fd.Severity = Danger
		fd.Message = fmt.Sprintf("psql pastes %s into the statement as SQL text that is not in the file: its value can hold any SQL, "+
			"further statements included, so the review cannot say what runs (write :'name' for a value or :\"name\" for a name, which psql quotes); %s",
			strings.Join(raw, ", "), msg)
	}
	fd.Marker = Position{Line: line, Column: col}
	c.report(fd)
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pronoun(n int) string {
	if n == 1 {
		return "its"
	}
	return "their"
}

func placeholders(vars []sqlscript.Variable) string {
	out := make([]string, len(vars))
	for i, v := range vars {
		out[i] = v.Placeholder
	}
	return strings.Join(out, ", ")
}

// setInFile points at the \set lines of the file that give the variables a
// value; psql applies them, migration-guard does not substitute them.
func setInFile(c *stmtContext, vars []sqlscript.Variable) string {
	var out []string
	seen := map[string]bool{}
	for _, v := range vars {
		if seen[v.Name] {
			continue
		}
		seen[v.Name] = true
		for _, line := range strings.Split(c.text[:min(len(c.text), c.raw.Start)], "\n") {
			f := strings.Fields(strings.TrimSpace(line))
			if len(f) >= 2 && f[0] == `\set` && f[1] == v.Name {
				out = append(out, fmt.Sprintf("%s is \\set earlier in the file", v.String()))
				break
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, "; ") + ": review it with that value)"
}

// destructiveStatement names what a statement destroys or takes away when
// its object is not known: data, objects or privileges. "" for the rest.
func destructiveStatement(n *pg_query.Node) string {
	switch {
	case n == nil:
		return ""
	case n.GetDropStmt() != nil:
		return "DROP"
	case n.GetTruncateStmt() != nil:
		return "TRUNCATE"
	case n.GetDeleteStmt() != nil:
		return "DELETE"
	case n.GetUpdateStmt() != nil:
		return "UPDATE"
	case n.GetMergeStmt() != nil:
		return "MERGE"
	case n.GetDropOwnedStmt() != nil:
		return "DROP OWNED"
	case n.GetReassignOwnedStmt() != nil:
		return "REASSIGN OWNED"
	case n.GetDropRoleStmt() != nil:
		return "DROP ROLE"
	case n.GetDropdbStmt() != nil:
		return "DROP DATABASE"
	case n.GetDropTableSpaceStmt() != nil:
		return "DROP TABLESPACE"
	case n.GetDropSubscriptionStmt() != nil:
		return "DROP SUBSCRIPTION"
	case n.GetRenameStmt() != nil:
		return "RENAME"
	case n.GetGrantStmt() != nil && !n.GetGrantStmt().GetIsGrant():
		return "REVOKE"
	case n.GetGrantRoleStmt() != nil && !n.GetGrantRoleStmt().GetIsGrant():
		return "REVOKE"
	case n.GetAlterTableStmt() != nil:
		for _, cmd := range n.GetAlterTableStmt().GetCmds() {
			switch cmd.GetAlterTableCmd().GetSubtype() {
			case pg_query.AlterTableType_AT_DropColumn, pg_query.AlterTableType_AT_DropConstraint,
				pg_query.AlterTableType_AT_AlterColumnType, pg_query.AlterTableType_AT_DropNotNull,
				pg_query.AlterTableType_AT_DropExpression, pg_query.AlterTableType_AT_DropIdentity,
				pg_query.AlterTableType_AT_DetachPartition, pg_query.AlterTableType_AT_DropInherit:
				return "ALTER TABLE"
			}
		}
	case n.GetSelectStmt() != nil && n.GetSelectStmt().GetIntoClause() == nil:
		// SELECT runs functions; one named by a variable can do anything.
		return ""
	}
	return ""
}
