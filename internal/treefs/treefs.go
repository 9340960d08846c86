// Package treefs is a read-only fs.FS over a git tree listing whose file
// contents are fetched on first read. The listing (paths, blob ids) is cheap
// to get in one call, from `git ls-tree` or GitHub's trees API; contents are
// not, so only what is read is fetched, and a blob shared by two trees (the
// base and the head of a pull request) is fetched once.
package treefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// Entry is one file of the tree.
type Entry struct {
	Path string // slash-separated, relative to the root
	ID   string // blob id
	Size int64  // -1 when unknown
	// Link says the entry is a symbolic link (git mode 120000): its blob
	// holds the target path, and reading it reads the target.
	Link bool
	// Submodule says the entry is a git submodule (mode 160000): ID is a
	// commit of another repository, whose files are not here.
	Submodule bool
}

// maxLinkHops is how many symbolic links a read follows before calling it
// a loop, as Linux's MAXSYMLINKS.
const maxLinkHops = 40

// Fetcher reads a blob's content by id.
type Fetcher func(ctx context.Context, id string) ([]byte, error)

// Cache keeps fetched blobs by id; share one between trees of one repository.
type Cache struct {
	mu    sync.Mutex
	blobs map[string][]byte
	// Fetches counts blobs actually fetched, for tests and metrics.
	Fetches int
}

// NewCache makes an empty cache.
func NewCache() *Cache { return &Cache{blobs: map[string][]byte{}} }

// FS is the tree. Its methods use the context it was made with, because
// fs.FS has no place for one.
type FS struct {
	ctx   context.Context
	files map[string]Entry
	dirs  map[string][]string // dir -> sorted child names
	fetch Fetcher
	cache *Cache
	// MaxBytes refuses to fetch blobs larger than this when the size is
	// known; zero means no limit.
	MaxBytes int64
}

// ErrTooLarge is returned for a blob above MaxBytes.
var ErrTooLarge = errors.New("file is larger than the limit")

// New builds the tree. A nil cache gets a private one.
func New(ctx context.Context, entries []Entry, fetch Fetcher, cache *Cache) *FS {
	if cache == nil {
		cache = NewCache()
	}
	t := &FS{ctx: ctx, files: map[string]Entry{}, dirs: map[string][]string{".": nil}, fetch: fetch, cache: cache}
	children := map[string]map[string]bool{".": {}}
	for _, e := range entries {
		p := path.Clean(strings.TrimPrefix(e.Path, "/"))
		if p == "." || !fs.ValidPath(p) {
			continue
		}
		e.Path = p
		t.files[p] = e
		for child := p; child != "."; {
			dir := path.Dir(child)
			if children[dir] == nil {
				children[dir] = map[string]bool{}
			}
			children[dir][path.Base(child)] = true
			child = dir
		}
	}
	for dir, set := range children {
		names := make([]string, 0, len(set))
		for n := range set {
			names = append(names, n)
		}
		sort.Strings(names)
		t.dirs[dir] = names
	}
	return t
}

// BlobID returns the git blob id of a file as listed (a symbolic link's
// own id, not its target's).
func (t *FS) BlobID(name string) (string, bool) {
	e, ok := t.files[name]
	return e.ID, ok
}

// Entry returns a file's listing entry.
func (t *FS) Entry(name string) (Entry, bool) {
	e, ok := t.files[name]
	return e, ok
}

// Paths lists every file, sorted.
func (t *FS) Paths() []string {
	out := make([]string, 0, len(t.files))
	for p := range t.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ReadFile fetches (or takes from the cache) a file's content. A symbolic
// link is followed while it stays inside the tree; one that leads out of
// it, in a loop, to a folder or nowhere, and a file over MaxBytes, give a
// *layout.UnreadableError naming the blob that stands for it.
func (t *FS) ReadFile(name string) ([]byte, error) {
	e, ok := t.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	e, err := t.follow(name, e)
	if err != nil {
		return nil, err
	}
	if e.Submodule {
		return nil, &fs.PathError{Op: "read", Path: name, Err: &layout.UnreadableError{
			Path: name, BlobID: e.ID,
			Reason: fmt.Sprintf("a git submodule (commit %s of another repository): the tool runs its files, which were not read", e.ID)}}
	}
	if t.MaxBytes > 0 && e.Size > t.MaxBytes {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.Join(ErrTooLarge, &layout.UnreadableError{
			Path: name, BlobID: e.ID,
			Reason: fmt.Sprintf("the file is %d bytes, over the limit of %d bytes (max_file_bytes), so it was not read", e.Size, t.MaxBytes)})}
	}
	return t.blob(name, e)
}

