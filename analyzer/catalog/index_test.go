package catalog

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestMain makes every statement that any test of this package applies
// check the indexes against a scan of the whole model, so a mutation that
// forgets to update them fails the test that exercises it, and apply to a
// clone first without changing the original (checkCloneIsolation), so a
// mutation that forgets to copy what it changes fails it too.
func TestMain(m *testing.M) {
	testHookApplied = func(c *Catalog) {
		if err := checkIndexes(c); err != nil {
			panic(fmt.Sprintf("indexes out of date after %s:%d: %v", c.path, c.line, err))
		}
	}
	testHookBeforeApply = checkCloneIsolation
	os.Exit(m.Run())
}

// plainIndexes is the indexes as Go maps, to compare with a scan.
type plainIndexes struct {
	refs        [refKinds]map[qname]map[qname]int
	constraints map[qname]int
	owned       map[qname]map[qname]bool
	domainKeys  map[qname][]qname
	ownedBy     map[qname]qname
}

func newPlainIndexes() plainIndexes {
	p := plainIndexes{constraints: map[qname]int{}, owned: map[qname]map[qname]bool{},
		domainKeys: map[qname][]qname{}, ownedBy: map[qname]qname{}}
	for k := range p.refs {
		p.refs[k] = map[qname]map[qname]int{}
	}
	return p
}

// plain copies the catalog's persistent indexes into Go maps.
func plain(idx indexes) plainIndexes {
	p := newPlainIndexes()
	for kind := range idx.refs {
		for q, rc := range idx.refs[kind].All() {
			m := map[qname]int{}
			for t, n := range rc.All() {
				m[t] = n
			}
			p.refs[kind][q] = m
		}
	}
	for q, n := range idx.constraints.All() {
		p.constraints[q] = n
	}
	for q, set := range idx.owned.All() {
		m := map[qname]bool{}
		for s := range set.All() {
			m[s] = true
		}
		p.owned[q] = m
	}
	for q, keys := range idx.domainKeys.All() {
		p.domainKeys[q] = keys
	}
	for q, t := range idx.ownedBy.All() {
		p.ownedBy[q] = t
	}
	return p
}

// scanIndexes builds what the indexes should hold by visiting every object,
// independently of touch.
func scanIndexes(c *Catalog) plainIndexes {
	want := newPlainIndexes()
	for _, t := range c.tables.All() {
		at := qname{t.Schema, t.Name}
		add := func(kind refKind, q qname) {
			if want.refs[kind][q] == nil {
				want.refs[kind][q] = map[qname]int{}
			}
			want.refs[kind][q][at]++
		}
		for _, ix := range t.Indexes {
			add(refIndexName, qname{t.Schema, ix.Name})
			if ix.parent.name != "" {
				add(refIndexParent, ix.parent)
			}
		}
		for _, k := range t.Constraints {
			want.constraints[qname{t.Schema, k.Name}]++
			if k.Kind == ForeignKey {
				add(refForeignKey, qname{k.RefSchema, k.RefTable})
			}
		}
		for _, d := range t.DependsOn {
			if d.Kind == "column" {
				add(refDependsOn, qname{d.Schema, d.Table})
			} else if isRelationKind(d.Kind) {
				add(refDependsOn, qname{d.Schema, d.Name})
			}
		}
		if t.parent.name != "" {
			add(refParent, t.parent)
		}
		for _, col := range t.Columns {
			if _, name, ok := nextvalSequence(col.DefaultNode); ok {
				add(refNextval, qname{"", name})
			}
			add(refColumnType, qname{col.Type.Schema, col.Type.Name})
		}
	}
	for q, d := range c.domains.All() {
		for _, k := range d.Constraints {
			want.constraints[qname{d.Schema, k.Name}]++
			want.domainKeys[q] = append(want.domainKeys[q], qname{d.Schema, k.Name})
		}
	}
	for q, s := range c.sequences.All() {
		if s.OwnedByTable == "" {
			continue
		}
		tq := qname{s.Schema, s.OwnedByTable}
		if want.owned[tq] == nil {
			want.owned[tq] = map[qname]bool{}
		}
		want.owned[tq][q] = true
		want.ownedBy[q] = tq
	}
	return want
}

