package catalog

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// Apply changes the model as the statement would change the database.
// Statements it does not model, and statements PostgreSQL would reject
// against the modelled state, leave it unchanged. DROP is applied with its
// dependents whether or not CASCADE was written: a RESTRICT drop that would
// fail is for the caller to report (see Dependents), and the statements after
// it are best judged against the schema the author intended.
func (c *Catalog) Apply(stmt *pg_query.Node) {
	if stmt == nil {
		return
	}
	if testHookBeforeApply != nil {
		if after := testHookBeforeApply(c, stmt); after != nil {
			defer after()
		}
	}
	switch n := stmt.Node.(type) {
	case *pg_query.Node_RawStmt:
		c.Apply(n.RawStmt.GetStmt())
	case *pg_query.Node_CreateSchemaStmt:
		c.createSchema(n.CreateSchemaStmt)
	case *pg_query.Node_CreateStmt:
		c.createTable(n.CreateStmt, false)
	case *pg_query.Node_CreateForeignTableStmt:
		c.createTable(n.CreateForeignTableStmt.GetBaseStmt(), true)
	case *pg_query.Node_CreateTableAsStmt:
		c.createTableAs(n.CreateTableAsStmt)
	case *pg_query.Node_SelectStmt:
		c.selectStmt(n.SelectStmt)
	case *pg_query.Node_ViewStmt:
		c.createView(n.ViewStmt)
	case *pg_query.Node_AlterTableStmt:
		c.alterTable(n.AlterTableStmt)
	case *pg_query.Node_RenameStmt:
		c.rename(n.RenameStmt)
	case *pg_query.Node_AlterObjectSchemaStmt:
		c.setSchema(n.AlterObjectSchemaStmt)
	case *pg_query.Node_IndexStmt:
		c.createIndex(n.IndexStmt)
	case *pg_query.Node_DropStmt:
		c.dropStmt(n.DropStmt)
	case *pg_query.Node_CreateEnumStmt:
		c.createEnum(n.CreateEnumStmt)
	case *pg_query.Node_AlterEnumStmt:
		c.alterEnum(n.AlterEnumStmt)
	case *pg_query.Node_CreateDomainStmt:
		c.createDomain(n.CreateDomainStmt)
	case *pg_query.Node_AlterDomainStmt:
		c.alterDomain(n.AlterDomainStmt)
	case *pg_query.Node_CreateSeqStmt:
		c.createSequence(n.CreateSeqStmt)
	case *pg_query.Node_AlterSeqStmt:
		c.alterSequence(n.AlterSeqStmt)
	case *pg_query.Node_VariableSetStmt:
		c.variableSet(n.VariableSetStmt)
	}
	c.applyProcedural(stmt)
	if testHookApplied != nil {
		testHookApplied(c)
	}
}

func (c *Catalog) createSchema(s *pg_query.CreateSchemaStmt) {
	name := s.GetSchemaname()
	if name == "" {
		name = s.GetAuthrole().GetRolename()
	}
	if name == "" {
		return
	}
	if existing := c.schemas.Get(schemaKey(name)); existing != nil {
		// "public" and schemas only seen in qualified names exist without a
		// known origin; the first CREATE SCHEMA that succeeds gives them one.
		if existing.Origin.Path != "" || s.GetIfNotExists() {
			return
		}
		if name == "public" {
			return
		}
		existing = c.editSchema(existing)
		existing.Origin = c.origin()
		c.putSchema(existing)
	} else {
		c.putSchema(&Schema{Name: name, Origin: c.origin(), owner: c.owner})
	}
	if len(s.GetSchemaElts()) == 0 {
		return
	}
	// Elements of CREATE SCHEMA are created in the new schema, which
	// PostgreSQL arranges by putting it first on the search path.
	saved := c.searchPath
	c.searchPath = append([]string{name}, c.lookupPath()...)
	for _, e := range s.GetSchemaElts() {
		c.Apply(e)
	}
	c.searchPath = saved
}

