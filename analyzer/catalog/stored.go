package catalog

import (
	"strings"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
)

// Stored code: a view's query, a column's default, CHECK or generation
// expression, a domain's constraint or default, a policy, a rule, a
// trigger's WHEN condition and a materialized view's query keep the calls
// they hold, and an aggregate, an operator and a cast the functions they
// name; PostgreSQL runs them later, whenever the object is used: a SELECT
// of the view, an INSERT that takes the default, a REFRESH, a use of the
// aggregate. A
// function such code calls runs then, with no call written where it runs;
// so, like a trigger's function, it is judged where the object that calls
// it is created, and again where its body is replaced.

// StoredUse says who runs the calls a statement stores and when: who is
// "view public.v", when "on every read of it". ok is false for a
// statement that stores no expression for later.
type StoredUse struct {
	Who, When string
}

// StoredUseOf returns the StoredUse of a statement, and whether it stores
// expressions that run later.
func StoredUseOf(stmt *pg_query.Node) (StoredUse, bool) {
	switch n := stmt.GetNode().(type) {
	case *pg_query.Node_ViewStmt:
		return StoredUse{"view " + rangeVarText(n.ViewStmt.GetView()), "on every read of it"}, true
	case *pg_query.Node_CreateStmt:
		return StoredUse{"table " + rangeVarText(n.CreateStmt.GetRelation()), "in a default, CHECK or generated column, on every row written"}, true
	case *pg_query.Node_AlterTableStmt:
		return StoredUse{"table " + rangeVarText(n.AlterTableStmt.GetRelation()), "in a default, CHECK or generated column, on every row written"}, true
	case *pg_query.Node_CreateDomainStmt:
		return StoredUse{"domain " + nameText(n.CreateDomainStmt.GetDomainname()), "on every value of it checked or defaulted"}, true
	case *pg_query.Node_AlterDomainStmt:
		return StoredUse{"domain " + nameText(n.AlterDomainStmt.GetTypeName()), "on every value of it checked or defaulted"}, true
	case *pg_query.Node_CreatePolicyStmt:
		return StoredUse{"policy " + QuoteIdent(n.CreatePolicyStmt.GetPolicyName()) + " on " + rangeVarText(n.CreatePolicyStmt.GetTable()),
			"on every row it checks"}, true
	case *pg_query.Node_AlterPolicyStmt:
		return StoredUse{"policy " + QuoteIdent(n.AlterPolicyStmt.GetPolicyName()) + " on " + rangeVarText(n.AlterPolicyStmt.GetTable()),
			"on every row it checks"}, true
	case *pg_query.Node_RuleStmt:
		return StoredUse{"rule " + QuoteIdent(n.RuleStmt.GetRulename()) + " on " + rangeVarText(n.RuleStmt.GetRelation()),
			"on every " + strings.TrimPrefix(n.RuleStmt.GetEvent().String(), "CMD_") + " on it"}, true
	case *pg_query.Node_CreateTrigStmt:
		if n.CreateTrigStmt.GetWhenClause() == nil {
			return StoredUse{}, false
		}
		return StoredUse{"trigger " + QuoteIdent(n.CreateTrigStmt.GetTrigname()) + " on " + rangeVarText(n.CreateTrigStmt.GetRelation()),
			"in its WHEN condition, on every change it fires on"}, true
	case *pg_query.Node_DefineStmt:
		switch n.DefineStmt.GetKind() {
		case pg_query.ObjectType_OBJECT_AGGREGATE:
			return StoredUse{"aggregate " + nameText(n.DefineStmt.GetDefnames()), "on every use of the aggregate"}, true
		case pg_query.ObjectType_OBJECT_OPERATOR:
			return StoredUse{"operator " + strings.Join(pgtree.Names(n.DefineStmt.GetDefnames()), "."), "on every use of the operator (its estimators while a query using it is planned)"}, true
		}
		return StoredUse{}, false
	case *pg_query.Node_CreateCastStmt:
		return StoredUse{"cast (" + nameText(n.CreateCastStmt.GetSourcetype().GetNames()) + " AS " + nameText(n.CreateCastStmt.GetTargettype().GetNames()) + ")",
			"on every value cast that way"}, true
	case *pg_query.Node_CreateTableAsStmt:
		if n.CreateTableAsStmt.GetObjtype() != pg_query.ObjectType_OBJECT_MATVIEW {
			return StoredUse{}, false
		}
		return StoredUse{"materialized view " + rangeVarText(n.CreateTableAsStmt.GetInto().GetRel()), "on every REFRESH of it"}, true
	}
	return StoredUse{}, false
}

