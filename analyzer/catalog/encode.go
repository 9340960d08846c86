package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
)

// The encoding is a compact binary form of a catalog, for a cache of
// replayed histories: replaying a long history costs far more than
// reading its result back. It holds the objects and the session state
// only; the lookup indexes are rebuilt from the objects on decoding, by
// the same code that maintains them (putTable, putDomain, putSequence),
// so that the encoding does not depend on how they are kept.
//
// Parse-tree nodes are written as protobuf bytes. A function keeps the
// CREATE FUNCTION statement its body was read from, and decoding reads
// the body again.
//
// Layout: the magic "mgcat", a format version, then the fields in the
// order encoder.catalog writes them, then the SHA-256 of everything
// before it. Integers are varints, strings and byte strings are
// length-prefixed, a slice or pointer is prefixed with its length plus
// one (0 for nil), so that nil and empty come back as they were.
//
// The checksum is verified before anything is decoded: parse trees go to
// the parser's C code (a function's body is deparsed), which trusts them,
// so damaged bytes must never reach it.

// EncodingVersion changes whenever the layout or the meaning of a field
// changes: an entry of another version is not decoded, and cache keys
// include it.
const EncodingVersion = 3

var encodingMagic = []byte("mgcat")

// ErrEncoding is the error Decode returns for bytes that are not a
// catalog of this encoding version (corrupt, truncated or foreign).
var ErrEncoding = errors.New("not a catalog encoding of this version")

// Encode writes the catalog in the binary form Decode reads. It fails
// for a catalog in the middle of applying procedural code (never the case
// between statements).
func (c *Catalog) Encode() ([]byte, error) {
	if c.procedural.off || c.procedural.depth != 0 || len(c.procedural.calling) != 0 {
		return nil, errors.New("encoding a catalog: procedural code is running")
	}
	e := &encoder{b: make([]byte, 0, 4096)}
	e.b = append(e.b, encodingMagic...)
	e.uint(EncodingVersion)
	if err := e.catalog(c); err != nil {
		return nil, fmt.Errorf("encoding a catalog: %w", err)
	}
	sum := sha256.Sum256(e.b)
	return append(e.b, sum[:]...), nil
}

// Decode reads a catalog written by Encode. Bytes that are not a whole
// encoding of this version give an error wrapping ErrEncoding, never a
// partial catalog.
func Decode(b []byte) (c *Catalog, err error) {
	defer func() {
		// The reader checks every length against what is left; a panic
		// here would be a bug, and a cache entry must never crash a run.
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%w: %v", ErrEncoding, r)
		}
	}()
	if len(b) < len(encodingMagic)+sha256.Size || !bytes.HasPrefix(b, encodingMagic) {
		return nil, fmt.Errorf("%w: no magic", ErrEncoding)
	}
	body := b[:len(b)-sha256.Size]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], b[len(body):]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrEncoding)
	}
	d := &decoder{b: body[len(encodingMagic):], strings: map[string]string{}}
	if v := d.uint(); d.err == nil && v != EncodingVersion {
		return nil, fmt.Errorf("%w: version %d", ErrEncoding, v)
	}
	c = d.catalog()
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

type encoder struct{ b []byte }

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int)     { e.b = binary.AppendVarint(e.b, int64(v)) }
func (e *encoder) str(s string)  { e.uint(uint64(len(s))); e.b = append(e.b, s...) }

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// count writes a slice's length plus one, 0 for nil.
func (e *encoder) count(n int, isNil bool) {
	if isNil {
		e.uint(0)
		return
	}
	e.uint(uint64(n) + 1)
}

func (e *encoder) strs(s []string) {
	e.count(len(s), s == nil)
	for _, v := range s {
		e.str(v)
	}
}

func (e *encoder) node(n *pg_query.Node) error {
	if n == nil {
		e.uint(0)
		return nil
	}
	// pgtree.Marshal writes proto.Marshal's bytes (deterministic: the
	// parse tree has no maps) without protobuf-go's per-type set-up.
	b, err := pgtree.Marshal(n)
	if err != nil {
		return fmt.Errorf("a parse tree: %w", err)
	}
	e.uint(uint64(len(b)) + 1)
	e.b = append(e.b, b...)
	return nil
}

