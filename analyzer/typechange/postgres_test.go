package typechange

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// withDatabase runs fn against a throwaway database with the rows' types.
func withDatabase(t *testing.T, fn func(ctx context.Context, conn *pgx.Conn, version int)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.Scratch(t, "CREATE EXTENSION citext", "CREATE EXTENSION hstore", setupSQL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		t.Fatal(err)
	}
	fn(ctx, conn, num/10000)
}

// The rows are only worth something if PostgreSQL agrees with them, so
// this test runs every row on the server the development machines and CI
// provide on 127.0.0.1:5432 and measures what the ALTER really did.
func TestAgainstPostgres(t *testing.T) {
	cat := testCatalog(t)
	withDatabase(t, func(ctx context.Context, conn *pgx.Conn, version int) {
		if version != 15 {
			t.Logf("the rows' expectations are for PostgreSQL 15; the server is %d, so only Classify's answer for %d is measured", version, version)
		}
		measured := 0
		for i, r := range rows {
			if r.ver != 0 || r.unmeasured != "" {
				continue
			}
			measured++
			t.Run(r.name(), func(t *testing.T) {
				m := &measure{ctx: ctx, t: t, conn: conn, r: r, tbl: fmt.Sprintf("t%03d", i)}
				m.run(classifyAt(t, r, cat, version))
			})
		}
		t.Logf("measured %d rows", measured)
	})
}

func classifyAt(t testing.TB, r row, cat *catalog.Catalog, version int) Verdict {
	oldT, newT, using := parseRow(t, r)
	return Classify(oldT, newT, Options{PostgresVersion: version, Using: using, TimeZone: r.tz, Column: "c", Catalog: cat})
}

type measure struct {
	ctx  context.Context
	t    *testing.T
	conn *pgx.Conn
	r    row
	tbl  string
}

func (m *measure) exec(sql string) {
	m.t.Helper()
	if _, err := m.conn.Exec(m.ctx, sql); err != nil {
		m.t.Fatalf("%s: %v", sql, err)
	}
}

// create makes a table with the old column c, an index of the given kind
// on it ("" for none), an indexed second column o, and the values.
func (m *measure) create(name, index string, values []string) {
	m.t.Helper()
	m.exec(fmt.Sprintf("CREATE TABLE %s (c %s, o int)", name, m.r.old))
	if index != "" {
		m.exec(fmt.Sprintf("CREATE %s %s_c ON %s (c)", index, name, name))
	}
	m.exec(fmt.Sprintf("CREATE INDEX %s_o ON %s (o)", name, name))
	for i, v := range values {
		m.exec(fmt.Sprintf("INSERT INTO %s (c, o) VALUES (%s, %d)", name, v, i+1))
	}
}

func (m *measure) alterSQL(name string) string {
	s := fmt.Sprintf("ALTER TABLE %s ALTER COLUMN c TYPE %s", name, m.r.new)
	if m.r.using != "" {
		s += " USING " + m.r.using
	}
	return s
}

func (m *measure) timeZone() string {
	if m.r.tz == "" {
		// An unknown TimeZone must be answered as if it were not UTC.
		return "America/New_York"
	}
	return m.r.tz
}

// alter runs the ALTER in a transaction under the row's TimeZone and
// hands the still-open transaction to fn before committing.
func (m *measure) alter(name string, fn func(tx pgx.Tx)) error {
	tx, err := m.conn.Begin(m.ctx)
	if err != nil {
		m.t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(m.ctx) }()
	if _, err := tx.Exec(m.ctx, fmt.Sprintf("SET LOCAL TimeZone = '%s'", m.timeZone())); err != nil {
		m.t.Fatal(err)
	}
	if _, err := tx.Exec(m.ctx, m.alterSQL(name)); err != nil {
		return err
	}
	if fn != nil {
		fn(tx)
	}
	return tx.Commit(m.ctx)
}

func filenode(ctx context.Context, t *testing.T, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, rel string) uint32 {
	t.Helper()
	var n uint32
	if err := q.QueryRow(ctx, "SELECT pg_relation_filenode($1::regclass)", rel).Scan(&n); err != nil {
		t.Fatalf("filenode of %s: %v", rel, err)
	}
	return n
}

func texts(ctx context.Context, t *testing.T, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, tbl string, first, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		var s *string
		// The simple protocol keeps pgx from reusing a statement prepared
		// before the column changed type.
		if err := q.QueryRow(ctx, fmt.Sprintf("SELECT c::text FROM %s WHERE o = %d", tbl, first+i), pgx.QueryExecModeSimpleProtocol).Scan(&s); err != nil {
			t.Fatalf("read %s: %v", tbl, err)
		}
		if s == nil {
			out = append(out, "NULL")
		} else {
			out = append(out, *s)
		}
	}
	return out
}

func parts(s string) int {
	if s == "" {
		return 0
	}
	return len(strings.Split(s, "; "))
}

