package layout

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

func (d *discoverer) load(f folderPlan) ([]Migration, error) {
	switch f.kind {
	case Plain:
		return d.loadPlain(f)
	case GolangMigrate:
		return d.loadGolangMigrate(f)
	case Goose:
		return d.loadGoose(f)
	case Dbmate:
		return d.loadDbmate(f)
	case Flyway:
		return d.loadFlyway(f)
	case Sqitch:
		return d.loadSqitch(f)
	case Prisma:
		return d.loadPrisma(f)
	case Drizzle:
		return d.loadDrizzle(f)
	case Supabase:
		return d.loadSupabase(f)
	}
	return nil, nil
}

// fileMigration reads one file and splits it.
func (d *discoverer) fileMigration(f folderPlan, p string) (Migration, error) {
	b, err := d.read(p)
	if ue := unreadable(err); ue != nil {
		// The tool runs it all the same: hand it back for a person to judge.
		return Migration{
			Kind: f.kind, Dir: f.path, Path: p,
			Up:           Part{Path: p, Tx: TxNone, TxReason: "the file could not be read"},
			SupportsDown: f.kind.SupportsDown(),
			BlobSHA:      ue.BlobID,
			Unreadable:   ue.Reason,
		}, nil
	}
	if err != nil {
		return Migration{}, err
	}
	fp := splitFile(f.kind, p, b, f.opt)
	return Migration{
		Kind: f.kind, Dir: f.path, Path: p,
		Up: fp.up, Down: fp.down, More: fp.more,
		SupportsDown: f.kind.SupportsDown(),
		Content:      b,
		Problems:     fp.problems,
		BlobSHA:      GitBlobID(b),
	}, nil
}

// attachDown reads a separate down file and hangs it on m.
func (d *discoverer) attachDown(f folderPlan, m *Migration, p string) error {
	b, err := d.read(p)
	if ue := unreadable(err); ue != nil {
		m.DownPath = p
		m.Problems = append(m.Problems, Problem{Path: p, Message: "the down migration cannot be read: " + ue.Reason})
		return nil
	}
	if err != nil {
		return err
	}
	fp := splitFile(f.kind, p, b, f.opt)
	m.DownPath, m.DownContent = p, b
	m.Down = fp.down
	if m.Down == nil {
		// The layout's down files are always whole-file parts; a kind
		// that does not mark the path as down-only still gets the text.
		up := fp.up
		m.Down = &up
	}
	m.Problems = append(m.Problems, fp.problems...)
	return nil
}

func sqlFiles(t *tree, dir string) []string {
	var out []string
	for _, n := range t.files[dir] {
		if strings.HasSuffix(n, ".sql") {
			out = append(out, n)
		}
	}
	return out
}

// markDuplicates adds a problem to every migration that shares a version
// with a neighbour; ms must be sorted so that equal versions are adjacent.
func markDuplicates(ms []Migration, same func(a, b string) bool, msg string) {
	for i := 1; i < len(ms); i++ {
		a, b := &ms[i-1], &ms[i]
		if !same(a.Version, b.Version) {
			continue
		}
		a.Problems = append(a.Problems, Problem{Path: a.Path, Message: fmt.Sprintf(msg, a.Version, b.Path)})
		b.Problems = append(b.Problems, Problem{Path: b.Path, Message: fmt.Sprintf(msg, b.Version, a.Path)})
	}
}

func sameNum(a, b string) bool { return cmpNum(a, b) == 0 }

// markSharedVersions is markDuplicates for migrations kept in file-name
// order, where equal versions need not be neighbours.
func markSharedVersions(ms []Migration, msg string) {
	byVersion := map[string][]int{}
	for i, m := range ms {
		byVersion[m.Version] = append(byVersion[m.Version], i)
	}
	for i := range ms {
		for _, j := range byVersion[ms[i].Version] {
			if j != i {
				ms[i].Problems = append(ms[i].Problems, Problem{Path: ms[i].Path, Message: fmt.Sprintf(msg, ms[i].Version, ms[j].Path)})
			}
		}
	}
}

