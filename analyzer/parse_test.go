package analyzer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// mixedHistory is a history whose files take every way through parsing:
// goose files with down parts, a psql meta-command, a syntax error, a BOM,
// a binary file, and golang-migrate's separate down files.
func mixedHistory(n int) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 1; i <= n; i++ {
		body := corpusFile(i)
		switch i % 7 {
		case 2:
			body = "-- +goose Up\n\\set ON_ERROR_STOP on\n" + body[len("-- +goose Up\n"):]
		case 3:
			body = "-- +goose Up\nCREATE TABLE broken_" + fmt.Sprint(i) + " (id int,);\n" + body[len("-- +goose Up\n"):]
		case 4:
			body = "\ufeff" + body
		}
		fsys[fmt.Sprintf("db/migrations/%05d_step.sql", i)] = &fstest.MapFile{Data: []byte(body)}
		fsys[fmt.Sprintf("other/%d_m.up.sql", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf("CREATE TABLE o%d (id int);\nCREATE INDEX CONCURRENTLY o%[1]d_idx ON o%[1]d (id);", i))}
		fsys[fmt.Sprintf("other/%d_m.down.sql", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf("DROP TABLE o%d;", i))}
	}
	fsys["db/migrations/99990_binary.sql"] = &fstest.MapFile{Data: []byte("-- +goose Up\nSELECT 1;\x00\n")}
	return fsys
}

// TestParseAheadSameReport: parsing ahead on other goroutines gives the
// report that parsing each file as it is replayed or judged gives, for a
// whole history judged (the CLI's check) and for a change against a base
// (the App's review), whatever the window.
func TestParseAheadSameReport(t *testing.T) {
	defer func(h int) { parseHelpers = h }(parseHelpers)
	base := mixedHistory(24)
	head := mixedHistory(30)
	head["db/migrations/00005_step.sql"] = &fstest.MapFile{Data: []byte(goose("ALTER TABLE t1 DROP COLUMN email;"))}
	changed := []string{"db/migrations/00005_step.sql", "other/27_m.up.sql", "other/27_m.down.sql", "db/migrations/00023_step.sql", "db/migrations/00024_step.sql", "db/migrations/00025_step.sql", "db/migrations/99990_binary.sql"}
	for _, req := range []struct {
		name string
		req  Request
	}{
		{"whole history", Request{Head: head, Config: DefaultConfig()}},
		{"change against a base", Request{Base: base, Head: head, Changed: changed, Config: DefaultConfig()}},
	} {
		t.Run(req.name, func(t *testing.T) {
			report := func(helpers int) string {
				parseHelpers = helpers
				rep, err := Analyze(context.Background(), req.req)
				if err != nil {
					t.Fatal(err)
				}
				out, err := json.Marshal(rep)
				if err != nil {
					t.Fatal(err)
				}
				return string(out)
			}
			inline := report(-1)
			if len(inline) < 10000 {
				t.Fatalf("a report of %d bytes: the history was not read", len(inline))
			}
			for _, want := range []string{ruleUnreadableFile.ID, rulePsqlMetaCommand.ID, ruleSyntaxError.ID, "other/27_m.down.sql"} {
				if !strings.Contains(inline, `"`+want+`"`) {
					t.Errorf("the report has no %s: the history misses a way through parsing", want)
				}
			}
			for _, helpers := range []int{1, 3, 0} {
				for round := 0; round < 2; round++ {
					if got := report(helpers); got != inline {
						t.Fatalf("%d helpers, round %d: the report differs from parsing inline", helpers, round)
					}
				}
			}
		})
	}
}
