package analyzer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// fixtureFinding is a finding of a fixture, with what it was made from.
type fixtureFinding struct {
	source string // which fixture
	stmt   string // the statement's SQL; "" for a file finding
	stats  bool   // analyzed with the statistics file
	// objects are those the statement names, for a finding that lists none
	// of its own.
	objects []string
	f       Finding
}

// fixtureFindings analyzes the fixtures the tests and goldens are made of:
// every rule's example against the small shop schema (with and without a
// statistics file), every safe-way case against its schema, and the bundled
// example of the checklist's goldens.
func fixtureFindings(t *testing.T) []fixtureFinding {
	t.Helper()
	var out []fixtureFinding
	collect := func(source string, rep *Report, stats bool) {
		for _, l := range rep.AllFindings() {
			ff := fixtureFinding{source: source, stats: stats, f: *l.Finding}
			if l.Statement != nil {
				ff.stmt = l.Statement.SQL
				ff.objects = l.Statement.Objects
				for _, lk := range l.Statement.Locks {
					// A lock finding is about the relation it locks.
					ff.objects = append(ff.objects, lk.Relation)
				}
			}
			out = append(out, ff)
		}
	}
	stats := shopStats(t, nil)
	for _, r := range Rules() {
		ch := change{base: shopBase, changed: map[string]string{next: goose(r.Example)}}
		collect("example of "+r.ID, ch.analyze(t), false)
		collect("example of "+r.ID, ch.analyzeWithStats(t, stats), true)
	}
	for _, tc := range safeCases() {
		ch := change{base: map[string]string{"db/migrations/00001_init.sql": goose(safeSchema)},
			changed: map[string]string{next: goose(tc.before + "\n" + tc.stmt)}}
		collect("safe-way case "+tc.name, ch.analyze(t), false)
	}
	dir := filepath.Join("..", "examples", "shop", "db", "migrations")
	set, err := layout.Discover(os.DirFS(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(context.Background(), Request{Migrations: set.Migrations, Config: DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	collect("examples/shop", rep, false)
	return out
}

// contextPrefixes say where a finding's statement runs; the sentence about
// the object follows them.
var contextPrefixes = []string{"(down migration) ", "In the DO block at line ", "Calls ", "Passed as SQL text to ", "In ", "Trigger "}

// firstClause is the part of a message before its first "; " or ". ", after
// the prefixes that say where the statement runs (each ends with ": ").
func firstClause(msg string) string {
	for changed := true; changed; {
		changed = false
		for _, p := range contextPrefixes {
			if strings.HasPrefix(msg, p) {
				if i := strings.Index(msg, ": "); i >= 0 {
					msg, changed = msg[i+2:], true
				}
			}
		}
	}
	if i := strings.Index(msg, "; "); i >= 0 {
		msg = msg[:i]
	}
	// A sentence ends at ". ", not at the ellipsis of "ALTER TYPE ... ADD".
	for i := 1; i+1 < len(msg); i++ {
		if msg[i] == '.' && msg[i+1] == ' ' && msg[i-1] != '.' {
			return msg[:i]
		}
	}
	return msg
}

// spellings are the ways a finding's object may be written in a message:
// as listed, and its last part ("public.orders.note": "note"), with and
// without quotes.
func spellings(obj string) []string {
	names := []string{obj}
	if i := strings.LastIndexByte(obj, ' '); i >= 0 {
		names = append(names, obj[i+1:]) // "function public.f" / "constraint c on t"
	}
	if strings.HasPrefix(obj, "constraint ") {
		names = append(names, strings.Fields(obj)[1])
	}
	for _, n := range append([]string(nil), names...) {
		if i := strings.LastIndexByte(n, '.'); i >= 0 && i+1 < len(n) {
			names = append(names, n[i+1:])
		}
	}
	for _, n := range append([]string(nil), names...) {
		names = append(names, unquote(n))
	}
	return names
}

// indexNames are the indexes a statement names as indexes.
func indexNames(sql string) []string {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil
	}
	var out []string
	for _, rs := range tree.GetStmts() {
		n := rs.GetStmt()
		switch {
		case n.GetIndexStmt() != nil && n.GetIndexStmt().GetIdxname() != "":
			out = append(out, n.GetIndexStmt().GetIdxname())
		case n.GetDropStmt() != nil && n.GetDropStmt().GetRemoveType() == pg_query.ObjectType_OBJECT_INDEX:
			for _, o := range n.GetDropStmt().GetObjects() {
				if names := objectNames(o); len(names) > 0 {
					out = append(out, names[len(names)-1])
				}
			}
		case n.GetReindexStmt() != nil && n.GetReindexStmt().GetKind() == pg_query.ReindexObjectType_REINDEX_OBJECT_INDEX:
			out = append(out, n.GetReindexStmt().GetRelation().GetRelname())
		case n.GetAlterTableStmt() != nil && n.GetAlterTableStmt().GetObjtype() == pg_query.ObjectType_OBJECT_INDEX:
			out = append(out, n.GetAlterTableStmt().GetRelation().GetRelname())
		case n.GetRenameStmt() != nil && n.GetRenameStmt().GetRenameType() == pg_query.ObjectType_OBJECT_INDEX:
			out = append(out, n.GetRenameStmt().GetRelation().GetRelname(), n.GetRenameStmt().GetNewname())
		}
	}
	return out
}

// absolutePath finds a word of the message that is an absolute file path.
func absolutePath(msg string) string {
	for _, w := range strings.Fields(msg) {
		w = strings.Trim(w, "(),;:'\"`")
		if strings.HasPrefix(w, "/") && strings.Count(w, "/") >= 2 && !strings.Contains(w, "*") {
			return w
		}
	}
	return ""
}

// aboutTheText are rules whose findings are about the migration's text or
// its transaction, not about an object: a syntax error, a suppression
// comment, statements committed one by one.
var aboutTheText = map[string]bool{
	"syntax-error": true, "grammar-not-understood": true, "suppression-without-reason": true, "unused-suppression": true,
	"psql-meta-command": true, "psql-variable": true, "statements-without-transaction": true, "commit-in-wrapped-transaction": true,
	"nested-begin": true, "begin-without-commit": true, "missing-down": true, "down-incomplete": true, "migration-layout": true,
	"edited-migration": true, "unreadable-file": true,
	// What it destroys (a large object, a file, a slot's changes) is no
	// object of the catalog: the message names the call.
	"destructive-function": true,
}

// contradictions are pairs of statements that cannot both hold of one
// finding.
var contradictions = [][2]string{
	{"created earlier in this change", "not created by any migration"},
	{"blocks writes, not reads", "blocks every read and write"},
	{"is unknown (no statistics file", "rows;"},
	{"no data is lost", "loses"},
}

// TestFindingMessages checks every finding of the fixtures the way a
// reviewer reads it: the first sentence names the object and what happens
// to it, no message prints an absolute path, calls an index a table, or
// says two things that cannot both be true, and with statistics the size
// of what is lost is said.
func TestFindingMessages(t *testing.T) {
	all := fixtureFindings(t)
	if len(all) < 200 {
		t.Fatalf("only %d findings in the fixtures: the fixtures were not read", len(all))
	}
	rulesSeen := map[string]bool{}
	noObject := map[string]int{}
	for _, ff := range all {
		f := ff.f
		rulesSeen[f.Rule] = true
		where := fmt.Sprintf("%s (%s, stats %v): %s: %q", ff.source, ff.stmt, ff.stats, f.Rule, f.Message)
		if strings.TrimSpace(f.Message) == "" {
			t.Errorf("%s: empty message", where)
			continue
		}
		if p := absolutePath(f.Message); p != "" && !strings.Contains(ff.stmt, p) {
			// A path the statement itself names (COPY ... FROM '/data/x.csv') is
			// the statement's; any other is the machine's that checked it.
			t.Errorf("%s: prints the absolute path %s", where, p)
		}
		objects := f.Objects
		if aboutTheText[f.Rule] {
			objects = nil
		} else if len(objects) == 0 {
			noObject[f.Rule]++
			objects = ff.objects
		}
		if len(objects) > 0 {
			first := firstClause(f.Message)
			named := false
			for _, o := range objects {
				for _, n := range spellings(o) {
					if n != "" && strings.Contains(first, n) {
						named = true
					}
				}
			}
			if !named {
				t.Errorf("%s: the first sentence %q names none of %v", where, first, objects)
			}
		}
		for _, idx := range indexNames(ff.stmt) {
			for _, q := range []string{idx, quoteIdent(idx)} {
				for _, bad := range []string{"table " + q, "tables " + q, q + " table", "size of " + q, "rewrites " + q, "scans all of " + q, "rows of " + q,
					"table public." + q, "size of public." + q, "rewrites public." + q, "scans all of public." + q, "rows of public." + q} {
					if strings.Contains(f.Message, bad) {
						t.Errorf("%s: calls the index %s a table (%q)", where, idx, bad)
					}
				}
			}
		}
		for _, c := range contradictions {
			if strings.Contains(f.Message, c[0]) && strings.Contains(f.Message, c[1]) {
				t.Errorf("%s: says both %q and %q", where, c[0], c[1])
			}
		}
		if strings.Contains(f.Message, newNote) && f.Severity == Danger {
			t.Errorf("%s: says the object is new and empty, yet is a danger", where)
		}
		if r, _ := RuleByID(f.Rule); strings.Contains(f.Message, newNote) && !r.MilderWhenNew() {
			t.Errorf("%s: says the object is new, but the page of %s does not say such findings are milder (milderWhenNew)", where, f.Rule)
		}
	}
	t.Logf("findings without objects: %v", noObject)
	// Every rule with an example that makes a finding was seen: the
	// fixtures cover the rules.
	for _, r := range Rules() {
		if !rulesSeen[r.ID] && !fileOnlyRule(r.ID) {
			t.Logf("no fixture finding of %s", r.ID)
		}
	}
}

// fileOnlyRule are rules whose findings need more than one statement's
// example (a layout, an edited file, a rehearsal).
func fileOnlyRule(id string) bool {
	switch id {
	case "migration-layout", "edited-migration", "unreadable-file", "fails-at-deploy", "down-does-not-restore", "not-rehearsed",
		"rehearsal-contradicts-model", "guard-settings-changed":
		return true
	}
	return false
}

// TestStatsSayWhatIsLost: with a statistics file, a finding that destroys
// or rewrites the rows of a table the file knows says how many.
func TestStatsSayWhatIsLost(t *testing.T) {
	stats := shopStats(t, nil)
	for _, tc := range []struct{ rule, sql, want string }{
		{"drop-table", "DROP TABLE orders;", "~200.0M rows"},
		{"drop-column", "ALTER TABLE orders DROP COLUMN note;", "~200.0M rows"},
		{"truncate", "TRUNCATE orders;", "~200.0M rows"},
		{"delete-without-where", "DELETE FROM orders;", "~200.0M rows"},
		{"update-without-where", "UPDATE orders SET note = 'x';", "~200.0M rows"},
		{"delete-rows", "DELETE FROM orders WHERE id > 0;", "~200.0M rows"},
		{"update-rows", "UPDATE orders SET note = 'x' WHERE id > 0;", "~200.0M rows"},
		{"update-rows", "INSERT INTO orders (id, customer_id, note) OVERRIDING SYSTEM VALUE SELECT id, customer_id, note FROM orders ON CONFLICT (id) DO UPDATE SET note = excluded.note || 'x';", "~200.0M rows"},
		{"drop-table", "DROP TABLE customers CASCADE;", "~1.0k rows"},
	} {
		rep := change{base: shopBase, changed: map[string]string{next: goose(tc.sql)}}.analyzeWithStats(t, stats)
		f := findingOf(t, rep, tc.rule)
		if !strings.Contains(firstClause(f.Message), tc.want) {
			t.Errorf("%s: %q does not say %s in its first sentence", tc.sql, f.Message, tc.want)
		}
	}
}

// TestPrismaIndexAdvice: the safe way of an index built in a Prisma
// migration says to take the migration's own CREATE INDEX out and build it
// concurrently in a migration of its own (alone in its migration.sql, which
// prisma migrate runs outside a transaction), keeping its name.
func TestPrismaIndexAdvice(t *testing.T) {
	base := map[string]string{
		"prisma/migrations/migration_lock.toml":               "provider = \"postgresql\"\n",
		"prisma/migrations/20240101000000_init/migration.sql": "CREATE TABLE \"Order\" (id bigint PRIMARY KEY, note text, code text);\n",
	}
	changed := map[string]string{
		"prisma/migrations/20240201000000_idx/migration.sql": "ALTER TABLE \"Order\" ADD COLUMN extra text;\nCREATE INDEX \"Order_note_idx\" ON \"Order\"(\"note\");\nCREATE UNIQUE INDEX \"Order_code_key\" ON \"Order\"(\"code\");\n",
	}
	rep := change{base: base, changed: changed}.analyze(t)
	for _, rule := range []string{"blocking-index-build", "create-unique-index"} {
		f := findingOf(t, rep, rule)
		for _, want := range []string{"-- Remove this CREATE INDEX from the migration.sql", "holds only the CREATE INDEX CONCURRENTLY", "Keep the index's name", "CREATE"} {
			if !strings.Contains(f.SafeAlternative, want) {
				t.Errorf("%s: safe way %q does not say %q", rule, f.SafeAlternative, want)
			}
		}
		if strings.Contains(f.SafeAlternative, "runs every migration in a transaction") {
			t.Errorf("%s: safe way %q says prisma wraps a migration in a transaction", rule, f.SafeAlternative)
		}
	}
	// Another tool: the same removal is said.
	rep = change{base: shopBase, changed: map[string]string{next: goose("CREATE INDEX orders_note_idx ON orders (note);")}}.analyze(t)
	if f := findingOf(t, rep, "blocking-index-build"); !strings.HasPrefix(f.SafeAlternative, "-- Remove this CREATE INDEX from this migration") {
		t.Errorf("goose: safe way %q does not start by removing the CREATE INDEX", f.SafeAlternative)
	}
}

// TestDropSequenceByItsUsers: dropping a sequence is a danger while a column
// default uses it (or nothing is known of it); one no default uses any more
// loses no row's value.
func TestDropSequenceByItsUsers(t *testing.T) {
	base := map[string]string{"db/migrations/00001_init.sql": goose("CREATE TABLE folders (id serial PRIMARY KEY, name text);\nCREATE SEQUENCE spare_seq;")}
	for _, tc := range []struct{ name, sql, want, says string }{
		{"a default uses it", "DROP SEQUENCE folders_id_seq;", "drop-sequence:danger@2", "it fails"},
		{"a default uses it, CASCADE", "DROP SEQUENCE folders_id_seq CASCADE;", "drop-sequence:danger@2", "CASCADE also drops"},
		{"its default dropped just before", "ALTER TABLE folders ALTER COLUMN id DROP DEFAULT, ALTER COLUMN id SET DATA TYPE text;\nDROP SEQUENCE folders_id_seq;", "drop-sequence:warning@3", "no column default"},
		{"no default ever used it", "DROP SEQUENCE spare_seq;", "drop-sequence:warning@2", "no column default"},
		{"unknown", "DROP SEQUENCE elsewhere_seq;", "drop-sequence:danger@2", "not created by any migration"},
		{"created in this change", "CREATE SEQUENCE tmp_seq;\nDROP SEQUENCE tmp_seq;", "drop-sequence:info@3", "created earlier in this change"},
	} {
		rep := change{base: base, changed: map[string]string{next: goose(tc.sql)}}.analyze(t)
		var found []string
		for _, g := range got(rep) {
			if strings.HasPrefix(g, "drop-sequence:") {
				found = append(found, g)
			}
		}
		if strings.Join(found, " ") != tc.want {
			t.Errorf("%s: got %v, want %s", tc.name, found, tc.want)
			continue
		}
		if f := findingOf(t, rep, "drop-sequence"); !strings.Contains(f.Message, tc.says) {
			t.Errorf("%s: %q does not say %q", tc.name, f.Message, tc.says)
		}
	}
}
