package plpgsql

import (
	"testing"

	"github.com/migration-guard/migration-guard/internal/repotext"
)

// sameMapping fails when a and b map some byte, of the whole or of a
// slice, to different file offsets, or differ in IsLinear.
func sameMapping(t *testing.T, what string, a, b Source) {
	t.Helper()
	if a.Text != b.Text || a.IsLinear() != b.IsLinear() {
		t.Fatalf("%s: text %q linear %v, mapped: %q linear %v", what, a.Text, a.IsLinear(), b.Text, b.IsLinear())
	}
	n := len(a.Text)
	for i := -2; i <= n+2; i++ {
		if a.At(i) != b.At(i) {
			t.Fatalf("%s: At(%d) = %d, mapped gives %d", what, i, a.At(i), b.At(i))
		}
	}
	// Every slice of a short text, a few of a long one.
	step := 1 + n/12
	for i := -1; i <= n+1; i += step {
		for j := i - 1; j <= n+1; j += step {
			sa, sb := a.Slice(i, j), b.Slice(i, j)
			for k := -1; k <= len(sa.Text)+1; k++ {
				if sa.At(k) != sb.At(k) {
					t.Fatalf("%s: Slice(%d, %d).At(%d) = %d, mapped gives %d", what, i, j, k, sa.At(k), sb.At(k))
				}
			}
			if sa.IsLinear() != sb.IsLinear() {
				t.Fatalf("%s: Slice(%d, %d).IsLinear() = %v, mapped gives %v", what, i, j, sa.IsLinear(), sb.IsLinear())
			}
		}
	}
	if ma, mb := a.moved(1000), b.moved(1000); ma.At(0) != mb.At(0) || ma.At(n) != mb.At(n) || ma.At(n/2) != mb.At(n/2) {
		t.Fatalf("%s: moved(1000) maps differently", what)
	}
}

// TestLeadIsMapped holds led, which keeps no offset per byte for an
// expression after its "SELECT ", to mapped, which keeps one, over bodies
// of every length, places in them (the text running past the body's end
// included, where mapped clamps) and every repository .sql file as a body:
// At, Slice, IsLinear and moved must give the same offsets.
func TestLeadIsMapped(t *testing.T) {
	bodies := []string{"", "x", "BEGIN RETURN NEW; END", "  a := b + 1;\n  PERFORM f(x);  "}
	for _, f := range repotext.SQL(t) {
		bodies = append(bodies, f.Text)
	}
	for bi, body := range bodies {
		for _, base := range []int{0, 17} {
			src := Linear(body, base)
			for _, at := range []int{-1, 0, 1, len(body) / 2, len(body) - 3, len(body)} {
				for _, n := range []int{0, 1, 5, len(body)} {
					expr := ""
					if at >= 0 && at+n <= len(body) {
						expr = body[at : at+n]
					} else {
						expr = string(make([]byte, n))
					}
					if bi >= 4 && n > 64 {
						expr = expr[:64] // long enough for the slices, short enough for time
					}
					text := "SELECT " + expr
					for _, lead := range []int{0, len("SELECT "), len(text)} {
						what := "body " + string(rune('0'+bi%10))
						sameMapping(t, what, src.led(text, lead, at), src.mapped(text, func(k int) int { return at + max(k-lead, 0) }))
					}
				}
			}
		}
	}
	// A body with an offset per byte keeps mapped's.
	quoted := Source{Text: "abc", Offsets: []int{5, 7, 8, 9}}
	if got := quoted.led("SELECT b", 7, 1); got.Offsets == nil {
		t.Errorf("led over a mapped body kept no offsets: %+v", got)
	}
}