func (e *encoder) origin(o Origin) { e.bool(o.InChangeSet); e.str(o.Path); e.int(o.Line) }
func (e *encoder) qname(q qname)   { e.str(q.schema); e.str(q.name) }

func (e *encoder) typ(t Type) {
	e.str(t.Schema)
	e.str(t.Name)
	e.count(len(t.Mods), t.Mods == nil)
	for _, m := range t.Mods {
		e.int(int(m))
	}
	e.int(t.ArrayDims)
}

func (e *encoder) catalog(c *Catalog) error {
	e.bool(c.searchPath != nil)
	e.strs(c.searchPath)
	e.str(c.role)
	e.str(c.sessionUser)
	e.str(c.path)
	e.int(c.line)
	e.bool(c.inChangeSet)

	schemas := c.Schemas()
	e.uint(uint64(len(schemas)))
	for _, s := range schemas {
		if c.schemas.Get(schemaKey(s.Name)) != s {
			return fmt.Errorf("schema %s is not filed under its name", s.Name)
		}
		e.str(s.Name)
		e.origin(s.Origin)
	}
	tables := c.Tables()
	e.uint(uint64(len(tables)))
	for _, t := range tables {
		if c.tables.Get(qname{t.Schema, t.Name}) != t {
			// Decoding files each object under its own name.
			return fmt.Errorf("table %s is not filed under its name", t.QualifiedName())
		}
		if err := e.table(t); err != nil {
			return fmt.Errorf("table %s: %w", t.QualifiedName(), err)
		}
	}
	enums := c.Enums()
	e.uint(uint64(len(enums)))
	for _, en := range enums {
		if c.enums.Get(qname{en.Schema, en.Name}) != en {
			return fmt.Errorf("type %s is not filed under its name", en.QualifiedName())
		}
		e.str(en.Schema)
		e.str(en.Name)
		e.strs(en.Values)
		e.origin(en.Origin)
	}
	domains := c.Domains()
	e.uint(uint64(len(domains)))
	for _, d := range domains {
		if c.domains.Get(qname{d.Schema, d.Name}) != d {
			return fmt.Errorf("domain %s is not filed under its name", d.QualifiedName())
		}
		e.str(d.Schema)
		e.str(d.Name)
		e.typ(d.BaseType)
		e.bool(d.NotNull)
		e.str(d.Default)
		e.count(len(d.Constraints), d.Constraints == nil)
		for _, k := range d.Constraints {
			if err := e.constraint(k); err != nil {
				return fmt.Errorf("domain %s: %w", d.QualifiedName(), err)
			}
		}
		e.origin(d.Origin)
	}
	sequences := c.Sequences()
	e.uint(uint64(len(sequences)))
	for _, s := range sequences {
		if c.sequences.Get(qname{s.Schema, s.Name}) != s {
			return fmt.Errorf("sequence %s is not filed under its name", s.QualifiedName())
		}
		e.str(s.Schema)
		e.str(s.Name)
		e.str(s.OwnedByTable)
		e.str(s.OwnedByColumn)
		e.bool(s.Identity)
		e.origin(s.Origin)
	}

	fkeys := make([]qname, 0, c.functions.Len())
	for q := range c.functions.All() {
		fkeys = append(fkeys, q)
	}
	sort.Slice(fkeys, func(i, j int) bool { return lessQ(fkeys[i], fkeys[j]) })
	e.uint(uint64(len(fkeys)))
	for _, q := range fkeys {
		e.qname(q)
		list := c.functions.Get(q)
		e.count(len(list), list == nil)
		for _, f := range list {
			if f.stmt == nil {
				return fmt.Errorf("function %s: the statement it was created by is not kept", f.QualifiedName())
			}
			e.str(f.Schema)
			e.str(f.Name)
			e.str(f.Signature)
			e.origin(f.Origin)
			if err := e.node(f.stmt); err != nil {
				return fmt.Errorf("function %s: %w", f.QualifiedName(), err)
			}
		}
	}
	tkeys := make([]qname, 0, c.triggerFuncs.Len())
	for q, on := range c.triggerFuncs.All() {
		if on {
			tkeys = append(tkeys, q)
		}
	}
	sort.Slice(tkeys, func(i, j int) bool { return lessQ(tkeys[i], tkeys[j]) })
	e.uint(uint64(len(tkeys)))
	for _, q := range tkeys {
		e.qname(q)
	}
	skeys := make([]qname, 0, c.storedFuncs.Len())
	for q := range c.storedFuncs.All() {
		skeys = append(skeys, q)
	}
	sort.Slice(skeys, func(i, j int) bool { return lessQ(skeys[i], skeys[j]) })
	e.uint(uint64(len(skeys)))
	for _, q := range skeys {
		use := c.storedFuncs.Get(q)
		e.qname(q)
		e.str(use.Who)
		e.str(use.When)
	}
	return nil
}

