package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// skipDir reports whether a folder below a scan root is never searched:
// hidden folders, dependencies and a repository's own test fixtures hold
// .sql files that are not its migrations.
func skipDir(name string) bool {
	switch name {
	case "node_modules", "vendor", "testdata":
		return true
	}
	return strings.HasPrefix(name, ".")
}

// tree is the listing of a scanned subtree.
type tree struct {
	root  string
	files map[string][]string // folder -> file names, sorted
	dirs  map[string][]string // folder -> subfolder names, sorted
	have  map[string]bool     // every file path
	// regular holds the paths of regular files (no links, pipes or
	// devices): the only ones read ahead.
	regular map[string]bool
}

func (t *tree) hasDir(p string) bool { _, ok := t.dirs[p]; return ok }

// discoverer carries the state of one Discover call.
type discoverer struct {
	fsys  fs.FS
	cache map[string][]byte
	set   *Set
	ahead *readAhead // nil: every file is read when it is needed
}

// read returns a file's bytes, reading it at most once per Discover call.
func (d *discoverer) read(p string) ([]byte, error) {
	if b, ok := d.cache[p]; ok {
		return b, nil
	}
	if b, ok := d.ahead.take(p); ok {
		d.cache[p] = b
		return b, nil
	}
	b, err := fs.ReadFile(d.fsys, p)
	if err != nil {
		return nil, fmt.Errorf("layout: read %s: %w", p, err)
	}
	d.cache[p] = b
	return b, nil
}

func (d *discoverer) problem(p string, line int, format string, args ...any) {
	d.set.Problems = append(d.set.Problems, Problem{Path: p, Line: line, Message: fmt.Sprintf(format, args...)})
}

