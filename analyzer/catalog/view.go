package catalog

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

func (c *Catalog) createView(v *pg_query.ViewStmt) {
	rv := v.GetView()
	if rv == nil || rv.GetRelpersistence() == "t" {
		return
	}
	schema := rv.GetSchemaname()
	if schema == "" {
		schema = c.creationSchema()
	}
	existing := c.tables.Get(qname{schema, rv.GetRelname()})
	if existing != nil && (!v.GetReplace() || existing.Kind != KindView) {
		return
	}
	if existing == nil && (c.relationNameTaken(schema, rv.GetRelname()) || c.typeNameTaken(schema, rv.GetRelname())) {
		return
	}
	t := c.editTable(existing)
	if t == nil {
		t = &Table{Schema: schema, Name: rv.GetRelname(), Kind: KindView, Origin: c.origin(), owner: c.owner}
	}
	c.fillFromQuery(t, v.GetQuery(), pgtree.Names(v.GetAliases()))
	c.ensureSchema(schema)
	c.putTable(t)
}

func (c *Catalog) createTableAs(s *pg_query.CreateTableAsStmt) {
	into := s.GetInto()
	rv := into.GetRel()
	if rv == nil || rv.GetRelpersistence() == "t" {
		return
	}
	schema := rv.GetSchemaname()
	if schema == "" {
		schema = c.creationSchema()
	}
	if c.relationNameTaken(schema, rv.GetRelname()) || c.typeNameTaken(schema, rv.GetRelname()) {
		return
	}
	t := &Table{Schema: schema, Name: rv.GetRelname(), Kind: KindTable, Unlogged: rv.GetRelpersistence() == "u", Origin: c.origin(), owner: c.owner}
	if s.GetObjtype() == pg_query.ObjectType_OBJECT_MATVIEW {
		t.Kind = KindMaterializedView
	}
	c.fillFromQuery(t, s.GetQuery(), pgtree.Names(into.GetColNames()))
	if t.Kind == KindTable {
		// A table made from a query keeps no link to its sources.
		t.Query, t.Definition, t.DependsOn = nil, "", nil
	}
	c.ensureSchema(schema)
	c.putTable(t)
}

// queryScope is what the FROM clauses of a query make visible.
type queryScope struct {
	byAlias map[string]*Table
	tables  []*Table
	opaque  map[string]bool
	partial bool
}

// fillFromQuery records a view's (or CREATE TABLE AS's) query, what it reads,
// and the output columns as far as their names and types can be worked out.
func (c *Catalog) fillFromQuery(t *Table, q *pg_query.Node, aliases []string) {
	t.Query = q
	t.Definition = deparseStmt(q)
	sc := c.scopeOf(q)
	t.DependsOn = c.queryDependencies(q, sc)
	cols, complete := c.outputColumns(q, sc)
	for i, a := range aliases {
		if i < len(cols) {
			cols[i].Name = a
		}
	}
	for _, col := range cols {
		col.Origin = c.origin()
	}
	t.Columns = cols
	t.ColumnsUnknown = !complete
}

func (c *Catalog) scopeOf(q *pg_query.Node) *queryScope {
	sc := &queryScope{byAlias: map[string]*Table{}, opaque: map[string]bool{}}
	ctes := map[string]bool{}
	pgtree.Walk(q, func(n *pg_query.Node) bool {
		if cte := n.GetCommonTableExpr(); cte != nil {
			ctes[cte.GetCtename()] = true
		}
		return true
	})
	pgtree.Walk(q, func(n *pg_query.Node) bool {
		switch {
		case n.GetRangeVar() != nil:
			rv := n.GetRangeVar()
			alias := rv.GetAlias().GetAliasname()
			if alias == "" {
				alias = rv.GetRelname()
			}
			if rv.GetSchemaname() == "" && ctes[rv.GetRelname()] {
				sc.opaque[alias] = true
				sc.partial = true
				return false
			}
			tbl := c.Relation(rv)
			if tbl == nil {
				sc.opaque[alias] = true
				sc.partial = true
				return false
			}
			if _, ok := sc.byAlias[alias]; !ok {
				sc.byAlias[alias] = tbl
			}
			for _, x := range sc.tables {
				if x == tbl {
					return false
				}
			}
			sc.tables = append(sc.tables, tbl)
			return false
		case n.GetRangeSubselect() != nil:
			sc.opaque[n.GetRangeSubselect().GetAlias().GetAliasname()] = true
			sc.partial = true
		case n.GetRangeFunction() != nil:
			sc.opaque[n.GetRangeFunction().GetAlias().GetAliasname()] = true
			sc.partial = true
		}
		return true
	})
	return sc
}

func (c *Catalog) queryDependencies(q *pg_query.Node, sc *queryScope) []ObjectRef {
	var deps []ObjectRef
	seen := map[ObjectRef]bool{}
	addDep := func(r ObjectRef) {
		if !seen[r] {
			seen[r] = true
			deps = append(deps, r)
		}
	}
	for _, tbl := range sc.tables {
		addDep(tableRef(tbl))
	}
	addCol := func(tbl *Table, col string) {
		if tbl.Column(col) != nil {
			addDep(ObjectRef{Kind: "column", Schema: tbl.Schema, Table: tbl.Name, Name: col})
		}
	}
	pgtree.Walk(q, func(n *pg_query.Node) bool {
		cr := n.GetColumnRef()
		if cr == nil {
			return true
		}
		f := cr.GetFields()
		star := len(f) > 0 && f[len(f)-1].GetAStar() != nil
		var names []string
		for _, x := range f {
			if s := x.GetString_(); s != nil {
				names = append(names, s.GetSval())
			}
		}
		switch {
		case star && len(names) == 0:
			for _, tbl := range sc.tables {
				for _, col := range tbl.Columns {
					addCol(tbl, col.Name)
				}
			}
		case star:
			if tbl := sc.byAlias[names[len(names)-1]]; tbl != nil {
				for _, col := range tbl.Columns {
					addCol(tbl, col.Name)
				}
			}
		case len(names) == 1:
			// An unqualified name may belong to any table in scope; taking
			// every candidate errs on the side of reporting a dependency.
			for _, tbl := range sc.tables {
				addCol(tbl, names[0])
			}
		case len(names) >= 2:
			if tbl := sc.byAlias[names[len(names)-2]]; tbl != nil {
				addCol(tbl, names[len(names)-1])
			}
		}
		return false
	})
	return deps
}

