package catalog

import (
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
)

// Function is a function or procedure a migration created, with the code it
// runs when called.
type Function struct {
	Schema, Name string
	// Signature lists the input argument types, which tell overloads
	// apart: "pg_catalog.int4, text".
	Signature string
	Body      *plpgsql.Body
	Origin    Origin

	// stmt is the CREATE FUNCTION statement Body was read from: an
	// encoded catalog (encode.go) keeps it and reads the body again.
	stmt *pg_query.Node
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
	// given and givenBody are a statement being applied by ApplyOwnRead
	// and its body as the caller read it.
	given     *pg_query.Node
	givenBody *plpgsql.Body
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

// ApplyOwnRead is ApplyOwn for a statement whose procedural code the
// caller has read already: body is what plpgsql.Read(stmt,
// plpgsql.Source{}) gives for it (plpgsql.Body.Bare of the caller's
// reading), and is kept instead of reading the code again; nil reads it.
// Reading a body parses it, which costs more than applying it.
func (c *Catalog) ApplyOwnRead(stmt *pg_query.Node, body *plpgsql.Body) {
	c.procedural.given, c.procedural.givenBody = stmt, body
	c.ApplyOwn(stmt)
	c.procedural.given, c.procedural.givenBody = nil, nil
}

// readBody reads the procedural code of a DO or CREATE FUNCTION statement
// without its text: the bodies kept run from other files, where this one's
// offsets mean nothing.
func (c *Catalog) readBody(stmt *pg_query.Node) *plpgsql.Body {
	if stmt == c.procedural.given && c.procedural.givenBody != nil {
		return c.procedural.givenBody
	}
	return plpgsql.Read(stmt, plpgsql.Source{})
}

// applyProcedural remembers the functions a statement creates or drops and
// runs the code it runs: a DO body, and the bodies of the functions it
// calls.
func (c *Catalog) applyProcedural(stmt *pg_query.Node) {
	c.installStored(stmt)
	switch {
	case stmt.GetCreateFunctionStmt() != nil:
		c.createFunction(stmt)
		return
	case stmt.GetDropStmt() != nil:
		c.dropFunctions(stmt.GetDropStmt())
		c.dropTableTriggers(stmt.GetDropStmt())
		return
	case stmt.GetRenameStmt() != nil:
		c.renameFunction(stmt.GetRenameStmt())
		return
	case stmt.GetAlterObjectSchemaStmt() != nil:
		c.moveFunction(stmt.GetAlterObjectSchemaStmt())
		return
	case stmt.GetCreateTrigStmt() != nil:
		c.installTrigger(stmt.GetCreateTrigStmt().GetFuncname())
		c.addTableTrigger(stmt.GetCreateTrigStmt())
		return
	case stmt.GetCreateEventTrigStmt() != nil:
		c.installTrigger(stmt.GetCreateEventTrigStmt().GetFuncname())
		return
	}
	if c.procedural.off || c.procedural.depth >= MaxCallDepth {
		return
	}
	if c.procedural.depth == 0 {
		c.procedural.budget, c.procedural.calling = callBudget, nil
	}
	if stmt.GetDoStmt() != nil {
		c.runBody(c.readBody(stmt))
		return
	}
	c.runCalls(stmt)
	c.runTextCalls(stmt)
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
	sig := parameterSignature(cf.GetParameters())
	list := c.functions.Get(key)
	for i, old := range list {
		if old.Signature == sig {
			if cf.GetReplace() {
				list = append(append([]*Function(nil), list[:i]...), list[i+1:]...)
				break
			}
			return // PostgreSQL rejects it: the function exists
		}
	}
	f := &Function{Schema: schema, Name: name, Signature: sig, Body: c.readBody(stmt), Origin: c.origin(), stmt: stmt}
	// Overloads are kept side by side: without argument types a call cannot
	// be resolved to one of them, so a call runs them all.
	c.functions.Set(c.owner, key, append(append([]*Function(nil), list...), f))
}

// parameterSignature lists the input argument types of a routine.
func parameterSignature(params []*pg_query.Node) string {
	var types []string
	for _, p := range params {
		fp := p.GetFunctionParameter()
		switch fp.GetMode() {
		case pg_query.FunctionParameterMode_FUNC_PARAM_OUT, pg_query.FunctionParameterMode_FUNC_PARAM_TABLE:
			continue
		}
		types = append(types, typeSignature(fp.GetArgType()))
	}
	return strings.Join(types, ", ")
}

func typeSignature(tn *pg_query.TypeName) string {
	names := pgtree.Names(tn.GetNames())
	if len(names) == 2 && names[0] == "pg_catalog" {
		names = names[1:]
	}
	return strings.Join(names, ".") + strings.Repeat("[]", len(tn.GetArrayBounds()))
}

// matching returns the overloads an ObjectWithArgs names: the one with
// its argument types, or all of them when the types are not given.
func (c *Catalog) matching(o *pg_query.ObjectWithArgs) []*Function {
	all := c.FunctionsByName(pgtree.Names(o.GetObjname()))
	if o.GetArgsUnspecified() {
		return all
	}
	var types []string
	for _, a := range o.GetObjargs() {
		types = append(types, typeSignature(a.GetTypeName()))
	}
	sig := strings.Join(types, ", ")
	for _, f := range all {
		if f.Signature == sig {
			return []*Function{f}
		}
	}
	return nil
}

func (c *Catalog) removeFunction(f *Function) {
	key := qname{f.Schema, f.Name}
	var keep []*Function
	for _, g := range c.functions.Get(key) {
		if g != f {
			keep = append(keep, g)
		}
	}
	if len(keep) == 0 {
		c.functions.Delete(c.owner, key)
		return
	}
	c.functions.Set(c.owner, key, keep)
}

func isRoutine(t pg_query.ObjectType) bool {
	switch t {
	case pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE, pg_query.ObjectType_OBJECT_ROUTINE:
		return true
	}
	return false
}

func (c *Catalog) dropFunctions(ds *pg_query.DropStmt) {
	if !isRoutine(ds.GetRemoveType()) {
		return
	}
	for _, o := range ds.GetObjects() {
		for _, f := range c.matching(o.GetObjectWithArgs()) {
			c.removeFunction(f)
		}
	}
}

// renameFunction follows ALTER FUNCTION ... RENAME TO: calling the new name
// runs the same body.
func (c *Catalog) renameFunction(s *pg_query.RenameStmt) {
	if !isRoutine(s.GetRenameType()) || s.GetNewname() == "" {
		return
	}
	for _, f := range c.matching(s.GetObject().GetObjectWithArgs()) {
		c.removeFunction(f)
		moved := *f
		moved.Name = s.GetNewname()
		key := qname{moved.Schema, moved.Name}
		c.functions.Set(c.owner, key, append(append([]*Function(nil), c.functions.Get(key)...), &moved))
		c.retarget(f, &moved)
	}
}

// moveFunction follows ALTER FUNCTION ... SET SCHEMA.
func (c *Catalog) moveFunction(s *pg_query.AlterObjectSchemaStmt) {
	if !isRoutine(s.GetObjectType()) || s.GetNewschema() == "" {
		return
	}
	for _, f := range c.matching(s.GetObject().GetObjectWithArgs()) {
		c.removeFunction(f)
		moved := *f
		moved.Schema = s.GetNewschema()
		key := qname{moved.Schema, moved.Name}
		c.functions.Set(c.owner, key, append(append([]*Function(nil), c.functions.Get(key)...), &moved))
		c.retarget(f, &moved)
	}
}

// retarget keeps a trigger's function known to be a trigger's, and stored
// code's function known to be its, after a rename or a move.
func (c *Catalog) retarget(from, to *Function) {
	if c.triggerFuncs.Get(qname{from.Schema, from.Name}) {
		c.triggerFuncs.Set(c.owner, qname{to.Schema, to.Name}, true)
	}
	if use, ok := c.storedFuncs.Lookup(qname{from.Schema, from.Name}); ok {
		c.storedFuncs.Set(c.owner, qname{to.Schema, to.Name}, use)
	}
}

// installTrigger remembers that a trigger runs the function: replacing its
// body later changes what runs on every row change.
func (c *Catalog) installTrigger(funcname []*pg_query.Node) {
	parts := pgtree.Names(funcname)
	if len(parts) == 0 {
		return
	}
	if fs := c.FunctionsByName(parts); len(fs) > 0 {
		c.triggerFuncs.Set(c.owner, qname{fs[0].Schema, fs[0].Name}, true)
		return
	}
	schema := c.creationSchema()
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	}
	c.triggerFuncs.Set(c.owner, qname{schema, parts[len(parts)-1]}, true)
}

