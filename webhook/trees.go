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

// worthFetching keeps the changed files the analyzer can care about,
// judged by path alone.
func worthFetching(p string, cfg analyzer.Config) bool {
	return layout.IsMigrationPath(p, cfg.Migrations) || layout.IsMetadataPath(p) || layout.IsLocationPath(p, cfg.Migrations)
}

// trees lists a commit's files: one recursive call, or, when GitHub
// truncates the listing (over 100,000 entries or 7 MB), the subtrees of
// the folders the analyzer needs.
type trees struct {
	r      *jobRun
	levels map[string][]*github.TreeEntry // one-level listings by tree SHA
}

// list returns the entries, and the folders whose listing GitHub truncated
// even one by one: migrations missing from them were not seen, so each is
// a finding that needs approval, bound to the folder's tree id.
func (t *trees) list(ctx context.Context, sha string, dirs []string) ([]treefs.Entry, []analyzer.Unseen, error) {
	tr, _, err := t.r.gh.Git.GetTree(ctx, t.r.j.Owner, t.r.j.Repo, sha, true)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the files at %s: %w", short(sha), err)
	}
	if !tr.GetTruncated() {
		return entriesOf(tr.Entries, ""), nil, nil
	}
	t.r.log.Info("tree listing truncated; listing the migration folders one by one", "sha", sha, "folders", dirs)
	var out []treefs.Entry
	var unseen []analyzer.Unseen
	for _, dir := range dirs {
		entries, truncated, treeSHA, err := t.subtree(ctx, sha, dir)
		if err != nil {
			return nil, nil, err
		}
		if truncated {
			unseen = append(unseen, analyzer.Unseen{Path: dir, ID: treeSHA, Reason: fmt.Sprintf(
				"GitHub truncated the listing of %s (tree %s): migrations missing from it were not seen, and the tool runs them all the same; a person must check the folder",
				dir, short(treeSHA))})
		}
		out = append(out, entries...)
	}
	return out, unseen, nil
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
// level at a time, with whether GitHub truncated it and its tree id. "."
// lists the root's own files.
func (t *trees) subtree(ctx context.Context, sha, dir string) ([]treefs.Entry, bool, string, error) {
	cur := sha
	if dir != "." {
		for _, seg := range strings.Split(dir, "/") {
			entries, err := t.level(ctx, cur)
			if err != nil {
				return nil, false, "", err
			}
			next := ""
			for _, e := range entries {
				if e.GetPath() == seg && e.GetType() == "tree" {
					next = e.GetSHA()
				}
			}
			if next == "" {
				return nil, false, "", nil // not at this commit
			}
			cur = next
		}
	} else {
		entries, err := t.level(ctx, cur)
		return entriesOf(entries, ""), false, cur, err
	}
	tr, _, err := t.r.gh.Git.GetTree(ctx, t.r.j.Owner, t.r.j.Repo, cur, true)
	if err != nil {
		return nil, false, "", fmt.Errorf("listing %s at %s: %w", dir, short(sha), err)
	}
	return entriesOf(tr.Entries, dir+"/"), tr.GetTruncated(), cur, nil
}

func entriesOf(in []*github.TreeEntry, prefix string) []treefs.Entry {
	var out []treefs.Entry
	for _, e := range in {
		// Symbolic links (mode 120000) are blobs holding the target path:
		// the tool follows them, so treefs does too. A submodule is a
		// commit of another repository: kept so that a migration folder
		// replaced by one is not taken for a missing folder.
		if e.GetType() == "commit" {
			out = append(out, treefs.Entry{Path: prefix + e.GetPath(), ID: e.GetSHA(), Size: -1, Submodule: true})
			continue
		}
		if e.GetType() != "blob" {
			continue
		}
		size := int64(-1)
		if e.Size != nil {
			size = int64(e.GetSize())
		}
		out = append(out, treefs.Entry{Path: prefix + e.GetPath(), ID: e.GetSHA(), Size: size, Link: e.GetMode() == "120000"})
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

// snapshot is the repository at the base and at the head, sharing one blob
// cache so that a file unchanged between them is fetched once. A file over
// the analyzer's limit is not fetched: treefs answers it with a
// layout.UnreadableError naming its blob, and it needs approval.
type snapshot struct {
	base, head *treefs.FS
	cache      *treefs.Cache
	// unseen are the head's folders GitHub would not list in full.
	unseen []analyzer.Unseen
}

// files, when set, is the pull request's file listing, whose patches spare
// blob requests (see patchSource).
func (r *jobRun) snapshot(ctx context.Context, baseSHA, headSHA string, cfg analyzer.Config, changed []string, files map[string]*github.CommitFile) (*snapshot, error) {
	t := &trees{r: r}
	dirs := foldersFor(cfg, changed)
	// What the base's listing misses only makes the known schema smaller;
	// what the head's misses may run unseen.
	baseEntries, _, err := t.list(ctx, baseSHA, dirs)
	if err != nil {
		return nil, err
	}
	headEntries, unseen, err := t.list(ctx, headSHA, dirs)
	if err != nil {
		return nil, err
	}
	sizes := make(map[string]int64, len(headEntries))
	for _, e := range headEntries {
		sizes[e.Path] = e.Size
	}
	if err := r.s.p.Work.checkFileLimits(changed, func(p string) int64 { return sizes[p] }); err != nil {
		return nil, err
	}
	limit := int64(cfg.MaxFileBytes)
	if limit <= 0 {
		limit = sqlscript.DefaultMaxBytes
	}
	cache := treefs.NewCache()
	fetch := func(ctx context.Context, id string) ([]byte, error) { return r.blob(ctx, id) }
	base := treefs.New(ctx, baseEntries, fetch, cache)
	// The base is read as blobs only, so that rebuilding a head blob from
	// its base never recurses into another patch.
	head := treefs.New(ctx, headEntries, r.fetcher(newPatchSource(files, base.ReadFile)), cache)
	base.MaxBytes, head.MaxBytes = limit, limit
	return &snapshot{base: base, head: head, cache: cache, unseen: unseen}, nil
}

// analyze runs the analyzer on the snapshot.
func (r *jobRun) analyze(ctx context.Context, snap *snapshot, cfg analyzer.Config, changed []string) (*analyzer.Report, error) {
	stats, probe, done, notes := r.productionContext(ctx, cfg)
	defer done()
	rep, err := analyzer.Analyze(ctx, analyzer.Request{Base: snap.base, Head: snap.head, Changed: changed, Config: cfg, Stats: stats, Probe: probe, Unseen: snap.unseen,
		MaxStatements: r.s.p.Work.MaxStatements, Cache: r.s.p.CatalogCache})
	if err != nil {
		return nil, fmt.Errorf("analyzing the migrations: %w", statementLimit(err))
	}
	rep.Notes = append(rep.Notes, notes...)
	if err := r.rehearse(ctx, analyzer.Request{Base: snap.base, Head: snap.head, Changed: changed, Config: cfg}, rep); err != nil {
		return nil, err
	}
	r.log.Debug("analyzed", "changed", len(changed), "files", len(rep.Files), "base_migrations", rep.BaseMigrations, "blobs_fetched", snap.cache.Fetches)
	return rep, nil
}
