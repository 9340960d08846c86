package analyzer

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/internal/repotext"
)

// tableBodies is a goose history whose procedural code, judged on copies
// of the schema, creates, alters and drops tables that the files go on to
// change: function bodies at their CREATE (one creating a function and a
// trigger in turn), a new body for a function a trigger runs and for one a
// view runs, the function of a new trigger, and the same in a down part;
// after each, the file changes the very tables the body changed, so that
// a copy the schema kept sharing would show the change.
func tableBodies() fstest.MapFS {
	files := []string{
		"-- +goose Up\nCREATE TABLE accounts (id bigint PRIMARY KEY, email text, status text);\n" +
			"CREATE TABLE audit (id bigint, note text);\nCREATE INDEX audit_id ON audit (id);\n" +
			"CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n" +
			"CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION touch();\n" +
			"CREATE FUNCTION shown() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n" +
			"CREATE VIEW shown_v AS SELECT shown() AS n;\n" +
			"-- +goose Down\nSELECT 1;\n",
		"-- +goose Up\nCREATE FUNCTION later() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n" +
			"  CREATE TABLE made (id int PRIMARY KEY, accounts_id bigint REFERENCES accounts (id));\n" +
			"  ALTER TABLE accounts ADD COLUMN note text NOT NULL DEFAULT 'x', ALTER COLUMN email SET NOT NULL;\n" +
			"  ALTER TABLE audit DROP COLUMN note;\n  DROP INDEX audit_id;\n  CREATE INDEX audit_note ON audit (id) WHERE id > 0;\n" +
			"  DROP TABLE audit;\n  CREATE FUNCTION inner_made() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN ALTER TABLE made ADD COLUMN y int; RETURN NEW; END $f$;\n" +
			"  CREATE TRIGGER made_touch AFTER INSERT ON made FOR EACH ROW EXECUTE FUNCTION inner_made();\n" +
			"  UPDATE accounts SET note = 'y';\nEND $$;\n" +
			"ALTER TABLE accounts ADD COLUMN note text;\nALTER TABLE audit ALTER COLUMN note SET NOT NULL;\n" +
			"CREATE TABLE made (id int);\nUPDATE accounts SET email = NULL;\nALTER TABLE audit ADD CONSTRAINT audit_pk PRIMARY KEY (id);\n" +
			"-- +goose Down\nSELECT 1;\n",
		"-- +goose Up\nCREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n" +
			"  ALTER TABLE audit ADD COLUMN seen timestamptz;\n  DROP TABLE made;\n  DELETE FROM audit;\n  RETURN NEW;\nEND $$;\n" +
			"ALTER TABLE audit ADD COLUMN seen int;\nALTER TABLE made ADD COLUMN z int;\n" +
			"CREATE OR REPLACE FUNCTION shown() RETURNS int LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE accounts DROP COLUMN status; DROP TABLE audit; RETURN 1; END $$;\n" +
			"ALTER TABLE accounts ALTER COLUMN status SET NOT NULL;\nDELETE FROM audit WHERE id = 1;\n" +
			"-- +goose Down\nSELECT 1;\n",
		"-- +goose Up\nCREATE FUNCTION on_made() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE accounts DROP COLUMN note; TRUNCATE audit; RETURN NEW; END $$;\n" +
			"CREATE TRIGGER made_on AFTER INSERT ON made FOR EACH ROW EXECUTE FUNCTION on_made();\n" +
			"ALTER TABLE accounts ALTER COLUMN note SET NOT NULL;\nALTER TABLE audit ADD COLUMN kept int;\n" +
			"CREATE FUNCTION viewed() RETURNS int LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE made DROP COLUMN z; RETURN 1; END $$;\n" +
			"CREATE VIEW viewed_v AS SELECT viewed() AS n;\nALTER TABLE made ALTER COLUMN z SET NOT NULL;\n" +
			"-- +goose Down\nCREATE FUNCTION down_fn() RETURNS void LANGUAGE sql AS $$ ALTER TABLE accounts DROP COLUMN email; $$;\n" +
			"ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL;\nDROP VIEW viewed_v;\nDROP TRIGGER made_on ON made;\n",
	}
	return gooseHistory(files)
}

// repositoryHistory is every .sql file of the repository as one goose
// history, in the order of their paths.
func repositoryHistory(t *testing.T) fstest.MapFS {
	var files []string
	for _, text := range repotext.Texts(t) {
		files = append(files, goose(text))
	}
	return gooseHistory(files)
}