// checkIndexes compares the maintained indexes with a scan, and the lookups
// built on them with the scans they replaced.
func checkIndexes(c *Catalog) error {
	want, have := scanIndexes(c), plain(c.idx)
	for kind := range want.refs {
		if !reflect.DeepEqual(want.refs[kind], have.refs[kind]) {
			return fmt.Errorf("index %d: have %s, want %s", kind, showRefs(have.refs[kind]), showRefs(want.refs[kind]))
		}
	}
	if !reflect.DeepEqual(want.constraints, have.constraints) {
		return fmt.Errorf("constraint names: have %v, want %v", have.constraints, want.constraints)
	}
	if !reflect.DeepEqual(want.owned, have.owned) {
		return fmt.Errorf("owned sequences: have %v, want %v", have.owned, want.owned)
	}
	if !reflect.DeepEqual(want.ownedBy, have.ownedBy) {
		return fmt.Errorf("sequence owners: have %v, want %v", have.ownedBy, want.ownedBy)
	}
	if !reflect.DeepEqual(want.domainKeys, have.domainKeys) {
		return fmt.Errorf("domain constraint names: have %v, want %v", have.domainKeys, want.domainKeys)
	}
	for q, t := range c.tables.All() {
		if t.keys == nil || t.keys.at != q {
			return fmt.Errorf("table %s.%s is not registered under its name", q.schema, q.name)
		}
	}

	schemas := map[string]bool{"public": true}
	names := map[string]bool{"never_used": true}
	for _, t := range c.tables.All() {
		schemas[t.Schema] = true
		names[t.Name] = true
		for _, ix := range t.Indexes {
			names[ix.Name] = true
		}
		for _, k := range t.Constraints {
			names[k.Name] = true
		}
	}
	for _, s := range c.sequences.All() {
		schemas[s.Schema] = true
		names[s.Name] = true
	}
	for _, d := range c.domains.All() {
		schemas[d.Schema] = true
		for _, k := range d.Constraints {
			names[k.Name] = true
		}
	}
	for s := range schemas {
		for n := range names {
			if got, want := c.relationNameTaken(s, n), scanRelationNameTaken(c, s, n); got != want {
				return fmt.Errorf("relationNameTaken(%s, %s) = %v, scan says %v", s, n, got, want)
			}
			if got, want := c.constraintNameTaken(s, n), scanConstraintNameTaken(c, s, n); got != want {
				return fmt.Errorf("constraintNameTaken(%s, %s) = %v, scan says %v", s, n, got, want)
			}
			gi, gt := c.indexIn(s, n)
			wi, wt := scanIndexIn(c, s, n)
			if gi != wi || gt != wt {
				return fmt.Errorf("indexIn(%s, %s) = %v on %v, scan says %v on %v", s, n, gi, gt, wi, wt)
			}
		}
	}
	for _, t := range c.Tables() {
		if got, want := c.Partitions(t), scanPartitions(c, t); !reflect.DeepEqual(got, want) {
			return fmt.Errorf("Partitions(%s) = %v, scan says %v", t.QualifiedName(), got, want)
		}
		if got, want := c.ReferencingForeignKeys(t), scanReferencingForeignKeys(c, t); !reflect.DeepEqual(got, want) {
			return fmt.Errorf("ReferencingForeignKeys(%s) = %v, scan says %v", t.QualifiedName(), got, want)
		}
		if got, want := c.ownedSequences(qname{t.Schema, t.Name}), scanOwnedSequences(c, t); !reflect.DeepEqual(got, want) {
			return fmt.Errorf("ownedSequences(%s) = %v, scan says %v", t.QualifiedName(), got, want)
		}
	}
	return nil
}

