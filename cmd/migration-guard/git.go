package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/migration-guard/migration-guard/internal/treefs"
)

// errGitMissing says plainly what is wrong when git is not on PATH, instead
// of letting it pass for "not inside a git checkout".
var errGitMissing = errors.New("git is not installed (or not on PATH): --base reads the base commit with git")

// gitRepo runs git in one checkout.
type gitRepo struct {
	root string
	// index is the index file's path, when known (openAt).
	index string
}

// command is git with args in the checkout. Replacement objects
// (refs/replace) are ignored: the base's files are named by the blob ids
// its commit lists (the caches key them so), and with replacements git
// would read other bytes under the same ids.
func (g gitRepo) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{"--no-replace-objects"}, args...)...)
	cmd.Dir = g.root
	return cmd
}

func (g gitRepo) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := g.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := strings.TrimSpace(stderr.String())
			if i := strings.IndexByte(msg, '\n'); i >= 0 {
				msg = msg[:i]
			}
			return nil, fmt.Errorf("git %s: %s", subcommand(args), msg)
		}
		if errors.Is(err, exec.ErrNotFound) {
			return nil, errGitMissing
		}
		return nil, fmt.Errorf("running git: %w", err)
	}
	return out, nil
}

// subcommand is git's command in args, after any "-c name=value".
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		if args[i] == "-c" {
			i++
			continue
		}
		return args[i]
	}
	return ""
}

// openGitRepo finds the checkout that holds dir.
func openGitRepo(ctx context.Context, dir string) (gitRepo, error) {
	out, err := gitRepo{root: dir}.run(ctx, "rev-parse", "--show-toplevel")
	if errors.Is(err, errGitMissing) {
		return gitRepo{}, err
	}
	if err != nil {
		return gitRepo{}, fmt.Errorf("--base needs a git checkout, and %s is not inside one (%v)", dir, err)
	}
	return gitRepo{root: strings.TrimSpace(string(out))}, nil
}

// openAt finds the checkout that holds dir and resolves ref in it with one
// git process, where openGitRepo and resolve take one each (on a warm
// --base run, every process git starts is a noticeable part of the time).
// Should that one fail, or answer anything but a folder and a commit id,
// the two are run in turn, so that what went wrong is said as they say it.
func openAt(ctx context.Context, dir, ref string) (gitRepo, string, error) {
	if !strings.HasPrefix(ref, "-") {
		out, err := gitRepo{root: dir}.run(ctx, "rev-parse", "--show-toplevel", "--git-path", "index", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
		if err == nil {
			if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) == 3 && lines[0] != "" && lines[1] != "" && validObjectID(lines[2]) {
				index := lines[1]
				if !filepath.IsAbs(index) {
					index = filepath.Join(dir, index)
				}
				return gitRepo{root: lines[0], index: index}, lines[2], nil
			}
		}
	}
	repo, err := openGitRepo(ctx, dir)
	if err != nil {
		return gitRepo{}, "", err
	}
	commit, err := repo.resolve(ctx, ref)
	if err != nil {
		return gitRepo{}, "", err
	}
	return repo, commit, nil
}

// resolve turns a ref into a commit id, or says plainly that it is unknown.
func (g gitRepo) resolve(ctx context.Context, ref string) (string, error) {
	if strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("invalid ref %q", ref)
	}
	out, err := g.run(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return "", fmt.Errorf("unknown revision %q: no such branch, tag or commit in %s (in CI, fetch it first: git fetch origin %s)", ref, g.root, ref)
	}
	return strings.TrimSpace(string(out)), nil
}

// tree lists the files of a commit as a lazily read file system; each
// file read runs git once.
func (g gitRepo) tree(ctx context.Context, commit string) (*treefs.FS, error) {
	fetch := func(ctx context.Context, id string) ([]byte, error) {
		return g.run(ctx, "cat-file", "blob", id)
	}
	return g.treeWith(ctx, commit, fetch)
}

// newBlobReader reads blobs through one `git cat-file --batch` (a history
// of hundreds of files costs one process, not one each); close ends it.
// The process starts now, so that git readies itself while the tree is
// listed.
func newBlobReader(ctx context.Context, g gitRepo) *blobReader {
	b := &blobReader{g: g}
	b.mu.Lock()
	if err := b.start(ctx); err != nil {
		// The first read tries again, and falls back to one process per
		// file should that fail too.
		slog.Debug("git cat-file --batch: not started", "err", err)
	}
	b.mu.Unlock()
	return b
}

