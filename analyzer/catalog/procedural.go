package catalog

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
)

// Function is a function or procedure a migration created, with the code it
// runs when called.
type Function struct {
	Schema, Name string
	Body         *plpgsql.Body
	Origin       Origin
}

// QualifiedName is schema.name quoted as needed.
func (f *Function) QualifiedName() string { return qualify(f.Schema, f.Name) }

// MaxCallDepth bounds how deep calls of migration-created functions are
// followed (a function may call itself).
const MaxCallDepth = 8

type proceduralState struct {
	// off is set while the caller applies the statements of procedural
	// code one by one (ApplyOwn).
	off   bool
	depth int
	// calling holds the functions running, so that recursion runs a body
	// once; budget bounds the statements one statement leads to apply.
	calling map[*Function]bool
	budget  int
}

// callBudget bounds the statements of procedural code one statement leads
// to apply, whatever the fan-out of its calls.
const callBudget = 2000

// ApplyOwn applies a statement's own effect without running the procedural
// code it holds or calls (a DO body, the bodies of the functions it calls):
// for a caller that applies those statements itself, one by one.
func (c *Catalog) ApplyOwn(stmt *pg_query.Node) {
	saved := c.procedural.off
	c.procedural.off = true
	c.Apply(stmt)
	c.procedural.off = saved
}

// applyProcedural remembers the functions a statement creates or drops and
// runs the code it runs: a DO body, and the bodies of the functions it
// calls.
func (c *Catalog) applyProcedural(stmt *pg_query.Node) {
	switch {
	case stmt.GetCreateFunctionStmt() != nil:
		c.createFunction(stmt)
		return
	case stmt.GetDropStmt() != nil:
		c.dropFunctions(stmt.GetDropStmt())
		return
	}
	if c.procedural.off || c.procedural.depth >= MaxCallDepth {
		return
	}
	if c.procedural.depth == 0 {
		c.procedural.budget, c.procedural.calling = callBudget, nil
	}
	if stmt.GetDoStmt() != nil {
		c.runBody(plpgsql.Read(stmt, plpgsql.Source{}))
		return
	}
	c.runCalls(stmt)
}

// runCalls runs the bodies of the migration-created functions a statement
// calls, each once however it recurses.
func (c *Catalog) runCalls(stmt *pg_query.Node) {
	for _, call := range c.Calls(stmt) {
		f := call.Function
		if c.procedural.calling[f] {
			continue
		}
		if c.procedural.calling == nil {
			c.procedural.calling = map[*Function]bool{}
		}
		c.procedural.calling[f] = true
		c.runBody(f.Body)
		delete(c.procedural.calling, f)
	}
}

func (c *Catalog) runBody(b *plpgsql.Body) {
	if b == nil || c.procedural.budget <= 0 {
		return
	}
	c.procedural.depth++
	defer func() { c.procedural.depth-- }()
	saved := c.searchPath
	for _, s := range b.Stmts {
		if c.procedural.budget--; c.procedural.budget < 0 {
			break
		}
		if s.Kind == plpgsql.Statement && s.Stmt.Node != nil {
			c.Apply(s.Stmt.Node)
		} else if s.Kind == plpgsql.Expression {
			c.runCalls(s.Stmt.Node)
		}
	}
	// SET inside a function lasts past it only when not LOCAL; procedural
	// code that changes search_path is rare, and keeping the caller's is the
	// safer guess for the statements after it.
	c.searchPath = saved
}

func (c *Catalog) createFunction(stmt *pg_query.Node) {
	cf := stmt.GetCreateFunctionStmt()
	parts := pgtree.Names(cf.GetFuncname())
	if len(parts) == 0 {
		return
	}
	schema, name := c.creationSchema(), parts[len(parts)-1]
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	}
	key := qname{schema, name}
	if c.functions[key] != nil && !cf.GetReplace() {
		return // PostgreSQL rejects it (or it is an overload: the first stays)
	}
	c.functions[key] = &Function{Schema: schema, Name: name, Body: plpgsql.Read(stmt, plpgsql.Source{}), Origin: c.origin()}
}

func (c *Catalog) dropFunctions(ds *pg_query.DropStmt) {
	switch ds.GetRemoveType() {
	case pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE, pg_query.ObjectType_OBJECT_ROUTINE:
	default:
		return
	}
	for _, o := range ds.GetObjects() {
		if f := c.functionByName(pgtree.Names(o.GetObjectWithArgs().GetObjname())); f != nil {
			delete(c.functions, qname{f.Schema, f.Name})
		}
	}
}

// FunctionByName resolves a function name as written (qualified or by the
// search path) to a function a migration created; nil otherwise.
func (c *Catalog) FunctionByName(parts []string) *Function { return c.functionByName(parts) }

func (c *Catalog) functionByName(parts []string) *Function {
	switch len(parts) {
	case 0:
		return nil
	case 1:
		for _, s := range c.lookupPath() {
			if f := c.functions[qname{s, parts[0]}]; f != nil {
				return f
			}
		}
		return nil
	}
	return c.functions[qname{parts[len(parts)-2], parts[len(parts)-1]}]
}

// Call is a call, in a statement, of a function a migration created.
type Call struct {
	Function *Function
	// Location is the call's byte offset in the statement's text, -1 when
	// unknown.
	Location int32
}

// Calls lists the calls of migration-created functions that run when the
// statement runs: in a query, CALL, INSERT/UPDATE/DELETE/MERGE, CREATE
// TABLE AS. Definitions that only store an expression (a view, a default,
// a function body, a trigger) call nothing yet.
func (c *Catalog) Calls(stmt *pg_query.Node) []Call {
	if len(c.functions) == 0 || stmt == nil {
		return nil
	}
	switch stmt.Node.(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_CallStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt,
		*pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt, *pg_query.Node_CreateTableAsStmt, *pg_query.Node_ExplainStmt,
		*pg_query.Node_ReturnStmt:
	default:
		return nil
	}
	var out []Call
	if fc := stmt.GetCallStmt().GetFunccall(); fc != nil {
		// CALL holds its FuncCall directly, not as a Node.
		if f := c.functionByName(pgtree.Names(fc.GetFuncname())); f != nil {
			out = append(out, Call{Function: f, Location: fc.GetLocation()})
		}
	}
	pgtree.Walk(stmt, func(n *pg_query.Node) bool {
		if fc := n.GetFuncCall(); fc != nil {
			if f := c.functionByName(pgtree.Names(fc.GetFuncname())); f != nil {
				out = append(out, Call{Function: f, Location: fc.GetLocation()})
			}
		}
		return true
	})
	return out
}
