package typechange

import (
	"strings"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

type opKind int

const (
	opCast   opKind = iota // explicit cast (x::T, CAST(x AS T))
	opCut                  // left(x, n), substr(x, 1, n), substring(x FROM 1 FOR n)
	opPad                  // rpad(x, n [, fill]): cut or padded to exactly n
	opRound                // round(x [, s])
	opTrunc                // trunc(x [, s])
	opAtZone               // x AT TIME ZONE 'zone'
	opKeep                 // a function that returns the value unchanged (substr(x, 1))
)

type op struct {
	kind opKind
	t    catalog.Type
	n    int64
	zone string
}

// parseUsing reduces a USING expression to the operations it applies to
// the altered column, innermost first. ok is false when the expression
// reads anything else or calls a function not modelled here.
func parseUsing(n *pg_query.Node, column string) (ops []op, ok bool) {
	if n == nil {
		return nil, false
	}
	if cr := n.GetColumnRef(); cr != nil {
		f := cr.GetFields()
		if len(f) == 0 || len(f) > 3 {
			return nil, false
		}
		name := f[len(f)-1].GetString_()
		if name == nil {
			return nil, false
		}
		// Without a column name the only column USING can sensibly read
		// is the one being altered; PostgreSQL rejects unknown names.
		if column != "" && name.GetSval() != column {
			return nil, false
		}
		return nil, true
	}
	if cc := n.GetCollateClause(); cc != nil {
		// The planner turns COLLATE into a RelabelType, which keeps the heap
		// (measured); the column's collation comes from the ALTER itself.
		return parseUsing(cc.GetArg(), column)
	}
	if tc := n.GetTypeCast(); tc != nil {
		inner, ok := parseUsing(tc.GetArg(), column)
		if !ok || tc.GetTypeName() == nil {
			return nil, false
		}
		return append(inner, op{kind: opCast, t: catalog.TypeFromNode(tc.GetTypeName())}), true
	}
	fc := n.GetFuncCall()
	if fc == nil || fc.GetAggStar() || fc.GetAggDistinct() || fc.GetOver() != nil || fc.GetFuncVariadic() ||
		len(fc.GetAggOrder()) > 0 || fc.GetAggFilter() != nil {
		return nil, false
	}
	name, ok := funcName(fc)
	if !ok {
		return nil, false
	}
	args := fc.GetArgs()
	if name == "timezone" {
		if len(args) != 2 {
			return nil, false
		}
		zone := args[0].GetAConst().GetSval()
		if zone == nil {
			return nil, false
		}
		inner, ok := parseUsing(args[1], column)
		if !ok {
			return nil, false
		}
		return append(inner, op{kind: opAtZone, zone: zone.GetSval()}), true
	}
	if len(args) == 0 {
		return nil, false
	}
	inner, ok := parseUsing(args[0], column)
	if !ok {
		return nil, false
	}
	nums := make([]int64, 0, len(args)-1)
	for _, a := range args[1:] {
		v, isInt := intConst(a)
		if !isInt {
			if name == "rpad" && len(nums) == 1 && a.GetAConst().GetSval() != nil {
				continue // the fill string does not change the length
			}
			return nil, false
		}
		nums = append(nums, v)
	}
	switch {
	case name == "left" && len(nums) == 1 && nums[0] > 0:
		return append(inner, op{kind: opCut, n: nums[0]}), true
	case (name == "substr" || name == "substring") && len(nums) == 2 && nums[0] == 1 && nums[1] >= 0:
		return append(inner, op{kind: opCut, n: nums[1]}), true
	case (name == "substr" || name == "substring") && len(nums) == 1 && nums[0] <= 1:
		return append(inner, op{kind: opKeep}), true
	case name == "rpad" && len(nums) == 1 && nums[0] >= 0:
		return append(inner, op{kind: opPad, n: nums[0]}), true
	case (name == "round" || name == "trunc") && len(nums) <= 1:
		k := opRound
		if name == "trunc" {
			k = opTrunc
		}
		o := op{kind: k, n: -1}
		if len(nums) == 1 {
			o.n = nums[0]
		}
		return append(inner, o), true
	}
	return nil, false
}

func funcName(fc *pg_query.FuncCall) (string, bool) {
	parts := fc.GetFuncname()
	if len(parts) == 0 || len(parts) > 2 {
		return "", false
	}
	var names []string
	for _, p := range parts {
		s := p.GetString_()
		if s == nil {
			return "", false
		}
		names = append(names, strings.ToLower(s.GetSval()))
	}
	if len(names) == 2 && names[0] != "pg_catalog" {
		return "", false
	}
	return names[len(names)-1], true
}

func intConst(n *pg_query.Node) (int64, bool) {
	c := n.GetAConst()
	if c == nil || c.GetIval() == nil {
		return 0, false
	}
	return int64(c.GetIval().GetIval()), true
}

// usingText renders the USING expression for the Reason.
func usingText(n *pg_query.Node) string {
	sel := &pg_query.SelectStmt{TargetList: []*pg_query.Node{
		{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: n}}},
	}}
	out, err := pgtree.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{
		{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sel}}},
	}})
	if err != nil {
		return "expression"
	}
	return strings.TrimPrefix(out, "SELECT ")
}
