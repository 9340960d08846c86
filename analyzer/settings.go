package analyzer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// The guard's own settings are files too: the configuration decides who may
// approve what and which folders are checked at all, and the statistics file
// it names decides how question 6 judges locks. Both are read from the base
// branch, so a pull request cannot weaken its own check; but once merged, a
// change to them weakens the check of every later pull request. It sits with
// question 5, which asks what really runs and how: these files decide what is
// checked.
var ruleGuardSettings = register(Rule{
	ID: "guard-settings-changed", Question: QTransaction, Severity: Danger,
	Title: "Change to migration-guard's own settings",
	Why: "The configuration (.github/migration-guard.yml) and the statistics file it names decide how every later pull request is checked: " +
		"who may approve, which severities need approval, which folders hold migrations, how large a table is. " +
		"A change to them can switch the guard off for everything that follows, so it needs the same approval as a destructive statement, " +
		"whatever the configured severities say.",
	Example: "(a change to .github/migration-guard.yml that sets approval.allow_author: true)",
	Safe:    "-- Change the guard's settings in a pull request of their own, approved by someone the current settings name.",
})

// SettingsChange is what a change does to the guard's own files, as the
// caller read them at the base and at the head.
type SettingsChange struct {
	// ConfigChanged says the change adds, modifies or removes ConfigPath;
	// ConfigBase and ConfigHead are its contents, nil where it is absent.
	ConfigChanged          bool
	ConfigBase, ConfigHead []byte
	// StatsPath is the statistics file the base configuration names ("" for
	// none); StatsChanged says the change adds, modifies or removes it, and
	// StatsBase and StatsHead are its contents, nil where absent.
	StatsPath            string
	StatsChanged         bool
	StatsBase, StatsHead []byte
}

// SettingsFiles turns a change to the guard's own files into file-level
// findings that always need approval (the fingerprint binds the effective
// settings before and after, which the messages spell out): one file for
// the configuration, one for the statistics file. Nothing when neither
// changed.
func SettingsFiles(ch SettingsChange) []File {
	var out []File
	if ch.ConfigChanged {
		out = append(out, settingsFile(ConfigPath, configChangeMessage(ch.ConfigBase, ch.ConfigHead)))
	}
	if ch.StatsChanged && ch.StatsPath != "" && ch.StatsPath != ConfigPath {
		out = append(out, settingsFile(ch.StatsPath, statsChangeMessage(ch.StatsPath, ch.StatsBase, ch.StatsHead)))
	}
	return out
}

func settingsFile(path, message string) File {
	fd := ruleGuardSettings.finding(message)
	fd.RequiresApproval = true
	fd.Marker = Position{Line: 1, Column: 1}
	return File{
		Path: path, Layout: "migration-guard settings", TransactionMode: "none",
		TransactionReason: "not a migration: it decides how every later pull request is checked",
		Statements:        []Statement{}, Findings: []Finding{fd},
	}
}

// Setting is one effective setting: its key and its value, defaults
// filled in.
type Setting struct {
	Key, Value string
}

