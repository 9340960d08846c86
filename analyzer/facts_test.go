package analyzer

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// factSchema is the schema every fact case starts from, as the base
// migration and on the real server; factData are the rows, on the server
// only (the analyzer never sees data).
const factSchema = `CREATE TABLE t (id int PRIMARY KEY, email text, note text);
CREATE TABLE k (code text, label text);
CREATE UNIQUE INDEX k_code_uq ON k (code);
CREATE TABLE j (code text NOT NULL);
CREATE UNIQUE INDEX j_code_uq ON j (code);
CREATE TABLE jc (code text);
CREATE UNIQUE INDEX jc_code_uq ON jc (code);
ALTER TABLE jc ADD CONSTRAINT jc_code_nn CHECK (code IS NOT NULL);
CREATE DOMAIN posint AS int;
CREATE TABLE a (id int PRIMARY KEY, p posint);
CREATE TYPE mood AS ENUM ('ok');
CREATE TABLE m (id int PRIMARY KEY, x mood);`

const factData = `INSERT INTO t SELECT g, 'u' || g, CASE WHEN g % 10 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 200) g;
INSERT INTO k VALUES ('a', 'x'), (NULL, 'y'), ('b', 'x');
INSERT INTO j VALUES ('a'), ('b');
INSERT INTO jc VALUES ('a'), ('b');
INSERT INTO a VALUES (1, 5), (2, 7);
INSERT INTO m VALUES (1, 'ok');`

// serverFact is what the real server must do when it runs a case's files
// as the tool runs them (goose: one transaction per file, committed;
// drizzle: all files in one transaction). Observed at the end of the last
// file, before its COMMIT.
type serverFact struct {
	// err is part of the error the server must raise, "" for none.
	err string
	// scanned says, per table, whether the last statement read it
	// sequentially (true) or not at all (false).
	scanned map[string]bool
	// held is the strongest lock the transaction holds on a table at the
	// end ("" for none), in pg_locks' spelling without "Lock".
	held map[string]string
}

type factCase struct {
	name    string
	schema  string // added to factSchema
	data    string // added to factData
	files   []string
	drizzle bool
	// keepTimeout keeps missing-lock-timeout findings in the comparison.
	keepTimeout bool
	want        []string // "file:rule:severity@line", file being the migration's number
	server      *serverFact
}

