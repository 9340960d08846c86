package catalog

import "testing"

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
