package proposal

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// overlay is a read-only file system that shows base with one file added
// (content != nil) or hidden (content == nil). Folders leading to an added
// file exist even when base has none, as they will once it is written.
type overlay struct {
	base    fs.FS
	path    string
	content []byte
}

func (o overlay) present() bool { return o.content != nil }

// above is true when dir is a folder on the way to the file.
func (o overlay) above(dir string) bool {
	return dir == "." || strings.HasPrefix(o.path, dir+"/")
}

func (o overlay) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == o.path {
		if !o.present() {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return &memFile{info: o.fileInfo(), r: bytes.NewReader(o.content)}, nil
	}
	if !o.above(name) {
		return o.base.Open(name)
	}
	entries, err := o.ReadDir(name)
	if err != nil {
		return nil, err
	}
	return &dirFile{info: dirInfo(path.Base(name)), entries: entries}, nil
}

func (o overlay) Stat(name string) (fs.FileInfo, error) {
	if name == o.path && o.present() {
		return o.fileInfo(), nil
	}
	if name == o.path {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	if o.above(name) && o.present() {
		if st, err := fs.Stat(o.base, name); err == nil {
			return st, nil
		}
		return dirInfo(path.Base(name)), nil
	}
	return fs.Stat(o.base, name)
}

func (o overlay) ReadFile(name string) ([]byte, error) {
	if name == o.path {
		if !o.present() {
			return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
		}
		return append([]byte(nil), o.content...), nil
	}
	return fs.ReadFile(o.base, name)
}

func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(o.base, name)
	if err != nil && !(o.above(name) && o.present() && errors.Is(err, fs.ErrNotExist)) {
		return nil, err
	}
	if !o.above(name) {
		return entries, nil
	}
	// The child of name on the way to the file: the file itself, or a folder.
	rest := o.path
	if name != "." {
		rest = strings.TrimPrefix(o.path, name+"/")
	}
	child, _, deeper := strings.Cut(rest, "/")
	out := make([]fs.DirEntry, 0, len(entries)+1)
	found := false
	for _, e := range entries {
		if e.Name() == child {
			if !deeper {
				continue // the file: shown as proposed, or hidden
			}
			found = true
		}
		out = append(out, e)
	}
	switch {
	case !o.present():
	case !deeper:
		out = append(out, fs.FileInfoToDirEntry(o.fileInfo()))
	case !found:
		out = append(out, fs.FileInfoToDirEntry(dirInfo(child)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (o overlay) fileInfo() fs.FileInfo {
	return info{name: path.Base(o.path), size: int64(len(o.content)), mode: 0o444}
}

func dirInfo(name string) fs.FileInfo { return info{name: name, mode: fs.ModeDir | 0o555} }

type info struct {
	name string
	size int64
	mode fs.FileMode
}

func (i info) Name() string       { return i.name }
func (i info) Size() int64        { return i.size }
func (i info) Mode() fs.FileMode  { return i.mode }
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.mode.IsDir() }
func (i info) Sys() any           { return nil }

type memFile struct {
	info fs.FileInfo
	r    *bytes.Reader
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *memFile) Close() error               { return nil }

type dirFile struct {
	info    fs.FileInfo
	entries []fs.DirEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}