var factCases = []factCase{
	// SET NOT NULL scans and fails on a NULL unless a validated CHECK that
	// the same statement keeps proves there is none.
	{name: "SET NOT NULL on a column holding NULL fails", files: []string{"ALTER TABLE t ALTER COLUMN note SET NOT NULL;"},
		want: []string{"0002:set-not-null:danger@2"}, server: &serverFact{err: `column "note" of relation "t" contains null values`}},
	{name: "SET NOT NULL without NULLs still scans under ACCESS EXCLUSIVE", files: []string{"ALTER TABLE t ALTER COLUMN email SET NOT NULL;"},
		want: []string{"0002:set-not-null:danger@2"}, server: &serverFact{scanned: map[string]bool{"t": true}, held: map[string]string{"t": "AccessExclusive"}}},
	{name: "SET NOT NULL after a validated CHECK does not scan", schema: "ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL);",
		files: []string{"ALTER TABLE t ALTER COLUMN email SET NOT NULL;"},
		want:  nil, server: &serverFact{scanned: map[string]bool{"t": false}}},
	{name: "SET NOT NULL with the CHECK dropped by the same statement scans", schema: "ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL);",
		files: []string{"ALTER TABLE t DROP CONSTRAINT email_nn, ALTER COLUMN email SET NOT NULL;"},
		want:  []string{"0002:set-not-null:danger@2"}, server: &serverFact{scanned: map[string]bool{"t": true}}},
	{name: "SET NOT NULL with the CHECK dropped first, written after it", schema: "ALTER TABLE t ADD CONSTRAINT email_nn CHECK (email IS NOT NULL);",
		files: []string{"ALTER TABLE t ALTER COLUMN email SET NOT NULL, DROP CONSTRAINT email_nn;"},
		want:  []string{"0002:set-not-null:danger@2"}, server: &serverFact{scanned: map[string]bool{"t": true}}},
	{name: "a column added in the change and partly backfilled holds NULLs", files: []string{
		"ALTER TABLE t ADD COLUMN region text;\nUPDATE t SET region = 'eu' WHERE id < 100;\nALTER TABLE t ALTER COLUMN region SET NOT NULL;"},
		want:   []string{"0002:work-while-holding-lock:warning@3", "0002:set-not-null:danger@4"},
		server: &serverFact{err: `column "region" of relation "t" contains null values`}},
	{name: "a column added with a default holds no NULL: only the scan is left", files: []string{
		"ALTER TABLE t ADD COLUMN region text DEFAULT 'eu';\nALTER TABLE t ALTER COLUMN region SET NOT NULL;"},
		want:   []string{"0002:blocking-scan:danger@3", "0002:work-while-holding-lock:warning@3"},
		server: &serverFact{scanned: map[string]bool{"t": true}, held: map[string]string{"t": "AccessExclusive"}}},
	{name: "a column backfilled in full in the transaction that added it holds no NULL", files: []string{
		"ALTER TABLE t ADD COLUMN region text;\nUPDATE t SET region = 'eu';\nALTER TABLE t ALTER COLUMN region SET NOT NULL;"},
		// The backfill itself writes every row: a lock and duration
		// question of its own (question 6), not data loss.
		want:   []string{"0002:backfill:danger@3", "0002:work-while-holding-lock:warning@3", "0002:blocking-scan:danger@4"},
		server: &serverFact{scanned: map[string]bool{"t": true}}},
	{name: "a column added with DEFAULT NULL holds NULLs", files: []string{
		"ALTER TABLE t ADD COLUMN region text DEFAULT NULL::text;\nALTER TABLE t ALTER COLUMN region SET NOT NULL;"},
		want:   []string{"0002:set-not-null:danger@3", "0002:work-while-holding-lock:warning@3"},
		server: &serverFact{err: `column "region" of relation "t" contains null values`}},
	{name: "a backfill to NULL is no backfill", files: []string{
		"ALTER TABLE t ADD COLUMN region text;\nUPDATE t SET region = NULL::text;\nALTER TABLE t ALTER COLUMN region SET NOT NULL;"},
		want:   []string{"0002:backfill:danger@3", "0002:work-while-holding-lock:warning@3", "0002:set-not-null:danger@4"},
		server: &serverFact{err: `column "region" of relation "t" contains null values`}},
	{name: "a backfill in another transaction than the ADD COLUMN leaves room for NULLs", files: []string{
		"ALTER TABLE t ADD COLUMN region text;", "UPDATE t SET region = 'eu';\nALTER TABLE t ALTER COLUMN region SET NOT NULL;"},
		want:   []string{"0003:backfill:danger@2", "0003:set-not-null:danger@3"},
		server: &serverFact{scanned: map[string]bool{"t": true}}},

	// ADD PRIMARY KEY USING INDEX makes its columns NOT NULL.
	{name: "PRIMARY KEY USING INDEX on a nullable column fails on a NULL", files: []string{"ALTER TABLE k ADD CONSTRAINT k_pkey PRIMARY KEY USING INDEX k_code_uq;"},
		want: []string{"0002:set-not-null:danger@2"}, server: &serverFact{err: `column "code" of relation "k" contains null values`}},
	{name: "PRIMARY KEY USING INDEX on a NOT NULL column does not scan", files: []string{"ALTER TABLE j ADD CONSTRAINT j_pkey PRIMARY KEY USING INDEX j_code_uq;"},
		want: nil, server: &serverFact{scanned: map[string]bool{"j": false}}},
	{name: "PRIMARY KEY USING INDEX after a validated CHECK does not scan", files: []string{"ALTER TABLE jc ADD CONSTRAINT jc_pkey PRIMARY KEY USING INDEX jc_code_uq;"},
		want: nil, server: &serverFact{scanned: map[string]bool{"jc": false}}},
	{name: "PRIMARY KEY USING INDEX dropping that CHECK scans", files: []string{"ALTER TABLE jc DROP CONSTRAINT jc_code_nn, ADD CONSTRAINT jc_pkey PRIMARY KEY USING INDEX jc_code_uq;"},
		want:   []string{"0002:set-not-null:danger@2"},
		server: &serverFact{scanned: map[string]bool{"jc": true}, held: map[string]string{"jc": "AccessExclusive"}}},

	// ALTER DOMAIN ... ADD CONSTRAINT checks every column of the domain.
	{name: "ALTER DOMAIN ADD CONSTRAINT fails on a value of any table", data: "INSERT INTO a VALUES (3, -1);",
		files: []string{"ALTER DOMAIN posint ADD CONSTRAINT posint_positive CHECK (VALUE > 0);"},
		want:  []string{"0002:domain-constraint:danger@2"}, server: &serverFact{err: `column "p" of table "a" contains values that violate the new constraint`}},
	{name: "ALTER DOMAIN ADD CONSTRAINT scans each table under SHARE", files: []string{"ALTER DOMAIN posint ADD CONSTRAINT posint_positive CHECK (VALUE > 0);"},
		want:   []string{"0002:domain-constraint:danger@2"},
		server: &serverFact{scanned: map[string]bool{"a": true, "t": false}, held: map[string]string{"a": "Share", "t": ""}}},
	{name: "ALTER DOMAIN ADD CONSTRAINT is refused while an array of the domain is in use", schema: "CREATE TABLE b (id int, q posint[]);",
		files:  []string{"ALTER DOMAIN posint ADD CONSTRAINT posint_positive CHECK (VALUE > 0);"},
		want:   []string{"0002:domain-constraint:danger@2"},
		server: &serverFact{err: `cannot alter type "posint" because column "b.q" uses it`}},
	{name: "ALTER DOMAIN ADD CONSTRAINT NOT VALID checks nothing", files: []string{"ALTER DOMAIN posint ADD CONSTRAINT posint_positive CHECK (VALUE > 0) NOT VALID;"},
		want: nil, server: &serverFact{scanned: map[string]bool{"a": false}, held: map[string]string{"a": ""}}},

	// NOT VALID then VALIDATE in one transaction keeps the ADD's lock.
	{name: "VALIDATE in the transaction of its NOT VALID holds ACCESS EXCLUSIVE for the scan", keepTimeout: true, files: []string{
		"SET lock_timeout = '2s';\nALTER TABLE t ADD CONSTRAINT t_id_positive CHECK (id > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT t_id_positive;"},
		want:   []string{"0002:validate-in-same-transaction:danger@4"},
		server: &serverFact{scanned: map[string]bool{"t": true}, held: map[string]string{"t": "AccessExclusive"}}},
	{name: "VALIDATE in the transaction of its NOT VALID fails like the plain ADD", files: []string{
		"ALTER TABLE t ADD CONSTRAINT t_note_nn CHECK (note IS NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT t_note_nn;"},
		want:   []string{"0002:validate-in-same-transaction:danger@3"},
		server: &serverFact{err: `check constraint "t_note_nn" of relation "t" is violated by some row`}},
	{name: "VALIDATE in the next migration holds only SHARE UPDATE EXCLUSIVE", files: []string{
		"ALTER TABLE t ADD CONSTRAINT t_id_positive CHECK (id > 0) NOT VALID;", "ALTER TABLE t VALIDATE CONSTRAINT t_id_positive;"},
		want:   nil,
		server: &serverFact{scanned: map[string]bool{"t": true}, held: map[string]string{"t": "ShareUpdateExclusive"}}},

	// CREATE UNIQUE INDEX: a duplicates risk and a blocking build.
	{name: "CREATE UNIQUE INDEX fails on duplicates and blocks writes for the build", files: []string{"CREATE UNIQUE INDEX k_label_uq ON k (label);"},
		want: []string{"0002:create-unique-index:warning@2", "0002:blocking-index-build:danger@2"}, server: &serverFact{err: `could not create unique index "k_label_uq"`}},
	{name: "CREATE UNIQUE INDEX builds under SHARE", files: []string{"CREATE UNIQUE INDEX t_email_uq ON t (email);"},
		want:   []string{"0002:create-unique-index:warning@2", "0002:blocking-index-build:danger@2"},
		server: &serverFact{scanned: map[string]bool{"t": true}, held: map[string]string{"t": "Share"}}},
	{name: "CREATE UNIQUE INDEX on a table created in the change", files: []string{"CREATE TABLE n (id int);\nCREATE UNIQUE INDEX n_id_uq ON n (id);"},
		want: nil, server: &serverFact{}},

	// ALTER TYPE ... ADD VALUE locks the type only.
	{name: "ALTER TYPE ADD VALUE locks no table: the lock_timeout reminder goes to the real blocking statement", keepTimeout: true, files: []string{
		"ALTER TYPE mood ADD VALUE 'sad';\nALTER TABLE t ADD COLUMN x int;"},
		want:   []string{"0002:enum-add-value:info@2", "0002:missing-lock-timeout:warning@3"},
		server: &serverFact{held: map[string]string{"m": "", "t": "AccessExclusive"}}},
	{name: "ALTER TYPE ADD VALUE alone needs no lock_timeout", keepTimeout: true, files: []string{"ALTER TYPE mood ADD VALUE 'sad';"},
		want: []string{"0002:enum-add-value:info@2"}, server: &serverFact{held: map[string]string{"m": ""}}},

	// A new enum value cannot be used in the transaction that added it.
	{name: "a new enum value inserted in the same transaction", files: []string{"ALTER TYPE mood ADD VALUE 'sad';\nINSERT INTO m VALUES (2, 'sad');"},
		want:   []string{"0002:enum-add-value:info@2", "0002:enum-value-in-same-transaction:danger@3"},
		server: &serverFact{err: `unsafe use of new value "sad" of enum type mood`}},
	{name: "a new enum value cast in the same transaction", files: []string{"ALTER TYPE mood ADD VALUE 'sad';\nSELECT 'sad'::mood;"},
		want:   []string{"0002:enum-add-value:info@2", "0002:enum-value-in-same-transaction:danger@3"},
		server: &serverFact{err: `unsafe use of new value "sad" of enum type mood`}},
	{name: "a new enum value as a default in the same transaction", files: []string{"ALTER TYPE mood ADD VALUE 'sad';\nALTER TABLE m ALTER COLUMN x SET DEFAULT 'sad';"},
		want:   []string{"0002:enum-add-value:info@2", "0002:enum-value-in-same-transaction:danger@3"},
		server: &serverFact{err: `unsafe use of new value "sad" of enum type mood`}},
	{name: "goose: a new enum value used in the next migration", files: []string{"ALTER TYPE mood ADD VALUE 'sad';", "INSERT INTO m VALUES (2, 'sad');"},
		want: []string{"0002:enum-add-value:info@2"}, server: &serverFact{}},
	{name: "the same text compared as text is no use of it", files: []string{"ALTER TYPE mood ADD VALUE 'sad';\nUPDATE m SET x = 'ok' WHERE x::text = 'sad';"},
		want: []string{"0002:enum-add-value:info@2"}, server: &serverFact{}},
	{name: "the same text compared with the enum column is a use", files: []string{"ALTER TYPE mood ADD VALUE 'sad';\nUPDATE m SET x = 'ok' WHERE x = 'sad';"},
		want:   []string{"0002:enum-add-value:info@2", "0002:enum-value-in-same-transaction:danger@3"},
		server: &serverFact{err: `unsafe use of new value "sad" of enum type mood`}},
	{name: "a star and the text beside the enum column", files: []string{"ALTER TYPE mood ADD VALUE 'sad';\nSELECT * FROM m WHERE 'sad' = x;"},
		want:   []string{"0002:enum-add-value:info@2", "0002:enum-value-in-same-transaction:danger@3"},
		server: &serverFact{err: `unsafe use of new value "sad" of enum type mood`}},
	{name: "the same text on a table without the enum is no use of it", files: []string{"ALTER TYPE mood ADD VALUE 'sad';\nUPDATE t SET note = 'sad' WHERE id = 1;"},
		want: []string{"0002:enum-add-value:info@2"}, server: &serverFact{}},

	// Drizzle runs every pending migration in one transaction.
	{name: "drizzle: a new enum value used in the next migration of the run", drizzle: true, files: []string{"ALTER TYPE mood ADD VALUE 'sad';", "INSERT INTO m VALUES (2, 'sad');"},
		want:   []string{"0001:enum-add-value:info@1", "0002:enum-value-in-same-transaction:danger@1"},
		server: &serverFact{err: `unsafe use of new value "sad" of enum type mood`}},
	{name: "drizzle: locks of one migration are held through the next", drizzle: true, files: []string{"ALTER TABLE t ADD COLUMN region text;", "UPDATE t SET note = 'x' WHERE id = 1;"},
		want:   []string{"0002:work-while-holding-lock:warning@1"},
		server: &serverFact{held: map[string]string{"t": "AccessExclusive"}}},
	{name: "drizzle: VALIDATE in the migration after its NOT VALID", drizzle: true, files: []string{
		"ALTER TABLE t ADD CONSTRAINT t_id_positive CHECK (id > 0) NOT VALID;", "ALTER TABLE t VALIDATE CONSTRAINT t_id_positive;"},
		want:   []string{"0002:validate-in-same-transaction:danger@1"},
		server: &serverFact{scanned: map[string]bool{"t": true}, held: map[string]string{"t": "AccessExclusive"}}},
}

