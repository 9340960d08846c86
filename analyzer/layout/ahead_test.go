package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// concurrentFS is fsys, declared safe for concurrent reads: Discover
// reads its files and lists its folders ahead.
type concurrentFS struct{ fs.FS }

func (concurrentFS) ReadsConcurrently() bool { return true }

func (c concurrentFS) ReadFile(name string) ([]byte, error) { return fs.ReadFile(c.FS, name) }

func (c concurrentFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(c.FS, name) }

func (c concurrentFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(c.FS, name) }

// serialFS is fsys with every method but ReadsConcurrently: Discover
// reads it one file at a time.
type serialFS struct{ fsys failingFS }

func (s serialFS) Open(name string) (fs.File, error)          { return s.fsys.Open(name) }
func (s serialFS) ReadFile(name string) ([]byte, error)       { return s.fsys.ReadFile(name) }
func (s serialFS) ReadDir(name string) ([]fs.DirEntry, error) { return s.fsys.ReadDir(name) }
func (s serialFS) Stat(name string) (fs.FileInfo, error)      { return s.fsys.Stat(name) }

// failingFS fails the reads of some files and the listings of some
// folders with plain errors (not UnreadableError: Discover stops on them).
type failingFS struct {
	fstest.MapFS
	badFile, badDir string
}

func (f failingFS) ReadsConcurrently() bool { return true }

func (f failingFS) ReadFile(name string) ([]byte, error) {
	if name == f.badFile {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("device error")}
	}
	return f.MapFS.ReadFile(name)
}

func (f failingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name == f.badDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("device error")}
	}
	return f.MapFS.ReadDir(name)
}

// TestReadAheadErrorsAsWithout: a file that cannot be read and a folder
// that cannot be listed stop Discover with the same error, read ahead or
// not, whichever other reads were in flight.
func TestReadAheadErrorsAsWithout(t *testing.T) {
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("db/%03d_m.sql", i)] = "-- +goose Up\nCREATE TABLE t ();\n"
		files[fmt.Sprintf("prisma/migrations/%03d_m/migration.sql", i)] = "CREATE TABLE t ();\n"
	}
	files["prisma/migrations/migration_lock.toml"] = `provider = "postgresql"`
	for _, tc := range []struct{ badFile, badDir string }{
		{badFile: "db/017_m.sql"},
		{badFile: "db/039_m.sql"},
		{badFile: "prisma/migrations/005_m/migration.sql"},
		{badDir: "prisma/migrations/020_m"},
		{badDir: "db"},
		{badFile: "db/001_m.sql", badDir: "prisma/migrations/030_m"},
	} {
		plain := failingFS{MapFS: mapFS(files), badFile: tc.badFile, badDir: tc.badDir}
		_, want := Discover(serialFS{plain}, nil)
		if want == nil {
			t.Fatalf("%+v: no error without reading ahead", tc)
		}
		for range 20 {
			if _, err := Discover(plain, nil); err == nil || err.Error() != want.Error() {
				t.Fatalf("%+v: reading ahead: %v, want %v", tc, err, want)
			}
		}
	}
}

// gatedFS holds the read of one file until another has been read: only
// a discoverer that reads ahead gets past it.
type gatedFS struct {
	fstest.MapFS
	first, then string
	read        chan struct{}
	once        *sync.Once
}

func (g gatedFS) ReadsConcurrently() bool { return true }

func (g gatedFS) ReadFile(name string) ([]byte, error) {
	switch name {
	case g.then:
		g.once.Do(func() { close(g.read) })
	case g.first:
		select {
		case <-g.read:
		case <-time.After(time.Minute):
			return nil, errors.New("the next file was never read ahead")
		}
	}
	return g.MapFS.ReadFile(name)
}

func TestFilesAreReadAhead(t *testing.T) {
	files := map[string]string{}
	for i := 1; i <= 10; i++ {
		files[fmt.Sprintf("db/%03d_m.sql", i)] = "-- +goose Up\nCREATE TABLE t ();\n"
	}
	fsys := gatedFS{MapFS: mapFS(files), first: "db/002_m.sql", then: "db/003_m.sql", read: make(chan struct{}), once: &sync.Once{}}
	s, err := Discover(fsys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Migrations) != 10 || s.Migrations[1].Path != "db/002_m.sql" || string(s.Migrations[1].Content) != files["db/002_m.sql"] {
		t.Fatalf("got %q", order(s))
	}
	want, err := Discover(mapFS(files), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("read ahead:\n got  %+v\n want %+v", s, want)
	}
}
