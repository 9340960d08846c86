package layout

import (
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/migration-guard/migration-guard/internal/repotext"
)

// TestSplitKeepsNoText holds the splitters that read lines through
// eachLineSeen (goose, Flyway) to keeping no part of a file's text: their
// lines are read in the file's own bytes, so a part they kept would change
// when the bytes do. Each file is split, every byte is then overwritten,
// and what the split gave must read the same. It fails when a Part, Problem
// or message holds a line's text rather than a copy.
func TestSplitKeepsNoText(t *testing.T) {
	texts := []string{
		"-- +goose Up\nCREATE TABLE a ();\n-- +goose Down\nDROP TABLE a;\n",
		"\ufeff-- +goose Up\r\nSELECT 1;\r\n",
		"SELECT 1;\n-- +goose Up\n-- +goose Sideways\n --+goose Up\n-- +goose +goose\n-- +goose\n",
		"-- +goose Up\n-- +goose ENVSUB ON\nSELECT '$HOME';\n-- +goose StatementBegin\n-- +goose Down\n",
		"-- flyway:executeInTransaction=false\nSELECT '${schema}';\n",
		"-- +goose Down\n-- +goose StatementEnd\n",
	}
	for _, f := range repotext.SQL(t) {
		texts = append(texts, f.Text)
	}
	err := fs.WalkDir(os.DirFS("testdata"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(os.DirFS("testdata"), p)
		texts = append(texts, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []Kind{Goose, Flyway} {
		for i, text := range texts {
			content := []byte(text)
			fp := splitFile(kind, "V1__a.sql", content, Options{})
			before := fmt.Sprintf("%#v %#v %#v", fp, fp.down, fp.problems)
			for j := range content {
				content[j] = 'x'
			}
			if after := fmt.Sprintf("%#v %#v %#v", fp, fp.down, fp.problems); after != before {
				t.Errorf("%s, text %d: the split changed with the file's bytes:\n%s\n%s", kind, i, before, after)
			}
		}
	}
}
