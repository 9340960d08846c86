package catalog

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// shapeLines is a shape's lines, sorted, the search path left out.
func shapeLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" && !strings.HasPrefix(l, "search_path ") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// linesMinus is the multiset difference a - b.
func linesMinus(a, b []string) []string {
	count := map[string]int{}
	for _, l := range b {
		count[l]++
	}
	var out []string
	for _, l := range a {
		if count[l] > 0 {
			count[l]--
			continue
		}
		out = append(out, l)
	}
	return out
}

// TestShapeChanges: the lines by which the two partial texts differ are
// the lines by which the two whole shapes differ, and objects that did not
// change are left out of both.
func TestShapeChanges(t *testing.T) {
	base := `CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('ok', 'sad');
CREATE DOMAIN app.posint AS integer CHECK (VALUE > 0);
CREATE TABLE app.users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, mood app.mood);
CREATE TABLE app.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint REFERENCES app.users (id), qty app.posint);
CREATE INDEX orders_user_idx ON app.orders (user_id);
CREATE VIEW app.v AS SELECT id, email FROM app.users;
CREATE TABLE untouched (id int PRIMARY KEY, note text DEFAULT 'x');`
	for _, tc := range []struct {
		name, change string
		unchanged    []string // heads of objects that must not appear in either text
	}{
		{"nothing", "", []string{"table untouched", "table app.users", "schema app"}},
		{"add column", "ALTER TABLE app.users ADD COLUMN note text;", []string{"table untouched", "table app.orders"}},
		{"drop index", "DROP INDEX app.orders_user_idx;", []string{"table untouched", "table app.users"}},
		{"column type", "ALTER TABLE untouched ALTER COLUMN note TYPE varchar(20);", []string{"table app.users", "table app.orders"}},
		{"enum value", "ALTER TYPE app.mood ADD VALUE 'glad';", []string{"table untouched", "table app.orders"}},
		{"domain constraint", "ALTER DOMAIN app.posint ADD CONSTRAINT small CHECK (VALUE < 100);", []string{"table untouched"}},
		{"new table and schema", "CREATE SCHEMA other; CREATE TABLE other.t (id int);", []string{"table untouched", "table app.users"}},
		{"drop cascade", "DROP TABLE app.users CASCADE;", []string{"table untouched"}},
		{"rename", "ALTER TABLE untouched RENAME TO touched;", []string{"table app.users"}},
		{"not null and default", "ALTER TABLE untouched ALTER COLUMN note SET NOT NULL, ALTER COLUMN note DROP DEFAULT;", []string{"table app.users"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := build(t, base)
			after := before.Clone()
			snap := before.Snapshot()
			if tc.change != "" {
				mustApply(t, after, tc.change)
				// The snapshot is a copy: changing its source later
				// changes nothing in it.
				mustApply(t, before, tc.change)
			}
			bs, as := ShapeChanges(snap, after)
			before = snap.c
			wb, wa := shapeLines(before.Shape()), shapeLines(after.Shape())
			gb, ga := shapeLines(bs), shapeLines(as)
			if got, want := linesMinus(gb, ga), linesMinus(wb, wa); !slices.Equal(got, want) {
				t.Errorf("lines only before: got %q, want %q", got, want)
			}
			if got, want := linesMinus(ga, gb), linesMinus(wa, wb); !slices.Equal(got, want) {
				t.Errorf("lines only after: got %q, want %q", got, want)
			}
			if tc.change == "" && (bs != "" || as != "") {
				t.Errorf("no change, yet texts %q and %q", bs, as)
			}
			for _, u := range tc.unchanged {
				for _, l := range append(strings.Split(bs, "\n"), strings.Split(as, "\n")...) {
					if l == u || strings.HasPrefix(l, u+" ") {
						t.Errorf("unchanged %s rendered:\nbefore:\n%s\nafter:\n%s", u, bs, as)
					}
				}
			}
		})
	}
}

// TestShapeEqualCoversFields: the ...ShapeEqual functions compare exactly
// the fields dump reads (keys and owner are bookkeeping, not shape). A field added to one of these types must be
// classified here, and compared there if dump renders it; otherwise a
// change to it would go unseen by the down-part check.
func TestShapeEqualCoversFields(t *testing.T) {
	for _, tc := range []struct {
		v      any
		fields string
	}{
		{Table{}, "Schema Name Kind Columns Constraints Indexes Unlogged PartitionOf PartitionStrategy ColumnsUnknown Query Definition DependsOn UpdateTriggers Origin parent keys sharedKids owner"},
		{Column{}, "Name Type NotNull Default DefaultNode Identity Generated GeneratedNode Collation Origin generatedFrom"},
		{Constraint{}, "Name Kind Columns Validated Check CheckNode NotNullColumn RefSchema RefTable RefColumns OnDelete OnUpdate Index Deferrable InitiallyDeferred NoInherit Origin"},
		{Index{}, "Name Keys Include Unique Primary NullsNotDistinct Method Where WhereNode Valid Concurrently Constraint Origin parent exprColumns"},
		{IndexKey{}, "Column Expr ExprNode Desc"},
		{Type{}, "Schema Name Mods ArrayDims"},
		{Enum{}, "Schema Name Values Origin owner"},
		{Domain{}, "Schema Name BaseType NotNull Default Constraints Origin owner"},
		{Sequence{}, "Schema Name OwnedByTable OwnedByColumn Identity Origin owner"},
		{Schema{}, "Name Origin owner"},
		{ObjectRef{}, "Kind Schema Table Name NeedsCascade"},
	} {
		rt := reflect.TypeOf(tc.v)
		var got []string
		for i := 0; i < rt.NumField(); i++ {
			got = append(got, rt.Field(i).Name)
		}
		if strings.Join(got, " ") != tc.fields {
			t.Errorf("%s has fields %q, the shape comparison was written for %q: update dump, the ...ShapeEqual functions and this list together",
				rt.Name(), strings.Join(got, " "), tc.fields)
		}
	}
}

// TestCloneSharesObjects: a clone shares the original's objects until it
// changes them, its indexes are what a scan of its objects gives before and
// after statements change it, and the original's stay as they were.
func TestCloneSharesObjects(t *testing.T) {
	c := replay(t, replayFiles(t))
	d := c.Clone()
	if err := checkIndexes(d); err != nil {
		t.Fatalf("clone: %v", err)
	}
	if d.tables.Len() == 0 {
		t.Fatal("the replay created no tables")
	}
	for q, tb := range d.tables.All() {
		if c.tables.Get(q) != tb {
			t.Fatalf("table %s was copied by the clone before any change", tb.Name)
		}
	}
	before := c.Dump()
	for _, tb := range d.Tables() {
		mustApply(t, d, "DROP TABLE "+tb.QualifiedName()+" CASCADE;")
		if err := checkIndexes(d); err != nil {
			t.Fatalf("clone after dropping %s: %v", tb.Name, err)
		}
	}
	if err := checkIndexes(c); err != nil || c.Dump() != before {
		t.Fatalf("original changed with its clone: %v", err)
	}
}
