package analyzer

import (
	"strings"
	"testing"
)

// The parser reads PostgreSQL 16's grammar. A statement it cannot read on a
// newer target is "not understood", never "PostgreSQL rejects it", and it
// still needs a person.
func TestGrammarOfNewerVersions(t *testing.T) {
	if g := GrammarMajor(); g != 16 {
		t.Fatalf("the linked parser reads PostgreSQL %d's grammar; these cases are written for 16", g)
	}
	pg16, pg17 := DefaultConfig(), DefaultConfig()
	pg16.PostgresVersion, pg17.PostgresVersion = 16, 17
	base := map[string]string{"db/migrations/00001_init.sql": goose(`CREATE TABLE items (id bigint PRIMARY KEY, price int, qty int, total int GENERATED ALWAYS AS (price * qty) STORED, doc jsonb);`)}
	pg17Only := []string{
		"ALTER TABLE items ALTER COLUMN total SET EXPRESSION AS (price * qty * 2);",
		"MERGE INTO items i USING (SELECT 1 AS id) s ON i.id = s.id WHEN MATCHED THEN UPDATE SET price = 1 RETURNING merge_action(), i.id;",
		"INSERT INTO items (id) SELECT jt.id FROM items, JSON_TABLE(doc, '$.ids[*]' COLUMNS (id int PATH '$')) AS jt;",
	}
	for _, sql := range pg17Only {
		t.Run(sql, func(t *testing.T) {
			rep := change{base: base, cfg: &pg17, changed: map[string]string{next: goose("SET lock_timeout = '2s';\n" + sql)}}.analyze(t)
			if g := got(rep); strings.Join(g, " ") != "grammar-not-understood:danger@3" {
				t.Fatalf("PostgreSQL 17: got %v", g)
			}
			f := findingOf(t, rep, "grammar-not-understood")
			if !f.RequiresApproval || !strings.Contains(f.Message, "not understood by this version's grammar: review by hand") ||
				!strings.Contains(f.Message, "PostgreSQL 16's grammar") || strings.Contains(f.Message, "cannot read this statement: syntax") {
				t.Errorf("message: %s (approval %v)", f.Message, f.RequiresApproval)
			}
			// On a server whose grammar we parse, it is a syntax error.
			rep = change{base: base, cfg: &pg16, changed: map[string]string{next: goose("SET lock_timeout = '2s';\n" + sql)}}.analyze(t)
			if g := got(rep); strings.Join(g, " ") != "syntax-error:danger@3" {
				t.Fatalf("PostgreSQL 16: got %v", g)
			}
		})
	}
	// What the grammar reads is judged as usual on 17.
	rep := change{base: base, cfg: &pg17, changed: map[string]string{next: goose("SET lock_timeout = '2s';\nALTER TABLE items ADD COLUMN note text;")}}.analyze(t)
	if g := got(rep); len(g) != 0 {
		t.Errorf("a statement the grammar reads: got %v", g)
	}
}