// StoredCalls lists the calls of migration-created functions in what a
// statement stores for later (see StoredUseOf), one per overload.
func (c *Catalog) StoredCalls(stmt *pg_query.Node) []Call {
	if c.functions.Len() == 0 {
		return nil
	}
	if _, ok := StoredUseOf(stmt); !ok {
		return nil
	}
	var out []Call
	for _, ref := range functionRefs(stmt) {
		for _, f := range c.FunctionsByName(ref.names) {
			out = append(out, Call{Function: f, Location: ref.location})
		}
	}
	pgtree.Walk(stmt, func(n *pg_query.Node) bool {
		if fc := n.GetFuncCall(); fc != nil {
			for _, f := range c.FunctionsByName(pgtree.Names(fc.GetFuncname())) {
				out = append(out, Call{Function: f, Location: fc.GetLocation()})
			}
		}
		return true
	})
	return out
}

// installStored remembers the functions stored code calls: replacing the
// body of one later changes what runs whenever the object is used.
func (c *Catalog) installStored(stmt *pg_query.Node) {
	use, ok := StoredUseOf(stmt)
	if !ok {
		return
	}
	for _, call := range c.StoredCalls(stmt) {
		q := qname{call.Function.Schema, call.Function.Name}
		if _, known := c.storedFuncs.Lookup(q); !known {
			c.storedFuncs.Set(c.owner, q, use)
		}
	}
}

// RunsStored says who already runs the function of this name from stored
// code (StoredUseOf), or from a trigger, directly or through the functions
// its code calls: through names the functions in between, "" when the
// function is called directly. ok is false when nothing installed runs it.
// Like triggers, stored calls are never forgotten here (a dropped view
// leaves its functions judged as stored code's), which is the careful side.
func (c *Catalog) RunsStored(parts []string) (use StoredUse, through string, ok bool) {
	if len(parts) == 0 {
		return StoredUse{}, "", false
	}
	target := qname{c.creationSchema(), parts[len(parts)-1]}
	if len(parts) > 1 {
		target = qname{parts[len(parts)-2], parts[len(parts)-1]}
	}
	if u, found := c.storedFuncs.Lookup(target); found {
		return u, "", true
	}
	// Breadth first from every function installed code runs, through the
	// calls its body holds, so that the nearest caller is named. A step
	// records the step it was reached from and the function whose body
	// called it, not the path as text: only the step that answers has
	// its path written out (throughText).
	//
	// A name is queued once, at its first step: the queue is read in the
	// order it was written, so that first step is also the first read,
	// the one that answers for the name (a search that queued every step
	// and skipped the names already read gave the same answers).
	n := c.storedFuncs.Len() + c.triggerFuncs.Len()
	steps := make([]runsStep, 0, 2*n)
	roots := make([]StoredUse, 0, n)
	queued := make(map[qname]struct{}, 2*n)
	for q, u := range c.storedFuncs.All() {
		steps = append(steps, runsStep{q: q, root: int32(len(roots)), from: -1})
		roots = append(roots, u)
		queued[q] = struct{}{}
	}
	for q, on := range c.triggerFuncs.All() {
		if _, done := queued[q]; on && !done {
			steps = append(steps, runsStep{q: q, root: int32(len(roots)), from: -1})
			roots = append(roots, StoredUse{"a trigger", "on every change it fires on"})
			queued[q] = struct{}{}
		}
	}
	creation := ""
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		if s.q == target && s.from >= 0 {
			return roots[s.root], throughText(steps, i), true
		}
		for _, f := range c.functions.Get(s.q) {
			if f.Body == nil {
				continue
			}
			for _, parts := range c.calls.of(f.Body) {
				called := c.FunctionsByName(parts)
				for _, g := range called {
					if q := (qname{g.Schema, g.Name}); !has(queued, q) {
						steps = append(steps, runsStep{q: q, root: s.root, from: int32(i), by: f})
						queued[q] = struct{}{}
					}
				}
				if len(parts) > 0 && len(called) == 0 {
					// Not created yet: the name the body calls is what a
					// later CREATE gives its code.
					if creation == "" {
						creation = c.creationSchema()
					}
					q := qname{creation, parts[len(parts)-1]}
					if len(parts) > 1 {
						q = qname{parts[len(parts)-2], parts[len(parts)-1]}
					}
					if !has(queued, q) {
						steps = append(steps, runsStep{q: q, root: s.root, from: int32(i), by: f})
						queued[q] = struct{}{}
					}
				}
			}
		}
	}
	return StoredUse{}, "", false
}

