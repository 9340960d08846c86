package analyzer

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

// FuzzAnalyze feeds arbitrary content to the analyzer's entry point as a
// changed migration of several layouts: it must never panic, and every
// position it reports must exist in the file.
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		goose("DROP TABLE customers CASCADE;"),
		"-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n-- +goose StatementEnd\n",
		"-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON orders (note);\n-- migrate:down\n",
		"\\set x 1\nBEGIN;\nALTER TABLE orders RENAME COLUMN note TO remark;\n",
		"ALTER TABLE orders ADD COLUM x int; DELETE FROM orders; UPDATE orders SET note = now();",
		"DO $$ BEGIN ALTER TABLE customers DROP COLUMN email; END $$;",
		"DO $$ DECLARE r record; BEGIN FOR r IN SELECT * FROM orders LOOP EXECUTE 'DELETE FROM orders WHERE id = ' || r.id; END LOOP; " +
			"BEGIN TRUNCATE orders; EXCEPTION WHEN others THEN EXECUTE 'DROP TABLE customers'; END; END $$;",
		"CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS 'BEGIN DELETE FROM orders WHERE note = ''x''; PERFORM purge(); END';\nSELECT purge();",
		"CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC UPDATE customers SET name = NULL; END;\nCALL p();",
		"CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN NEW.note := 'x'; DELETE FROM customers; RETURN NEW; END $f$;\n" +
			"CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION trg();",
		"DO E'BEGIN\\n EXECUTE $q$DO $r$ BEGIN DROP TABLE orders; END $r$$q$; END';",
		"WITH d AS (DELETE FROM orders WHERE 1 = 1 RETURNING *) SELECT count(*) FROM d; MERGE INTO customers c USING orders o ON true WHEN MATCHED THEN DELETE;",
		"\xff\xfe\x00",
		"\x00binary",
	} {
		f.Add(s, uint8(0))
	}
	paths := []string{
		"db/migrations/00002_change.sql",
		"migrations/2_change.up.sql",
		"db/migration/V2__change.sql",
		"supabase/migrations/20240102000000_change.sql",
		"sql/002_change.sql",
	}
	f.Fuzz(func(t *testing.T, content string, which uint8) {
		p := paths[int(which)%len(paths)]
		base := fstest.MapFS{}
		for k, v := range shopBase {
			base[k] = &fstest.MapFile{Data: []byte(v)}
		}
		head := fstest.MapFS{p: {Data: []byte(content)}}
		for k, v := range base {
			head[k] = v
		}
		rep, err := Analyze(context.Background(), Request{Base: base, Head: head, Changed: []string{p}, Config: DefaultConfig()})
		if err != nil {
			return
		}
		lines := strings.Count(content, "\n") + 1
		for _, file := range rep.Files {
			for _, st := range file.Statements {
				if st.Start.Line < 1 || st.End.Line > lines || st.Start.Line > st.End.Line {
					t.Fatalf("statement %q at lines %d-%d of a %d-line file", st.SQL, st.Start.Line, st.End.Line, lines)
				}
				if utf8.ValidString(content) && !strings.Contains(content, st.SQL) {
					t.Fatalf("statement %q is not in the file", st.SQL)
				}
				for _, fd := range st.Findings {
					if fd.Rule == "" || fd.Message == "" || fd.Marker.Line < 1 || fd.Marker.Line > lines {
						t.Fatalf("bad finding %+v", fd)
					}
				}
			}
		}
	})
}
