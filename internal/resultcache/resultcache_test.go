package resultcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T, namespace string, max int64) (*Dir, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := OpenDir(dir, namespace, max, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.entry"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDirRoundTrip(t *testing.T) {
	c, dir := openTest(t, "build-a", 0)
	if _, ok := c.Get("k"); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put("k", []byte("value"))
	if v, ok := c.Get("k"); !ok || string(v) != "value" {
		t.Fatalf("get: %q %v", v, ok)
	}
	if _, ok := c.Get("k2"); ok {
		t.Fatal("another key hit")
	}
	c.Put("empty", nil)
	if v, ok := c.Get("empty"); !ok || len(v) != 0 {
		t.Fatalf("empty value: %q %v", v, ok)
	}
	other, err := OpenDir(dir, "build-b", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := other.Get("k"); ok {
		t.Fatal("another build's entry was read")
	}
}

// damages are ways an entry file can be damaged.
func damages() map[string]func([]byte) []byte {
	return map[string]func([]byte) []byte{
		"truncated payload": func(b []byte) []byte { return b[:len(b)-1] },
		"truncated header":  func(b []byte) []byte { return b[:headerLen-1] },
		"empty":             func([]byte) []byte { return nil },
		"flipped payload":   func(b []byte) []byte { b[len(b)-5] ^= 1; return b },
		"flipped first":     func(b []byte) []byte { b[headerLen] ^= 0x80; return b },
		"flipped checksum":  func(b []byte) []byte { b[headerLen-1] ^= 1; return b },
		"flipped length":    func(b []byte) []byte { b[8+32+7] ^= 1; return b },
		"flipped key":       func(b []byte) []byte { b[8] ^= 1; return b },
		"longer":            func(b []byte) []byte { return append(b, 'x') },
		"other layout":      func(b []byte) []byte { b[7] = '9'; return b },
	}
}

// TestDirIgnoresDamage: an entry that is truncated, damaged, of another
// layout, or another key's (a file copied over) is a miss.
func TestDirIgnoresDamage(t *testing.T) {
	c, _ := openTest(t, "b", 0)
	value := bytes.Repeat([]byte("0123456789"), 100)
	_, file := c.name("k")
	_, otherFile := c.name("other")
	for name, f := range damages() {
		c.Put("k", value)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, f(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if v, ok := c.Get("k"); ok {
			t.Errorf("%s: hit (%d bytes)", name, len(v))
		}
	}
	c.Put("k", value)
	data, _ := os.ReadFile(file)
	if err := os.WriteFile(otherFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("other"); ok {
		t.Error("an entry copied under another key's name was read")
	}
	if v, ok := c.Get("k"); !ok || !bytes.Equal(v, value) {
		t.Error("the intact entry was lost")
	}
}

// TestDirConcurrentWriters: runs writing and reading the same keys at
// once only ever read a whole entry.
func TestDirConcurrentWriters(t *testing.T) {
	c, dir := openTest(t, "b", 0)
	value := func(k int) []byte { return bytes.Repeat([]byte{byte('a' + k)}, 64<<10) }
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine opens its own Dir, as separate runs would.
			d, err := OpenDir(dir, "b", 0, nil)
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < 30; i++ {
				k := i % 3
				d.Put(fmt.Sprint(k), value(k))
				if v, ok := d.Get(fmt.Sprint((k + 1) % 3)); ok && !bytes.Equal(v, value((k+1)%3)) {
					errs <- fmt.Errorf("key %d: read %d bytes that are not its value", (k+1)%3, len(v))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for k := 0; k < 3; k++ {
		if v, ok := c.Get(fmt.Sprint(k)); !ok || !bytes.Equal(v, value(k)) {
			t.Errorf("key %d after the writers: %v", k, ok)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestDirConcurrentProcesses runs the same writes from separate processes
// (this test binary again).
func TestDirConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("RESULTCACHE_CHILD_DIR"); dir != "" {
		d, err := OpenDir(dir, "b", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 50; i++ {
			d.Put("shared", bytes.Repeat([]byte("z"), 32<<10))
			if v, ok := d.Get("shared"); !ok || len(v) != 32<<10 {
				t.Fatalf("read back %d bytes, %v", len(v), ok)
			}
		}
		return
	}
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for i := 0; i < 4; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDirConcurrentProcesses$")
		cmd.Env = append(os.Environ(), "RESULTCACHE_CHILD_DIR="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Log(out.String())
			}
		})
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer process: %v", err)
		}
	}
	c, err := OpenDir(dir, "b", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Get("shared"); !ok || !bytes.Equal(v, bytes.Repeat([]byte("z"), 32<<10)) {
		t.Fatal("the shared entry is not whole")
	}
}

// TestDirTrim: beyond the bound, the entries used least recently go; a
// read counts as a use.
func TestDirTrim(t *testing.T) {
	entrySize := int64(headerLen + 1000)
	c, dir := openTest(t, "b", 3*entrySize)
	old := time.Now().Add(-time.Hour)
	for i := 0; i < 3; i++ {
		k := fmt.Sprint(i)
		c.Put(k, bytes.Repeat([]byte{'x'}, 1000))
		_, f := c.name(k)
		// Distinct ages, oldest first, without waiting for the clock.
		at := old.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(f, at, at); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(entries(t, dir)); n != 3 {
		t.Fatalf("%d entries within the bound, want 3", n)
	}
	if _, ok := c.Get("0"); !ok { // the oldest is now the most recent
		t.Fatal("entry 0 missing")
	}
	c.Put("3", bytes.Repeat([]byte{'x'}, 1000))
	for k, want := range map[string]bool{"0": true, "1": false, "2": true, "3": true} {
		_, f := c.name(k)
		if _, err := os.Stat(f); (err == nil) != want {
			t.Errorf("entry %s present %v, want %v", k, err == nil, want)
		}
	}
	stale := filepath.Join(dir, ".tmp-crashed")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, ".tmp-writing")
	if err := os.WriteFile(fresh, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if err := c.Trim(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a stale temporary file was kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a temporary file being written was removed")
	}
}

type recordHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r)
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

// TestDirUnwritable: a folder that cannot be created fails OpenDir; a
// folder that goes away makes writes fail quietly (debug level) and reads
// miss.
func TestDirUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(filepath.Join(file, "cache"), "b", 0, nil); err == nil {
		t.Fatal("a cache under a regular file opened")
	}
	dir := filepath.Join(t.TempDir(), "gone")
	h := &recordHandler{}
	c, err := OpenDir(dir, "b", 0, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	c.Put("k", []byte("v"))
	if _, ok := c.Get("k"); ok {
		t.Fatal("hit after a failed write")
	}
	if len(h.recs) == 0 {
		t.Fatal("the failed write was not logged")
	}
	for _, r := range h.recs {
		if r.Level != slog.LevelDebug {
			t.Errorf("logged at %v: %s", r.Level, r.Message)
		}
	}
}

func TestMemoryLRU(t *testing.T) {
	m := NewMemory(30)
	m.Put("a", bytes.Repeat([]byte("1"), 9)) // 10 bytes with its key
	m.Put("b", bytes.Repeat([]byte("2"), 9))
	m.Put("c", bytes.Repeat([]byte("3"), 9))
	if _, ok := m.Get("a"); !ok {
		t.Fatal("a missing within the bound")
	}
	m.Put("d", bytes.Repeat([]byte("4"), 9)) // evicts b, the least recently used
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok := m.Get(k); ok != want {
			t.Errorf("%s present %v, want %v", k, ok, want)
		}
	}
	m.Put("huge", bytes.Repeat([]byte("x"), 100))
	if _, ok := m.Get("huge"); ok || m.Len() != 3 {
		t.Errorf("a value over the bound was kept (len %d)", m.Len())
	}
	v := []byte("original")
	m.Put("copy", v)
	v[0] = 'X'
	if got, _ := m.Get("copy"); string(got) != "original" {
		t.Errorf("the cache kept the caller's slice: %q", got)
	}
}

// TestBuildID reads what `go tool buildid` reads.
func TestBuildID(t *testing.T) {
	id, err := BuildID()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	if want := strings.TrimSpace(string(out)); id != want {
		t.Fatalf("BuildID %q, go tool buildid %q", id, want)
	}
}

func readEntry(t *testing.T, c *Dir, key string) ([]byte, bool) {
	t.Helper()
	e, ok := c.Open(key)
	if !ok {
		return nil, false
	}
	defer e.Close()
	b, err := io.ReadAll(e)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	if int64(len(b)) != e.Size() {
		t.Fatalf("%s: %d bytes read, size %d", key, len(b), e.Size())
	}
	return b, true
}

// TestDirOpen: Open reads what Get reads, small, empty and larger than
// its buffer, and misses wherever Get misses (TestDirIgnoresDamage's
// damages).
func TestDirOpen(t *testing.T) {
	c, _ := openTest(t, "b", 0)
	if _, ok := c.Open("k"); ok {
		t.Fatal("hit in an empty cache")
	}
	for _, value := range [][]byte{[]byte("value"), {}, bytes.Repeat([]byte("0123456789abcdef"), 50000)} {
		c.Put("k", value)
		if got, ok := readEntry(t, c, "k"); !ok || !bytes.Equal(got, value) {
			t.Fatalf("%d bytes: got %d bytes, %v", len(value), len(got), ok)
		}
	}
	value := bytes.Repeat([]byte("0123456789"), 100)
	_, file := c.name("k")
	for name, f := range damages() {
		c.Put("k", value)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, f(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if v, ok := c.Open("k"); ok {
			v.Close()
			t.Errorf("%s: hit", name)
		}
	}
}

// TestDirOpenChangedWhileRead: an entry changed in place between Open's
// check and the read (no writer of this package does that) fails at its
// end instead of ending as if whole.
func TestDirOpenChangedWhileRead(t *testing.T) {
	c, _ := openTest(t, "b", 0)
	value := bytes.Repeat([]byte("0123456789"), 20000)
	c.Put("k", value)
	_, file := c.name("k")
	e, ok := c.Open("k")
	if !ok {
		t.Fatal("miss")
	}
	defer e.Close()
	first := make([]byte, 100)
	if _, err := io.ReadFull(e, first); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("X"), headerLen+150000); err != nil {
		t.Fatal(err)
	}
	w.Close()
	rest, err := io.ReadAll(e)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("read %d bytes, %v; want ErrChanged", len(rest), err)
	}
}
