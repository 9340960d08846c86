package rehearse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// runLayout lays out a base migration and two pending ones as a tool's
// folder, with the configuration that names it.
type runLayout struct {
	name string
	// oneTx: the tool runs the pending migrations of a run in one transaction.
	oneTx bool
	cfg   func(*analyzer.Config)
	files func(base string, changed []string) (baseFS, headFS fstest.MapFS, paths []string)
}

func drizzleFiles(base string, changed []string) (fstest.MapFS, fstest.MapFS, []string) {
	entry := func(i int, tag string) string {
		return fmt.Sprintf(`{"idx":%d,"version":"7","when":%d,"tag":%q,"breakpoints":true}`, i, 1700000000000+i, tag)
	}
	journal := func(es []string) []byte {
		return []byte(`{"version":"7","dialect":"postgresql","entries":[` + strings.Join(es, ",") + `]}`)
	}
	entries := []string{entry(0, "0000_init")}
	init := []byte(strings.ReplaceAll(base, ";\n", ";\n--> statement-breakpoint\n"))
	baseFS := fstest.MapFS{"drizzle/meta/_journal.json": {Data: journal(entries)}, "drizzle/0000_init.sql": {Data: init}}
	head := fstest.MapFS{"drizzle/0000_init.sql": {Data: init}}
	var paths []string
	for i, sql := range changed {
		tag := fmt.Sprintf("%04d_change", i+1)
		entries = append(entries, entry(i+1, tag))
		head["drizzle/"+tag+".sql"] = &fstest.MapFile{Data: []byte(sql)}
		paths = append(paths, "drizzle/"+tag+".sql")
	}
	head["drizzle/meta/_journal.json"] = &fstest.MapFile{Data: journal(entries)}
	return baseFS, head, paths
}

func gooseFiles(base string, changed []string) (fstest.MapFS, fstest.MapFS, []string) {
	init := []byte(goose(base, ""))
	baseFS := fstest.MapFS{"db/migrations/00001_init.sql": {Data: init}}
	head := fstest.MapFS{"db/migrations/00001_init.sql": {Data: init}}
	var paths []string
	for i, sql := range changed {
		p := fmt.Sprintf("db/migrations/%05d_change.sql", i+2)
		head[p] = &fstest.MapFile{Data: []byte(goose(sql, ""))}
		paths = append(paths, p)
	}
	return baseFS, head, paths
}

func flywayFiles(base string, changed []string) (fstest.MapFS, fstest.MapFS, []string) {
	init := []byte(base)
	baseFS := fstest.MapFS{"db/migration/V1__init.sql": {Data: init}}
	head := fstest.MapFS{"db/migration/V1__init.sql": {Data: init}}
	var paths []string
	for i, sql := range changed {
		p := fmt.Sprintf("db/migration/V%d__change.sql", i+2)
		head[p] = &fstest.MapFile{Data: []byte(sql)}
		paths = append(paths, p)
	}
	return baseFS, head, paths
}

func flyway(group bool) func(*analyzer.Config) {
	return func(c *analyzer.Config) {
		c.Migrations = []layout.Location{{Path: "db/migration", Layout: layout.Flyway, Options: layout.Options{Group: group}}}
	}
}

var runLayouts = []runLayout{
	{name: "drizzle", oneTx: true, files: drizzleFiles},
	{name: "goose", files: gooseFiles},
	{name: "flyway group=true", oneTx: true, files: flywayFiles, cfg: flyway(true)},
	{name: "flyway", files: flywayFiles, cfg: flyway(false)},
}

