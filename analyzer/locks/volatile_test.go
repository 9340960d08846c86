package locks

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

func parseExpr(t *testing.T, expr string) *pg_query.Node {
	t.Helper()
	stmt := parseOne(t, "SELECT "+expr)
	return stmt.GetSelectStmt().GetTargetList()[0].GetResTarget().GetVal()
}

func TestVolatile(t *testing.T) {
	cases := map[string]bool{
		"42":                                false,
		"'pending'":                         false,
		"now()":                             false,
		"CURRENT_TIMESTAMP":                 false,
		"CURRENT_DATE":                      false,
		"LOCALTIMESTAMP":                    false,
		"current_user":                      false,
		"statement_timestamp()":             false,
		"transaction_timestamp()":           false,
		"pg_catalog.now()":                  false,
		"'now'::timestamptz":                false,
		"now() + interval '1 day'":          false,
		"'{}'::jsonb":                       false,
		"ARRAY[1, 2]":                       false,
		"coalesce(NULL, 1)":                 false,
		"CASE WHEN true THEN 1 END":         false,
		"lower('A') || upper('b')":          false,
		"jsonb_build_object('a', 1)":        false,
		"uuid_generate_v5(uuid_nil(), 'x')": false,
		"clock_timestamp()":                 true,
		"random()":                          true,
		"gen_random_uuid()":                 true,
		"uuid_generate_v4()":                true,
		"public.uuid_generate_v4()":         true,
		"extensions.uuid_generate_v1mc()":   true,
		"nextval('s')":                      true,
		"nextval('s'::regclass)":            true,
		"timeofday()":                       true,
		"md5(random()::text)":               true,
		"coalesce(NULL, random())":          true,
		"my_function()":                     true,
		"app.now()":                         true,
		"1 OPERATOR(app.+) 2":               true,
		"(SELECT 1)":                        true,
	}
	for expr, want := range cases {
		if got := Volatile(parseExpr(t, expr)); got != want {
			t.Errorf("Volatile(%s) = %v, want %v", expr, got, want)
		}
	}
	if Volatile(nil) {
		t.Error("Volatile(nil) = true")
	}
	if !Stable(parseExpr(t, "now()")) || Stable(parseExpr(t, "42")) || Stable(parseExpr(t, "random()")) {
		t.Error("Stable distinguishes STABLE from IMMUTABLE and VOLATILE")
	}
}

// TestVolatilityMatchesServer checks the built-in table against pg_proc on
// the live server: each name's most volatile overload in pg_catalog.
func TestVolatilityMatchesServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.AdminURL)
	if err != nil {
		t.Fatalf("PostgreSQL must be reachable on 127.0.0.1:5432 (user postgres, trust auth) to check function volatility: %v", err)
	}
	defer conn.Close(context.Background())
	var names []string
	for n := range builtinVolatility() {
		names = append(names, n)
	}
	sort.Strings(names)
	rows, err := conn.Query(ctx, `SELECT proname,
		CASE WHEN bool_or(provolatile = 'v') THEN 'v' WHEN bool_or(provolatile = 's') THEN 's' ELSE 'i' END
		FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace AND proname = ANY($1) GROUP BY proname`, names)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for rows.Next() {
		var name, v string
		if err := rows.Scan(&name, &v); err != nil {
			t.Fatal(err)
		}
		seen[name] = true
		if got := builtinVolatility()[name]; got != v[0] {
			t.Errorf("%s: table says %c, pg_proc says %s", name, got, v)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !seen[n] {
			t.Errorf("%s is not a pg_catalog function on this server", n)
		}
	}
}
