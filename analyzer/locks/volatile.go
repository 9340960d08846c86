package locks

import (
	"strings"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// builtinVolatility is pg_proc.provolatile of pg_catalog functions that
// show up in defaults and generated columns, taking the most volatile of a
// name's overloads ('i' immutable, 's' stable, 'v' volatile). It was read
// from a PostgreSQL 15 server, and TestVolatilityMatchesServer checks it
// against the live server's pg_proc. Names not listed count as volatile.
var builtinVolatility = sync.OnceValue(func() map[string]byte {
	return map[string]byte{
		// volatile: a new value per row
		"random": 'v', "gen_random_uuid": 'v', "clock_timestamp": 'v', "timeofday": 'v',
		"nextval": 'v', "setval": 'v', "currval": 'v', "lastval": 'v', "pg_sleep": 'v',

		// stable: one value per statement
		"now": 's', "statement_timestamp": 's', "transaction_timestamp": 's',
		"current_setting": 's', "current_database": 's', "current_schema": 's', "version": 's',
		"to_char": 's', "to_date": 's', "to_number": 's', "to_json": 's', "to_jsonb": 's',
		"concat": 's', "concat_ws": 's', "format": 's', "convert_from": 's', "convert_to": 's',
		"json_build_object": 's', "jsonb_build_object": 's', "json_build_array": 's',
		"jsonb_build_array": 's', "row_to_json": 's', "array_to_json": 's', "array_to_string": 's',
		"make_timestamptz": 's', "pg_backend_pid": 's', "inet_client_addr": 's',
		"inet_server_addr": 's', "txid_current": 's', "pg_current_xact_id": 's',
		"age": 's', "date": 's', "date_part": 's', "date_trunc": 's', "extract": 's',
		"length": 's', "numeric": 's', "quote_literal": 's', "timestamp": 's',
		"timestamptz": 's', "timezone": 's', "to_timestamp": 's', "to_tsvector": 's',

		// immutable
		"abs": 'i', "array_append": 'i', "array_cat": 'i', "array_fill": 'i', "array_length": 'i',
		"array_prepend": 'i', "ascii": 'i', "bool": 'i', "btrim": 'i', "cardinality": 'i',
		"ceil": 'i', "ceiling": 'i', "char_length": 'i', "chr": 'i', "daterange": 'i',
		"decode": 'i', "div": 'i', "encode": 'i', "exp": 'i', "float4": 'i', "float8": 'i',
		"floor": 'i', "initcap": 'i', "int2": 'i', "int4": 'i', "int4range": 'i', "int8": 'i',
		"int8range": 'i', "interval": 'i', "json_object": 'i', "jsonb_object": 'i',
		"jsonb_set": 'i', "jsonb_strip_nulls": 'i', "json_strip_nulls": 'i', "justify_days": 'i',
		"justify_hours": 'i', "justify_interval": 'i', "left": 'i', "ln": 'i', "log": 'i',
		"lower": 'i', "lpad": 'i', "ltrim": 'i', "make_date": 'i', "make_interval": 'i',
		"make_time": 'i', "make_timestamp": 'i', "md5": 'i', "mod": 'i', "normalize": 'i',
		"numrange": 'i', "octet_length": 'i', "overlay": 'i', "pi": 'i', "position": 'i',
		"power": 'i', "quote_ident": 'i', "regexp_replace": 'i', "repeat": 'i', "replace": 'i',
		"reverse": 'i', "right": 'i', "round": 'i', "rpad": 'i', "rtrim": 'i', "sha224": 'i',
		"sha256": 'i', "sha384": 'i', "sha512": 'i', "sign": 'i', "split_part": 'i', "sqrt": 'i',
		"starts_with": 'i', "string_to_array": 'i', "strpos": 'i', "substr": 'i',
		"substring": 'i', "text": 'i', "to_hex": 'i', "translate": 'i', "trunc": 'i',
		"tsrange": 'i', "tstzrange": 'i', "upper": 'i',
	}
})

// extensionVolatility covers extension functions common in defaults. They
// live in whatever schema the extension was installed into, so they are
// matched by name alone.
var extensionVolatility = map[string]byte{
	"uuid_generate_v1": 'v', "uuid_generate_v1mc": 'v', "uuid_generate_v4": 'v',
	"gen_random_bytes": 'v', "gen_salt": 'v',
	"uuid_generate_v3": 'i', "uuid_generate_v5": 'i', "uuid_nil": 'i',
	"uuid_ns_dns": 'i', "uuid_ns_url": 'i', "uuid_ns_oid": 'i', "uuid_ns_x500": 'i',
}

// funcVolatility classifies a call by its (possibly qualified) name.
func funcVolatility(names []*pg_query.Node) byte {
	schema, name := splitNames(names)
	if v, ok := extensionVolatility[name]; ok {
		return v
	}
	if schema != "" && schema != "pg_catalog" {
		return 'v'
	}
	if v, ok := builtinVolatility()[name]; ok {
		return v
	}
	return 'v'
}

// Volatile reports whether an expression (a column default or generated
// expression) may give a different value per row, which forces a table
// rewrite when a column with it is added. Calls to functions it does not
// know, including user functions, count as volatile. now(),
// CURRENT_TIMESTAMP and the like are STABLE: evaluated once per statement.
// Operators and casts are taken as non-volatile: the built-in ones are, and
// type input functions are at most stable.
func Volatile(expr *pg_query.Node) bool {
	return volatility(expr) == 'v'
}

// Stable reports whether the expression is stable but not immutable
// (now(), CURRENT_USER): evaluated once by ADD COLUMN, so every existing
// row gets the value it had when the migration ran, while each new row
// gets its own.
func Stable(expr *pg_query.Node) bool { return volatility(expr) == 's' }

func volatility(expr *pg_query.Node) byte {
	v := byte('i')
	pgtree.Walk(expr, func(n *pg_query.Node) bool {
		switch x := n.GetNode().(type) {
		case *pg_query.Node_FuncCall:
			fv := funcVolatility(x.FuncCall.GetFuncname())
			if fv == 'v' || (fv == 's' && v == 'i') {
				v = fv
			}
		case *pg_query.Node_SqlvalueFunction:
			// CURRENT_TIMESTAMP, CURRENT_DATE, LOCALTIME, CURRENT_USER...
			if v == 'i' {
				v = 's'
			}
		case *pg_query.Node_SubLink:
			// Not allowed in a default; a query is not something to vouch for.
			v = 'v'
		case *pg_query.Node_AExpr:
			if op := x.AExpr; op != nil && len(op.GetName()) > 1 {
				// OPERATOR(schema.op): a user operator may call anything.
				if s, _ := splitNames(op.GetName()); s != "pg_catalog" {
					v = 'v'
				}
			}
		}
		return v != 'v'
	})
	return v
}

// usesFunc reports whether the expression calls the named function.
func usesFunc(expr *pg_query.Node, name string) bool {
	found := false
	pgtree.Walk(expr, func(n *pg_query.Node) bool {
		if fc := n.GetFuncCall(); fc != nil {
			if _, fn := splitNames(fc.GetFuncname()); fn == name {
				found = true
			}
		}
		return !found
	})
	return found
}

// deparse prints an expression for notes, falling back to a placeholder
// when the deparser cannot handle it.
func deparse(expr *pg_query.Node) string {
	res := &pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{
		SelectStmt: &pg_query.SelectStmt{TargetList: []*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: expr}}}}},
	}}}}}
	s, err := pgtree.Deparse(res)
	if err != nil {
		return "(expression)"
	}
	return strings.TrimPrefix(s, "SELECT ")
}