// rehearseRun analyzes and rehearses a change of several pending
// migrations; the results come back in the order of changed.
func rehearseRun(t *testing.T, srv *Server, l runLayout, base string, changed ...string) (*analyzer.Report, *Result, []int) {
	t.Helper()
	ctx := context.Background()
	baseFS, head, paths := l.files(base, changed)
	req := analyzer.Request{Base: baseFS, Head: head, Changed: paths, Config: analyzer.DefaultConfig()}
	req.Config.PostgresVersion = 15
	if l.cfg != nil {
		l.cfg(&req.Config)
	}
	rep, err := analyzer.Analyze(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Rehearse(ctx, srv, req, rep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != len(paths) || len(res.Files) != len(paths) {
		t.Fatalf("want %d files judged and rehearsed, got %d and %d", len(paths), len(rep.Files), len(res.Files))
	}
	at := make([]int, len(paths))
	for i, p := range paths {
		at[i] = -1
		for j := range rep.Files {
			if rep.Files[j].Path == p && res.Files[j].Path == p {
				at[i] = j
			}
		}
		if at[i] < 0 {
			t.Fatalf("%s is missing from the report or the rehearsal", p)
		}
	}
	// The analyzer and the rehearsal agree on the run's transaction.
	tx0, tx1 := rep.Files[at[0]].RunTransaction, rep.Files[at[len(at)-1]].RunTransaction
	if l.oneTx != (tx0 != "" && tx0 == tx1) {
		t.Fatalf("%s: run transactions %q and %q", l.name, tx0, tx1)
	}
	return rep, res, at
}

const enumBase = "CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE m (id int PRIMARY KEY, x mood);\n"

// A value one pending migration adds to an enum cannot be used by the next
// when the tool runs both in one transaction: PostgreSQL refuses it, and the
// rehearsal must say so on the second file rather than "applies fine".
func TestRunTransactionEnumValue(t *testing.T) {
	srv := scratchServer(t)
	for _, l := range runLayouts {
		t.Run(l.name, func(t *testing.T) {
			rep, res, at := rehearseRun(t, srv, l, enumBase, "ALTER TYPE mood ADD VALUE 'sad';\n", "INSERT INTO m VALUES (2, 'sad');\n")
			first, second := &res.Files[at[0]], &res.Files[at[1]]
			if first.Failed != nil || first.NotRehearsed != "" {
				t.Errorf("the first file applies on its own: %+v %q", first.Failed, first.NotRehearsed)
			}
			if len(first.Statements) != 1 || first.Statements[0].Error != nil || first.Statements[0].Phase != "up" {
				t.Errorf("the first file's statement: %+v", first.Statements)
			}
			fails := findingsOf(&rep.Files[at[1]], "fails-at-deploy")
			if !l.oneTx {
				if second.Failed != nil || second.NotRehearsed != "" || first.RolledBack != "" || len(fails) > 0 || first.Run != nil {
					t.Errorf("in separate transactions both files apply: %+v %q %q %+v", second.Failed, second.NotRehearsed, first.RolledBack, fails)
				}
				return
			}
			if second.Failed == nil || second.Failed.SQLState != "55P04" || second.Failed.Kind != "fails" || second.Failed.Path != rep.Files[at[1]].Path {
				t.Fatalf("the second file must fail at deploy with unsafe use of new value: %+v", second.Failed)
			}
			if len(fails) != 1 || !strings.Contains(fails[0].Message, `unsafe use of new value "sad"`) ||
				!strings.Contains(fails[0].Message, rep.Files[at[0]].Path) || !strings.Contains(fails[0].Message, "the whole run rolls back") {
				t.Errorf("fails-at-deploy on the second file: %+v", fails)
			}
			// The finding sits on the statement PostgreSQL refused.
			st := rep.Files[at[1]].Statements[second.Statements[0].Index]
			if len(findingsOf(&analyzer.File{Statements: []analyzer.Statement{st}}, "fails-at-deploy")) != 1 {
				t.Errorf("the finding is not on the INSERT: %+v", st.Findings)
			}
			if len(findingsOf(&rep.Files[at[0]], "fails-at-deploy")) != 0 {
				t.Errorf("the first file's statement did not fail: %+v", rep.Files[at[0]].Findings)
			}
			if !strings.Contains(first.RolledBack, rep.Files[at[1]].Path) || !strings.Contains(first.RolledBack, "does not stay applied") {
				t.Errorf("the first file must say it rolled back with the run: %q", first.RolledBack)
			}
			if second.RolledBack != "" {
				t.Errorf("the failing file is not told it rolled back: %q", second.RolledBack)
			}
			noted := false
			for _, n := range rep.Notes {
				noted = noted || (strings.Contains(n, rep.Files[at[0]].Path+" ran without error") && strings.Contains(n, "rolls back"))
			}
			if !noted {
				t.Errorf("no note on the rolled back file: %q", rep.Notes)
			}
			if !rep.RequiresApproval() {
				t.Error("a run that fails at deploy needs approval")
			}
		})
	}
}

// A lock one pending migration takes is held while the next one runs when
// the tool runs them in one transaction: the rehearsal reads it in pg_locks
// during the second file, attributed to the first file's statement.
func TestRunTransactionLockHeldAcrossFiles(t *testing.T) {
	srv := scratchServer(t)
	for _, l := range runLayouts {
		t.Run(l.name, func(t *testing.T) {
			rep, res, at := rehearseRun(t, srv, l, enumBase, "ALTER TABLE m ADD COLUMN note text;\n", "UPDATE m SET note = 'x';\n")
			first, second := &res.Files[at[0]], &res.Files[at[1]]
			if first.Failed != nil || second.Failed != nil || first.NotRehearsed != "" || second.NotRehearsed != "" || first.RolledBack != "" {
				t.Fatalf("both apply: %+v %+v %q %q %q", first.Failed, second.Failed, first.NotRehearsed, second.NotRehearsed, first.RolledBack)
			}
			ae := Lock{Relation: "public.m", Kind: "table", Mode: "ACCESS EXCLUSIVE"}
			re := Lock{Relation: "public.m", Kind: "table", Mode: "ROW EXCLUSIVE"}
			if !hasLock(first.Statements[0].Locks, ae) {
				t.Errorf("the first file takes ACCESS EXCLUSIVE: %+v", first.Statements[0].Locks)
			}
			up := second.Statements[0]
			if up.Phase != "up" || !hasLock(up.Locks, re) || !up.InTransaction {
				t.Errorf("the second file's UPDATE takes ROW EXCLUSIVE: %+v", up)
			}
			if hasLock(up.Locks, ae) {
				t.Errorf("ACCESS EXCLUSIVE is the first file's lock, not new in the second: %+v", up.Locks)
			}
			if hasLock(up.Held, ae) != l.oneTx {
				t.Errorf("one transaction=%v, but ACCESS EXCLUSIVE held during the second file: %v (%+v)", l.oneTx, hasLock(up.Held, ae), up.Held)
			}
			wantRun := []string(nil)
			if l.oneTx {
				wantRun = []string{rep.Files[at[0]].Path, rep.Files[at[1]].Path}
			}
			if fmt.Sprint(first.Run) != fmt.Sprint(wantRun) || fmt.Sprint(second.Run) != fmt.Sprint(wantRun) {
				t.Errorf("run %v and %v, want %v", first.Run, second.Run, wantRun)
			}
			for _, i := range at {
				if got := findingsOf(&rep.Files[i], "rehearsal-contradicts-model"); len(got) > 0 {
					t.Errorf("%s: the analyzer's model of the run was contradicted: %+v", rep.Files[i].Path, got)
				}
			}
		})
	}
}

func hasLock(ls []Lock, want Lock) bool {
	for _, l := range ls {
		if l == want {
			return true
		}
	}
	return false
}

// units groups only consecutive changes of one run transaction.
func TestUnits(t *testing.T) {
	cs := []Change{{RunTx: "run:a"}, {RunTx: "run:a"}, {}, {RunTx: "run:a"}, {RunTx: "run:b"}, {RunTx: "run:b"}, {}, {}}
	var got []string
	for _, u := range units(cs) {
		got = append(got, fmt.Sprintf("%d-%d%s", u.from, u.to, u.runTx))
	}
	sort.Strings(got)
	want := []string{"0-2run:a", "2-3", "3-4run:a", "4-6run:b", "6-7", "7-8"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("units %v, want %v", got, want)
	}
}

// Flyway with group=true and undo scripts: each undo runs on its own, newest
// first, and the up parts run again in one transaction, as at first.
func TestRunTransactionUndoAndAgain(t *testing.T) {
	srv := scratchServer(t)
	ctx := context.Background()
	init := []byte(enumBase)
	base := fstest.MapFS{"db/migration/V1__init.sql": {Data: init}}
	head := fstest.MapFS{"db/migration/V1__init.sql": {Data: init},
		"db/migration/V2__a.sql": {Data: []byte("ALTER TABLE m ADD COLUMN a text;\n")},
		"db/migration/U2__a.sql": {Data: []byte("ALTER TABLE m DROP COLUMN a;\n")},
		"db/migration/V3__b.sql": {Data: []byte("UPDATE m SET x = 'ok';\nALTER TABLE m ADD COLUMN b text;\n")},
		"db/migration/U3__b.sql": {Data: []byte("ALTER TABLE m DROP COLUMN b;\n")},
	}
	req := analyzer.Request{Base: base, Head: head, Config: analyzer.DefaultConfig(),
		Changed: []string{"db/migration/U2__a.sql", "db/migration/U3__b.sql", "db/migration/V2__a.sql", "db/migration/V3__b.sql"}}
	req.Config.PostgresVersion = 15
	flyway(true)(&req.Config)
	rep, err := analyzer.Analyze(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Rehearse(ctx, srv, req, rep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0].Path != "db/migration/V2__a.sql" || res.Files[1].Path != "db/migration/V3__b.sql" {
		t.Fatalf("files %+v", res.Files)
	}
	if rep.Files[0].RunTransaction == "" || rep.Files[0].RunTransaction != rep.Files[1].RunTransaction {
		t.Fatalf("one run transaction: %q %q", rep.Files[0].RunTransaction, rep.Files[1].RunTransaction)
	}
	ae := Lock{Relation: "public.m", Kind: "table", Mode: "ACCESS EXCLUSIVE"}
	for _, fr := range res.Files {
		if fr.Failed != nil || fr.NotRehearsed != "" || !fr.DownRan || len(fr.DownDifferences) > 0 || !fr.AgainRan || fr.AgainFailed != nil {
			t.Errorf("%s: %+v", fr.Path, fr)
		}
	}
	// V3's UPDATE holds V2's lock both times the run applies (held, not
	// new); V3's undo runs in a transaction of its own, where the lock its
	// DROP COLUMN takes is new.
	var phases []string
	for _, sr := range res.Files[1].Statements {
		if sr.Line == 1 || sr.Phase == "down" {
			phases = append(phases, fmt.Sprintf("%s:held=%v,new=%v", sr.Phase, hasLock(sr.Held, ae), hasLock(sr.Locks, ae)))
		}
	}
	if want := "[up:held=true,new=false down:held=true,new=true up-again:held=true,new=false]"; fmt.Sprint(phases) != want {
		t.Errorf("V3 held V2's ACCESS EXCLUSIVE: %v, want %s", phases, want)
	}
}