// outputColumns derives the select list of q. complete is false when any
// column's name or type could not be derived.
func (c *Catalog) outputColumns(q *pg_query.Node, sc *queryScope) ([]*Column, bool) {
	sel := q.GetSelectStmt()
	complete := true
	for sel != nil && sel.GetOp() != pg_query.SetOperation_SETOP_NONE && sel.GetOp() != pg_query.SetOperation_SET_OPERATION_UNDEFINED {
		// Set operations resolve a common type across branches; only the
		// names come from the first branch.
		complete = false
		sel = sel.GetLarg()
	}
	if sel == nil {
		return nil, false
	}
	if len(sel.GetValuesLists()) > 0 {
		return nil, false
	}
	var cols []*Column
	for _, tn := range sel.GetTargetList() {
		rt := tn.GetResTarget()
		val := rt.GetVal()
		if cr := val.GetColumnRef(); cr != nil {
			f := cr.GetFields()
			if len(f) > 0 && f[len(f)-1].GetAStar() != nil {
				exp, ok := c.expandStar(sel, f)
				if !ok {
					return cols, false
				}
				cols = append(cols, exp...)
				continue
			}
		}
		name := rt.GetName()
		if name == "" {
			if n, strength := figureColname(val); strength > 0 {
				name = n
			} else {
				name = "?column?"
			}
		}
		typ := c.exprType(val, sc)
		if !typ.Known() {
			complete = false
		}
		cols = append(cols, &Column{Name: name, Type: typ})
	}
	return cols, complete
}

// expandStar expands * or alias.* over the top-level FROM list.
func (c *Catalog) expandStar(sel *pg_query.SelectStmt, fields []*pg_query.Node) ([]*Column, bool) {
	qualifier := ""
	if len(fields) >= 2 {
		qualifier = fields[len(fields)-2].GetString_().GetSval()
	}
	var out []*Column
	var visit func(n *pg_query.Node) bool
	visit = func(n *pg_query.Node) bool {
		switch {
		case n.GetRangeVar() != nil:
			rv := n.GetRangeVar()
			alias := rv.GetAlias().GetAliasname()
			if alias == "" {
				alias = rv.GetRelname()
			}
			if qualifier != "" && alias != qualifier {
				return true
			}
			tbl := c.Relation(rv)
			if tbl == nil || tbl.ColumnsUnknown {
				return false
			}
			for _, col := range tbl.Columns {
				out = append(out, &Column{Name: col.Name, Type: col.Type.clone(), Collation: col.Collation})
			}
			return true
		case n.GetJoinExpr() != nil:
			j := n.GetJoinExpr()
			if qualifier == "" && (len(j.GetUsingClause()) > 0 || j.GetIsNatural()) {
				// USING/NATURAL merge columns; not worth modelling.
				return false
			}
			return visit(j.GetLarg()) && visit(j.GetRarg())
		}
		return false
	}
	for _, f := range sel.GetFromClause() {
		if !visit(f) {
			return nil, false
		}
	}
	if qualifier != "" && len(out) == 0 {
		return nil, false
	}
	return out, true
}

// exprType is the type of a select-list expression when it is evident
// without PostgreSQL's type resolution: a column, a cast, or a literal.
func (c *Catalog) exprType(n *pg_query.Node, sc *queryScope) Type {
	switch v := n.GetNode().(type) {
	case *pg_query.Node_ColumnRef:
		names := pgtree.Names(v.ColumnRef.GetFields())
		if len(names) != len(v.ColumnRef.GetFields()) || len(names) == 0 {
			return Type{}
		}
		col := names[len(names)-1]
		var found *Column
		if len(names) >= 2 {
			if sc.opaque[names[len(names)-2]] {
				return Type{}
			}
			if tbl := sc.byAlias[names[len(names)-2]]; tbl != nil {
				found = tbl.Column(col)
			}
		} else {
			if sc.partial {
				return Type{}
			}
			for _, tbl := range sc.tables {
				if cc := tbl.Column(col); cc != nil {
					if found != nil {
						return Type{}
					}
					found = cc
				}
			}
		}
		if found != nil {
			return found.Type.clone()
		}
	case *pg_query.Node_TypeCast:
		t := c.resolveType(TypeFromNode(v.TypeCast.GetTypeName()))
		if _, serial := serialTypes[t.Name]; !serial {
			return t
		}
	case *pg_query.Node_AConst:
		k := v.AConst
		switch {
		case k.GetIval() != nil:
			return Type{Schema: "pg_catalog", Name: "int4"}
		case k.GetSval() != nil:
			// Since PostgreSQL 10 an untyped literal in a view becomes text.
			return Type{Schema: "pg_catalog", Name: "text"}
		case k.GetBoolval() != nil:
			return Type{Schema: "pg_catalog", Name: "bool"}
		}
	}
	return Type{}
}
