package pgstats

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Values of the bad rows; none may appear in a result or an error.
var badValues = []string{
	"LONG-VALUE-4b1d-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"LONG-VALUE-9e2c-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	"LONG-VALUE-77aa-ccccccccccccccccccccccccccccccc",
	"DUP-KEY-31337",
	"DUP-KEY-42424",
	"98765432109",
	"-98765432108",
	"-7777123",
	"-6666321",
	"ORPHAN-REF-8080",
}

// probeTable builds a table of 1,000 good rows and, among them, known bad
// rows: 3 codes longer than 20 characters, 4 NULL emails, 2 groups of
// duplicate (dup_a, dup_b) with 2 and 3 rows, 3 quantities outside integer
// range, 2 rows with a negative balance (and 1 with a NULL one, which a
// CHECK lets through), and 5 orphan references (plus 2 NULL references,
// which a foreign key does not check).
func probeTable(t *testing.T, d *testDB) {
	t.Helper()
	d.exec(t,
		`CREATE SCHEMA "Sales Dept"`,
		`CREATE TABLE ref_parent (id int, region text, UNIQUE (id, region))`,
		`INSERT INTO ref_parent SELECT g, 'eu' FROM generate_series(1, 100) g`,
		`CREATE TABLE "Sales Dept"."Customer Orders" (
			id int, code text, email text, dup_a text, dup_b int, qty bigint, balance numeric, ref_id int, ref_region text)`,
		`INSERT INTO "Sales Dept"."Customer Orders"
			SELECT g, 'c' || g, 'user' || g || '@example.com', 'k' || g, g, g, g, g % 100 + 1, 'eu'
			FROM generate_series(1, 1000) g`,
		`UPDATE "Sales Dept"."Customer Orders" SET code = '`+badValues[0]+`' WHERE id = 1`,
		`UPDATE "Sales Dept"."Customer Orders" SET code = '`+badValues[1]+`' WHERE id = 2`,
		`UPDATE "Sales Dept"."Customer Orders" SET code = '`+badValues[2]+`' WHERE id = 3`,
		`UPDATE "Sales Dept"."Customer Orders" SET email = NULL WHERE id IN (10, 11, 12, 13)`,
		`UPDATE "Sales Dept"."Customer Orders" SET dup_a = '`+badValues[3]+`', dup_b = 7 WHERE id IN (20, 21)`,
		`UPDATE "Sales Dept"."Customer Orders" SET dup_a = '`+badValues[4]+`', dup_b = 9 WHERE id IN (22, 23, 24)`,
		// Same dup_a but a NULL dup_b: never duplicates of each other.
		`UPDATE "Sales Dept"."Customer Orders" SET dup_a = 'null-pair', dup_b = NULL WHERE id IN (25, 26)`,
		`UPDATE "Sales Dept"."Customer Orders" SET qty = `+badValues[5]+` WHERE id = 30`,
		`UPDATE "Sales Dept"."Customer Orders" SET qty = `+badValues[6]+` WHERE id = 31`,
		`UPDATE "Sales Dept"."Customer Orders" SET qty = 2147483648 WHERE id = 32`,
		`UPDATE "Sales Dept"."Customer Orders" SET qty = 2147483647 WHERE id = 33`,
		`UPDATE "Sales Dept"."Customer Orders" SET balance = `+badValues[7]+` WHERE id = 40`,
		`UPDATE "Sales Dept"."Customer Orders" SET balance = `+badValues[8]+` WHERE id = 41`,
		`UPDATE "Sales Dept"."Customer Orders" SET balance = NULL WHERE id = 42`,
		`UPDATE "Sales Dept"."Customer Orders" SET ref_id = 100000 + id, ref_region = '`+badValues[9]+`' WHERE id BETWEEN 50 AND 54`,
		`UPDATE "Sales Dept"."Customer Orders" SET ref_id = NULL WHERE id IN (55, 56)`,
		`ANALYZE`,
	)
}

var orders = Table{Schema: "Sales Dept", Name: "Customer Orders"}