// scratchRequests are the runs the copies of the schema that bodies are
// judged on are compared over: each history whole, and its later files
// as a change against a base of the first two.
func scratchRequests(t *testing.T) map[string]Request {
	reqs := map[string]Request{}
	for name, head := range map[string]fstest.MapFS{"table bodies": tableBodies(), "body history": bodyHistory(),
		"repeated bodies": repeatedBodies(), "repository files": repositoryHistory(t)} {
		base := fstest.MapFS{}
		var changed []string
		for p, f := range head {
			if p < "db/migrations/00003" {
				base[p] = f
			} else {
				changed = append(changed, p)
			}
		}
		reqs[name+", whole history"] = Request{Head: head, Config: DefaultConfig()}
		reqs[name+", change against a base"] = Request{Base: base, Head: head, Changed: changed, Config: DefaultConfig()}
	}
	return reqs
}

func reportText(t *testing.T, req Request) string {
	t.Helper()
	rep, err := Analyze(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(rep, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestBodyScratchSameReport: judging bodies on copies the schema takes
// back once they are judged (bodyCopy) gives the report that copies never
// dropped (Clone) give, byte for byte; and the schema did take copies
// back, so the comparison is not between two runs of Clone.
func TestBodyScratchSameReport(t *testing.T) {
	defer func(f func(*catalog.Catalog) (*catalog.Catalog, func())) { bodyCopy = f }(bodyCopy)
	scratch := bodyCopy
	for name, req := range scratchRequests(t) {
		t.Run(name, func(t *testing.T) {
			bodyCopy = func(cat *catalog.Catalog) (*catalog.Catalog, func()) { return cat.Clone(), func() {} }
			cloned := reportText(t, req)
			taken := 0
			bodyCopy = func(cat *catalog.Catalog) (*catalog.Catalog, func()) {
				sc := cat.Scratch()
				return sc, func() {
					if cat.DropScratch(sc) {
						taken++
					}
				}
			}
			scratched := reportText(t, req)
			if scratched != cloned {
				t.Fatalf("the report differs when the schema takes back the copies bodies are judged on:\n%s\nwith copies never dropped:\n%s", scratched, cloned)
			}
			t.Logf("%d copies taken back", taken)
			if strings.HasPrefix(name, "table bodies") && taken < 5 {
				t.Errorf("the schema took back %d copies, want at least 5", taken)
			}
			bodyCopy = scratch
			if got := reportText(t, req); got != cloned {
				t.Fatalf("the report differs with bodyCopy as it is:\n%s\nwith copies never dropped:\n%s", got, cloned)
			}
		})
	}
}

// TestBodyScratchNotUsedOnceDropped: no statement of procedural code is
// judged on a copy of the schema after it was dropped (a copy dropped and
// taken back shares what the schema then changes in place). The check
// fails when the drop is made before the body is judged.
func TestBodyScratchNotUsedOnceDropped(t *testing.T) {
	defer func(f func(*catalog.Catalog) (*catalog.Catalog, func())) { bodyCopy = f }(bodyCopy)
	defer func() { testHookBodyCatalog = nil }()
	scratch := bodyCopy
	for _, tc := range []struct {
		name string
		// early drops each copy as soon as it is made: the check must
		// see the bodies judged on dropped copies.
		early bool
	}{{"drop once judged", false}, {"drop too soon", true}} {
		for name, req := range scratchRequests(t) {
			t.Run(tc.name+", "+name, func(t *testing.T) {
				dropped := map[*catalog.Catalog]bool{}
				uses, made := 0, 0
				testHookBodyCatalog = func(c *catalog.Catalog) {
					if dropped[c] {
						uses++
					}
				}
				bodyCopy = func(cat *catalog.Catalog) (*catalog.Catalog, func()) {
					made++
					sc, drop := scratch(cat)
					mark := func() { drop(); dropped[sc] = true }
					if tc.early {
						mark()
						return sc, func() {}
					}
					return sc, mark
				}
				reportText(t, req)
				switch {
				case !tc.early && uses > 0:
					t.Errorf("%d statements judged on a copy of the schema already dropped", uses)
				case tc.early && made > 0 && uses == 0:
					t.Errorf("%d copies dropped as soon as made, yet no statement was seen judged on one: the check cannot fail", made)
				}
				if strings.HasPrefix(name, "table bodies") && made == 0 {
					t.Error("no body judged on a copy")
				}
			})
		}
	}
}
