package analyzer

import (
	"strings"
	"testing"
)

// TestSettingsFiles: a change to the configuration or to the statistics
// file it names is a file-level finding that needs approval, whatever the
// severities say, and its message shows the effective settings that
// change (defaults filled in), before → after.
func TestSettingsFiles(t *testing.T) {
	stats := func(tables string) []byte {
		return []byte(`{"format":"migration-guard-stats","version":1,"collected_at":"2026-01-01T00:00:00Z","server":{"version":"15.4"},"settings":{},"tables":[` + tables + `]}`)
	}
	big := `{"schema":"public","name":"orders","rows":1000000,"heap_bytes":100,"index_bytes":0,"toast_bytes":0,"total_bytes":900000000}`
	for _, tc := range []struct {
		name string
		ch   SettingsChange
		// want are the findings' paths and a part of each message.
		want map[string][]string
	}{
		{"unrelated", SettingsChange{}, nil},
		{"allow_author", SettingsChange{ConfigChanged: true, ConfigBase: []byte("approval:\n  min_role: write\n"), ConfigHead: []byte("approval:\n  allow_author: true\n")},
			map[string][]string{ConfigPath: {"changes for every later pull request: approval.allow_author: false → true"}}},
		{"severities", SettingsChange{ConfigChanged: true, ConfigBase: []byte("# strict\n"), ConfigHead: []byte("approval:\n  severities: [info]\n")},
			map[string][]string{ConfigPath: {"approval.severities: [danger] → [info]"}}},
		{"migration folders", SettingsChange{ConfigChanged: true, ConfigBase: nil, ConfigHead: []byte("migrations:\n  - path: elsewhere\n")},
			map[string][]string{ConfigPath: {"is added (until now the defaults applied)", `migrations: (found automatically) → [{"path":"elsewhere"`}}},
		{"removed", SettingsChange{ConfigChanged: true, ConfigBase: []byte("approval:\n  users: [dave]\n"), ConfigHead: nil},
			map[string][]string{ConfigPath: {"is removed", "approval.users: [dave] → []"}}},
		{"comments only", SettingsChange{ConfigChanged: true, ConfigBase: []byte("approval:\n  users: [dave]\n"), ConfigHead: []byte("# who approves\napproval:\n  users: [dave]\n")},
			map[string][]string{ConfigPath: {"no effective setting changes"}}},
		{"unusable", SettingsChange{ConfigChanged: true, ConfigBase: nil, ConfigHead: []byte("aproval: {}\n")},
			map[string][]string{ConfigPath: {"cannot be used", "every later check would fail"}}},
		{"stats", SettingsChange{StatsPath: "db/stats.json", StatsChanged: true, StatsBase: stats(big), StatsHead: stats("")},
			map[string][]string{"db/stats.json": {"stats_file: db/stats.json", "before 1 tables, largest public.orders at 900000000 bytes; after 0 tables"}}},
		{"stats removed", SettingsChange{StatsPath: "db/stats.json", StatsChanged: true, StatsBase: stats(big)},
			map[string][]string{"db/stats.json": {"after absent (table sizes unknown)"}}},
		{"stats not named", SettingsChange{StatsChanged: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := SettingsFiles(tc.ch)
			if len(files) != len(tc.want) {
				t.Fatalf("%d files, want %d: %+v", len(files), len(tc.want), files)
			}
			for _, f := range files {
				parts, ok := tc.want[f.Path]
				if !ok || len(f.Findings) != 1 {
					t.Fatalf("unexpected %s: %+v", f.Path, f.Findings)
				}
				fd := f.Findings[0]
				if fd.Rule != "guard-settings-changed" || !fd.RequiresApproval || fd.Severity != Danger {
					t.Errorf("%s: %+v", f.Path, fd)
				}
				for _, p := range parts {
					if !strings.Contains(fd.Message, p) {
						t.Errorf("%s: message lacks %q:\n%s", f.Path, p, fd.Message)
					}
				}
			}
			rep := &Report{Files: files}
			if rep.RequiresApproval() != (len(files) > 0) {
				t.Errorf("requires approval: %v", rep.RequiresApproval())
			}
		})
	}
}

// TestEffectiveSettingsDefaults: the defaults are spelled out, so that a
// diff against an absent file names real values.
func TestEffectiveSettingsDefaults(t *testing.T) {
	got := settingsLine(EffectiveSettings(DefaultConfig()))
	want := "postgres_version: 15; migrations: (found automatically); max_file_bytes: 5242880; stats_file: (none); probe_database_env: (none); " +
		"lock_threshold: 1s; approval.min_role: write; approval.roles: []; approval.users: []; approval.teams: []; approval.allow_author: false; approval.severities: [danger]"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
