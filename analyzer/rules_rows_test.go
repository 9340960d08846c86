package analyzer

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// TestRowRules: every form of destroying rows, positive and negative. Lock
// findings (question 6) are left out: they have their own tests.
func TestRowRules(t *testing.T) {
	tests := []struct {
		name string
		up   string
		want []string
	}{
		{"delete without where", "DELETE FROM orders;", []string{"delete-without-where:danger@2"}},
		{"delete where true", "DELETE FROM orders WHERE true;", []string{"delete-without-where:danger@2"}},
		{"delete where 1 = 1", "DELETE FROM orders WHERE 1 = 1;", []string{"delete-without-where:danger@2"}},
		{"delete where not false", "DELETE FROM orders WHERE NOT false;", []string{"delete-without-where:danger@2"}},
		{"delete where folded literals", "DELETE FROM orders WHERE 2 + 2 >= 3 AND 'a' = 'a' AND 't'::boolean;", []string{"delete-without-where:danger@2"}},
		{"delete where true or a column", "DELETE FROM orders WHERE true OR id = 1;", []string{"delete-without-where:danger@2"}},
		{"delete where null is null", "DELETE FROM orders WHERE NULL IS NULL;", []string{"delete-without-where:danger@2"}},
		{"delete where 1 in (1, 2)", "DELETE FROM orders WHERE 1 IN (1, 2);", []string{"delete-without-where:danger@2"}},
		{"delete where false", "DELETE FROM orders WHERE 1 = 2;", nil},
		{"delete where null", "DELETE FROM orders WHERE NULL;", nil},
		{"delete where a column", "DELETE FROM orders WHERE id = 1;", []string{"delete-rows:danger@2"}},
		{"delete where a subquery on the target", "DELETE FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE name IS NULL);", []string{"delete-rows:danger@2"}},
		{"delete where an unrelated condition", "DELETE FROM orders WHERE EXISTS (SELECT 1 FROM customers c WHERE c.name IS NULL);", []string{"delete-without-where:danger@2"}},
		{"delete using a join", "DELETE FROM orders o USING customers c WHERE o.customer_id = c.id AND c.name IS NULL;", []string{"delete-rows:danger@2"}},
		{"delete using, condition only on the other table", "DELETE FROM orders o USING customers c WHERE c.name IS NULL;", []string{"delete-without-where:danger@2"}},
		{"delete in a data-modifying CTE", "WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d;", []string{"delete-without-where:danger@2"}},
		{"restricted delete in a CTE", "WITH d AS (DELETE FROM orders WHERE id < 10 RETURNING *) SELECT count(*) FROM d;", []string{"delete-rows:danger@2"}},
		{"update in a CTE under an INSERT", "WITH u AS (UPDATE customers SET name = NULL RETURNING id) INSERT INTO reporting.daily SELECT current_date, count(*) FROM u;",
			[]string{"update-without-where:danger@2"}},
		{"explain analyze runs it", "EXPLAIN ANALYZE DELETE FROM orders;", []string{"delete-without-where:danger@2"}},
		{"explain alone does not", "EXPLAIN DELETE FROM orders;", nil},
		{"update where 1=1", "UPDATE customers SET name = 'x' WHERE 1=1;", []string{"update-without-where:danger@2"}},
		{"NULLs filled with COALESCE keep every value", "UPDATE customers SET name = COALESCE(name, 'unknown');", []string{"backfill:danger@2"}},
		{"COALESCE of another column overwrites", "UPDATE orders SET note = COALESCE(status::text, 'x');", []string{"update-without-where:danger@2"}},
		{"COALESCE with the column second overwrites", "UPDATE customers SET name = COALESCE('x', name);", []string{"update-without-where:danger@2"}},
		{"update from over the whole table", "UPDATE orders SET note = c.name FROM customers c WHERE c.id = 1;", []string{"update-without-where:danger@2"}},
		{"update from joined to the target", "UPDATE orders o SET note = c.name FROM customers c WHERE c.id = o.customer_id;", []string{"update-rows:danger@2"}},
		{"update from without where", "UPDATE orders SET note = c.name FROM customers c;", []string{"update-without-where:danger@2"}},
		{"merge matched delete", "MERGE INTO customers c USING orders o ON o.customer_id = c.id WHEN MATCHED THEN DELETE;", []string{"merge-matched:danger@2"}},
		{"merge matched update", "MERGE INTO customers c USING orders o ON o.customer_id = c.id WHEN MATCHED THEN UPDATE SET name = 'x';", []string{"merge-matched:danger@2"}},
		{"merge on true updates every row", "MERGE INTO customers c USING (SELECT 1) s ON true WHEN MATCHED THEN UPDATE SET name = 'x';", []string{"merge-matched:danger@2"}},
		{"merge that only inserts", "MERGE INTO customers c USING orders o ON o.customer_id = c.id WHEN NOT MATCHED THEN INSERT (email) VALUES ('x');", nil},
		{"merge into a new table", "CREATE TABLE tmp (id int);\nMERGE INTO tmp t USING orders o ON o.id = t.id WHEN MATCHED THEN DELETE;", []string{"merge-matched:info@3"}},
		{"prepared delete", "PREPARE purge AS DELETE FROM orders;\nEXECUTE purge;", []string{"delete-without-where:danger@2"}},
		{"prepared restricted delete", "PREPARE purge (bigint) AS DELETE FROM orders WHERE id = $1;", []string{"delete-rows:danger@2"}},
		{"rule that deletes every row", "CREATE RULE wipe AS ON INSERT TO orders DO ALSO DELETE FROM customers;", []string{"delete-without-where:danger@2"}},
		{"rule that deletes one row", "CREATE RULE wipe AS ON INSERT TO orders DO ALSO DELETE FROM customers WHERE id = NEW.customer_id;", []string{"delete-rows:danger@2"}},
		{"drop owned", "DROP OWNED BY legacy_app;", []string{"drop-owned:danger@2"}},
		{"reassign owned", "REASSIGN OWNED BY legacy_app TO app;", []string{"reassign-owned:warning@2"}},
		{"copy to program", "COPY orders TO PROGRAM 'gzip > /tmp/o.gz';", []string{"copy-program:danger@2"}},
		{"copy from program", "COPY orders FROM PROGRAM 'curl -s http://x';", []string{"copy-program:danger@2", "copy-from:warning@2"}},
		{"copy from a file into an existing table", "COPY customers FROM '/data/c.csv' WITH (FORMAT csv);", []string{"copy-from:warning@2"}},
		{"copy from into a new table", "CREATE TABLE tmp (id int);\nCOPY tmp FROM '/data/t.csv';", []string{"copy-from:info@3"}},
		{"copy to a file", "COPY orders TO '/tmp/orders.csv';", nil},
		{"backfill of a new column", "ALTER TABLE orders ADD COLUMN paid boolean;\nUPDATE orders SET paid = false;", []string{"backfill:danger@3"}},
		{"backfill of a new column, where true", "ALTER TABLE orders ADD COLUMN paid boolean;\nUPDATE orders SET paid = false WHERE true;", []string{"backfill:danger@3"}},
		{"new and old column together overwrite data", "ALTER TABLE orders ADD COLUMN paid boolean;\nUPDATE orders SET paid = false, note = NULL;", []string{"update-without-where:danger@3"}},
		{"update of a new table", "CREATE TABLE tmp (id int);\nUPDATE tmp SET id = 1;", []string{"update-without-where:info@3"}},
		// A WHERE does not say how many rows it reaches: a DELETE or UPDATE
		// of rows that existed before the change needs approval.
		{"delete where id > 0", "DELETE FROM orders WHERE id > 0;", []string{"delete-rows:danger@2"}},
		{"delete where id = id", "DELETE FROM orders WHERE id = id;", []string{"delete-rows:danger@2"}},
		{"delete where in a subquery on itself", "DELETE FROM customers WHERE id IN (SELECT id FROM customers);", []string{"delete-rows:danger@2"}},
		{"delete where, unknown table", "DELETE FROM archive WHERE id > 0;", []string{"delete-rows:danger@2"}},
		{"explain analyze of a delete where", "EXPLAIN ANALYZE DELETE FROM orders WHERE id > 0;", []string{"delete-rows:danger@2"}},
		{"delete where, table created earlier in the change", "CREATE TABLE tmp (id int);\nDELETE FROM tmp WHERE id > 0;", nil},
		{"delete where, table created earlier in the change, in a CTE", "CREATE TABLE tmp (id int);\nWITH d AS (DELETE FROM tmp WHERE id > 0 RETURNING id) SELECT count(*) FROM d;", nil},
		{"update set null where id > 0", "UPDATE customers SET email = NULL WHERE id > 0;", []string{"update-rows:danger@2"}},
		{"update where in a CTE", "WITH u AS (UPDATE customers SET name = NULL WHERE id > 0 RETURNING id) SELECT count(*) FROM u;", []string{"update-rows:danger@2"}},
		{"update where, unknown table", "UPDATE archive SET v = 1 WHERE id > 0;", []string{"update-rows:danger@2"}},
		{"update where, unknown column", "UPDATE orders SET legacy = 1 WHERE id > 0;", []string{"update-rows:danger@2"}},
		{"update where false", "UPDATE customers SET email = NULL WHERE false;", nil},
		{"update where the set column is NULL fills NULLs only", "UPDATE customers SET name = 'x' WHERE name IS NULL AND id > 0;", nil},
		{"update where the target's column, by alias, is NULL", "UPDATE customers c SET name = o.note FROM orders o WHERE c.name IS NULL AND o.customer_id = c.id;", nil},
		{"update where another table's column is NULL overwrites", "UPDATE customers c SET name = 'x' FROM orders o WHERE o.note IS NULL AND o.customer_id = c.id;", []string{"update-rows:danger@2"}},
		{"update where IS NULL in an OR overwrites", "UPDATE customers SET name = 'x' WHERE name IS NULL OR id > 0;", []string{"update-rows:danger@2"}},
		{"update of a column other than the NULL one overwrites", "UPDATE customers SET name = 'x', email = 'y' WHERE name IS NULL;", []string{"update-rows:danger@2"}},
		{"update where that keeps every value", "UPDATE customers SET name = COALESCE(name, 'x') WHERE id > 0;", nil},
		{"update where, table created earlier in the change", "CREATE TABLE tmp (id int, v int);\nUPDATE tmp SET v = 1 WHERE id > 0;", nil},
		{"update where of a new column only", "ALTER TABLE orders ADD COLUMN paid boolean;\nUPDATE orders SET paid = true WHERE id > 0;", nil},
		{"update where of a new and an old column", "ALTER TABLE orders ADD COLUMN paid boolean;\nUPDATE orders SET paid = true, note = NULL WHERE id > 0;", []string{"update-rows:danger@3"}},
		{"upsert into itself", "INSERT INTO orders SELECT * FROM orders ON CONFLICT (id) DO UPDATE SET note = excluded.note || 'x';", []string{"update-rows:danger@2"}},
		{"upsert of values", "INSERT INTO customers (email, name) VALUES ('a@b.c', 'x') ON CONFLICT (email) DO UPDATE SET name = excluded.name;", []string{"update-rows:danger@2"}},
		{"upsert in a CTE", "WITH u AS (INSERT INTO customers (email) VALUES ('a@b.c') ON CONFLICT (email) DO UPDATE SET name = 'x' RETURNING id) SELECT * FROM u;", []string{"update-rows:danger@2"}},
		{"upsert that does nothing", "INSERT INTO customers (email) VALUES ('a@b.c') ON CONFLICT (email) DO NOTHING;", nil},
		{"upsert where false", "INSERT INTO customers (email) VALUES ('a@b.c') ON CONFLICT (email) DO UPDATE SET name = 'x' WHERE false;", nil},
		{"upsert into a table created earlier in the change", "CREATE TABLE tmp (id bigint PRIMARY KEY, v int);\nINSERT INTO tmp VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET v = excluded.v;", nil},
		{"upsert of a new column only", "ALTER TABLE customers ADD COLUMN plan text;\nINSERT INTO customers (email, plan) VALUES ('a@b.c', 'x') ON CONFLICT (email) DO UPDATE SET plan = excluded.plan;", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: goose(tc.up)}}.analyze(t)
			var g []string
			for _, f := range got(rep) {
				if strings.HasPrefix(f, "missing-") || strings.HasPrefix(f, "work-while") || strings.HasPrefix(f, "blocking-") {
					continue
				}
				g = append(g, f)
			}
			if strings.Join(g, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got  %v\nwant %v", g, tc.want)
				for _, l := range rep.AllFindings() {
					t.Logf("%s: %s", l.Finding.Rule, l.Finding.Message)
				}
			}
		})
	}
}