// RunsAsTrigger says whether a trigger or event trigger already installed
// runs the function of this name (triggers are never forgotten here: a
// dropped one leaves the function judged as a trigger's, which is the
// careful side).
func (c *Catalog) RunsAsTrigger(parts []string) bool {
	if len(parts) == 0 {
		return false
	}
	if len(parts) > 1 {
		return c.triggerFuncs.Get(qname{parts[len(parts)-2], parts[len(parts)-1]})
	}
	return c.triggerFuncs.Get(qname{c.creationSchema(), parts[0]})
}

// FunctionsByName resolves a function name as written (qualified or by the
// search path) to the functions of that name a migration created, every
// overload; nil when there is none.
func (c *Catalog) FunctionsByName(parts []string) []*Function {
	switch len(parts) {
	case 0:
		return nil
	case 1:
		for _, s := range c.lookupPath() {
			if fs := c.functions.Get(qname{s, parts[0]}); len(fs) > 0 {
				return fs
			}
		}
		return nil
	}
	return c.functions.Get(qname{parts[len(parts)-2], parts[len(parts)-1]})
}

// Evaluates says whether the expressions in a statement are evaluated when
// it runs, so that the functions they call run then: a query, CALL,
// INSERT/UPDATE/DELETE/MERGE, CREATE TABLE AS, EXPLAIN, COPY of a query,
// PREPARE (its query runs at EXECUTE, judged here), ALTER TABLE (a new
// column's default, a CHECK on existing rows, USING) and CREATE INDEX (its
// expressions, for every row). Definitions that store an expression for
// later (a view, a function body, a trigger, CREATE TABLE's defaults) run
// nothing yet: what stored code calls is judged where it is installed
// (stored.go).
func Evaluates(stmt *pg_query.Node) bool {
	if stmt == nil {
		return false
	}
	switch stmt.Node.(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_CallStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt,
		*pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt, *pg_query.Node_CreateTableAsStmt, *pg_query.Node_ExplainStmt,
		*pg_query.Node_ReturnStmt, *pg_query.Node_CopyStmt, *pg_query.Node_PrepareStmt, *pg_query.Node_AlterTableStmt,
		*pg_query.Node_IndexStmt:
		return true
	}
	return false
}