// runsStep is one step of RunsStored's search: the function reached (q),
// the installed code it started from (an index into the roots), the step
// it was reached from (-1 for a root) and the function whose body called
// it (nil for a root).
type runsStep struct {
	q    qname
	root int32
	from int32
	by   *Function
}

func has(set map[qname]struct{}, q qname) bool {
	_, ok := set[q]
	return ok
}

// throughText names the functions in between a root and step i: the
// function whose body each step on the way was called from, nearest the
// root first, as "a(), b()"; "" for a root.
func throughText(steps []runsStep, i int) string {
	var chain []*Function
	for j := i; steps[j].from >= 0; j = int(steps[j].from) {
		chain = append(chain, steps[j].by)
	}
	var b strings.Builder
	for j := len(chain) - 1; j >= 0; j-- {
		if j < len(chain)-1 {
			b.WriteString(", ")
		}
		b.WriteString(chain[j].QualifiedName())
		b.WriteString("()")
	}
	return b.String()
}

func rangeVarText(rv *pg_query.RangeVar) string {
	if rv == nil {
		return "?"
	}
	return qualify(rv.GetSchemaname(), rv.GetRelname())
}

func nameText(names []*pg_query.Node) string {
	parts := pgtree.Names(names)
	for i, p := range parts {
		parts[i] = QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// definedFunctionArgs are the options of CREATE AGGREGATE and CREATE
// OPERATOR that name a function PostgreSQL runs when the aggregate or the
// operator is used (an operator's restrict and join estimators run while a
// query using it is planned).
var definedFunctionArgs = map[string]bool{
	"sfunc": true, "finalfunc": true, "combinefunc": true, "serialfunc": true, "deserialfunc": true,
	"msfunc": true, "minvfunc": true, "mfinalfunc": true,
	"function": true, "procedure": true, "restrict": true, "join": true,
}

type functionRef struct {
	names    []string
	location int32
}

// functionRefs lists the functions a statement names, not as a call, for
// PostgreSQL to run later: an aggregate's or operator's functions, a cast's.
func functionRefs(stmt *pg_query.Node) []functionRef {
	var out []functionRef
	if ds := stmt.GetDefineStmt(); ds != nil {
		for _, d := range ds.GetDefinition() {
			de := d.GetDefElem()
			if de == nil || !definedFunctionArgs[strings.ToLower(de.GetDefname())] {
				continue
			}
			switch {
			case de.GetArg().GetTypeName() != nil:
				tn := de.GetArg().GetTypeName()
				out = append(out, functionRef{pgtree.Names(tn.GetNames()), tn.GetLocation()})
			case de.GetArg().GetString_() != nil:
				out = append(out, functionRef{[]string{de.GetArg().GetString_().GetSval()}, de.GetLocation()})
			case de.GetArg().GetList() != nil:
				out = append(out, functionRef{pgtree.Names(de.GetArg().GetList().GetItems()), de.GetLocation()})
			}
		}
	}
	if cs := stmt.GetCreateCastStmt(); cs != nil && cs.GetFunc() != nil {
		out = append(out, functionRef{pgtree.Names(cs.GetFunc().GetObjname()), -1})
	}
	return out
}

// bodyCalls keeps, for a catalog and its copies, the names of the
// functions each body calls (plpgsql.Body.CalledNames): RunsStored asks
// them of every function installed code reaches, at every new function
// judged, and a body's statements never change once read. Safe for
// concurrent use; a nil *bodyCalls keeps nothing.
type bodyCalls struct {
	mu     sync.Mutex
	byBody map[*plpgsql.Body][][]string
}

func newBodyCalls() *bodyCalls { return &bodyCalls{byBody: map[*plpgsql.Body][][]string{}} }

// of returns the names of the functions b calls.
func (k *bodyCalls) of(b *plpgsql.Body) [][]string {
	if k == nil {
		return b.CalledNames()
	}
	k.mu.Lock()
	names, ok := k.byBody[b]
	k.mu.Unlock()
	if ok {
		return names
	}
	names = b.CalledNames()
	k.mu.Lock()
	k.byBody[b] = names
	k.mu.Unlock()
	return names
}
