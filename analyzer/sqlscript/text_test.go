package sqlscript

import (
	"slices"
	"testing"

	"github.com/migration-guard/migration-guard/internal/repotext"
)

// linesByteByByte is the index NewLines was first written as, a byte at
// a time: the index it builds must stay this one.
func linesByteByByte(text string) []int {
	starts := []int{0}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// TestNewLinesAsByteByByte: for texts with and without newlines, at
// either end, in runs, after carriage returns and multi-byte characters,
// and for every .sql file of the repository, NewLines indexes the lines
// linesByteByByte does, in a slice no larger than the index.
func TestNewLinesAsByteByByte(t *testing.T) {
	texts := append([]string{
		"",
		"\n",
		"\n\n\n",
		"no newline",
		"ends with one\n",
		"\nstarts with one",
		"a\r\nb\r\n\r\nc",
		"λ\nμν\n\nξ",
	}, repotext.Texts(t)...)
	for _, text := range texts {
		l := NewLines(text)
		want := linesByteByByte(text)
		if !slices.Equal(l.starts, want) {
			t.Fatalf("%.40q: lines start at %v, want %v", text, l.starts, want)
		}
		if cap(l.starts) != len(want) {
			t.Errorf("%.40q: an index of %d lines holds room for %d", text, len(want), cap(l.starts))
		}
		if l.Count() != len(want) {
			t.Errorf("%.40q: Count %d, want %d", text, l.Count(), len(want))
		}
	}
}