func (m *measure) run(v Verdict) {
	t, r := m.t, m.r
	index := "INDEX"
	if r.noIndex {
		index = ""
	}
	values := append([]string(nil), r.fit...)
	for _, l := range r.lossy {
		values = append(values, l[0])
	}
	m.create(m.tbl, index, values)
	firstLossy := len(r.fit) + 1

	if v.NoImplicitCast || strings.HasPrefix(v.FailsWhen, "always") {
		err := m.alter(m.tbl, nil)
		var pe *pgconn.PgError
		switch {
		case err == nil:
			t.Fatalf("%s succeeded; Classify said it fails: %+v", m.alterSQL(m.tbl), v)
		case v.NoImplicitCast && (!errors.As(err, &pe) || pe.Code != "42804" || !strings.Contains(pe.Message, "cannot be cast automatically")):
			t.Fatalf("%s: want 'cannot be cast automatically' (42804), got %v", m.alterSQL(m.tbl), err)
		}
		return
	}

	heap0 := filenode(m.ctx, t, m.conn, m.tbl)
	other0 := filenode(m.ctx, t, m.conn, m.tbl+"_o")
	var col0 uint32
	if index != "" {
		col0 = filenode(m.ctx, t, m.conn, m.tbl+"_c")
	}
	m.exec("SET TimeZone = 'UTC'")
	before := texts(m.ctx, t, m.conn, m.tbl, firstLossy, len(r.lossy))

	var heap1, other1, col1 uint32
	var after []string
	err := m.alter(m.tbl, func(tx pgx.Tx) {
		heap1 = filenode(m.ctx, t, tx, m.tbl)
		other1 = filenode(m.ctx, t, tx, m.tbl+"_o")
		if index != "" {
			col1 = filenode(m.ctx, t, tx, m.tbl+"_c")
		}
		if _, err := tx.Exec(m.ctx, "SET LOCAL TimeZone = 'UTC'"); err != nil {
			t.Fatal(err)
		}
		after = texts(m.ctx, t, tx, m.tbl, firstLossy, len(r.lossy))
	})
	if err != nil {
		t.Fatalf("%s with values %v: %v", m.alterSQL(m.tbl), values, err)
	}

	if got, want := heap0 != heap1, v.Effect == Rewrite; got != want {
		t.Errorf("heap rewritten = %v, but Classify said %s", got, v.Effect)
	}
	if got, want := other0 != other1, v.Effect == Rewrite; got != want {
		t.Errorf("index on the other column rebuilt = %v, but Classify said %s", got, v.Effect)
	}
	if index != "" {
		if got, want := col0 != col1, v.Effect != Metadata; got != want {
			t.Errorf("index on the column rebuilt = %v, but Classify said %s", got, v.Effect)
		}
	}

	if n := parts(v.SilentLoss); len(r.lossy) < n {
		t.Errorf("SilentLoss %q has %d parts but the row shows only %d lossy values", v.SilentLoss, n, len(r.lossy))
	}
	if v.SilentLoss == "" && len(r.lossy) > 0 {
		t.Errorf("the row has lossy values but Classify reports no SilentLoss")
	}
	for i, l := range r.lossy {
		if after[i] != l[1] {
			t.Errorf("%s became %q, want %q", l[0], after[i], l[1])
		}
		if after[i] == before[i] {
			t.Errorf("%s did not change (%q), yet it is the row's example of %q", l[0], after[i], v.SilentLoss)
		}
	}
	m.failures(v, index)
}

// failures shows that each failing condition Classify names really makes
// the ALTER fail, on a fresh table each time.
func (m *measure) failures(v Verdict, index string) {
	t, r := m.t, m.r
	cases := len(r.bad)
	if len(r.collide) > 0 {
		cases++
	}
	if r.btree {
		cases++
	}
	if n := parts(v.FailsWhen); cases < n {
		t.Errorf("FailsWhen %q has %d parts but the row has data for only %d failures", v.FailsWhen, n, cases)
	}
	if v.FailsWhen == "" && cases > 0 {
		t.Errorf("the row has failing data but Classify reports no FailsWhen")
	}
	expectFail := func(name, index string, values []string) {
		m.create(name, index, values)
		if err := m.alter(name, nil); err == nil {
			t.Errorf("%s succeeded with values %v and index %q; Classify said it fails on %q", m.alterSQL(name), values, index, v.FailsWhen)
		}
	}
	for i, b := range r.bad {
		expectFail(fmt.Sprintf("%s_bad%d", m.tbl, i), index, append(append([]string(nil), r.fit...), b))
	}
	if len(r.collide) > 0 {
		expectFail(m.tbl+"_uniq", "UNIQUE INDEX", append(append([]string(nil), r.fit...), r.collide...))
	}
	if r.btree {
		expectFail(m.tbl+"_btree", "INDEX", r.fit)
	}
}

