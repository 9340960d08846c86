package main

// A warm `check --base` is answered from the cache before any migration is
// read: the output is keyed by git's own content addresses for every file
// that git can vouch for, and by the bytes of the few it cannot.
//
// What a blob id proves. git's object store is content-addressed: a blob's
// id is the SHA-1 (git's collision-detecting SHA-1; 40 hex digits) or, in a
// SHA-256 repository, the SHA-256 (64 hex digits) of its bytes. Two files
// with the same id have the same bytes, so the base's files are named by
// `git ls-tree` and never read for the key; the listing keeps the ids as
// git printed them, of either length.
//
// What it does not prove. A working-tree file is not a blob. `git diff
// BASE` leaves out a tracked file when the index entry is the base's blob
// and git believes the file matches the entry, and that belief rests on:
//   - the index's cached stat data: a file rewritten to the same size with
//     its modification time put back matches unless the change time is
//     compared (core.trustctime) and all fields are (core.checkStat); git
//     runs here with both forced on, and with no file-system monitor
//     (fullStatCheck). A file whose modification time is not older than
//     the index ("racy git") is compared by content by git itself. git
//     compares times in whole seconds (unless built with USE_NSEC), so an
//     edit within the second after git last looked at the file, with the
//     modification time put back, passes; a file whose change time (which
//     no program can put back) is not older than the index while its
//     modification time is, is read here. What stays blind, for git as for
//     this key: that edit, followed by another write of the index;
//   - entries marked assume-unchanged or skip-worktree, which git does not
//     look at: only an ordinary entry (`ls-files -v` tag H) is vouched for;
//   - conversion: the comparison is made after git's clean conversion, so
//     the working tree's bytes can differ from the blob's (core.autocrlf or
//     text/eol attributes turn LF into CRLF, ident expands $Id$, a filter
//     such as LFS or a working-tree-encoding rewrites the file). Line-ending
//     conversion and ident only ever add or remove bytes, so a file whose
//     size is not the blob's is read; a filter or an encoding can keep the
//     size, so a file with either attribute set (`git check-attr`) is read.
//
// Everything else is read and hashed: files git lists as changed or
// untracked, ignored files, the configuration and statistics files. A
// symbolic link or submodule anywhere (the base or the change), a file
// that is neither a regular file nor a folder, or any answer of git that
// does not parse, and there is no such key: the run reads every file, as
// before. And the key is stored only when every file the run then read
// had the bytes its address names, and every folder it listed the names
// the key saw (contentCheck): a file edited while the run read it leaves
// nothing behind.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	encbinary "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/internal/treefs"
)

// contentKeyFormat changes whenever what the key covers changes.
const contentKeyFormat = "migration-guard check output by content address 1"

// Bounds past which the key is not worth its reading: the run reads every
// file instead.
const (
	maxKeyFiles = 200_000
	maxKeyBytes = 64 << 20
)

// contentKey is the key of a --base run's output, and what the run must
// find when it reads the files for the key to be kept.
type contentKey struct {
	key string
	// addr is each working-tree file's address: "git <blob id>" or
	// "sha256 <hex>"; dirs each folder's entries, as the key saw them.
	addr map[string]string
	dirs map[string][]string
	// absent are files the key saw missing.
	absent map[string]bool
	// entries are the folders' entries as the walk read them: the run
	// lists a folder from here, as the key saw it, instead of again.
	entries map[string][]fs.DirEntry
}

// keyFields hashes tagged, length-prefixed fields.
type keyFields struct{ h hash.Hash }

func (k keyFields) add(tag string, b []byte) {
	var n [encbinary.MaxVarintLen64]byte
	k.h.Write(n[:encbinary.PutUvarint(n[:], uint64(len(tag)))])
	k.h.Write([]byte(tag))
	k.h.Write(n[:encbinary.PutUvarint(n[:], uint64(len(b)))])
	k.h.Write(b)
}

// keyInputs is what a --base run's output depends on besides the files.
type keyInputs struct {
	opt       checkOptions
	root, cwd string
	commit    string
	args      []string
	color     bool
	cfg       analyzer.Config
}

// keyStart is the part of the key's work that needs nothing from git but
// the checkout's root: the walk of the working tree, and check-attr's
// start-up. It runs while git lists the base and the changes.
type keyStart struct {
	dir    string
	walked chan walkDone
	attrs  *attrQuery
}

type walkDone struct {
	w   *walked
	err error
}

