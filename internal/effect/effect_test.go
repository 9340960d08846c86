package effect

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// The comparators must see what they are there to see: an index that lost
// its ordering, changed rows, a step that fails, a placeholder left
// unfilled, a table in another schema.
func TestSeesDifferences(t *testing.T) {
	ctx := context.Background()
	template := pgtest.Scratch(t, `CREATE TABLE t ("userId" int, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 25000) g;
CREATE SCHEMA app; CREATE TABLE app.t (v int); INSERT INTO app.t VALUES (1);`)
	orig := connect(t, pgtest.ScratchFrom(t, template))
	sugg := connect(t, pgtest.ScratchFrom(t, template))
	if err := Run(ctx, orig, []string{`CREATE INDEX t_idx ON t ("userId" DESC) WHERE v > 3`}); err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, sugg, []string{`CREATE INDEX CONCURRENTLY t_other_name ON t ("userId") WHERE v > 3`,
		`UPDATE t SET v = v + 100000 WHERE ctid IN (SELECT ctid FROM t WHERE v < 100000 LIMIT 10000)`,
		`UPDATE app.t SET v = 2`}); err != nil {
		t.Fatal(err)
	}
	want, err := Snapshot(ctx, orig, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	have, err := Snapshot(ctx, sugg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Diff(want, have)
	if !strings.Contains(d, `- index on t: CREATE INDEX ON public.t USING btree ("userId" DESC) WHERE v > 3 valid=true`) ||
		!strings.Contains(d, `+ index on t: CREATE INDEX ON public.t USING btree ("userId") WHERE v > 3 valid=true`) {
		t.Errorf("the lost DESC is not seen:\n%s", d)
	}
	if !strings.Contains(d, "- rows of t: 25000, checksum") {
		t.Errorf("changed rows are not seen:\n%s", d)
	}
	if !strings.Contains(d, "- rows of app.t: 1, checksum") {
		t.Errorf("changed rows in another schema are not seen:\n%s", d)
	}
	// The batch ran until it changed 0 rows: every v was moved past 100000.
	var left int
	if err := sugg.QueryRow(ctx, `SELECT count(*) FROM t WHERE v < 100000`).Scan(&left); err != nil || left != 0 {
		t.Errorf("the batch stopped early: %d rows left (%v)", left, err)
	}
	if err := Run(ctx, sugg, []string{`BEGIN`, `CREATE INDEX CONCURRENTLY t_c ON t (v)`}); err == nil {
		t.Error("CONCURRENTLY inside BEGIN ran")
	}
	var pe *PlaceholderError
	if _, err := Steps("UPDATE t SET v = <value>;", nil); !errors.As(err, &pe) {
		t.Errorf("a placeholder left unfilled was run: %v", err)
	}
	if steps, err := Steps("-- +goose NO TRANSACTION\n-- +goose Up\nSELECT 1 WHERE 1 < 2;\n-- next migration:\nSELECT 2;", nil); err != nil || len(steps) != 2 {
		t.Errorf("steps %q, %v", steps, err)
	}
}

// A column whose values differ from run to run is seen by its checksum,
// and compared by its NULLs when named volatile.
func TestVolatileColumns(t *testing.T) {
	ctx := context.Background()
	template := pgtest.Scratch(t, `CREATE TABLE t (id int); INSERT INTO t SELECT g FROM generate_series(1, 50) g;`)
	a := connect(t, pgtest.ScratchFrom(t, template))
	b := connect(t, pgtest.ScratchFrom(t, template))
	for _, c := range []*pgx.Conn{a, b} {
		if err := Run(ctx, c, []string{`ALTER TABLE t ADD COLUMN r float8 DEFAULT random()`}); err != nil {
			t.Fatal(err)
		}
	}
	sa, err := ColumnSums(ctx, a, Table{Name: "t", Ident: "public.t"})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := ColumnSums(ctx, b, Table{Name: "t", Ident: "public.t"})
	if err != nil {
		t.Fatal(err)
	}
	if sa["id"] != sb["id"] || sa["r"] == sb["r"] {
		t.Errorf("column sums: %v, %v", sa, sb)
	}
	wa, _ := Snapshot(ctx, a, nil, nil)
	wb, _ := Snapshot(ctx, b, nil, nil)
	if Diff(wa, wb) == "" {
		t.Error("random values compared equal")
	}
	wa, _ = Snapshot(ctx, a, []string{"t.r"}, nil)
	wb, _ = Snapshot(ctx, b, []string{"t.r"}, nil)
	if d := Diff(wa, wb); d != "" {
		t.Errorf("volatile column still compared:\n%s", d)
	}
}
