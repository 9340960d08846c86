package layout

import (
	"testing"
)

func checkPart(t *testing.T, what string, p Part, content []byte) {
	t.Helper()
	if p.Start < 0 || p.End > len(content) || p.Start > p.End {
		t.Fatalf("%s out of bounds: [%d,%d) of %d bytes", what, p.Start, p.End, len(content))
	}
	if p.Tx == "" || p.TxReason == "" {
		t.Fatalf("%s without a transaction mode: %+v", what, p)
	}
}

// FuzzParts feeds goose and dbmate content to the splitters, which see
// whatever people commit: they must never panic, and every part they
// return must lie inside the file.
func FuzzParts(f *testing.F) {
	seeds := []string{
		"-- +goose Up\nCREATE TABLE t (id int);\n-- +goose Down\nDROP TABLE t;\n",
		"-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nDO $$ BEGIN END $$;\n-- +goose StatementEnd\n",
		"\xEF\xBB\xBF-- +goose Up\r\nSELECT 1;\r\n",
		"-- +goose Down\n-- +goose Up\n",
		"  -- +goose Up\n-- +goose up -- +goose down\n",
		"-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- migrate:down\nDROP INDEX i;\n",
		"-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 3;\n-- migrate:down\n-- migrate:down\n",
		"-- migrate:down\n-- migrate:up transaction: false x:y:z\n",
		"\xEF\xBB\xBF",
		"",
		"\n\n\r\n",
		"--",
		"-- migrate:up",
		"-- +goose Up",
	}
	for _, s := range seeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, goose bool) {
		kind := Dbmate
		if goose {
			kind = Goose
		}
		content := []byte(s)
		up, down, problems := Parts(kind, "1_x.sql", content)
		checkPart(t, "up", up, content)
		if down != nil {
			checkPart(t, "down", *down, content)
			if down.Start < up.Start {
				t.Fatalf("down [%d,%d) starts before up [%d,%d)", down.Start, down.End, up.Start, up.End)
			}
		}
		for _, p := range problems {
			if p.Message == "" || p.Line < 0 {
				t.Fatalf("bad problem %+v", p)
			}
		}
		if kind == Dbmate {
			for _, sec := range splitDbmate("1_x.sql", content, Options{}).more {
				checkPart(t, "section up", sec.Up, content)
				if sec.Down != nil {
					checkPart(t, "section down", *sec.Down, content)
				}
			}
		}
		_ = DetectFile("db/1_x.sql", content)
	})
}
