package layout

import (
	"path"
	"strings"
)

// IsMigrationPath reports, without reading content, whether a path could be
// a migration file (up or down) of some layout under the locations; with no
// locations, anywhere detection would look. Sqitch verify scripts and tool
// metadata are not migrations (see IsMetadataPath for the latter).
func IsMigrationPath(p string, locs []Location) bool {
	p = cleanPath(p)
	if _, base := splitPath(p); !strings.HasSuffix(p, ".sql") {
		// Only golang-migrate runs files of any extension.
		if _, ok := parseGolangMigrate(base); !ok {
			return false
		}
	}
	if len(locs) == 0 {
		if skippedPath(p, ".") {
			return false
		}
		return couldBe("", p)
	}
	for _, loc := range locs {
		root := cleanPath(loc.Path)
		if !under(p, root) || skippedPath(p, root) {
			continue
		}
		kind, err := ParseKind(string(loc.Layout))
		if err != nil {
			kind = ""
		}
		if couldBe(kind, p) {
			return true
		}
	}
	return false
}

// IsLocationPath reports whether a path is a configured migration folder or
// a folder above one: a change there (a symbolic link put in its place)
// changes which files the tool runs.
func IsLocationPath(p string, locs []Location) bool {
	p = cleanPath(p)
	for _, loc := range locs {
		if root := cleanPath(loc.Path); p != "." && under(root, p) {
			return true
		}
	}
	return false
}

// IsMetadataPath reports whether a path is a tool file that changes which
// migrations exist or how they run: sqitch.plan and sqitch.conf, drizzle's
// meta/_journal.json, prisma's migration_lock.toml, Flyway's .sql.conf.
func IsMetadataPath(p string) bool {
	p = cleanPath(p)
	if skippedPath(p, ".") {
		return false
	}
	dir, base := splitPath(p)
	switch base {
	case "sqitch.plan", "sqitch.conf", "migration_lock.toml":
		return true
	case "_journal.json":
		_, parent := splitPath(dir)
		return parent == "meta"
	}
	return strings.HasSuffix(base, ".sql.conf")
}

// skippedPath reports whether a folder between root and the file is one
// that detection never enters.
func skippedPath(p, root string) bool {
	rel := p
	if root != "." {
		rel = strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
	}
	segs := strings.Split(rel, "/")
	for _, s := range segs[:len(segs)-1] {
		if skipDir(s) {
			return true
		}
	}
	return false
}

// couldBe reports whether a file name fits a layout; kind "" means any.
func couldBe(kind Kind, p string) bool {
	dir, base := splitPath(p)
	_, parent := splitPath(dir)
	fits := func(k Kind) bool {
		if k != GolangMigrate && !strings.HasSuffix(base, ".sql") {
			// Only golang-migrate runs files of any extension.
			return false
		}
		switch k {
		case GolangMigrate:
			_, ok := parseGolangMigrate(base)
			return ok
		case Flyway:
			_, ok := parseFlyway(base)
			return ok
		case Goose:
			_, _, why := gooseVersion(base)
			return why == ""
		case Plain, Dbmate, Drizzle:
			_, ok := parseNumbered(base)
			return ok
		case Supabase:
			n, ok := parseNumbered(base)
			return ok && n.sep == '_'
		case Prisma:
			return base == "migration.sql" && leadingDigits(parent) != ""
		case Sqitch:
			if kind == Sqitch {
				// Configured sqitch projects may rename their folders;
				// anything but the verify scripts can be a change.
				return !strings.Contains("/"+dir+"/", "/verify/")
			}
			return parent == "deploy" || parent == "revert"
		}
		return false
	}
	if kind != "" {
		return fits(kind)
	}
	for _, k := range Kinds {
		if fits(k) {
			return true
		}
	}
	return false
}

// joinName is path.Join(dir, name) for a folder the tree walk produced (a
// clean path) and the name of one of its entries, without path.Clean's
// copy of the result: a folder and a listing's names are joined for every
// file of a history. A name that is not one plain element (a "/", "", "."
// or "..", which a listing never gives) and a folder with an empty, "." or
// ".." element (but "." itself) go through path.Join, so that the result is
// path.Join's for any dir and name (TestJoinName).
func joinName(dir, name string) string {
	if dir == "." && plainElem(name) {
		return name
	}
	if !plainElem(name) || !plainDir(dir) {
		return path.Join(dir, name)
	}
	return dir + "/" + name
}

// plainElem says whether s is one path element other than "." and "..".
func plainElem(s string) bool {
	return s != "" && s != "." && s != ".." && strings.IndexByte(s, '/') < 0
}

// plainDir says whether every "/"-separated element of dir is plainElem:
// such a path is clean.
func plainDir(dir string) bool {
	for {
		i := strings.IndexByte(dir, '/')
		if i < 0 {
			return plainElem(dir)
		}
		if !plainElem(dir[:i]) {
			return false
		}
		dir = dir[i+1:]
	}
}
