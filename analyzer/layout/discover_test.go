package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for p, c := range files {
		m[p] = &fstest.MapFile{Data: []byte(c)}
	}
	return m
}

func discover(t *testing.T, fsys fs.FS, locs ...Location) *Set {
	t.Helper()
	s, err := Discover(fsys, locs)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	// Read ahead in parallel, the same files give the same set.
	ahead, err := Discover(concurrentFS{fsys}, locs)
	if err != nil {
		t.Fatalf("Discover, reading ahead: %v", err)
	}
	if !reflect.DeepEqual(ahead, s) {
		t.Fatalf("Discover, reading ahead:\n got  %+v\n want %+v", ahead, s)
	}
	return s
}

// order lists "version path" for each migration, in order.
func order(s *Set) []string {
	var out []string
	for _, m := range s.Migrations {
		out = append(out, m.Version+" "+m.Path)
	}
	return out
}

func requireOrder(t *testing.T, s *Set, want ...string) {
	t.Helper()
	if got := order(s); !reflect.DeepEqual(got, want) {
		t.Errorf("order:\n got  %q\n want %q", got, want)
	}
}

func migration(t *testing.T, s *Set, p string) Migration {
	t.Helper()
	for _, m := range s.Migrations {
		if m.Path == p {
			return m
		}
	}
	t.Fatalf("no migration %s in %q", p, order(s))
	return Migration{}
}

func folders(s *Set) []string {
	var out []string
	for _, f := range s.Folders {
		out = append(out, string(f.Kind)+" "+f.Path)
	}
	return out
}

func TestPlainOrdering(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"db/sql/1_a.sql":              "CREATE TABLE a ();",
		"db/sql/2_b.sql":              "CREATE TABLE b ();",
		"db/sql/10_c.sql":             "BEGIN; CREATE TABLE c (); COMMIT;",
		"db/sql/9_d.sql":              "CREATE TABLE d ();",
		"db/sql/20240101120000_e.sql": "CREATE TABLE e ();",
		"db/sql/seed.sql":             "INSERT INTO a DEFAULT VALUES;",
		"db/sql/notes.txt":            "not sql",
	}))
	requireOrder(t, s,
		"1 db/sql/1_a.sql", "2 db/sql/2_b.sql", "9 db/sql/9_d.sql", "10 db/sql/10_c.sql",
		"20240101120000 db/sql/20240101120000_e.sql")
	if got := folders(s); !reflect.DeepEqual(got, []string{"plain db/sql"}) {
		t.Errorf("folders %q", got)
	}
	requireProblem(t, s.Problems, 0, "no number at the start")
	requireProblem(t, s.Problems, 0, "by number 9_d.sql comes before 10_c.sql, but a shell glob")
	m := migration(t, s, "db/sql/9_d.sql")
	if m.Up.Tx != TxNone || m.SupportsDown || m.Down != nil || string(m.Content) != "CREATE TABLE d ();" || m.Name != "d" {
		t.Errorf("plain migration %+v", m)
	}
}

func TestGolangMigrate(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"migrations/1_init.up.sql":      "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
		"migrations/1_init.down.sql":    "DROP TABLE b;\nDROP TABLE a;\n",
		"migrations/2_x.up.sql":         "ALTER TABLE a ADD c int;",
		"migrations/2_dup.up.sql":       "ALTER TABLE a ADD d int;",
		"migrations/10_y.up.sql":        "CREATE INDEX CONCURRENTLY i ON a (id);",
		"migrations/10_y.down.sql":      "DROP INDEX i;",
		"migrations/9_z.up.sql":         "SELECT 9;",
		"migrations/3_orphan.down.sql":  "DROP TABLE gone;",
		"migrations/4_no_direction.sql": "SELECT 4;",
		"migrations/README.md":          "docs",
	}))
	requireOrder(t, s,
		"1 migrations/1_init.up.sql", "2 migrations/2_dup.up.sql", "9 migrations/9_z.up.sql", "10 migrations/10_y.up.sql")
	m := migration(t, s, "migrations/1_init.up.sql")
	if m.Kind != GolangMigrate || m.DownPath != "migrations/1_init.down.sql" || string(m.DownContent) != "DROP TABLE b;\nDROP TABLE a;\n" {
		t.Errorf("down of 1: %+v", m)
	}
	if m.Down == nil || text(m.DownContent, *m.Down) != "DROP TABLE b;\nDROP TABLE a;\n" || m.Down.Path != m.DownPath {
		t.Errorf("down part %+v", m.Down)
	}
	if m.Up.Tx != TxImplicit || text(m.Content, m.Up) != "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n" {
		t.Errorf("up %+v", m.Up)
	}
	requireProblem(t, migration(t, s, "migrations/2_dup.up.sql").Problems, 0, "also used by migrations/2_x.up.sql")
	requireProblem(t, s.Problems, 0, "down migration without an up migration of version 3")
	requireProblem(t, s.Problems, 0, "does not end in .up.<ext>")
	if migration(t, s, "migrations/9_z.up.sql").Down != nil {
		t.Errorf("9 has no down file")
	}
}

