//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadRegular: the short path reads regular files whole, of any size,
// and leaves everything else to checkoutFS's careful path: a link (even to
// a regular file), a folder, a FIFO (without waiting for a writer), a
// missing file.
func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"", "SELECT 1;\n", strings.Repeat("-- a line\n", 10000)} {
		p := filepath.Join(dir, "f.sql")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, ok := readRegular(p); !ok || string(b) != content {
			t.Fatalf("%d bytes: read %d, ok %v", len(content), len(b), ok)
		}
	}
	link := filepath.Join(dir, "link.sql")
	if err := os.Symlink("f.sql", link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, dir, fifo, filepath.Join(dir, "missing.sql")} {
		if b, ok := readRegular(p); ok {
			t.Errorf("%s: read %d bytes, want it left to the careful path", p, len(b))
		}
	}
}
