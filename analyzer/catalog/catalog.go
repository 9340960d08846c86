// Package catalog keeps an in-memory model of the schema that a sequence of
// PostgreSQL migrations builds, so that each statement of a pull request can
// be judged against the schema as it stands just before it runs.
//
// The model only knows what the migrations themselves created: an object that
// no replayed statement created is unknown (lookups return nil), which callers
// must not confuse with "missing". Statements the model does not understand
// are ignored, and a statement that PostgreSQL would reject (creating a name
// that exists, altering an unknown column) leaves the model unchanged.
//
// Parse-tree nodes stored in the model (defaults, CHECK expressions, view
// queries) are shared, never modified, and must not be modified by callers.
package catalog

import (
	"hash/maphash"
	"slices"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog/internal/pmap"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// TableKind distinguishes the relations that own columns.
type TableKind int

const (
	KindTable TableKind = iota
	KindPartitionedTable
	KindView
	KindMaterializedView
	KindForeignTable
)

func (k TableKind) String() string {
	switch k {
	case KindTable:
		return "table"
	case KindPartitionedTable:
		return "partitioned table"
	case KindView:
		return "view"
	case KindMaterializedView:
		return "materialized view"
	case KindForeignTable:
		return "foreign table"
	}
	return "unknown"
}

// IsView reports whether the relation stores no rows of its own.
func (k TableKind) IsView() bool { return k == KindView }

// Origin tells where an object was created: in a migration that already
// exists on the base branch, or in the change set under review.
type Origin struct {
	InChangeSet bool
	Path        string
	Line        int
}

// Schema is a namespace created by a migration (or the implicit "public").
type Schema struct {
	Name   string
	Origin Origin

	owner *pmap.Owner
}

// Table is any relation with columns: table, partitioned table, view,
// materialized view or foreign table.
type Table struct {
	Schema      string
	Name        string
	Kind        TableKind
	Columns     []*Column
	Constraints []*Constraint
	Indexes     []*Index
	Unlogged    bool
	// PartitionOf is the qualified name of the partitioned parent, "" when
	// the table is not a partition.
	PartitionOf string
	// PartitionStrategy is "range", "list" or "hash" for a partitioned table.
	PartitionStrategy string
	// ColumnsUnknown is set when the column list could not be derived (CREATE
	// TABLE AS, views over unknown relations or computed expressions): a
	// missing column then proves nothing.
	ColumnsUnknown bool
	// Query and Definition hold a view's or materialized view's SELECT.
	Query      *pg_query.Node
	Definition string
	// DependsOn lists the tables and columns a view reads, as far as names
	// could be resolved.
	DependsOn []ObjectRef
	// UpdateTriggers are the triggers (not constraint triggers) that fire
	// on UPDATE of the table, by name.
	UpdateTriggers []string
	Origin         Origin

	parent qname
	// keys is what the table contributes to the catalog's indexes.
	keys *tableKeys
	// sharedKids is set on a copy (editTableShallow) whose columns,
	// constraints and indexes may still be those of the table it copies:
	// editTable copies them all before anything changes one. (Settle
	// copies the one child it changes, its lists shared: they stay
	// unchanged until editTable copies every child again.)
	sharedKids bool
	// owner is the catalog version that made this object and may change
	// it in place; any other version copies it first (editTable).
	owner *pmap.Owner
}

// Column is one attribute, in table order.
type Column struct {
	Name        string
	Type        Type
	NotNull     bool
	Default     string
	DefaultNode *pg_query.Node
	// Identity is "ALWAYS", "BY DEFAULT" or "".
	Identity string
	// Generated is the expression of GENERATED ALWAYS AS (...) STORED.
	Generated     string
	GeneratedNode *pg_query.Node
	Collation     string
	Origin        Origin

	// generatedFrom lists the columns the generation expression reads; it is
	// kept up to date across renames, unlike the expression text.
	generatedFrom []string
}

// ConstraintKind is the SQL spelling of a table constraint's type.
type ConstraintKind string

const (
	PrimaryKey ConstraintKind = "PRIMARY KEY"
	Unique     ConstraintKind = "UNIQUE"
	Check      ConstraintKind = "CHECK"
	ForeignKey ConstraintKind = "FOREIGN KEY"
	Exclude    ConstraintKind = "EXCLUDE"
)

// Constraint is a table (or domain) constraint. NOT NULL is not a constraint
// object in PostgreSQL 15/16; it is Column.NotNull. A CHECK of the form
// "col IS NOT NULL" records the column in NotNullColumn, because a validated
// one lets SET NOT NULL skip its table scan.
type Constraint struct {
	Name          string
	Kind          ConstraintKind
	Columns       []string
	Validated     bool
	Check         string
	CheckNode     *pg_query.Node
	NotNullColumn string
	// Foreign keys.
	RefSchema  string
	RefTable   string
	RefColumns []string
	// OnDelete and OnUpdate: "NO ACTION", "RESTRICT", "CASCADE", "SET NULL",
	// "SET DEFAULT".
	OnDelete string
	OnUpdate string
	// Index is the name of the index behind a PRIMARY KEY, UNIQUE or EXCLUDE.
	Index             string
	Deferrable        bool
	InitiallyDeferred bool
	NoInherit         bool
	Origin            Origin
}

// IndexKey is one key column or expression of an index.
type IndexKey struct {
	Column   string
	Expr     string
	ExprNode *pg_query.Node
	Desc     bool
}

// String is the column name or the parenthesised expression.
func (k IndexKey) String() string {
	if k.Column != "" {
		return QuoteIdent(k.Column)
	}
	return "(" + k.Expr + ")"
}

// Index is an index of a table, including those behind constraints.
type Index struct {
	Name             string
	Keys             []IndexKey
	Include          []string
	Unique           bool
	Primary          bool
	NullsNotDistinct bool
	Method           string
	Where            string
	WhereNode        *pg_query.Node
	// Valid is false for an index created ON ONLY a partitioned table, which
	// stays invalid until an index is attached for every partition.
	Valid        bool
	Concurrently bool
	// Constraint names the constraint the index backs, if any.
	Constraint string
	Origin     Origin

	// parent is the partitioned index this partition's index is attached to.
	parent qname
	// exprColumns lists the columns read by key expressions and the
	// predicate, kept up to date across renames.
	exprColumns []string
}

// Columns lists the plain key columns (expressions omitted).
func (ix *Index) Columns() []string {
	var out []string
	for _, k := range ix.Keys {
		if k.Column != "" {
			out = append(out, k.Column)
		}
	}
	return out
}

// Enum is a CREATE TYPE ... AS ENUM type.
type Enum struct {
	Schema string
	Name   string
	Values []string
	Origin Origin

	owner *pmap.Owner
}

// Domain is a CREATE DOMAIN type.
type Domain struct {
	Schema      string
	Name        string
	BaseType    Type
	NotNull     bool
	Default     string
	Constraints []*Constraint
	Origin      Origin

	owner *pmap.Owner
}

// Sequence is a sequence; OwnedBy* are set for serial and identity columns
// and for OWNED BY.
type Sequence struct {
	Schema        string
	Name          string
	OwnedByTable  string
	OwnedByColumn string
	// Identity marks the internal sequence of an identity column.
	Identity bool
	Origin   Origin

	owner *pmap.Owner
}

type qname struct{ schema, name string }

var hashSeed = maphash.MakeSeed()

// Hash makes qname a key of the catalog's persistent maps.
func (q qname) Hash() uint64 {
	return maphash.String(hashSeed, q.schema)*0x9E3779B97F4A7C15 ^ maphash.String(hashSeed, q.name)
}

// schemaKey is a schema's key in the schemas map.
func schemaKey(name string) qname { return qname{name: name} }

// Catalog is the schema model. It is not safe for concurrent use, Clone
// and Snapshot included.
//
// Copies are cheap: the maps are persistent (internal/pmap) and objects
// are shared between a catalog and its copies until one of them changes
// an object, which it does on a private copy of it (editTable and its
// siblings). Every object has an owner, the version of the catalog that
// made it; a catalog changes in place only what it owns, and Clone and
// Snapshot give both sides new owners, so that everything they share
// becomes read-only.
type Catalog struct {
	schemas   pmap.Map[qname, *Schema] // keyed by schemaKey
	tables    pmap.Map[qname, *Table]
	enums     pmap.Map[qname, *Enum]
	domains   pmap.Map[qname, *Domain]
	sequences pmap.Map[qname, *Sequence]
	// functions are the routines created by the migrations, with the
	// code they run when called (see procedural.go). A list is never
	// changed in place: every change stores a new one.
	functions pmap.Map[qname, []*Function]
	// triggerFuncs are the functions a trigger or event trigger runs.
	triggerFuncs pmap.Map[qname, bool]
	// storedFuncs are the functions stored code calls (a view, a default,
	// a constraint, a policy, a rule: stored.go), with what calls them.
	storedFuncs pmap.Map[qname, StoredUse]
	// owner writes the maps and owns the objects this version made.
	owner *pmap.Owner
	// copies maps a shared table to this version's private copy of it, so
	// that a caller still holding the shared one edits the same copy.
	copies map[*Table]*Table
	// procedural holds what running procedural code needs: whether to
	// run it, and how deep calls are nested.
	procedural proceduralState
	// searchPath is nil for the default ("$user", public).
	searchPath []string
	// role and sessionUser are the SET ROLE and SET SESSION AUTHORIZATION
	// of the session, "" when not set: the current user's name is what
	// "$user" in the search path stands for.
	role, sessionUser string
	path              string
	line              int
	inChangeSet       bool

	idx indexes
	// calls is shared with the catalog's copies (bodyCalls).
	calls *bodyCalls
	// texts is shared with the catalog's copies (deparseExpr).
	texts *pgtree.DeparseMemo
	// settled is what the catalog held when Settle last ran, nil before
	// (settledMaps).
	settled *settledMaps
	// scratchOf is set on a copy Scratch made, until DropScratch.
	scratchOf *scratchOrigin
}

// New returns an empty catalog with the implicit public schema.
func New() *Catalog {
	c := &Catalog{owner: pmap.NewOwner(), calls: newBodyCalls(), texts: pgtree.NewDeparseMemo()}
	c.schemas.Set(c.owner, schemaKey("public"), &Schema{Name: "public", owner: c.owner})
	return c
}

// SetPosition records where the next applied statement comes from.
func (c *Catalog) SetPosition(path string, line int) { c.path, c.line = path, line }

// BeginChangeSet marks every object created from now on as part of the
// change set under review.
func (c *Catalog) BeginChangeSet() { c.inChangeSet = true }

// InChangeSet reports whether BeginChangeSet was called.
func (c *Catalog) InChangeSet() bool { return c.inChangeSet }

// ResetSession restores the default search_path and role, as a new
// connection would.
func (c *Catalog) ResetSession() { c.searchPath, c.role, c.sessionUser = nil, "", "" }

// currentUser is the role set in the session, "" for the deploy's own
// (unknown) user.
func (c *Catalog) currentUser() string {
	if c.role != "" {
		return c.role
	}
	return c.sessionUser
}

// Settings lists the session settings that change what a statement's
// names mean, as "name=value", only those set away from a new session's
// default: search_path, role and session_authorization.
func (c *Catalog) Settings() []string {
	var out []string
	if c.searchPath != nil {
		quoted := make([]string, len(c.searchPath))
		for i, s := range c.searchPath {
			quoted[i] = QuoteIdent(s)
			if s == "$user" {
				quoted[i] = `"$user"`
			}
		}
		out = append(out, "search_path="+strings.Join(quoted, ", "))
	}
	if c.role != "" {
		out = append(out, "role="+QuoteIdent(c.role))
	}
	if c.sessionUser != "" {
		out = append(out, "session_authorization="+QuoteIdent(c.sessionUser))
	}
	return out
}

// SoleSchema is the one schema an unqualified name can resolve to when the
// session's search path names exactly one ("" otherwise, and for a new
// session's default path): a name the migrations never created is then
// still known to live there.
func (c *Catalog) SoleSchema() string {
	if c.searchPath == nil && c.currentUser() == "" {
		return ""
	}
	var path []string
	for _, s := range c.lookupPath() {
		if s != "pg_catalog" {
			path = append(path, s)
		}
	}
	if len(path) == 1 && (c.searchPath != nil || path[0] != "public") {
		return path[0]
	}
	return ""
}

// SearchPath returns the explicit search path set by SET search_path, or
// ["$user", "public"] by default.
func (c *Catalog) SearchPath() []string {
	if c.searchPath == nil {
		return []string{"$user", "public"}
	}
	return append([]string(nil), c.searchPath...)
}

func (c *Catalog) origin() Origin {
	return Origin{InChangeSet: c.inChangeSet, Path: c.path, Line: c.line}
}

// lookupPath lists the schemas searched for unqualified names. Callers
// only read the list: it may be c's search path itself, or shared by every
// catalog, which spares a list per name looked up.
func (c *Catalog) lookupPath() []string {
	sp := c.searchPath
	if sp == nil {
		if u := c.currentUser(); u == "" || !c.schemas.Has(schemaKey(u)) {
			return publicOnly
		}
		sp = []string{"$user", "public"}
	}
	if !slices.ContainsFunc(sp, notSearched) {
		return sp
	}
	var out []string
	for _, s := range sp {
		if s == "$user" {
			// "$user" is the current user's schema when one by that name
			// exists; the deploy's own user is unknown.
			if u := c.currentUser(); u != "" && c.schemas.Has(schemaKey(u)) {
				out = append(out, u)
			}
			continue
		}
		if s == "pg_temp" || strings.HasPrefix(s, "pg_temp_") {
			continue
		}
		out = append(out, s)
	}
	return out
}

// publicOnly is the default search path when "$user" names no schema.
var publicOnly = []string{"public"}

// notSearched is true for the entries of a search path that lookupPath
// replaces or drops: "$user" and the temporary schemas.
func notSearched(s string) bool {
	return s == "$user" || s == "pg_temp" || strings.HasPrefix(s, "pg_temp_")
}

// creationSchema is where unqualified CREATE puts objects. PostgreSQL skips
// schemas that do not exist; the catalog cannot tell a schema created outside
// the migrations from a typo, so it takes the first entry it could be.
func (c *Catalog) creationSchema() string {
	for _, s := range c.lookupPath() {
		if s != "pg_catalog" {
			return s
		}
	}
	return "public"
}

func (c *Catalog) ensureSchema(name string) {
	if name != "" && !c.schemas.Has(schemaKey(name)) {
		// A schema used but never created by a migration: it exists in the
		// database, but its origin is unknown.
		c.schemas.Set(c.owner, schemaKey(name), &Schema{Name: name, owner: c.owner})
	}
}

// Schema returns a schema that a migration created or used.
func (c *Catalog) Schema(name string) *Schema { return c.schemas.Get(schemaKey(name)) }

// Schemas returns the known schemas in name order.
func (c *Catalog) Schemas() []*Schema {
	out := make([]*Schema, 0, c.schemas.Len())
	for _, s := range c.schemas.All() {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Relation resolves a RangeVar with the current search path.
func (c *Catalog) Relation(rv *pg_query.RangeVar) *Table {
	if rv == nil || rv.GetRelpersistence() == "t" {
		return nil
	}
	return c.relation(rv.GetSchemaname(), rv.GetRelname())
}

func (c *Catalog) relation(schema, name string) *Table {
	if schema != "" {
		return c.tables.Get(qname{schema, name})
	}
	for _, s := range c.lookupPath() {
		if t := c.tables.Get(qname{s, name}); t != nil {
			return t
		}
	}
	return nil
}

// Table returns a relation by schema and name; schema "" uses the search path.
func (c *Catalog) Table(schema, name string) *Table { return c.relation(schema, name) }

// Tables returns every relation ordered by schema and name.
func (c *Catalog) Tables() []*Table {
	out := make([]*Table, 0, c.tables.Len())
	for _, t := range c.tables.All() {
		out = append(out, t)
	}
	slices.SortFunc(out, compareTables)
	return out
}

// ChangeSetTables returns the relations holding something created in the
// change set (the relation, or one of its columns, constraints or
// indexes), ordered like Tables. After Settle it costs what changed
// since, not the size of the schema.
func (c *Catalog) ChangeSetTables() []*Table {
	var settled pmap.Map[qname, *Table]
	if c.settled != nil {
		settled = c.settled.tables
	}
	out := inChangeSet(settled, c.tables, tableInChangeSet)
	slices.SortFunc(out, compareTables)
	return out
}

// compareTables orders tables by schema, then name: the order of Tables.
// No two tables of a catalog have both the same, so the order is total.
func compareTables(a, b *Table) int {
	if c := strings.Compare(a.Schema, b.Schema); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// IndexByName finds an index and its table; schema "" uses the search path.
func (c *Catalog) IndexByName(schema, name string) (*Index, *Table) {
	if schema != "" {
		return c.indexIn(schema, name)
	}
	for _, s := range c.lookupPath() {
		if ix, t := c.indexIn(s, name); ix != nil {
			return ix, t
		}
	}
	return nil, nil
}

func (c *Catalog) indexIn(schema, name string) (*Index, *Table) {
	// Index names are unique per schema, so there is one table at most,
	// unless a statement PostgreSQL would have refused got through; the
	// first in name order then wins.
	rc := c.idx.refs[refIndexName].Get(qname{schema, name})
	if rc.Len() == 1 {
		for tq := range rc.All() {
			t := c.tables.Get(tq)
			if ix := t.Index(name); ix != nil {
				return ix, t
			}
		}
		return nil, nil
	}
	for _, t := range c.referrers(refIndexName, qname{schema, name}) {
		if ix := t.Index(name); ix != nil {
			return ix, t
		}
	}
	return nil, nil
}

// ConstraintByName finds a constraint of t.
func (c *Catalog) ConstraintByName(t *Table, name string) *Constraint {
	if t == nil {
		return nil
	}
	return t.Constraint(name)
}

// Enum returns an enum type; schema "" uses the search path.
func (c *Catalog) Enum(schema, name string) *Enum {
	if schema != "" {
		return c.enums.Get(qname{schema, name})
	}
	for _, s := range c.lookupPath() {
		if e := c.enums.Get(qname{s, name}); e != nil {
			return e
		}
	}
	return nil
}

// Domain returns a domain; schema "" uses the search path.
func (c *Catalog) Domain(schema, name string) *Domain {
	if schema != "" {
		return c.domains.Get(qname{schema, name})
	}
	for _, s := range c.lookupPath() {
		if d := c.domains.Get(qname{s, name}); d != nil {
			return d
		}
	}
	return nil
}

// Sequence returns a sequence; schema "" uses the search path.
func (c *Catalog) Sequence(schema, name string) *Sequence {
	if schema != "" {
		return c.sequences.Get(qname{schema, name})
	}
	for _, s := range c.lookupPath() {
		if q := c.sequences.Get(qname{s, name}); q != nil {
			return q
		}
	}
	return nil
}

// Enums returns every enum ordered by schema and name.
func (c *Catalog) Enums() []*Enum {
	out := make([]*Enum, 0, c.enums.Len())
	for _, e := range c.enums.All() {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		return lessQ(qname{out[i].Schema, out[i].Name}, qname{out[j].Schema, out[j].Name})
	})
	return out
}

// Domains returns every domain ordered by schema and name.
func (c *Catalog) Domains() []*Domain {
	out := make([]*Domain, 0, c.domains.Len())
	for _, d := range c.domains.All() {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		return lessQ(qname{out[i].Schema, out[i].Name}, qname{out[j].Schema, out[j].Name})
	})
	return out
}

// Sequences returns every sequence ordered by schema and name.
func (c *Catalog) Sequences() []*Sequence {
	out := make([]*Sequence, 0, c.sequences.Len())
	for _, s := range c.sequences.All() {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		return lessQ(qname{out[i].Schema, out[i].Name}, qname{out[j].Schema, out[j].Name})
	})
	return out
}

func lessQ(a, b qname) bool {
	if a.schema != b.schema {
		return a.schema < b.schema
	}
	return a.name < b.name
}

// Partitions returns the partitions of a partitioned table in name order.
func (c *Catalog) Partitions(t *Table) []*Table {
	if t == nil {
		return nil
	}
	// Only partitioned tables have partitions (PostgreSQL refuses PARTITION
	// OF anything else).
	if t.Kind != KindPartitionedTable {
		return nil
	}
	return c.referrers(refParent, qname{t.Schema, t.Name})
}

// Parent returns the partitioned table that t is a partition of.
func (c *Catalog) Parent(t *Table) *Table {
	if t == nil || t.parent.name == "" {
		return nil
	}
	return c.tables.Get(t.parent)
}

// ForeignKeyRef is a foreign key together with the table that holds it.
type ForeignKeyRef struct {
	Table      *Table
	Constraint *Constraint
}

// ReferencingForeignKeys lists the foreign keys of other tables (and
// self-references) that point at t.
func (c *Catalog) ReferencingForeignKeys(t *Table) []ForeignKeyRef {
	if t == nil {
		return nil
	}
	var out []ForeignKeyRef
	for _, o := range c.referrers(refForeignKey, qname{t.Schema, t.Name}) {
		for _, k := range o.Constraints {
			if k.Kind == ForeignKey && k.RefSchema == t.Schema && k.RefTable == t.Name {
				out = append(out, ForeignKeyRef{o, k})
			}
		}
	}
	return out
}

// Column returns the named column or nil.
func (t *Table) Column(name string) *Column {
	if t == nil {
		return nil
	}
	for _, col := range t.Columns {
		if col.Name == name {
			return col
		}
	}
	return nil
}

// Constraint returns the named constraint or nil.
func (t *Table) Constraint(name string) *Constraint {
	if t == nil {
		return nil
	}
	for _, k := range t.Constraints {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Index returns the named index or nil.
func (t *Table) Index(name string) *Index {
	if t == nil {
		return nil
	}
	for _, ix := range t.Indexes {
		if ix.Name == name {
			return ix
		}
	}
	return nil
}

// PrimaryKey returns the primary key constraint or nil.
func (t *Table) PrimaryKey() *Constraint {
	if t == nil {
		return nil
	}
	for _, k := range t.Constraints {
		if k.Kind == PrimaryKey {
			return k
		}
	}
	return nil
}

// QualifiedName is schema.name, quoted as quote_ident would.
func (t *Table) QualifiedName() string { return qualify(t.Schema, t.Name) }

// QualifiedName is schema.name, quoted as quote_ident would.
func (e *Enum) QualifiedName() string { return qualify(e.Schema, e.Name) }

// QualifiedName is schema.name, quoted as quote_ident would.
func (s *Sequence) QualifiedName() string { return qualify(s.Schema, s.Name) }

// QualifiedName is schema.name, quoted as quote_ident would.
func (d *Domain) QualifiedName() string { return qualify(d.Schema, d.Name) }

func qualify(schema, name string) string {
	if schema == "" {
		return QuoteIdent(name)
	}
	return QuoteIdent(schema) + "." + QuoteIdent(name)
}

// ObjectRef names a catalog object. Kind is one of table, column, view,
// materialized view, foreign table, index, constraint, type, domain, schema,
// sequence, or default (a column default that goes away with a sequence).
type ObjectRef struct {
	Kind   string
	Schema string
	Table  string
	Name   string
	// NeedsCascade is set on a dependent that makes a plain (RESTRICT) DROP
	// fail; dependents without it (a table's own indexes, owned sequences,
	// partitions) go away silently.
	NeedsCascade bool
}

func (r ObjectRef) String() string {
	switch r.Kind {
	case "table":
		return qualify(r.Schema, r.Name)
	case "column":
		return qualify(r.Schema, r.Table) + "." + QuoteIdent(r.Name)
	case "constraint", "default":
		return r.Kind + " " + QuoteIdent(r.Name) + " on " + qualify(r.Schema, r.Table)
	case "schema":
		return "schema " + QuoteIdent(r.Name)
	}
	return r.Kind + " " + qualify(r.Schema, r.Name)
}

func (r ObjectRef) key() ObjectRef {
	r.NeedsCascade = false
	return r
}

func tableRef(t *Table) ObjectRef {
	kind := "table"
	switch t.Kind {
	case KindView:
		kind = "view"
	case KindMaterializedView:
		kind = "materialized view"
	case KindForeignTable:
		kind = "foreign table"
	}
	return ObjectRef{Kind: kind, Schema: t.Schema, Name: t.Name}
}

// Clone returns an independent copy. It costs no more than the number of
// maps: the copy and c share every object and map node, and each makes a
// private copy of what it changes (c included: Clone gives it a new owner).
// Parse-tree nodes are shared because the catalog never modifies them.
func (c *Catalog) Clone() *Catalog {
	return c.fork()
}

// Snapshot is a copy of a catalog's objects as they were when it was
// taken: all it is good for is being compared (ShapeChanges) with the
// catalog it was taken from, after that catalog changed.
type Snapshot struct{ c *Catalog }

// Snapshot keeps the objects of c as they are now; it costs what Clone
// costs, and makes c copy what it changes from now on.
func (c *Catalog) Snapshot() Snapshot { return Snapshot{c.fork()} }

// Scratch is Clone for a copy its caller drops, with every copy made of
// it, before it changes or copies c again, and then tells c so
// (DropScratch): c then changes in place again what it made before the
// copy, where after a Clone it copies each such object at its first
// change.
func (c *Catalog) Scratch() *Catalog {
	owner, copies, maps := c.owner, c.copies, c.maps()
	n := c.fork()
	n.scratchOf = &scratchOrigin{parent: c, ownerBefore: owner, ownerAfter: c.owner, copiesBefore: copies, maps: maps}
	return n
}

// DropScratch tells c that scratch, a copy c.Scratch returned, and every
// copy made of scratch, are no longer used. When c has neither changed
// nor been copied (or settled) since the copy, nothing but c can reach
// what c made before it, and c takes back the owner and the private
// copies it had then, as if the copy had never been made; otherwise
// nothing changes. It reports whether c took them back.
func (c *Catalog) DropScratch(scratch *Catalog) bool {
	o := scratch.scratchOf
	if o == nil || o.parent != c {
		return false
	}
	scratch.scratchOf = nil
	if c.owner != o.ownerAfter || c.copies != nil || c.maps() != o.maps {
		return false
	}
	c.owner, c.copies = o.ownerBefore, o.copiesBefore
	return true
}

// scratchOrigin is what DropScratch needs to undo a Scratch: the catalog
// copied, its owner and private copies before and its owner after, and
// its maps then (every change to c writes one of them, so equal maps and
// no private copy since say c has not changed).
type scratchOrigin struct {
	parent                  *Catalog
	ownerBefore, ownerAfter *pmap.Owner
	copiesBefore            map[*Table]*Table
	maps                    catalogMaps
}

// catalogMaps are the roots of a catalog's maps.
type catalogMaps struct {
	schemas      pmap.Map[qname, *Schema]
	tables       pmap.Map[qname, *Table]
	enums        pmap.Map[qname, *Enum]
	domains      pmap.Map[qname, *Domain]
	sequences    pmap.Map[qname, *Sequence]
	functions    pmap.Map[qname, []*Function]
	triggerFuncs pmap.Map[qname, bool]
	storedFuncs  pmap.Map[qname, StoredUse]
	idx          indexes
}

func (c *Catalog) maps() catalogMaps {
	return catalogMaps{c.schemas, c.tables, c.enums, c.domains, c.sequences, c.functions, c.triggerFuncs, c.storedFuncs, c.idx}
}

// fork returns a copy of c sharing its maps and objects, and makes
// everything the two share read-only by giving both new owners.
func (c *Catalog) fork() *Catalog {
	n := &Catalog{
		schemas:      c.schemas,
		tables:       c.tables,
		enums:        c.enums,
		domains:      c.domains,
		sequences:    c.sequences,
		functions:    c.functions,
		triggerFuncs: c.triggerFuncs,
		storedFuncs:  c.storedFuncs,
		owner:        pmap.NewOwner(),
		searchPath:   cloneStrings(c.searchPath),
		role:         c.role,
		sessionUser:  c.sessionUser,
		path:         c.path,
		line:         c.line,
		inChangeSet:  c.inChangeSet,
		idx:          c.idx,
		calls:        c.calls,
		texts:        c.texts,
		settled:      c.settled,
	}
	c.owner, c.copies = pmap.NewOwner(), nil
	return n
}

// editTable returns the copy of t that c may change: t itself when c made
// it, otherwise a private copy, which replaces t in c's tables. Every
// change to a table or to its columns, constraints or indexes goes through
// it first; pointers to the children of t must be taken again from the
// copy.
func (c *Catalog) editTable(t *Table) *Table {
	t = c.editTableShallow(t)
	if t != nil && t.sharedKids {
		t.ownKids()
	}
	return t
}

// editTableShallow is editTable for a change that adds columns,
// constraints or indexes to t, removes some (new lists of the others), or
// changes t's own fields, and changes none of the children t has: a copy
// shares them with t until editTable
// copies them (Table.sharedKids). Adding a column to a table of a
// hundred then costs a list of pointers, not a hundred columns.
func (c *Catalog) editTableShallow(t *Table) *Table {
	if t == nil || t.owner == c.owner {
		return t
	}
	if n := c.copies[t]; n != nil {
		return n
	}
	n := t.shallowClone()
	n.owner = c.owner
	if c.copies == nil {
		c.copies = map[*Table]*Table{}
	}
	c.copies[t] = n
	// The copy takes t's place and its keys; a table no longer in c has
	// none left to withdraw (it withdrew them when it left).
	if q := (qname{t.Schema, t.Name}); c.tables.Get(q) == t {
		if t.keys != nil {
			n.keys = t.keys.clone()
		}
		c.tables.Set(c.owner, q, n)
	}
	return n
}

// current is the table c holds for t: its private copy of t, if it made
// one, or t.
func (c *Catalog) current(t *Table) *Table {
	if n := c.copies[t]; n != nil {
		return n
	}
	return t
}

// editSchema, editEnum, editDomain and editSequence are editTable for the
// other objects; the caller stores the copy (the maps are keyed by name,
// and a change may be a rename).
func (c *Catalog) editSchema(s *Schema) *Schema {
	if s.owner == c.owner {
		return s
	}
	n := *s
	n.owner = c.owner
	return &n
}

func (c *Catalog) editEnum(e *Enum) *Enum {
	if e.owner == c.owner {
		return e
	}
	n := *e
	n.Values = cloneStrings(e.Values)
	n.owner = c.owner
	return &n
}

func (c *Catalog) editDomain(d *Domain) *Domain {
	if d.owner == c.owner {
		return d
	}
	n := *d
	n.BaseType = d.BaseType.clone()
	n.Constraints = nil
	for _, k := range d.Constraints {
		n.Constraints = append(n.Constraints, k.clone())
	}
	n.owner = c.owner
	return &n
}

func (c *Catalog) editSequence(s *Sequence) *Sequence {
	if s.owner == c.owner {
		return s
	}
	n := *s
	n.owner = c.owner
	return &n
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

// shallowClone copies t with lists of its own, whose children are t's
// (sharedKids): nothing may change them before ownKids.
func (t *Table) shallowClone() *Table {
	n := *t
	n.keys = nil
	n.UpdateTriggers = slices.Clone(t.UpdateTriggers)
	n.Columns = slices.Clone(t.Columns)
	n.Constraints = slices.Clone(t.Constraints)
	n.Indexes = slices.Clone(t.Indexes)
	n.DependsOn = append([]ObjectRef(nil), t.DependsOn...)
	n.sharedKids = len(t.Columns)+len(t.Constraints)+len(t.Indexes) > 0
	return &n
}

// ownKids replaces t's children with copies of them, which t alone holds.
func (t *Table) ownKids() {
	t.sharedKids = false
	// One allocation per kind of child, and one for all the children's
	// lists of each element type, rather than one per child and list.
	var strs, mods, keys int
	for _, col := range t.Columns {
		strs += len(col.generatedFrom)
		mods += len(col.Type.Mods)
	}
	for _, k := range t.Constraints {
		strs += len(k.Columns) + len(k.RefColumns)
	}
	for _, ix := range t.Indexes {
		strs += len(ix.Include) + len(ix.exprColumns)
		keys += len(ix.Keys)
	}
	sl := slab[string]{all: make([]string, 0, strs)}
	ml := slab[int32]{all: make([]int32, 0, mods)}
	kl := slab[IndexKey]{all: make([]IndexKey, 0, keys)}
	if len(t.Columns) > 0 {
		cols := make([]Column, len(t.Columns))
		for i, col := range t.Columns {
			cols[i] = *col
			cols[i].Type.Mods = ml.copy(col.Type.Mods)
			cols[i].generatedFrom = sl.copy(col.generatedFrom)
			t.Columns[i] = &cols[i]
		}
	}
	if len(t.Constraints) > 0 {
		cons := make([]Constraint, len(t.Constraints))
		for i, k := range t.Constraints {
			cons[i] = *k
			cons[i].Columns = sl.copy(k.Columns)
			cons[i].RefColumns = sl.copy(k.RefColumns)
			t.Constraints[i] = &cons[i]
		}
	}
	if len(t.Indexes) > 0 {
		ixs := make([]Index, len(t.Indexes))
		for i, ix := range t.Indexes {
			ixs[i] = *ix
			ixs[i].Keys = kl.copy(ix.Keys)
			ixs[i].Include = sl.copy(ix.Include)
			ixs[i].exprColumns = sl.copy(ix.exprColumns)
			t.Indexes[i] = &ixs[i]
		}
	}
}

// slab hands out copies of lists from one array sized for all of them
// (Table.clone). A copy's capacity ends where it does, so that appending
// to it moves it out rather than overwriting the next; an empty list
// comes back nil, as cloneStrings gives it.
type slab[T any] struct{ all []T }

func (s *slab[T]) copy(l []T) []T {
	if len(l) == 0 {
		return nil
	}
	start := len(s.all)
	s.all = append(s.all, l...)
	return s.all[start:len(s.all):len(s.all)]
}

func (k *Constraint) clone() *Constraint {
	var n Constraint
	k.cloneInto(&n)
	return &n
}

func (k *Constraint) cloneInto(n *Constraint) {
	*n = *k
	n.Columns = cloneStrings(k.Columns)
	n.RefColumns = cloneStrings(k.RefColumns)
}

func (ix *Index) clone() *Index {
	var n Index
	ix.cloneInto(&n)
	return &n
}

func (ix *Index) cloneInto(n *Index) {
	*n = *ix
	n.Keys = append([]IndexKey(nil), ix.Keys...)
	n.Include = cloneStrings(ix.Include)
	n.exprColumns = cloneStrings(ix.exprColumns)
}