// startContentKey starts the walk and check-attr in the checkout whose root
// is dir.
func startContentKey(ctx context.Context, dir string) *keyStart {
	ks := &keyStart{dir: dir, walked: make(chan walkDone, 1), attrs: gitRepo{root: dir}.startAttrQuery(ctx)}
	go func() {
		w, err := walkCheckout(dir)
		if err == nil {
			// The files discovery may read: git looks up their attributes
			// while the base and the changes are listed.
			ks.attrs.send(w.files)
		}
		ks.walked <- walkDone{w, err}
	}()
	return ks
}

// startContentKeyAt starts it for the checkout that holds cwd: early, in
// cwd itself, when cwd looks like the root (it holds .git), so that it
// runs while rev-parse finds the root; once the root is known, rootKnown
// keeps it if cwd is the root, and starts it again at the root otherwise.
func startContentKeyAt(ctx context.Context, cwd string) (early *keyStart, rootKnown func(root string) *keyStart) {
	if _, err := os.Lstat(filepath.Join(cwd, ".git")); err == nil {
		early = startContentKey(ctx, cwd)
	}
	return early, func(root string) *keyStart {
		if early != nil {
			a, aerr := os.Stat(early.dir)
			b, berr := os.Stat(root)
			if aerr == nil && berr == nil && os.SameFile(a, b) {
				return early
			}
			early.abandon()
		}
		return startContentKey(ctx, root)
	}
}

// abandon ends what start began when no key is built.
func (ks *keyStart) abandon() {
	ks.attrs.abandon()
	<-ks.walked
}