// factFiles lays the case out as its tool's folder: the schema at the base,
// the case's files changed.
func (fc factCase) change() change {
	if !fc.drizzle {
		ch := change{base: map[string]string{"db/migrations/0001_init.sql": goose(factSchema + "\n" + fc.schema)}, changed: map[string]string{}}
		for i, f := range fc.files {
			ch.changed[fmt.Sprintf("db/migrations/%04d_change.sql", i+2)] = goose(f)
		}
		return ch
	}
	entry := func(i int, tag string) string {
		return fmt.Sprintf(`{"idx":%d,"version":"7","when":%d,"tag":%q,"breakpoints":true}`, i, 1700000000000+i, tag)
	}
	entries := []string{entry(0, "0000_init")}
	ch := change{base: map[string]string{
		"drizzle/meta/_journal.json": `{"version":"7","dialect":"postgresql","entries":[` + entries[0] + `]}`,
		"drizzle/0000_init.sql":      strings.ReplaceAll(factSchema+"\n"+fc.schema, ";\n", ";\n--> statement-breakpoint\n"),
	}, changed: map[string]string{}}
	for i, f := range fc.files {
		tag := fmt.Sprintf("%04d_change", i+1)
		entries = append(entries, entry(i+1, tag))
		ch.changed["drizzle/"+tag+".sql"] = f
	}
	ch.changed["drizzle/meta/_journal.json"] = `{"version":"7","dialect":"postgresql","entries":[` + strings.Join(entries, ",") + `]}`
	return ch
}

