package safewayrun

import (
	"context"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/pgtest"
	"github.com/migration-guard/migration-guard/internal/rehearse"
)

func stmt(line int, sql string, fs ...analyzer.Finding) analyzer.Statement {
	return analyzer.Statement{Path: "m.sql", Part: "up", Start: analyzer.Position{Line: line}, SQL: sql, InTx: true, Findings: fs}
}

func finding(rule, safe string) analyzer.Finding {
	return analyzer.Finding{Rule: rule, SafeAlternative: safe}
}

func server(t *testing.T) *rehearse.Server {
	t.Helper()
	srv, err := rehearse.OpenScratch(context.Background(), pgtest.Scratch(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return srv
}

// Each safe way is judged by its effect: one that keeps the statement's
// meaning runs ok, one that loses part of it (the DESC of an index) or
// fails is a failure, a placeholder only the operator knows is not run,
// a column definition is a fragment; and when the history stops applying,
// every later safe way says why.
func TestRunJudgesEachSafeWay(t *testing.T) {
	rep := &analyzer.Report{Files: []analyzer.File{
		{Path: "1.sql", Statements: []analyzer.Statement{
			stmt(1, "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, n int)"),
			stmt(2, "INSERT INTO t SELECT g, g, g FROM generate_series(1, 50) g"),
		}},
		{Path: "2.sql", Statements: []analyzer.Statement{
			stmt(1, "CREATE INDEX t_v ON t (v DESC)",
				finding("blocking-index-build", "-- +goose NO TRANSACTION\nCREATE INDEX CONCURRENTLY t_v ON t (v DESC);"),
				finding("lost-desc", "CREATE INDEX CONCURRENTLY t_v ON t (v);"),
				finding("fails", "CREATE INDEX t_v ON t (nosuchcolumn);"),
				finding("placeholder", "UPDATE <table> SET v = 1;"),
				finding("column", "v bigint")),
			// In a wrapped file applied statement by statement: LOCK TABLE
			// needs its transaction, and the comment at its end must not
			// swallow the COMMIT.
			stmt(1, "LOCK TABLE t IN SHARE MODE -- held to the end of the file"),
			stmt(2, "UPDATE t SET n = 0",
				finding("update-without-where", "UPDATE t SET n = 0 WHERE id IN (SELECT id FROM t WHERE n <> 0 LIMIT 7);")),
			stmt(3, "ALTER TABLE t ALTER COLUMN n SET NOT NULL",
				finding("set-not-null", "UPDATE t SET n = <value> WHERE id IN (SELECT id FROM t WHERE n IS NULL LIMIT 10);\nALTER TABLE t ALTER COLUMN n SET NOT NULL;")),
			stmt(4, "ALTER TABLE t ADD COLUMN r float8 DEFAULT random()",
				finding("table-rewrite", "ALTER TABLE t ADD COLUMN r float8;\nALTER TABLE t ALTER COLUMN r SET DEFAULT random();\nUPDATE t SET r = random() WHERE id IN (SELECT id FROM t WHERE r IS NULL LIMIT 10);")),
		}},
		{Path: "2b.sql", Statements: []analyzer.Statement{
			stmt(1, "CREATE TEMP TABLE tmp AS SELECT 100 AS x"),
			stmt(2, "ALTER TABLE t ADD COLUMN z int", finding("temp", "ALTER TABLE t ADD COLUMN z int;")),
			stmt(3, "UPDATE t SET z = (SELECT x FROM tmp)"),
		}},
		{Path: "3.sql", Statements: []analyzer.Statement{
			stmt(1, "CREATE EXTENSION no_such_extension_here"),
			stmt(2, "DROP INDEX t_v", finding("drop-index", "DROP INDEX CONCURRENTLY IF EXISTS t_v;")),
		}},
	}}
	res, err := Run(context.Background(), server(t), rep, Options{Rows: 3})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Outcome{}
	for _, o := range res.Outcomes {
		got[o.Rule] = o
	}
	want := map[string]string{
		"blocking-index-build": OK, "lost-desc": Failed, "fails": Failed, "placeholder": NotRunnable, "column": Fragment,
		"update-without-where": OK, "set-not-null": OK, "table-rewrite": OK, "drop-index": NotRunnable, "temp": NotRunnable,
	}
	for rule, status := range want {
		if got[rule].Status != status {
			t.Errorf("%s: %s (%s), want %s", rule, got[rule].Status, got[rule].Reason, status)
		}
	}
	if len(res.Outcomes) != len(want) {
		t.Errorf("%d outcomes, want %d: %+v", len(res.Outcomes), len(want), res.Outcomes)
	}
	if r := got["lost-desc"].Reason; !strings.Contains(r, "- index on t: CREATE INDEX ON public.t USING btree (v DESC)") {
		t.Errorf("the lost DESC is not named: %s", r)
	}
	if r := got["drop-index"].Reason; !strings.Contains(r, "no_such_extension_here") {
		t.Errorf("why the history stops is not said: %s", r)
	}
	if !strings.Contains(res.NotRunnable, "no_such_extension_here") || res.Applied != 10 {
		t.Errorf("history: %d applied, stopped: %q", res.Applied, res.NotRunnable)
	}
	if r := got["temp"].Reason; !strings.Contains(r, "temporary table") {
		t.Errorf("temp: %s", r)
	}
	if got["blocking-index-build"].Rows != "generated" {
		t.Errorf("rows: %q", got["blocking-index-build"].Rows)
	}
}