func newTestProber(t *testing.T, url string, opts ProbeOptions) *Prober {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := NewProber(ctx, url, opts)
	if err != nil {
		t.Fatalf("NewProber: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestProbesCountBadRows(t *testing.T) {
	d := newTestDB(t)
	probeTable(t, d)
	p := newTestProber(t, d.url(), ProbeOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	type result struct {
		name string
		c    Count
		err  error
	}
	var results []result
	run := func(name string, want int64, c Count, err error) {
		t.Helper()
		results = append(results, result{name, c, err})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if c.N != want || !c.Exact || c.Sampled {
			t.Errorf("%s = %+v, want exactly %d", name, c, want)
		}
	}
	c, err := p.LongerThan(ctx, orders, "code", 20)
	run("LongerThan(code, 20)", 3, c, err)
	if c.Percent != 0.3 {
		t.Errorf("LongerThan percent = %v, want 0.3", c.Percent)
	}
	c, err = p.LongerThan(ctx, orders, "code", 1000)
	run("LongerThan(code, 1000)", 0, c, err)
	c, err = p.Nulls(ctx, orders, "email")
	run("Nulls(email)", 4, c, err)
	c, err = p.DuplicateGroups(ctx, orders, []string{"dup_a", "dup_b"})
	run("DuplicateGroups(dup_a, dup_b)", 2, c, err)
	if c.Percent != 0.5 {
		t.Errorf("DuplicateGroups percent = %v, want 0.5 (5 of 1000 rows)", c.Percent)
	}
	c, err = p.DuplicateGroups(ctx, orders, []string{"dup_a"})
	run("DuplicateGroups(dup_a)", 3, c, err)
	c, err = p.OutOfRange(ctx, orders, "qty", "-2147483648", "2147483647")
	run("OutOfRange(qty, int4)", 3, c, err)
	c, err = p.OutOfRange(ctx, orders, "qty", "", "1000")
	run("OutOfRange(qty, <= 1000)", 3, c, err)
	c, err = p.OutOfRange(ctx, orders, "balance", "0", "")
	run("OutOfRange(balance, >= 0)", 2, c, err)
	// A CHECK probe says only whether some row breaks it (1) or none (0),
	// never how many (2, 7 and 3 rows here).
	for _, tt := range []struct {
		expr string
		want int64
	}{
		{"balance >= 0", 1},
		{"char_length(code) <= 20 AND email IS NOT NULL", 1},
		{"qty BETWEEN -2147483648 AND 2147483647 -- a comment closing nothing)", 1},
		{"id > 0", 0},
	} {
		c, err = p.ViolatingCheck(ctx, orders, tt.expr)
		run("ViolatingCheck("+tt.expr+")", tt.want, c, err)
		if !c.WhetherOnly || c.Percent != 0 {
			t.Errorf("ViolatingCheck(%s) = %+v: a count or a share came back", tt.expr, c)
		}
	}
	c, err = p.Orphans(ctx, orders, []string{"ref_id"}, Table{Name: "ref_parent"}, []string{"id"})
	run("Orphans(ref_id)", 5, c, err)
	c, err = p.Orphans(ctx, orders, []string{"ref_id", "ref_region"}, Table{Schema: "public", Name: "ref_parent"}, []string{"id", "region"})
	run("Orphans(ref_id, ref_region)", 5, c, err)

	for _, r := range results {
		assertNoneOf(t, r.name, r.c, r.err, badValues...)
	}

	// Failures name objects and never values.
	_, err = p.Nulls(ctx, orders, "no_such_column")
	if err == nil || !strings.Contains(err.Error(), `column t.no_such_column does not exist`) {
		t.Errorf("unknown column: %v", err)
	}
	_, err = p.Nulls(ctx, Table{Name: "no_such_table"}, "x")
	if err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("unknown table: %v", err)
	}
	// A text column compared as numeric fails on a row value; the value
	// stays out of the message.
	_, err = p.OutOfRange(ctx, orders, "dup_a", "0", "10")
	if err == nil || !strings.Contains(err.Error(), "SQLSTATE 22P02") {
		t.Errorf("non-numeric column: %v", err)
	}
	assertNoneOf(t, "non-numeric column error", nil, err, append(badValues, "k1", "null-pair")...)
	_, err = p.OutOfRange(ctx, orders, "qty", "1; DROP TABLE x", "")
	if err == nil || !strings.Contains(err.Error(), "not a decimal number") {
		t.Errorf("bad bound: %v", err)
	}
	_, err = p.Orphans(ctx, orders, []string{"ref_id"}, Table{Name: "ref_parent"}, []string{"id", "region"})
	if err == nil {
		t.Error("Orphans with mismatched columns succeeded")
	}
	if n := d.int64(t, `SELECT count(*) FROM "Sales Dept"."Customer Orders"`); n != 1000 {
		t.Errorf("table changed: %d rows", n)
	}
}

func TestViolatingCheckRefuses(t *testing.T) {
	d := newTestDB(t)
	d.exec(t, `CREATE TABLE t (id int, v int)`, `INSERT INTO t SELECT g, g FROM generate_series(1, 10) g`,
		`CREATE SEQUENCE s`,
		`CREATE FUNCTION public.sneaky(int) RETURNS boolean LANGUAGE sql VOLATILE AS 'SELECT true'`)
	p := newTestProber(t, d.url(), ProbeOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cases := []struct{ expr, want string }{
		{"v > 0); DROP TABLE t; SELECT (1", "3 statements"},
		{"v > 0); DELETE FROM t; --", "not a single SQL expression"},
		{"v > 0) --", "not a single SQL expression"},
		{"v > 0 /* unclosed", "not a single SQL expression"},
		{"v > 0) FROM t WHERE (true", "not a single scalar expression"},
		{"v > 0), (1", "not a single scalar expression"},
		{"v > (SELECT max(id) FROM t)", "subquery"},
		{"EXISTS (SELECT 1 FROM pg_authid)", "subquery"},
		{"v IN (SELECT id FROM t)", "subquery"},
		{"pg_sleep(10) IS NULL", "volatile functions (pg_sleep)"},
		{"nextval('s') > 0", "volatile functions (nextval)"},
		{"pg_catalog.set_config('lock_timeout', '0', false) <> ''", "volatile functions (set_config)"},
		{"sneaky(v)", "volatile functions (sneaky)"},
		{"public.sneaky(v)", "volatile functions (sneaky)"},
		{"v > $1", "parameter"},
		{"", "empty"},
		{"   ", "empty"},
		{"v >", "not a single SQL expression"},
	}
	for _, c := range cases {
		_, err := p.ViolatingCheck(ctx, Table{Name: "t"}, c.expr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ViolatingCheck(%q): err = %v, want %q", c.expr, err, c.want)
		}
	}
	if n := d.int64(t, "SELECT count(*) FROM t"); n != 10 {
		t.Fatalf("t has %d rows", n)
	}
	if n := d.int64(t, "SELECT last_value FROM s"); n != 1 {
		t.Fatalf("sequence moved to %d", n)
	}
	// Stable and immutable functions are fine.
	c, err := p.ViolatingCheck(ctx, Table{Name: "t"}, "lower(v::text) <> '3' AND now() > '2000-01-01'")
	if err != nil || c.N != 1 {
		t.Errorf("immutable/stable expression: %+v, %v", c, err)
	}
}

// A probe's query is cut off by its statement_timeout and the probe
// returns soon after, with an error that says so. The CHECK expression
// is immutable but expensive (an MD5 of a 2 MB string per row), so the
// table need not be large.
func TestProbeStatementTimeout(t *testing.T) {
	d := newTestDB(t)
	d.exec(t, `CREATE TABLE slow (id int, s text)`, `INSERT INTO slow SELECT g, 'abcdefghij' FROM generate_series(1, 20000) g`, `ANALYZE slow`)
	const timeout = 500 * time.Millisecond
	p := newTestProber(t, d.url(), ProbeOptions{StatementTimeout: timeout})
	// The context allows the timeout plus a second: if the statement
	// timeout were not applied, the context would end the probe instead and
	// the error would say so.
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
	defer cancel()
	_, err := p.ViolatingCheck(ctx, Table{Name: "slow"}, "md5(repeat(s, 200000)) <> ''")
	if ctx.Err() != nil {
		t.Fatalf("the probe outlived its statement timeout: the context ended first (%v)", err)
	}
	if err == nil || !IsStatementTimeout(err) || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("err = %v, want a statement timeout", err)
	}
	// The connection is still usable after a timed-out probe.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if c, err := p.Nulls(ctx2, Table{Name: "slow"}, "s"); err != nil || c.N != 0 {
		t.Fatalf("probe after a timeout: %+v, %v", c, err)
	}
}

// A probe waiting for a lock held by a migration gives up after
// lock_timeout.
func TestProbeLockTimeout(t *testing.T) {
	d := newTestDB(t)
	d.exec(t, `CREATE TABLE locked (id int)`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := d.conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	p := newTestProber(t, d.url(), ProbeOptions{LockTimeout: 200 * time.Millisecond})
	_, err = p.Nulls(ctx, Table{Name: "locked"}, "id")
	if !IsLockTimeout(err) || !strings.Contains(err.Error(), "lock timeout") {
		t.Fatalf("err = %v, want a lock timeout", err)
	}
}

// Above the size limit, probes read a TABLESAMPLE and scale the count.
func TestProbeSampling(t *testing.T) {
	d := newTestDB(t)
	probeTable(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A sample as large as the table reads every row: the scaled count must
	// equal the exact one.
	p := newTestProber(t, d.url(), ProbeOptions{SampleAboveBytes: 1, SampleBytes: 1 << 40})
	c, err := p.Nulls(ctx, orders, "email")
	if err != nil || c.N != 4 || c.Exact || !c.Sampled || c.Percent != 0.4 {
		t.Errorf("sampled Nulls over the whole table = %+v, %v; want 4, sampled", c, err)
	}
	c, err = p.DuplicateGroups(ctx, orders, []string{"dup_a", "dup_b"})
	if err != nil || c.N != 2 || c.Exact || !c.Sampled {
		t.Errorf("sampled DuplicateGroups = %+v, %v", c, err)
	}

	// A small sample runs and is marked an estimate.
	p2 := newTestProber(t, d.url(), ProbeOptions{SampleAboveBytes: 1, SampleBytes: 1})
	for name, probe := range map[string]func() (Count, error){
		"Nulls":          func() (Count, error) { return p2.Nulls(ctx, orders, "email") },
		"LongerThan":     func() (Count, error) { return p2.LongerThan(ctx, orders, "code", 20) },
		"OutOfRange":     func() (Count, error) { return p2.OutOfRange(ctx, orders, "qty", "0", "10") },
		"ViolatingCheck": func() (Count, error) { return p2.ViolatingCheck(ctx, orders, "balance >= 0") },
		"Orphans": func() (Count, error) {
			return p2.Orphans(ctx, orders, []string{"ref_id"}, Table{Name: "ref_parent"}, []string{"id"})
		},
		"DuplicateGroups": func() (Count, error) { return p2.DuplicateGroups(ctx, orders, []string{"dup_a"}) },
	} {
		c, err := probe()
		if err != nil || c.Exact || !c.Sampled || c.N < 0 || c.Percent < 0 || c.Percent > 100 {
			t.Errorf("%s on a small sample = %+v, %v", name, c, err)
		}
		assertNoneOf(t, name, c, err, badValues...)
	}

	// A partitioned table's size is its partitions': it is sampled, and the
	// count scaled to all of them.
	d.exec(t,
		`CREATE TABLE parted (id int, v text) PARTITION BY RANGE (id)`,
		`CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (500)`,
		`CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (500) TO (1000)`,
		`INSERT INTO parted SELECT g, CASE WHEN g % 100 = 0 THEN NULL ELSE 'x' END FROM generate_series(0, 999) g`,
		`ANALYZE parted`)
	if c, err := p.Nulls(ctx, Table{Name: "parted"}, "v"); err != nil || c.N != 10 || !c.Sampled || c.Percent != 1 {
		t.Errorf("sampled Nulls on a partitioned table = %+v, %v; want 10, sampled", c, err)
	}

	// Negative SampleAboveBytes never samples.
	p3 := newTestProber(t, d.url(), ProbeOptions{SampleAboveBytes: -1, SampleBytes: 1})
	if c, err := p3.Nulls(ctx, orders, "email"); err != nil || !c.Exact || c.Sampled || c.N != 4 {
		t.Errorf("never-sampling Nulls = %+v, %v", c, err)
	}
}

// A prober's transactions are read-only too.
func TestProberIsReadOnly(t *testing.T) {
	d := newTestDB(t)
	d.exec(t, `CREATE TABLE t (id int)`)
	p := newTestProber(t, d.url(), ProbeOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.s.readOnly(ctx, timeouts{p.opts.StatementTimeout, p.opts.LockTimeout}, "write attempt", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO t VALUES (1)")
		return err
	})
	var e *Error
	if !errors.As(err, &e) || e.SQLState() != "25006" || !strings.Contains(err.Error(), "cannot execute INSERT in a read-only transaction") {
		t.Fatalf("err = %v", err)
	}
}
