package catalog

import (
	"fmt"
	"slices"
	"testing"
)

func TestSettleMakesEverythingExisting(t *testing.T) {
	c := New()
	c.BeginChangeSet()
	if err := c.ApplySQL("001.sql", `CREATE TYPE mood AS ENUM ('a');
CREATE TABLE t (id int PRIMARY KEY, m mood, n serial);
CREATE INDEX t_m_idx ON t (m);`); err != nil {
		t.Fatal(err)
	}
	tab := c.Table("public", "t")
	if !tab.Origin.InChangeSet || !tab.Columns[0].Origin.InChangeSet {
		t.Fatal("objects created after BeginChangeSet should be in the change set")
	}
	c.Settle()
	ix, _ := c.IndexByName("", "t_m_idx")
	for what, in := range map[string]bool{
		"table": tab.Origin.InChangeSet, "column": tab.Columns[1].Origin.InChangeSet,
		"constraint": tab.Constraints[0].Origin.InChangeSet, "index": ix.Origin.InChangeSet,
		"enum": c.Enum("", "mood").Origin.InChangeSet,
	} {
		if in {
			t.Errorf("%s still in the change set after Settle", what)
		}
	}
	// Objects created after Settle are new again.
	if err := c.ApplySQL("002.sql", "CREATE TABLE u (id int);"); err != nil {
		t.Fatal(err)
	}
	if !c.Table("public", "u").Origin.InChangeSet {
		t.Error("a table created after Settle should be new")
	}
}

// changeSetByScan names every object of c in the change set, looking at
// all of them, the way Settle and ChangeSetTables did before settled.
func changeSetByScan(c *Catalog) (tables []string, all []string) {
	for _, t := range c.Tables() {
		if tableInChangeSet(t) {
			tables = append(tables, t.QualifiedName())
		}
	}
	for _, s := range c.schemas.All() {
		if s.Origin.InChangeSet {
			all = append(all, "schema "+s.Name)
		}
	}
	for _, e := range c.enums.All() {
		if e.Origin.InChangeSet {
			all = append(all, "enum "+e.Name)
		}
	}
	for _, d := range c.domains.All() {
		if domainInChangeSet(d) {
			all = append(all, "domain "+d.Name)
		}
	}
	for _, s := range c.sequences.All() {
		if s.Origin.InChangeSet {
			all = append(all, "sequence "+s.Name)
		}
	}
	return tables, append(all, tables...)
}

func tableNames(ts []*Table) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.QualifiedName())
	}
	return out
}

// settleSteps change objects made before a Settle, after it, and in the
// same file: each kind Settle settles, through each way of changing it.
var settleSteps = []string{
	`CREATE SCHEMA app; CREATE TYPE mood AS ENUM ('a'); CREATE DOMAIN pos AS int CHECK (VALUE > 0);
CREATE SEQUENCE s; CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int, p_id int);
CREATE TABLE app.q (id int PRIMARY KEY);`,
	`ALTER TABLE c ADD CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id);`,
	`CREATE INDEX c_p_idx ON c (p_id);`,
	`ALTER TABLE c ALTER COLUMN id SET DEFAULT nextval('s');`,
	`ALTER TYPE mood ADD VALUE 'b';`,
	`ALTER DOMAIN pos ADD CONSTRAINT pos_small CHECK (VALUE < 100);`,
	`ALTER SEQUENCE s OWNED BY c.id;`,
	`CREATE TABLE app.r (id int, q_id int REFERENCES app.q (id)); ALTER TABLE app.r ADD COLUMN x int;`,
	`ALTER TABLE app.r RENAME TO r2;`,
	`DROP TABLE c; ALTER TABLE p ADD COLUMN y text DEFAULT 'y';`,
	`SELECT 1;`,
	`CREATE SCHEMA other; ALTER TABLE app.q SET SCHEMA other;`,
}

// TestChangeSetAfterSettle: after each Settle, ChangeSetTables lists what a
// look through every table lists, Settle leaves nothing in the change set
// that a look through every object finds, on the catalog, on its copies,
// and on a decoded copy (which has no settled maps).
func TestChangeSetAfterSettle(t *testing.T) {
	files := replayFiles(t)
	var steps []migration
	steps = append(steps, files...)
	for i, s := range settleSteps {
		steps = append(steps, migration{path: fmt.Sprintf("step%02d.sql", i), sql: s})
	}
	c := New()
	c.BeginChangeSet()
	withChanges := 0
	for i, f := range steps {
		c.ResetSession()
		if err := c.ApplySQL(f.path, f.sql); err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
		enc, err := c.Encode()
		if err != nil {
			t.Fatalf("%s: encode: %v", f.path, err)
		}
		decoded, err := Decode(enc)
		if err != nil {
			t.Fatalf("%s: decode: %v", f.path, err)
		}
		for name, cat := range map[string]*Catalog{"catalog": c, "copy": c.Clone(), "decoded": decoded} {
			want, _ := changeSetByScan(cat)
			if got := tableNames(cat.ChangeSetTables()); !slices.Equal(got, want) {
				t.Errorf("%s, %s: ChangeSetTables %q, a look through every table %q", f.path, name, got, want)
			}
		}
		if i%3 == 2 {
			// A copy changed and settled on its own leaves c as it was.
			cp := c.Clone()
			mustApply(t, cp, "CREATE TABLE copy_only (id int REFERENCES p (id))")
			cp.Settle()
			if _, all := changeSetByScan(cp); len(all) > 0 {
				t.Errorf("%s: a copy's Settle left %q in its change set", f.path, all)
			}
			if c.Table("", "copy_only") != nil {
				t.Errorf("%s: a copy's change shows in the catalog", f.path)
			}
		}
		if _, all := changeSetByScan(c); len(all) > 0 {
			withChanges++
		}
		c.Settle()
		if _, all := changeSetByScan(c); len(all) > 0 {
			t.Errorf("%s: Settle left %q in the change set", f.path, all)
		}
		if got := c.ChangeSetTables(); len(got) > 0 {
			t.Errorf("%s: ChangeSetTables after Settle %q", f.path, tableNames(got))
		}
		decoded.Settle()
		if _, all := changeSetByScan(decoded); len(all) > 0 {
			t.Errorf("%s: a decoded catalog's Settle left %q in the change set", f.path, all)
		}
	}
	// Most steps create something (a rename or a validation does not).
	if withChanges < len(steps)*2/3 {
		t.Errorf("only %d of %d steps had something in the change set", withChanges, len(steps))
	}
}
