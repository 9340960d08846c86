package webhook

import (
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
	"github.com/migration-guard/migration-guard/internal/treefs"
)

// maxBlobBytes is GitHub's largest blob.
const maxBlobBytes = 100 << 20

// worthFetching keeps the changed files the analyzer can care about,
// judged by path alone.
func worthFetching(p string, cfg analyzer.Config) bool {
	return layout.IsMigrationPath(p, cfg.Migrations) || layout.IsMetadataPath(p)
}

// trees lists a commit's files: one recursive call, or, when GitHub
// truncates the listing (over 100,000 entries or 7 MB), the subtrees of
// the folders the analyzer needs.
type trees struct {
	r      *jobRun
	levels map[string][]*github.TreeEntry // one-level listings by tree SHA
}

func (t *trees) list(ctx context.Context, sha string, dirs []string) ([]treefs.Entry, []string, error) {
	tr, _, err := t.r.gh.Git.GetTree(ctx, t.r.j.Owner, t.r.j.Repo, sha, true)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the files at %s: %w", short(sha), err)
	}
	if !tr.GetTruncated() {
		return entriesOf(tr.Entries, ""), nil, nil
	}
	t.r.log.Info("tree listing truncated; listing the migration folders one by one", "sha", sha, "folders", dirs)
	var out []treefs.Entry
	var notes []string
	for _, dir := range dirs {
		entries, truncated, err := t.subtree(ctx, sha, dir)
		if err != nil {
			return nil, nil, err
		}
		if truncated {
			notes = append(notes, fmt.Sprintf("GitHub truncated the listing of %s at %s: migrations missing from it were not seen.", dir, short(sha)))
		}
		out = append(out, entries...)
	}
	return out, notes, nil
}

func (t *trees) level(ctx context.Context, sha string) ([]*github.TreeEntry, error) {
	if e, ok := t.levels[sha]; ok {
		return e, nil
	}
	tr, _, err := t.r.gh.Git.GetTree(ctx, t.r.j.Owner, t.r.j.Repo, sha, false)
	if err != nil {
		return nil, fmt.Errorf("listing tree %s: %w", short(sha), err)
	}
	if t.levels == nil {
		t.levels = map[string][]*github.TreeEntry{}
	}
	t.levels[sha] = tr.Entries
	return tr.Entries, nil
}

// subtree lists dir (recursively) at commit sha by walking down to it one
// level at a time. "." lists the root's own files.
func (t *trees) subtree(ctx context.Context, sha, dir string) ([]treefs.Entry, bool, error) {
	cur := sha
	if dir != "." {
		for _, seg := range strings.Split(dir, "/") {
			entries, err := t.level(ctx, cur)
			if err != nil {
				return nil, false, err
			}
			next := ""
			for _, e := range entries {
				if e.GetPath() == seg && e.GetType() == "tree" {
					next = e.GetSHA()
				}
			}
			if next == "" {
				return nil, false, nil // not at this commit
			}
			cur = next
		}
	} else {
		entries, err := t.level(ctx, cur)
		return entriesOf(entries, ""), false, err
	}
	tr, _, err := t.r.gh.Git.GetTree(ctx, t.r.j.Owner, t.r.j.Repo, cur, true)
	if err != nil {
		return nil, false, fmt.Errorf("listing %s at %s: %w", dir, short(sha), err)
	}
	return entriesOf(tr.Entries, dir+"/"), tr.GetTruncated(), nil
}

func entriesOf(in []*github.TreeEntry, prefix string) []treefs.Entry {
	var out []treefs.Entry
	for _, e := range in {
		// Symbolic links (120000) hold a path, and submodules are commits
		// of other repositories: neither is a migration here.
		if e.GetType() != "blob" || e.GetMode() == "120000" {
			continue
		}
		size := int64(-1)
		if e.Size != nil {
			size = int64(e.GetSize())
		}
		out = append(out, treefs.Entry{Path: prefix + e.GetPath(), ID: e.GetSHA(), Size: size})
	}
	return out
}

