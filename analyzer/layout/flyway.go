package layout

import (
	"fmt"
	"sort"
	"strings"
)

// flywayFiles lists the .sql files of a Flyway location, recursively as
// Flyway scans it.
func flywayFiles(t *tree, root string) []string {
	var out []string
	var walk func(dir string)
	walk = func(dir string) {
		for _, n := range t.files[dir] {
			if strings.HasSuffix(n, ".sql") {
				out = append(out, joinName(dir, n))
			}
		}
		for _, sub := range t.dirs[dir] {
			walk(joinName(dir, sub))
		}
	}
	walk(root)
	return out
}

func (d *discoverer) loadFlyway(f folderPlan) ([]Migration, error) {
	type file struct {
		path string
		name flywayName
	}
	var versioned, repeatable, undo []file
	for _, p := range flywayFiles(f.tree, f.path) {
		_, base := splitPath(p)
		n, ok := parseFlyway(base)
		if !ok {
			if looksFlyway(base) {
				d.problem(p, 0, "Flyway ignores this file: versioned migrations are named V<version>__<description>.sql (upper-case V, two underscores)")
			}
			continue
		}
		switch n.prefix {
		case 'V':
			versioned = append(versioned, file{p, n})
		case 'R':
			repeatable = append(repeatable, file{p, n})
		case 'U':
			undo = append(undo, file{p, n})
		}
	}
	sort.SliceStable(versioned, func(i, j int) bool {
		if c := cmpFlyway(versioned[i].name.version, versioned[j].name.version); c != 0 {
			return c < 0
		}
		return versioned[i].path < versioned[j].path
	})
	// Repeatable migrations run after all versioned ones, ordered by
	// description.
	sort.SliceStable(repeatable, func(i, j int) bool {
		a, b := flywayDescriptionKey(repeatable[i].name.desc), flywayDescriptionKey(repeatable[j].name.desc)
		if a != b {
			return a < b
		}
		return repeatable[i].path < repeatable[j].path
	})

	var ms []Migration
	for _, v := range versioned {
		m, err := d.flywayMigration(f, v.path)
		if err != nil {
			return nil, err
		}
		m.Version, m.Name = v.name.version, v.name.desc
		ms = append(ms, m)
	}
	markDuplicates(ms, func(a, b string) bool { return cmpFlyway(a, b) == 0 }, "version %s is the same version as %s to Flyway: it refuses to migrate")
	for _, u := range undo {
		found := false
		for i := range ms {
			if cmpFlyway(ms[i].Version, u.name.version) != 0 {
				continue
			}
			found = true
			if ms[i].DownPath != "" {
				ms[i].Problems = append(ms[i].Problems, Problem{Path: u.path, Message: "second undo migration for version " + u.name.version})
				break
			}
			if err := d.attachDown(f, &ms[i], u.path); err != nil {
				return nil, err
			}
			if err := d.applyFlywayConf(f, &ms[i], ms[i].Down, u.path); err != nil {
				return nil, err
			}
			break
		}
		if !found {
			d.problem(u.path, 0, "undo migration without a versioned migration V%s__", u.name.version)
		}
	}
	for i, r := range repeatable {
		m, err := d.flywayMigration(f, r.path)
		if err != nil {
			return nil, err
		}
		m.Name, m.Repeatable = r.name.desc, true
		if i > 0 && flywayDescriptionKey(repeatable[i-1].name.desc) == flywayDescriptionKey(r.name.desc) {
			m.Problems = append(m.Problems, Problem{Path: m.Path, Message: fmt.Sprintf("same description as %s: Flyway refuses two repeatable migrations with one description", repeatable[i-1].path)})
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func (d *discoverer) flywayMigration(f folderPlan, p string) (Migration, error) {
	m, err := d.fileMigration(f, p)
	if err != nil {
		return m, err
	}
	return m, d.applyFlywayConf(f, &m, &m.Up, p)
}

// applyFlywayConf honours a <file>.sql.conf sidecar's executeInTransaction,
// which Flyway prefers over looking at the statements
// (ParserSqlScript.executeInTransaction).
func (d *discoverer) applyFlywayConf(f folderPlan, m *Migration, part *Part, p string) error {
	conf := p + ".conf"
	if part == nil || !f.tree.have[conf] {
		return nil
	}
	b, err := d.read(conf)
	if err != nil {
		return err
	}
	val, line, ok := propertyValue(b, "executeInTransaction")
	if !ok {
		return nil
	}
	part.TxSource, part.TxLine = conf, line
	switch strings.ToLower(val) {
	case "true":
		part.Tx = TxWrapped
		part.TxReason = fmt.Sprintf("executeInTransaction=true in %s: Flyway runs the script in a transaction even if a statement cannot run in one", conf)
	case "false":
		part.Tx = TxNone
		part.TxReason = fmt.Sprintf("executeInTransaction=false in %s: Flyway runs each statement on its own, outside a transaction", conf)
	default:
		part.TxSource, part.TxLine = "", 0
		m.Problems = append(m.Problems, Problem{Path: conf, Line: line, Message: fmt.Sprintf("executeInTransaction=%s is neither true nor false", val)})
	}
	return nil
}