// TestBackfillSeverityBySize: a backfill is judged by the table's size, as
// lock work is.
func TestBackfillSeverityBySize(t *testing.T) {
	rep := change{base: shopBase, changed: map[string]string{next: goose("ALTER TABLE orders ADD COLUMN paid boolean;\nUPDATE orders SET paid = false;")}}.
		analyzeWithStats(t, shopStats(t, nil))
	fd := findingOf(t, rep, ruleBackfill.ID)
	if !strings.Contains(fd.Message, "no data is lost") || !strings.Contains(fd.Message, "estimated") {
		t.Errorf("message: %s", fd.Message)
	}
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleUpdateAll.ID {
			t.Errorf("a backfill of a new column is not data loss: %s", l.Finding.Message)
		}
	}
}

// conditionCases are conditions with the truth the folding gives them.
var conditionCases = []struct {
	cond string
	want truth
}{
	{"true", isTrue}, {"false", isFalse}, {"NULL", isNull},
	{"1 = 1", isTrue}, {"1 <> 1", isFalse}, {"1.5 > 1", isTrue}, {"2 * 3 = 6", isTrue}, {"-1 < 0", isTrue},
	{"'a' = 'a'", isTrue}, {"'a' < 'b'", unknownTruth}, {"'1' = 1", isTrue},
	{"NOT false", isTrue}, {"NOT NULL::boolean", isNull}, {"true AND NULL", isNull}, {"false AND NULL", isFalse},
	{"true OR id = 1", isTrue}, {"false AND id = 1", isFalse}, {"false OR id = 1", unknownTruth},
	{"NULL IS NULL", isTrue}, {"1 IS NULL", isFalse}, {"true IS TRUE", isTrue}, {"NULL::boolean IS NOT FALSE", isTrue},
	{"1 IS DISTINCT FROM 2", isTrue}, {"NULL IS NOT DISTINCT FROM NULL", isTrue},
	{"1 IN (1, 2)", isTrue}, {"3 IN (1, 2)", isFalse}, {"3 NOT IN (1, NULL)", isNull},
	{"'yes'::bool", isTrue}, {"'off'::boolean", isFalse}, {"1 = 1e999999", unknownTruth}, {"id = id", unknownTruth},
	{"now() > '2020-01-01'", unknownTruth}, {"1 = NULL", isNull}, {"0.1 + 0.2 = 0.3", isTrue}, {"10 - 20 < -5", isTrue},
	{"'1.0' = 1", unknownTruth}, {"'1.0' = 1.0", isTrue}, {"'7'::int = 7", isTrue}, {"1.5::int = 2", unknownTruth}, {"true = 't'", isTrue}, {"NOT (1 = 1 AND 2 = 2)", isFalse},
}