func (e *encoder) table(t *Table) error {
	e.str(t.Schema)
	e.str(t.Name)
	e.int(int(t.Kind))
	e.count(len(t.Columns), t.Columns == nil)
	for _, col := range t.Columns {
		e.str(col.Name)
		e.typ(col.Type)
		e.bool(col.NotNull)
		e.str(col.Default)
		if err := e.node(col.DefaultNode); err != nil {
			return err
		}
		e.str(col.Identity)
		e.str(col.Generated)
		if err := e.node(col.GeneratedNode); err != nil {
			return err
		}
		e.str(col.Collation)
		e.origin(col.Origin)
		e.strs(col.generatedFrom)
	}
	e.count(len(t.Constraints), t.Constraints == nil)
	for _, k := range t.Constraints {
		if err := e.constraint(k); err != nil {
			return err
		}
	}
	e.count(len(t.Indexes), t.Indexes == nil)
	for _, ix := range t.Indexes {
		e.str(ix.Name)
		e.count(len(ix.Keys), ix.Keys == nil)
		for _, k := range ix.Keys {
			e.str(k.Column)
			e.str(k.Expr)
			if err := e.node(k.ExprNode); err != nil {
				return err
			}
			e.bool(k.Desc)
		}
		e.strs(ix.Include)
		e.bool(ix.Unique)
		e.bool(ix.Primary)
		e.bool(ix.NullsNotDistinct)
		e.str(ix.Method)
		e.str(ix.Where)
		if err := e.node(ix.WhereNode); err != nil {
			return err
		}
		e.bool(ix.Valid)
		e.bool(ix.Concurrently)
		e.str(ix.Constraint)
		e.origin(ix.Origin)
		e.qname(ix.parent)
		e.strs(ix.exprColumns)
	}
	e.bool(t.Unlogged)
	e.str(t.PartitionOf)
	e.str(t.PartitionStrategy)
	e.bool(t.ColumnsUnknown)
	if err := e.node(t.Query); err != nil {
		return err
	}
	e.str(t.Definition)
	e.count(len(t.DependsOn), t.DependsOn == nil)
	for _, r := range t.DependsOn {
		e.str(r.Kind)
		e.str(r.Schema)
		e.str(r.Table)
		e.str(r.Name)
		e.bool(r.NeedsCascade)
	}
	e.strs(t.UpdateTriggers)
	e.origin(t.Origin)
	e.qname(t.parent)
	return nil
}

func (e *encoder) constraint(k *Constraint) error {
	e.str(k.Name)
	e.str(string(k.Kind))
	e.strs(k.Columns)
	e.bool(k.Validated)
	e.str(k.Check)
	if err := e.node(k.CheckNode); err != nil {
		return err
	}
	e.str(k.NotNullColumn)
	e.str(k.RefSchema)
	e.str(k.RefTable)
	e.strs(k.RefColumns)
	e.str(k.OnDelete)
	e.str(k.OnUpdate)
	e.str(k.Index)
	e.bool(k.Deferrable)
	e.bool(k.InitiallyDeferred)
	e.bool(k.NoInherit)
	e.origin(k.Origin)
	return nil
}

