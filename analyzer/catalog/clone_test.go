package catalog

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// stateOf renders everything a catalog holds, beyond what Dump shows:
// unexported fields, the parse-tree nodes (by address: they are shared and
// never changed), the functions and the indexes. Two catalogs with the same
// state behave alike.
func stateOf(c *Catalog) string {
	var b strings.Builder
	b.WriteString(c.Dump())
	// Parse-tree nodes print by address: fmt would print their text, which
	// is slow and says nothing more (they are never changed).
	for _, t := range c.Tables() {
		v := *t
		v.Columns, v.Constraints, v.Indexes, v.keys, v.owner, v.sharedKids = nil, nil, nil, nil, nil, false
		fmt.Fprintf(&b, "table %p ", v.Query)
		v.Query = nil
		fmt.Fprintf(&b, "%+v\n", v)
		for _, col := range t.Columns {
			v := *col
			fmt.Fprintf(&b, "  column %p %p ", v.DefaultNode, v.GeneratedNode)
			v.DefaultNode, v.GeneratedNode = nil, nil
			fmt.Fprintf(&b, "%+v\n", v)
		}
		for _, k := range t.Constraints {
			writeConstraint(&b, k)
		}
		for _, ix := range t.Indexes {
			v := *ix
			fmt.Fprintf(&b, "  index %p", v.WhereNode)
			v.WhereNode, v.Keys = nil, nil
			for _, k := range ix.Keys {
				fmt.Fprintf(&b, " key %p %q %q %v", k.ExprNode, k.Column, k.Expr, k.Desc)
			}
			fmt.Fprintf(&b, " %+v\n", v)
		}
		if t.keys != nil {
			fmt.Fprintf(&b, "  keys %+v\n", *t.keys)
		}
	}
	for _, d := range c.Domains() {
		v := *d
		v.Constraints, v.owner = nil, nil
		fmt.Fprintf(&b, "domain %+v\n", v)
		for _, k := range d.Constraints {
			writeConstraint(&b, k)
		}
	}
	for _, e := range c.Enums() {
		fmt.Fprintf(&b, "enum %s.%s %q %v\n", e.Schema, e.Name, e.Values, e.Origin)
	}
	for _, s := range c.Sequences() {
		v := *s
		v.owner = nil
		fmt.Fprintf(&b, "sequence %+v\n", v)
	}
	var lines []string
	for q, fs := range c.functions.All() {
		lines = append(lines, fmt.Sprintf("function %v %p", q, fs))
		for _, f := range fs {
			lines = append(lines, fmt.Sprintf("  %p %s %s %q %v", f.Body, f.Schema, f.Name, f.Signature, f.Origin))
		}
	}
	for q, on := range c.triggerFuncs.All() {
		lines = append(lines, fmt.Sprintf("trigger function %v %v", q, on))
	}
	for q, use := range c.storedFuncs.All() {
		lines = append(lines, fmt.Sprintf("stored code's function %v %v", q, use))
	}
	sort.Strings(lines)
	b.WriteString(strings.Join(lines, "\n"))
	fmt.Fprintf(&b, "\nindexes %+v\n", plain(c.idx))
	fmt.Fprintf(&b, "session %v %q %q %q:%d %v\n", c.searchPath, c.role, c.sessionUser, c.path, c.line, c.inChangeSet)
	return b.String()
}

func writeConstraint(b *strings.Builder, k *Constraint) {
	v := *k
	fmt.Fprintf(b, "  constraint %p ", v.CheckNode)
	v.CheckNode = nil
	fmt.Fprintf(b, "%+v\n", v)
}

// catalogSize counts a catalog's tables and their columns, constraints and
// indexes.
func catalogSize(c *Catalog) int {
	n := 0
	for _, t := range c.tables.All() {
		n += 1 + len(t.Columns) + len(t.Constraints) + len(t.Indexes)
	}
	return n
}

// cloneHookBusy keeps checkCloneIsolation from checking its own work.
var cloneHookBusy bool

