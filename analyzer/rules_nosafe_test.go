package analyzer

import (
	"strings"
	"testing"
)

// TestNoSafeSQLDocumented: each case is a statement whose finding prints
// no safe SQL (the comment noSafeWay writes), and its rule's page says
// when that happens, in words the case is about.
func TestNoSafeSQLDocumented(t *testing.T) {
	base := goose(`CREATE TABLE users (id int PRIMARY KEY, name text, score int);
CREATE TABLE plans (id int PRIMARY KEY, name text);
CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
CREATE INDEX m_at_idx ON m (at);
CREATE TABLE m2 (id int, at date);
CREATE TABLE audited (id int PRIMARY KEY, v int);
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER audited_stamp BEFORE UPDATE ON audited FOR EACH ROW EXECUTE FUNCTION stamp();
CREATE INDEX users_name_idx ON users (name);
CREATE TABLE q (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE q1 (id int, at date);`)
	for _, tc := range []struct {
		rule, sql, page string
	}{
		{"backfill", "ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = p.name FROM plans p;", "UPDATE ... FROM"},
		{"backfill", "ALTER TABLE users ADD COLUMN n int DEFAULT 0;\nUPDATE users SET n = n + 1;", "computed from a column the UPDATE sets"},
		{"backfill", "ALTER TABLE users ADD COLUMN r float8;\nUPDATE users SET r = random();", "random()"},
		{"update-without-where", "UPDATE users SET name = p.name FROM plans p;", "UPDATE ... FROM"},
		{"update-without-where", "UPDATE users SET score = random() * 10;", "random()"},
		{"delete-rows", "DELETE FROM users WHERE id > 0;", "author's to say"},
		{"update-rows", "UPDATE users SET name = NULL WHERE id > 0;", "author's to say"},
		{"update-rows", "INSERT INTO users (id, name) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET name = excluded.name;", "ON CONFLICT"},
		{"drop-index", "DROP INDEX m_at_idx;", "partitioned table"},
		{"blocking-index-build", "CREATE INDEX m_id_idx ON m (id);", "partitioned table"},
		{"create-unique-index", "CREATE UNIQUE INDEX m_id_at_key ON m (id, at);", "partitioned"},
		{"add-unique-constraint", "ALTER TABLE users ADD COLUMN email text, ADD CONSTRAINT users_email_key UNIQUE (email);", "several changes at once"},
		{"type-change-rewrite", "ALTER TABLE users ALTER COLUMN score TYPE bigint, ALTER COLUMN name TYPE int USING length(name);", "several changes at once"},
		{"table-rewrite", "ALTER TABLE audited ADD COLUMN token uuid DEFAULT gen_random_uuid();", "triggers on UPDATE"},
		{"rename-column", "ALTER TABLE users RENAME COLUMN name TO full_name;", "depends on the column"},
		{"blocking-scan", "ALTER TABLE q ATTACH PARTITION q1 FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');", "ATTACH PARTITION"},
	} {
		t.Run(tc.rule+" "+tc.page, func(t *testing.T) {
			rep := change{base: map[string]string{"db/migrations/00001_init.sql": base},
				changed: map[string]string{next: goose("SET lock_timeout = '2s';\n" + tc.sql)}}.analyze(t)
			found := false
			for _, l := range rep.AllFindings() {
				if l.Finding.Rule == tc.rule && strings.HasPrefix(l.Finding.SafeAlternative, noSafeWay("")) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s finding without safe SQL: %q", tc.rule, got(rep))
			}
			r, ok := RuleByID(tc.rule)
			if !ok || !strings.Contains(r.WhenNoSafeSQL(), tc.page) {
				t.Errorf("%s: WhenNoSafeSQL %q does not mention %q", tc.rule, r.WhenNoSafeSQL(), tc.page)
			}
		})
	}
	for id := range noSafeSQL() {
		if _, ok := RuleByID(id); !ok {
			t.Errorf("noSafeSQL names %s, which is no rule", id)
		}
	}
}