// scan lists the subtree under root; a missing root gives a nil tree.
func (d *discoverer) scan(root string) (*tree, error) {
	t := &tree{root: root, files: map[string][]string{}, dirs: map[string][]string{}, have: map[string]bool{}, regular: map[string]bool{}}
	walked := d.fsys
	if l := newListAhead(d.fsys, root, skipDir); l != nil {
		defer l.close()
		walked = l
	}
	err := fs.WalkDir(walked, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return fmt.Errorf("layout: list %s: %w", p, err)
		}
		if e.IsDir() {
			if p != root && skipDir(e.Name()) {
				return fs.SkipDir
			}
			if _, ok := t.dirs[p]; !ok {
				t.dirs[p] = nil
			}
			if p != root {
				parent, _ := splitPath(p)
				t.dirs[parent] = append(t.dirs[parent], e.Name())
			}
			return nil
		}
		parent, _ := splitPath(p)
		t.files[parent] = append(t.files[parent], e.Name())
		t.have[p] = true
		if e.Type().IsRegular() {
			t.regular[p] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !t.hasDir(root) {
		return nil, nil
	}
	for _, names := range t.files {
		sort.Strings(names)
	}
	for _, names := range t.dirs {
		sort.Strings(names)
	}
	return t, nil
}

// cleanPath turns a configured path into the form io/fs wants.
func cleanPath(p string) string {
	p = strings.TrimSpace(strings.ReplaceAll(p, "\\", "/"))
	p = path.Clean("/" + p)
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// hasPathSuffix reports whether p ends with the whole segments of suffix.
func hasPathSuffix(p, suffix string) bool {
	return p == suffix || strings.HasSuffix(p, "/"+suffix)
}

func under(p, root string) bool {
	return root == "." || p == root || strings.HasPrefix(p, root+"/")
}

// Discover finds every migration under the configured locations (or, when
// locs is empty, everywhere it can detect), in the order each tool applies
// them: folders in path order, within a folder the tool's order.
func Discover(fsys fs.FS, locs []Location) (*Set, error) {
	d := &discoverer{fsys: fsys, cache: map[string][]byte{}, set: &Set{}, ahead: newReadAhead(fsys)}
	defer d.ahead.close()
	configured := len(locs) > 0
	if !configured {
		locs = []Location{{Path: "."}}
	}
	var folders []folderPlan
	for _, loc := range locs {
		root := cleanPath(loc.Path)
		kind, err := ParseKind(string(loc.Layout))
		if err != nil {
			d.problem(root, 0, "%v; detecting the layout instead", err)
		}
		d.checkOptions(root, kind, loc.Options)
		t, err := d.scan(root)
		if err != nil {
			return nil, err
		}
		if t == nil {
			if m, ok := d.linkedLocation(root, kind); ok {
				// The tool runs whatever the link leads to.
				d.set.Migrations = append(d.set.Migrations, m)
				continue
			}
			d.problem(root, 0, "configured migration folder does not exist")
			continue
		}
		var found []folderPlan
		if kind != "" {
			fp, err := d.configuredFolder(t, root, kind)
			if d.unreadableMetadata(err, root, kind) {
				continue
			}
			if err != nil {
				return nil, err
			}
			found = []folderPlan{fp}
		} else {
			found, err = d.detect(t)
			if err != nil {
				return nil, err
			}
			if len(found) == 0 && configured {
				d.problem(root, 0, "no migrations found in the configured folder")
			}
		}
		for i := range found {
			found[i].opt = loc.Options
			found[i].configured = configured
			found[i].tree = t
		}
		folders = append(folders, found...)
	}
	folders = d.dedupe(folders)
	sort.SliceStable(folders, func(i, j int) bool { return folders[i].path < folders[j].path })
	folders = d.orderSqitchProjects(folders)
	for _, f := range folders {
		d.ahead.start(f.tree, d.cache, loadFiles(f))
	}
	for _, f := range folders {
		ms, err := d.load(f)
		if d.unreadableMetadata(err, f.path, f.kind) {
			continue
		}
		if err != nil {
			return nil, err
		}
		d.set.Folders = append(d.set.Folders, Folder{Path: f.path, Kind: f.kind, Detected: f.how, Configured: f.configured, Options: f.opt})
		if d.set.Migrations == nil && len(ms) > 0 {
			d.set.Migrations = ms // the first folder's: no copy
		} else {
			d.set.Migrations = append(d.set.Migrations, ms...)
		}
	}
	return d.set, nil
}

// unreadableMetadata turns a tool file that cannot be read (sqitch.plan,
// a drizzle journal, a Flyway .sql.conf that is a symbolic link out of the
// repository, say) into an unreadable migration: without it the folder's
// migrations and how they run are unknown, and a person must judge them.
func (d *discoverer) unreadableMetadata(err error, dir string, kind Kind) bool {
	ue := unreadable(err)
	if ue == nil {
		return false
	}
	if kind == "" {
		kind = Plain
	}
	d.set.Migrations = append(d.set.Migrations, Migration{
		Kind: kind, Dir: dir, Path: ue.Path,
		Up:           Part{Path: ue.Path, Tx: TxNone, TxReason: "the file could not be read"},
		SupportsDown: kind.SupportsDown(),
		BlobSHA:      ue.BlobID,
		Unreadable:   fmt.Sprintf("the tool reads it to know which migrations of %s run and how: %s", dir, ue.Reason),
	})
	return true
}

// linkedLocation finds a configured folder that is not a folder here
// because it, or a folder above it, is a symbolic link the file system
// would not follow (to a folder, or out of the repository): the tool
// follows it and runs what is there, so it comes back as an unreadable
// migration that a person must judge.
func (d *discoverer) linkedLocation(root string, kind Kind) (Migration, bool) {
	for p := root; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		st, err := fs.Stat(d.fsys, p)
		if err != nil || st.IsDir() {
			continue
		}
		_, rerr := d.read(p)
		ue := unreadable(rerr)
		if ue == nil {
			return Migration{}, false
		}
		if kind == "" {
			kind = Plain
		}
		return Migration{
			Kind: kind, Dir: root, Path: p,
			Up:           Part{Path: p, Tx: TxNone, TxReason: "the folder could not be read"},
			SupportsDown: kind.SupportsDown(),
			BlobSHA:      ue.BlobID,
			Unreadable:   fmt.Sprintf("the configured migration folder %s is reached through it: %s", root, ue.Reason),
		}, true
	}
	return Migration{}, false
}

func (d *discoverer) checkOptions(root string, kind Kind, o Options) {
	switch o.Transaction {
	case "", TransactionPerFile, TransactionNone:
	default:
		d.problem(root, 0, "transaction: %q is not one of %q, %q; the tool's default applies", o.Transaction, TransactionPerFile, TransactionNone)
	}
	if o.MultiStatement && kind != "" && kind != GolangMigrate {
		d.problem(root, 0, "multi_statement applies to golang-migrate only; ignored for %s", kind)
	}
	if o.Mixed && kind != "" && kind != Flyway {
		d.problem(root, 0, "mixed applies to Flyway only; ignored for %s", kind)
	}
	if o.Group && kind != "" && kind != Flyway {
		d.problem(root, 0, "group applies to Flyway only; ignored for %s", kind)
	}
}

// folderPlan is a folder chosen for loading.
type folderPlan struct {
	path       string
	kind       Kind
	how        string
	configured bool
	opt        Options
	tree       *tree
	sqitch     *sqitchProject
	journal    string // drizzle: path of meta/_journal.json, "" when missing
}

// dedupe keeps one layout per folder: the first claim, in configuration
// order, wins, so a location with a layout listed first overrides detection
// by a broader location listed after it.
func (d *discoverer) dedupe(in []folderPlan) []folderPlan {
	seen := map[string]Kind{}
	var out []folderPlan
	for _, f := range in {
		if k, ok := seen[f.path]; ok {
			if k != f.kind {
				d.problem(f.path, 0, "folder claimed as both %s and %s; using %s", k, f.kind, k)
			}
			continue
		}
		seen[f.path] = f.kind
		out = append(out, f)
	}
	return out
}

// configuredFolder resolves a location whose layout is given.
func (d *discoverer) configuredFolder(t *tree, root string, kind Kind) (folderPlan, error) {
	f := folderPlan{path: root, kind: kind, how: "configured"}
	switch kind {
	case Sqitch:
		sp, err := d.sqitchAt(t, root)
		if err != nil {
			return f, err
		}
		f.sqitch = sp
	case Prisma:
		f.path = prismaFolder(t, root)
	case Drizzle:
		if t.have[path.Join(root, "meta", "_journal.json")] {
			f.journal = path.Join(root, "meta", "_journal.json")
		} else if t.have[path.Join(root, "drizzle", "meta", "_journal.json")] {
			f.path = joinName(root, "drizzle")
			f.journal = path.Join(f.path, "meta", "_journal.json")
		}
	case Supabase:
		if !hasSQL(t, root) && t.hasDir(path.Join(root, "supabase", "migrations")) {
			f.path = path.Join(root, "supabase", "migrations")
		} else if !hasSQL(t, root) && t.hasDir(joinName(root, "migrations")) {
			f.path = joinName(root, "migrations")
		}
	}
	return f, nil
}

// hasSQL says a folder holds files some tool could run: .sql files, or
// names golang-migrate runs whatever their extension.
func hasSQL(t *tree, dir string) bool {
	for _, n := range t.files[dir] {
		if strings.HasSuffix(n, ".sql") {
			return true
		}
		if _, ok := parseGolangMigrate(n); ok {
			return true
		}
	}
	return false
}

// prismaFolder finds the migrations folder from a configured path that may
// be the folder itself or a project root above it.
func prismaFolder(t *tree, root string) string {
	for _, c := range []string{root, joinName(root, "migrations"), path.Join(root, "prisma", "migrations")} {
		if t.have[joinName(c, "migration_lock.toml")] || prismaShaped(t, c) {
			return c
		}
	}
	return root
}

// prismaShaped reports whether a folder holds <digits>_<name>/migration.sql.
func prismaShaped(t *tree, dir string) bool {
	for _, sub := range t.dirs[dir] {
		if leadingDigits(sub) != "" && t.have[path.Join(dir, sub, "migration.sql")] {
			return true
		}
	}
	return false
}

// detect classifies the folders of a scanned subtree.
func (d *discoverer) detect(t *tree) ([]folderPlan, error) {
	var out []folderPlan
	claimed := map[string]bool{} // folders, with their subtrees, owned by a project layout
	isClaimed := func(p string) bool {
		for c := range claimed {
			if under(p, c) {
				return true
			}
		}
		return false
	}
	dirs := make([]string, 0, len(t.dirs))
	for p := range t.dirs {
		dirs = append(dirs, p)
	}
	sort.Strings(dirs)

	// Tool metadata first: it says which tool owns a folder outright.
	// A sqitch project often sits at the repository root, so it claims
	// only its own folders, not everything below it.
	exact := map[string]bool{}
	claimSqitch := func(dir, how string) error {
		sp, err := d.sqitchAt(t, dir)
		if d.unreadableMetadata(err, dir, Sqitch) {
			exact[dir] = true
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, folderPlan{path: dir, kind: Sqitch, how: how, sqitch: sp})
		exact[dir] = true
		planDir, _ := splitPath(sp.plan)
		exact[planDir] = true
		for _, c := range []string{sp.deployDir, sp.revertDir, sp.verifyDir} {
			claimed[c] = true
		}
		return nil
	}
	for _, dir := range dirs {
		if t.have[joinName(dir, "sqitch.conf")] && !isClaimed(dir) && !exact[dir] {
			if err := claimSqitch(dir, "sqitch.conf"); err != nil {
				return nil, err
			}
		}
	}
	for _, dir := range dirs {
		if t.have[joinName(dir, "sqitch.plan")] && !isClaimed(dir) && !exact[dir] {
			if err := claimSqitch(dir, "sqitch.plan"); err != nil {
				return nil, err
			}
		}
	}
	for _, dir := range dirs {
		if isClaimed(dir) {
			continue
		}
		lock := joinName(dir, "migration_lock.toml")
		switch {
		case t.have[lock]:
			b, err := d.read(lock)
			if d.unreadableMetadata(err, dir, Prisma) {
				claimed[dir] = true
				continue
			}
			if err != nil {
				return nil, err
			}
			claimed[dir] = true
			if provider := tomlString(b, "provider"); provider != "postgresql" {
				d.problem(lock, 0, "prisma migrations for provider %q, not PostgreSQL; not checked", provider)
				continue
			}
			out = append(out, folderPlan{path: dir, kind: Prisma, how: "migration_lock.toml (provider = \"postgresql\")"})
		case path.Base(dir) == "migrations" && path.Base(path.Dir(dir)) == "prisma" && prismaShaped(t, dir):
			claimed[dir] = true
			out = append(out, folderPlan{path: dir, kind: Prisma, how: "folder shape prisma/migrations/<timestamp>_<name>/migration.sql (no migration_lock.toml)"})
		}
	}
	for _, dir := range dirs {
		journal := path.Join(dir, "meta", "_journal.json")
		if !t.have[journal] || isClaimed(dir) {
			continue
		}
		b, err := d.read(journal)
		if d.unreadableMetadata(err, dir, Drizzle) {
			claimed[dir] = true
			continue
		}
		if err != nil {
			return nil, err
		}
		claimed[dir] = true
		if dialect := journalDialect(b); dialect != "" && dialect != "postgresql" && dialect != "pg" && dialect != "postgres" {
			d.problem(journal, 0, "drizzle migrations for dialect %q, not PostgreSQL; not checked", dialect)
			continue
		}
		out = append(out, folderPlan{path: dir, kind: Drizzle, how: "meta/_journal.json", journal: journal})
	}

	// Then folders of .sql files, by their names and markers.
	var flyway []folderPlan
	for _, dir := range dirs {
		if isClaimed(dir) || exact[dir] || !hasSQL(t, dir) {
			continue
		}
		f, ok, err := d.classify(t, dir)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if f.kind == Flyway {
			flyway = append(flyway, f)
			continue
		}
		out = append(out, f)
	}
	out = append(out, mergeFlyway(t, flyway)...)
	return out, nil
}

// classify decides the layout of a folder of .sql files.
func (d *discoverer) classify(t *tree, dir string) (folderPlan, bool, error) {
	var gm, fw, num int
	for _, n := range t.files[dir] {
		if _, ok := parseGolangMigrate(n); ok {
			gm++
		} else if _, ok := parseFlyway(n); ok {
			fw++
		} else if _, ok := parseNumbered(n); ok {
			num++
		}
	}
	f := folderPlan{path: dir}
	switch {
	case hasPathSuffix(dir, "supabase/migrations") && (num > 0 || gm > 0):
		f.kind, f.how = Supabase, "folder supabase/migrations"
		return f, true, nil
	case gm > 0 && gm >= fw && gm >= num:
		f.kind, f.how = GolangMigrate, "file names {version}_{title}.up.{ext} / .down.{ext}"
		return f, true, nil
	case fw > 0 && fw >= num:
		f.kind, f.how = Flyway, "file names V<version>__<description>.sql"
		return f, true, nil
	case num == 0:
		return f, false, nil
	}
	var numbered []string
	for _, n := range t.files[dir] {
		if _, ok := parseNumbered(n); ok {
			numbered = append(numbered, joinName(dir, n))
		}
	}
	d.ahead.start(t, d.cache, numbered)
	var sig signals
	var gooseFiles, dbmateFiles, drizzleFiles int
	for _, n := range t.files[dir] {
		if _, ok := parseNumbered(n); !ok {
			continue
		}
		b, err := d.read(joinName(dir, n))
		if unreadable(err) != nil {
			// Loaded later as an unreadable migration; it gives no signal.
			continue
		}
		if err != nil {
			return f, false, err
		}
		s := scanSignals(b)
		if s.goose > 0 {
			gooseFiles++
		}
		if s.dbmate > 0 {
			dbmateFiles++
		}
		if s.drizzle > 0 {
			drizzleFiles++
		}
		sig.goose += s.goose
		sig.dbmate += s.dbmate
	}
	switch {
	case gooseFiles > 0 && gooseFiles >= dbmateFiles:
		f.kind, f.how = Goose, fmt.Sprintf("-- +goose annotations in %d of %d numbered .sql files", gooseFiles, num)
		if dbmateFiles > 0 {
			d.problem(dir, 0, "%d files carry dbmate markers in a folder detected as goose", dbmateFiles)
		}
	case dbmateFiles > 0:
		f.kind, f.how = Dbmate, fmt.Sprintf("-- migrate:up markers in %d of %d numbered .sql files", dbmateFiles, num)
		if gooseFiles > 0 {
			d.problem(dir, 0, "%d files carry goose annotations in a folder detected as dbmate", gooseFiles)
		}
	case drizzleFiles > 0:
		f.kind, f.how = Drizzle, "--> statement-breakpoint in .sql files (no meta/_journal.json: ordered by file name)"
	default:
		f.kind, f.how = Plain, "numbered .sql files without tool markers"
	}
	return f, true, nil
}

// mergeFlyway turns folders of Flyway files into Flyway locations. Flyway
// scans a location recursively and orders everything found together, so
// nested folders join their enclosing Flyway folder, and folders under the
// default location db/migration join it.
func mergeFlyway(t *tree, in []folderPlan) []folderPlan {
	var out []folderPlan
	roots := map[string]bool{}
	for _, f := range in {
		root := f.path
		for p := f.path; p != "." && p != t.root; p = path.Dir(p) {
			if hasPathSuffix(p, "db/migration") {
				root = p
				break
			}
		}
		f.path = root
		roots[root] = true
		out = append(out, f)
	}
	var merged []folderPlan
	seen := map[string]bool{}
	for _, f := range out {
		inner := false
		for r := range roots {
			if r != f.path && under(f.path, r) {
				inner = true
			}
		}
		if inner || seen[f.path] {
			continue
		}
		seen[f.path] = true
		merged = append(merged, f)
	}
	return merged
}
