package analyzer

import (
	"strings"
	"testing"
)

// TestExistingRowsFoldGroups: the existing-rows findings of one part are
// one finding, and columns changed the same way with the same outcome are
// said once, at most maxRowsListed of them by name; Objects keeps every
// column.
func TestExistingRowsFoldGroups(t *testing.T) {
	base := goose("CREATE TABLE a (id int PRIMARY KEY, d int DEFAULT 1);\nCREATE TABLE b (id int PRIMARY KEY, d int DEFAULT 1);")
	var up []string
	for i := 1; i <= 7; i++ {
		up = append(up, "ALTER TABLE a ADD COLUMN c"+string(rune('0'+i))+" text;")
	}
	up = append(up,
		"ALTER TABLE b ADD COLUMN c1 text, ADD COLUMN r int DEFAULT 1;",
		"ALTER TABLE a ALTER COLUMN d DROP DEFAULT;",
		"ALTER TABLE b ALTER COLUMN d DROP DEFAULT;",
		"ALTER TABLE a ADD COLUMN r int DEFAULT 2;")
	rep := change{base: map[string]string{"db/migrations/00001_init.sql": base},
		changed: map[string]string{next: goose("SET lock_timeout = '2s';\n" + strings.Join(up, "\n"))}}.analyze(t)
	var said []*Finding
	for _, l := range rep.AllFindings() {
		if l.Finding.Rule == ruleExistingRows.ID {
			said = append(said, l.Finding)
		}
	}
	if len(said) != 1 {
		t.Fatalf("%d existing-rows findings, want 1 for the part", len(said))
	}
	want := "ADD COLUMN without a default, for 8 columns (line 3: public.a.c1, line 4: public.a.c2, line 5: public.a.c3, line 6: public.a.c4, line 7: public.a.c5, " +
		"and 3 more (the finding's objects list them all)): the existing rows hold NULL in it; new rows get NULL too unless the INSERT gives a value; " +
		"line 10: ADD COLUMN public.b.r DEFAULT 1: the existing rows read 1 (evaluated once and stored in the catalog: nothing is rewritten); new rows get 1 too; " +
		"DROP DEFAULT, for 2 columns (line 11: public.a.d, line 12: public.b.d): rows inserted later that leave the column out get NULL; " +
		"the existing rows keep what they hold (a default stored when the column was added stays in them too); " +
		"line 13: ADD COLUMN public.a.r DEFAULT 2: the existing rows read 2 (evaluated once and stored in the catalog: nothing is rewritten); new rows get 2 too"
	if said[0].Message != want {
		t.Errorf("message\n%s\nwant\n%s", said[0].Message, want)
	}
	wantObjects := []string{"public.a.c1", "public.a.c2", "public.a.c3", "public.a.c4", "public.a.c5", "public.a.c6", "public.a.c7",
		"public.b.c1", "public.b.r", "public.a.d", "public.b.d", "public.a.r"}
	if strings.Join(said[0].Objects, " ") != strings.Join(wantObjects, " ") {
		t.Errorf("objects %q, want %q", said[0].Objects, wantObjects)
	}
}

// TestExistingRowsOneStatement: a statement alone says each column as
// before, and groups the columns it adds the same way.
func TestExistingRowsOneStatement(t *testing.T) {
	base := goose("CREATE TABLE a (id int PRIMARY KEY, d int DEFAULT 1);")
	for _, tc := range []struct{ sql, want string }{
		{"ALTER TABLE a ADD COLUMN x int DEFAULT 3, ALTER COLUMN d DROP DEFAULT;",
			"ADD COLUMN public.a.x DEFAULT 3: the existing rows read 3 (evaluated once and stored in the catalog: nothing is rewritten); new rows get 3 too; " +
				"and DROP DEFAULT on public.a.d: rows inserted later that leave the column out get NULL; the existing rows keep what they hold (a default stored when the column was added stays in them too)"},
		{"ALTER TABLE a ADD COLUMN x int, ADD COLUMN y text, ADD COLUMN z int DEFAULT 0;",
			"ADD COLUMN without a default, for 2 columns (public.a.x, public.a.y): the existing rows hold NULL in it; new rows get NULL too unless the INSERT gives a value; " +
				"and ADD COLUMN public.a.z DEFAULT 0: the existing rows read 0 (evaluated once and stored in the catalog: nothing is rewritten); new rows get 0 too"},
		{"ALTER TABLE u ADD COLUMN x int, ADD COLUMN y int;",
			"ADD COLUMN without a default, for 2 columns (u.x, u.y): the existing rows hold NULL in it; new rows get NULL too unless the INSERT gives a value" +
				unknownNote("u")},
	} {
		rep := change{base: map[string]string{"db/migrations/00001_init.sql": base},
			changed: map[string]string{next: goose("SET lock_timeout = '2s';\n" + tc.sql)}}.analyze(t)
		var said []string
		for _, l := range rep.AllFindings() {
			if l.Finding.Rule == ruleExistingRows.ID {
				said = append(said, l.Finding.Message)
			}
		}
		if len(said) != 1 || said[0] != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.sql, said, tc.want)
		}
	}
}
