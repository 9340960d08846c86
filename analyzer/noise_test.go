package analyzer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// A type change that rewrites the table is one finding, carrying the
// rewrite's size and the danger of the lock.
func TestTypeChangeRewriteReportedOnce(t *testing.T) {
	rep := change{base: shopBase, changed: map[string]string{next: goose("SET lock_timeout = '2s';\nALTER TABLE reporting.daily ALTER COLUMN total TYPE numeric;")}}.analyze(t)
	if g := without(got(rep), ruleDownIncomplete.ID); len(g) != 1 || g[0] != "type-change-rewrite:danger@3" {
		t.Fatalf("findings %v, want one type-change-rewrite:danger@3", g)
	}
	f := findingOf(t, rep, ruleTypeRewrite.ID)
	if !strings.Contains(f.Message, "the size of reporting.daily is unknown") || !f.RequiresApproval {
		t.Errorf("the type finding lacks the rewrite's figures or approval: %+v", f)
	}
}

// missing-down is off, said once in the notes, for a project whose
// migrations at the base never have a down part; on while the base has
// one, or too few files to tell.
func TestMissingDownOffWhenTheProjectNeverWritesThem(t *testing.T) {
	upOnly := func(sql string) string { return "-- +goose Up\n" + sql + "\n" }
	tests := []struct {
		name     string
		base     map[string]string
		wantRule bool
	}{
		{"never", map[string]string{
			"db/migrations/00001_a.sql":  upOnly("CREATE TABLE a (id int);"),
			"db/migrations/00002_b.sql":  upOnly("CREATE TABLE b (id int);"),
			"db/migrations/00003_c.sql":  upOnly("CREATE TABLE c (id int);"),
			"db/migrations/00004_d.sql":  upOnly("CREATE TABLE d (id int);"),
			"db/migrations/00000_0.sql":  upOnly("SELECT 1;"),
			"db/migrations/00000_00.sql": upOnly("SELECT 2;"),
		}, false},
		{"one has a down part", map[string]string{
			"db/migrations/00001_a.sql": upOnly("CREATE TABLE a (id int);"),
			"db/migrations/00002_b.sql": upOnly("CREATE TABLE b (id int);"),
			"db/migrations/00003_c.sql": goose("CREATE TABLE c (id int);"),
			"db/migrations/00004_d.sql": upOnly("CREATE TABLE d (id int);"),
		}, true},
		{"too few to tell", map[string]string{
			"db/migrations/00001_a.sql": upOnly("CREATE TABLE a (id int);"),
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := change{base: tc.base, changed: map[string]string{"db/migrations/00009_e.sql": upOnly("ALTER TABLE a ADD COLUMN note text;")}}.analyze(t)
			has := false
			for _, l := range rep.AllFindings() {
				has = has || l.Finding.Rule == ruleMissingDown.ID
			}
			noted := strings.Contains(strings.Join(rep.Notes, "\n"), "missing-down is off")
			if has != tc.wantRule || noted == tc.wantRule {
				t.Errorf("missing-down reported %v, noted %v; want reported %v (notes %q)", has, noted, tc.wantRule, rep.Notes)
			}
		})
	}
}

