package analyzer

import (
	"strings"
	"testing"
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
