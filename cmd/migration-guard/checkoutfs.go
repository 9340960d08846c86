package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// checkoutFS is a checkout's folder as the migration tool reads it, with
// one difference from os.DirFS: a symbolic link is followed only while it
// stays inside the checkout. One that leads out of it, in a loop or
// nowhere gives a *layout.UnreadableError bound to the link's git blob
// (its target path), so that the file needs a person's approval instead of
// being judged by whatever it points at on this machine.
type checkoutFS struct {
	fs.FS
	root string
	// boundary is the folder links must stay inside: the checkout. It is
	// root itself unless the file system is opened higher up (a folder
	// given on the command line is read at its real path).
	boundary string
}

func newCheckoutFS(root string) checkoutFS {
	return checkoutFS{FS: os.DirFS(root), root: root, boundary: root}
}

// repositoryOf is the checkout that holds dir: the nearest folder at or
// above it with a .git entry, or dir itself outside any checkout.
func repositoryOf(dir string) string {
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			return dir
		}
		d = up
	}
}

// ReadsConcurrently implements layout.ConcurrentFS: files on disk may be
// read by several goroutines at once.
func (c checkoutFS) ReadsConcurrently() bool { return true }

// ReadFile implements fs.ReadFileFS.
func (c checkoutFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	full := filepath.Join(c.root, filepath.FromSlash(name))
	// Nearly every file of a history is a regular file: it is read
	// without the Lstat below when it is one.
	if b, ok := readRegular(full); ok {
		return b, nil
	}
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		b, err := readFile(full)
		if pe, ok := err.(*fs.PathError); ok {
			pe.Path = name // as os.DirFS says it
		}
		return b, err
	}
	target, err := os.Readlink(full)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	fail := func(format string, args ...any) error {
		return &fs.PathError{Op: "read", Path: name, Err: &layout.UnreadableError{
			Path: name, BlobID: layout.GitBlobID([]byte(filepath.ToSlash(target))), Reason: fmt.Sprintf(format, args...)}}
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return nil, fail("symbolic link to %s, which cannot be followed to a file (%v)", target, unwrapPath(err))
	}
	root, err := filepath.EvalSymlinks(c.boundary)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", c.boundary, err)
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fail("symbolic link to %s, outside the repository: the tool reads whatever is there when it runs", target)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fail("symbolic link to %s, which cannot be followed to a file (%v)", target, unwrapPath(err))
	}
	if st.IsDir() {
		return nil, fail("symbolic link to the folder %s, not to a file", filepath.ToSlash(rel))
	}
	b, err := os.ReadFile(real)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

// ReadDir implements fs.ReadDirFS, as os.DirFS does, with openPlain.
func (c checkoutFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	f, err := openPlain(filepath.Join(c.root, filepath.FromSlash(name)), true)
	if err != nil {
		err.(*fs.PathError).Path = name
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if pe, ok := err.(*fs.PathError); ok {
		pe.Path = name
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, err
}

// readFile is os.ReadFile with openPlain.
func readFile(name string) ([]byte, error) {
	f, err := openPlain(name, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(0)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return readSized(size, f.Read)
}

// readSized reads until read says io.EOF into a buffer sized for a file
// of size bytes plus one, so that the read that finds the end needs no
// larger buffer; it grows when the file has grown since.
func readSized(size int64, read func([]byte) (int, error)) ([]byte, error) {
	n := 0
	if int64(int(size)) == size {
		n = int(size)
	}
	b := make([]byte, 0, max(n+1, 512))
	for {
		n, err := read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// Open keeps fs.ReadFile and Open consistent: a file is opened through
// ReadFile's rules.
func (c checkoutFS) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		return f, err
	}
	if fi, lerr := os.Lstat(filepath.Join(c.root, filepath.FromSlash(name))); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		f.Close()
		if _, err := c.ReadFile(name); err != nil {
			return nil, err
		}
		return c.FS.Open(name)
	}
	return f, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
