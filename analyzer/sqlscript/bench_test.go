package sqlscript

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// repoSQL is the text of every .sql file of the repository (fixtures,
// examples), in the order of their paths.
func repoSQL(t testing.TB) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir("../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".sql") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 20 {
		t.Fatalf("only %d .sql files found", len(paths))
	}
	sort.Strings(paths)
	texts := make([]string, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	return texts
}

// BenchmarkSplit splits the repository's .sql files one by one (files),
// and all of them one after the other as one text (one-text), the shape
// of a long migration of many statements.
func BenchmarkSplit(b *testing.B) {
	texts := repoSQL(b)
	var all strings.Builder
	for _, t := range texts {
		all.WriteString(t)
		if !strings.HasSuffix(strings.TrimSpace(t), ";") {
			all.WriteString(";")
		}
		all.WriteString("\n")
	}
	b.Run("files", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, t := range texts {
				Split(t, 0, len(t))
			}
		}
	})
	// ParseTrees is what a replay without judging runs instead.
	b.Run("parse-trees", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, t := range texts {
				ParseTrees(t, 0, len(t))
			}
		}
	})
	one := all.String()
	b.Run("one-text", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Split(one, 0, len(one))
		}
	})
}
