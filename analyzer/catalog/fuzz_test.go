package catalog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

const fuzzSeedSchema = `
CREATE SCHEMA app;
CREATE TYPE mood AS ENUM ('a', 'b');
CREATE DOMAIN pos AS int CHECK (VALUE > 0);
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE, m mood, p pos);
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id int REFERENCES users, total numeric(10,2) CHECK (total >= 0));
CREATE INDEX ON orders (lower(total::text)) WHERE total > 0;
CREATE VIEW v AS SELECT u.id, o.total FROM users u JOIN orders o ON o.user_id = u.id;
CREATE TABLE parts (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE app.t (x int);
`

// FuzzApply parses arbitrary SQL with PostgreSQL's parser and applies every
// statement to a seeded catalog, then exercises the read side; nothing may
// panic.
func FuzzApply(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "replay", "*.sql"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"ALTER TABLE users DROP COLUMN id CASCADE",
		"DROP SCHEMA public CASCADE",
		"ALTER TABLE parts DETACH PARTITION parts_1; ALTER TABLE parts ATTACH PARTITION parts_1 FOR VALUES IN (1)",
		"ALTER TABLE users RENAME TO users",
		"ALTER SCHEMA app RENAME TO public",
		"CREATE TABLE x (LIKE x)",
		"CREATE TABLE y PARTITION OF y FOR VALUES IN (1)",
		"ALTER TABLE users ADD CONSTRAINT k UNIQUE USING INDEX users_pkey",
		"SET search_path = ''",
		"CREATE SCHEMA AUTHORIZATION bob CREATE TABLE z (id int)",
	} {
		f.Add(s)
	}
	base := New()
	if err := base.ApplySQL("seed.sql", fuzzSeedSchema); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		res, err := pg_query.Parse(sql)
		if err != nil {
			return
		}
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("slow input (%v)", d)
			}
		}()
		c := base.Clone()
		c.BeginChangeSet()
		for _, rs := range res.GetStmts() {
			c.SetPosition("fuzz.sql", StatementLine(sql, int(rs.GetStmtLocation())))
			c.Apply(rs.GetStmt())
		}
		_ = c.Dump()
		for _, tb := range c.Tables() {
			c.Dependents(tableRef(tb))
			for _, col := range tb.Columns {
				c.Dependents(ObjectRef{Kind: "column", Schema: tb.Schema, Table: tb.Name, Name: col.Name})
				_ = col.Type.SQL() + col.Type.FormatType()
			}
			for _, k := range tb.Constraints {
				c.Dependents(ObjectRef{Kind: "constraint", Schema: tb.Schema, Table: tb.Name, Name: k.Name})
			}
		}
		for _, s := range c.Schemas() {
			c.Dependents(ObjectRef{Kind: "schema", Name: s.Name})
		}
		_ = c.Clone().Dump()
	})
}