// checkCloneIsolation runs, from TestMain, before every statement that any
// test of this package applies: it applies the statement to a clone first
// and checks that the original did not change, then (in the function it
// returns, after the original applied it) that the clone did not change
// either and that both came out the same. Every kind of statement the
// tests apply is thus also applied to a copy of a catalog that shares its
// objects with another.
func checkCloneIsolation(c *Catalog, stmt *pg_query.Node) func() {
	// A check costs the size of the catalog: the few tests that build
	// large ones (limits, long histories) are left to the others.
	if cloneHookBusy || c.procedural.depth > 0 || catalogSize(c) > 400 {
		return nil
	}
	cloneHookBusy = true
	defer func() { cloneHookBusy = false }()
	before := stateOf(c)
	cl := c.Clone()
	cl.procedural = c.procedural
	cl.procedural.calling = maps.Clone(c.procedural.calling)
	cl.Apply(stmt)
	if after := stateOf(c); after != before {
		panic(fmt.Sprintf("applying %s to a clone changed the original:\n%s", stmtText(stmt), firstDifference(before, after)))
	}
	clState := stateOf(cl)
	return func() {
		if after := stateOf(cl); after != clState {
			panic(fmt.Sprintf("applying %s to the original changed its clone:\n%s", stmtText(stmt), firstDifference(clState, after)))
		}
		if c.Dump() != cl.Dump() {
			panic(fmt.Sprintf("%s gives another schema on a clone:\n%s", stmtText(stmt), firstDifference(c.Dump(), cl.Dump())))
		}
	}
}

func stmtText(stmt *pg_query.Node) string {
	if s := deparseStmt(stmt); s != "" {
		return s
	}
	return fmt.Sprintf("%T", stmt.GetNode())
}

func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return "(no line differs)"
}

const cloneSeedSchema = fuzzSeedSchema + `
CREATE TYPE app.colour AS ENUM ('red', 'green');
CREATE DOMAIN app.short AS text CONSTRAINT short_len CHECK (length(VALUE) < 10) NOT NULL;
CREATE SEQUENCE counter;
CREATE SEQUENCE app.ticket OWNED BY app.t.x;
CREATE TABLE shop (id int PRIMARY KEY, code text, owner_id int, colour app.colour, n int DEFAULT nextval('counter'),
	total numeric GENERATED ALWAYS AS (n * 2) STORED, CONSTRAINT shop_code_key UNIQUE (code));
CREATE UNIQUE INDEX shop_lower_code ON shop (lower(code)) WHERE id > 0;
ALTER TABLE shop ADD CONSTRAINT shop_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id) NOT VALID;
ALTER TABLE shop ADD CONSTRAINT shop_n_check CHECK (n > 0) NOT VALID;
CREATE MATERIALIZED VIEW shop_codes AS SELECT id, code FROM shop;
CREATE TABLE events (id int, at date, kind text) PARTITION BY LIST (kind);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('a');
CREATE TABLE events_b (id int, at date, kind text);
CREATE INDEX events_at ON ONLY events (at);
CREATE INDEX events_a_at ON events_a (at);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := 1; RETURN NEW; END $$;
CREATE TRIGGER shop_touch BEFORE UPDATE ON shop FOR EACH ROW EXECUTE FUNCTION touch();
CREATE FUNCTION add_col() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE shop ADD COLUMN added int; END $$;
`