// A drop that the same transaction creates again is one info finding; a
// table, a CASCADE, another schema or no transaction keep it reported.
func TestReplacedDropIsInfo(t *testing.T) {
	tests := []struct {
		name, file, rule string
		replaced         bool
	}{
		{"view", goose("DROP VIEW open_orders;\nCREATE VIEW open_orders AS SELECT id, customer_id, note FROM orders WHERE status = 'pending';"), ruleDropView.ID, true},
		{"index", goose("DROP INDEX orders_customer_id_idx;\nCREATE INDEX orders_customer_id_idx ON orders (customer_id, id);"), ruleDropIndex.ID, true},
		{"constraint made NOT VALID", goose("ALTER TABLE orders DROP CONSTRAINT orders_note_check;\nALTER TABLE orders ADD CONSTRAINT orders_note_check CHECK (length(note) < 1000) NOT VALID;"), ruleDropConstraint.ID, true},
		{"constraint that checks something else", goose("ALTER TABLE orders DROP CONSTRAINT orders_note_check;\nALTER TABLE orders ADD CONSTRAINT orders_note_check CHECK (true);"), ruleDropConstraint.ID, false},
		{"foreign key now ON DELETE CASCADE", goose("ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;\nALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE NOT VALID;"), ruleDropConstraint.ID, false},
		{"foreign key made deferrable", goose("ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;\nALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) DEFERRABLE NOT VALID;"), ruleDropConstraint.ID, true},
		{"unique index re-created without UNIQUE", goose("DROP INDEX orders_note_uniq;\nCREATE INDEX orders_note_uniq ON orders (note);"), ruleDropIndex.ID, false},
		{"unique index on more columns", goose("DROP INDEX orders_note_uniq;\nCREATE UNIQUE INDEX orders_note_uniq ON orders (note, id);"), ruleDropIndex.ID, false},
		{"unique index re-created the same", goose("DROP INDEX orders_note_uniq;\nCREATE UNIQUE INDEX orders_note_uniq ON orders (note);"), ruleDropIndex.ID, true},
		{"view with CASCADE", goose("DROP VIEW open_orders CASCADE;\nCREATE VIEW open_orders AS SELECT id FROM orders;"), ruleDropView.ID, false},
		{"view in another schema", goose("DROP VIEW open_orders;\nCREATE VIEW reporting.open_orders AS SELECT id FROM orders;"), ruleDropView.ID, false},
		{"table", goose("DROP TABLE reporting.daily;\nCREATE TABLE reporting.daily (day date PRIMARY KEY, total bigint);"), ruleDropTable.ID, false},
		{"no transaction", "-- +goose NO TRANSACTION\n" + goose("DROP VIEW open_orders;\nCREATE VIEW open_orders AS SELECT id FROM orders;"), ruleDropView.ID, false},
		{"created before, not after", goose("CREATE INDEX orders_note_idx2 ON orders (note);\nDROP INDEX orders_customer_id_idx;"), ruleDropIndex.ID, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := change{base: shopBase, changed: map[string]string{next: tc.file}}.analyze(t)
			f := findingOf(t, rep, tc.rule)
			replaced := strings.Contains(f.Message, "; replaced: line ")
			if replaced != tc.replaced || (f.Severity == Info) != tc.replaced || (tc.replaced && f.SafeAlternative != "") {
				t.Errorf("%s: severity %s, message %q; want replaced=%v", tc.rule, f.Severity, f.Message, tc.replaced)
			}
		})
	}
}

// Findings on a table that the same file drops later are folded into the
// drop; a statement's findings about work done under locks (a rewrite) and
// other tables' findings stay.
func TestFindingsFoldedIntoALaterDropTable(t *testing.T) {
	rep := change{base: shopBase, changed: map[string]string{next: goose(
		"SET lock_timeout = '2s';\nALTER TABLE reporting.daily RENAME COLUMN total TO amount;\nALTER TABLE reporting.daily ALTER COLUMN amount TYPE numeric;\nALTER TABLE orders DROP COLUMN note;\nDROP TABLE reporting.daily;")}}.analyze(t)
	g := without(got(rep), ruleDownIncomplete.ID)
	want := []string{"type-change-rewrite:danger@4", "drop-column:danger@5", "drop-table:danger@6"}
	for _, w := range want {
		if !strings.Contains(strings.Join(g, " "), w) {
			t.Errorf("findings %v lack %s", g, w)
		}
	}
	for _, f := range g {
		if strings.HasPrefix(f, "rename-column:") {
			t.Errorf("%s on a table dropped later is still reported: %v", f, g)
		}
	}
	f := findingOf(t, rep, ruleDropTable.ID)
	if !strings.Contains(f.Message, "this also settles 1 finding on it earlier in the file (rename-column on line 3)") {
		t.Errorf("drop message: %s", f.Message)
	}
}

// TestMissingDownOffWithoutBase: a folder checked on its own (no base) is
// the project's history: when none of its migrations has a down part,
// missing-down is off for all of them, said once; one down part anywhere
// turns it back on.
func TestMissingDownOffWithoutBase(t *testing.T) {
	upOnly := func(sql string) string { return "-- +goose Up\n" + sql + "\n" }
	for _, withDown := range []bool{false, true} {
		head := fstest.MapFS{}
		for i, table := range []string{"a", "b", "c", "d", "e"} {
			body := upOnly("CREATE TABLE " + table + " (id int);")
			if withDown && i == 2 {
				body = goose("CREATE TABLE " + table + " (id int);")
			}
			head[fmt.Sprintf("db/migrations/0000%d_%s.sql", i+1, table)] = &fstest.MapFile{Data: []byte(body)}
		}
		rep, err := Analyze(context.Background(), Request{Head: head, Config: DefaultConfig()})
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, l := range rep.AllFindings() {
			if l.Finding.Rule == ruleMissingDown.ID {
				missing++
			}
		}
		noted := strings.Contains(strings.Join(rep.Notes, "\n"), "missing-down is off")
		if withDown && (missing != 4 || noted) {
			t.Errorf("one file writes a down part: want missing-down on the 4 others and no note, got %d (notes %q)", missing, rep.Notes)
		}
		if !withDown && (missing != 0 || !noted) {
			t.Errorf("no file writes a down part: want missing-down off and said once, got %d (notes %q)", missing, rep.Notes)
		}
	}
}

