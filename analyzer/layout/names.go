package layout

import (
	"path"
	"strconv"
	"strings"
)

// File names are parsed with plain string functions so that nobody has to
// wonder whether a regular expression is quietly understanding SQL.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// leadingDigits returns the run of ASCII digits that starts s.
func leadingDigits(s string) string {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i]
}

// cmpNum compares two strings of ASCII digits by numeric value, without
// overflowing on 14-digit timestamps or longer.
func cmpNum(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// numberedName is "<digits><rest>.sql", the shape plain, dbmate, goose,
// drizzle and supabase files share.
type numberedName struct {
	version string
	name    string // the rest after the separator, without .sql
	sep     byte   // the byte after the digits, 0 when ".sql" follows directly
}

func parseNumbered(base string) (numberedName, bool) {
	if !strings.HasSuffix(base, ".sql") {
		return numberedName{}, false
	}
	v := leadingDigits(base)
	if v == "" {
		return numberedName{}, false
	}
	stem := strings.TrimSuffix(base, ".sql")
	rest := stem[len(v):]
	n := numberedName{version: v}
	if rest != "" {
		n.sep = rest[0]
		n.name = rest[1:]
	}
	return n, true
}

// golangMigrateName parses golang-migrate's {version}_{title}.{up|down}.{ext}.
// golang-migrate's source drivers match names with the regular expression
// ^([0-9]+)_(.*)\.(down|up)\.(.*)$ (source/parse.go): the extension is
// anything at all, ".sql", ".SQL", ".txt" or "sql.bak" alike, and every
// matching file is run. The title is greedy, so the direction is the last
// ".up." or ".down." of the name.
type golangMigrateName struct {
	version string
	title   string
	down    bool
	ext     string
}

func parseGolangMigrate(base string) (golangMigrateName, bool) {
	var n golangMigrateName
	n.version = leadingDigits(base)
	rest := base[len(n.version):]
	if n.version == "" || !strings.HasPrefix(rest, "_") {
		return n, false
	}
	rest = rest[1:]
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i] != '.' {
			continue
		}
		switch {
		case strings.HasPrefix(rest[i:], ".up."):
			n.title, n.ext = rest[:i], rest[i+len(".up."):]
			return n, true
		case strings.HasPrefix(rest[i:], ".down."):
			n.title, n.ext, n.down = rest[:i], rest[i+len(".down."):], true
			return n, true
		}
	}
	return n, false
}

// flywayName parses Flyway's V<version>__<desc>.sql, U<version>__<desc>.sql
// and R__<desc>.sql with the default prefixes and separator.
type flywayName struct {
	prefix  byte // 'V', 'U' or 'R'
	version string
	desc    string
}

func parseFlyway(base string) (flywayName, bool) {
	if len(base) < 2 || !strings.HasSuffix(base, ".sql") {
		return flywayName{}, false
	}
	stem := strings.TrimSuffix(base, ".sql")
	n := flywayName{prefix: stem[0]}
	switch n.prefix {
	case 'R':
		if !strings.HasPrefix(stem, "R__") {
			return n, false
		}
		n.desc = stem[3:]
		return n, true
	case 'V', 'U':
	default:
		return n, false
	}
	rest := stem[1:]
	sep := strings.Index(rest, "__")
	if sep <= 0 {
		return n, false
	}
	n.version = rest[:sep]
	n.desc = rest[sep+2:]
	if !validFlywayVersion(n.version) {
		return n, false
	}
	return n, true
}

// looksFlyway catches names meant for Flyway that Flyway will not pick up
// (missing "__", a lower-case prefix), so they can be reported.
func looksFlyway(base string) bool {
	if len(base) < 2 || !strings.HasSuffix(base, ".sql") {
		return false
	}
	switch base[0] {
	case 'V', 'U', 'v', 'u':
		return isDigit(base[1])
	case 'R', 'r':
		return base[1] == '_'
	}
	return false
}

func validFlywayVersion(v string) bool {
	if v == "" {
		return false
	}
	for _, part := range flywayParts(v) {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !isDigit(part[i]) {
				return false
			}
		}
	}
	return true
}

// flywayParts splits a version on "." and "_", which Flyway treats alike.
func flywayParts(v string) []string {
	return strings.Split(strings.ReplaceAll(v, "_", "."), ".")
}

// cmpFlyway compares versions part by part as numbers, missing parts being
// zero, as Flyway's MigrationVersion does: 1.1 < 1.10 < 2, and 1 == 1.0.
func cmpFlyway(a, b string) int {
	pa, pb := flywayParts(a), flywayParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if c := cmpNum(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// flywayDescriptionKey is what Flyway sorts repeatable migrations by: the
// description with underscores shown as spaces.
func flywayDescriptionKey(desc string) string {
	return strings.ReplaceAll(desc, "_", " ")
}

// gooseVersion reads goose's version: the digits before the first "_",
// a positive int64.
func gooseVersion(base string) (string, string, string) {
	stem := strings.TrimSuffix(base, ".sql")
	i := strings.IndexByte(stem, '_')
	if i < 0 {
		return "", "", "no version: goose names are {version}_{name}.sql (the goose command refuses the folder, its Provider skips the file)"
	}
	v := stem[:i]
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return "", "", "goose cannot read a positive version number from \"" + v + "\" (the goose command refuses the folder, its Provider skips the file)"
	}
	return v, stem[i+1:], ""
}

// splitPath returns the directory and base name of a slash path.
func splitPath(p string) (string, string) {
	d, b := path.Split(p)
	d = strings.TrimSuffix(d, "/")
	if d == "" {
		d = "."
	}
	return d, b
}