func TestGoose(t *testing.T) {
	up := func(sql string) string { return "-- +goose Up\n" + sql + "\n-- +goose Down\nSELECT 0;\n" }
	s := discover(t, mapFS(map[string]string{
		"db/migrations/00001_init.sql":           up("CREATE TABLE a ();"),
		"db/migrations/00002_index.sql":          "-- +goose NO TRANSACTION\n" + up("CREATE INDEX CONCURRENTLY i ON a (id);"),
		"db/migrations/00003_forgot.sql":         "CREATE TABLE b ();\n",
		"db/migrations/9_nine.sql":               up("SELECT 9;"),
		"db/migrations/10_ten.sql":               up("SELECT 10;"),
		"db/migrations/20240101120000_ts.sql":    up("SELECT 2024;"),
		"db/migrations/00010_ten_again.sql":      up("SELECT 10;"),
		"db/migrations/nover.sql":                up("SELECT 0;"),
		"db/migrations/20240101120001_go_mig.go": "package migrations",
	}))
	requireOrder(t, s,
		"00001 db/migrations/00001_init.sql", "00002 db/migrations/00002_index.sql", "00003 db/migrations/00003_forgot.sql",
		"9 db/migrations/9_nine.sql", "00010 db/migrations/00010_ten_again.sql", "10 db/migrations/10_ten.sql",
		"20240101120000 db/migrations/20240101120000_ts.sql")
	m := migration(t, s, "db/migrations/00002_index.sql")
	if m.Up.Tx != TxNone || m.Up.TxLine != 1 || m.Down == nil || m.Down.Tx != TxNone || !m.SupportsDown {
		t.Errorf("NO TRANSACTION not applied: %+v", m)
	}
	if got := text(m.Content, m.Up); got != "CREATE INDEX CONCURRENTLY i ON a (id);\n" {
		t.Errorf("up = %q", got)
	}
	requireProblem(t, migration(t, s, "db/migrations/00003_forgot.sql").Problems, 1, "SQL before -- +goose Up")
	requireProblem(t, migration(t, s, "db/migrations/10_ten.sql").Problems, 0, "goose refuses duplicate versions")
	requireProblem(t, s.Problems, 0, "no version: goose names are")
	if migration(t, s, "db/migrations/00001_init.sql").Up.Tx != TxWrapped {
		t.Errorf("goose default must be wrapped")
	}
}

func TestDbmateOrderIsByName(t *testing.T) {
	mig := func(sql string) string { return "-- migrate:up\n" + sql + "\n-- migrate:down\n" }
	s := discover(t, mapFS(map[string]string{
		"db/migrations/20240101000000_a.sql": mig("CREATE TABLE a ();"),
		"db/migrations/9_b.sql":              "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON a (id);\n-- migrate:down\nDROP INDEX i;\n",
		"db/migrations/10_c.sql":             mig("SELECT 10;"),
		"db/migrations/10_d.sql":             mig("SELECT 10;"),
		"db/schema.sql":                      "-- dbmate's schema dump is not a migration",
	}))
	// dbmate sorts file names, so 10_ and 2024… come before 9_.
	requireOrder(t, s,
		"10 db/migrations/10_c.sql", "10 db/migrations/10_d.sql",
		"20240101000000 db/migrations/20240101000000_a.sql", "9 db/migrations/9_b.sql")
	requireProblem(t, s.Problems, 0, "file-name order, so 20240101000000_a.sql (version 20240101000000) runs before 9_b.sql")
	requireProblem(t, migration(t, s, "db/migrations/10_c.sql").Problems, 0, "also used by db/migrations/10_d.sql")
	m := migration(t, s, "db/migrations/9_b.sql")
	if m.Up.Tx != TxImplicit || m.Up.TxLine != 1 || m.Down == nil || m.Down.Tx != TxWrapped {
		t.Errorf("transaction:false: %+v %+v", m.Up, m.Down)
	}
	if got := folders(s); !reflect.DeepEqual(got, []string{"dbmate db/migrations"}) {
		t.Errorf("db/schema.sql must not make its own folder: %q", got)
	}
}

