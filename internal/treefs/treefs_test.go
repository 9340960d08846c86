package treefs

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
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
