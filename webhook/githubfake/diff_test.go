package githubfake

import (
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	lines := func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			b.WriteString("line ")
			b.WriteString(string(rune('a' + i - 1)))
			b.WriteString("\n")
		}
		return b.String()
	}
	tests := []struct {
		name, old, new, want string
		adds, dels           int
	}{
		{"added file", "", "a\nb\n", "@@ -0,0 +1,2 @@\n+a\n+b", 2, 0},
		{"removed file", "a\n", "", "@@ -1 +0,0 @@\n-a", 0, 1},
		{"one change in the middle", lines(10), strings.Replace(lines(10), "line e\n", "line E\n", 1),
			"@@ -2,7 +2,7 @@\n line b\n line c\n line d\n-line e\n+line E\n line f\n line g\n line h", 1, 1},
		{"two distant hunks", lines(20), strings.Replace(strings.Replace(lines(20), "line b\n", "B\n", 1), "line s\n", "S\n", 1),
			"@@ -1,5 +1,5 @@\n line a\n-line b\n+B\n line c\n line d\n line e\n@@ -16,5 +16,5 @@\n line p\n line q\n line r\n-line s\n+S\n line t", 2, 2},
		{"no newline at end", "a\nb", "a\nc",
			"@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file", 1, 1},
		{"newline added at end", "a", "a\n", "@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := unifiedDiff(tt.old, tt.new)
			if p.text != tt.want {
				t.Fatalf("patch:\n%s\nwant:\n%s", p.text, tt.want)
			}
			if p.additions != tt.adds || p.deletions != tt.dels {
				t.Fatalf("+%d -%d, want +%d -%d", p.additions, p.deletions, tt.adds, tt.dels)
			}
		})
	}
}

// Review comments are placed by line and side; positions count patch
// lines from the first hunk header, as GitHub's deprecated position does.
func TestPatchLineLookup(t *testing.T) {
	p := unifiedDiff("a\nb\nc\n", "a\nB\nc\nd\n")
	// @@ -1,3 +1,4 @@ / a / -b / +B / c / +d
	tests := []struct {
		side    string
		line    int
		found   bool
		wantPos int
	}{
		{"RIGHT", 1, true, 1}, // context
		{"RIGHT", 2, true, 3}, // added B
		{"LEFT", 2, true, 2},  // removed b
		{"RIGHT", 4, true, 5}, // added d
		{"RIGHT", 5, false, 0},
		{"LEFT", 4, false, 0},
	}
	for _, tt := range tests {
		l, found := p.lineAt(tt.side, tt.line)
		if found != tt.found || (found && l.position != tt.wantPos) {
			t.Errorf("%s %d: found=%v position=%d, want %v %d", tt.side, tt.line, found, l.position, tt.found, tt.wantPos)
		}
	}
	l, _ := p.lineAt("RIGHT", 2)
	if h := p.hunkUpTo(l); h != "@@ -1,3 +1,4 @@\n a\n-b\n+B" {
		t.Errorf("diff_hunk = %q", h)
	}
}