func TestFlyway(t *testing.T) {
	const dir = "src/main/resources/db/migration/"
	s := discover(t, mapFS(map[string]string{
		dir + "V1__init.sql":             "CREATE TABLE a ();",
		dir + "V1.1__a.sql":              "SELECT 11;",
		dir + "V1.10__b.sql":             "SELECT 110;",
		dir + "V1.2__c.sql":              "SELECT 12;",
		dir + "V2__d.sql":                "CREATE INDEX CONCURRENTLY i ON a (id);",
		dir + "V2__d.sql.conf":           "# per-script settings\nexecuteInTransaction=false\n",
		dir + "U2__d.sql":                "DROP INDEX CONCURRENTLY i;",
		dir + "U2__d.sql.conf":           "executeInTransaction = true\n",
		dir + "U9__orphan.sql":           "SELECT 0;",
		dir + "V1_0__same_as_one.sql":    "SELECT 1;",
		dir + "v3__lower_case.sql":       "SELECT 3;",
		dir + "V4_missing_separator.sql": "SELECT 4;",
		dir + "R__views.sql":             "CREATE OR REPLACE VIEW v AS SELECT 1;",
		dir + "R__a-c.sql":               "SELECT 'a-c';",
		dir + "R__a_b.sql":               "SELECT 'a b';",
		dir + "2024/V1.5__nested.sql":    "SELECT 15;",
	}))
	requireOrder(t, s,
		// Equal versions keep path order; Flyway refuses them anyway.
		"1_0 "+dir+"V1_0__same_as_one.sql", "1 "+dir+"V1__init.sql",
		"1.1 "+dir+"V1.1__a.sql", "1.2 "+dir+"V1.2__c.sql", "1.5 "+dir+"2024/V1.5__nested.sql",
		"1.10 "+dir+"V1.10__b.sql", "2 "+dir+"V2__d.sql",
		// Repeatables last, by description with "_" read as a space:
		// "a b" < "a-c" < "views".
		" "+dir+"R__a_b.sql", " "+dir+"R__a-c.sql", " "+dir+"R__views.sql")
	if got := folders(s); !reflect.DeepEqual(got, []string{"flyway src/main/resources/db/migration"}) {
		t.Errorf("folders %q", got)
	}
	requireProblem(t, migration(t, s, dir+"V1__init.sql").Problems, 0, "same version as "+dir+"V1_0__same_as_one.sql")
	requireProblem(t, s.Problems, 0, "undo migration without a versioned migration V9__")
	requireProblem(t, s.Problems, 0, "Flyway ignores this file")
	m := migration(t, s, dir+"V2__d.sql")
	if m.Up.Tx != TxNone || m.Up.TxSource != dir+"V2__d.sql.conf" || m.Up.TxLine != 2 {
		t.Errorf("conf not applied: %+v", m.Up)
	}
	if m.DownPath != dir+"U2__d.sql" || m.Down == nil || m.Down.Tx != TxWrapped || m.Down.TxSource != dir+"U2__d.sql.conf" {
		t.Errorf("undo: %+v %+v", m.DownPath, m.Down)
	}
	if r := migration(t, s, dir+"R__views.sql"); !r.Repeatable || r.Version != "" || r.Up.Tx != TxAutoNonTx {
		t.Errorf("repeatable %+v", r)
	}
	if a := migration(t, s, dir+"V1.1__a.sql"); a.Up.Tx != TxAutoNonTx || a.Up.TxLine != 0 {
		t.Errorf("default flyway tx %+v", a.Up)
	}
}

func TestSqitchProject(t *testing.T) {
	s := discover(t, os.DirFS("testdata/sqitch"))
	requireOrder(t, s,
		" db/deploy/schema.sql", " db/deploy/users@v1.0.sql", " db/deploy/app/widgets.sql", " db/deploy/users.sql")
	if got := folders(s); !reflect.DeepEqual(got, []string{"sqitch ."}) {
		t.Errorf("folders %q", got)
	}
	old := migration(t, s, "db/deploy/users@v1.0.sql")
	if old.Name != "users" || old.DownPath != "db/revert/users@v1.0.sql" || old.VerifyPath != "" {
		t.Errorf("reworked change %+v", old)
	}
	cur := migration(t, s, "db/deploy/users.sql")
	if cur.DownPath != "db/revert/users.sql" || cur.VerifyPath != "db/verify/users.sql" || cur.Up.Tx != TxNone || !cur.SupportsDown {
		t.Errorf("current users %+v", cur)
	}
	w := migration(t, s, "db/deploy/app/widgets.sql")
	if w.Name != "app/widgets" || w.DownPath != "db/revert/app/widgets.sql" || w.Down == nil || w.Down.Tx != TxNone {
		t.Errorf("widgets %+v", w)
	}
	if text(cur.DownContent, *cur.Down) != "BEGIN;\nALTER TABLE app.users DROP COLUMN email;\nCOMMIT;\n" {
		t.Errorf("revert text %q", text(cur.DownContent, *cur.Down))
	}
	requireProblem(t, s.Problems, 11, "the plan names change ghost, but db/deploy/ghost.sql does not exist")
	for _, m := range s.Migrations {
		if strings.Contains(m.Path, "verify/") {
			t.Errorf("verify script reported as a migration: %s", m.Path)
		}
	}
}

func TestSqitchPlanWithoutConf(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"sqitch.plan":        "%project=x\n\n+a 2024-01-01T00:00:00Z A <a@x>\nb [a] 2024-01-01T00:00:00Z A <a@x>\n",
		"deploy/a.sql":       "CREATE TABLE a ();",
		"deploy/b.sql":       "CREATE TABLE b ();",
		"revert/a.sql":       "DROP TABLE a;",
		"services/x/1.sql":   "SELECT 1;",
		"verify/a.sql":       "SELECT 1;",
		"other/sqitch.conf":  "[core]\n\tengine = mysql\n",
		"other/sqitch.plan":  "a 2024-01-01T00:00:00Z A <a@x>\n",
		"other/deploy/a.sql": "CREATE TABLE a ();",
	}))
	requireOrder(t, s, " deploy/a.sql", " deploy/b.sql", "1 services/x/1.sql")
	requireProblem(t, migration(t, s, "deploy/b.sql").Problems, 0, "no revert script")
	requireProblem(t, s.Problems, 0, `engine "mysql"`)
	if migration(t, s, "deploy/a.sql").VerifyPath != "verify/a.sql" {
		t.Errorf("verify path")
	}
}

