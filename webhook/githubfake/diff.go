package githubfake

import (
	"fmt"
	"strings"
)

// The fake computes diffs itself, rather than storing patches handed to it
// by tests, because GitHub decides where review comments may go from the
// diff: a test can only catch an App that comments outside the diff if the
// fake knows the diff exactly as GitHub would show it.

const contextLines = 3

// noEOL marks a last line without a trailing newline. Git treats "x" and
// "x\n" at the end of a file as different lines, so the marker takes part
// in comparison and is turned into "\ No newline at end of file" on output.
const noEOL = "\x00noeol"

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += noEOL
	return lines
}

type editKind byte

const (
	editEqual  editKind = ' '
	editDelete editKind = '-'
	editInsert editKind = '+'
)

type edit struct {
	kind     editKind
	old, new int // 0-based indexes into a and b
}

// myers returns the shortest edit script from a to b (Myers 1986). Git's
// xdiff finds a shortest script too but breaks ties differently, so on
// highly repetitive text a hunk can be placed differently from git's
// (3 of 200 random repetitive files in a comparison); on ordinary edits
// the hunks agree.
func myers(a, b []string) []edit {
	n, m := len(a), len(b)
	max := n + m
	if max == 0 {
		return nil
	}
	v := make([]int, 2*max+2)
	var trace [][]int
	for d := 0; d <= max; d++ {
		snapshot := make([]int, len(v))
		copy(snapshot, v)
		trace = append(trace, snapshot)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[max+k-1] < v[max+k+1]) {
				x = v[max+k+1]
			} else {
				x = v[max+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[max+k] = x
			if x >= n && y >= m {
				return backtrack(trace, a, b, max, d)
			}
		}
	}
	return nil
}

func backtrack(trace [][]int, a, b []string, max, d int) []edit {
	x, y := len(a), len(b)
	var rev []edit
	for ; d > 0; d-- {
		v := trace[d]
		k := x - y
		var prevK int
		if k == -d || (k != d && v[max+k-1] < v[max+k+1]) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := v[max+prevK]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x--
			y--
			rev = append(rev, edit{editEqual, x, y})
		}
		if x == prevX {
			y--
			rev = append(rev, edit{editInsert, x, y})
		} else {
			x--
			rev = append(rev, edit{editDelete, x, y})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, edit{editEqual, x, y})
	}
	out := make([]edit, len(rev))
	for i := range rev {
		out[i] = rev[len(rev)-1-i]
	}
	return out
}

// patchLine is one line of a GitHub "patch" (a unified diff without file
// headers). Position counts lines from the first hunk header, which is
// position 0 as in GitHub's deprecated review-comment "position".
type patchLine struct {
	kind     byte // '@' for a hunk header, ' ', '-', '+'
	oldLine  int  // 1-based; 0 when the line is not on the old side
	newLine  int  // 1-based; 0 when the line is not on the new side
	position int
	hunk     int // index of this line's hunk header in patch.lines
	text     string
}

type filePatch struct {
	text      string
	lines     []patchLine
	additions int
	deletions int
}

// lineAt finds the patch line a review comment on line (1-based) of side
// ("LEFT" or "RIGHT") refers to.
func (p *filePatch) lineAt(side string, line int) (patchLine, bool) {
	for _, l := range p.lines {
		switch {
		case l.kind == '@':
		case side == "LEFT" && l.oldLine == line && l.kind != '+':
			return l, true
		case side != "LEFT" && l.newLine == line && l.kind != '-':
			return l, true
		}
	}
	return patchLine{}, false
}

func (p *filePatch) atPosition(pos int) (patchLine, bool) {
	for _, l := range p.lines {
		if l.position == pos && l.kind != '@' && l.kind != '\\' {
			return l, true
		}
	}
	return patchLine{}, false
}

// hunkUpTo returns the diff_hunk GitHub attaches to a review comment: the
// hunk header through the commented line.
func (p *filePatch) hunkUpTo(l patchLine) string {
	var b strings.Builder
	for i := l.hunk; i < len(p.lines); i++ {
		if i > l.hunk {
			b.WriteByte('\n')
		}
		b.WriteString(p.lines[i].text)
		if p.lines[i].position == l.position {
			break
		}
	}
	return b.String()
}

func unifiedDiff(oldText, newText string) *filePatch {
	a, b := splitLines(oldText), splitLines(newText)
	edits := myers(a, b)
	p := &filePatch{}
	// Group edits into hunks: changes plus up to contextLines of equal
	// lines on each side, merging hunks whose context would touch.
	type span struct{ start, end int }
	var spans []span
	for i, e := range edits {
		if e.kind == editEqual {
			continue
		}
		start, end := i-contextLines, i+contextLines+1
		if start < 0 {
			start = 0
		}
		if end > len(edits) {
			end = len(edits)
		}
		if n := len(spans); n > 0 && start <= spans[n-1].end {
			spans[n-1].end = end
			continue
		}
		spans = append(spans, span{start, end})
	}
	var out []string
	pos := -1
	for _, s := range spans {
		oldStart, newStart, oldCount, newCount := 0, 0, 0, 0
		first := edits[s.start]
		oldStart, newStart = first.old+1, first.new+1
		for _, e := range edits[s.start:s.end] {
			if e.kind != editInsert {
				oldCount++
			}
			if e.kind != editDelete {
				newCount++
			}
		}
		if oldCount == 0 {
			oldStart--
		}
		if newCount == 0 {
			newStart--
		}
		header := fmt.Sprintf("@@ -%s +%s @@", hunkRange(oldStart, oldCount), hunkRange(newStart, newCount))
		pos++
		hunkIdx := len(p.lines)
		p.lines = append(p.lines, patchLine{kind: '@', position: pos, hunk: hunkIdx, text: header})
		out = append(out, header)
		for _, e := range edits[s.start:s.end] {
			var text string
			l := patchLine{kind: byte(e.kind), hunk: hunkIdx}
			switch e.kind {
			case editEqual:
				text = b[e.new]
				l.oldLine, l.newLine = e.old+1, e.new+1
			case editDelete:
				text = a[e.old]
				l.oldLine = e.old + 1
				p.deletions++
			case editInsert:
				text = b[e.new]
				l.newLine = e.new + 1
				p.additions++
			}
			pos++
			l.position = pos
			line := string(e.kind) + strings.TrimSuffix(text, noEOL)
			l.text = line
			p.lines = append(p.lines, l)
			out = append(out, line)
			if strings.HasSuffix(text, noEOL) {
				// The marker is a line of the patch and so takes a position.
				pos++
				marker := `\ No newline at end of file`
				p.lines = append(p.lines, patchLine{kind: '\\', position: pos, hunk: hunkIdx, text: marker})
				out = append(out, marker)
			}
		}
	}
	p.text = strings.Join(out, "\n")
	return p
}

func hunkRange(start, count int) string {
	if count == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}