// TestConditionTruth folds constant conditions from the parse tree.
func TestConditionTruth(t *testing.T) {
	for _, tc := range conditionCases {
		sel := parseNode(t, "SELECT 1 WHERE "+tc.cond).GetSelectStmt()
		if got := conditionTruth(sel.GetWhereClause()); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.cond, got, tc.want)
		}
	}
}

// TestConditionTruthAgainstPostgres: every condition the folding decides,
// PostgreSQL decides the same way.
func TestConditionTruthAgainstPostgres(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Scratch(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, tc := range conditionCases {
		if tc.want == unknownTruth {
			continue
		}
		var got int
		q := fmt.Sprintf("SELECT CASE WHEN (%[1]s) IS NULL THEN 3 WHEN (%[1]s) THEN 1 ELSE 2 END FROM (SELECT 1 AS id) s", tc.cond)
		if err := conn.QueryRow(ctx, q).Scan(&got); err != nil {
			t.Fatalf("%s: %v", tc.cond, err)
		}
		if truth(got) != tc.want {
			t.Errorf("%s: PostgreSQL says %d, the folding %d", tc.cond, got, tc.want)
		}
	}
}

func parseNode(t *testing.T, sql string) *pg_query.Node {
	t.Helper()
	res, err := pg_query.Parse(sql)
	if err != nil || len(res.GetStmts()) != 1 {
		t.Fatalf("parse %q: %v", sql, err)
	}
	return res.GetStmts()[0].GetStmt()
}