func TestPrisma(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"apps/web/prisma/migrations/migration_lock.toml":                 "# Please do not edit this file manually\nprovider = \"postgresql\"\n",
		"apps/web/prisma/migrations/20240301000000_third/migration.sql":  "CREATE INDEX i ON t (a);\nALTER TABLE t ADD b int;\n",
		"apps/web/prisma/migrations/20240101000000_init/migration.sql":   "CREATE TABLE t (a int);\n",
		"apps/web/prisma/migrations/20240201000000_broken/notes.md":      "forgot the sql",
		"apps/mysql/prisma/migrations/migration_lock.toml":               "provider = \"mysql\"\n",
		"apps/mysql/prisma/migrations/20240101000000_init/migration.sql": "CREATE TABLE t (a int);\n",
		"legacy/prisma/migrations/20230101000000_init/migration.sql":     "CREATE TABLE old (a int);\n",
	}))
	requireOrder(t, s,
		"20240101000000 apps/web/prisma/migrations/20240101000000_init/migration.sql",
		"20240301000000 apps/web/prisma/migrations/20240301000000_third/migration.sql",
		"20230101000000 legacy/prisma/migrations/20230101000000_init/migration.sql")
	requireProblem(t, s.Problems, 0, "without migration.sql")
	requireProblem(t, s.Problems, 0, `provider "mysql"`)
	m := migration(t, s, "apps/web/prisma/migrations/20240301000000_third/migration.sql")
	if m.Up.Tx != TxImplicit || m.SupportsDown || m.Down != nil || m.Name != "third" || m.Dir != "apps/web/prisma/migrations" {
		t.Errorf("prisma %+v", m)
	}
}

func TestDrizzle(t *testing.T) {
	journal := `{"version":"7","dialect":"postgresql","entries":[
		{"idx":0,"version":"7","when":1700000000000,"tag":"0000_init","breakpoints":true},
		{"idx":1,"version":"7","when":1700000100000,"tag":"0002_second_by_journal","breakpoints":true},
		{"idx":2,"version":"7","when":1700000200000,"tag":"0001_third_by_journal","breakpoints":true},
		{"idx":3,"version":"7","when":1700000300000,"tag":"0003_lost","breakpoints":true}]}`
	s := discover(t, mapFS(map[string]string{
		"drizzle/meta/_journal.json":         journal,
		"drizzle/meta/0000_snapshot.json":    "{}",
		"drizzle/0000_init.sql":              "CREATE TABLE a (id int);\n--> statement-breakpoint\nCREATE TABLE b (id int);\n",
		"drizzle/0001_third_by_journal.sql":  "SELECT 1;",
		"drizzle/0002_second_by_journal.sql": "SELECT 2;",
		"drizzle/0004_not_journaled.sql":     "SELECT 4;",
		"old/drizzle/0000_a.sql":             "CREATE TABLE x ();\n--> statement-breakpoint\nCREATE TABLE y ();\n",
		"old/drizzle/0001_b.sql":             "SELECT 1;",
		"sqlite/drizzle/meta/_journal.json":  `{"dialect":"sqlite","entries":[]}`,
		"sqlite/drizzle/0000_a.sql":          "CREATE TABLE x (id integer);",
	}))
	requireOrder(t, s,
		"0000 drizzle/0000_init.sql", "0002 drizzle/0002_second_by_journal.sql", "0001 drizzle/0001_third_by_journal.sql",
		"0004 drizzle/0004_not_journaled.sql",
		"0000 old/drizzle/0000_a.sql", "0001 old/drizzle/0001_b.sql")
	requireProblem(t, s.Problems, 0, "journal entry 3 names drizzle/0003_lost.sql, which does not exist")
	// The unlisted file is judged, after the listed ones, with a warning on it.
	requireProblem(t, migration(t, s, "drizzle/0004_not_journaled.sql").Problems, 0, "not in meta/_journal.json: drizzle's migrator never applies it")
	if hasProblem(s.Problems, 0, "lists none") {
		t.Errorf("the journal lists files: %v", s.Problems)
	}
	for _, listed := range []string{"drizzle/0000_init.sql", "drizzle/0001_third_by_journal.sql"} {
		if len(migration(t, s, listed).Problems) > 0 {
			t.Errorf("%s is listed: %v", listed, migration(t, s, listed).Problems)
		}
	}
	requireProblem(t, s.Problems, 0, "no meta/_journal.json")
	requireProblem(t, s.Problems, 0, `dialect "sqlite"`)
	m := migration(t, s, "drizzle/0000_init.sql")
	if m.Up.Tx != TxWrapped || !m.Up.TxAcrossRun || m.Name != "init" {
		t.Errorf("drizzle %+v", m)
	}
	for _, f := range s.Folders {
		if f.Path == "old/drizzle" && !strings.Contains(f.Detected, "ordered by file name") {
			t.Errorf("fallback must say so: %q", f.Detected)
		}
	}
}