// factFindings lists findings as "file:rule:severity@line", the file by the
// number its name starts with. Question 1 (a dropped constraint, a backfill
// read as an UPDATE without WHERE) has tests of its own.
func factFindings(rep *Report, keepTimeout bool) []string {
	var out []string
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleDownIncomplete.ID || l.Finding.Rule == ruleExistingRows.ID || (!keepTimeout && l.Finding.Rule == ruleLockTimeout.ID) || l.Finding.Question == QDrops {
			continue
		}
		where := "file"
		if l.Statement != nil {
			where = fmt.Sprint(l.Statement.Start.Line)
		}
		out = append(out, fmt.Sprintf("%s:%s:%s@%s", path.Base(l.File.Path)[:4], l.Finding.Rule, l.Finding.Severity, where))
	}
	return out
}

// TestPostgresFacts holds the analyzer to facts of PostgreSQL 15 that the
// checklist depends on: each case runs on the real server, which must do
// what the case says (fail, scan, hold a lock), and through the analyzer,
// which must say so, no more and no less.
func TestPostgresFacts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.Scratch(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, fc := range factCases {
		t.Run(fc.name, func(t *testing.T) {
			rep := fc.change().analyze(t)
			if g := factFindings(rep, fc.keepTimeout); strings.Join(g, " ") != strings.Join(fc.want, " ") {
				t.Errorf("analyzer:\n got  %v\n want %v", g, fc.want)
				for _, l := range rep.AllFindings() {
					t.Logf("  %s: %s", l.Finding.Rule, l.Finding.Message)
				}
			}
			if fc.server != nil {
				checkServerFact(ctx, t, conn, fc)
			}
		})
	}
}

