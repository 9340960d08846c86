package layout

import (
	"io/fs"
	"path"
	"strings"
	"sync"
)

// ConcurrentFS is a file system whose files may be read by several
// goroutines at once, a folder on disk. Discover reads the files it is
// about to need ahead, a few at a time in parallel, only from one that
// says so: a file system that reads through a single stream (git
// cat-file --batch) or a rate-limited API does not.
type ConcurrentFS interface {
	fs.FS
	ReadsConcurrently() bool
}

// readAheadWorkers bounds the reads in flight. Reading from the page
// cache is system-call work on the CPU: a few workers keep the cores
// busy while the loop that splits the files waits on none of them.
const readAheadWorkers = 4

// readAhead reads files for a discoverer ahead of its loop. A file's read
// is only ever a head start: the loop takes its bytes when the read
// succeeded, and reads the file again itself otherwise, so that an error
// (an unreadable link, a file gone) comes from the same place and in the
// same order as without it.
type readAhead struct {
	fsys    fs.FS
	pending map[string]*aheadRead // used by the discoverer's goroutine only
	work    chan *aheadRead
	stop    chan struct{}
	wg      sync.WaitGroup
}

type aheadRead struct {
	path string
	b    []byte
	err  error
	done chan struct{}
}

func newReadAhead(fsys fs.FS) *readAhead {
	if c, ok := fsys.(ConcurrentFS); !ok || !c.ReadsConcurrently() {
		return nil
	}
	r := &readAhead{fsys: fsys, pending: map[string]*aheadRead{}, work: make(chan *aheadRead, 1024), stop: make(chan struct{})}
	for range readAheadWorkers {
		r.wg.Add(1)
		go r.worker()
	}
	return r
}

func (r *readAhead) worker() {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case a := <-r.work:
			select {
			case <-r.stop:
				a.err = fs.ErrClosed
			default:
				a.b, a.err = fs.ReadFile(r.fsys, a.path)
			}
			close(a.done)
		}
	}
}

// start queues reads of the given files, in order, skipping those already
// read or queued. Only regular files are read ahead: anything else (a
// link, a pipe) is left to the loop and the file system's own rules.
func (r *readAhead) start(t *tree, cached map[string][]byte, paths []string) {
	if r == nil {
		return
	}
	for _, p := range paths {
		if _, ok := cached[p]; ok || !t.regular[p] {
			continue
		}
		if _, ok := r.pending[p]; ok {
			continue
		}
		a := &aheadRead{path: p, done: make(chan struct{})}
		r.pending[p] = a
		select {
		case r.work <- a:
		default:
			// The queue is full: this one is read by the loop.
			delete(r.pending, p)
			return
		}
	}
}

// take returns the bytes read ahead for p, waiting for its read, or false
// when p was not read ahead or its read failed.
func (r *readAhead) take(p string) ([]byte, bool) {
	if r == nil {
		return nil, false
	}
	a, ok := r.pending[p]
	if !ok {
		return nil, false
	}
	delete(r.pending, p)
	<-a.done
	return a.b, a.err == nil
}

// close stops the workers and waits for them: no read outlives Discover.
func (r *readAhead) close() {
	if r == nil {
		return
	}
	close(r.stop)
	r.wg.Wait()
}

// loadFiles lists the files a folder's loader is about to read: its .sql
// files (for Prisma, each migration folder's migration.sql; for Flyway,
// recursively; for sqitch, the deploy, revert and verify scripts).
func loadFiles(f folderPlan) []string {
	t := f.tree
	var out []string
	direct := func(dir string) {
		for _, n := range t.files[dir] {
			if strings.HasSuffix(n, ".sql") {
				out = append(out, joinName(dir, n))
			}
		}
	}
	var below func(dir string)
	below = func(dir string) {
		direct(dir)
		for _, sub := range t.dirs[dir] {
			below(joinName(dir, sub))
		}
	}
	switch f.kind {
	case Prisma:
		for _, sub := range t.dirs[f.path] {
			out = append(out, path.Join(f.path, sub, "migration.sql"))
		}
	case Flyway:
		out = flywayFiles(t, f.path)
	case Sqitch:
		if sp := f.sqitch; sp != nil {
			for _, dir := range []string{sp.deployDir, sp.revertDir, sp.verifyDir} {
				if dir != "" {
					below(dir)
				}
			}
		}
	default:
		direct(f.path)
	}
	return out
}

// listAhead lists the folders of a subtree ahead of fs.WalkDir, a few at
// a time in parallel: each listing queues those of its subfolders that
// the walk descends into. Like readAhead it is only a head start: the
// walk takes a listing that succeeded and lists the folder again itself
// otherwise, so errors come from where they came from without it.
type listAhead struct {
	fs.FS
	skip    func(name string) bool
	mu      sync.Mutex
	pending map[string]*aheadList
	slots   chan struct{}
	stopped chan struct{}
	wg      sync.WaitGroup
}

type aheadList struct {
	ents []fs.DirEntry
	err  error
	done chan struct{}
}

// newListAhead starts listing root; nil when fsys does not take
// concurrent reads. skip says which subfolders the walk does not enter.
func newListAhead(fsys fs.FS, root string, skip func(name string) bool) *listAhead {
	if c, ok := fsys.(ConcurrentFS); !ok || !c.ReadsConcurrently() {
		return nil
	}
	l := &listAhead{FS: fsys, skip: skip, pending: map[string]*aheadList{}, slots: make(chan struct{}, readAheadWorkers), stopped: make(chan struct{})}
	l.list(root)
	return l
}

func (l *listAhead) list(dir string) {
	a := &aheadList{done: make(chan struct{})}
	l.mu.Lock()
	l.pending[dir] = a
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer close(a.done)
		select {
		case <-l.stopped:
			a.err = fs.ErrClosed
			return
		case l.slots <- struct{}{}:
		}
		a.ents, a.err = fs.ReadDir(l.FS, dir)
		<-l.slots
		if a.err != nil {
			return
		}
		select {
		case <-l.stopped:
			return // the walk is over: nothing below is needed
		default:
		}
		for _, e := range a.ents {
			if e.IsDir() && !l.skip(e.Name()) {
				l.list(joinName(dir, e.Name()))
			}
		}
	}()
}

// Stat keeps the walk's view of its root what the file system says.
func (l *listAhead) Stat(name string) (fs.FileInfo, error) { return fs.Stat(l.FS, name) }

// ReadDir implements fs.ReadDirFS for the walk.
func (l *listAhead) ReadDir(name string) ([]fs.DirEntry, error) {
	l.mu.Lock()
	a := l.pending[name]
	delete(l.pending, name)
	l.mu.Unlock()
	if a != nil {
		<-a.done
		if a.err == nil {
			return a.ents, nil
		}
	}
	return fs.ReadDir(l.FS, name)
}

// close stops the listings not yet started and waits for the others.
func (l *listAhead) close() {
	close(l.stopped)
	l.wg.Wait()
}