// decoder reads what encoder wrote. The first error sticks: every later
// read returns a zero value, and the caller checks err once at the end.
type decoder struct {
	b   []byte
	err error
	// strings interns what is read: a schema's, a type's, a file's name
	// recur in every object, and one copy of each is enough.
	strings map[string]string
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrEncoding, what)
	}
	d.b = nil
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || v > math.MaxInt32 || v < math.MinInt32 {
		d.fail("bad integer")
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail("truncated")
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) str() string {
	b := d.bytes()
	if len(b) == 0 {
		return ""
	}
	if s, ok := d.strings[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(b) <= 64 {
		// Long strings (view definitions, expressions) rarely recur.
		d.strings[s] = s
	}
	return s
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail("bad boolean")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

// count reads a slice length written by encoder.count: -1 for nil. A
// length beyond the bytes left (each element takes one byte at least)
// is corrupt, and is refused before anything is allocated for it.
func (d *decoder) count() int {
	n := d.uint()
	if n == 0 {
		return -1
	}
	if n-1 > uint64(len(d.b)) {
		d.fail("length beyond the end")
		return -1
	}
	return int(n - 1)
}

// length reads a length written with uint (never nil).
func (d *decoder) length() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail("length beyond the end")
		return 0
	}
	return int(n)
}

func (d *decoder) strs() []string {
	n := d.count()
	if n < 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) node() *pg_query.Node {
	n := d.uint()
	if n == 0 || d.err != nil {
		return nil
	}
	if n-1 > uint64(len(d.b)) {
		d.fail("truncated parse tree")
		return nil
	}
	raw := d.b[:n-1]
	d.b = d.b[n-1:]
	node := new(pg_query.Node)
	if err := pgtree.Unmarshal(raw, node); err != nil {
		d.fail("bad parse tree")
		return nil
	}
	return node
}

func (d *decoder) origin() Origin {
	return Origin{InChangeSet: d.bool(), Path: d.str(), Line: d.int()}
}

func (d *decoder) qname() qname { return qname{schema: d.str(), name: d.str()} }

func (d *decoder) typ() Type {
	t := Type{Schema: d.str(), Name: d.str()}
	if n := d.count(); n >= 0 {
		t.Mods = make([]int32, n)
		for i := range t.Mods {
			t.Mods[i] = int32(d.int())
		}
	}
	t.ArrayDims = d.int()
	return t
}

func (d *decoder) catalog() *Catalog {
	c := New()
	hasPath := d.bool()
	c.searchPath = d.strs()
	if hasPath != (c.searchPath != nil) {
		d.fail("search path")
	}
	c.role = d.str()
	c.sessionUser = d.str()
	c.path = d.str()
	c.line = d.int()
	c.inChangeSet = d.bool()

	// The implicit public schema is there only if the encoded catalog
	// still had it (DROP SCHEMA public).
	c.schemas.Delete(c.owner, schemaKey("public"))
	for n := d.length(); n > 0 && d.err == nil; n-- {
		s := &Schema{Name: d.str(), Origin: d.origin(), owner: c.owner}
		c.schemas.Set(c.owner, schemaKey(s.Name), s)
	}
	for n := d.length(); n > 0 && d.err == nil; n-- {
		t := d.table()
		if d.err == nil {
			c.putTable(t)
		}
	}
	for n := d.length(); n > 0 && d.err == nil; n-- {
		en := &Enum{Schema: d.str(), Name: d.str(), Values: d.strs(), Origin: d.origin(), owner: c.owner}
		c.enums.Set(c.owner, qname{en.Schema, en.Name}, en)
	}
	for n := d.length(); n > 0 && d.err == nil; n-- {
		dom := &Domain{Schema: d.str(), Name: d.str(), BaseType: d.typ(), NotNull: d.bool(), Default: d.str()}
		if k := d.count(); k >= 0 {
			dom.Constraints = make([]*Constraint, k)
			for i := range dom.Constraints {
				dom.Constraints[i] = d.constraint()
			}
		}
		dom.Origin = d.origin()
		if d.err == nil {
			c.putDomain(dom)
		}
	}
	for n := d.length(); n > 0 && d.err == nil; n-- {
		s := &Sequence{Schema: d.str(), Name: d.str(), OwnedByTable: d.str(), OwnedByColumn: d.str(),
			Identity: d.bool(), Origin: d.origin()}
		if d.err == nil {
			c.putSequence(s)
		}
	}
	for n := d.length(); n > 0 && d.err == nil; n-- {
		q := d.qname()
		k := d.count()
		if k < 0 {
			c.functions.Set(c.owner, q, nil)
			continue
		}
		list := make([]*Function, k)
		for i := range list {
			f := &Function{Schema: d.str(), Name: d.str(), Signature: d.str(), Origin: d.origin(), stmt: d.node()}
			if d.err != nil {
				return nil
			}
			if f.stmt.GetCreateFunctionStmt() == nil {
				d.fail("function without its statement")
				return nil
			}
			f.Body = plpgsql.Read(f.stmt, plpgsql.Source{})
			list[i] = f
		}
		c.functions.Set(c.owner, q, list)
	}
	for n := d.length(); n > 0 && d.err == nil; n-- {
		c.triggerFuncs.Set(c.owner, d.qname(), true)
	}
	for n := d.length(); n > 0 && d.err == nil; n-- {
		q := d.qname()
		use := StoredUse{Who: d.str(), When: d.str()}
		if d.err == nil {
			c.storedFuncs.Set(c.owner, q, use)
		}
	}
	if d.err != nil {
		return nil
	}
	return c
}