func TestSupabase(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"supabase/config.toml":                         "project_id = \"x\"",
		"supabase/migrations/20240102000000_b.sql":     "SELECT 2;",
		"supabase/migrations/20240101000000_a.sql":     "SELECT 1;",
		"supabase/migrations/init.sql":                 "SELECT 0;",
		"supabase/seed.sql":                            "INSERT INTO t VALUES (1);",
		"supabase/migrations/20240101000000_again.sql": "SELECT 1;",
	}))
	requireOrder(t, s,
		"20240101000000 supabase/migrations/20240101000000_a.sql",
		"20240101000000 supabase/migrations/20240101000000_again.sql",
		"20240102000000 supabase/migrations/20240102000000_b.sql")
	requireProblem(t, s.Problems, 0, "the supabase CLI skips this file")
	requireProblem(t, migration(t, s, "supabase/migrations/20240101000000_a.sql").Problems, 0, "also used by supabase/migrations/20240101000000_again.sql")
	if m := migration(t, s, "supabase/migrations/20240102000000_b.sql"); m.Up.Tx != TxWrapped || m.Kind != Supabase {
		t.Errorf("supabase %+v", m)
	}
}

func TestMonorepo(t *testing.T) {
	s := discover(t, os.DirFS("testdata/monorepo"))
	if got, want := folders(s), []string{
		"goose services/api/db/migrations",
		"golang-migrate services/billing/migrations",
		"prisma web/prisma/migrations",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("folders\n got  %q\n want %q", got, want)
	}
	requireOrder(t, s,
		"00001 services/api/db/migrations/00001_create_users.sql",
		"00002 services/api/db/migrations/00002_index_users.sql",
		"000001 services/billing/migrations/000001_invoices.up.sql",
		"000002 services/billing/migrations/000002_totals.up.sql",
		"20240101000000 web/prisma/migrations/20240101000000_init/migration.sql",
		"20240215093000 web/prisma/migrations/20240215093000_add_posts/migration.sql")
	requireNoProblems(t, s.AllProblems())
	if m := migration(t, s, "services/api/db/migrations/00002_index_users.sql"); m.Up.Tx != TxNone {
		t.Errorf("goose NO TRANSACTION lost: %+v", m.Up)
	}
}

func TestConfigurationOverridesDetection(t *testing.T) {
	fsys := mapFS(map[string]string{
		// Detected as plain on its own, but the team runs it with psql -1.
		"db/sql/001_a.sql": "CREATE TABLE a ();",
		// Plain-looking, but configured as goose: the missing markers
		// become problems.
		"db/goose/001_a.sql": "CREATE TABLE a ();",
		// golang-migrate with x-multi-statement.
		"db/gm/1_a.up.sql": "CREATE INDEX CONCURRENTLY i ON a (id);\nSELECT 1;",
		// Not configured, so not looked at.
		"other/1_x.up.sql": "SELECT 1;",
		"db/fw/V1__a.sql":  "SELECT 1;",
	})
	s := discover(t, fsys,
		Location{Path: "db/sql", Options: Options{Transaction: TransactionPerFile}},
		Location{Path: "./db/goose/", Layout: Goose},
		Location{Path: "db/gm", Layout: "migrate", Options: Options{MultiStatement: true}},
		Location{Path: "db/fw", Layout: Flyway, Options: Options{Mixed: true}},
		Location{Path: "db/missing", Layout: Goose},
		Location{Path: "db/sql", Layout: "liquibase"},
	)
	if got, want := folders(s), []string{"flyway db/fw", "golang-migrate db/gm", "goose db/goose", "plain db/sql"}; !reflect.DeepEqual(got, want) {
		t.Errorf("folders\n got  %q\n want %q", got, want)
	}
	if m := migration(t, s, "db/sql/001_a.sql"); m.Up.Tx != TxWrapped || !strings.Contains(m.Up.TxReason, "per-file") {
		t.Errorf("per-file %+v", m.Up)
	}
	requireProblem(t, migration(t, s, "db/goose/001_a.sql").Problems, 1, "SQL before -- +goose Up")
	if m := migration(t, s, "db/gm/1_a.up.sql"); m.Up.Tx != TxNone {
		t.Errorf("multi-statement %+v", m.Up)
	}
	if m := migration(t, s, "db/fw/V1__a.sql"); !m.Up.Mixed {
		t.Errorf("mixed %+v", m.Up)
	}
	requireProblem(t, s.Problems, 0, "configured migration folder does not exist")
	requireProblem(t, s.Problems, 0, `unknown migration layout "liquibase"`)
	for _, f := range s.Folders {
		if !f.Configured {
			t.Errorf("folder %s not marked configured", f.Path)
		}
	}
}

