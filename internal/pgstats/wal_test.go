package pgstats

import (
	"context"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/prodstats"
)

// TestWALEstimatesMatchServer measures the write-ahead log that a rewrite,
// an index build and an UPDATE of every row really write on PostgreSQL 15,
// and checks the estimates the analyzer makes from a statistics file
// (collected here by Collect) are of the same order: within a factor of
// two. The server's WAL is shared by every database on it, so only the
// records that touch this test's database are counted (pg_walinspect).
// A CHECKPOINT before each statement makes it log every page it first
// changes whole, as production does between checkpoints.
func TestWALEstimatesMatchServer(t *testing.T) {
	d := newTestDB(t)
	d.exec(t, "CREATE EXTENSION pg_walinspect",
		// w has indexes, u has none, dl is deleted; 100k rows each (about 8 MB
		// of heap).
		"CREATE TABLE w (id bigint PRIMARY KEY, a int, b text, c bigint)",
		"CREATE INDEX w_a_idx ON w (a)",
		"INSERT INTO w SELECT g, g % 1000, md5(g::text), g * 7 FROM generate_series(1, 100000) g",
		"CREATE TABLE u (id bigint, a int, b text)",
		"INSERT INTO u SELECT g, g % 1000, md5(g::text) FROM generate_series(1, 100000) g",
		"CREATE TABLE dl (id bigint PRIMARY KEY, a int, b text)",
		"INSERT INTO dl SELECT g, g % 1000, md5(g::text) FROM generate_series(1, 100000) g",
		"VACUUM (FREEZE, ANALYZE) w", "VACUUM (FREEZE, ANALYZE) u", "VACUUM (FREEZE, ANALYZE) dl")
	f, err := Collect(context.Background(), d.url(), CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, u, dl := f.Table("public", "w"), f.Table("public", "u"), f.Table("public", "dl")
	if w == nil || u == nil || dl == nil || w.Rows != 100000 || w.Indexes != 2 {
		t.Fatalf("collected %+v and %+v", w, u)
	}
	// A replication slot keeps the server from removing the WAL segments
	// read below, whatever checkpoints other databases' tests run.
	slot := randomName("mg_wal_")
	d.exec(t, "SELECT pg_create_physical_replication_slot('"+slot+"', true)")
	t.Cleanup(func() { d.exec(t, "SELECT pg_drop_replication_slot('"+slot+"')") })
	oid := d.int64(t, "SELECT oid::bigint FROM pg_database WHERE datname = current_database()")
	measure := func(sql string) int64 {
		t.Helper()
		var lsn0, lsn1 string
		d.exec(t, "CHECKPOINT")
		if err := d.conn.QueryRow(context.Background(), "SELECT pg_current_wal_lsn()::text").Scan(&lsn0); err != nil {
			t.Fatal(err)
		}
		d.exec(t, sql)
		if err := d.conn.QueryRow(context.Background(), "SELECT pg_current_wal_lsn()::text").Scan(&lsn1); err != nil {
			t.Fatal(err)
		}
		return d.int64(t, `SELECT coalesce(sum(record_length), 0)::bigint FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
			WHERE block_ref LIKE '%/' || $3::bigint || '/%'`, lsn0, lsn1, oid)
	}
	// Each case's table is as the statistics file describes it: the index
	// builds leave the heap alone, and the rewrite and the updates come last.
	cases := []struct {
		name     string
		sql      string
		estimate func() int64
	}{
		{"CREATE INDEX on a text column", "CREATE INDEX w_b_idx ON w (b)", func() int64 { return w.IndexBuildWAL([]string{"b"}) }},
		{"CREATE INDEX on a bigint column", "CREATE INDEX w_c_idx ON w (c)", func() int64 { return w.IndexBuildWAL([]string{"c"}) }},
		{"CREATE INDEX CONCURRENTLY on two columns", "CREATE INDEX CONCURRENTLY w_ab_idx ON w (a, b)", func() int64 { return w.IndexBuildWAL([]string{"a", "b"}) }},
		{"UPDATE of every row of a table without indexes", "UPDATE u SET a = a + 1", u.UpdateWAL},
		{"rewrite of a table without indexes", "ALTER TABLE u ALTER COLUMN a TYPE bigint", func() int64 { return tableNow(t, d, "u").RewriteWAL() }},
		{"rewrite of a table and its indexes", "ALTER TABLE w ALTER COLUMN a TYPE bigint", func() int64 { return tableNow(t, d, "w").RewriteWAL() }},
		{"UPDATE of every row of a table with indexes", "UPDATE w SET c = c + 1", func() int64 { return tableNow(t, d, "w").UpdateWAL() }},
		{"DELETE of every row", "DELETE FROM dl", dl.DeleteWAL},
	}
	for _, tc := range cases {
		estimate := tc.estimate()
		got := measure(tc.sql)
		ratio := float64(estimate) / float64(got)
		t.Logf("%s: measured %d bytes of WAL, estimated %d (x%.2f)", tc.name, got, estimate, ratio)
		if got <= 0 || ratio < 0.5 || ratio > 2 {
			t.Errorf("%s: measured %d bytes of WAL, estimated %d: not within a factor of two", tc.name, got, estimate)
		}
	}
}

// tableNow is the table's sizes as they are when a case runs (after the
// index builds before it).
func tableNow(t *testing.T, d *testDB, table string) *prodstats.Table {
	t.Helper()
	return &prodstats.Table{
		HeapBytes:  d.int64(t, "SELECT pg_relation_size($1::regclass)", table),
		IndexBytes: d.int64(t, "SELECT pg_indexes_size($1::regclass)", table),
		TotalBytes: d.int64(t, "SELECT pg_total_relation_size($1::regclass)", table),
	}
}