func (d *decoder) table() *Table {
	t := &Table{Schema: d.str(), Name: d.str(), Kind: TableKind(d.int())}
	if n := d.count(); n >= 0 {
		cols := make([]Column, n)
		t.Columns = make([]*Column, n)
		for i := range cols {
			col := &cols[i]
			col.Name = d.str()
			col.Type = d.typ()
			col.NotNull = d.bool()
			col.Default = d.str()
			col.DefaultNode = d.node()
			col.Identity = d.str()
			col.Generated = d.str()
			col.GeneratedNode = d.node()
			col.Collation = d.str()
			col.Origin = d.origin()
			col.generatedFrom = d.strs()
			t.Columns[i] = col
		}
	}
	if n := d.count(); n >= 0 {
		t.Constraints = make([]*Constraint, n)
		for i := range t.Constraints {
			t.Constraints[i] = d.constraint()
		}
	}
	if n := d.count(); n >= 0 {
		ixs := make([]Index, n)
		t.Indexes = make([]*Index, n)
		for i := range ixs {
			ix := &ixs[i]
			ix.Name = d.str()
			if k := d.count(); k >= 0 {
				ix.Keys = make([]IndexKey, k)
				for j := range ix.Keys {
					ix.Keys[j] = IndexKey{Column: d.str(), Expr: d.str(), ExprNode: d.node(), Desc: d.bool()}
				}
			}
			ix.Include = d.strs()
			ix.Unique = d.bool()
			ix.Primary = d.bool()
			ix.NullsNotDistinct = d.bool()
			ix.Method = d.str()
			ix.Where = d.str()
			ix.WhereNode = d.node()
			ix.Valid = d.bool()
			ix.Concurrently = d.bool()
			ix.Constraint = d.str()
			ix.Origin = d.origin()
			ix.parent = d.qname()
			ix.exprColumns = d.strs()
			t.Indexes[i] = ix
		}
	}
	t.Unlogged = d.bool()
	t.PartitionOf = d.str()
	t.PartitionStrategy = d.str()
	t.ColumnsUnknown = d.bool()
	t.Query = d.node()
	t.Definition = d.str()
	if n := d.count(); n >= 0 {
		t.DependsOn = make([]ObjectRef, n)
		for i := range t.DependsOn {
			t.DependsOn[i] = ObjectRef{Kind: d.str(), Schema: d.str(), Table: d.str(), Name: d.str(), NeedsCascade: d.bool()}
		}
	}
	t.UpdateTriggers = d.strs()
	t.Origin = d.origin()
	t.parent = d.qname()
	return t
}

func (d *decoder) constraint() *Constraint {
	return &Constraint{
		Name: d.str(), Kind: ConstraintKind(d.str()), Columns: d.strs(), Validated: d.bool(),
		Check: d.str(), CheckNode: d.node(), NotNullColumn: d.str(), RefSchema: d.str(),
		RefTable: d.str(), RefColumns: d.strs(), OnDelete: d.str(), OnUpdate: d.str(),
		Index: d.str(), Deferrable: d.bool(), InitiallyDeferred: d.bool(), NoInherit: d.bool(),
		Origin: d.origin(),
	}
}