func TestConfiguredProjectRoots(t *testing.T) {
	fsys := mapFS(map[string]string{
		"web/prisma/migrations/migration_lock.toml":            "provider = \"postgresql\"",
		"web/prisma/migrations/20240101000000_a/migration.sql": "SELECT 1;",
		"api/drizzle/meta/_journal.json":                       `{"dialect":"postgresql","entries":[{"idx":0,"tag":"0000_a"}]}`,
		"api/drizzle/0000_a.sql":                               "SELECT 1;",
		"app/supabase/migrations/20240101000000_a.sql":         "SELECT 1;",
		"db/sqitch.plan":                                       "a 2024-01-01T00:00:00Z A <a@x>\n",
		"db/deploy/a.sql":                                      "SELECT 1;",
		"db/revert/a.sql":                                      "SELECT 1;",
	})
	s := discover(t, fsys,
		Location{Path: "web", Layout: Prisma},
		Location{Path: "api", Layout: Drizzle},
		Location{Path: "app", Layout: Supabase},
		Location{Path: "db", Layout: Sqitch},
	)
	requireOrder(t, s,
		"0000 api/drizzle/0000_a.sql",
		"20240101000000 app/supabase/migrations/20240101000000_a.sql",
		" db/deploy/a.sql",
		"20240101000000 web/prisma/migrations/20240101000000_a/migration.sql")
	requireNoProblems(t, s.AllProblems())
}

func TestBOMFileIsDetected(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"db/1_a.sql": "\xEF\xBB\xBF-- +goose Up\nCREATE TABLE a ();\n",
		"db/2_b.sql": "-- +goose Up\nCREATE TABLE b ();\n",
	}))
	if got := folders(s); !reflect.DeepEqual(got, []string{"goose db"}) {
		t.Fatalf("folders %q", got)
	}
	m := migration(t, s, "db/1_a.sql")
	if text(m.Content, m.Up) != "CREATE TABLE a ();\n" {
		t.Errorf("up %q", text(m.Content, m.Up))
	}
	requireProblem(t, m.Problems, 1, "byte order mark")
}

// countingFS records which files are opened.
type countingFS struct {
	fs.FS
	mu     sync.Mutex
	opened map[string]int
	fail   string
}

var errBroken = errors.New("backend unavailable")

func (c *countingFS) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.IsDir() {
		if name == c.fail {
			f.Close()
			return nil, errBroken
		}
		c.mu.Lock()
		c.opened[name]++
		c.mu.Unlock()
	}
	return f, nil
}

func TestReadsOnlyCandidatesOnce(t *testing.T) {
	for _, ahead := range []bool{false, true} {
		t.Run(fmt.Sprintf("ahead=%v", ahead), func(t *testing.T) { readsOnlyCandidatesOnce(t, ahead) })
	}
}

func readsOnlyCandidatesOnce(t *testing.T, ahead bool) {
	c := &countingFS{FS: os.DirFS("testdata/monorepo"), opened: map[string]int{}}
	var fsys fs.FS = c
	if ahead {
		fsys = concurrentFS{c}
	}
	s, err := Discover(fsys, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range c.opened {
		if n != 1 {
			t.Errorf("%s read %d times", name, n)
		}
		if strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".md") || strings.Contains(name, "node_modules") || strings.Contains(name, "testdata") {
			t.Errorf("read a file that cannot be a migration: %s", name)
		}
	}
	for _, m := range s.Migrations {
		if c.opened[m.Path] != 1 || len(m.Content) == 0 {
			t.Errorf("%s: opened %d times, content %d bytes", m.Path, c.opened[m.Path], len(m.Content))
		}
		if m.DownPath != "" && (c.opened[m.DownPath] != 1 || len(m.DownContent) == 0) {
			t.Errorf("%s: down opened %d times", m.DownPath, c.opened[m.DownPath])
		}
	}
}

func TestIOErrorsAreWrappedWithThePath(t *testing.T) {
	c := &countingFS{FS: os.DirFS("testdata/monorepo"), opened: map[string]int{}, fail: "services/billing/migrations/000001_invoices.down.sql"}
	_, err := Discover(c, nil)
	if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), c.fail) {
		t.Fatalf("err = %v", err)
	}
}

func TestEmptyAndUnclassifiable(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"README.md":        "hello",
		"schema/views.sql": "CREATE VIEW v AS SELECT 1;",
	}))
	if len(s.Migrations) != 0 || len(s.Folders) != 0 {
		t.Errorf("found %q in %q", order(s), folders(s))
	}
}