// follow resolves a chain of symbolic links to the file it ends at.
func (t *FS) follow(name string, e Entry) (Entry, error) {
	first := e
	fail := func(format string, args ...any) (Entry, error) {
		return Entry{}, &fs.PathError{Op: "read", Path: name, Err: &layout.UnreadableError{
			Path: name, BlobID: first.ID, Reason: fmt.Sprintf(format, args...)}}
	}
	for hops := 0; e.Link; hops++ {
		if hops == maxLinkHops {
			return fail("symbolic link that does not end in a file after %d links (a loop)", maxLinkHops)
		}
		b, err := t.blob(e.Path, e)
		if err != nil {
			return Entry{}, err
		}
		target := string(b)
		if strings.HasPrefix(target, "/") {
			return fail("symbolic link to %s, outside the repository: the tool reads whatever is there when it runs", target)
		}
		resolved := path.Join(path.Dir(e.Path), target)
		if resolved == ".." || strings.HasPrefix(resolved, "../") {
			return fail("symbolic link to %s, outside the repository: the tool reads whatever is there when it runs", target)
		}
		next, ok := t.files[resolved]
		if !ok {
			if _, isDir := t.dirs[resolved]; isDir {
				return fail("symbolic link to the folder %s, not to a file", resolved)
			}
			return fail("symbolic link to %s, which is not a file of the repository", resolved)
		}
		e = next
	}
	return e, nil
}

// blob returns an entry's content, fetching it once per cache.
func (t *FS) blob(name string, e Entry) ([]byte, error) {
	t.cache.mu.Lock()
	b, ok := t.cache.blobs[e.ID]
	t.cache.mu.Unlock()
	if ok {
		// Callers may write to what they get; the cache must stay intact.
		return append([]byte(nil), b...), nil
	}
	b, err := t.fetch(t.ctx, e.ID)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	t.cache.mu.Lock()
	t.cache.blobs[e.ID] = b
	t.cache.Fetches++
	t.cache.mu.Unlock()
	return append([]byte(nil), b...), nil
}

// Open implements fs.FS.
func (t *FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if _, ok := t.dirs[name]; ok {
		return &dir{t: t, name: name}, nil
	}
	if _, ok := t.files[name]; !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	b, err := t.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &file{info: info{name: path.Base(name), size: int64(len(b))}, r: strings.NewReader(string(b))}, nil
}

// ReadDir implements fs.ReadDirFS without fetching anything.
func (t *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	names, ok := t.dirs[name]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, 0, len(names))
	for _, n := range names {
		out = append(out, fs.FileInfoToDirEntry(t.stat(path.Join(name, n))))
	}
	return out, nil
}

// Stat implements fs.StatFS without fetching anything.
func (t *FS) Stat(name string) (fs.FileInfo, error) {
	if _, ok := t.dirs[name]; !ok {
		if _, ok := t.files[name]; !ok {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
		}
	}
	return t.stat(name), nil
}

func (t *FS) stat(name string) info {
	if _, ok := t.dirs[name]; ok {
		return info{name: path.Base(name), dir: true}
	}
	return info{name: path.Base(name), size: t.files[name].Size}
}

type info struct {
	name string
	size int64
	dir  bool
}

func (i info) Name() string { return i.name }
func (i info) Size() int64  { return i.size }
func (i info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.dir }
func (i info) Sys() any           { return nil }

type file struct {
	info info
	r    *strings.Reader
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *file) Close() error               { return nil }

type dir struct {
	t    *FS
	name string
	read int
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.t.stat(d.name), nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}
func (d *dir) Close() error { return nil }
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	all, err := d.t.ReadDir(d.name)
	if err != nil {
		return nil, err
	}
	rest := all[d.read:]
	if n <= 0 {
		d.read = len(all)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.read += n
	return rest[:n], nil
}