func (g gitRepo) treeWith(ctx context.Context, commit string, fetch treefs.Fetcher) (*treefs.FS, error) {
	_, entries, err := g.listTree(ctx, commit)
	if err != nil {
		return nil, err
	}
	return treefs.New(ctx, entries, fetch, nil), nil
}

// listTree lists every file of a commit: git's output as it came, and its
// entries.
func (g gitRepo) listTree(ctx context.Context, commit string) ([]byte, []treefs.Entry, error) {
	out, err := g.run(ctx, "ls-tree", "-r", "-z", "--long", "--full-tree", commit)
	if err != nil {
		return nil, nil, err
	}
	var entries []treefs.Entry
	for _, rec := range bytes.Split(out, []byte{0}) {
		// "<mode> <type> <id> <size>\t<path>"
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok {
			continue
		}
		fields := strings.Fields(string(meta))
		if len(fields) == 4 && fields[1] == "commit" {
			// A submodule: its files are in another repository.
			entries = append(entries, treefs.Entry{Path: string(p), ID: fields[2], Size: -1, Submodule: true})
			continue
		}
		if len(fields) != 4 || fields[1] != "blob" {
			continue
		}
		size, err := strconv.ParseInt(fields[3], 10, 64)
		if err != nil {
			size = -1
		}
		// A symbolic link (mode 120000) is a blob holding its target:
		// treefs follows it inside the tree, as the tool would.
		entries = append(entries, treefs.Entry{Path: string(p), ID: fields[2], Size: size, Link: fields[0] == "120000"})
	}
	return out, entries, nil
}

// blobReader reads blobs through one `git cat-file --batch`, started on
// the first read. Should the process fail or answer out of protocol, it
// is not used again and each read runs git on its own.
type blobReader struct {
	g      gitRepo
	mu     sync.Mutex
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	broken bool
}

func (b *blobReader) read(ctx context.Context, id string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.broken && validObjectID(id) {
		data, err := b.batch(ctx, id)
		if err == nil {
			return data, nil
		}
		b.broken = true
		b.stop()
	}
	return b.g.run(ctx, "cat-file", "blob", id)
}

// validObjectID: a hex object id, nothing that could end a request line.
func validObjectID(id string) bool {
	if len(id) < 40 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// start starts the batch process unless it runs; b.mu is held.
func (b *blobReader) start(ctx context.Context) error {
	if b.cmd != nil {
		return nil
	}
	cmd := b.g.command(ctx, "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	b.cmd, b.in, b.out = cmd, in, bufio.NewReaderSize(out, 64<<10)
	return nil
}

func (b *blobReader) batch(ctx context.Context, id string) ([]byte, error) {
	if err := b.start(ctx); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(b.in, id+"\n"); err != nil {
		return nil, err
	}
	// "<id> blob <size>\n<content>\n", or "<id> missing\n".
	header, err := b.out.ReadString('\n')
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(header)
	if len(fields) != 3 || fields[0] != id || fields[1] != "blob" {
		return nil, fmt.Errorf("git cat-file --batch: %q", strings.TrimSpace(header))
	}
	size, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("git cat-file --batch: size %q", fields[2])
	}
	data := make([]byte, size+1)
	if _, err := io.ReadFull(b.out, data); err != nil {
		return nil, err
	}
	if data[size] != '\n' {
		return nil, errors.New("git cat-file --batch: no newline after the content")
	}
	return data[:size], nil
}

func (b *blobReader) stop() {
	if b.cmd == nil {
		return
	}
	b.in.Close()
	_ = b.cmd.Wait()
	b.cmd = nil
}

func (b *blobReader) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stop()
}

// changedSince lists files added or modified between a commit and the
// working tree, untracked files included, relative to the repository root.
// The two git processes it takes run at the same time.
func (g gitRepo) changedSince(ctx context.Context, commit string) ([]string, error) {
	var untracked []byte
	var untrackedErr error
	listed := make(chan struct{})
	go func() {
		defer close(listed)
		untracked, untrackedErr = g.run(ctx, "ls-files", "-z", "--others", "--exclude-standard")
	}()
	diff, err := g.run(ctx, "diff", "--name-only", "-z", "--no-renames", "--diff-filter=AM", commit, "--")
	<-listed
	if err != nil {
		return nil, err
	}
	if err := untrackedErr; err != nil {
		return nil, err
	}
	var out []string
	for _, b := range [][]byte{diff, untracked} {
		for _, p := range bytes.Split(b, []byte{0}) {
			if len(p) > 0 {
				out = append(out, string(p))
			}
		}
	}
	return out, nil
}
