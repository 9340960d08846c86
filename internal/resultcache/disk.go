// Package resultcache keeps results that depend only on their inputs'
// content: on disk for the CLI (Dir), in memory for the App (Memory).
// Both satisfy analyzer.Cache.
//
// A cache never decides an answer: an entry that is missing, damaged,
// written by another build or being written is a miss, and the work is
// done again. Every error is logged at debug level and the run goes on
// uncached.
package resultcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBytes bounds the on-disk cache: beyond it, the entries used
// least recently are removed.
const DefaultMaxBytes = 256 << 20

// EnvDir names the environment variable that moves the on-disk cache.
const EnvDir = "MIGRATION_GUARD_CACHE_DIR"

// entryMagic starts every entry file; it changes with the file layout.
var entryMagic = []byte("mgcache2")

// entry file: magic, the SHA-256 of the namespaced key, the payload's
// length (8 bytes, big-endian), the payload's CRC-32C (4 bytes,
// big-endian), the payload.
//
// The key's SHA-256 is what makes an entry the answer to its key. The
// payload's checksum only has to catch damage (a torn write, a flipped
// bit), which CRC-32C is made for; it runs at memory speed where SHA-256
// took a tenth of a warm run that reads a report of megabytes.
const headerLen = 8 + sha256.Size + 8 + 4

// castagnoli is built on first use: a run that neither reads nor writes
// an entry does not pay for its tables.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// DefaultDir is where the CLI keeps its cache: $MIGRATION_GUARD_CACHE_DIR
// when set, else migration-guard under the user's cache folder
// ($XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS).
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache folder: %w", err)
	}
	return filepath.Join(base, "migration-guard"), nil
}

// Dir is a cache in a folder, shared by concurrent runs: entries are
// written to a temporary file and renamed into place, so a reader sees a
// whole entry or none, and two runs writing the same key both write a
// whole, equal entry.
type Dir struct {
	dir       string
	namespace string
	maxBytes  int64
	log       *slog.Logger
}

// OpenDir opens (creating it if needed) a cache folder. namespace keeps
// apart the entries of different builds (see BuildID): an entry is found
// only by the build that wrote it. maxBytes <= 0 means DefaultMaxBytes.
func OpenDir(dir, namespace string, maxBytes int64, log *slog.Logger) (*Dir, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if namespace == "" {
		return nil, errors.New("opening the cache: no build namespace")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the cache folder: %w", err)
	}
	return &Dir{dir: dir, namespace: namespace, maxBytes: maxBytes, log: log}, nil
}

// name is the entry's file name and the hash recorded inside it.
func (c *Dir) name(key string) ([sha256.Size]byte, string) {
	h := sha256.New()
	h.Write([]byte(c.namespace))
	h.Write([]byte{0})
	h.Write([]byte(key))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, filepath.Join(c.dir, hex.EncodeToString(sum[:])+".entry")
}

// Get returns the entry for key, or false. Whatever cannot be read or
// does not check out is a miss.
func (c *Dir) Get(key string) ([]byte, bool) {
	sum, file := c.name(key)
	data, err := os.ReadFile(file)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.log.Debug("cache: reading an entry", "file", file, "err", err)
		}
		return nil, false
	}
	payload, err := parseEntry(data, sum)
	if err != nil {
		c.log.Debug("cache: ignoring an entry", "file", file, "err", err)
		return nil, false
	}
	// Mark it used: the trim removes the entries used least recently.
	now := time.Now()
	if err := os.Chtimes(file, now, now); err != nil {
		c.log.Debug("cache: touching an entry", "file", file, "err", err)
	}
	return payload, true
}

// Open returns the entry for key as a reader of its payload, or false:
// a miss for the same reasons as Get. The whole entry has been checked
// (its layout, key, length and checksum) before Open returns, reading
// through a buffer of its own, so that a payload of megabytes is copied
// where it goes without ever being held whole in memory. The caller
// closes the entry.
func (c *Dir) Open(key string) (*Entry, bool) {
	sum, file := c.name(key)
	f, err := os.Open(file)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.log.Debug("cache: reading an entry", "file", file, "err", err)
		}
		return nil, false
	}
	e, err := checkEntry(f, sum)
	if err != nil {
		f.Close()
		c.log.Debug("cache: ignoring an entry", "file", file, "err", err)
		return nil, false
	}
	now := time.Now()
	if err := os.Chtimes(file, now, now); err != nil {
		c.log.Debug("cache: touching an entry", "file", file, "err", err)
	}
	return e, true
}

// ErrChanged is what reading an entry returns at its end when the bytes
// read differ from those Open checked: only a writer changing the file
// in place (never this package, which replaces entries whole) does that.
var ErrChanged = errors.New("the cache entry changed while it was read")

// Entry is an entry's payload, checked by Open and checked again as it is
// read: its last Read returns ErrChanged instead of io.EOF when the bytes
// are no longer the ones checked.
type Entry struct {
	f          *os.File
	r          io.Reader
	crc        hash.Hash32
	want       uint32
	size, read uint64
}

