package main

import (
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
	rehearsal  rehearsalOptions
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
	cmd.Flags().BoolVar(&opt.rehearsal.on, "rehearse", false, "also apply the migrations to a throwaway PostgreSQL and report what it did (see `migration-guard rehearse --help`)")
	addRehearsalFlags(cmd, &opt.rehearsal)
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
	var err error
	if opt.base != "" {
		req, configFS, err = baseRequest(ctx, opt, args)
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
func baseRequest(ctx context.Context, opt checkOptions, args []string) (analyzer.Request, fs.FS, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return analyzer.Request{}, nil, fail("finding the current folder: %v", err)
	}
	repo, err := openGitRepo(ctx, cwd)
	if err != nil {
		return analyzer.Request{}, nil, fail("%v", err)
	}
	commit, err := repo.resolve(ctx, opt.base)
	if err != nil {
		return analyzer.Request{}, nil, fail("%v", err)
	}
	base, err := repo.tree(ctx, commit)
	if err != nil {
		return analyzer.Request{}, nil, fail("reading %s: %v", opt.base, err)
	}
	changed, err := repo.changedSince(ctx, commit)
	if err != nil {
		return analyzer.Request{}, nil, fail("listing changes since %s: %v", opt.base, err)
	}
	if len(args) > 0 {
		changed, err = limitToPaths(changed, repo.root, cwd, args)
		if err != nil {
			return analyzer.Request{}, nil, err
		}
	}
	cfg, err := loadConfig(opt, base)
	if err != nil {
		return analyzer.Request{}, nil, err
	}
	if changed == nil {
		changed = []string{}
	}
	return analyzer.Request{Base: base, Head: os.DirFS(repo.root), Changed: changed, Config: cfg}, base, nil
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
	set, err := layout.Discover(os.DirFS(fsRoot), []layout.Location{loc})
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

func rebasePaths(m *layout.Migration, from, to string) {
	m.Path, m.DownPath, m.Dir = rebase(m.Path, from, to), rebase(m.DownPath, from, to), rebase(m.Dir, from, to)
	m.VerifyPath = rebase(m.VerifyPath, from, to)
	rebasePart := func(p *layout.Part) {
		p.Path, p.TxSource = rebase(p.Path, from, to), rebase(p.TxSource, from, to)
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
	}
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
