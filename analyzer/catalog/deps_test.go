package catalog

import (
	"strings"
	"testing"
)

const depsSchema = `
CREATE SCHEMA app;
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE, name text, name_len int GENERATED ALWAYS AS (length(name)) STORED);
CREATE INDEX users_lower_email_idx ON users (lower(email));
CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users, user_email text REFERENCES users (email));
CREATE VIEW user_names AS SELECT id, name FROM users;
CREATE VIEW user_names_2 AS SELECT name FROM user_names;
CREATE MATERIALIZED VIEW order_counts AS SELECT user_id, count(*) FROM orders GROUP BY user_id;
CREATE TYPE status AS ENUM ('a', 'b');
CREATE DOMAIN status_d AS status;
CREATE TABLE app.things (s status, ss status[], d status_d);
CREATE SEQUENCE shared_seq;
CREATE TABLE counters (n bigint DEFAULT nextval('shared_seq'));
CREATE TABLE parts (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE INDEX parts_id_idx ON parts (id);
CREATE UNIQUE INDEX orders_id_user_idx ON orders (id, user_id);
CREATE TABLE order_refs (a int, b int, FOREIGN KEY (a, b) REFERENCES orders (id, user_id));
`

func refStrings(refs []ObjectRef) string {
	var out []string
	for _, r := range refs {
		s := r.String()
		if r.NeedsCascade {
			s += " [cascade]"
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func TestDependents(t *testing.T) {
	c := build(t, depsSchema)
	cases := []struct {
		obj  ObjectRef
		want string
	}{
		{ObjectRef{Kind: "table", Schema: "public", Name: "users"}, `
view public.user_names [cascade]
constraint orders_user_id_fkey on public.orders [cascade]
constraint orders_user_email_fkey on public.orders [cascade]
sequence public.users_id_seq
view public.user_names_2 [cascade]`},
		{ObjectRef{Kind: "column", Schema: "public", Table: "users", Name: "email"}, `
index public.users_lower_email_idx
constraint users_email_key on public.users
constraint orders_user_email_fkey on public.orders [cascade]`},
		{ObjectRef{Kind: "column", Schema: "public", Table: "users", Name: "name"}, `
view public.user_names [cascade]
public.users.name_len [cascade]
view public.user_names_2 [cascade]`},
		{ObjectRef{Kind: "column", Schema: "public", Table: "users", Name: "id"}, `
constraint users_pkey on public.users
constraint orders_user_id_fkey on public.orders [cascade]
view public.user_names [cascade]
sequence public.users_id_seq
view public.user_names_2 [cascade]`},
		{ObjectRef{Kind: "constraint", Schema: "public", Table: "users", Name: "users_pkey"}, `
constraint orders_user_id_fkey on public.orders [cascade]`},
		{ObjectRef{Kind: "index", Schema: "public", Name: "orders_id_user_idx"}, `
constraint order_refs_a_b_fkey on public.order_refs [cascade]`},
		{ObjectRef{Kind: "type", Schema: "public", Name: "status"}, `
app.things.s [cascade]
app.things.ss [cascade]
domain public.status_d [cascade]
app.things.d [cascade]`},
		{ObjectRef{Kind: "sequence", Schema: "public", Name: "shared_seq"}, `
default n on public.counters [cascade]`},
		{ObjectRef{Kind: "sequence", Schema: "public", Name: "users_id_seq"}, `
default id on public.users [cascade]`},
		{ObjectRef{Kind: "table", Schema: "public", Name: "parts"}, `
public.parts_1`},
		{ObjectRef{Kind: "column", Schema: "public", Table: "parts", Name: "id"}, `
index public.parts_id_idx
public.parts_1.id
index public.parts_1_id_idx`},
		{ObjectRef{Kind: "schema", Name: "app"}, `
app.things [cascade]`},
		{ObjectRef{Kind: "table", Schema: "public", Name: "nonexistent"}, ``},
	}
	for _, tc := range cases {
		t.Run(tc.obj.String(), func(t *testing.T) {
			got := refStrings(c.Dependents(tc.obj))
			if got != strings.TrimPrefix(tc.want, "\n") {
				t.Errorf("Dependents(%s):\n%s\nwant:\n%s", tc.obj, got, strings.TrimPrefix(tc.want, "\n"))
			}
		})
	}
}

func TestDropCascadeRemovesDependents(t *testing.T) {
	c := build(t, depsSchema)
	mustApply(t, c, `DROP TABLE users CASCADE;`)
	for _, name := range []string{"users", "user_names", "user_names_2"} {
		if c.Table("", name) != nil {
			t.Errorf("%s survived DROP TABLE users CASCADE", name)
		}
	}
	orders := c.Table("", "orders")
	if orders == nil || orders.Constraint("orders_user_id_fkey") != nil || orders.Constraint("orders_user_email_fkey") != nil {
		t.Errorf("foreign keys to users survived: %v", orders.Constraints)
	}
	if c.Sequence("", "users_id_seq") != nil {
		t.Error("owned sequence survived")
	}

	mustApply(t, c, `DROP TYPE status CASCADE; DROP SEQUENCE shared_seq CASCADE; DROP TABLE parts;`)
	if things := c.Table("app", "things"); things == nil || len(things.Columns) != 0 {
		t.Errorf("columns of the dropped type survived: %+v", things)
	}
	if c.Domain("", "status_d") != nil {
		t.Error("domain over the dropped type survived")
	}
	if col := c.Table("", "counters").Column("n"); col.Default != "" {
		t.Errorf("default on dropped sequence survived: %q", col.Default)
	}
	if c.Table("", "parts_1") != nil {
		t.Error("partition survived its parent")
	}
	mustApply(t, c, `ALTER TABLE orders DROP CONSTRAINT orders_pkey CASCADE;`)
	if c.Table("", "order_refs").Constraint("order_refs_a_b_fkey") == nil {
		t.Error("a foreign key on a plain unique index is not a dependent of the primary key")
	}
	mustApply(t, c, `DROP INDEX orders_id_user_idx CASCADE;`)
	if c.Table("", "order_refs").Constraint("order_refs_a_b_fkey") != nil {
		t.Error("foreign key on a dropped unique index survived")
	}
}

func TestObjectRefString(t *testing.T) {
	for _, tc := range []struct {
		r    ObjectRef
		want string
	}{
		{ObjectRef{Kind: "table", Schema: "public", Name: "orders"}, "public.orders"},
		{ObjectRef{Kind: "column", Schema: "public", Table: "orders", Name: "email"}, "public.orders.email"},
		{ObjectRef{Kind: "constraint", Schema: "public", Table: "orders", Name: "orders_pkey"}, "constraint orders_pkey on public.orders"},
		{ObjectRef{Kind: "index", Schema: "app", Name: "Idx"}, `index app."Idx"`},
		{ObjectRef{Kind: "schema", Name: "app"}, "schema app"},
		{ObjectRef{Kind: "view", Schema: "public", Name: "user"}, `view public."user"`},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestClone(t *testing.T) {
	c := build(t, depsSchema)
	before := c.Dump()
	d := c.Clone()
	if d.Dump() != before {
		t.Fatal("clone differs from original")
	}
	mustApply(t, d, `
		SET search_path TO app;
		ALTER TABLE public.users RENAME COLUMN email TO mail;
		ALTER TABLE public.users ALTER COLUMN name TYPE varchar(10), ALTER COLUMN name SET NOT NULL;
		ALTER TABLE public.orders ADD CONSTRAINT c CHECK (id > 0) NOT VALID;
		ALTER TYPE public.status ADD VALUE 'c';
		ALTER TABLE public.parts DETACH PARTITION public.parts_1;
		CREATE INDEX ON public.parts (at);
		DROP SCHEMA app CASCADE;
		DROP TABLE public.users CASCADE;`)
	d.BeginChangeSet()
	if got := c.Dump(); got != before {
		t.Errorf("changing the clone changed the original:\n%s", lineDiff(before, got))
	}
	if c.InChangeSet() || c.SearchPath()[1] != "public" {
		t.Error("session state leaked from the clone")
	}
	c.Table("", "orders").Columns[0].Type.Mods = append(c.Table("", "orders").Columns[0].Type.Mods, 1)
	if d.Table("", "orders") != nil {
		t.Error("clone search path should be app")
	}
	if len(d.Table("public", "orders").Columns[0].Type.Mods) != 0 {
		t.Error("type modifiers are shared between clones")
	}
}

func TestSessionAndChangeSet(t *testing.T) {
	c := New()
	mustApply(t, c, `CREATE SCHEMA app; SET search_path TO app; CREATE TABLE a (id int);`)
	c.ResetSession()
	if got := c.SearchPath(); len(got) != 2 || got[0] != "$user" || got[1] != "public" {
		t.Errorf("search path after ResetSession = %v", got)
	}
	c.BeginChangeSet()
	c.SetPosition("m/002.sql", 7)
	c.Apply(parseOne(t, `CREATE TABLE b (id int)`))
	b := c.Table("", "b")
	if b == nil || b.Schema != "public" || b.Origin != (Origin{InChangeSet: true, Path: "m/002.sql", Line: 7}) {
		t.Errorf("b = %+v", b)
	}
	if a := c.Table("app", "a"); a == nil || a.Origin.InChangeSet || a.Origin.Line != 1 {
		t.Errorf("a = %+v", a)
	}
	if c.Relation(parseOne(t, `SELECT * FROM a`).GetSelectStmt().GetFromClause()[0].GetRangeVar()) != nil {
		t.Error("app.a must not resolve unqualified with the default search path")
	}
	if c.Relation(parseOne(t, `SELECT * FROM app.a`).GetSelectStmt().GetFromClause()[0].GetRangeVar()) == nil {
		t.Error("app.a must resolve qualified")
	}
	c.Apply(nil)
	if c.Table("public", "nope") != nil || c.Enum("", "nope") != nil || c.ConstraintByName(nil, "x") != nil {
		t.Error("unknown objects must be nil")
	}
	if ix, tbl := c.IndexByName("", "nope"); ix != nil || tbl != nil {
		t.Error("unknown index must be nil")
	}
}

func TestStatementLine(t *testing.T) {
	sql := "-- header\n\nCREATE TABLE a (id int);\n/* block\n comment */\n  ALTER TABLE a ADD COLUMN b int;"
	c := New()
	if err := c.ApplySQL("x.sql", sql); err != nil {
		t.Fatal(err)
	}
	a := c.Table("", "a")
	if a.Origin.Line != 3 || a.Column("b").Origin.Line != 6 {
		t.Errorf("lines = %d, %d", a.Origin.Line, a.Column("b").Origin.Line)
	}
}