// Size is the payload's length.
func (e *Entry) Size() int64 { return int64(e.size) }

func (e *Entry) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.crc.Write(p[:n])
	e.read += uint64(n)
	if err == io.EOF && (e.read != e.size || e.crc.Sum32() != e.want) {
		return n, ErrChanged
	}
	return n, err
}

// Close closes the entry's file.
func (e *Entry) Close() error { return e.f.Close() }

// checkEntry reads f's header and whole payload, and leaves f at the
// payload's start.
func checkEntry(f *os.File, key [sha256.Size]byte) (*Entry, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || !bytes.Equal(hdr[:8], entryMagic) {
		return nil, errors.New("not an entry of this layout")
	}
	h := hdr[8:]
	if !bytes.Equal(h[:sha256.Size], key[:]) {
		return nil, errors.New("the entry is another key's")
	}
	h = h[sha256.Size:]
	n := binary.BigEndian.Uint64(h[:8])
	want := binary.BigEndian.Uint32(h[8:12])
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if got := st.Size() - headerLen; got < 0 || uint64(got) != n {
		return nil, fmt.Errorf("truncated or extended: %d bytes of %d", got, n)
	}
	crc := crc32.New(castagnoli())
	read, err := io.CopyBuffer(crc, io.LimitReader(f, int64(n)), make([]byte, 64<<10))
	if err != nil {
		return nil, err
	}
	if uint64(read) != n {
		return nil, fmt.Errorf("truncated: %d bytes of %d", read, n)
	}
	if crc.Sum32() != want {
		return nil, errors.New("checksum mismatch")
	}
	if _, err := f.Seek(headerLen, io.SeekStart); err != nil {
		return nil, err
	}
	return &Entry{f: f, r: io.LimitReader(f, int64(n)), crc: crc32.New(castagnoli()), want: want, size: n}, nil
}

func parseEntry(data []byte, key [sha256.Size]byte) ([]byte, error) {
	if len(data) < headerLen || !bytes.Equal(data[:8], entryMagic) {
		return nil, errors.New("not an entry of this layout")
	}
	h := data[8:]
	if !bytes.Equal(h[:sha256.Size], key[:]) {
		return nil, errors.New("the entry is another key's")
	}
	h = h[sha256.Size:]
	n := binary.BigEndian.Uint64(h[:8])
	want := binary.BigEndian.Uint32(h[8:12])
	payload := data[headerLen:]
	if uint64(len(payload)) != n {
		return nil, fmt.Errorf("truncated: %d bytes of %d", len(payload), n)
	}
	if crc32.Checksum(payload, castagnoli()) != want {
		return nil, errors.New("checksum mismatch")
	}
	return payload, nil
}

// Put stores value under key. Failing to is logged at debug level: the
// run goes on without the cache.
func (c *Dir) Put(key string, value []byte) {
	if err := c.put(key, value); err != nil {
		c.log.Debug("cache: writing an entry", "err", err)
	}
}

func (c *Dir) put(key string, value []byte) error {
	sum, file := c.name(key)
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	var hdr [headerLen]byte
	copy(hdr[:8], entryMagic)
	copy(hdr[8:], sum[:])
	binary.BigEndian.PutUint64(hdr[8+sha256.Size:], uint64(len(value)))
	binary.BigEndian.PutUint32(hdr[8+sha256.Size+8:], crc32.Checksum(value, castagnoli()))
	_, err = tmp.Write(hdr[:])
	if err == nil {
		_, err = tmp.Write(value)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	// Writes are rare (a run writes an entry or two, on a miss): listing
	// the folder after each keeps the bound whatever many short runs do.
	return c.Trim()
}

// staleTemp is how old a temporary file must be before a trim removes
// it: younger ones may be a concurrent run's write in progress.
const staleTemp = time.Hour

// Trim removes the entries used least recently until the folder holds at
// most the bound, and temporary files that a crashed run left behind.
func (c *Dir) Trim() error {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	type file struct {
		path  string
		size  int64
		mtime time.Time
	}
	var files []file
	var total int64
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		p := filepath.Join(c.dir, e.Name())
		if strings.HasPrefix(e.Name(), ".tmp-") {
			if time.Since(info.ModTime()) > staleTemp {
				_ = os.Remove(p)
			}
			continue
		}
		if !strings.HasSuffix(e.Name(), ".entry") {
			continue
		}
		files = append(files, file{p, info.Size(), info.ModTime()})
		total += info.Size()
	}
	if total <= c.maxBytes {
		return nil
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mtime.Equal(files[j].mtime) {
			return files[i].mtime.Before(files[j].mtime)
		}
		return files[i].path < files[j].path
	})
	for _, f := range files {
		if total <= c.maxBytes {
			break
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		total -= f.size
	}
	return nil
}
