package analyzer

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// runState is what the rules remember across the statements and files of
// one analysis, keyed by the transaction (stmtContext.tx) things happened
// in: PostgreSQL's facts about "the same transaction" hold across files
// when the tool runs several files in one.
type runState struct {
	// enumAdds are labels added by ALTER TYPE ... ADD VALUE inside a
	// transaction.
	enumAdds []enumAdd
	// notValid maps "table/constraint" to where it was added NOT VALID.
	notValid map[string]txPlace
	// addedColumns maps "table.column" to columns added in the change to a
	// table that existed.
	addedColumns map[string]addedColumn
	// backfilled maps "table.column" to the transaction of an UPDATE that
	// set every row of it to a value that is not NULL.
	backfilled map[string]string
	// parts holds the lock rules' memory of a transaction that spans the
	// files of one run (drizzle), by transaction.
	parts map[string]*partState
}

func newRunState() *runState {
	return &runState{notValid: map[string]txPlace{}, addedColumns: map[string]addedColumn{}, backfilled: map[string]string{}, parts: map[string]*partState{}}
}

// txPlace is where a statement ran: its transaction, file and line.
type txPlace struct {
	tx   string
	path string
	line int
	// kind is the kind of relation locked there ("table", "index"), for
	// the lock rules' messages.
	kind string
}

// where names the place for a message read in file path: "line 3", or
// "line 3 of 0001_x.sql" when it is another file.
func (p txPlace) where(path string) string {
	if p.path == path || p.path == "" {
		return fmt.Sprintf("line %d", p.line)
	}
	return fmt.Sprintf("line %d of %s", p.line, p.path)
}

type enumAdd struct {
	schema, name, label string
	at                  txPlace
}

type addedColumn struct {
	at txPlace
	// filled: the ADD COLUMN gave existing rows a value that is not NULL
	// (a default, an identity, a generated expression).
	filled bool
}

// place is where the current statement runs.
func (c *stmtContext) place() txPlace {
	return txPlace{tx: c.tx, path: c.stmt.Path, line: c.stmt.Start.Line}
}

// runsWithOthers explains, for messages, why two statements share a
// transaction when they are in different files.
func (c *stmtContext) runsWithOthers(p txPlace) string {
	if p.path == c.stmt.Path {
		return ""
	}
	return fmt.Sprintf(" (%s runs every pending migration of a run in one transaction)", toolName(string(c.mig.Kind)))
}

// checkEnumInTransaction reports the use of an enum label in the
// transaction that added it, which PostgreSQL refuses ("unsafe use of new
// value"), across the files of one transaction too.
func checkEnumInTransaction(c *stmtContext) {
	if c.tx == "" || c.run == nil {
		return
	}
	if ae := c.node.GetAlterEnumStmt(); ae != nil {
		if ae.GetOldVal() == "" && ae.GetNewVal() != "" {
			schema, name := splitSchema(pgtree.Names(ae.GetTypeName()))
			if e := c.cat.Enum(schema, name); e != nil {
				schema = e.Schema
			}
			c.run.enumAdds = append(c.run.enumAdds, enumAdd{schema: schema, name: name, label: ae.GetNewVal(), at: c.place()})
		}
		return
	}
	for _, a := range c.run.enumAdds {
		if a.at.tx != c.tx {
			continue
		}
		how := enumValueUse(c, a)
		if how == "" {
			continue
		}
		typ := qualified(a.schema, a.name)
		fd := ruleEnumValueInTransaction.finding(fmt.Sprintf("%s %s, which ALTER TYPE ... ADD VALUE on %s added to %s in the same transaction%s: PostgreSQL refuses it "+
			"(unsafe use of new value %q of enum type %s) and the deploy fails here", how, quoteLiteral(a.label), a.at.where(c.stmt.Path), typ, c.runsWithOthers(a.at), a.label, a.name))
		fd.Objects = []string{typ}
		fd.SafeAlternative = enumSafeWay(c.mig.Kind, typ, a.label, c.stmt.SQL)
		c.report(fd)
		return
	}
}

// enumSafeWay splits the change in two: the ADD VALUE committed on its own,
// then the statement that uses the value (use, as written) in a later
// migration.
func enumSafeWay(kind layout.Kind, typ, label, use string) string {
	later := "-- in a later migration, which runs in its own transaction:"
	if kind == layout.Drizzle {
		later = "-- drizzle runs all pending migrations in one transaction: use the value only after a run that applied the ADD VALUE has committed (a later deploy):"
	}
	use = strings.TrimSpace(use)
	if !strings.HasSuffix(use, ";") {
		use += ";"
	}
	return fmt.Sprintf("-- the ADD VALUE alone, committed first:\nALTER TYPE %s ADD VALUE IF NOT EXISTS %s;\n%s\n%s", typ, quoteLiteral(label), later, use)
}

