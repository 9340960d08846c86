// Package repotext hands tests the text of every .sql file of this
// repository (fixtures, examples, test data): real SQL of many shapes to
// hold a parser, a decoder or a normalizer to another way of doing the
// same, wherever the test's package sits in the tree.
package repotext

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// File is one .sql file: its path from the repository's root, and its text.
type File struct {
	Path, Text string
}

// minFiles is fewer .sql files than the repository holds: finding fewer
// means the walk started in the wrong place, and a test over them would
// check next to nothing.
const minFiles = 20

// SQL returns every .sql file of the repository, in the order of their
// paths. It fails t when the files cannot be read or are too few.
func SQL(t testing.TB) []File {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("repotext: the source file's place is unknown")
	}
	root := filepath.Join(filepath.Dir(self), "..", "..")
	var files []File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".sql") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files = append(files, File{Path: filepath.ToSlash(rel), Text: string(b)})
		return nil
	})
	if err != nil {
		t.Fatalf("repotext: reading the repository's .sql files: %v", err)
	}
	if len(files) < minFiles {
		t.Fatalf("repotext: only %d .sql files found below %s", len(files), root)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files
}

// Texts is the texts of SQL's files, in the same order.
func Texts(t testing.TB) []string {
	t.Helper()
	files := SQL(t)
	texts := make([]string, len(files))
	for i, f := range files {
		texts[i] = f.Text
	}
	return texts
}
