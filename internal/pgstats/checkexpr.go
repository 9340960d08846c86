package pgstats

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkExpr is a CHECK expression taken from a migration, made safe to
// evaluate against production.
type checkExpr struct {
	// sql is the expression as PostgreSQL's deparser writes it back: one
	// expression, no comments, balanced parentheses, so it cannot close the
	// query it is placed in or add a statement to it.
	sql string
	// functions and operators are the names called, for the volatility
	// check, which needs the catalog.
	functions []qualifiedName
	operators []string
}

type qualifiedName struct{ schema, name string }

// parseCheckExpr accepts a single scalar expression: `SELECT (expr)` must
// parse to exactly one SELECT with one target and nothing else, and the
// expression must hold no subquery and no parameter. The expression comes
// from a migration in a pull request: the read-only transaction stops it
// from writing, this stops it from stacking statements or reading other
// tables.
func parseCheckExpr(expr string) (*checkExpr, error) {
	refuse := func(why string) error {
		return &Error{msg: "refusing to evaluate the CHECK expression: " + why}
	}
	if strings.TrimSpace(expr) == "" {
		return nil, refuse("it is empty")
	}
	// The newline ends a trailing -- comment, which a migration's CHECK may
	// well have, so that it cannot swallow the closing parenthesis.
	res, err := pg_query.Parse("SELECT (" + expr + "\n)")
	if err != nil {
		return nil, refuse("it is not a single SQL expression (" + err.Error() + ")")
	}
	if len(res.GetStmts()) != 1 {
		return nil, refuse(fmt.Sprintf("it makes %d statements, not one expression", len(res.GetStmts())))
	}
	sel := res.GetStmts()[0].GetStmt().GetSelectStmt()
	if sel == nil {
		return nil, refuse("it is not an expression")
	}
	if len(sel.GetTargetList()) != 1 || sel.GetOp() != pg_query.SetOperation_SETOP_NONE ||
		len(sel.GetFromClause()) > 0 || sel.GetWhereClause() != nil || len(sel.GetGroupClause()) > 0 ||
		sel.GetHavingClause() != nil || len(sel.GetWindowClause()) > 0 || len(sel.GetSortClause()) > 0 ||
		sel.GetLimitCount() != nil || sel.GetLimitOffset() != nil || len(sel.GetLockingClause()) > 0 ||
		sel.GetWithClause() != nil || sel.GetIntoClause() != nil || len(sel.GetDistinctClause()) > 0 ||
		len(sel.GetValuesLists()) > 0 {
		return nil, refuse("it is not a single scalar expression")
	}
	target := sel.GetTargetList()[0].GetResTarget()
	if target == nil || target.GetVal() == nil || target.GetName() != "" || len(target.GetIndirection()) > 0 {
		return nil, refuse("it is not a single scalar expression")
	}
	ce := &checkExpr{}
	var walkErr error
	walk(target.GetVal().ProtoReflect(), func(m protoreflect.Message) bool {
		switch n := m.Interface().(type) {
		case *pg_query.SubLink, *pg_query.SelectStmt, *pg_query.RangeVar:
			walkErr = refuse("it contains a subquery")
		case *pg_query.ParamRef:
			walkErr = refuse("it contains a parameter")
		case *pg_query.ColumnRef:
			for _, f := range n.GetFields() {
				if f.GetAStar() != nil {
					walkErr = refuse("it refers to a whole row")
				}
			}
		case *pg_query.FuncCall:
			parts := nameParts(n.GetFuncname())
			switch len(parts) {
			case 1:
				ce.functions = append(ce.functions, qualifiedName{"", parts[0]})
			case 2:
				ce.functions = append(ce.functions, qualifiedName{parts[0], parts[1]})
			default:
				walkErr = refuse("it calls a function through a cross-database name")
			}
		case *pg_query.A_Expr:
			parts := nameParts(n.GetName())
			if len(parts) > 0 {
				ce.operators = append(ce.operators, parts[len(parts)-1])
			}
		}
		return walkErr == nil
	})
	if walkErr != nil {
		return nil, walkErr
	}
	out, err := pg_query.Deparse(res)
	if err != nil {
		return nil, refuse("it cannot be written back as SQL (" + err.Error() + ")")
	}
	body, ok := strings.CutPrefix(out, "SELECT ")
	if !ok {
		return nil, refuse("it cannot be written back as an expression")
	}
	ce.sql = body
	return ce, nil
}

func nameParts(nodes []*pg_query.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.GetString_().GetSval())
	}
	return out
}

// walk visits every message of a parse tree, depth first, while visit
// returns true. Walking the protobuf reflection rather than a type switch
// per node keeps nodes added by a later grammar from slipping past.
func walk(m protoreflect.Message, visit func(protoreflect.Message) bool) bool {
	if !m.IsValid() {
		return true
	}
	if !visit(m) {
		return false
	}
	ok := true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && ok; i++ {
				ok = walk(l.Get(i).Message(), visit)
			}
		case fd.IsMap():
		default:
			ok = walk(v.Message(), visit)
		}
		return ok
	})
	return ok
}

// checkVolatility refuses an expression calling a volatile function or an
// operator implemented by one: volatile functions are the ones that can
// change state or sleep (nextval, pg_sleep, set_config, dblink, ...). An
// unqualified name is checked in every schema, since which one the call
// resolves to depends on the argument types.
func (ce *checkExpr) checkVolatility(ctx context.Context, tx pgx.Tx) error {
	if len(ce.functions) > 0 {
		schemas := make([]string, len(ce.functions))
		names := make([]string, len(ce.functions))
		for i, f := range ce.functions {
			schemas[i], names[i] = f.schema, f.name
		}
		var bad []string
		rows, err := tx.Query(ctx, `
			SELECT DISTINCT f.name
			FROM unnest($1::text[], $2::text[]) AS f(schema, name)
			JOIN pg_proc p ON p.proname = f.name
			JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE p.provolatile = 'v' AND (f.schema = '' OR n.nspname = f.schema)
			ORDER BY 1`, schemas, names)
		if err != nil {
			return err
		}
		bad, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			return &Error{msg: "refusing to evaluate the CHECK expression: it calls volatile functions (" + strings.Join(bad, ", ") + "), which may change state or run unbounded"}
		}
	}
	if len(ce.operators) > 0 {
		rows, err := tx.Query(ctx, `
			SELECT DISTINCT o.oprname FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode
			WHERE o.oprname = ANY ($1::text[]) AND p.provolatile = 'v' ORDER BY 1`, ce.operators)
		if err != nil {
			return err
		}
		bad, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			return &Error{msg: "refusing to evaluate the CHECK expression: it uses operators implemented by volatile functions (" + strings.Join(bad, ", ") + ")"}
		}
	}
	return nil
}