// EffectiveSettings lists every setting of a configuration as the guard
// applies it, defaults included, in a fixed order.
func EffectiveSettings(c Config) []Setting {
	list := func(items []string) string {
		if len(items) == 0 {
			return "[]"
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	orNone := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	migrations := "(found automatically)"
	if len(c.Migrations) > 0 {
		var locs []string
		for _, m := range c.Migrations {
			b, err := json.Marshal(m)
			if err != nil {
				b = []byte(fmt.Sprintf("%+v", m))
			}
			locs = append(locs, string(b))
		}
		migrations = list(locs)
	}
	maxBytes := c.MaxFileBytes
	if maxBytes <= 0 {
		maxBytes = sqlscript.DefaultMaxBytes
	}
	minRole := c.Approval.MinRole
	if minRole == "" {
		minRole = "write"
	}
	var severities []string
	for _, s := range []Severity{Danger, Warning, Info} {
		if c.NeedsApproval(s) {
			severities = append(severities, string(s))
		}
	}
	return []Setting{
		{"postgres_version", strconv.Itoa(c.PostgresVersion)},
		{"migrations", migrations},
		{"max_file_bytes", strconv.Itoa(maxBytes)},
		{"stats_file", orNone(c.StatsFile)},
		{"probe_database_env", orNone(c.ProbeDatabaseEnv)},
		{"lock_threshold", c.Threshold().String()},
		{"approval.min_role", minRole},
		{"approval.roles", list(c.Approval.Roles)},
		{"approval.users", list(c.Approval.Users)},
		{"approval.teams", list(c.Approval.Teams)},
		{"approval.allow_author", strconv.FormatBool(c.Approval.AllowAuthor)},
		{"approval.severities", list(severities)},
	}
}

// effective parses a configuration file as the guard would: absent means
// the defaults.
func effective(data []byte) (Config, error) {
	if data == nil {
		return DefaultConfig(), nil
	}
	return ParseConfig(data)
}

// configChangeMessage says what the change does to the configuration:
// every effective setting that differs, before → after.
func configChangeMessage(base, head []byte) string {
	var what string
	switch {
	case base == nil && head == nil:
		what = ConfigPath + " changes"
	case base == nil:
		what = ConfigPath + " is added (until now the defaults applied)"
	case head == nil:
		what = ConfigPath + " is removed (the defaults apply from then on)"
	default:
		what = ConfigPath + " changes"
	}
	before, berr := effective(base)
	after, herr := effective(head)
	switch {
	case herr != nil:
		return fmt.Sprintf("%s, and the new file cannot be used (%v): every later check would fail until it is fixed", what, oneLine(herr.Error()))
	case berr != nil:
		return fmt.Sprintf("%s; the base's file could not be used (%v), after: %s", what, oneLine(berr.Error()), settingsLine(EffectiveSettings(after)))
	}
	diff := DiffSettings(EffectiveSettings(before), EffectiveSettings(after))
	if len(diff) == 0 {
		return what + ": no effective setting changes (only comments or formatting)"
	}
	return what + " for every later pull request: " + strings.Join(diff, "; ")
}

// DiffSettings lists the settings whose effective values differ, as
// "key: before → after".
func DiffSettings(before, after []Setting) []string {
	at := map[string]string{}
	for _, s := range before {
		at[s.Key] = s.Value
	}
	var out []string
	for _, s := range after {
		if b, ok := at[s.Key]; !ok || b != s.Value {
			if !ok {
				b = "(unset)"
			}
			out = append(out, fmt.Sprintf("%s: %s → %s", s.Key, b, s.Value))
		}
	}
	return out
}

func settingsLine(s []Setting) string {
	var parts []string
	for _, x := range s {
		parts = append(parts, x.Key+": "+x.Value)
	}
	return strings.Join(parts, "; ")
}

// statsChangeMessage says what the change does to the statistics file:
// the tables it describes before and after, and the largest one.
func statsChangeMessage(path string, base, head []byte) string {
	describe := func(data []byte) string {
		if data == nil {
			return "absent (table sizes unknown)"
		}
		f, err := prodstats.Load(bytes.NewReader(data))
		if err != nil {
			return "unusable (" + oneLine(err.Error()) + "; table sizes unknown)"
		}
		var largest *prodstats.Table
		for i := range f.Tables {
			if largest == nil || f.Tables[i].TotalBytes > largest.TotalBytes {
				largest = &f.Tables[i]
			}
		}
		s := fmt.Sprintf("%d tables", len(f.Tables))
		if largest != nil {
			s += fmt.Sprintf(", largest %s.%s at %d bytes", largest.Schema, largest.Name, largest.TotalBytes)
		}
		return s
	}
	return fmt.Sprintf("the statistics file the base configuration names (stats_file: %s) changes, and question 6 judges the locks of every later pull request by it: before %s; after %s",
		path, describe(base), describe(head))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