// TestTimeZonesAgainstPostgres checks fixedUTC against the server's own
// decision to skip the timestamp -> timestamptz rewrite.
func TestTimeZonesAgainstPostgres(t *testing.T) {
	withDatabase(t, func(ctx context.Context, conn *pgx.Conn, version int) {
		if version < 12 {
			t.Fatalf("the UTC shortcut needs PostgreSQL 12 or later; the server is %d", version)
		}
		for i, tz := range timeZoneCases {
			r := row{old: "timestamp", new: "timestamptz", tz: tz.name}
			m := &measure{ctx: ctx, t: t, conn: conn, r: r, tbl: fmt.Sprintf("tz%03d", i)}
			m.create(m.tbl, "", []string{"'2024-01-01'"})
			h0 := filenode(ctx, t, conn, m.tbl)
			var h1 uint32
			if err := m.alter(m.tbl, func(tx pgx.Tx) { h1 = filenode(ctx, t, tx, m.tbl) }); err != nil {
				t.Fatalf("TimeZone %q: %v", tz.name, err)
			}
			if kept := h0 == h1; kept != tz.utc {
				t.Errorf("TimeZone %q: PostgreSQL kept the heap = %v, the table says %v", tz.name, kept, tz.utc)
			}
		}
	})
}

// TestDependentsOfCheapChanges backs the Effect documentation: even a
// catalog-only change rebuilds expression and partial indexes on the column
// and re-validates CHECK constraints, and a change of equality operator
// re-validates foreign keys.
func TestDependentsOfCheapChanges(t *testing.T) {
	withDatabase(t, func(ctx context.Context, conn *pgx.Conn, version int) {
		for _, s := range []string{
			"CREATE TABLE e (c varchar(10), o int)",
			"CREATE TABLE k (c varchar(10) CHECK (c <> ''), o int)",
			"INSERT INTO k SELECT 'a', g FROM generate_series(1, 100) g",
			"CREATE INDEX e_plain ON e (c)",
			"CREATE INDEX e_expr ON e (lower(c))",
			"CREATE INDEX e_part ON e (o) WHERE c IS NOT NULL",
			"INSERT INTO e SELECT 'a', g FROM generate_series(1, 100) g",
			"CREATE TABLE p (id varchar(10) PRIMARY KEY)",
			"INSERT INTO p VALUES ('a')",
			"CREATE TABLE f (c varchar(10) REFERENCES p, o int)",
			"INSERT INTO f SELECT 'a', g FROM generate_series(1, 100) g",
		} {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		// scanned runs the ALTER and reports the rows its scans read from
		// the table, then rolls back.
		scanned := func(table, alter string, fn func(tx pgx.Tx)) int64 {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			read := func() int64 {
				var n int64
				if err := tx.QueryRow(ctx, "SELECT seq_tup_read FROM pg_stat_xact_all_tables WHERE relid = $1::regclass", table).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			// Counters not yet flushed from earlier statements show up
			// too, so only the difference counts.
			n0 := read()
			if _, err := tx.Exec(ctx, alter); err != nil {
				t.Fatalf("%s: %v", alter, err)
			}
			n := read() - n0
			if fn != nil {
				fn(tx)
			}
			return n
		}

		rels := []string{"e", "e_plain", "e_expr", "e_part"}
		before := map[string]uint32{}
		for _, r := range rels {
			before[r] = filenode(ctx, t, conn, r)
		}
		scanned("e", "ALTER TABLE e ALTER COLUMN c TYPE varchar(20)", func(tx pgx.Tx) {
			want := map[string]bool{"e": false, "e_plain": false, "e_expr": true, "e_part": true}
			for _, r := range rels {
				if got := filenode(ctx, t, tx, r) != before[r]; got != want[r] {
					t.Errorf("%s rebuilt = %v, want %v", r, got, want[r])
				}
			}
		})
		if n := scanned("k", "ALTER TABLE k ALTER COLUMN c TYPE varchar(20)", nil); n != 100 {
			t.Errorf("the CHECK constraint's re-validation read %d rows, want 100", n)
		}
		if n := scanned("f", "ALTER TABLE f ALTER COLUMN c TYPE varchar(20)", nil); n != 0 {
			t.Errorf("varchar(10) -> varchar(20) re-validated the foreign key (%d rows read)", n)
		}
		if n := scanned("f", "ALTER TABLE f ALTER COLUMN c TYPE bpchar", nil); n != 100 {
			t.Errorf("varchar(10) -> bpchar read %d rows of the referencing table, want 100 for the foreign key's re-validation", n)
		}

		vc := func(n int32) catalog.Type {
			return catalog.Type{Schema: "pg_catalog", Name: "varchar", Mods: []int32{n}}
		}
		if v := Classify(vc(10), vc(20), Options{PostgresVersion: version}); v.Effect != Metadata {
			t.Errorf("Classify varchar(10) -> varchar(20): %+v", v)
		}
		if v := Classify(vc(10), catalog.Type{Schema: "pg_catalog", Name: "bpchar"}, Options{PostgresVersion: version}); v.Effect != IndexRebuild {
			t.Errorf("Classify varchar(10) -> bpchar: %+v", v)
		}
	})
}