// checkNameOrder reports when ordering by file name, as a tool or a shell
// glob does, differs from ordering by number: 10_x.sql sorts before 9_y.sql.
func (d *discoverer) checkNameOrder(dir string, ms []Migration, byName bool, tool string) {
	for i := 1; i < len(ms); i++ {
		a, b := ms[i-1], ms[i]
		_, an := splitPath(a.Path)
		_, bn := splitPath(b.Path)
		numLess := cmpNum(b.Version, a.Version) < 0
		nameLess := bn < an
		if byName && numLess {
			d.problem(dir, 0, "%s applies files in file-name order, so %s (version %s) runs before %s (version %s); give versions the same number of digits", tool, an, a.Version, bn, b.Version)
			return
		}
		if !byName && nameLess {
			d.problem(dir, 0, "by number %s comes before %s, but a shell glob (for f in *.sql) would apply %s first; give versions the same number of digits", an, bn, bn)
			return
		}
	}
}

func (d *discoverer) loadPlain(f folderPlan) ([]Migration, error) {
	files := sqlFiles(f.tree, f.path)
	// Room for every file at once: a Migration is large, and growing the
	// slice by doubling copied the history about twice.
	ms := make([]Migration, 0, len(files))
	for _, n := range files {
		p := joinName(f.path, n)
		nn, ok := parseNumbered(n)
		if !ok {
			d.problem(p, 0, "no number at the start of the name, so it has no place in the order; not treated as a migration")
			continue
		}
		m, err := d.fileMigration(f, p)
		if err != nil {
			return nil, err
		}
		m.Version, m.Name = nn.version, nn.name
		ms = append(ms, m)
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if c := cmpNum(ms[i].Version, ms[j].Version); c != 0 {
			return c < 0
		}
		return sharedVersionLess(ms[i].Path, ms[j].Path)
	})
	markVersionGroups(ms)
	d.checkNameOrder(f.path, ms, false, "")
	return ms, nil
}

// sharedVersionLess orders the files of a plain folder that share a version
// (20220314-users.sql, 20220314-users-fks.sql). Nothing in the folder says
// in which order the project's runner applies them; byte order would put
// "users-fks" before "users" ('-' sorts before '.'), which is rarely what a
// project that splits its foreign keys into a second file means. The order
// assumed is by name without the .sql suffix, so a name that is a prefix of
// the other (the base file) comes first; the files say so (markVersionGroups).
func sharedVersionLess(a, b string) bool {
	sa, sb := strings.TrimSuffix(a, ".sql"), strings.TrimSuffix(b, ".sql")
	if sa != sb {
		return sa < sb
	}
	return a < b
}

// markVersionGroups tells each file of a plain folder that shares its
// version with others the order assumed among them, and marks the later ones
// as running together with the earlier (FollowsSameVersion), so that a table
// one of them creates is judged as new in the next. ms must be sorted.
func markVersionGroups(ms []Migration) {
	for i := 0; i < len(ms); {
		j := i + 1
		for j < len(ms) && sameNum(ms[i].Version, ms[j].Version) {
			j++
		}
		if j-i > 1 {
			names := make([]string, 0, j-i)
			for _, m := range ms[i:j] {
				_, n := splitPath(m.Path)
				names = append(names, n)
			}
			order := strings.Join(names, ", then ")
			for k := i; k < j; k++ {
				ms[k].FollowsSameVersion = k > i
				ms[k].Problems = append(ms[k].Problems, Problem{Path: ms[k].Path, Message: fmt.Sprintf(
					"version %s is shared by %d files; the order in which the runner applies them is not known here, so this assumes %s "+
						"(names without .sql; a shell glob would sort them by byte or locale order), and tables one of them creates are new in the ones after it",
					ms[k].Version, j-i, order)})
			}
		}
		i = j
	}
}