func (c *Catalog) variableSet(v *pg_query.VariableSetStmt) {
	if v.GetKind() == pg_query.VariableSetKind_VAR_RESET_ALL {
		// RESET ALL leaves the role and the session authorization alone
		// (both are GUC_NO_RESET_ALL; checked on PostgreSQL 15).
		c.searchPath = nil
		return
	}
	switch strings.ToLower(v.GetName()) {
	case "role", "session_authorization":
		name := ""
		if v.GetKind() == pg_query.VariableSetKind_VAR_SET_VALUE && len(v.GetArgs()) == 1 {
			if s := v.GetArgs()[0].GetAConst().GetSval(); s != nil {
				name = s.GetSval()
			}
		}
		if strings.EqualFold(v.GetName(), "role") {
			if name == "none" {
				name = ""
			}
			c.role = name
			return
		}
		// SET SESSION AUTHORIZATION also ends any SET ROLE.
		c.sessionUser, c.role = name, ""
		return
	case "search_path":
	default:
		return
	}
	switch v.GetKind() {
	case pg_query.VariableSetKind_VAR_SET_DEFAULT, pg_query.VariableSetKind_VAR_RESET:
		c.searchPath = nil
	case pg_query.VariableSetKind_VAR_SET_VALUE:
		var path []string
		for _, a := range v.GetArgs() {
			s := a.GetAConst().GetSval()
			if s == nil {
				return
			}
			if len(v.GetArgs()) == 1 {
				// A single string may hold the whole list, as in
				// SET search_path = 'app, public'.
				path = append(path, splitSearchPath(s.GetSval())...)
			} else {
				path = append(path, s.GetSval())
			}
		}
		c.searchPath = normalizePath(path)
	}
}

// normalizePath keeps the default spelled as nil so that lookups and dumps
// treat `SET search_path = "$user", public` like a fresh session.
func normalizePath(path []string) []string {
	if path == nil {
		path = []string{}
	}
	if len(path) == 2 && path[0] == "$user" && path[1] == "public" {
		return nil
	}
	return path
}

// splitSearchPath parses a search_path setting string the way PostgreSQL's
// SplitIdentifierString does: comma-separated, optionally double-quoted,
// unquoted names folded to lower case.
func splitSearchPath(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, quoted := false, false
	flush := func() {
		v := cur.String()
		if !quoted {
			v = strings.ToLower(strings.TrimSpace(v))
		}
		if v != "" {
			out = append(out, v)
		}
		cur.Reset()
		quoted = false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case inQuote && ch == '"' && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case ch == '"':
			inQuote = !inQuote
			quoted = true
		case !inQuote && ch == ',':
			flush()
		case !inQuote && (ch == ' ' || ch == '\t' || ch == '\n'):
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return out
}

// selectStmt handles SELECT INTO, and pg_dump's
// SELECT pg_catalog.set_config('search_path', ”, false).
func (c *Catalog) selectStmt(s *pg_query.SelectStmt) {
	if s.GetIntoClause() != nil {
		c.createTableAs(&pg_query.CreateTableAsStmt{
			Query:   &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: s}},
			Into:    s.GetIntoClause(),
			Objtype: pg_query.ObjectType_OBJECT_TABLE,
		})
		return
	}
	if len(s.GetTargetList()) != 1 || len(s.GetFromClause()) != 0 {
		return
	}
	fc := s.GetTargetList()[0].GetResTarget().GetVal().GetFuncCall()
	if fc == nil {
		return
	}
	if _, fname := nameList(fc.GetFuncname()); fname != "set_config" || len(fc.GetArgs()) != 3 {
		return
	}
	name := fc.GetArgs()[0].GetAConst().GetSval()
	val := fc.GetArgs()[1].GetAConst().GetSval()
	if name == nil || val == nil || !strings.EqualFold(name.GetSval(), "search_path") {
		return
	}
	c.searchPath = normalizePath(splitSearchPath(val.GetSval()))
}

// typeNameTaken: enums, domains and tables share pg_type's namespace.
func (c *Catalog) typeNameTaken(schema, name string) bool {
	q := qname{schema, name}
	return c.enums.Has(q) || c.domains.Has(q) || c.tables.Has(q)
}