// Call is a call, in a statement, of a function a migration created.
type Call struct {
	Function *Function
	// Location is the call's byte offset in the statement's text, -1 when
	// unknown.
	Location int32
}

// Calls lists the calls of migration-created functions that run when the
// statement runs (see Evaluates), one per overload of the name called.
func (c *Catalog) Calls(stmt *pg_query.Node) []Call {
	if c.functions.Len() == 0 || !Evaluates(stmt) {
		return nil
	}
	var out []Call
	add := func(fc *pg_query.FuncCall) {
		for _, f := range c.FunctionsByName(pgtree.Names(fc.GetFuncname())) {
			out = append(out, Call{Function: f, Location: fc.GetLocation()})
		}
	}
	if fc := stmt.GetCallStmt().GetFunccall(); fc != nil {
		// CALL holds its FuncCall directly, not as a Node.
		add(fc)
	}
	pgtree.Walk(stmt, func(n *pg_query.Node) bool {
		if fc := n.GetFuncCall(); fc != nil {
			add(fc)
		}
		return true
	})
	return out
}

// triggerUpdate is the UPDATE bit of CreateTrigStmt.events (TRIGGER_TYPE_UPDATE).
const triggerUpdate = 1 << 4

// addTableTrigger remembers a trigger that fires on UPDATE of its table: an
// UPDATE a safe way adds (a backfill) fires it where the statement it
// replaces did not.
func (c *Catalog) addTableTrigger(ts *pg_query.CreateTrigStmt) {
	t := c.Relation(ts.GetRelation())
	if t == nil || ts.GetEvents()&triggerUpdate == 0 || ts.GetIsconstraint() {
		return
	}
	if !slices.Contains(t.UpdateTriggers, ts.GetTrigname()) {
		t = c.editTable(t)
		t.UpdateTriggers = append(t.UpdateTriggers, ts.GetTrigname())
	}
}

// dropTableTriggers forgets the triggers DROP TRIGGER drops.
func (c *Catalog) dropTableTriggers(ds *pg_query.DropStmt) {
	if ds.GetRemoveType() != pg_query.ObjectType_OBJECT_TRIGGER {
		return
	}
	for _, o := range ds.GetObjects() {
		names := pgtree.Names(o.GetList().GetItems())
		if len(names) < 2 {
			continue
		}
		rv := &pg_query.RangeVar{Relname: names[len(names)-2], Inh: true, Relpersistence: "p"}
		if len(names) > 2 {
			rv.Schemaname = names[len(names)-3]
		}
		if t := c.Relation(rv); t != nil && slices.Contains(t.UpdateTriggers, names[len(names)-1]) {
			t = c.editTable(t)
			t.UpdateTriggers = slices.DeleteFunc(t.UpdateTriggers, func(n string) bool { return n == names[len(names)-1] })
		}
	}
}