// TestCloneIsolation applies each kind of statement the catalog applies to
// a clone of a catalog, and checks that the original does not change (its
// Dump and everything else it holds), that the statement changed the clone,
// and that the original applying the same statement afterwards leaves the
// clone as it was and comes out the same.
func TestCloneIsolation(t *testing.T) {
	base := New()
	if err := base.ApplySQL("seed.sql", cloneSeedSchema); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		// Schemas, tables and views.
		"CREATE SCHEMA billing CREATE TABLE invoice (id int PRIMARY KEY REFERENCES public.users)",
		"CREATE SCHEMA app",
		"CREATE TABLE fresh (id serial PRIMARY KEY, u int REFERENCES users, m mood)",
		"CREATE TABLE users_copy (LIKE users INCLUDING ALL)",
		"CREATE TABLE events_c PARTITION OF events FOR VALUES IN ('c')",
		"CREATE FOREIGN TABLE remote (id int) SERVER elsewhere",
		"CREATE TABLE big AS SELECT id, email FROM users",
		"SELECT id INTO copied FROM users",
		"CREATE MATERIALIZED VIEW mv AS SELECT id FROM orders",
		"CREATE OR REPLACE VIEW v AS SELECT u.id, o.total, o.id AS order_id FROM users u JOIN orders o ON o.user_id = u.id",
		"CREATE INDEX ON users (lower(email))",
		"CREATE UNIQUE INDEX CONCURRENTLY users_p ON users (p)",
		"CREATE INDEX parts_at ON parts (at)",
		// ALTER TABLE subcommands.
		"ALTER TABLE users ADD COLUMN nick text NOT NULL DEFAULT '' CHECK (nick <> '') UNIQUE REFERENCES shop (code)",
		"ALTER TABLE parts ADD COLUMN note text",
		"ALTER TABLE users ADD COLUMN n2 bigserial",
		"ALTER TABLE users DROP COLUMN email",
		"ALTER TABLE users DROP COLUMN id CASCADE",
		"ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2)",
		"ALTER TABLE users ALTER COLUMN email SET NOT NULL",
		"ALTER TABLE orders ALTER COLUMN user_id DROP NOT NULL",
		"ALTER TABLE users ALTER COLUMN email SET DEFAULT 'x'",
		"ALTER TABLE shop ALTER COLUMN n DROP DEFAULT",
		"ALTER TABLE shop ALTER COLUMN owner_id SET NOT NULL, ALTER COLUMN owner_id ADD GENERATED ALWAYS AS IDENTITY",
		"ALTER TABLE orders ALTER COLUMN id SET GENERATED BY DEFAULT",
		"ALTER TABLE orders ALTER COLUMN id DROP IDENTITY",
		"ALTER TABLE shop ALTER COLUMN total DROP EXPRESSION",
		"ALTER TABLE orders ADD CONSTRAINT orders_total_pos CHECK (total > 0)",
		"ALTER TABLE orders ADD CONSTRAINT orders_user_key UNIQUE (user_id)",
		"ALTER TABLE app.t ADD PRIMARY KEY (x)",
		"ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES shop (id)",
		"ALTER TABLE shop ADD CONSTRAINT shop_pkey2 UNIQUE USING INDEX shop_lower_code",
		"ALTER TABLE shop VALIDATE CONSTRAINT shop_owner_fk",
		"ALTER TABLE shop VALIDATE CONSTRAINT shop_n_check",
		"ALTER TABLE shop DROP CONSTRAINT shop_code_key CASCADE",
		"ALTER TABLE shop ALTER CONSTRAINT shop_owner_fk DEFERRABLE INITIALLY DEFERRED",
		"ALTER TABLE users SET UNLOGGED",
		"ALTER TABLE events ATTACH PARTITION events_b FOR VALUES IN ('b')",
		"ALTER TABLE parts DETACH PARTITION parts_1",
		"ALTER INDEX events_at ATTACH PARTITION events_a_at",
		// Renames and moves.
		"ALTER TABLE users RENAME TO members",
		"ALTER TABLE shop RENAME TO store",
		"ALTER TABLE users RENAME COLUMN id TO user_id",
		"ALTER TABLE parts RENAME COLUMN at TO day",
		"ALTER TABLE shop RENAME COLUMN n TO m",
		"ALTER TABLE orders RENAME CONSTRAINT orders_total_check TO total_ok",
		"ALTER TABLE users RENAME CONSTRAINT users_pkey TO users_pk",
		"ALTER INDEX users_email_key RENAME TO users_mail_key",
		"ALTER INDEX parts_pkey RENAME TO parts_pk",
		"ALTER SEQUENCE counter RENAME TO counter2",
		"ALTER SEQUENCE users_id_seq RENAME TO users_seq",
		"ALTER TABLE shop SET SCHEMA app",
		"ALTER SEQUENCE counter SET SCHEMA app",
		"ALTER SCHEMA app RENAME TO application",
		"ALTER TYPE mood RENAME TO feeling",
		"ALTER TYPE mood SET SCHEMA app",
		"ALTER DOMAIN pos RENAME TO positive",
		"ALTER DOMAIN app.short SET SCHEMA public",
		"ALTER DOMAIN app.short RENAME CONSTRAINT short_len TO short_ok",
		// Types, domains, sequences.
		"CREATE TYPE size AS ENUM ('s', 'm')",
		"ALTER TYPE mood ADD VALUE 'c' BEFORE 'b'",
		"ALTER TYPE mood RENAME VALUE 'a' TO 'z'",
		"CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%')",
		"ALTER DOMAIN pos SET DEFAULT 1",
		"ALTER DOMAIN pos DROP DEFAULT",
		"ALTER DOMAIN pos SET NOT NULL",
		"ALTER DOMAIN app.short DROP NOT NULL",
		"ALTER DOMAIN pos ADD CONSTRAINT pos_small CHECK (VALUE < 100) NOT VALID",
		"ALTER DOMAIN pos VALIDATE CONSTRAINT pos_check",
		"ALTER DOMAIN pos DROP CONSTRAINT pos_check",
		"CREATE SEQUENCE s9 OWNED BY orders.total",
		"ALTER SEQUENCE counter OWNED BY shop.n",
		"ALTER SEQUENCE app.ticket OWNED BY NONE",
		// Drops.
		"DROP TABLE users CASCADE",
		"DROP TABLE parts",
		"DROP VIEW v",
		"DROP MATERIALIZED VIEW shop_codes",
		"DROP INDEX shop_lower_code",
		"DROP SEQUENCE counter CASCADE",
		"DROP TYPE mood CASCADE",
		"DROP DOMAIN pos CASCADE",
		"DROP SCHEMA app CASCADE",
		// Procedural code, triggers and the session.
		"CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a'",
		"ALTER FUNCTION touch() RENAME TO touch2",
		"ALTER FUNCTION touch() SET SCHEMA app",
		"DROP FUNCTION add_col()",
		"CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()",
		"CREATE VIEW calls_add_col AS SELECT add_col()",
		"DROP TRIGGER shop_touch ON shop",
		"SELECT add_col()",
		"DO $$ BEGIN CREATE TABLE from_do (id int); END $$",
		"SET search_path = app, public",
		"SELECT set_config('search_path', 'app', false)",
		"SET ROLE admin",
	} {
		t.Run(sql, func(t *testing.T) {
			orig := base.Clone()
			before, beforeDump := stateOf(orig), orig.Dump()
			cl := orig.Clone()
			mustApply(t, cl, sql)
			if orig.Dump() != beforeDump {
				t.Fatalf("the original's Dump changed:\n%s", firstDifference(beforeDump, orig.Dump()))
			}
			if after := stateOf(orig); after != before {
				t.Fatalf("the original changed:\n%s", firstDifference(before, after))
			}
			clState := stateOf(cl)
			if clState == before {
				t.Fatal("the statement changed nothing: it tests nothing")
			}
			mustApply(t, orig, sql)
			if after := stateOf(cl); after != clState {
				t.Fatalf("applying the statement to the original changed the clone:\n%s", firstDifference(clState, after))
			}
			if orig.Dump() != cl.Dump() {
				t.Fatalf("the original and the clone differ:\n%s", firstDifference(orig.Dump(), cl.Dump()))
			}
			if err := checkIndexes(cl); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReindex: rebuilding the indexes from the objects gives what keeping
// them up to date statement by statement gave, on a clone, without
// changing the original.
func TestReindex(t *testing.T) {
	c := replay(t, replayFiles(t))
	want := fmt.Sprintf("%+v", plain(c.idx))
	before := stateOf(c)
	d := c.Clone()
	d.reindex()
	if got := fmt.Sprintf("%+v", plain(d.idx)); got != want {
		t.Fatalf("rebuilt indexes differ:\n%s", firstDifference(want, got))
	}
	if err := checkIndexes(d); err != nil {
		t.Fatal(err)
	}
	if after := stateOf(c); after != before {
		t.Fatalf("reindexing a clone changed the original:\n%s", firstDifference(before, after))
	}
	if stateOf(d) != before {
		t.Fatalf("reindexing changed the catalog:\n%s", firstDifference(before, stateOf(d)))
	}
}

// TestScratchDropped: a catalog whose scratch copy (Scratch) is dropped
// before it changes takes back what it owned, and then changes in place
// what it made before the copy; it ends up as a catalog that never made
// the copy, and a copy taken before the scratch never sees its changes.
// When the catalog changed, or was copied, between Scratch and
// DropScratch, it takes nothing back, and the scratch never sees its
// later changes. Each case: a statement for the scratch, then one for
// the catalog.
func TestScratchDropped(t *testing.T) {
	cloneHookBusy = true // the hook's own copies would refuse every drop
	defer func() { cloneHookBusy = false }()
	apply := func(t *testing.T, c *Catalog, sql string) {
		t.Helper()
		if err := c.ApplySQL("test.sql", sql); err != nil {
			t.Fatal(err)
		}
	}
	base := New()
	apply(t, base, cloneSeedSchema)
	for _, tc := range []struct{ scratch, after string }{
		{"DROP TABLE users CASCADE", "ALTER TABLE users ADD COLUMN later int"},
		{"ALTER TABLE users DROP COLUMN made", "ALTER TABLE users ALTER COLUMN made SET NOT NULL"},
		{"ALTER TABLE users RENAME COLUMN made TO other", "ALTER TABLE users RENAME COLUMN made TO renamed"},
		{"CREATE INDEX users_made ON users (made)", "CREATE INDEX users_made ON users (made, id)"},
		{"ALTER TABLE users ADD CONSTRAINT made_pos CHECK (made > 0)", "ALTER TABLE users ADD CONSTRAINT made_pos CHECK (made > 1) NOT VALID"},
		{"ALTER TYPE mood ADD VALUE 'made'", "ALTER TYPE mood ADD VALUE 'later'"},
		{"DROP SCHEMA app CASCADE", "ALTER TABLE app.t ADD COLUMN later int"},
	} {
		t.Run(tc.scratch, func(t *testing.T) {
			const made = "ALTER TABLE users ADD COLUMN made int; ALTER TYPE mood ADD VALUE 'z'; ALTER TABLE app.t ADD COLUMN y int"
			c := base.Clone()
			keep := c.Clone()
			keepState := stateOf(keep)
			apply(t, c, made)
			users := c.Table("", "users")
			scratch := c.Scratch()
			apply(t, scratch, tc.scratch)
			if !c.DropScratch(scratch) {
				t.Fatal("the catalog did not change, yet took nothing back")
			}
			apply(t, c, tc.after)
			if strings.HasPrefix(tc.after, "ALTER TABLE users") && c.Table("", "users") != users {
				t.Error("a table the catalog made before the scratch was copied, not changed in place")
			}
			ref := base.Clone()
			apply(t, ref, made)
			apply(t, ref, tc.after)
			if c.Dump() != ref.Dump() {
				t.Errorf("the catalog differs from one that made no scratch:\n%s", firstDifference(ref.Dump(), c.Dump()))
			}
			if err := checkIndexes(c); err != nil {
				t.Error(err)
			}
			if after := stateOf(keep); after != keepState {
				t.Errorf("a copy taken before changed:\n%s", firstDifference(keepState, after))
			}
			if c.DropScratch(scratch) {
				t.Error("a scratch dropped twice")
			}

			// Refused: the catalog changed, or was copied, in between.
			for _, between := range []func(c *Catalog){
				func(c *Catalog) { apply(t, c, "ALTER TABLE users ADD COLUMN between int") },
				func(c *Catalog) { c.Clone() },
				func(c *Catalog) { c.Settle() },
			} {
				c := base.Clone()
				apply(t, c, made)
				scratch := c.Scratch()
				apply(t, scratch, tc.scratch)
				between(c)
				scratchState := stateOf(scratch)
				if c.DropScratch(scratch) {
					t.Fatal("the catalog changed or was copied since the scratch, and took its owner back")
				}
				apply(t, c, tc.after)
				if after := stateOf(scratch); after != scratchState {
					t.Errorf("after a refused drop, the catalog's change showed in the scratch:\n%s", firstDifference(scratchState, after))
				}
			}
		})
	}
}

// TestSharedChildrenThenChanged: a statement that only adds to a table,
// or removes columns, constraints or indexes from it (new lists of the
// others), through editTableShallow, leaves the copy sharing the table's columns,
// constraints and indexes with the original; a later statement of the
// same copy that changes one of them must copy them first. Each case
// applies an adding statement and then a changing one to a copy, with no
// copy in between (the package's hook copies the catalog before every
// statement, which would hide the shared state, so it is off here): the
// original must not change, the copy must come out as the original does
// after the same statements, and later changes to the original must not
// show in the copy.
func TestSharedChildrenThenChanged(t *testing.T) {
	cloneHookBusy = true
	defer func() { cloneHookBusy = false }()
	apply := func(t *testing.T, c *Catalog, sql string) {
		t.Helper()
		if err := c.ApplySQL("test.sql", sql); err != nil {
			t.Fatal(err)
		}
	}
	base := New()
	apply(t, base, cloneSeedSchema)
	adds := []string{
		"ALTER TABLE users ADD COLUMN nick text NOT NULL DEFAULT ''",
		"ALTER TABLE users ADD CONSTRAINT users_email_len CHECK (length(email) < 100)",
		"ALTER TABLE orders ADD CONSTRAINT orders_user_fk2 FOREIGN KEY (user_id) REFERENCES users (id)",
		"CREATE INDEX users_email_lower ON users (lower(email))",
		"ALTER TABLE users ADD COLUMN code text, ADD CONSTRAINT users_code_key UNIQUE (code)",
		"ALTER TABLE users ADD PRIMARY KEY (email)",
		// Removals: the children left are shared, the dropped ones and
		// what depends on them (an index, a foreign key of another
		// table, a view) leave the copy only.
		"ALTER TABLE users DROP COLUMN p",
		"ALTER TABLE users DROP CONSTRAINT users_email_key",
		"ALTER TABLE users DROP COLUMN m, DROP CONSTRAINT users_email_key, ADD COLUMN later int",
		"ALTER TABLE users DROP COLUMN id CASCADE",
		"ALTER TABLE orders DROP CONSTRAINT orders_total_check",
		"DROP INDEX shop_lower_code",
	}
	changes := []string{
		"ALTER TABLE users ALTER COLUMN email SET NOT NULL",
		"ALTER TABLE users ALTER COLUMN email TYPE varchar(200)",
		"ALTER TABLE users RENAME COLUMN email TO mail",
		"ALTER TABLE users DROP COLUMN email CASCADE",
		"ALTER TABLE users ALTER COLUMN id SET DEFAULT 7",
		"ALTER TABLE orders RENAME CONSTRAINT orders_total_check TO total_ok",
		"ALTER TABLE orders ALTER CONSTRAINT orders_user_id_fkey DEFERRABLE",
		"ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_fkey",
		"ALTER INDEX users_email_key RENAME TO users_mail_key",
		"ALTER TABLE users RENAME TO members",
	}
	shared := 0
	for _, add := range adds {
		for _, change := range changes {
			t.Run(add+"; "+change, func(t *testing.T) {
				orig := base.Clone()
				before := stateOf(orig)
				cl := orig.Clone()
				apply(t, cl, add)
				for _, tb := range cl.tables.All() {
					if tb.sharedKids {
						shared++
					}
				}
				apply(t, cl, change)
				if after := stateOf(orig); after != before {
					t.Fatalf("the original changed:\n%s", firstDifference(before, after))
				}
				clState := stateOf(cl)
				apply(t, orig, add)
				apply(t, orig, change)
				if orig.Dump() != cl.Dump() {
					t.Fatalf("the copy differs from the original after the same statements:\n%s", firstDifference(orig.Dump(), cl.Dump()))
				}
				apply(t, orig, "ALTER TABLE users ALTER COLUMN id DROP DEFAULT; ALTER TABLE orders ALTER COLUMN total SET NOT NULL")
				if after := stateOf(cl); after != clState {
					t.Fatalf("a change to the original showed in the copy:\n%s", firstDifference(clState, after))
				}
				if err := checkIndexes(cl); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	if shared == 0 {
		t.Error("no adding statement left a copy sharing children: the test tests nothing")
	}
}

// TestSettleSharedChildren: Settle on a copy that shares its children
// (an adding statement since the copy) copies the children it takes out
// of the change set, and leaves the other catalog's as they were.
func TestSettleSharedChildren(t *testing.T) {
	cloneHookBusy = true
	defer func() { cloneHookBusy = false }()
	for _, add := range []string{
		"ALTER TABLE users ADD COLUMN later int",
		"ALTER TABLE users ADD CONSTRAINT later_check CHECK (id > 0)",
		"CREATE INDEX later_idx ON users (id)",
	} {
		t.Run(add, func(t *testing.T) {
			c := New()
			if err := c.ApplySQL("seed.sql", cloneSeedSchema); err != nil {
				t.Fatal(err)
			}
			c.Settle()
			c.BeginChangeSet()
			if err := c.ApplySQL("change.sql", "ALTER TABLE users ADD COLUMN made int, ADD CONSTRAINT made_check CHECK (made > 0); CREATE INDEX made_idx ON users (made)"); err != nil {
				t.Fatal(err)
			}
			other := c.Clone()
			before := stateOf(other)
			if err := c.ApplySQL("change.sql", add); err != nil {
				t.Fatal(err)
			}
			if !c.Table("", "users").sharedKids {
				t.Fatal("the adding statement copied the children: the test tests nothing")
			}
			c.Settle()
			if after := stateOf(other); after != before {
				t.Fatalf("settling the copy changed the other catalog:\n%s", firstDifference(before, after))
			}
			if tables := other.ChangeSetTables(); len(tables) != 1 || tables[0].Name != "users" {
				t.Fatalf("the other catalog's change set: %v", tables)
			}
			if tables := c.ChangeSetTables(); len(tables) != 0 {
				t.Fatalf("after Settle, %d tables still hold something of the change set", len(tables))
			}
			if err := c.ApplySQL("change.sql", "ALTER TABLE users ALTER COLUMN made SET NOT NULL"); err != nil {
				t.Fatal(err)
			}
			if after := stateOf(other); after != before {
				t.Fatalf("changing a settled child changed the other catalog:\n%s", firstDifference(before, after))
			}
		})
	}
}

// TestBothCopiesAdd: two copies of a catalog each add to the same table
// (each copy's table shares the children of the one they copied, and
// adds to its lists): neither copy's addition shows in the other.
func TestBothCopiesAdd(t *testing.T) {
	cloneHookBusy = true
	defer func() { cloneHookBusy = false }()
	for _, tc := range []struct{ a, b string }{
		{"CREATE INDEX a_idx ON users (id)", "CREATE INDEX b_idx ON users (email)"},
		{"ALTER TABLE users ADD CONSTRAINT a_check CHECK (id > 0)", "ALTER TABLE users ADD CONSTRAINT b_check CHECK (id > 1)"},
		{"ALTER TABLE users ADD COLUMN a int", "ALTER TABLE users ADD COLUMN b text"},
		{"ALTER TABLE users ADD CONSTRAINT a_fk FOREIGN KEY (id) REFERENCES orders (id)", "ALTER TABLE users ADD CONSTRAINT b_fk FOREIGN KEY (id) REFERENCES shop (id)"},
	} {
		t.Run(tc.a, func(t *testing.T) {
			c := New()
			if err := c.ApplySQL("seed.sql", cloneSeedSchema); err != nil {
				t.Fatal(err)
			}
			// Lists grown by appending have room left in their arrays.
			if err := c.ApplySQL("grow.sql", `ALTER TABLE users ADD COLUMN g1 int, ADD COLUMN g2 int, ADD COLUMN g3 int,
				ADD CONSTRAINT g1_check CHECK (g1 > 0), ADD CONSTRAINT g2_check CHECK (g2 > 0), ADD CONSTRAINT g3_check CHECK (g3 > 0);
				CREATE INDEX g1_idx ON users (g1); CREATE INDEX g2_idx ON users (g2); CREATE INDEX g3_idx ON users (g3)`); err != nil {
				t.Fatal(err)
			}
			a := c.Clone()
			if err := a.ApplySQL("a.sql", tc.a); err != nil {
				t.Fatal(err)
			}
			aState := stateOf(a)
			if err := c.ApplySQL("b.sql", tc.b); err != nil {
				t.Fatal(err)
			}
			if after := stateOf(a); after != aState {
				t.Fatalf("the other copy's addition showed:\n%s", firstDifference(aState, after))
			}
			for _, x := range []*Catalog{a, c} {
				if err := checkIndexes(x); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
