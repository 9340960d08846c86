package locks

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
)

// baseSchema mirrors the measured document's setup: t with a few hundred
// rows and two secondary indexes, parent referenced by foreign keys, plus a
// materialized view, an enum, a partitioned table and a table to attach.
// The same SQL builds the catalog for Analyze and the real database in
// TestAgainstPostgres, so both judge the same schema.
const baseSchema = `
CREATE TABLE parent (id int PRIMARY KEY, label text);
INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 10) g;
CREATE TABLE t (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text,
  name varchar(100),
  amount numeric(10,2),
  created_at timestamp,
  status int NOT NULL,
  payload jsonb
);
CREATE INDEX t_name_idx ON t (name);
CREATE INDEX t_created_at_idx ON t (created_at);
INSERT INTO t (email, name, amount, created_at, status, payload)
  SELECT 'u' || g || '@example.com', 'n' || g, g * 1.5, '2024-06-01 12:00', 1 + g % 10, '{}'
  FROM generate_series(1, 300) g;
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id));
INSERT INTO child SELECT g, 1 + g % 10 FROM generate_series(1, 50) g;
CREATE MATERIALIZED VIEW mv AS SELECT id, email FROM t;
CREATE UNIQUE INDEX mv_id ON mv (id);
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE mp (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE mp_1 PARTITION OF mp FOR VALUES FROM (0) TO (100);
CREATE TABLE mp_2 (id int, k int);
INSERT INTO mp_2 SELECT g, 100 + g % 50 FROM generate_series(1, 100) g;
`

// catalogFor replays SQL into a fresh catalog; statements after
// "-- change set" count as part of the change under review.
func catalogFor(t testing.TB, sql string) *catalog.Catalog {
	t.Helper()
	cat := catalog.New()
	base, change, split := strings.Cut(sql, "-- change set")
	if err := cat.ApplySQL("setup.sql", base); err != nil {
		t.Fatalf("catalog setup: %v", err)
	}
	if split {
		cat.BeginChangeSet()
		if err := cat.ApplySQL("change.sql", change); err != nil {
			t.Fatalf("catalog change set: %v", err)
		}
	}
	return cat
}

// parseOne parses a single statement.
func parseOne(t testing.TB, sql string) *pg_query.Node {
	t.Helper()
	res, err := pg_query.Parse(sql)
	if err != nil {
		t.Fatalf("parse %q: %v", sql, err)
	}
	if len(res.GetStmts()) != 1 {
		t.Fatalf("%q: want one statement, got %d", sql, len(res.GetStmts()))
	}
	return res.GetStmts()[0].GetStmt()
}

// typeChange is a stand-in for the package that owns type-change rules,
// covering the measured cases the tests use.
func typeChange(old, new catalog.Type, using *pg_query.Node) Work {
	switch {
	case using != nil:
		return Rewrite
	case old.Name == "varchar" && new.Name == "text":
		return Metadata
	case old.Name == "varchar" && new.Name == "varchar":
		if len(new.Mods) == 0 || (len(old.Mods) == 1 && new.Mods[0] >= old.Mods[0]) {
			return Metadata
		}
	case old.Name == "numeric" && new.Name == "numeric":
		if len(new.Mods) == 0 || (len(old.Mods) == 2 && len(new.Mods) == 2 && new.Mods[1] == old.Mods[1] && new.Mods[0] >= old.Mods[0]) {
			return Metadata
		}
	case old.Name == "timestamp" && new.Name == "timestamptz":
		// Under TimeZone=UTC on PostgreSQL 12+, only the column's indexes
		// are rebuilt.
		return IndexBuild
	}
	return Rewrite
}

// modeAbbrev maps the measured document's abbreviations to modes.
var modeAbbrev = map[string]Mode{
	"AS": AccessShare, "RS": RowShare, "RE": RowExclusive, "SUE": ShareUpdateExclusive,
	"S": Share, "SRE": ShareRowExclusive, "E": Exclusive, "AE": AccessExclusive,
}

func abbrev(m Mode) string {
	for k, v := range modeAbbrev {
		if v == m {
			return k
		}
	}
	return "?"
}

// shortName drops the public schema, so expectations read like the
// measured document ("t", "parent").
func shortName(rel string) string { return strings.TrimPrefix(rel, "public.") }

// describeLocks renders locks as "t:AE parent:SRE" in the impact's order.
func describeLocks(ls []Lock) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, shortName(l.Relation)+":"+abbrev(l.Mode))
	}
	return strings.Join(parts, " ")
}