// checkServerFact rebuilds the schema and rows in the scratch database,
// runs the case's files and holds the server to what the case says.
func checkServerFact(ctx context.Context, t *testing.T, conn *pgx.Conn, fc factCase) {
	t.Helper()
	for _, sql := range []string{"DROP SCHEMA public CASCADE; CREATE SCHEMA public", factSchema, fc.schema, factData, fc.data} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
	var runErr error
	var scansBefore map[string]int64
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fc.files {
		stmts, err := pg_query.SplitWithParser(f, true)
		if err != nil {
			t.Fatal(err)
		}
		for j, sql := range stmts {
			if i == len(fc.files)-1 && j == len(stmts)-1 {
				scansBefore = seqScans(ctx, t, tx)
			}
			if _, err := tx.Exec(ctx, sql); err != nil {
				runErr = err
				break
			}
		}
		if runErr != nil || i == len(fc.files)-1 {
			break
		}
		if !fc.drizzle {
			// goose commits each migration in its own transaction.
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if tx, err = conn.Begin(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	want := fc.server
	switch {
	case runErr == nil && want.err != "":
		t.Fatalf("server: ran without the error %q", want.err)
	case runErr != nil && (want.err == "" || !strings.Contains(runErr.Error(), want.err)):
		t.Fatalf("server: %v, want %q", runErr, want.err)
	case runErr != nil:
		return
	}
	after := seqScans(ctx, t, tx)
	for table, scanned := range want.scanned {
		if n := after[table] - scansBefore[table]; (n > 0) != scanned {
			t.Errorf("server: the last statement scanned %s %d times, want scanned=%v", table, n, scanned)
		}
	}
	held := heldLocks(ctx, t, tx)
	for table, mode := range want.held {
		if held[table] != mode {
			t.Errorf("server: holds %q on %s at the end, want %q (all: %v)", held[table], table, mode, held)
		}
	}
}

func seqScans(ctx context.Context, t *testing.T, tx pgx.Tx) map[string]int64 {
	t.Helper()
	rows, err := tx.Query(ctx, `SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

// lockRank orders pg_locks' table lock modes from weakest to strongest.
var lockRank = map[string]int{"AccessShare": 1, "RowShare": 2, "RowExclusive": 3, "ShareUpdateExclusive": 4, "Share": 5, "ShareRowExclusive": 6, "Exclusive": 7, "AccessExclusive": 8}

// heldLocks is the strongest lock this session holds on each table.
func heldLocks(ctx context.Context, t *testing.T, tx pgx.Tx) map[string]string {
	t.Helper()
	rows, err := tx.Query(ctx, `SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var name, mode string
		if err := rows.Scan(&name, &mode); err != nil {
			t.Fatal(err)
		}
		mode = strings.TrimSuffix(mode, "Lock")
		if lockRank[mode] > lockRank[out[name]] {
			out[name] = mode
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

// TestFactMessages checks that the findings say what the server does, with
// the real names: what people read to decide.
func TestFactMessages(t *testing.T) {
	byName := map[string]factCase{}
	for _, fc := range factCases {
		byName[fc.name] = fc
	}
	tests := []struct {
		caseName, rule string
		want           []string
	}{
		{"a column added in the change and partly backfilled holds NULLs", "set-not-null",
			[]string{"SET NOT NULL on public.t.region", "added on line 2 without a default that fills it", "partial backfill"}},
		{"SET NOT NULL with the CHECK dropped by the same statement scans", "set-not-null",
			[]string{"drops email_nn", "PostgreSQL drops it first"}},
		{"PRIMARY KEY USING INDEX on a nullable column fails on a NULL", "set-not-null",
			[]string{"ADD PRIMARY KEY USING INDEX k_code_uq makes code NOT NULL", "scans public.k under ACCESS EXCLUSIVE"}},
		{"ALTER DOMAIN ADD CONSTRAINT scans each table under SHARE", "domain-constraint",
			[]string{"checks public.a.p under SHARE"}},
		{"ALTER DOMAIN ADD CONSTRAINT is refused while an array of the domain is in use", "domain-constraint",
			[]string{"refuses it outright while public.b.q, an array of the domain"}},
		{"VALIDATE in the transaction of its NOT VALID holds ACCESS EXCLUSIVE for the scan", "validate-in-same-transaction",
			[]string{"added it NOT VALID on line 3", "ACCESS EXCLUSIVE on public.t is held for the whole scan", "no better than the plain ADD"}},
		{"drizzle: VALIDATE in the migration after its NOT VALID", "validate-in-same-transaction",
			[]string{"line 1 of drizzle/0001_change.sql", "drizzle runs every pending migration of a run in one transaction"}},
		{"a new enum value inserted in the same transaction", "enum-value-in-same-transaction",
			[]string{"uses 'sad'", `unsafe use of new value "sad" of enum type mood`}},
		{"drizzle: a new enum value used in the next migration of the run", "enum-value-in-same-transaction",
			[]string{"on line 1 of drizzle/0001_change.sql", "drizzle runs every pending migration"}},
		{"drizzle: locks of one migration are held through the next", "work-while-holding-lock",
			[]string{"taken on line 1 of drizzle/0001_change.sql"}},
		{"CREATE UNIQUE INDEX builds under SHARE", "blocking-index-build",
			[]string{"builds index t_email_uq on public.t under SHARE"}},
	}
	for _, tt := range tests {
		fc, ok := byName[tt.caseName]
		if !ok {
			t.Fatalf("no fact case %q", tt.caseName)
		}
		f := findingOf(t, fc.change().analyze(t), tt.rule)
		for _, w := range tt.want {
			if !strings.Contains(f.Message, w) {
				t.Errorf("%s: %s lacks %q:\n%s", tt.caseName, tt.rule, w, f.Message)
			}
		}
		if f.SafeAlternative == "" && tt.rule != "work-while-holding-lock" {
			t.Errorf("%s: %s has no safe way", tt.caseName, tt.rule)
		}
	}
}

// FuzzFacts feeds arbitrary statements after the fact schema, as one goose
// migration and as two drizzle migrations of one run: the rules that
// remember across statements and files (enum values, NOT VALID, added
// columns, held locks) must never panic, and every finding must point
// into its file.
func FuzzFacts(f *testing.F) {
	for _, s := range []string{
		"ALTER TYPE mood ADD VALUE 'sad';\nINSERT INTO m VALUES (2, 'sad');",
		"ALTER TYPE mood ADD VALUE 'sad';\nSELECT * FROM m WHERE x::text = 'sad' OR 'sad' = x OR * = 'sad';",
		"ALTER TABLE t ADD CONSTRAINT c CHECK (id > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;",
		"ALTER TABLE t ADD COLUMN r text DEFAULT NULL::text;\nUPDATE ONLY t SET r = 'x';\nALTER TABLE t ALTER COLUMN r SET NOT NULL;",
		"ALTER TABLE jc DROP CONSTRAINT jc_code_nn, ADD PRIMARY KEY USING INDEX jc_code_uq;",
		"ALTER DOMAIN posint ADD CONSTRAINT p CHECK (VALUE > 0);",
		"CREATE UNIQUE INDEX u ON t (email);",
	} {
		f.Add(s, "UPDATE m SET x = 'sad';")
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		for _, drizzle := range []bool{false, true} {
			fc := factCase{files: []string{first, second}, drizzle: drizzle}
			ch := fc.change()
			base, head := fstest.MapFS{}, fstest.MapFS{}
			for k, v := range ch.base {
				base[k] = &fstest.MapFile{Data: []byte(v)}
				head[k] = &fstest.MapFile{Data: []byte(v)}
			}
			var changed []string
			for k, v := range ch.changed {
				head[k] = &fstest.MapFile{Data: []byte(v)}
				changed = append(changed, k)
			}
			rep, err := Analyze(context.Background(), Request{Base: base, Head: head, Changed: changed, Config: DefaultConfig()})
			if err != nil {
				continue
			}
			for _, l := range rep.AllFindings() {
				lines := strings.Count(ch.changed[l.File.Path], "\n") + 1
				if l.Finding.Rule == "" || l.Finding.Message == "" || l.Finding.Marker.Line < 1 || l.Finding.Marker.Line > lines {
					t.Fatalf("bad finding in %s (%d lines): %+v", l.File.Path, lines, l.Finding)
				}
			}
		}
	})
}