func (d *discoverer) loadGolangMigrate(f folderPlan) ([]Migration, error) {
	type entry struct {
		version    uint64
		ups, downs []string
		names      []golangMigrateName
	}
	byVersion := map[uint64]*entry{}
	// golang-migrate runs every file whose name matches, whatever its
	// extension, so every file of the folder is looked at.
	for _, n := range f.tree.files[f.path] {
		p := joinName(f.path, n)
		gn, ok := parseGolangMigrate(n)
		if !ok {
			if _, num := parseNumbered(n); num {
				d.problem(p, 0, "golang-migrate ignores this file: its name does not end in .up.<ext> or .down.<ext>")
			}
			continue
		}

		v, err := strconv.ParseUint(gn.version, 10, 64)
		if err != nil {
			d.problem(p, 0, "golang-migrate cannot read version %s as an unsigned 64-bit integer", gn.version)
			continue
		}
		e := byVersion[v]
		if e == nil {
			e = &entry{version: v}
			byVersion[v] = e
		}
		if gn.down {
			e.downs = append(e.downs, p)
		} else {
			e.ups = append(e.ups, p)
			e.names = append(e.names, gn)
		}
	}
	versions := make([]uint64, 0, len(byVersion))
	for v := range byVersion {
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	var ms []Migration
	for _, v := range versions {
		e := byVersion[v]
		if len(e.ups) == 0 {
			for _, dp := range e.downs {
				d.problem(dp, 0, "down migration without an up migration of version %d", v)
			}
			continue
		}
		m, err := d.fileMigration(f, e.ups[0])
		if err != nil {
			return nil, err
		}
		m.Version, m.Name = e.names[0].version, e.names[0].title
		if ext := e.names[0].ext; ext != "sql" {
			m.Problems = append(m.Problems, Problem{Path: m.Path, Message: fmt.Sprintf(
				"golang-migrate runs this file although its extension is %q, not \"sql\": it is checked as a migration", ext)})
		}
		for _, other := range e.ups[1:] {
			m.Problems = append(m.Problems, Problem{Path: m.Path, Message: fmt.Sprintf("version %d is also used by %s: golang-migrate refuses duplicate versions", v, other)})
		}
		if len(e.downs) > 0 {
			if err := d.attachDown(f, &m, e.downs[0]); err != nil {
				return nil, err
			}
			for _, other := range e.downs[1:] {
				m.Problems = append(m.Problems, Problem{Path: other, Message: fmt.Sprintf("second down migration for version %d: golang-migrate refuses duplicate versions", v)})
			}
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func (d *discoverer) loadGoose(f folderPlan) ([]Migration, error) {
	files := sqlFiles(f.tree, f.path)
	// Room for every file at once: a Migration is large, and growing the
	// slice by doubling copied the history about twice.
	ms := make([]Migration, 0, len(files))
	for _, n := range files {
		p := joinName(f.path, n)
		v, name, why := gooseVersion(n)
		if why != "" {
			d.problem(p, 0, "%s", why)
			continue
		}
		m, err := d.fileMigration(f, p)
		if err != nil {
			return nil, err
		}
		m.Version, m.Name = v, name
		ms = append(ms, m)
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if c := cmpNum(ms[i].Version, ms[j].Version); c != 0 {
			return c < 0
		}
		return ms[i].Path < ms[j].Path
	})
	markDuplicates(ms, sameNum, "version %s is also used by %s: goose refuses duplicate versions")
	return ms, nil
}

func (d *discoverer) loadDbmate(f folderPlan) ([]Migration, error) {
	// dbmate sorts by file name (FindMigrations), not by number.
	return d.loadByFileName(f, "dbmate",
		func(numberedName) bool { return true },
		"dbmate ignores this file: its name does not start with a digit",
		"version %s is also used by %s: dbmate records applied migrations by version, so only one of them runs")
}

func (d *discoverer) loadSupabase(f folderPlan) ([]Migration, error) {
	// The CLI applies files in directory order, which is file-name order.
	return d.loadByFileName(f, "the supabase CLI",
		func(nn numberedName) bool { return nn.sep == '_' },
		"the supabase CLI skips this file: the name must be <timestamp>_<name>.sql",
		"version %s is also used by %s: the supabase CLI records migrations by version")
}

// loadByFileName reads a folder of numbered .sql files that the tool
// applies in file-name order, skipping (with skipped as the problem) the
// files whose name it does not accept.
func (d *discoverer) loadByFileName(f folderPlan, tool string, accept func(numberedName) bool, skipped, shared string) ([]Migration, error) {
	files := sqlFiles(f.tree, f.path)
	// Room for every file at once: a Migration is large, and growing the
	// slice by doubling copied the history about twice.
	ms := make([]Migration, 0, len(files))
	for _, n := range files {
		p := joinName(f.path, n)
		nn, ok := parseNumbered(n)
		if !ok || !accept(nn) {
			d.problem(p, 0, "%s", skipped)
			continue
		}
		m, err := d.fileMigration(f, p)
		if err != nil {
			return nil, err
		}
		m.Version, m.Name = nn.version, nn.name
		ms = append(ms, m)
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Path < ms[j].Path })
	markSharedVersions(ms, shared)
	d.checkNameOrder(f.path, ms, true, tool)
	return ms, nil
}

func (d *discoverer) loadPrisma(f folderPlan) ([]Migration, error) {
	var ms []Migration
	// prisma migrate lists the migration folders sorted by name.
	for _, sub := range f.tree.dirs[f.path] {
		dir := joinName(f.path, sub)
		p := joinName(dir, "migration.sql")
		if !f.tree.have[p] {
			d.problem(dir, 0, "migration folder without migration.sql: prisma migrate fails on it")
			continue
		}
		m, err := d.fileMigration(f, p)
		if err != nil {
			return nil, err
		}
		m.Dir = f.path
		m.Version = leadingDigits(sub)
		m.Name = strings.TrimPrefix(strings.TrimPrefix(sub, m.Version), "_")
		ms = append(ms, m)
	}
	return ms, nil
}

func (d *discoverer) loadDrizzle(f folderPlan) ([]Migration, error) {
	if f.journal == "" {
		return d.loadDrizzleByName(f)
	}
	b, err := d.read(f.journal)
	if err != nil {
		return nil, err
	}
	entries, err := parseJournal(b)
	if err != nil {
		d.problem(f.journal, 0, "cannot read the drizzle journal (%v); ordered by file name instead", err)
		return d.loadDrizzleByName(f)
	}
	named := map[string]bool{}
	var ms []Migration
	// The migrator applies entries in the order of the array.
	for i, e := range entries {
		if e.Idx != i {
			d.problem(f.journal, 0, "journal entry %d has idx %d; drizzle applies entries in array order", i, e.Idx)
		}
		p := joinName(f.path, e.Tag+".sql")
		named[p] = true
		if !f.tree.have[p] {
			d.problem(f.journal, 0, "journal entry %d names %s, which does not exist: drizzle's migrator fails", i, p)
			continue
		}
		m, err := d.fileMigration(f, p)
		if err != nil {
			return nil, err
		}
		m.Version = leadingDigits(e.Tag)
		m.Name = strings.TrimPrefix(strings.TrimPrefix(e.Tag, m.Version), "_")
		ms = append(ms, m)
	}
	// A .sql file the journal does not list is never applied by the
	// migrator, but it is in the folder for a reason (a journal entry lost
	// in a merge, a hand-written file): it is judged all the same, after the
	// listed ones and by file name, where drizzle-kit would append its entry,
	// so that a folder of migrations is never read as holding none.
	unlisted := 0
	for _, n := range sqlFiles(f.tree, f.path) {
		p := joinName(f.path, n)
		if named[p] {
			continue
		}
		m, err := d.fileMigration(f, p)
		if err != nil {
			return nil, err
		}
		if nn, ok := parseNumbered(n); ok {
			m.Version, m.Name = nn.version, nn.name
		} else {
			m.Name = strings.TrimSuffix(n, ".sql")
		}
		m.Problems = append(m.Problems, Problem{Path: p, Message: "not in meta/_journal.json: drizzle's migrator never applies it; " +
			"judged as if its entry were appended to the journal (after the listed migrations, in file-name order)"})
		ms = append(ms, m)
		unlisted++
	}
	if unlisted > 0 && unlisted == len(ms) {
		d.problem(f.journal, 0, "the journal lists none of the %d .sql files of %s; they are judged in file-name order", unlisted, f.path)
	}
	return ms, nil
}

func (d *discoverer) loadDrizzleByName(f folderPlan) ([]Migration, error) {
	d.problem(f.path, 0, "no meta/_journal.json: drizzle's migrator needs it; migrations are ordered by file name")
	files := sqlFiles(f.tree, f.path)
	// Room for every file at once: a Migration is large, and growing the
	// slice by doubling copied the history about twice.
	ms := make([]Migration, 0, len(files))
	for _, n := range files {
		p := joinName(f.path, n)
		m, err := d.fileMigration(f, p)
		if err != nil {
			return nil, err
		}
		if nn, ok := parseNumbered(n); ok {
			m.Version, m.Name = nn.version, nn.name
		} else {
			m.Name = strings.TrimSuffix(n, ".sql")
		}
		ms = append(ms, m)
	}
	return ms, nil
}
