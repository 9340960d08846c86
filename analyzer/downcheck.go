package analyzer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
)

var ruleDownIncomplete = register(Rule{
	ID: "down-incomplete", Question: QTransaction, Severity: Warning,
	Title: "Down migration that does not undo its up migration",
	Why: "Applying the up part and then the down part should leave the schema as it was. When it does not, a rollback leaves objects behind " +
		"(the next deploy of the up part then fails on them) or misses ones it should restore, at the moment a rollback is needed most.",
	Example: "-- +goose Up\nALTER TABLE orders ADD COLUMN note text;\n-- +goose Down\nSELECT 1;",
	Safe:    "-- +goose Up\nALTER TABLE orders ADD COLUMN note text;\n-- +goose Down\nALTER TABLE orders DROP COLUMN note;",
})

// shapeBlocks reads a catalog shape into blocks: an object's line with the
// lines indented under it, sorted, because a rollback cannot restore the
// order of columns and no one relies on it.
func shapeBlocks(shape string) map[string][]string {
	blocks := map[string][]string{}
	var head string
	for _, line := range strings.Split(shape, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "search_path "):
			continue
		case strings.HasPrefix(line, " "):
			blocks[head] = append(blocks[head], strings.TrimSpace(line))
		default:
			head = line
			blocks[head] = blocks[head][:0:0]
		}
	}
	for h := range blocks {
		sort.Strings(blocks[h])
	}
	return blocks
}

// schemaDifferences says how the schema after up and down differs from the
// schema before them, at most limit items. Only the objects whose shape
// changed are rendered and compared: the cost follows what the migration
// changed more than the size of the schema.
func schemaDifferences(before catalog.Snapshot, after *catalog.Catalog, limit int) []string {
	bs, as := catalog.ShapeChanges(before, after)
	b, a := shapeBlocks(bs), shapeBlocks(as)
	var diffs []string
	for h, lines := range b {
		al, ok := a[h]
		switch {
		case !ok:
			diffs = append(diffs, "not restored: "+h)
		case strings.Join(al, "\n") != strings.Join(lines, "\n"):
			diffs = append(diffs, childDifferences(h, lines, al)...)
		}
	}
	for h := range a {
		if _, ok := b[h]; !ok {
			diffs = append(diffs, "left behind: "+h)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > limit {
		diffs = append(diffs[:limit], fmt.Sprintf("and %d more", len(diffs)-limit))
	}
	return diffs
}

// childDifferences names the lines of one object (columns, constraints,
// indexes) that the down part did not put back or left behind.
func childDifferences(head string, before, after []string) []string {
	in := func(list []string, x string) bool {
		i := sort.SearchStrings(list, x)
		return i < len(list) && list[i] == x
	}
	var out []string
	for _, l := range before {
		if !in(after, l) {
			out = append(out, fmt.Sprintf("%s: %s not restored", head, l))
		}
	}
	for _, l := range after {
		if !in(before, l) {
			out = append(out, fmt.Sprintf("%s: %s left behind", head, l))
		}
	}
	return out
}