// newContentKey builds the key, or returns an error saying why there is
// none (the run then reads every file, as without it). It ends what ks
// began.
func newContentKey(ctx context.Context, g gitRepo, ch *gitChange, in keyInputs, ks *keyStart) (*contentKey, error) {
	if ch.special {
		ks.abandon()
		return nil, errors.New("a symbolic link or submodule changed")
	}
	base := map[string]treefs.Entry{}
	for _, e := range ch.entries {
		if e.Link || e.Submodule {
			ks.abandon()
			return nil, fmt.Errorf("%s is a symbolic link or submodule at the base", e.Path)
		}
		base[e.Path] = e
	}
	// The files git may vouch for; check-attr says which of them a filter
	// or an encoding may rewrite.
	var candidates []string
	for _, e := range ch.entries {
		if !ch.differs[e.Path] && !ch.untracked[e.Path] && ch.tags[e.Path] == 'H' && e.Size >= 0 {
			candidates = append(candidates, e.Path)
		}
	}
	type attrResult struct {
		rewritten map[string]bool
		err       error
	}
	attrs := make(chan attrResult, 1)
	go func() {
		r, err := ks.attrs.ask(candidates)
		attrs <- attrResult{r, err}
	}()
	var locs []string
	for _, l := range in.cfg.Migrations {
		locs = append(locs, layout.ScanRoot(l.Path))
	}
	wd := <-ks.walked
	w, err := wd.w, wd.err
	if err == nil {
		err = w.extend(in.root, locs)
	}
	ar := <-attrs
	if err != nil {
		return nil, err
	}
	if ar.err != nil {
		return nil, fmt.Errorf("git check-attr: %w", ar.err)
	}

	k := &contentKey{addr: map[string]string{}, dirs: w.dirs, absent: map[string]bool{}, entries: w.entries}
	h := keyFields{sha256.New()}
	h.add("format", []byte(contentKeyFormat))
	opts, err := json.Marshal(struct {
		Version, Format, FailOn, Base, Commit, Root, Cwd, ConfigFlag, StatsFlag string
		Color                                                                   bool
		Args                                                                    []string
	}{version, in.opt.format, in.opt.failOn, in.opt.base, in.commit, in.root, in.cwd, in.opt.configPath, in.opt.statsPath, in.color, in.args})
	if err != nil {
		return nil, fmt.Errorf("encoding the options: %w", err)
	}
	h.add("options", opts)
	for _, f := range []string{in.opt.configPath, in.opt.statsPath} {
		if f == "" {
			h.add("flag file", nil)
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		sum := sha256.Sum256(b)
		h.add("flag file", sum[:])
	}
	h.add("base", ch.listing)
	h.add("diff", ch.diff)
	h.add("index", ch.index)
	if g.index == "" {
		return nil, errors.New("the index file is unknown")
	}
	ist, err := os.Stat(g.index)
	if err != nil {
		return nil, fmt.Errorf("reading the index: %w", err)
	}
	indexTime := ist.ModTime().Unix()
	read := 0
	addrOf := func(p string) (string, error) {
		full := filepath.Join(in.root, filepath.FromSlash(p))
		if e, ok := base[p]; ok && !ar.rewritten[p] && ch.tags[p] == 'H' && !ch.differs[p] && !ch.untracked[p] {
			st, ok := w.info[p]
			if !ok {
				var err error
				if st, err = os.Lstat(full); err != nil {
					return "", fmt.Errorf("reading %s: %w", p, err)
				}
			}
			// Changed since the index was written, yet with a modification
			// time from before it: a time put back, which git's own
			// racy-file check (by modification time, in whole seconds)
			// does not see.
			ctime, known := changeTime(st)
			setBack := !known || ctime >= indexTime && st.ModTime().Unix() < indexTime
			if st.Mode().IsRegular() && st.Size() == e.Size && !setBack {
				return "git " + e.ID, nil
			}
		}
		b, err := os.ReadFile(full)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", p, err)
		}
		if read += len(b); read > maxKeyBytes {
			return "", fmt.Errorf("more than %d bytes to read", maxKeyBytes)
		}
		sum := sha256.Sum256(b)
		return "sha256 " + hex.EncodeToString(sum[:]), nil
	}
	for _, d := range w.order {
		h.add("folder", []byte(d))
		for _, name := range w.dirs[d] {
			h.add("entry", []byte(name))
		}
	}
	for _, p := range w.files {
		a, err := addrOf(p)
		if err != nil {
			return nil, err
		}
		k.addr[p] = a
		h.add("file", []byte(p))
		h.add("address", []byte(a))
	}
	// The guard's own files at the head, which settingsFiles reads even in
	// folders the walk skips.
	for _, p := range []string{analyzer.ConfigPath, in.cfg.StatsFile} {
		if p == "" || !fs.ValidPath(p) {
			h.add("settings file", nil)
			continue
		}
		if _, seen := k.addr[p]; seen {
			continue
		}
		st, err := os.Lstat(filepath.Join(in.root, filepath.FromSlash(p)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			h.add("settings file absent", []byte(p))
			k.absent[p] = true
			continue
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", p, err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("%s is not a regular file", p)
		}
		a, err := addrOf(p)
		if err != nil {
			return nil, err
		}
		k.addr[p] = a
		h.add("settings file", []byte(p))
		h.add("address", []byte(a))
	}
	k.key = hex.EncodeToString(h.h.Sum(nil))
	return k, nil
}

// walked is the working tree as discovery can see it.
type walked struct {
	files []string               // every regular file, in walk order
	info  map[string]fs.FileInfo // each file's lstat
	order []string               // every folder listed, in walk order
	dirs  map[string][]string    // folder -> entry names, sorted
	// entries are each folder's entries, as os.ReadDir gave them.
	entries map[string][]fs.DirEntry
	// skipped are the folders passed over, in walk order.
	skipped []string
}

// walkCheckout lists the working tree from its root, skipping .git at the
// root and, below it, the folders discovery skips (extend walks those a
// configured location lies in). A symbolic link or a special file ends it
// with an error: checkoutFS follows links, and the key does not.
func walkCheckout(root string) (*walked, error) {
	w := &walked{dirs: map[string][]string{}, info: map[string]fs.FileInfo{}, entries: map[string][]fs.DirEntry{}}
	if err := w.walk(root, "."); err != nil {
		return nil, err
	}
	return w, nil
}

// extend walks the skipped folders that lead to a configured location.
func (w *walked) extend(root string, locs []string) error {
	leadsTo := func(dir string) bool {
		for _, l := range locs {
			if l == dir || strings.HasPrefix(l, dir+"/") {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(w.skipped); i++ {
		d := w.skipped[i]
		if !leadsTo(d) {
			continue
		}
		if d == ".git" {
			return errors.New("a configured location inside .git")
		}
		// Below it, the same rule: its own skipped folders are appended
		// and looked at in turn.
		if err := w.walk(root, d); err != nil {
			return err
		}
	}
	return nil
}

func (w *walked) walk(root, dir string) error {
	es, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	w.order = append(w.order, dir)
	// The names as os.ReadDir gives them, .git included: contentCheck
	// compares them with what discovery lists.
	names := make([]string, 0, len(es))
	for _, e := range es {
		names = append(names, e.Name())
	}
	w.dirs[dir] = names
	w.entries[dir] = make([]fs.DirEntry, len(es))
	copy(w.entries[dir], es)
	for _, e := range es {
		p := path.Join(dir, e.Name())
		switch t := e.Type(); {
		case t.IsDir():
			if dir == "." && e.Name() == ".git" || layout.SkipsFolder(e.Name()) {
				w.skipped = append(w.skipped, p)
				continue
			}
			if err := w.walk(root, p); err != nil {
				return err
			}
		case t.IsRegular():
			if dir == "." && e.Name() == ".git" {
				continue // a linked worktree's or submodule's pointer
			}
			info, err := e.Info()
			if err != nil {
				return fmt.Errorf("reading %s: %w", p, err)
			}
			w.files = append(w.files, p)
			w.info[p] = info
		default:
			return fmt.Errorf("%s is a symbolic link or special file", p)
		}
		if len(w.files)+len(w.order) > maxKeyFiles {
			return fmt.Errorf("more than %d files", maxKeyFiles)
		}
	}
	return nil
}

// attrQuery is a `git check-attr` started ahead of its question. Paths
// may be sent before it (the walk's files, once walked), so that git
// answers while the base and the changes are listed; ask sends the rest
// and collects every answer.
type attrQuery struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	// answers is standard output, read whole by a goroutine started with
	// the process (so that git never waits on a full pipe while paths are
	// still sent).
	answers chan attrAnswers
	err     error
	once    sync.Once
	// mu guards what was sent: the paths (each once, in order), the
	// writer, and whether standard input is closed.
	mu     sync.Mutex
	in     *bufio.Writer
	sent   map[string]bool
	nsent  int
	werr   error
	closed bool
}

type attrAnswers struct {
	b   []byte
	err error
}

func (g gitRepo) startAttrQuery(ctx context.Context) *attrQuery {
	q := &attrQuery{sent: map[string]bool{}, answers: make(chan attrAnswers, 1)}
	q.cmd = g.command(ctx, "check-attr", "-z", "--stdin", "filter", "working-tree-encoding")
	if q.stdin, q.err = q.cmd.StdinPipe(); q.err != nil {
		return q
	}
	stdout, err := q.cmd.StdoutPipe()
	if q.err = err; err != nil {
		return q
	}
	if q.err = q.cmd.Start(); q.err != nil {
		return q
	}
	q.in = bufio.NewWriterSize(q.stdin, 64<<10)
	go func() {
		b, err := io.ReadAll(stdout)
		q.answers <- attrAnswers{b, err}
	}()
	return q
}

// send asks about paths not sent yet, unless the question is closed.
func (q *attrQuery) send(paths []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil || q.closed || q.werr != nil {
		return
	}
	for _, p := range paths {
		if q.sent[p] {
			continue
		}
		q.sent[p] = true
		q.nsent++
		q.in.WriteString(p)
		q.in.WriteByte(0)
	}
	q.werr = q.in.Flush()
}

// close ends the question: nothing is sent after it.
func (q *attrQuery) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if err := q.stdin.Close(); q.werr == nil {
		q.werr = err
	}
	return q.werr
}

// abandon ends the process unasked.
func (q *attrQuery) abandon() {
	q.once.Do(func() {
		if q.err == nil {
			q.close()
			<-q.answers
			_ = q.cmd.Wait()
		}
	})
}

// ask lists, of the paths sent before and these, those a filter or a
// working-tree-encoding attribute applies to (from any attributes file git
// reads: the tree's, info/attributes, the user's, the system's).
func (q *attrQuery) ask(paths []string) (map[string]bool, error) {
	out := map[string]bool{}
	var err error
	asked := false
	q.once.Do(func() {
		asked = true
		if err = q.err; err != nil {
			return
		}
		out, err = q.run(paths)
	})
	if !asked {
		return nil, errors.New("asked twice")
	}
	return out, err
}

func (q *attrQuery) run(paths []string) (map[string]bool, error) {
	q.send(paths)
	werr := q.close()
	a := <-q.answers
	if err := q.cmd.Wait(); err != nil {
		return nil, err
	}
	if a.err != nil {
		return nil, a.err
	}
	if werr != nil {
		return nil, werr
	}
	// "<path>\0<attribute>\0<value>\0", two per path sent.
	recs := bytes.Split(a.b, []byte{0})
	if len(recs) > 0 && len(recs[len(recs)-1]) == 0 {
		recs = recs[:len(recs)-1]
	}
	if len(recs) != 3*2*q.nsent {
		return nil, fmt.Errorf("%d fields for %d paths", len(recs), q.nsent)
	}
	out := map[string]bool{}
	for i := 0; i < len(recs); i += 3 {
		if v := string(recs[i+2]); v != "unspecified" {
			out[string(recs[i])] = true
		}
	}
	return out, nil
}

// contentCheck is the head's file system as the run reads it: every file
// read is compared with the address the key gave it, and every folder
// listed with the names the key saw. ok turns false at the first
// difference, or at any read it cannot compare.
type contentCheck struct {
	fs.FS
	key *contentKey
	mu  sync.Mutex
	bad string
}

func (c *contentCheck) fail(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bad == "" {
		c.bad = why
	}
}

// mismatch is why the key must not be kept, or "".
func (c *contentCheck) mismatch() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bad
}

// ReadsConcurrently implements layout.ConcurrentFS as the checked file
// system does, so that discovery reads ahead through the check too: the
// comparisons only read the key, and the first difference is kept under
// a lock.
func (c *contentCheck) ReadsConcurrently() bool {
	cf, ok := c.FS.(layout.ConcurrentFS)
	return ok && cf.ReadsConcurrently()
}

// ReadFile implements fs.ReadFileFS.
func (c *contentCheck) ReadFile(name string) ([]byte, error) {
	b, err := fs.ReadFile(c.FS, name)
	if errors.Is(err, fs.ErrNotExist) && c.key.missing(name) {
		return b, err
	}
	if err != nil {
		c.fail("reading " + name + ": " + err.Error())
		return b, err
	}
	if !c.key.holds(name, b) {
		c.fail(name + " is not what the key saw")
	}
	return b, nil
}

// ReadDir implements fs.ReadDirFS. A folder the key listed is given as the
// key saw it: the run then judges what the key names.
func (c *contentCheck) ReadDir(name string) ([]fs.DirEntry, error) {
	if es, ok := c.key.entries[name]; ok {
		return append([]fs.DirEntry(nil), es...), nil
	}
	es, err := fs.ReadDir(c.FS, name)
	if err != nil {
		c.fail("listing " + name + ": " + err.Error())
		return es, err
	}
	want, ok := c.key.dirs[name]
	if !ok || len(want) != len(es) {
		c.fail("the folder " + name + " is not what the key saw")
		return es, nil
	}
	for i, e := range es {
		if e.Name() != want[i] {
			c.fail("the folder " + name + " is not what the key saw")
			break
		}
	}
	return es, nil
}

// Open implements fs.FS; reading an opened file is not compared, so it
// counts as a difference.
func (c *contentCheck) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return f, err
	}
	return &uncheckedFile{File: f, c: c, name: name}, nil
}

