package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/internal/resultcache"
	"github.com/migration-guard/migration-guard/internal/treefs"
)

type checkOptions struct {
	base       string
	format     string
	configPath string
	statsPath  string
	probeDB    string
	// stdinName is where SQL read from standard input would live (check -).
	stdinName string
	failOn    string
	rehearsal rehearsalOptions
	// noCache and cacheDir: see openCache.
	noCache  bool
	cacheDir string
}

func newCheckCommand() *cobra.Command {
	var opt checkOptions
	cmd := &cobra.Command{
		Use:   "check [--base REF] [--format text|json|markdown|sarif|gitlab|github] [--fail-on LEVEL] [--config FILE] [PATH... | -]",
		Short: "Review migrations on a checkout or in CI",
		Long: `Review PostgreSQL migrations and answer the six-question checklist.

With --base REF (inside a git checkout), the migrations added or modified between
REF and the working tree are judged, against the schema that the migrations at REF
build. The configuration is read from REF too, as the App reads it from the base
branch. PATHs, if given, limit which changed files are judged.

Without --base, the given files and folders are judged in order, each against the
schema the earlier ones built; a folder's migrations come in its tool's order.
Without PATH, every migration found under the current folder is judged.

With - as the only PATH, SQL is read from standard input and judged as the
next migration at --stdin-filename (relative to the current folder), against
the schema of every migration found under the current folder.

Exit status: 0 when nothing requires approval, 1 when something does (or, with
--fail-on, when a finding reaches that severity), 2 for usage, I/O or git errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			tuneMemory(os.Getenv)
			return runCheck(cmd.Context(), cmd.OutOrStdout(), opt, args)
		},
	}
	cmd.Flags().StringVar(&opt.base, "base", "", "git ref of the base: judge what changed since it")
	cmd.Flags().StringVar(&opt.format, "format", "text", "output format: text, json, markdown (for a pull request comment), sarif (for GitHub code scanning), gitlab (GitLab code quality report) or github (GitHub Actions annotations)")
	cmd.Flags().StringVar(&opt.stdinName, "stdin-filename", "", "with PATH -, where the SQL from standard input would be written (default stdin.sql)")
	cmd.Flags().StringVar(&opt.failOn, "fail-on", "", "also exit 1 when a finding is at least this severe: danger or warning (default: only what requires approval)")
	cmd.Flags().StringVar(&opt.configPath, "config", "", "configuration file (default: .github/migration-guard.yml, from --base when given)")
	cmd.Flags().StringVar(&opt.statsPath, "stats", "", "statistics `FILE` written by migration-guard stats (default: stats_file of the configuration)")
	cmd.Flags().StringVar(&opt.probeDB, "probe-db", os.Getenv("MIGRATION_GUARD_PROBE_DB"),
		"read-only connection URL to count the rows that would break a statement (default: $MIGRATION_GUARD_PROBE_DB); counts only, never values")
	cmd.Flags().BoolVar(&opt.rehearsal.on, "rehearse", false, "also apply the migrations to a throwaway PostgreSQL and report what it did (see `migration-guard rehearse --help`)")
	addRehearsalFlags(cmd, &opt.rehearsal)
	addCacheFlags(cmd, &opt)
	return cmd
}

func addCacheFlags(cmd *cobra.Command, opt *checkOptions) {
	cmd.Flags().BoolVar(&opt.noCache, "no-cache", false, "neither read nor write the cache of replayed histories and reports")
	cmd.Flags().StringVar(&opt.cacheDir, "cache-dir", "", "cache `FOLDER` (default: $"+resultcache.EnvDir+", else migration-guard in the user cache folder); bounded to 256 MiB")
}

func runCheck(ctx context.Context, out io.Writer, opt checkOptions, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch opt.format {
	case "text", "json", "markdown", "sarif", "gitlab", "github":
	default:
		return fail("unknown --format %q (want text, json, markdown, sarif, gitlab or github)", opt.format)
	}
	if err := validFailOn(opt.failOn); err != nil {
		return err
	}
	if opt.stdinName != "" && !containsStdin(args) {
		return fail("--stdin-filename names the file read from standard input, and needs - as PATH")
	}
	var req analyzer.Request
	var configFS fs.FS
	var settings []analyzer.File
	var err error
	var stdin *stdinProposal
	var bc *baseCheck
	// The cache: the schema a base history builds, and the whole output of
	// a run whose inputs are all content (no data probe, no rehearsal, no
	// standard input).
	var cache analyzer.Cache
	dir := openCache(opt)
	if dir != nil {
		cache = dir
	}
	color := opt.format == "text" && colorWanted(out)
	switch {
	case containsStdin(args):
		stdin, configFS, err = stdinRequest(opt, args)
		if stdin != nil {
			req = stdin.req
		}
	case opt.base != "":
		bc, err = baseRequest(ctx, opt, args, cache != nil && opt.probeDB == "" && !opt.rehearsal.on, color)
		if err == nil {
			// The base's files are read until the report is written.
			defer bc.done()
			req, configFS, settings = bc.req, bc.configFS, bc.settings
			if bc.key != nil {
				if done, err := answerByContent(cache, bc.key.key, out); done {
					return err
				}
			}
		}
	default:
		req, configFS, err = pathsRequest(opt, args)
	}
	if err != nil {
		return err
	}
	var notes []string
	var note string
	req.Stats, note = loadStats(os.Stderr, opt.statsPath, req.Config, configFS)
	notes = append(notes, note)
	probe, closeProbe, note := openProbe(ctx, os.Stderr, opt.probeDB)
	defer closeProbe()
	req.Probe = probe
	notes = append(notes, note)
	req.Cache = cache
	// The migrations are found once, for the output's key and the analysis.
	var found *analyzer.Discovered
	if stdin == nil {
		if found, err = analyzer.Discover(req); err != nil {
			return fail("%v", err)
		}
	}
	var outKey string
	if cache != nil && probe == nil && found != nil && !opt.rehearsal.on {
		outKey = outputKey(found, opt, color, settings, notes)
	}
	if outKey != "" {
		w := out
		var kept *teeBuffer
		if bc != nil && bc.key != nil {
			// A hit is kept under the content address too, which needs
			// its bytes.
			kept = &teeBuffer{w: out}
			w = kept
		}
		if failed, ok, err := writeCachedOutput(dir, outKey, w); ok {
			if err != nil {
				return fail("writing the report from the cache: %v", err)
			}
			if kept != nil {
				keepByContent(cache, bc, notes, kept.buf.Bytes(), failed)
			}
			if failed {
				return &statusError{status: exitApproval, err: errApprovalNeeded}
			}
			return nil
		}
	}
	var tee *teeBuffer
	if outKey != "" {
		tee = &teeBuffer{w: out}
		out = tee
	}
	var rep *analyzer.Report
	if stdin != nil {
		rep, err = stdin.analyze(ctx, req)
	} else {
		rep, err = found.Analyze(ctx)
	}
	if err != nil {
		return fail("%v", err)
	}
	rep.Files = append(rep.Files, settings...)
	if opt.rehearsal.on {
		if err := runRehearsal(ctx, opt.rehearsal, req, rep); err != nil {
			return err
		}
	}
	for _, n := range notes {
		if n != "" {
			rep.Notes = append(rep.Notes, n)
		}
	}
	switch opt.format {
	case "json":
		err = checklist.WriteJSON(out, rep, version)
	case "markdown":
		_, err = io.WriteString(out, checklist.Markdown(rep, checklist.MarkdownOptions{}))
	case "sarif":
		err = checklist.WriteSARIF(out, rep, version)
	case "gitlab":
		err = checklist.WriteGitLab(out, rep)
	case "github":
		err = checklist.WriteGitHubActions(out, rep)
	default:
		err = checklist.WriteText(out, rep, checklist.TextOptions{Color: color})
	}
	if err != nil {
		return fail("writing the report: %v", err)
	}
	if tee != nil {
		keepOutput(cache, outKey, tee.buf.Bytes(), failing(rep, opt.failOn))
		keepByContent(cache, bc, notes, tee.buf.Bytes(), failing(rep, opt.failOn))
	}
	if failing(rep, opt.failOn) {
		return &statusError{status: exitApproval, err: errApprovalNeeded}
	}
	return nil
}

// colorWanted is true on a terminal unless NO_COLOR is set (no-color.org).
func colorWanted(out io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// loadConfig reads an explicit --config file, or the default file from fsys
// when it exists there.
func loadConfig(opt checkOptions, fsys fs.FS) (analyzer.Config, error) {
	var data []byte
	var err error
	name := analyzer.ConfigPath
	switch {
	case opt.configPath != "":
		name = opt.configPath
		data, err = os.ReadFile(opt.configPath)
		if err != nil {
			return analyzer.Config{}, fail("reading --config: %v", err)
		}
	case fsys != nil:
		data, err = fs.ReadFile(fsys, analyzer.ConfigPath)
		if errors.Is(err, fs.ErrNotExist) {
			return analyzer.DefaultConfig(), nil
		}
		if err != nil {
			return analyzer.Config{}, fail("reading %s: %v", analyzer.ConfigPath, err)
		}
	default:
		return analyzer.DefaultConfig(), nil
	}
	cfg, err := analyzer.ParseConfig(data)
	if err != nil {
		return analyzer.Config{}, fail("reading %s: %v", name, err)
	}
	return cfg, nil
}

// baseCheck is a --base run's request, and what comes with it.
type baseCheck struct {
	req      analyzer.Request
	configFS fs.FS
	settings []analyzer.File
	// done ends the git process that reads the base's files, once the
	// report is written.
	done func()
	// key, when set, answers the run from the cache before any migration
	// is read (contentkey.go); check, the head as the run reads it, says
	// whether the output may be kept under it.
	key   *contentKey
	check *contentCheck
}

// baseRequest judges what changed since a git ref. When keyed is true, it
// also builds the output's key from git's content addresses.
//
// It also judges the guard's own settings, as the App does: a change to the
// configuration at REF, or to the statistics file it names (within PATHs,
// when given).
func baseRequest(ctx context.Context, opt checkOptions, args []string, keyed, color bool) (_ *baseCheck, err error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fail("finding the current folder: %v", err)
	}
	idx := startIndexList(ctx, cwd)
	// The base's listing and the changes since it are asked for the ref as
	// given, beside the rev-parse that resolves it, rather than after it:
	// a git start-up less on the way. Should the ref move in between, the
	// run still judges what git listed, and the content key holds that
	// listing and those changes as git printed them.
	var changes <-chan changeRead
	if !strings.HasPrefix(opt.base, "-") {
		changes = startChange(ctx, cwd, opt.base+"^{commit}", idx)
	}
	var early *keyStart
	var rootKnown func(string) *keyStart
	if keyed {
		early, rootKnown = startContentKeyAt(ctx, cwd)
	}
	repo, commit, err := openAt(ctx, cwd, opt.base)
	if err != nil {
		if early != nil {
			early.abandon()
		}
		return nil, fail("%v", err)
	}
	// The base's blobs are read through one `git cat-file --batch`.
	// Without a content key, the process starts now, so that git readies
	// itself while the tree, the changes and the index are listed; with
	// one, only at the first read: a warm run may need no blob at all (the
	// output, or the base's migrations and schema, from the cache).
	blobs := &blobReader{g: repo}
	if !keyed {
		blobs = newBlobReader(ctx, repo)
	}
	defer func() {
		if err != nil {
			blobs.close()
		}
	}()
	var ks *keyStart
	if keyed {
		ks = rootKnown(repo.root)
		defer func() {
			if ks != nil {
				ks.abandon()
			}
		}()
	}
	var ch *gitChange
	if changes != nil {
		r := <-changes
		ch, err = r.ch, r.err
	} else {
		ch, err = repo.readChange(ctx, commit, idx)
	}
	if err != nil {
		var le *listError
		if errors.As(err, &le) && le.tree {
			return nil, fail("reading %s: %v", opt.base, le.err)
		}
		if errors.As(err, &le) {
			err = le.err
		}
		return nil, fail("listing changes since %s: %v", opt.base, err)
	}
	base := treefs.New(ctx, ch.entries, blobs.read, nil)
	changed := ch.changed
	if len(args) > 0 {
		changed, err = limitToPaths(changed, repo.root, cwd, args)
		if err != nil {
			return nil, err
		}
	}
	cfg, err := loadConfig(opt, base)
	if err != nil {
		return nil, err
	}
	if changed == nil {
		changed = []string{}
	}
	var head fs.FS = newCheckoutFS(repo.root)
	out := &baseCheck{done: blobs.close}
	if keyed {
		rel, rerr := filepath.Rel(repo.root, cwd)
		k, kerr := newContentKey(ctx, repo, ch, keyInputs{opt: opt, root: repo.root, cwd: filepath.ToSlash(rel), commit: commit, args: args, color: color, cfg: cfg}, ks)
		ks = nil
		switch {
		case rerr != nil:
			slog.Debug("cache: no content key", "err", rerr)
		case kerr != nil:
			slog.Debug("cache: no content key", "err", kerr)
		default:
			out.key = k
			out.check = &contentCheck{FS: head, key: k}
			head = out.check
		}
	}
	settings, err := settingsFiles(base, head, cfg)
	if err != nil {
		return nil, err
	}
	if len(args) > 0 {
		var keep []analyzer.File
		for _, f := range settings {
			if in, _ := limitToPaths([]string{f.Path}, repo.root, cwd, args); len(in) > 0 {
				keep = append(keep, f)
			}
		}
		settings = keep
	}
	out.req = analyzer.Request{Base: base, Head: head, Changed: changed, Config: cfg, BaseID: baseID(ch.listing)}
	out.configFS, out.settings = base, settings
	return out, nil
}

// baseID names the base's files for the analyzer's cache: a digest of the
// base commit's listing, which gives every file's blob id (and the base's
// files are read by those ids, as git stores them).
func baseID(listing []byte) string {
	sum := sha256.Sum256(listing)
	return "git ls-tree " + hex.EncodeToString(sum[:])
}

// limitToPaths keeps changed files (relative to root) under the given paths
// (relative to cwd).
func limitToPaths(changed []string, root, cwd string, paths []string) ([]string, error) {
	var prefixes []string
	for _, p := range paths {
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(cwd, p)
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fail("%s is outside the checkout %s", p, root)
		}
		prefixes = append(prefixes, filepath.ToSlash(rel))
	}
	var out []string
	for _, c := range changed {
		for _, p := range prefixes {
			if p == "." || c == p || strings.HasPrefix(c, p+"/") {
				out = append(out, c)
				break
			}
		}
	}
	return out, nil
}

// pathsRequest judges the given files and folders in order.
func pathsRequest(opt checkOptions, args []string) (analyzer.Request, fs.FS, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return analyzer.Request{}, nil, fail("finding the current folder: %v", err)
	}
	cfg, err := loadConfig(opt, os.DirFS(cwd))
	if err != nil {
		return analyzer.Request{}, nil, err
	}
	if len(args) == 0 {
		return analyzer.Request{Head: newCheckoutFS(cwd), Config: cfg}, os.DirFS(cwd), nil
	}
	var migrations []layout.Migration
	var problems []layout.Problem
	for _, p := range args {
		st, err := os.Stat(p)
		if err != nil {
			return analyzer.Request{}, nil, fail("%v", err)
		}
		var found []layout.Migration
		if st.IsDir() {
			var ps []layout.Problem
			found, ps, err = folderMigrations(cwd, p, cfg)
			problems = append(problems, ps...)
		} else {
			found, err = fileMigration(cwd, p, cfg)
		}
		if err != nil {
			return analyzer.Request{}, nil, err
		}
		migrations = append(migrations, found...)
	}
	if len(migrations) == 0 {
		return analyzer.Request{}, nil, fail("no migrations found in %s", strings.Join(args, ", "))
	}
	return analyzer.Request{Migrations: migrations, Problems: problems, Config: cfg}, os.DirFS(cwd), nil
}

// folderMigrations discovers the migrations of one folder given on the
// command line. The folder is examined at its real path, because detection
// reads folder names (supabase/migrations, prisma/migrations); a folder that
// the configuration lists keeps its configured layout and options. The
// folder's problems that belong to no migration (a file the journal or plan
// does not list, a missing script) are returned, never dropped.
func folderMigrations(cwd, dir string, cfg analyzer.Config) ([]layout.Migration, []layout.Problem, error) {
	abs := dir
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(cwd, dir)
	}
	abs = filepath.Clean(abs)
	vol := filepath.VolumeName(abs)
	fsRoot := vol + string(filepath.Separator)
	inRoot := filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(abs, vol), string(filepath.Separator)))
	loc := layout.Location{Path: inRoot}
	if inRoot == "" {
		loc.Path = "."
	}
	if rel, err := filepath.Rel(cwd, abs); err == nil {
		for _, l := range cfg.Migrations {
			if path.Clean(l.Path) == filepath.ToSlash(rel) {
				loc.Layout, loc.Options = l.Layout, l.Options
			}
		}
	}
	// Links are followed while they stay inside the checkout that holds
	// the folder (or the folder itself, outside any checkout).
	fsys := checkoutFS{FS: os.DirFS(fsRoot), root: fsRoot, boundary: repositoryOf(abs)}
	set, err := layout.Discover(fsys, []layout.Location{loc})
	if err != nil {
		return nil, nil, fail("reading %s: %v", dir, err)
	}
	// Paths come back relative to the file system's root; they are shown as
	// the folder was given.
	shown := filepath.ToSlash(filepath.Clean(dir))
	out := set.Migrations
	for i := range out {
		rebasePaths(&out[i], loc.Path, shown)
	}
	var problems []layout.Problem
	for _, p := range set.Problems {
		if p.Path == loc.Path && strings.HasPrefix(p.Message, "no migrations found") {
			continue // said once, by the caller, for every folder given
		}
		p.Path = rebase(p.Path, loc.Path, shown)
		p.Message = rebaseText(p.Message, loc.Path, shown)
		problems = append(problems, p)
	}
	return out, problems, nil
}

// rebase turns a path under from into the same path under to.
func rebase(p, from, to string) string {
	if p == "" {
		return ""
	}
	if from == "." {
		return path.Join(to, p)
	}
	if p == from {
		return to
	}
	if strings.HasPrefix(p, from+"/") {
		return path.Join(to, strings.TrimPrefix(p, from+"/"))
	}
	return p
}

// rebaseText turns the paths under from that a sentence names (a sqitch
// plan, a drizzle journal's entry) into the same paths under to, as
// rebase does for a path on its own: discovery names them relative to the
// file system's root, and a message must name what the user sees.
func rebaseText(s, from, to string) string {
	if from == "." || from == to || !strings.Contains(s, from) {
		return s
	}
	var b strings.Builder
	done := 0 // s[:done] is in b
	for at := 0; ; {
		i := strings.Index(s[at:], from)
		if i < 0 {
			b.WriteString(s[done:])
			return b.String()
		}
		i += at
		end := i + len(from)
		at = end
		// Only a whole path: not the tail of a longer name, nor the head
		// of one (from "db" in "db2/x.sql").
		if (i > 0 && isPathByte(s[i-1])) || (end < len(s) && s[end] != '/' && isPathByte(s[end]) && !fullStop(s[end:])) {
			continue
		}
		b.WriteString(s[done:i])
		if end < len(s) && s[end] == '/' && to == "." {
			end++ // "./x" is shown as "x", as path.Join shows it
		} else {
			b.WriteString(to)
		}
		done = end
	}
}

// fullStop reports whether s starts with a full stop that ends a
// sentence rather than continues a name.
func fullStop(s string) bool {
	return s[0] == '.' && (len(s) == 1 || !isPathByte(s[1]))
}

// isPathByte reports whether c can be part of a path's name.
func isPathByte(c byte) bool {
	return c == '/' || c == '.' || c == '_' || c == '-' || c == '+' || c == '@' ||
		'0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

func rebasePaths(m *layout.Migration, from, to string) {
	m.Path, m.DownPath, m.Dir = rebase(m.Path, from, to), rebase(m.DownPath, from, to), rebase(m.Dir, from, to)
	m.VerifyPath = rebase(m.VerifyPath, from, to)
	rebasePart := func(p *layout.Part) {
		p.Path, p.TxSource = rebase(p.Path, from, to), rebase(p.TxSource, from, to)
		p.TxReason = rebaseText(p.TxReason, from, to)
	}
	rebasePart(&m.Up)
	if m.Down != nil {
		d := *m.Down
		rebasePart(&d)
		m.Down = &d
	}
	more := make([]layout.Section, len(m.More))
	for i, sec := range m.More {
		rebasePart(&sec.Up)
		if sec.Down != nil {
			d := *sec.Down
			rebasePart(&d)
			sec.Down = &d
		}
		more[i] = sec
	}
	if m.More != nil {
		m.More = more
	}
	for i := range m.Problems {
		m.Problems[i].Path = rebase(m.Problems[i].Path, from, to)
		m.Problems[i].Message = rebaseText(m.Problems[i].Message, from, to)
	}
	m.Unreadable = rebaseText(m.Unreadable, from, to)
}

// fileMigration reads one file with its tool's rules: its folder is
// discovered so that a separate down file or a Flyway .conf is found too.
func fileMigration(cwd, file string, cfg analyzer.Config) ([]layout.Migration, error) {
	dir, _ := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	// The folder is examined at its real path, as folderMigrations does,
	// so that detection that reads folder names works for one file too.
	if ms, _, err := folderMigrations(cwd, dir, cfg); err == nil {
		want := filepath.ToSlash(filepath.Clean(file))
		for _, m := range ms {
			if m.Path == want || m.DownPath == want {
				return []layout.Migration{m}, nil
			}
		}
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return nil, fail("%v", err)
	}
	p := filepath.ToSlash(file)
	kind := layout.DetectFile(p, content)
	up, down, problems := layout.Parts(kind, p, content)
	return []layout.Migration{{
		Kind: kind, Path: p, Up: up, Down: down, Content: content, Problems: problems,
		SupportsDown: kind.SupportsDown() && down != nil,
	}}, nil
}

// settingsFiles compares the guard's own files at the base and in the
// working tree: the configuration, and the statistics file the base's
// configuration names.
func settingsFiles(base, head fs.FS, cfg analyzer.Config) ([]analyzer.File, error) {
	read := func(fsys fs.FS, name string) ([]byte, error) {
		data, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fail("reading %s: %v", name, err)
		}
		if data == nil {
			data = []byte{}
		}
		return data, nil
	}
	compare := func(name string) (b, h []byte, changed bool, err error) {
		if name == "" {
			return nil, nil, false, nil
		}
		if b, err = read(base, name); err != nil {
			return nil, nil, false, err
		}
		if h, err = read(head, name); err != nil {
			return nil, nil, false, err
		}
		return b, h, (b == nil) != (h == nil) || !bytes.Equal(b, h), nil
	}
	ch := analyzer.SettingsChange{StatsPath: cfg.StatsFile}
	var err error
	if ch.ConfigBase, ch.ConfigHead, ch.ConfigChanged, err = compare(analyzer.ConfigPath); err != nil {
		return nil, err
	}
	if ch.StatsBase, ch.StatsHead, ch.StatsChanged, err = compare(cfg.StatsFile); err != nil {
		return nil, err
	}
	return analyzer.SettingsFiles(ch), nil
}