func TestIsMigrationPath(t *testing.T) {
	cases := []struct {
		path string
		locs []Location
		want bool
	}{
		{"db/migrations/1_a.up.sql", nil, true},
		{"db/migrations/1_a.sql", nil, true},
		{"src/main/resources/db/migration/V1.1__a.sql", nil, true},
		{"db/R__views.sql", nil, true},
		{"prisma/migrations/20240101000000_a/migration.sql", nil, true},
		{"deploy/users.sql", nil, true},
		{"revert/users.sql", nil, true},
		{"verify/users.sql", nil, false},
		{"schema.sql", nil, false},
		{"db/migrations/README.md", nil, false},
		{"node_modules/x/migrations/1_a.up.sql", nil, false},
		{"services/api/testdata/1_a.up.sql", nil, false},
		{".github/1_a.up.sql", nil, false},
		{"db/1_a.sql", []Location{{Path: "db", Layout: Goose}}, true},
		{"db/a.sql", []Location{{Path: "db", Layout: Goose}}, false},
		{"other/1_a.sql", []Location{{Path: "db", Layout: Goose}}, false},
		{"db/1_a.sql", []Location{{Path: "db", Layout: GolangMigrate}}, false},
		{"testdata/db/1_a.up.sql", []Location{{Path: "testdata/db"}}, true},
		{"db/deploy/x.sql", []Location{{Path: "db", Layout: Sqitch}}, true},
		{"db/verify/x.sql", []Location{{Path: "db", Layout: Sqitch}}, false},
		// golang-migrate runs any extension; the others only .sql.
		{"db/migrations/002_drop.up.SQL", nil, true},
		{"db/migrations/002_drop.up.txt", nil, true},
		{"db/migrations/002_drop.down.txt", nil, true},
		{"db/migrations/002_drop.up.sql.bak", nil, true},
		{"db/002_drop.up.txt", []Location{{Path: "db", Layout: GolangMigrate}}, true},
		{"db/002_drop.txt", []Location{{Path: "db", Layout: GolangMigrate}}, false},
		{"db/002_drop.up.txt", []Location{{Path: "db", Layout: Goose}}, false},
		{"db/002_drop.SQL", []Location{{Path: "db", Layout: Goose}}, false},
		{"db/002_drop.SQL", nil, false},
	}
	for _, c := range cases {
		if got := IsMigrationPath(c.path, c.locs); got != c.want {
			t.Errorf("IsMigrationPath(%q, %v) = %v", c.path, c.locs, got)
		}
	}
	for p, want := range map[string]bool{
		"sqitch.plan": true, "db/sqitch.conf": true, "drizzle/meta/_journal.json": true,
		"prisma/migrations/migration_lock.toml": true, "db/migration/V1__a.sql.conf": true,
		"db/migration/V1__a.sql": false, "_journal.json": false,
	} {
		if got := IsMetadataPath(p); got != want {
			t.Errorf("IsMetadataPath(%q) = %v", p, got)
		}
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"goose": Goose, "Golang-Migrate": GolangMigrate, "migrate": GolangMigrate, "": "", " flyway ": Flyway} {
		got, err := ParseKind(in)
		if err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseKind("liquibase"); err == nil {
		t.Errorf("liquibase accepted")
	}
	p := Problem{Path: "a.sql", Line: 3, Message: "m"}
	if fmt.Sprint(p) != "a.sql:3: m" {
		t.Errorf("Problem.String = %q", p.String())
	}
}

// TestDrizzleJournalListsNone: a journal left behind by another generator run
// (it lists none of the files present) still leaves a folder of migrations,
// judged in file-name order with a warning on each file and one for the folder.
func TestDrizzleJournalListsNone(t *testing.T) {
	for name, journal := range map[string]string{
		"empty":              `{"version":"7","dialect":"postgresql","entries":[]}`,
		"other":              `{"version":"7","dialect":"postgresql","entries":[{"idx":0,"version":"7","when":1,"tag":"0000_gone","breakpoints":true}]}`,
		"no pg dialect word": `{"version":"5","entries":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := discover(t, mapFS(map[string]string{
				"db/meta/_journal.json": journal,
				"db/0001_users.sql":     "CREATE TABLE users (id bigint);\n",
				"db/0000_init.sql":      "CREATE SCHEMA app;\n",
				"db/0001_users_fk.sql":  "ALTER TABLE users ADD COLUMN org bigint;\n",
			}))
			requireOrder(t, s, "0000 db/0000_init.sql", "0001 db/0001_users.sql", "0001 db/0001_users_fk.sql")
			requireProblem(t, s.Problems, 0, "the journal lists none of the 3 .sql files of db")
			for _, m := range s.Migrations {
				requireProblem(t, m.Problems, 0, "not in meta/_journal.json")
				if m.Kind != Drizzle || m.Up.Tx != TxWrapped {
					t.Errorf("%s: %s %s", m.Path, m.Kind, m.Up.Tx)
				}
			}
		})
	}
}

// TestSqitchDeployScriptNotInPlan: sqitch runs only what its plan names; a
// deploy script the plan does not name is said, not judged.
func TestSqitchDeployScriptNotInPlan(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"db/sqitch.plan":          "%project=p\n\nusers 2024-01-01T00:00:00Z A <a@example.com> # users\n",
		"db/deploy/users.sql":     "BEGIN; CREATE TABLE users (id bigint); COMMIT;\n",
		"db/revert/users.sql":     "BEGIN; DROP TABLE users; COMMIT;\n",
		"db/deploy/old/purge.sql": "DROP TABLE IF EXISTS legacy;\n",
		"db/deploy/forgotten.sql": "DROP TABLE users;\n",
		"db/deploy/notes.txt":     "not a script",
		"db/verify/users.sql":     "SELECT id FROM users WHERE false;\n",
		"db/verify/unplanned.sql": "SELECT 1;\n",
	}))
	requireOrder(t, s, " db/deploy/users.sql")
	var stray []string
	for _, p := range s.Problems {
		if strings.Contains(p.Message, "deploy script not named in db/sqitch.plan: sqitch never runs it") {
			stray = append(stray, p.Path)
		}
	}
	if want := []string{"db/deploy/forgotten.sql", "db/deploy/old/purge.sql"}; !reflect.DeepEqual(stray, want) {
		t.Errorf("stray deploy scripts %q, want %q (all problems: %v)", stray, want, s.Problems)
	}
}

// TestPlainSharedVersion: files of a plain folder that share a version are
// ordered by name without .sql (the base file before its -fks companion,
// which byte order would reverse), and each says which order was assumed.
func TestPlainSharedVersion(t *testing.T) {
	s := discover(t, mapFS(map[string]string{
		"sql/20220314-orders-fks.sql": "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id);",
		"sql/20220314-orders.sql":     "CREATE TABLE orders (id bigint, customer_id bigint);",
		"sql/20220301-customers.sql":  "CREATE TABLE customers (id bigint PRIMARY KEY);",
		"sql/20220401-notes.sql":      "ALTER TABLE orders ADD COLUMN note text;",
	}))
	requireOrder(t, s,
		"20220301 sql/20220301-customers.sql", "20220314 sql/20220314-orders.sql",
		"20220314 sql/20220314-orders-fks.sql", "20220401 sql/20220401-notes.sql")
	want := "assumes 20220314-orders.sql, then 20220314-orders-fks.sql"
	for p, follows := range map[string]bool{"sql/20220314-orders.sql": false, "sql/20220314-orders-fks.sql": true} {
		m := migration(t, s, p)
		requireProblem(t, m.Problems, 0, want)
		if m.FollowsSameVersion != follows {
			t.Errorf("%s: FollowsSameVersion %v, want %v", p, m.FollowsSameVersion, follows)
		}
	}
	// Negative: a version of its own says nothing and runs on its own.
	for _, p := range []string{"sql/20220301-customers.sql", "sql/20220401-notes.sql"} {
		if m := migration(t, s, p); len(m.Problems) > 0 || m.FollowsSameVersion {
			t.Errorf("%s: %v, follows %v", p, m.Problems, m.FollowsSameVersion)
		}
	}
	// Other layouts keep their own rules for shared versions.
	g := discover(t, mapFS(map[string]string{
		"db/migrations/00001_a.sql": "-- +goose Up\nSELECT 1;\n",
		"db/migrations/00001_b.sql": "-- +goose Up\nSELECT 2;\n",
	}))
	for _, m := range g.Migrations {
		if m.FollowsSameVersion {
			t.Errorf("goose %s follows", m.Path)
		}
		requireProblem(t, m.Problems, 0, "goose refuses duplicate versions")
	}
}

// TestSqitchProjectsInDependencyOrder: a sqitch project whose changes require
// another project's ([base:users]) is applied after it, whatever their
// paths; projects that require nothing of each other keep path order.
func TestSqitchProjectsInDependencyOrder(t *testing.T) {
	plan := func(project, body string) string {
		return "%syntax-version=1.0.0\n%project=" + project + "\n\n" + body
	}
	s := discover(t, mapFS(map[string]string{
		"schema/sqitch.plan":           plan("app", "accounts [base:users !legacy:x] 2024-01-02T00:00:00Z A <a@example.com> # accounts\n"),
		"schema/deploy/accounts.sql":   "ALTER TABLE users ADD COLUMN account bigint;\n",
		"schema/revert/accounts.sql":   "ALTER TABLE users DROP COLUMN account;\n",
		"schema/base/sqitch.plan":      plan("base", "users 2024-01-01T00:00:00Z A <a@example.com> # users\n"),
		"schema/base/deploy/users.sql": "CREATE TABLE users (id bigint);\n",
		"schema/base/revert/users.sql": "DROP TABLE users;\n",
		"other/sqitch.plan":            plan("other", "things 2024-01-01T00:00:00Z A <a@example.com> # things\n"),
		"other/deploy/things.sql":      "CREATE TABLE things (id bigint);\n",
		"other/revert/things.sql":      "DROP TABLE things;\n",
		"zeta/sqitch.plan":             plan("legacy", "x 2024-01-01T00:00:00Z A <a@example.com> # x\n"),
		"zeta/deploy/x.sql":            "CREATE TABLE x (id bigint);\n",
		"zeta/revert/x.sql":            "DROP TABLE x;\n",
	}))
	// base before app (app requires it); a conflict (!legacy:x) is no
	// requirement, so zeta stays last; other keeps its place by path.
	requireOrder(t, s, " other/deploy/things.sql", " schema/base/deploy/users.sql", " schema/deploy/accounts.sql", " zeta/deploy/x.sql")
}

func TestSqitchPlanProject(t *testing.T) {
	p, req := sqitchPlanProject([]byte("%project=app\n\na [b c:d !e:f app:g] 2024-01-01T00:00:00Z A <a@example.com>\n@v1 2024-01-01T00:00:00Z A <a@example.com>\nh [x:@v2] 2024-01-01T00:00:00Z A <a@example.com> # [not:me]\nk 2024-01-01T00:00:00Z A <a@example.com> # uses [q:r]\n"))
	if p != "app" || !reflect.DeepEqual(sortedKeys(req), []string{"c", "x"}) {
		t.Errorf("project %q requires %v", p, sortedKeys(req))
	}
}
