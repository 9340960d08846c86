package repotext

import (
	"os"
	"testing"
)

func TestSQLFindsTheRepositoryFiles(t *testing.T) {
	files := SQL(t)
	// A fixture the repository has long held, by its path from the root.
	const known = "analyzer/catalog/testdata/replay/001_users.sql"
	found := false
	for i, f := range files {
		if i > 0 && files[i-1].Path >= f.Path {
			t.Errorf("%s after %s: not in path order", f.Path, files[i-1].Path)
		}
		if f.Path == known {
			found = true
			want, err := os.ReadFile("../../" + known)
			if err != nil {
				t.Fatal(err)
			}
			if f.Text != string(want) {
				t.Errorf("%s: the text differs from the file's", known)
			}
		}
	}
	if !found {
		t.Errorf("%s is not among the %d files", known, len(files))
	}
	if texts := Texts(t); len(texts) != len(files) || texts[0] != files[0].Text {
		t.Errorf("Texts does not follow SQL: %d texts for %d files", len(texts), len(files))
	}
}
