package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// TestCheckoutFSReadsAsDirFS: files and folders (no links) read through
// checkoutFS's own ReadFile and ReadDir give what os.DirFS gives, errors
// included, and its methods agree with each other (fstest.TestFS).
func TestCheckoutFSReadsAsDirFS(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"db/migrations/001_a.sql": "CREATE TABLE a ();\n",
		"db/migrations/002_b.sql": strings.Repeat("-- long line\n", 2000),
		"db/migrations/003_c.sql": "",
		"db/notes.txt":            "x",
		"top.sql":                 "SELECT 1;",
	}
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := newCheckoutFS(root)
	if err := fstest.TestFS(c, "db/migrations/001_a.sql", "db/migrations/002_b.sql", "db/migrations/003_c.sql", "db/notes.txt", "top.sql", "empty"); err != nil {
		t.Fatal(err)
	}
	dir := os.DirFS(root)
	// (A path that is missing or invalid fails before the read, with
	// checkoutFS's own errors.)
	for _, name := range []string{"db/migrations/001_a.sql", "db/migrations/002_b.sql", "db/migrations/003_c.sql", "top.sql", "db"} {
		got, gerr := c.ReadFile(name)
		want, werr := fs.ReadFile(dir, name)
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) || errString(gerr) != errString(werr) {
			t.Errorf("ReadFile(%q) = %d bytes, %v; os.DirFS: %d bytes, %v", name, len(got), gerr, len(want), werr)
		}
	}
	for _, name := range []string{".", "db", "db/migrations", "empty", "missing", "top.sql", "../x"} {
		got, gerr := c.ReadDir(name)
		want, werr := fs.ReadDir(dir, name)
		if !reflect.DeepEqual(dirNames(got), dirNames(want)) || errString(gerr) != errString(werr) {
			t.Errorf("ReadDir(%q) = %q, %v; os.DirFS: %q, %v", name, dirNames(got), gerr, dirNames(want), werr)
		}
	}
}

// TestCheckoutFSLinks: a link inside the checkout is read through, one
// out of it or nowhere is an UnreadableError, through ReadFile and Open.
func TestCheckoutFSLinks(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "x.sql"), []byte("DROP TABLE a;"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "real.sql"), []byte("CREATE TABLE a ();"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"in.sql": "real.sql", "out.sql": filepath.Join(outside, "x.sql"), "gone.sql": "nothing.sql"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	c := newCheckoutFS(root)
	if b, err := c.ReadFile("in.sql"); err != nil || string(b) != "CREATE TABLE a ();" {
		t.Errorf("in.sql: %q, %v", b, err)
	}
	for _, name := range []string{"out.sql", "gone.sql"} {
		_, err := c.ReadFile(name)
		var ue *layout.UnreadableError
		if !errors.As(err, &ue) || ue.Path != name {
			t.Errorf("ReadFile(%s): %v, want an UnreadableError", name, err)
		}
	}
	var ue *layout.UnreadableError
	if _, err := c.Open("out.sql"); !errors.As(err, &ue) {
		t.Errorf("Open(out.sql): %v, want an UnreadableError", err)
	}
	ents, err := c.ReadDir(".")
	if err != nil || !reflect.DeepEqual(dirNames(ents), []string{"gone.sql L---------", "in.sql L---------", "out.sql L---------", "real.sql ----------"}) {
		t.Fatalf("ReadDir: %q, %v", dirNames(ents), err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func dirNames(ents []fs.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name()+" "+e.Type().String())
	}
	return out
}