// foldersFor names the folders a truncated listing falls back to: the
// configured migration folders, or else the parent of each changed
// migration's folder, which holds the tool's other files (sqitch.plan,
// prisma's migration folders, drizzle's meta).
func foldersFor(cfg analyzer.Config, changed []string) []string {
	set := map[string]bool{}
	for _, loc := range cfg.Migrations {
		set[path.Clean(strings.Trim(loc.Path, "/"))] = true
	}
	if len(set) == 0 {
		for _, p := range changed {
			d := path.Dir(p)
			if parent := path.Dir(d); parent != "." {
				d = parent
			}
			set[d] = true
		}
	}
	var dirs []string
	for d := range set {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	// Drop folders inside another one already listed recursively.
	var out []string
	for _, d := range dirs {
		if len(out) > 0 && out[len(out)-1] != "." && strings.HasPrefix(d, out[len(out)-1]+"/") {
			continue
		}
		out = append(out, d)
	}
	return out
}

// blob fetches one blob's content.
func (r *jobRun) blob(ctx context.Context, sha string) ([]byte, error) {
	b, _, err := r.gh.Git.GetBlob(ctx, r.j.Owner, r.j.Repo, sha)
	if err != nil {
		return nil, fmt.Errorf("fetching blob %s: %w", short(sha), err)
	}
	if b.GetEncoding() != "base64" {
		return []byte(b.GetContent()), nil
	}
	data, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(b.GetContent(), "\n", ""))
	if err != nil {
		return nil, fmt.Errorf("decoding blob %s: %w", short(sha), err)
	}
	return data, nil
}

// sizedFS answers reads of files over the analyzer's limit without
// fetching them: the analyzer reports such a file by its size alone, and
// zeros of that length tell it the size.
type sizedFS struct {
	*treefs.FS
	limit int64
}

func (s sizedFS) ReadFile(name string) ([]byte, error) {
	if e, ok := s.FS.Entry(name); ok && e.Size > s.limit {
		return make([]byte, min(e.Size, maxBlobBytes)), nil
	}
	return s.FS.ReadFile(name)
}

// snapshot is the repository at the base and at the head, sharing one blob
// cache so that a file unchanged between them is fetched once.
type snapshot struct {
	base, head sizedFS
	cache      *treefs.Cache
	notes      []string
}

func (r *jobRun) snapshot(ctx context.Context, baseSHA, headSHA string, cfg analyzer.Config, changed []string) (*snapshot, error) {
	t := &trees{r: r}
	dirs := foldersFor(cfg, changed)
	baseEntries, baseNotes, err := t.list(ctx, baseSHA, dirs)
	if err != nil {
		return nil, err
	}
	headEntries, headNotes, err := t.list(ctx, headSHA, dirs)
	if err != nil {
		return nil, err
	}
	limit := int64(cfg.MaxFileBytes)
	if limit <= 0 {
		limit = sqlscript.DefaultMaxBytes
	}
	cache := treefs.NewCache()
	fetch := func(ctx context.Context, id string) ([]byte, error) { return r.blob(ctx, id) }
	base := treefs.New(ctx, baseEntries, fetch, cache)
	head := treefs.New(ctx, headEntries, fetch, cache)
	base.MaxBytes, head.MaxBytes = limit, limit
	return &snapshot{base: sizedFS{base, limit}, head: sizedFS{head, limit}, cache: cache, notes: append(baseNotes, headNotes...)}, nil
}

// analyze runs the analyzer on the snapshot.
func (r *jobRun) analyze(ctx context.Context, snap *snapshot, cfg analyzer.Config, changed []string) (*analyzer.Report, error) {
	stats, probe, done, notes := r.productionContext(ctx, cfg)
	defer done()
	rep, err := analyzer.Analyze(ctx, analyzer.Request{Base: snap.base, Head: snap.head, Changed: changed, Config: cfg, Stats: stats, Probe: probe})
	if err != nil {
		return nil, fmt.Errorf("analyzing the migrations: %w", err)
	}
	rep.Notes = append(rep.Notes, snap.notes...)
	rep.Notes = append(rep.Notes, notes...)
	if err := r.rehearse(ctx, analyzer.Request{Base: snap.base, Head: snap.head, Changed: changed, Config: cfg}, rep); err != nil {
		return nil, err
	}
	r.log.Debug("analyzed", "changed", len(changed), "files", len(rep.Files), "base_migrations", rep.BaseMigrations, "blobs_fetched", snap.cache.Fetches)
	return rep, nil
}
