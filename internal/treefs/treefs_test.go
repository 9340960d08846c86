package treefs

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

func TestTreeFS(t *testing.T) {
	blobs := map[string]string{"b1": "CREATE TABLE a (id int);", "b2": "DROP TABLE a;", "b3": "# readme"}
	fetched := map[string]int{}
	fetch := func(_ context.Context, id string) ([]byte, error) {
		fetched[id]++
		s, ok := blobs[id]
		if !ok {
			return nil, errors.New("no such blob")
		}
		return []byte(s), nil
	}
	cache := NewCache()
	entries := []Entry{
		{Path: "db/migrations/001_a.sql", ID: "b1", Size: 24},
		{Path: "db/migrations/002_b.sql", ID: "b2", Size: 13},
		{Path: "README.md", ID: "b3", Size: 8},
	}
	tree := New(context.Background(), entries, fetch, cache)

	// The standard library's own conformance test reads every file.
	if err := fstest.TestFS(tree, "db/migrations/001_a.sql", "db/migrations/002_b.sql", "README.md"); err != nil {
		t.Fatal(err)
	}
	if fetched["b1"] != 1 {
		t.Errorf("blob b1 fetched %d times, want once thanks to the cache", fetched["b1"])
	}

	// A second tree sharing the cache fetches nothing again.
	head := New(context.Background(), append(entries, Entry{Path: "db/migrations/003_c.sql", ID: "b1", Size: 24}), fetch, cache)
	if _, err := fs.ReadFile(head, "db/migrations/003_c.sql"); err != nil {
		t.Fatal(err)
	}
	if fetched["b1"] != 1 {
		t.Errorf("a blob shared by two trees was fetched %d times", fetched["b1"])
	}

	// Listing and stat never fetch.
	before := cache.Fetches
	if _, err := fs.ReadDir(New(context.Background(), entries, fetch, nil), "db/migrations"); err != nil {
		t.Fatal(err)
	}
	if cache.Fetches != before {
		t.Error("ReadDir fetched content")
	}
}

func TestTreeFSLimitsAndErrors(t *testing.T) {
	fetch := func(_ context.Context, id string) ([]byte, error) { return nil, errors.New("api down") }
	tree := New(context.Background(), []Entry{{Path: "big.sql", ID: "x", Size: 100}, {Path: "a.sql", ID: "y", Size: 1}}, fetch, nil)
	tree.MaxBytes = 10
	if _, err := tree.ReadFile("big.sql"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized blob: got %v, want ErrTooLarge", err)
	}
	if _, err := tree.ReadFile("a.sql"); err == nil || err.Error() != "read a.sql: api down" {
		t.Errorf("fetch error: got %v", err)
	}
	if _, err := tree.Open("missing.sql"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

// A symbolic link is read as its target while it stays in the tree; one
// that leaves it, loops or leads nowhere, and a file over the limit, is
// an UnreadableError naming the blob an approval binds to.
func TestSymbolicLinks(t *testing.T) {
	blobs := map[string]string{
		"drop": "DROP TABLE users;",
		"l1":   "../../shared/drop.sql",
		"l2":   "/etc/passwd",
		"l3":   "../../../outside.sql",
		"l4":   "004_loop.sql",
		"l5":   "missing.sql",
		"l6":   "../../shared",
		"l7":   "001_link.sql",
		"big":  "SELECT 1;",
	}
	fetch := func(_ context.Context, id string) ([]byte, error) {
		s, ok := blobs[id]
		if !ok {
			return nil, errors.New("no such blob")
		}
		return []byte(s), nil
	}
	tree := New(context.Background(), []Entry{
		{Path: "shared/drop.sql", ID: "drop", Size: 17},
		{Path: "db/migrations/001_link.sql", ID: "l1", Size: 21, Link: true},
		{Path: "db/migrations/002_abs.sql", ID: "l2", Size: 11, Link: true},
		{Path: "db/migrations/003_up.sql", ID: "l3", Size: 20, Link: true},
		{Path: "db/migrations/004_loop.sql", ID: "l4", Size: 12, Link: true},
		{Path: "db/migrations/005_missing.sql", ID: "l5", Size: 11, Link: true},
		{Path: "db/migrations/006_dir.sql", ID: "l6", Size: 12, Link: true},
		{Path: "db/migrations/007_chain.sql", ID: "l7", Size: 12, Link: true},
		{Path: "db/migrations/008_big.sql", ID: "big", Size: 5000},
		{Path: "db/migrations/009_sub.sql", ID: "c0ffee", Size: -1, Submodule: true},
	}, fetch, nil)
	tree.MaxBytes = 1000
	for _, p := range []string{"db/migrations/001_link.sql", "db/migrations/007_chain.sql"} {
		if b, err := tree.ReadFile(p); err != nil || string(b) != "DROP TABLE users;" {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
	cases := map[string]struct{ blob, says string }{
		"db/migrations/002_abs.sql":     {"l2", "outside the repository"},
		"db/migrations/003_up.sql":      {"l3", "outside the repository"},
		"db/migrations/004_loop.sql":    {"l4", "a loop"},
		"db/migrations/005_missing.sql": {"l5", "not a file of the repository"},
		"db/migrations/006_dir.sql":     {"l6", "to the folder shared"},
		"db/migrations/008_big.sql":     {"big", "over the limit of 1000 bytes"},
		"db/migrations/009_sub.sql":     {"c0ffee", "a git submodule"},
	}
	for p, c := range cases {
		_, err := tree.ReadFile(p)
		var ue *layout.UnreadableError
		if !errors.As(err, &ue) || ue.BlobID != c.blob || !strings.Contains(ue.Reason, c.says) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if id, ok := tree.BlobID("db/migrations/001_link.sql"); !ok || id != "l1" {
		t.Errorf("BlobID of a link = %q", id)
	}
}