type uncheckedFile struct {
	fs.File
	c    *contentCheck
	name string
}

func (f *uncheckedFile) Read(p []byte) (int, error) {
	f.c.fail("read " + f.name + " without comparing it")
	return f.File.Read(p)
}

func (f *uncheckedFile) ReadDir(n int) ([]fs.DirEntry, error) {
	d, ok := f.File.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: errors.New("not a folder")}
	}
	f.c.fail("listed " + f.name + " without comparing it")
	return d.ReadDir(n)
}

// missing reports whether the key saw no file at name.
func (k *contentKey) missing(name string) bool {
	if k.absent[name] {
		return true
	}
	names, listed := k.dirs[path.Dir(name)]
	if !listed {
		return false
	}
	for _, n := range names {
		if n == path.Base(name) {
			return false
		}
	}
	return true
}

// holds reports whether b is what the key's address for name names.
func (k *contentKey) holds(name string, b []byte) bool {
	a, ok := k.addr[name]
	if !ok {
		return false
	}
	kind, want, _ := strings.Cut(a, " ")
	switch kind {
	case "git":
		var h hash.Hash
		switch len(want) {
		case 40:
			h = sha1.New()
		case 64:
			h = sha256.New()
		default:
			return false
		}
		fmt.Fprintf(h, "blob %d\x00", len(b))
		h.Write(b)
		return hex.EncodeToString(h.Sum(nil)) == want
	case "sha256":
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:]) == want
	}
	return false
}

// A content-keyed entry: one status byte (0: nothing requires approval,
// 1: something does), what the run wrote to standard error (its length
// first, as a uvarint), then the output.
func encodeContentEntry(failing bool, stderr, out []byte) []byte {
	status := byte(0)
	if failing {
		status = 1
	}
	var n [encbinary.MaxVarintLen64]byte
	b := append([]byte{status}, n[:encbinary.PutUvarint(n[:], uint64(len(stderr)))]...)
	b = append(b, stderr...)
	return append(b, out...)
}

func decodeContentEntry(v []byte) (failing bool, stderr, out []byte, ok bool) {
	if len(v) < 2 || v[0] > 1 {
		return false, nil, nil, false
	}
	n, w := encbinary.Uvarint(v[1:])
	if w <= 0 || n > uint64(len(v)-1-w) {
		return false, nil, nil, false
	}
	rest := v[1+w:]
	return v[0] == 1, rest[:n], rest[n:], true
}