func showRefs(m map[qname]map[qname]int) string {
	var lines []string
	for q, rc := range m {
		for t, n := range rc {
			lines = append(lines, fmt.Sprintf("%s.%s<-%s.%s×%d", q.schema, q.name, t.schema, t.name, n))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, " ")
}

func scanRelationNameTaken(c *Catalog, schema, name string) bool {
	if c.tables.Has(qname{schema, name}) || c.sequences.Has(qname{schema, name}) {
		return true
	}
	ix, _ := scanIndexIn(c, schema, name)
	return ix != nil
}

func scanConstraintNameTaken(c *Catalog, schema, name string) bool {
	for _, t := range c.tables.All() {
		if t.Schema == schema && t.Constraint(name) != nil {
			return true
		}
	}
	for _, d := range c.domains.All() {
		for _, k := range d.Constraints {
			if d.Schema == schema && k.Name == name {
				return true
			}
		}
	}
	return false
}

func scanIndexIn(c *Catalog, schema, name string) (*Index, *Table) {
	for _, t := range c.Tables() {
		if t.Schema != schema {
			continue
		}
		for _, ix := range t.Indexes {
			if ix.Name == name {
				return ix, t
			}
		}
	}
	return nil, nil
}

func scanPartitions(c *Catalog, t *Table) []*Table {
	if t.Kind != KindPartitionedTable {
		return nil
	}
	var out []*Table
	for _, p := range c.Tables() {
		if p.parent == (qname{t.Schema, t.Name}) {
			out = append(out, p)
		}
	}
	return out
}

func scanReferencingForeignKeys(c *Catalog, t *Table) []ForeignKeyRef {
	var out []ForeignKeyRef
	for _, o := range c.Tables() {
		for _, k := range o.Constraints {
			if k.Kind == ForeignKey && k.RefSchema == t.Schema && k.RefTable == t.Name {
				out = append(out, ForeignKeyRef{o, k})
			}
		}
	}
	return out
}

func scanOwnedSequences(c *Catalog, t *Table) []*Sequence {
	var out []*Sequence
	for _, s := range c.Sequences() {
		if s.Schema == t.Schema && s.OwnedByTable == t.Name {
			out = append(out, s)
		}
	}
	return out
}

// TestIndexesAfterReplay replays the golden history (every statement is
// checked by the hook) and then checks that a clone's indexes go on
// working as it changes, and that the original's stay as they were.
func TestIndexesAfterReplay(t *testing.T) {
	c := replay(t, replayFiles(t))
	if err := checkIndexes(c); err != nil {
		t.Fatal(err)
	}
	before := c.Dump()
	cl := c.Clone()
	if err := checkIndexes(cl); err != nil {
		t.Fatalf("clone: %v", err)
	}
	var stmts []string
	for _, tb := range cl.Tables() {
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s RENAME TO %s", tb.QualifiedName(), QuoteIdent(tb.Name+"_moved")))
	}
	mustApply(t, cl, strings.Join(stmts, ";\n"))
	stmts = nil
	for _, tb := range cl.Tables() {
		kind := strings.ToUpper(tb.Kind.String())
		if tb.Kind == KindPartitionedTable {
			kind = "TABLE"
		}
		stmts = append(stmts, fmt.Sprintf("DROP %s IF EXISTS %s CASCADE", kind, tb.QualifiedName()))
	}
	mustApply(t, cl, strings.Join(stmts, ";\n"))
	if err := checkIndexes(c); err != nil {
		t.Fatalf("original after changing the clone: %v", err)
	}
	if c.Dump() != before {
		t.Fatal("changing the clone changed the original")
	}
	if len(cl.Tables()) != 0 || cl.idx.refs[refIndexName].Len() != 0 || cl.idx.constraints.Len() != countDomainConstraints(cl) {
		t.Fatalf("clone still indexes dropped tables: %d tables, %d index names, %d constraint names",
			len(cl.Tables()), cl.idx.refs[refIndexName].Len(), cl.idx.constraints.Len())
	}
}

func countDomainConstraints(c *Catalog) int {
	seen := map[qname]bool{}
	for _, d := range c.domains.All() {
		for _, k := range d.Constraints {
			seen[qname{d.Schema, k.Name}] = true
		}
	}
	return len(seen)
}

// randomHistory writes n statements that create, rename, move and drop
// tables, columns, indexes, constraints, sequences, views, types and
// partitions among a small set of names, so that names collide, objects
// come back after being dropped, and many statements refer to things that
// no longer exist.
func randomHistory(r *rand.Rand, n int) []string {
	pick := func(list ...string) string { return list[r.IntN(len(list))] }
	schema := func() string { return pick("", "", "", "app.", "billing.") }
	table := func() string { return schema() + pick("a", "b", "c", "d", "e", "p") }
	col := func() string { return pick("id", "x", "y", "z", "ref") }
	idx := func() string { return pick("a_x_idx", "b_y_idx", "i1", "i2", "a_pkey", "b_x_key", "c_y_seq") }
	con := func() string { return pick("a_x_check", "b_pkey", "k1", "k2", "a_ref_fkey", "c_x_key") }
	var out []string
	for len(out) < n {
		var s string
		switch r.IntN(26) {
		case 0, 1, 2:
			s = fmt.Sprintf("CREATE TABLE %s (id serial PRIMARY KEY, x int UNIQUE CHECK (x > 0), y text, ref int%s)", table(), pick("", "", " REFERENCES "+table()))
		case 3:
			s = fmt.Sprintf("CREATE TABLE %s (id bigint GENERATED ALWAYS AS IDENTITY, x int, y text, z %s, PRIMARY KEY (id, x)) PARTITION BY RANGE (x)", table(), pick("text", "mood"))
		case 4:
			s = fmt.Sprintf("CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%d) TO (%d)", table(), table(), r.IntN(5)*10, r.IntN(5)*10+10)
		case 5:
			s = fmt.Sprintf("CREATE %sINDEX %s ON %s (%s)", pick("", "UNIQUE "), pick("", idx()), table(), col())
		case 6:
			s = fmt.Sprintf("ALTER TABLE %s RENAME TO %s", table(), pick("a", "b", "c", "d", "e", "p"))
		case 7:
			s = fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", table(), col(), col())
		case 8:
			s = fmt.Sprintf("ALTER INDEX %s%s RENAME TO %s", schema(), idx(), idx())
		case 9:
			s = fmt.Sprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s", table(), con(), con())
		case 10:
			s = fmt.Sprintf("ALTER TABLE %s SET SCHEMA %s", table(), pick("public", "app", "billing"))
		case 11:
			s = fmt.Sprintf("DROP TABLE %s%s", table(), pick("", " CASCADE"))
		case 12:
			s = fmt.Sprintf("DROP INDEX %s%s", schema(), idx())
		case 13:
			s = fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", table(), con())
		case 14:
			s = fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s CASCADE", table(), col())
		case 15:
			s = fmt.Sprintf("ALTER TABLE %s ADD %s", table(), pick(
				"CONSTRAINT "+con()+" CHECK (x <> 0)", "UNIQUE (y)", "CHECK (y <> '')", "FOREIGN KEY (ref) REFERENCES "+table(),
				"PRIMARY KEY (id)", "CONSTRAINT "+con()+" UNIQUE (x, y)"))
		case 16:
			s = fmt.Sprintf("CREATE VIEW %s AS SELECT %s, %s FROM %s", pick("v1", "v2", "app.v3"), col(), col(), table())
		case 17:
			s = fmt.Sprintf("ALTER SEQUENCE %s%s RENAME TO %s", schema(), pick("a_id_seq", "b_id_seq", "s1", "c_id_seq"), pick("s1", "s2", "a_id_seq"))
		case 18:
			s = fmt.Sprintf("CREATE SEQUENCE %s%s OWNED BY %s.%s", schema(), pick("s1", "s2"), table(), col())
		case 19:
			s = fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", table(), pick("w", "v", "u"), pick("serial", "int DEFAULT nextval('s1')", "mood", "pos", "text"))
		case 20:
			s = pick("CREATE TYPE mood AS ENUM ('a')", "ALTER TYPE mood RENAME TO feeling", "ALTER TYPE feeling RENAME TO mood",
				"DROP TYPE mood CASCADE", "CREATE DOMAIN pos AS int CONSTRAINT k1 CHECK (VALUE > 0)", "ALTER DOMAIN pos ADD CHECK (VALUE < 9)",
				"ALTER DOMAIN pos RENAME CONSTRAINT k1 TO k2", "ALTER DOMAIN pos DROP CONSTRAINT k2", "DROP DOMAIN pos CASCADE",
				"ALTER DOMAIN pos SET SCHEMA app", "ALTER DOMAIN app.pos SET SCHEMA public")
		case 21:
			s = fmt.Sprintf("ALTER TABLE %s %s", table(), pick("ATTACH PARTITION "+table()+" FOR VALUES FROM (50) TO (60)", "DETACH PARTITION "+table()))
		case 22:
			s = pick("CREATE SCHEMA app", "CREATE SCHEMA billing", "ALTER SCHEMA app RENAME TO billing", "ALTER SCHEMA billing RENAME TO app",
				"DROP SCHEMA app CASCADE", "DROP SCHEMA billing CASCADE")
		case 23:
			s = fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s %s", table(), col(), pick("TYPE bigint", "TYPE mood USING null", "SET DEFAULT nextval('s1')",
				"DROP DEFAULT", "DROP IDENTITY", "ADD GENERATED ALWAYS AS IDENTITY"))
		case 24:
			s = fmt.Sprintf("CREATE TABLE %s (LIKE %s INCLUDING ALL)", table(), table())
		case 25:
			s = fmt.Sprintf("DROP SEQUENCE %s%s CASCADE", schema(), pick("s1", "s2", "a_id_seq"))
		}
		out = append(out, s)
	}
	return out
}

// TestIndexesRandomHistory applies random histories; the hook compares the
// indexes with a scan after every statement.
func TestIndexesRandomHistory(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		c := New()
		for i, stmt := range randomHistory(r, 300) {
			c.SetPosition(fmt.Sprintf("seed%d.sql", seed), i+1)
			c.Apply(parseOne(t, stmt))
			if i%100 == 99 {
				// A clone must carry indexes of its own that go on working.
				c = c.Clone()
			}
		}
		if err := checkIndexes(c); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}