// TestDropConstraintReplacedInTheSameStatement: a key dropped and added
// again by one ALTER TABLE is described as replaced, saying what the new
// key still rejects, and its safe way keeps the whole statement.
func TestDropConstraintReplacedInTheSameStatement(t *testing.T) {
	base := map[string]string{"db/migrations/00001_a.sql": goose("CREATE TABLE items (id bigint, project_id bigint, CONSTRAINT items_pkey PRIMARY KEY (id));")}
	for _, tc := range []struct{ stmt, want string }{
		{"ALTER TABLE items DROP CONSTRAINT items_pkey, ADD CONSTRAINT items_pkey PRIMARY KEY (id);", "adds PRIMARY KEY (id) in its place"},
		{"ALTER TABLE items DROP CONSTRAINT items_pkey, ADD CONSTRAINT items_pkey PRIMARY KEY (id, project_id);", "which rejects duplicates of (id, project_id) only, no longer of (id) alone"},
		{"ALTER TABLE items DROP CONSTRAINT items_pkey;", "stops rejecting duplicate (id)"},
	} {
		rep := change{base: base, changed: map[string]string{"db/migrations/00002_b.sql": goose(tc.stmt)}}.analyze(t)
		f := findingOf(t, rep, ruleDropConstraint.ID)
		if !strings.Contains(f.Message, tc.want) {
			t.Errorf("%s\nmessage %q, want it to say %q", tc.stmt, f.Message, tc.want)
		}
		if strings.Contains(tc.stmt, "ADD") && !strings.Contains(f.SafeAlternative, "ADD CONSTRAINT items_pkey PRIMARY KEY") {
			t.Errorf("%s\nthe safe way lost the key the statement adds:\n%s", tc.stmt, f.SafeAlternative)
		}
	}
}

// TestEnumSwapRenameIsInfo: renaming a type away and creating a new one
// under its name in the same transaction (the enum swap Prisma writes) keeps
// casts by that name working; renamed alone, it breaks them.
func TestEnumSwapRenameIsInfo(t *testing.T) {
	swap := `ALTER TYPE order_status RENAME TO order_status_old;
CREATE TYPE order_status AS ENUM ('pending', 'paid');
ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;
ALTER TABLE orders ALTER COLUMN status TYPE order_status USING status::text::order_status;
DROP TYPE order_status_old;`
	rep := change{base: shopBase, changed: map[string]string{next: goose(swap)}}.analyze(t)
	f := findingOf(t, rep, ruleRenameType.ID)
	if f.Severity != Info || !strings.Contains(f.Message, "replaced: line 3 creates a type under the old name") {
		t.Errorf("enum swap: %s %q", f.Severity, f.Message)
	}
	// Prisma's order: the new type is created under another name first and
	// renamed to the old name after the old one is renamed away.
	prisma := `CREATE TYPE order_status_new AS ENUM ('pending', 'paid');
ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;
ALTER TABLE orders ALTER COLUMN status TYPE order_status_new USING status::text::order_status_new;
ALTER TYPE order_status RENAME TO order_status_old;
ALTER TYPE order_status_new RENAME TO order_status;
DROP TYPE order_status_old;`
	rep = change{base: shopBase, changed: map[string]string{next: goose(prisma)}}.analyze(t)
	seen := 0
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleRenameType.ID && l.Statement.Start.Line == 5 {
			seen++
			if l.Finding.Severity != Info || !strings.Contains(l.Finding.Message, "replaced: line 6") {
				t.Errorf("prisma's enum swap: %s %q", l.Finding.Severity, l.Finding.Message)
			}
		}
	}
	if seen != 1 {
		t.Errorf("prisma's enum swap: %d rename-type findings on line 5, want 1: %v", seen, got(rep))
	}
	rep = change{base: shopBase, changed: map[string]string{next: goose("ALTER TYPE order_status RENAME TO order_state;")}}.analyze(t)
	if f := findingOf(t, rep, ruleRenameType.ID); f.Severity != Warning || strings.Contains(f.Message, "replaced") {
		t.Errorf("a plain rename: %s %q", f.Severity, f.Message)
	}
}