// enumValueUse says how a statement uses an enum label, "" when it does not:
// the label as a string constant, cast to the type, or in a statement that
// names the type or a table with a column of it (an INSERT, an UPDATE, a
// default, a comparison: each converts the constant to the enum).
func enumValueUse(c *stmtContext, a enumAdd) string {
	hasLabel, cast, typed := false, false, false
	isEnum := func(tn *pg_query.TypeName) bool {
		names := pgtree.Names(tn.GetNames())
		return len(names) > 0 && names[len(names)-1] == a.name
	}
	isLabel := func(n *pg_query.Node) bool { return n.GetAConst().GetSval().GetSval() == a.label }
	// enumColumns are the names of the columns of the enum's type in the
	// tables the statement names.
	enumColumns, otherColumns := map[string]bool{}, map[string]bool{}
	pgtree.WalkMessages(c.node, func(m protoreflect.ProtoMessage) bool {
		if rv, ok := m.(*pg_query.RangeVar); ok {
			if t := c.cat.Relation(rv); t != nil {
				for _, col := range t.Columns {
					if col.Type.Name == a.name && (col.Type.Schema == "" || col.Type.Schema == a.schema) {
						enumColumns[col.Name] = true
					} else {
						otherColumns[col.Name] = true
					}
				}
			}
		}
		return true
	})
	// A comparison of the text with something that is plainly not of the
	// enum (x::text = 'sad', note = 'sad') reads it as text: no use.
	asText := map[*pg_query.A_Const]bool{}
	notEnum := func(n *pg_query.Node) bool {
		if tc := n.GetTypeCast(); tc != nil {
			return !isEnum(tc.GetTypeName())
		}
		if cr := n.GetColumnRef(); cr != nil {
			names := pgtree.Names(cr.GetFields())
			if len(names) == 0 {
				return false
			}
			col := names[len(names)-1]
			return otherColumns[col] && !enumColumns[col]
		}
		return false
	}
	pgtree.WalkMessages(c.node, func(m protoreflect.ProtoMessage) bool {
		switch v := m.(type) {
		case *pg_query.A_Expr:
			if isLabel(v.GetRexpr()) && notEnum(v.GetLexpr()) {
				asText[v.GetRexpr().GetAConst()] = true
			}
			if isLabel(v.GetLexpr()) && notEnum(v.GetRexpr()) {
				asText[v.GetLexpr().GetAConst()] = true
			}
		case *pg_query.TypeCast:
			if isLabel(v.GetArg()) && !isEnum(v.GetTypeName()) {
				asText[v.GetArg().GetAConst()] = true
			}
		}
		return true
	})
	pgtree.WalkMessages(c.node, func(m protoreflect.ProtoMessage) bool {
		switch v := m.(type) {
		case *pg_query.A_Const:
			if v.GetSval() != nil && v.GetSval().GetSval() == a.label && !asText[v] {
				hasLabel = true
			}
		case *pg_query.TypeCast:
			if isEnum(v.GetTypeName()) && v.GetArg().GetAConst().GetSval().GetSval() == a.label {
				cast = true
			}
		case *pg_query.TypeName:
			if isEnum(v) {
				typed = true
			}
		}
		return true
	})
	typed = typed || len(enumColumns) > 0
	switch {
	case cast:
		return "casts to"
	case hasLabel && typed:
		return "uses"
	}
	return ""
}

// columnKey names a column of a table for the run state.
func columnKey(t tableRef, col string) string { return t.name + "." + quoteIdent(col) }

// constraintKey names a constraint of a table for the run state.
func constraintKey(t tableRef, name string) string { return t.name + "/" + quoteIdent(name) }

// nonNullDefault says an ADD COLUMN gives the rows that exist a value that
// is not NULL.
func nonNullDefault(cd *pg_query.ColumnDef) bool {
	if isSerial(cd.GetTypeName()) {
		return true
	}
	for _, cn := range cd.GetConstraints() {
		con := cn.GetConstraint()
		switch con.GetContype() {
		case pg_query.ConstrType_CONSTR_IDENTITY, pg_query.ConstrType_CONSTR_GENERATED:
			return true
		case pg_query.ConstrType_CONSTR_DEFAULT:
			return con.GetRawExpr() != nil && !isNullConstant(con.GetRawExpr())
		}
	}
	return false
}

// recordBackfill remembers an UPDATE that sets every row of a column to a
// value that is not NULL (no WHERE, no FROM): in the transaction that
// added the column, nothing else can insert a NULL before SET NOT NULL.
func recordBackfill(c *stmtContext) {
	u := c.node.GetUpdateStmt()
	// UPDATE ONLY leaves the rows of child tables as they are.
	if u == nil || c.tx == "" || u.GetWhereClause() != nil || len(u.GetFromClause()) > 0 || u.GetWithClause() != nil || !u.GetRelation().GetInh() {
		return
	}
	t := c.relation(u.GetRelation())
	for _, n := range u.GetTargetList() {
		rt := n.GetResTarget()
		if rt == nil || rt.GetName() == "" || len(rt.GetIndirection()) > 0 {
			continue
		}
		if val := rt.GetVal(); val == nil || isNullConstant(val) || constantKind(val) != "constant" {
			continue
		}
		c.run.backfilled[columnKey(t, rt.GetName())] = c.tx
	}
}

// isNullConstant says an expression is NULL, possibly cast (NULL::text).
func isNullConstant(n *pg_query.Node) bool {
	for n.GetTypeCast() != nil {
		n = n.GetTypeCast().GetArg()
	}
	return n.GetAConst() != nil && n.GetAConst().GetIsnull()
}

// constantKind says "constant" for a literal (possibly cast), else "".
func constantKind(n *pg_query.Node) string {
	switch {
	case n.GetAConst() != nil:
		return "constant"
	case n.GetTypeCast() != nil:
		return constantKind(n.GetTypeCast().GetArg())
	}
	return ""
}
