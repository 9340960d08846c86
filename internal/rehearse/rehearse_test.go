package rehearse

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/pgtest"
)

func goose(up, down string) string {
	s := "-- +goose Up\n" + up + "\n"
	if down != "" {
		s += "-- +goose Down\n" + down + "\n"
	}
	return s
}

const baseSchema = `CREATE TABLE customers (id bigint PRIMARY KEY, email text);
CREATE TABLE orders (id int PRIMARY KEY, customer_id bigint, note varchar(20), total int);
INSERT INTO customers VALUES (1, 'a@example.com');
INSERT INTO orders VALUES (1, 1, 'x', 10);`

// scratchServer is a scratch server on the test PostgreSQL: an empty
// database of its own, as a user would give with --rehearsal-db.
func scratchServer(t testing.TB) *Server {
	t.Helper()
	srv, err := OpenScratch(context.Background(), pgtest.Scratch(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// rehearse analyzes the change (base plus the changed file) and rehearses it.
func rehearse(t *testing.T, srv *Server, changed string, opt Options) (*analyzer.Report, *Result) {
	t.Helper()
	return rehearseOver(t, srv, baseSchema, changed, opt)
}

func rehearseOver(t *testing.T, srv *Server, baseSQL, changed string, opt Options) (*analyzer.Report, *Result) {
	t.Helper()
	ctx := context.Background()
	base := fstest.MapFS{"db/migrations/00001_base.sql": {Data: []byte(goose(baseSQL, ""))}}
	head := fstest.MapFS{"db/migrations/00001_base.sql": base["db/migrations/00001_base.sql"],
		"db/migrations/00002_change.sql": {Data: []byte(changed)}}
	req := analyzer.Request{Base: base, Head: head, Changed: []string{"db/migrations/00002_change.sql"}, Config: analyzer.DefaultConfig()}
	req.Config.PostgresVersion = 15
	rep, err := analyzer.Analyze(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Rehearse(ctx, srv, req, rep, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 1 || len(res.Files) != 1 {
		t.Fatalf("want one file judged and rehearsed, got %d and %d", len(rep.Files), len(res.Files))
	}
	return rep, res
}

func findingsOf(f *analyzer.File, rule string) []analyzer.Finding {
	var out []analyzer.Finding
	for _, fd := range f.Findings {
		if fd.Rule == rule {
			out = append(out, fd)
		}
	}
	for _, st := range f.Statements {
		for _, fd := range st.Findings {
			if fd.Rule == rule {
				out = append(out, fd)
			}
		}
	}
	return out
}

func TestFailsAtDeploy(t *testing.T) {
	srv := scratchServer(t)
	rep, res := rehearse(t, srv, goose("ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nALTER TABLE orders\n  ALTER COLUMN shiped_at SET NOT NULL;", ""), Options{})
	f := rep.Files[0]
	got := findingsOf(&f, "fails-at-deploy")
	if len(got) != 1 {
		t.Fatalf("want one fails-at-deploy finding, got %+v", got)
	}
	fd := got[0]
	if fd.Severity != analyzer.Danger || !fd.RequiresApproval {
		t.Errorf("fails-at-deploy must be a danger that needs approval: %+v", fd)
	}
	if !strings.Contains(fd.Message, `column "shiped_at" of relation "orders" does not exist`) || !strings.Contains(fd.Message, "42703") ||
		!strings.Contains(fd.Message, "00002_change.sql:3") {
		t.Errorf("the finding must carry PostgreSQL's error, SQLSTATE and line: %s", fd.Message)
	}
	if res.Files[0].Failed == nil || res.Files[0].Failed.Line != 3 {
		t.Errorf("failed statement: %+v", res.Files[0].Failed)
	}
	if !rep.RequiresApproval() {
		t.Error("a migration that fails at deploy must need approval")
	}
}

// TestLocksConfirmed runs statements of each lock mode and checks that what
// PostgreSQL took is what the analyzer predicted.
func TestLocksConfirmed(t *testing.T) {
	srv := scratchServer(t)
	cases := []struct {
		sql, rel, mode string
	}{
		{"ALTER TABLE orders ADD COLUMN shipped_at timestamptz;", "public.orders", "ACCESS EXCLUSIVE"},
		{"CREATE INDEX orders_total ON orders (total);", "public.orders", "SHARE"},
		{"ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;", "public.customers", "SHARE ROW EXCLUSIVE"},
		{"ALTER TABLE orders SET (fillfactor = 80);", "public.orders", "SHARE UPDATE EXCLUSIVE"},
		{"ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT total_positive;", "public.orders", "SHARE UPDATE EXCLUSIVE"},
		{"LOCK TABLE orders IN EXCLUSIVE MODE;", "public.orders", "EXCLUSIVE"},
		{"LOCK TABLE orders IN ROW SHARE MODE;", "public.orders", "ROW SHARE"},
		{"UPDATE orders SET total = 0;", "public.orders", "ROW EXCLUSIVE"},
		{"SELECT count(*) FROM orders;", "public.orders", "ACCESS SHARE"},
		{"SELECT id FROM orders FOR UPDATE;", "public.orders", "ROW SHARE"},
	}
	for _, c := range cases {
		t.Run(c.mode+"/"+c.sql, func(t *testing.T) {
			rep, res := rehearse(t, srv, goose(c.sql, ""), Options{})
			fr := res.Files[0]
			if fr.Failed != nil || fr.NotRehearsed != "" {
				t.Fatalf("did not run: %+v %s", fr.Failed, fr.NotRehearsed)
			}
			last := fr.Statements[len(fr.Statements)-1]
			found := false
			for _, l := range last.Locks {
				found = found || (l.Relation == c.rel && l.Mode == c.mode)
			}
			if !found {
				t.Fatalf("PostgreSQL's locks %+v lack %s on %s", last.Locks, c.mode, c.rel)
			}
			st := rep.Files[0].Statements[last.Index]
			predicted := false
			for _, l := range st.Locks {
				predicted = predicted || (relKey(l.Relation) == c.rel && l.Mode == c.mode)
			}
			if !predicted {
				t.Errorf("the analyzer predicted %+v", st.Locks)
			}
			if got := findingsOf(&rep.Files[0], "rehearsal-contradicts-model"); len(got) > 0 {
				t.Errorf("the prediction was contradicted: %+v", got)
			}
			for _, fd := range st.Findings {
				if predicts(&fd) && fd.Rehearsal != "confirmed" {
					t.Errorf("finding %s is %q, want confirmed", fd.Rule, fd.Rehearsal)
				}
			}
		})
	}
}

// TestContradiction takes a real run of a statement and a prediction that
// is wrong in each direction: the report says which way the model erred.
func TestContradiction(t *testing.T) {
	srv := scratchServer(t)
	rep, res := rehearse(t, srv, goose("CREATE INDEX orders_total ON orders (total);", ""), Options{})
	for _, c := range []struct {
		mode, want string
		approval   bool
	}{
		{"ROW EXCLUSIVE", "PostgreSQL did more than predicted", true},
		{"ACCESS EXCLUSIVE", "PostgreSQL did less than predicted", false},
	} {
		f := rep.Files[0]
		f.Statements = append([]analyzer.Statement{}, f.Statements...)
		st := &f.Statements[res.Files[0].Statements[0].Index]
		st.Findings = []analyzer.Finding{{Rule: "x", Question: analyzer.QLocks}}
		st.Locks = []analyzer.LockInfo{{Relation: "public.orders", Kind: "table", Mode: c.mode, Existing: true}}
		annotateFile(&f, &res.Files[0])
		got := findingsOf(&f, "rehearsal-contradicts-model")
		if len(got) != 1 || !strings.Contains(got[0].Message, c.want) || got[0].RequiresApproval != c.approval ||
			!strings.Contains(got[0].Message, "predicted "+c.mode+" on public.orders, PostgreSQL took") {
			t.Errorf("%s: %+v", c.mode, got)
		}
		if st.Findings[0].Rehearsal != "contradicted" {
			t.Errorf("%s: the prediction is %q, want contradicted", c.mode, st.Findings[0].Rehearsal)
		}
	}
}

func TestRewriteAndMetadataToldApart(t *testing.T) {
	srv := scratchServer(t)
	for _, c := range []struct {
		sql     string
		rewrite bool
	}{
		{"ALTER TABLE orders ALTER COLUMN total TYPE bigint;", true},
		{"ALTER TABLE orders ALTER COLUMN note TYPE varchar(50);", false},
		{"ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT clock_timestamp();", true},
		{"ALTER TABLE orders ADD COLUMN flag boolean DEFAULT false;", false},
	} {
		t.Run(c.sql, func(t *testing.T) {
			rep, res := rehearse(t, srv, goose(c.sql, ""), Options{})
			sr := res.Files[0].Statements[0]
			if got := len(sr.Rewrites) > 0; got != c.rewrite {
				t.Fatalf("rewrites %v, want rewrite=%v", sr.Rewrites, c.rewrite)
			}
			if c.rewrite && sr.Rewrites[0] != "public.orders" {
				t.Errorf("rewrote %v", sr.Rewrites)
			}
			st := rep.Files[0].Statements[sr.Index]
			if (st.Work == "rewrite") != c.rewrite {
				t.Errorf("the analyzer predicted %q", st.Work)
			}
			if got := findingsOf(&rep.Files[0], "rehearsal-contradicts-model"); len(got) > 0 {
				t.Errorf("contradicted: %+v", got)
			}
		})
	}
}

func TestScanObserved(t *testing.T) {
	srv := scratchServer(t)
	_, res := rehearse(t, srv, goose("ALTER TABLE orders ALTER COLUMN total SET NOT NULL;", ""), Options{})
	if sr := res.Files[0].Statements[0]; len(sr.Scans) != 1 || sr.Scans[0] != "public.orders" || len(sr.Rewrites) > 0 {
		t.Errorf("SET NOT NULL scans orders without rewriting it: %+v", sr)
	}
}

func TestDownDoesNotRestore(t *testing.T) {
	srv := scratchServer(t)
	rep, res := rehearse(t, srv, goose("ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nCREATE INDEX orders_shipped ON orders (shipped_at);",
		"DROP INDEX orders_shipped;"), Options{})
	fr := res.Files[0]
	if !fr.DownRan || len(fr.DownDifferences) != 1 || fr.DownDifferences[0] != "left over: column public.orders.shipped_at timestamp with time zone" {
		t.Fatalf("down differences: %+v", fr)
	}
	got := findingsOf(&rep.Files[0], "down-does-not-restore")
	if len(got) != 2 || !got[0].RequiresApproval || !strings.Contains(got[0].Message, "left over: column public.orders.shipped_at") ||
		!strings.Contains(got[1].Message, "the up part fails when run again after the down part") {
		t.Errorf("findings: %+v", got)
	}
	// The up part runs again after the down part: the index is created
	// again, but the column exists already.
	if fr.AgainFailed == nil || fr.AgainFailed.SQLState != "42701" {
		t.Errorf("the up part after the down part: %+v", fr.AgainFailed)
	}
}

func TestDownRestores(t *testing.T) {
	srv := scratchServer(t)
	rep, res := rehearse(t, srv, goose("ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nCREATE INDEX orders_shipped ON orders (shipped_at);",
		"DROP INDEX orders_shipped;\nALTER TABLE orders DROP COLUMN shipped_at;"), Options{})
	fr := res.Files[0]
	if !fr.DownRan || len(fr.DownDifferences) != 0 || !fr.AgainRan || fr.AgainFailed != nil {
		t.Fatalf("%+v", fr)
	}
	if got := findingsOf(&rep.Files[0], "down-does-not-restore"); len(got) > 0 {
		t.Errorf("%+v", got)
	}
}

func TestMissingExtension(t *testing.T) {
	srv := scratchServer(t)
	rep, res := rehearse(t, srv, goose("CREATE EXTENSION IF NOT EXISTS mg_no_such_extension;\nALTER TABLE orders ADD COLUMN x int;", ""), Options{})
	fr := res.Files[0]
	if fr.NotRehearsed != "not rehearsed: extension mg_no_such_extension is not installed here" || fr.Failed != nil {
		t.Fatalf("%+v", fr)
	}
	if got := findingsOf(&rep.Files[0], "fails-at-deploy"); len(got) > 0 {
		t.Errorf("a missing extension is no failure at deploy: %+v", got)
	}
	if got := findingsOf(&rep.Files[0], "not-rehearsed"); len(got) != 1 || !got[0].RequiresApproval {
		t.Errorf("%+v", got)
	}
}

func TestTrustedExtensionRuns(t *testing.T) {
	srv := scratchServer(t)
	_, res := rehearse(t, srv, goose("CREATE EXTENSION IF NOT EXISTS pgcrypto;\nALTER TABLE orders ADD COLUMN token text DEFAULT gen_random_uuid();", ""), Options{})
	if fr := res.Files[0]; fr.NotRehearsed != "" || fr.Failed != nil {
		t.Fatalf("%+v", fr)
	}
}

func TestTimeouts(t *testing.T) {
	srv := scratchServer(t)
	_, res := rehearse(t, srv, goose("SELECT pg_sleep(30);", ""), Options{StatementTimeout: 200 * time.Millisecond})
	if fr := res.Files[0]; fr.Failed != nil || !strings.Contains(fr.NotRehearsed, "did not finish within the rehearsal's timeouts") {
		t.Errorf("statement_timeout: %+v", fr)
	}
	// The SQL may lift statement_timeout; the budget still ends it.
	_, res = rehearse(t, srv, goose("SET statement_timeout = 0;\nSELECT pg_sleep(30);", ""), Options{Budget: 2 * time.Second})
	if fr := res.Files[0]; fr.Failed != nil || !strings.Contains(fr.NotRehearsed, "time budget ran out") {
		t.Errorf("budget: %+v", fr)
	}
}

func TestUntrustedSQLRefused(t *testing.T) {
	srv := scratchServer(t)
	marker := filepath.Join(t.TempDir(), "pwned")
	for _, sql := range []string{
		"COPY (SELECT 1) TO PROGRAM 'touch " + marker + "';",
		"ALTER SYSTEM SET work_mem = '1GB';",
		"CREATE DATABASE mg_evil;",
		"CREATE ROLE mg_evil SUPERUSER;",
		"SET ROLE postgres;",
	} {
		t.Run(sql, func(t *testing.T) {
			rep, res := rehearse(t, srv, "-- +goose NO TRANSACTION\n"+goose(sql, ""), Options{})
			fr := res.Files[0]
			if !strings.Contains(fr.NotRehearsed, "for lack of privilege") {
				t.Errorf("want a refusal for lack of privilege, got %+v", fr)
			}
			if !rep.RequiresApproval() {
				t.Error("an unrehearsed statement must need approval")
			}
		})
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("COPY ... PROGRAM ran: %v", err)
	}
}

// TestWrappedAlterSystemFails: goose wraps the file in a transaction, where
// PostgreSQL refuses ALTER SYSTEM whoever runs it: that is a failure at
// deploy, not a privilege the rehearsal lacks.
func TestWrappedAlterSystemFails(t *testing.T) {
	srv := scratchServer(t)
	rep, res := rehearse(t, srv, goose("ALTER SYSTEM SET work_mem = '1GB';", ""), Options{})
	if e := res.Files[0].Failed; e == nil || e.SQLState != "25001" {
		t.Fatalf("%+v", res.Files[0])
	}
	if got := findingsOf(&rep.Files[0], "fails-at-deploy"); len(got) != 1 {
		t.Errorf("%+v", got)
	}
}

func TestRefusesDatabaseWithTables(t *testing.T) {
	u := pgtest.Scratch(t, "CREATE TABLE users (id int)")
	_, err := OpenScratch(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "public.users") {
		t.Fatalf("a database holding tables must be refused: %v", err)
	}
}

// TestShadowingCatalogFunctions: the migration puts its own schema before
// pg_catalog with functions named as those the rehearsal's queries use, to
// hide that its down part does not restore the schema and that it rewrites
// a table. The rehearsal's queries still read the real catalog.
func TestShadowingCatalogFunctions(t *testing.T) {
	srv := scratchServer(t)
	up := `CREATE FUNCTION public.format_type(oid, integer) RETURNS text LANGUAGE sql AS $$ SELECT 'hidden'::text $$;
CREATE FUNCTION public.pg_stat_get_xact_numscans(oid) RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$;
CREATE FUNCTION public.quote_ident(text) RETURNS text LANGUAGE sql AS $$ SELECT 'x'::text $$;
SET search_path = public, pg_catalog;
ALTER TABLE orders ADD COLUMN shipped_at timestamptz;
ALTER TABLE orders ALTER COLUMN total SET NOT NULL;`
	_, res := rehearse(t, srv, "-- +goose NO TRANSACTION\n"+goose(up, "SET search_path = public, pg_catalog;"), Options{})
	fr := res.Files[0]
	if fr.NotRehearsed != "" || fr.Failed != nil {
		t.Fatalf("%+v", fr)
	}
	last := fr.Statements[5]
	if len(last.Scans) != 1 || last.Scans[0] != "public.orders" {
		t.Errorf("the scan of SET NOT NULL was hidden: %+v", last)
	}
	found := false
	for _, d := range fr.DownDifferences {
		found = found || d == "left over: column public.orders.shipped_at timestamp with time zone"
	}
	if !found {
		t.Errorf("the schema difference was hidden: %v", fr.DownDifferences)
	}
}

// TestRows fills the base's tables with generated rows in foreign-key
// order, names the one whose CHECK the values break, and times the
// change's rewrite.
func TestRows(t *testing.T) {
	srv := scratchServer(t)
	// accounts sorts before people but references it: people is filled
	// first.
	base := `CREATE TYPE state AS ENUM ('new', 'paid');
CREATE DOMAIN email AS text CHECK (VALUE <> '');
CREATE TABLE people (id int PRIMARY KEY, email email NOT NULL UNIQUE, vip boolean);
CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, person_id int NOT NULL REFERENCES people (id), state state NOT NULL,
  placed_at timestamptz NOT NULL, token uuid UNIQUE, note varchar(3), total numeric(12, 2), data jsonb, tags text[]);
CREATE TABLE small (n int CHECK (n < 10));`
	rep, res := rehearseOver(t, srv, base, goose("ALTER TABLE accounts ALTER COLUMN total TYPE numeric(14, 2);\nALTER TABLE accounts ALTER COLUMN total TYPE bigint;", ""), Options{Rows: 500})
	if strings.Join(res.Filled, ",") != "public.people,public.accounts" {
		t.Errorf("filled %v", res.Filled)
	}
	if why := res.NotFilled["public.small"]; !strings.Contains(why, "small_n_check") {
		t.Errorf("not filled: %v", res.NotFilled)
	}
	fr := res.Files[0]
	if fr.Failed != nil || fr.NotRehearsed != "" || len(fr.Statements) != 2 || len(fr.Statements[1].Rewrites) != 1 || fr.Statements[1].Duration <= 0 {
		t.Fatalf("%+v", fr)
	}
	notes := strings.Join(rep.Notes, "\n")
	if !strings.Contains(notes, "rehearsal with 500 generated rows in each of 2 tables; not filled: public.small") ||
		!strings.Contains(notes, "00002_change.sql:3: rewrite took") {
		t.Errorf("notes:\n%s", notes)
	}
}

// TestBaseWithConcurrentIndex: a base migration that cannot run in a
// transaction ran where it was deployed; the replay runs it without one
// instead of calling the whole base unusable.
func TestBaseWithConcurrentIndex(t *testing.T) {
	srv := scratchServer(t)
	in := Input{
		Base: []Part{{Path: "V1__a.sql", Wrapped: true, Statements: []Stmt{
			{Path: "V1__a.sql", Line: 1, SQL: "CREATE TABLE a (id int)", Index: -1},
			{Path: "V1__a.sql", Line: 2, SQL: "CREATE INDEX CONCURRENTLY a_id ON a (id)", Index: -1},
		}}},
		Changes: []Change{{Path: "V2__b.sql", Up: Part{Path: "V2__b.sql", Statements: []Stmt{{Path: "V2__b.sql", Line: 1, SQL: "DROP INDEX a_id", Index: 0}}}}},
	}
	res, err := Run(context.Background(), srv, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.NotRehearsed != "" || res.Files[0].Failed != nil || res.Files[0].NotRehearsed != "" {
		t.Fatalf("%+v %+v", res, res.Files[0])
	}
}

func TestPsqlFileNotRehearsed(t *testing.T) {
	srv := scratchServer(t)
	in := Input{Changes: []Change{{Path: "001.sql", Up: Part{Path: "001.sql", NotRunnable: notRunnablePsql}}}}
	res, err := Run(context.Background(), srv, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Files[0].NotRehearsed; got != "not rehearsed: 001.sql: "+notRunnablePsql {
		t.Errorf("%q", got)
	}
}

// TestOutsideTransaction: statements PostgreSQL refuses in a transaction
// run alone in a file the tool runs without one; their locks are sampled,
// so a lock not seen is no contradiction.
func TestOutsideTransaction(t *testing.T) {
	srv := scratchServer(t)
	rep, res := rehearse(t, srv, "-- +goose NO TRANSACTION\n"+goose("CREATE INDEX CONCURRENTLY orders_total ON orders (total);\nVACUUM orders;", "DROP INDEX CONCURRENTLY orders_total;"), Options{})
	fr := res.Files[0]
	if fr.Failed != nil || fr.NotRehearsed != "" || len(fr.Statements) < 2 || !fr.AgainRan || len(fr.DownDifferences) > 0 {
		t.Fatalf("%+v", fr)
	}
	for _, sr := range fr.Statements {
		if sr.InTransaction {
			t.Errorf("%s:%d ran in a transaction", sr.Path, sr.Line)
		}
	}
	for _, fd := range findingsOf(&rep.Files[0], "rehearsal-contradicts-model") {
		if strings.Contains(fd.Message, "took no lock") || strings.Contains(fd.Message, "took only") {
			t.Errorf("a sampled lock read as a contradiction: %s", fd.Message)
		}
	}
}

func TestRefusesNonSuperuser(t *testing.T) {
	ctx := context.Background()
	u := pgtest.Scratch(t)
	admin, err := pgx.Connect(ctx, pgtest.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	role := "mg_test_creator_" + randomHex(4)
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN CREATEDB CREATEROLE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Its own connection: admin is closed by then.
		c, err := pgx.Connect(context.Background(), pgtest.AdminURL)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP ROLE "+role); err != nil {
			t.Errorf("dropping %s: %v", role, err)
		}
	})
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	as := strings.Replace(u, "://"+cfg.User+"@", "://"+role+"@", 1)
	if _, err := OpenScratch(ctx, as); err == nil || !strings.Contains(err.Error(), "is not a superuser") {
		t.Fatalf("%v", err)
	}
}

// TestRoleSettingsDoNotCarryOver: one rehearsal's SQL changes its role's
// settings and password; the next rehearsal on the same server (the App
// keeps one) runs as if it had not.
func TestRoleSettingsDoNotCarryOver(t *testing.T) {
	srv := scratchServer(t)
	_, res := rehearse(t, srv, goose("ALTER ROLE CURRENT_USER SET search_path = nowhere;\nALTER ROLE CURRENT_USER PASSWORD 'changed';", ""), Options{})
	if fr := res.Files[0]; fr.Failed != nil || fr.NotRehearsed != "" {
		t.Fatalf("%+v", fr)
	}
	rep, res := rehearse(t, srv, goose("CREATE TABLE notes (id int);", ""), Options{})
	if fr := res.Files[0]; fr.Failed != nil || fr.NotRehearsed != "" {
		t.Fatalf("the second rehearsal inherited the first one's role settings: %+v %v", fr, rep.Notes)
	}
}

func TestTempFileLimitCannotBeLifted(t *testing.T) {
	srv := scratchServer(t)
	_, res := rehearse(t, srv, "-- +goose NO TRANSACTION\n"+goose("SET temp_file_limit = -1;", ""), Options{})
	if !strings.Contains(res.Files[0].NotRehearsed, "for lack of privilege") {
		t.Fatalf("%+v", res.Files[0])
	}
}

// TestLockHeldFromEarlierStatement: the second statement of a transaction
// needs a lock the first one already took; it is not new, and no
// contradiction.
func TestLockHeldFromEarlierStatement(t *testing.T) {
	srv := scratchServer(t)
	rep, res := rehearse(t, srv, goose("ALTER TABLE orders ADD COLUMN a int;\nALTER TABLE orders ADD COLUMN b int;", ""), Options{})
	fr := res.Files[0]
	if len(fr.Statements) != 2 || len(fr.Statements[1].Locks) != 0 {
		t.Fatalf("the second statement's lock was already held: %+v", fr.Statements)
	}
	if got := findingsOf(&rep.Files[0], "rehearsal-contradicts-model"); len(got) > 0 {
		t.Errorf("%+v", got)
	}
}

// TestProceduralBodiesRunOnlyInside: the statements the analyzer lists
// from a DO block and from a function body are not run on their own. A
// function created but never called deletes nothing, and a DO block's
// statement runs once, inside the block (a second, top-level DROP would
// fail at deploy here).
func TestProceduralBodiesRunOnlyInside(t *testing.T) {
	srv := scratchServer(t)
	up := `CREATE FUNCTION public.purge() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM orders; END $$;
DO $$ BEGIN ALTER TABLE orders DROP COLUMN note; END $$;`
	rep, res := rehearse(t, srv, "-- +goose NO TRANSACTION\n"+goose(up, ""), Options{})
	inner := 0
	for _, st := range rep.Files[0].Statements {
		if st.Inner {
			inner++
		}
	}
	if inner != 2 {
		t.Fatalf("the analyzer should list the two inner statements as inner, got %d", inner)
	}
	fr := res.Files[0]
	if fr.Failed != nil || fr.NotRehearsed != "" {
		t.Fatalf("an inner statement was run on its own: %+v", fr)
	}
	if len(fr.Statements) != 2 {
		t.Errorf("want the 2 top-level statements rehearsed, got %d: %+v", len(fr.Statements), fr.Statements)
	}
	for _, sr := range fr.Statements {
		if rep.Files[0].Statements[sr.Index].Inner {
			t.Errorf("inner statement %d was rehearsed", sr.Index)
		}
	}
}

// TestOwnQueriesKeepTheirTimeout: the migration's statement_timeout bounds
// the migration, not the rehearsal's own catalog queries, and is the
// migration's again afterwards.
func TestOwnQueriesKeepTheirTimeout(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Scratch(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	r := &runner{conn: conn}
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	setting := func() (string, string) {
		t.Helper()
		var timeout, path string
		if err := conn.QueryRow(ctx, "SELECT current_setting('statement_timeout'), current_setting('search_path')").Scan(&timeout, &path); err != nil {
			t.Fatal(err)
		}
		return timeout, path
	}
	exec("SET search_path = public")
	exec("SET statement_timeout = '4321ms'")
	restore, err := r.trustedPath(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if timeout, path := setting(); timeout != "1min" || path != "pg_catalog, pg_temp" {
		t.Errorf("during the rehearsal's queries: statement_timeout %q, search_path %q", timeout, path)
	}
	restore()
	if timeout, path := setting(); timeout != "4321ms" || path != "public" {
		t.Errorf("after: statement_timeout %q, search_path %q, want the migration's 4321ms and public", timeout, path)
	}

}
