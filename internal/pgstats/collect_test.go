package pgstats

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/analyzer/prodstats"
)

// A value only the test's rows hold; it must never leave the server.
const rowSecret = "ROWVALUE-7f3a9c-customer@example.com"

func TestCollect(t *testing.T) {
	d := newTestDB(t)
	d.exec(t,
		`CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text, name varchar(100),
			amount numeric(10,2), created_at timestamptz, note text)`,
		`CREATE INDEX ON orders (name)`,
		// 20,000 rows; every 10th email is NULL; the longest name is 40 characters.
		`INSERT INTO orders (email, name, amount, created_at, note)
			SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE 'user' || g || '@example.com' END,
			       CASE WHEN g % 2 = 0 THEN repeat('n', 40) ELSE 'short' END,
			       g / 100.0, now(), CASE WHEN g = 1 THEN '`+rowSecret+`' ELSE repeat('x', 3000) END
			FROM generate_series(1, 20000) g`,
		`CREATE SCHEMA shop`,
		`CREATE TABLE shop.events (id bigint, at date NOT NULL, kind text) PARTITION BY RANGE (at)`,
		`CREATE TABLE shop.events_2024 PARTITION OF shop.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
		`CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
		`CREATE INDEX ON shop.events (at)`,
		`INSERT INTO shop.events SELECT g, date '2024-06-01' + (g % 400), 'k' || (g % 7) FROM generate_series(1, 3000) g`,
		`CREATE TABLE fresh (id int)`,
		`CREATE MATERIALIZED VIEW order_totals AS SELECT name, sum(amount) AS total FROM orders GROUP BY name`,
		`ANALYZE orders`, `ANALYZE shop.events`, `ANALYZE order_totals`,
	)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := Collect(ctx, d.url(), CollectOptions{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}

	if !strings.HasPrefix(f.Server.Version, "15.") || f.Server.VersionNum < 150000 || f.Server.Database != d.name {
		t.Errorf("server = %+v", f.Server)
	}
	if f.Settings.LockTimeoutMS == nil || f.Settings.StatementTimeoutMS == nil || f.Settings.IdleInTransactionSessionTimeoutMS == nil || f.Settings.TimeZone == "" {
		t.Fatalf("settings not read: %+v", f.Settings)
	}
	// The collector's own SET LOCAL statement_timeout is not what a
	// migration's session would get.
	if got := *f.Settings.StatementTimeoutMS; got == 10000 {
		t.Errorf("statement_timeout read from the collector's transaction (%d ms), not the session default", got)
	}
	if time.Since(f.CollectedAt) > time.Minute || f.CollectedAt.Location() != time.UTC {
		t.Errorf("collected_at = %v", f.CollectedAt)
	}
	for _, tb := range f.Tables {
		if strings.HasPrefix(tb.Schema, "pg_") || tb.Schema == "information_schema" {
			t.Errorf("system table collected: %s.%s", tb.Schema, tb.Name)
		}
	}

	orders := f.Table("public", "orders")
	if orders == nil {
		t.Fatalf("orders missing; tables: %+v", f.Tables)
	}
	if orders.Rows != 20000 {
		t.Errorf("orders rows = %d, want 20000", orders.Rows)
	}
	sizes := func(rel string) (heap, index, toast, total int64) {
		t.Helper()
		err := d.conn.QueryRow(ctx, `SELECT pg_relation_size($1::regclass), pg_indexes_size($1::regclass),
			coalesce((SELECT pg_total_relation_size(reltoastrelid) FROM pg_class WHERE oid = $1::regclass AND reltoastrelid <> 0), 0),
			pg_total_relation_size($1::regclass)`, rel).Scan(&heap, &index, &toast, &total)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	heap, index, toast, total := sizes("orders")
	if orders.HeapBytes != heap || orders.IndexBytes != index || orders.ToastBytes != toast || orders.TotalBytes != total {
		t.Errorf("orders sizes = heap %d, index %d, toast %d, total %d; server says %d, %d, %d, %d",
			orders.HeapBytes, orders.IndexBytes, orders.ToastBytes, orders.TotalBytes, heap, index, toast, total)
	}
	if orders.HeapBytes == 0 || orders.ToastBytes == 0 {
		t.Errorf("orders should have a heap and TOAST (3,000-byte notes): %+v", orders)
	}
	if orders.Indexes != 2 || orders.Stats != "" || len(orders.NoStats) != 0 {
		t.Errorf("orders indexes %d, stats %q, no_stats %v", orders.Indexes, orders.Stats, orders.NoStats)
	}
	wantTypes := map[string]string{"id": "bigint", "email": "text", "name": "character varying(100)",
		"amount": "numeric(10,2)", "created_at": "timestamp with time zone", "note": "text"}
	if len(orders.Columns) != len(wantTypes) {
		t.Errorf("orders columns = %+v", orders.Columns)
	}
	for name, typ := range wantTypes {
		if c := orders.Column(name); c == nil || c.Type != typ {
			t.Errorf("column %s = %+v, want type %s", name, c, typ)
		}
	}
	if c := orders.Column("email"); c.NullFrac < 0.08 || c.NullFrac > 0.12 || c.AvgWidth == 0 || c.MaxLen < len("user1@example.com") {
		t.Errorf("email stats = %+v; want null_frac ~0.1, a width and a max length", c)
	}
	if c := orders.Column("name"); c.MaxLen != 40 {
		t.Errorf("name max_len = %d, want 40 (a most common value)", c.MaxLen)
	}
	if c := orders.Column("id"); c.AvgWidth != 0 || c.MaxLen != 0 || c.NullFrac != 0 {
		t.Errorf("fixed-width id should carry no width or length: %+v", c)
	}

	events := f.Table("shop", "events")
	if events == nil || events.Kind != prodstats.KindPartitioned {
		t.Fatalf("shop.events = %+v", events)
	}
	var sumTotal, sumHeap int64
	for _, part := range []string{"shop.events_2024", "shop.events_2025"} {
		h, _, _, tot := sizes(part)
		sumHeap += h
		sumTotal += tot
	}
	if events.Rows != 3000 || events.HeapBytes != sumHeap || events.TotalBytes != sumTotal || events.Indexes != 1 {
		t.Errorf("partitioned events = rows %d heap %d total %d indexes %d; want 3000, %d, %d, 1",
			events.Rows, events.HeapBytes, events.TotalBytes, events.Indexes, sumHeap, sumTotal)
	}
	if c := events.Column("kind"); c == nil || !events.HasStats("kind") || c.MaxLen != 2 {
		t.Errorf("events.kind should have the hierarchy's statistics: %+v", c)
	}
	if p := f.Table("shop", "events_2024"); p == nil || p.Rows <= 0 {
		t.Errorf("partition events_2024 = %+v", p)
	}

	fresh := f.Table("public", "fresh")
	if fresh == nil || fresh.Rows != -1 || fresh.Stats != prodstats.StatsNotAnalyzed || fresh.HasStats("id") {
		t.Errorf("never-analyzed table = %+v", fresh)
	}
	if mv := f.Table("public", "order_totals"); mv == nil || mv.Kind != prodstats.KindMatview || mv.Rows != 2 {
		t.Errorf("materialized view = %+v", mv)
	}

	// The file round-trips and holds no row value: pg_stats has the secret
	// among its sample values, only lengths may leave the server.
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := prodstats.Load(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Load(Write(Collect)): %v", err)
	}
	for _, v := range []string{rowSecret, "user1@example.com", "@example.com", "nnnnnnnn", "xxxxxxxx", "127.0.0.1", "postgres://"} {
		if strings.Contains(buf.String(), v) {
			t.Errorf("statistics file contains %q", v)
		}
	}

	// Schemas limits collection.
	only, err := Collect(ctx, d.url(), CollectOptions{Schemas: []string{"shop"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range only.Tables {
		if tb.Schema != "shop" {
			t.Errorf("Schemas: [shop] collected %s.%s", tb.Schema, tb.Name)
		}
	}
	if len(only.Tables) != 3 {
		t.Errorf("shop has 3 tables, collected %d", len(only.Tables))
	}
}

// The collector's transaction cannot write: a write through the same setup
// fails, and so does one outside it on the same session.
func TestCollectSessionIsReadOnly(t *testing.T) {
	d := newTestDB(t)
	d.exec(t, `CREATE TABLE target (id serial)`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := connect(ctx, d.url(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	opts := CollectOptions{}.withDefaults()
	to := timeouts{opts.StatementTimeout, opts.LockTimeout}

	for _, write := range []string{"CREATE TABLE written (id int)", "INSERT INTO target VALUES (1)", "DELETE FROM target", "SELECT nextval(pg_get_serial_sequence('target', 'id'))"} {
		err := s.readOnly(ctx, to, "write attempt", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, write)
			return err
		})
		var e *Error
		if !errors.As(err, &e) || e.SQLState() != "25006" || !strings.Contains(err.Error(), "in a read-only transaction") {
			t.Errorf("%s: err = %v, want cannot execute ... in a read-only transaction", write, err)
		}
	}
	var setting [2]string
	err = s.readOnly(ctx, to, "show", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')").Scan(&setting[0], &setting[1])
	})
	if err != nil || setting != [2]string{"10s", "1s"} {
		t.Errorf("inside the transaction statement_timeout, lock_timeout = %v (%v), want 10s, 1s", setting, err)
	}
	// Outside the helper, the session default still refuses writes.
	if _, err := s.conn.Exec(ctx, "INSERT INTO target VALUES (2)"); err == nil || !strings.Contains(err.Error(), "read-only transaction") {
		t.Errorf("write outside a transaction: err = %v", err)
	}
	if n := d.int64(t, "SELECT count(*) FROM target"); n != 0 {
		t.Errorf("target has %d rows; a write got through", n)
	}
	if n := d.int64(t, "SELECT count(*) FROM pg_class WHERE relname = 'written'"); n != 0 {
		t.Error("table written was created")
	}
}

// A role with CONNECT only still gets every table, with sizes; the tables
// whose statistics it may not read are marked rather than failing.
func TestCollectWithoutPrivileges(t *testing.T) {
	d := newTestDB(t)
	d.exec(t,
		`CREATE TABLE visible (id int, label text)`,
		`CREATE TABLE hidden (id int, secret text)`,
		`CREATE TABLE partly (id int, pub text, priv text)`,
		`CREATE SCHEMA closed`,
		`CREATE TABLE closed.inner_table (id int)`,
		`INSERT INTO visible SELECT g, 'v' || g FROM generate_series(1, 500) g`,
		`INSERT INTO hidden SELECT g, '`+rowSecret+`' FROM generate_series(1, 500) g`,
		`INSERT INTO partly SELECT g, 'p', '`+rowSecret+`' FROM generate_series(1, 500) g`,
		`INSERT INTO closed.inner_table SELECT generate_series(1, 100)`,
		`ANALYZE`,
	)
	role := newRole(t, d, "")
	d.exec(t,
		"REVOKE ALL ON DATABASE "+d.name+" FROM PUBLIC",
		"GRANT CONNECT ON DATABASE "+d.name+" TO "+role,
		"GRANT SELECT ON visible TO "+role,
		"GRANT SELECT (id, pub) ON partly TO "+role,
	)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := Collect(ctx, d.urlAs(role), CollectOptions{})
	if err != nil {
		t.Fatalf("Collect as a CONNECT-only role: %v", err)
	}
	v := f.Table("public", "visible")
	if v == nil || v.Stats != "" || !v.HasStats("label") || v.Rows != 500 {
		t.Errorf("visible = %+v", v)
	}
	h := f.Table("public", "hidden")
	if h == nil || h.Stats != prodstats.StatsNoPrivilege || h.HasStats("id") || h.HasStats("secret") || len(h.NoStats) != 2 {
		t.Errorf("hidden should be marked no-privilege with both columns lacking statistics: %+v", h)
	}
	if h != nil && (h.Rows != 500 || h.TotalBytes == 0 || len(h.Columns) != 2) {
		t.Errorf("hidden should still have rows, sizes and columns: %+v", h)
	}
	p := f.Table("public", "partly")
	if p == nil || p.Stats != prodstats.StatsNoPrivilege || !p.HasStats("pub") || p.HasStats("priv") {
		t.Errorf("partly should have statistics for its granted columns only: %+v", p)
	}
	if c := f.Table("closed", "inner_table"); c == nil || c.Stats != prodstats.StatsNoPrivilege || c.Rows != 100 {
		t.Errorf("a table in a schema without USAGE = %+v", c)
	}
	assertNoneOf(t, "statistics file", f, nil, rowSecret)
}

func TestCollectBadInput(t *testing.T) {
	d := newTestDB(t)
	const password = "Sup3r-Secret_pw"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cases := []struct {
		name, url string
		want      []string
	}{
		{"connection refused", "postgres://postgres:" + password + "@127.0.0.1:1/" + d.name + "?sslmode=disable",
			[]string{"cannot connect to postgres://postgres@127.0.0.1:1/", "connection refused"}},
		{"connection refused, keyword/value", "host=127.0.0.1 port=1 user=postgres password='" + password + "' dbname=x sslmode=disable",
			[]string{"cannot connect to host=127.0.0.1 port=1 user=postgres dbname=x", "connection refused"}},
		// The server trusts 127.0.0.1, so a wrong password is accepted; a
		// role that does not exist is refused, with the password given.
		{"unknown role", "postgres://nosuch_role_mg:" + password + "@127.0.0.1:5432/" + d.name + "?sslmode=disable",
			[]string{`role "nosuch_role_mg" does not exist`, "SQLSTATE 28000", "check the role and password"}},
		{"unknown database", "postgres://postgres:" + password + "@127.0.0.1:5432/nosuch_db_mg?sslmode=disable&password=" + password,
			[]string{`database "nosuch_db_mg" does not exist`}},
		{"password in query", "postgres://postgres@127.0.0.1:1/x?password=" + password + "&sslmode=disable",
			[]string{"connection refused", "postgres://postgres@127.0.0.1:1/x?sslmode=disable"}},
		{"malformed URL", "postgres://postgres:" + password + "@127.0.0.1:notaport/x", []string{"invalid connection string"}},
		{"malformed keyword/value", "host=127.0.0.1 password='" + password, []string{"invalid connection string", "could not be parsed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			f, err := Collect(ctx, c.url, CollectOptions{})
			if err == nil {
				t.Fatalf("Collect(%s) succeeded: %+v", RedactURL(c.url), f)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			assertNoneOf(t, "error", nil, err, password, "Secret")
			if time.Since(start) > 15*time.Second {
				t.Errorf("took %v to fail", time.Since(start))
			}
		})
	}
}
