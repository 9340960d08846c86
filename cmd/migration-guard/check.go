package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/checklist"
)

type checkOptions struct {
	base       string
	format     string
	configPath string
	statsPath  string
	probeDB    string
}

func newCheckCommand() *cobra.Command {
	var opt checkOptions
	cmd := &cobra.Command{
		Use:   "check [--base REF] [--format text|json|markdown|sarif] [--config FILE] [PATH...]",
		Short: "Review migrations on a checkout or in CI",
		Long: `Review PostgreSQL migrations and answer the six-question checklist.

With --base REF (inside a git checkout), the migrations added or modified between
REF and the working tree are judged, against the schema that the migrations at REF
build. The configuration is read from REF too, as the App reads it from the base
branch. PATHs, if given, limit which changed files are judged.

Without --base, the given files and folders are judged in order, each against the
schema the earlier ones built; a folder's migrations come in its tool's order.
Without PATH, every migration found under the current folder is judged.

Exit status: 0 when nothing requires approval, 1 when something does,
2 for usage, I/O or git errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), cmd.OutOrStdout(), opt, args)
		},
	}
	cmd.Flags().StringVar(&opt.base, "base", "", "git ref of the base: judge what changed since it")
	cmd.Flags().StringVar(&opt.format, "format", "text", "output format: text, json, markdown (for a pull request comment) or sarif (for GitHub code scanning)")
	cmd.Flags().StringVar(&opt.configPath, "config", "", "configuration file (default: .github/migration-guard.yml, from --base when given)")
	cmd.Flags().StringVar(&opt.statsPath, "stats", "", "statistics `FILE` written by migration-guard stats (default: stats_file of the configuration)")
	cmd.Flags().StringVar(&opt.probeDB, "probe-db", os.Getenv("MIGRATION_GUARD_PROBE_DB"),
		"read-only connection URL to count the rows that would break a statement (default: $MIGRATION_GUARD_PROBE_DB); counts only, never values")
	return cmd
}

func runCheck(ctx context.Context, out io.Writer, opt checkOptions, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch opt.format {
	case "text", "json", "markdown", "sarif":
	default:
		return fail("unknown --format %q (want text, json, markdown or sarif)", opt.format)
	}
	var req analyzer.Request
	var configFS fs.FS
	var settings []analyzer.File
	var err error
	if opt.base != "" {
		req, configFS, settings, err = baseRequest(ctx, opt, args)
	} else {
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
	rep, err := analyzer.Analyze(ctx, req)
	if err != nil {
		return fail("%v", err)
	}
	rep.Files = append(rep.Files, settings...)
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
	default:
		err = checklist.WriteText(out, rep, checklist.TextOptions{Color: colorWanted(out)})
	}
	if err != nil {
		return fail("writing the report: %v", err)
	}
	if rep.RequiresApproval() {
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

// baseRequest judges what changed since a git ref.
//
// It also judges the guard's own settings, as the App does: a change to the
// configuration at REF, or to the statistics file it names (within PATHs,
// when given).
func baseRequest(ctx context.Context, opt checkOptions, args []string) (analyzer.Request, fs.FS, []analyzer.File, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return analyzer.Request{}, nil, nil, fail("finding the current folder: %v", err)
	}
	repo, err := openGitRepo(ctx, cwd)
	if err != nil {
		return analyzer.Request{}, nil, nil, fail("%v", err)
	}
	commit, err := repo.resolve(ctx, opt.base)
	if err != nil {
		return analyzer.Request{}, nil, nil, fail("%v", err)
	}
	base, err := repo.tree(ctx, commit)
	if err != nil {
		return analyzer.Request{}, nil, nil, fail("reading %s: %v", opt.base, err)
	}
	changed, err := repo.changedSince(ctx, commit)
	if err != nil {
		return analyzer.Request{}, nil, nil, fail("listing changes since %s: %v", opt.base, err)
	}
	if len(args) > 0 {
		changed, err = limitToPaths(changed, repo.root, cwd, args)
		if err != nil {
			return analyzer.Request{}, nil, nil, err
		}
	}
	cfg, err := loadConfig(opt, base)
	if err != nil {
		return analyzer.Request{}, nil, nil, err
	}
	if changed == nil {
		changed = []string{}
	}
	head := os.DirFS(repo.root)
	settings, err := settingsFiles(base, head, cfg)
	if err != nil {
		return analyzer.Request{}, nil, nil, err
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
	return analyzer.Request{Base: base, Head: head, Changed: changed, Config: cfg}, base, settings, nil
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
		return analyzer.Request{Head: os.DirFS(cwd), Config: cfg}, os.DirFS(cwd), nil
	}
	var migrations []layout.Migration
	for _, p := range args {
		st, err := os.Stat(p)
		if err != nil {
			return analyzer.Request{}, nil, fail("%v", err)
		}
		var found []layout.Migration
		if st.IsDir() {
			found, err = folderMigrations(p)
		} else {
			found, err = fileMigration(p)
		}
		if err != nil {
			return analyzer.Request{}, nil, err
		}
		migrations = append(migrations, found...)
	}
	if len(migrations) == 0 {
		return analyzer.Request{}, nil, fail("no migrations found in %s", strings.Join(args, ", "))
	}
	return analyzer.Request{Migrations: migrations, Config: cfg}, os.DirFS(cwd), nil
}

func folderMigrations(dir string) ([]layout.Migration, error) {
	set, err := layout.Discover(os.DirFS(dir), nil)
	if err != nil {
		return nil, fail("reading %s: %v", dir, err)
	}
	out := set.Migrations
	for i := range out {
		prefixPaths(&out[i], filepath.ToSlash(dir))
	}
	return out, nil
}

// fileMigration reads one file with its tool's rules: its folder is
// discovered so that a separate down file or a Flyway .conf is found too.
func fileMigration(file string) ([]layout.Migration, error) {
	dir, name := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	if set, err := layout.Discover(os.DirFS(dir), nil); err == nil {
		for _, m := range set.Migrations {
			if m.Path == name || m.DownPath == name {
				prefixPaths(&m, filepath.ToSlash(filepath.Clean(dir)))
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

func prefixPaths(m *layout.Migration, dir string) {
	if dir == "." || dir == "" {
		return
	}
	join := func(p string) string {
		if p == "" {
			return ""
		}
		return path.Join(dir, p)
	}
	m.Path, m.DownPath, m.Dir = join(m.Path), join(m.DownPath), join(m.Dir)
	m.Up.Path = join(m.Up.Path)
	if m.Down != nil {
		d := *m.Down
		d.Path = join(d.Path)
		m.Down = &d
	}
	for i := range m.Problems {
		m.Problems[i].Path = join(m.Problems[i].Path)
	}
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
