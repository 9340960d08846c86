package sqlscript

import (
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/internal/repotext"
)

// BenchmarkSplit splits the repository's .sql files one by one (files),
// and all of them one after the other as one text (one-text), the shape
// of a long migration of many statements.
func BenchmarkSplit(b *testing.B) {
	texts := repotext.Texts(b)
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
