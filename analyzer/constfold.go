package analyzer

import (
	"math/big"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// truth is the value of a condition that does not depend on any row, in
// SQL's three-valued logic; unknownTruth when it depends on something.
type truth int

const (
	unknownTruth truth = iota
	isTrue
	isFalse
	isNull
)

// constant is the value of a constant expression.
type constant struct {
	kind byte // 'n' number, 's' string, 'b' boolean, '0' null
	num  *big.Rat
	// integer is set for an integer-typed number: a string literal read
	// as one must then be an integer, or PostgreSQL raises an error.
	integer bool
	str     string
	b       bool
}

// conditionTruth evaluates a WHERE condition made of literals only (WHERE
// true, 1 = 1, NOT false, 'a' <> 'b'), from the parse tree.
func conditionTruth(n *pg_query.Node) truth {
	v, ok := constValue(n, 0)
	if !ok {
		return unknownTruth
	}
	switch v.kind {
	case '0':
		return isNull
	case 'b':
		if v.b {
			return isTrue
		}
		return isFalse
	}
	return unknownTruth
}

func boolConst(b bool) constant { return constant{kind: 'b', b: b} }

var nullConst = constant{kind: '0'}

// constValue folds a constant expression; ok is false when it depends on
// anything but literals, or uses an operator not modelled here.
func constValue(n *pg_query.Node, depth int) (constant, bool) {
	if n == nil || depth > 64 {
		return constant{}, false
	}
	depth++
	switch x := n.Node.(type) {
	case *pg_query.Node_AConst:
		c := x.AConst
		switch {
		case c.GetIsnull():
			return nullConst, true
		case c.GetBoolval() != nil:
			return boolConst(c.GetBoolval().GetBoolval()), true
		case c.GetIval() != nil:
			return constant{kind: 'n', num: new(big.Rat).SetInt64(int64(c.GetIval().GetIval())), integer: true}, true
		case c.GetFval() != nil:
			r, ok := parseNumber(c.GetFval().GetFval())
			return constant{kind: 'n', num: r}, ok
		case c.GetSval() != nil:
			return constant{kind: 's', str: c.GetSval().GetSval()}, true
		}
	case *pg_query.Node_TypeCast:
		v, ok := constValue(x.TypeCast.GetArg(), depth)
		if !ok {
			return v, false
		}
		return castConst(v, x.TypeCast.GetTypeName())
	case *pg_query.Node_BoolExpr:
		return boolExprValue(x.BoolExpr, depth)
	case *pg_query.Node_NullTest:
		v, ok := constValue(x.NullTest.GetArg(), depth)
		if !ok {
			return v, false
		}
		isNullValue := v.kind == '0'
		if x.NullTest.GetNulltesttype() == pg_query.NullTestType_IS_NOT_NULL {
			return boolConst(!isNullValue), true
		}
		return boolConst(isNullValue), true
	case *pg_query.Node_BooleanTest:
		v, ok := constValue(x.BooleanTest.GetArg(), depth)
		if !ok || (v.kind != 'b' && v.kind != '0') {
			return constant{}, false
		}
		t, f := v.kind == 'b' && v.b, v.kind == 'b' && !v.b
		switch x.BooleanTest.GetBooltesttype() {
		case pg_query.BoolTestType_IS_TRUE:
			return boolConst(t), true
		case pg_query.BoolTestType_IS_NOT_TRUE:
			return boolConst(!t), true
		case pg_query.BoolTestType_IS_FALSE:
			return boolConst(f), true
		case pg_query.BoolTestType_IS_NOT_FALSE:
			return boolConst(!f), true
		case pg_query.BoolTestType_IS_UNKNOWN:
			return boolConst(v.kind == '0'), true
		case pg_query.BoolTestType_IS_NOT_UNKNOWN:
			return boolConst(v.kind != '0'), true
		}
	case *pg_query.Node_AExpr:
		return aExprValue(x.AExpr, depth)
	}
	return constant{}, false
}

func boolExprValue(e *pg_query.BoolExpr, depth int) (constant, bool) {
	var vals []constant
	unknown := false
	for _, a := range e.GetArgs() {
		v, ok := constValue(a, depth)
		if !ok || (v.kind != 'b' && v.kind != '0') {
			// x OR true is true, x AND false is false, whatever x is.
			unknown = true
			continue
		}
		vals = append(vals, v)
	}
	if unknown {
		for _, v := range vals {
			if v.kind == 'b' && v.b == (e.GetBoolop() == pg_query.BoolExprType_OR_EXPR) && e.GetBoolop() != pg_query.BoolExprType_NOT_EXPR {
				return v, true
			}
		}
		return constant{}, false
	}
	switch e.GetBoolop() {
	case pg_query.BoolExprType_NOT_EXPR:
		if len(vals) != 1 {
			return constant{}, false
		}
		if vals[0].kind == '0' {
			return nullConst, true
		}
		return boolConst(!vals[0].b), true
	case pg_query.BoolExprType_AND_EXPR:
		sawNull := false
		for _, v := range vals {
			if v.kind == 'b' && !v.b {
				return boolConst(false), true
			}
			sawNull = sawNull || v.kind == '0'
		}
		if sawNull {
			return nullConst, true
		}
		return boolConst(true), true
	case pg_query.BoolExprType_OR_EXPR:
		sawNull := false
		for _, v := range vals {
			if v.kind == 'b' && v.b {
				return boolConst(true), true
			}
			sawNull = sawNull || v.kind == '0'
		}
		if sawNull {
			return nullConst, true
		}
		return boolConst(false), true
	}
	return constant{}, false
}

func aExprValue(e *pg_query.A_Expr, depth int) (constant, bool) {
	if len(e.GetName()) != 1 {
		return constant{}, false
	}
	op := e.GetName()[0].GetString_().GetSval()
	switch e.GetKind() {
	case pg_query.A_Expr_Kind_AEXPR_OP:
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		l, okl := constValue(e.GetLexpr(), depth)
		r, okr := constValue(e.GetRexpr(), depth)
		if !okl || !okr {
			return constant{}, false
		}
		var same bool
		switch {
		case l.kind == '0' || r.kind == '0':
			same = l.kind == r.kind
		default:
			c, ok := compareConst(l, r)
			if !ok {
				return constant{}, false
			}
			same = c == 0
		}
		return boolConst(same == (e.GetKind() == pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT)), true
	case pg_query.A_Expr_Kind_AEXPR_IN:
		l, ok := constValue(e.GetLexpr(), depth)
		list := e.GetRexpr().GetList().GetItems()
		if !ok || list == nil {
			return constant{}, false
		}
		found, sawNull := false, l.kind == '0'
		for _, item := range list {
			v, ok := constValue(item, depth)
			if !ok {
				return constant{}, false
			}
			if v.kind == '0' || l.kind == '0' {
				sawNull = true
				continue
			}
			c, ok := compareConst(l, v)
			if !ok {
				return constant{}, false
			}
			found = found || c == 0
		}
		in := op == "="
		switch {
		case found:
			return boolConst(in), true
		case sawNull:
			return nullConst, true
		}
		return boolConst(!in), true
	default:
		return constant{}, false
	}
	if e.GetLexpr() == nil {
		// Prefix operators: -1, +1, NOT is a BoolExpr.
		r, ok := constValue(e.GetRexpr(), depth)
		if !ok || r.kind != 'n' {
			return constant{}, false
		}
		switch op {
		case "-":
			return constant{kind: 'n', num: new(big.Rat).Neg(r.num), integer: r.integer}, true
		case "+":
			return r, true
		}
		return constant{}, false
	}
	l, okl := constValue(e.GetLexpr(), depth)
	r, okr := constValue(e.GetRexpr(), depth)
	if !okl || !okr {
		return constant{}, false
	}
	if l.kind == '0' || r.kind == '0' {
		return nullConst, true // strict operators give NULL on NULL
	}
	switch op {
	case "+", "-", "*":
		if l.kind != 'n' || r.kind != 'n' {
			return constant{}, false
		}
		out := new(big.Rat)
		switch op {
		case "+":
			out.Add(l.num, r.num)
		case "-":
			out.Sub(l.num, r.num)
		case "*":
			out.Mul(l.num, r.num)
		}
		return constant{kind: 'n', num: out, integer: l.integer && r.integer}, true
	case "=", "<>", "!=", "<", ">", "<=", ">=":
		c, ok := compareConst(l, r)
		if !ok {
			return constant{}, false
		}
		if l.kind == 's' && op != "=" && op != "<>" && op != "!=" {
			return constant{}, false // string order depends on the collation
		}
		switch op {
		case "=":
			return boolConst(c == 0), true
		case "<>", "!=":
			return boolConst(c != 0), true
		case "<":
			return boolConst(c < 0), true
		case ">":
			return boolConst(c > 0), true
		case "<=":
			return boolConst(c <= 0), true
		case ">=":
			return boolConst(c >= 0), true
		}
	}
	return constant{}, false
}

// compareConst compares two non-null constants of one kind; a string
// literal compared with a number or boolean is read as one, as PostgreSQL
// reads an unknown-type literal.
func compareConst(l, r constant) (int, bool) {
	if l.kind == 's' && r.kind != 's' {
		v, ok := castTo(l, r.kind, r.integer)
		if !ok {
			return 0, false
		}
		l = v
	}
	if r.kind == 's' && l.kind != 's' {
		v, ok := castTo(r, l.kind, l.integer)
		if !ok {
			return 0, false
		}
		r = v
	}
	if l.kind != r.kind {
		return 0, false
	}
	switch l.kind {
	case 'n':
		return l.num.Cmp(r.num), true
	case 's':
		return strings.Compare(l.str, r.str), true
	case 'b':
		switch {
		case l.b == r.b:
			return 0, true
		case !l.b:
			return -1, true
		}
		return 1, true
	}
	return 0, false
}

func castConst(v constant, tn *pg_query.TypeName) (constant, bool) {
	if v.kind == '0' {
		return v, true
	}
	names := tn.GetNames()
	if len(names) == 0 || len(tn.GetArrayBounds()) > 0 {
		return constant{}, false
	}
	switch names[len(names)-1].GetString_().GetSval() {
	case "bool":
		return castTo(v, 'b', false)
	case "int2", "int4", "int8":
		if v.kind == 'n' && !v.integer {
			return constant{}, false // rounding is not modelled
		}
		return castTo(v, 'n', true)
	case "numeric":
		v, ok := castTo(v, 'n', false)
		v.integer = false
		return v, ok
	case "text", "varchar":
		if v.kind == 's' {
			return v, true
		}
	}
	return constant{}, false
}

func castTo(v constant, kind byte, integer bool) (constant, bool) {
	if v.kind == kind {
		return v, true
	}
	if v.kind != 's' {
		return constant{}, false
	}
	s := strings.ToLower(strings.TrimSpace(v.str))
	switch kind {
	case 'b':
		switch s {
		case "t", "true", "y", "yes", "on", "1":
			return boolConst(true), true
		case "f", "false", "n", "no", "off", "0":
			return boolConst(false), true
		}
	case 'n':
		if r, ok := parseNumber(s); ok && (!integer || r.IsInt() && !strings.ContainsAny(s, ".eE")) {
			return constant{kind: 'n', num: r, integer: integer}, true
		}
	}
	return constant{}, false
}

// parseNumber reads a decimal number as PostgreSQL writes numeric literals;
// fractions and huge exponents (which would take big.Rat forever) are not
// folded.
func parseNumber(s string) (*big.Rat, bool) {
	if len(s) > 100 || strings.ContainsAny(s, "/xXoObB_") {
		return nil, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp := strings.TrimLeft(s[i+1:], "+-")
		if len(exp) > 3 {
			return nil, false
		}
	}
	return new(big.Rat).SetString(s)
}