func (c *Catalog) createEnum(s *pg_query.CreateEnumStmt) {
	schema, name := nameList(s.GetTypeName())
	if name == "" {
		return
	}
	if schema == "" {
		schema = c.creationSchema()
	}
	if c.typeNameTaken(schema, name) {
		return
	}
	c.ensureSchema(schema)
	c.putEnum(&Enum{Schema: schema, Name: name, Values: pgtree.Names(s.GetVals()), Origin: c.origin(), owner: c.owner})
}

func (c *Catalog) alterEnum(s *pg_query.AlterEnumStmt) {
	schema, name := nameList(s.GetTypeName())
	e := c.Enum(schema, name)
	if e == nil {
		return
	}
	if s.GetOldVal() != "" {
		for i, v := range e.Values {
			if v == s.GetOldVal() {
				if !containsString(e.Values, s.GetNewVal()) {
					e = c.editEnum(e)
					e.Values[i] = s.GetNewVal()
					c.putEnum(e)
				}
				return
			}
		}
		return
	}
	nv := s.GetNewVal()
	if nv == "" || containsString(e.Values, nv) {
		return
	}
	pos := len(e.Values)
	if nb := s.GetNewValNeighbor(); nb != "" {
		pos = -1
		for i, v := range e.Values {
			if v == nb {
				pos = i
				if s.GetNewValIsAfter() {
					pos = i + 1
				}
			}
		}
		if pos < 0 {
			return
		}
	}
	e = c.editEnum(e)
	e.Values = append(e.Values[:pos], append([]string{nv}, e.Values[pos:]...)...)
	c.putEnum(e)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// resolveType fills in the schema of an unqualified user type that a
// migration created, so that renames and drops of the type can find it.
func (c *Catalog) resolveType(t Type) Type {
	if t.Schema != "" || t.Name == "" {
		return t
	}
	if e := c.Enum("", t.Name); e != nil {
		t.Schema = e.Schema
	} else if d := c.Domain("", t.Name); d != nil {
		t.Schema = d.Schema
	}
	return t
}

func (c *Catalog) createDomain(s *pg_query.CreateDomainStmt) {
	schema, name := nameList(s.GetDomainname())
	if name == "" {
		return
	}
	if schema == "" {
		schema = c.creationSchema()
	}
	if c.typeNameTaken(schema, name) {
		return
	}
	c.ensureSchema(schema)
	d := &Domain{Schema: schema, Name: name, BaseType: c.resolveType(TypeFromNode(s.GetTypeName())), Origin: c.origin(), owner: c.owner}
	c.putDomain(d)
	for _, cn := range s.GetConstraints() {
		c.addDomainConstraint(d, cn.GetConstraint(), true)
	}
}

// addDomainConstraint changes d (c's own copy of it) and stores it.
func (c *Catalog) addDomainConstraint(d *Domain, k *pg_query.Constraint, creating bool) {
	d = c.editDomain(d)
	defer c.putDomain(d)
	switch k.GetContype() {
	case pg_query.ConstrType_CONSTR_NOTNULL:
		d.NotNull = true
	case pg_query.ConstrType_CONSTR_NULL:
		d.NotNull = false
	case pg_query.ConstrType_CONSTR_DEFAULT:
		d.Default = c.deparseExpr(k.GetRawExpr())
	case pg_query.ConstrType_CONSTR_CHECK:
		name := k.GetConname()
		if name == "" {
			name = c.chooseConstraintName(d.Name, "", "check", d.Schema, nil)
		} else {
			for _, o := range d.Constraints {
				if o.Name == name {
					return
				}
			}
		}
		d.Constraints = append(d.Constraints, &Constraint{
			Name: name, Kind: Check, Validated: creating || k.GetInitiallyValid(),
			Check: c.deparseExpr(k.GetRawExpr()), CheckNode: k.GetRawExpr(), Origin: c.origin(),
		})
	}
}

func (c *Catalog) alterDomain(s *pg_query.AlterDomainStmt) {
	schema, name := nameList(s.GetTypeName())
	d := c.Domain(schema, name)
	if d == nil {
		return
	}
	if s.GetSubtype() == "C" {
		if k := s.GetDef().GetConstraint(); k != nil {
			c.addDomainConstraint(d, k, false)
		}
		return
	}
	d = c.editDomain(d)
	defer c.putDomain(d)
	switch s.GetSubtype() {
	case "T":
		if s.GetDef() == nil {
			d.Default = ""
		} else {
			d.Default = c.deparseExpr(s.GetDef())
		}
	case "N":
		d.NotNull = false
	case "O":
		d.NotNull = true
	case "X":
		for i, k := range d.Constraints {
			if k.Name == s.GetName() {
				d.Constraints = append(d.Constraints[:i], d.Constraints[i+1:]...)
				return
			}
		}
	case "V":
		for _, k := range d.Constraints {
			if k.Name == s.GetName() {
				k.Validated = true
			}
		}
	}
}

func (c *Catalog) createSequence(s *pg_query.CreateSeqStmt) {
	rv := s.GetSequence()
	if rv == nil || rv.GetRelpersistence() == "t" {
		return
	}
	schema := rv.GetSchemaname()
	if schema == "" {
		schema = c.creationSchema()
	}
	if c.relationNameTaken(schema, rv.GetRelname()) {
		return
	}
	c.ensureSchema(schema)
	seq := &Sequence{Schema: schema, Name: rv.GetRelname(), Origin: c.origin(), owner: c.owner}
	c.putSequence(seq)
	c.sequenceOptions(seq, s.GetOptions())
}

func (c *Catalog) alterSequence(s *pg_query.AlterSeqStmt) {
	rv := s.GetSequence()
	seq := c.Sequence(rv.GetSchemaname(), rv.GetRelname())
	if seq == nil {
		return
	}
	c.sequenceOptions(seq, s.GetOptions())
}

// sequenceOptions applies OWNED BY to seq (c's own copy of it) and stores
// it.
func (c *Catalog) sequenceOptions(seq *Sequence, opts []*pg_query.Node) {
	seq = c.editSequence(seq)
	for _, o := range opts {
		de := o.GetDefElem()
		if de.GetDefname() != "owned_by" {
			continue
		}
		parts := pgtree.Names(de.GetArg().GetList().GetItems())
		if len(parts) == 1 && parts[0] == "none" {
			seq.OwnedByTable, seq.OwnedByColumn = "", ""
			continue
		}
		if len(parts) < 2 {
			continue
		}
		tschema := ""
		if len(parts) >= 3 {
			tschema = parts[len(parts)-3]
		}
		t := c.relation(tschema, parts[len(parts)-2])
		// PostgreSQL requires the owning table to be in the sequence's schema.
		if t == nil || t.Schema != seq.Schema || t.Column(parts[len(parts)-1]) == nil {
			continue
		}
		seq.OwnedByTable, seq.OwnedByColumn = t.Name, parts[len(parts)-1]
	}
	c.putSequence(seq)
}

// ApplySQL parses a migration file and applies each statement in order,
// recording path and line as the origin. It is what a caller does by hand
// when it needs to judge each statement before applying it.
func (c *Catalog) ApplySQL(path, sql string) error {
	res, err := pgtree.Parse(sql)
	if err != nil {
		return err
	}
	for _, rs := range res.GetStmts() {
		c.SetPosition(path, StatementLine(sql, int(rs.GetStmtLocation())))
		c.Apply(rs.GetStmt())
	}
	return nil
}

// StatementLine returns the 1-based line of the first token at or after a
// statement's byte offset, skipping the blank space and comments that the
// parser counts as part of the statement.
func StatementLine(sql string, offset int) int {
	if offset < 0 || offset > len(sql) {
		offset = 0
	}
	i := offset
	for i < len(sql) {
		switch {
		case sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r' || sql[i] == '\f':
			i++
		case strings.HasPrefix(sql[i:], "--"):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case strings.HasPrefix(sql[i:], "/*"):
			depth := 0
			for i < len(sql) {
				if strings.HasPrefix(sql[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(sql[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		default:
			return 1 + strings.Count(sql[:i], "\n")
		}
	}
	return 1 + strings.Count(sql[:i], "\n")
}
