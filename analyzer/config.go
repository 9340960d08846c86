package analyzer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// ConfigPath is where a repository keeps its configuration. The App reads it
// from the base branch only, so a pull request cannot weaken its own guard.
const ConfigPath = ".github/migration-guard.yml"

// Supported target PostgreSQL versions. The lock and rewrite rules differ by
// version (fast defaults from 11, SET NOT NULL through a valid CHECK from 12).
const (
	MinPostgresVersion     = 11
	MaxPostgresVersion     = 17
	DefaultPostgresVersion = 15
)

// Config is a repository's .github/migration-guard.yml.
type Config struct {
	// PostgresVersion is the major version migrations run against in production.
	PostgresVersion int `yaml:"postgres_version" json:"postgres_version"`
	// Migrations names the migration folders and their layout; empty means
	// find them automatically.
	Migrations []layout.Location `yaml:"migrations" json:"migrations,omitempty"`
	// MaxFileBytes is the largest migration file analyzed; larger ones are
	// reported, never read.
	MaxFileBytes int `yaml:"max_file_bytes" json:"max_file_bytes,omitempty"`
	// StatsFile is a statistics file written by `migration-guard stats`,
	// relative to the repository root: table sizes for question 6.
	StatsFile string `yaml:"stats_file" json:"stats_file,omitempty"`
	// ProbeDatabaseEnv names the environment variable of the App's own
	// deployment that holds a read-only connection URL for data probes. The
	// URL never lives in the repository; the App accepts only the name
	// ProbeEnvName gives for this repository, so a repository cannot point
	// at another's database or at the App's own secrets.
	ProbeDatabaseEnv string `yaml:"probe_database_env" json:"probe_database_env,omitempty"`
	// LockThreshold is how long a blocking lock may be held before it is a
	// danger; default 1s.
	LockThreshold Duration `yaml:"lock_threshold" json:"lock_threshold,omitempty"`
	// Approval is read by the App's approval gate.
	Approval ApprovalConfig `yaml:"approval" json:"approval"`
	// Rehearsal turns on the App's rehearsal of changed migrations on a
	// throwaway PostgreSQL (migration-guard rehearse), read from the base
	// branch like the rest of the configuration.
	Rehearsal RehearsalConfig `yaml:"rehearsal" json:"rehearsal"`
}

// RehearsalConfig is the rehearsal's opt-in.
type RehearsalConfig struct {
	// Enabled rehearses pull requests from branches of the repository.
	Enabled bool `yaml:"enabled" json:"enabled,omitempty"`
	// Forks also rehearses pull requests from forks, whose SQL anyone
	// may have written.
	Forks bool `yaml:"forks" json:"forks,omitempty"`
	// Rows fills the base's tables with this many generated rows first.
	Rows int `yaml:"rows" json:"rows,omitempty"`
}

// ProbeEnvPrefix starts every probe variable's name.
const ProbeEnvPrefix = "MIGRATION_GUARD_PROBE_DB_"

// ProbeEnvName is the only environment variable a repository may name for
// its data probes: MIGRATION_GUARD_PROBE_DB_<OWNER>__<REPO>, upper case,
// with every character other than a letter or digit turned into _.
func ProbeEnvName(owner, repo string) string {
	norm := func(s string) string {
		b := []byte(strings.ToUpper(s))
		for i, c := range b {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				b[i] = '_'
			}
		}
		return string(b)
	}
	return ProbeEnvPrefix + norm(owner) + "__" + norm(repo)
}

// DefaultLockThreshold is the checklist's "more than a second".
const DefaultLockThreshold = time.Second

// Duration reads "1s", "500ms", "2m" from YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	v, err := time.ParseDuration(node.Value)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: lock_threshold must be a positive duration such as 1s or 500ms, got %q", node.Line, node.Value)
	}
	*d = Duration(v)
	return nil
}

// Threshold is the lock threshold with its default.
func (c Config) Threshold() time.Duration {
	if c.LockThreshold <= 0 {
		return DefaultLockThreshold
	}
	return time.Duration(c.LockThreshold)
}

// ApprovalConfig says who may approve what. Only the base branch's copy counts.
type ApprovalConfig struct {
	// MinRole is the least built-in repository role an approver needs:
	// read, triage, write (default), maintain or admin. Maintain and admin
	// always qualify.
	MinRole string `yaml:"min_role" json:"min_role,omitempty"`
	// Roles names the organization's custom repository roles that qualify.
	// A custom role never qualifies by what it inherits: GitHub reports
	// only its name, and a name says nothing about who was given it.
	Roles []string `yaml:"roles" json:"roles,omitempty"`
	// Users and Teams, when set, further restrict who may approve. A team
	// is "org/slug", or "slug" for a team of the repository's owner.
	Users []string `yaml:"users" json:"users,omitempty"`
	Teams []string `yaml:"teams" json:"teams,omitempty"`
	// AllowAuthor lets the pull request's author and committers approve.
	AllowAuthor bool `yaml:"allow_author" json:"allow_author,omitempty"`
	// Severities lists which severities need approval; default: danger.
	Severities []Severity `yaml:"severities" json:"severities,omitempty"`
}

// DefaultConfig is what a repository without a configuration file gets.
func DefaultConfig() Config {
	return Config{PostgresVersion: DefaultPostgresVersion}
}

// ParseConfig reads a configuration file. Unknown keys are errors, with
// their line, because a misspelt key silently ignored is a guard silently
// off. Errors are one line and do not name the file: the caller knows
// where it came from.
func ParseConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return Config{}, errors.New(strings.Join(te.Errors, "; "))
		}
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks values that parse but cannot be right.
func (c *Config) Validate() error {
	if c.PostgresVersion == 0 {
		c.PostgresVersion = DefaultPostgresVersion
	}
	if c.PostgresVersion < MinPostgresVersion || c.PostgresVersion > MaxPostgresVersion {
		return fmt.Errorf("postgres_version %d is not supported (supported: %d to %d)", c.PostgresVersion, MinPostgresVersion, MaxPostgresVersion)
	}
	if c.MaxFileBytes < 0 {
		return fmt.Errorf("max_file_bytes must be positive, got %d", c.MaxFileBytes)
	}
	for i, m := range c.Migrations {
		if m.Path == "" {
			return fmt.Errorf("migrations[%d]: path is required", i)
		}
		kind, err := layout.ParseKind(string(m.Layout))
		if err != nil {
			return fmt.Errorf("migrations[%d]: %w", i, err)
		}
		c.Migrations[i].Layout = kind
		switch m.Options.Transaction {
		case "", layout.TransactionPerFile, layout.TransactionNone:
		default:
			return fmt.Errorf("migrations[%d]: transaction must be %q or %q, got %q", i, layout.TransactionPerFile, layout.TransactionNone, m.Options.Transaction)
		}
	}
	for _, s := range c.Approval.Severities {
		if s.Rank() == 0 {
			return fmt.Errorf("approval.severities: unknown severity %q (known: danger, warning, info)", s)
		}
	}
	switch c.Approval.MinRole {
	case "":
		c.Approval.MinRole = "write"
	case "read", "triage", "write", "maintain", "admin":
	default:
		return fmt.Errorf("approval.min_role must be read, triage, write, maintain or admin, got %q (name custom roles under approval.roles)", c.Approval.MinRole)
	}
	for _, r := range c.Approval.Roles {
		if strings.TrimSpace(r) == "" {
			return errors.New("approval.roles: a role name is empty")
		}
		if RoleRank(strings.TrimSpace(r)) > 0 {
			return fmt.Errorf("approval.roles lists custom roles; %s is a built-in role: set approval.min_role instead", r)
		}
	}
	for _, u := range c.Approval.Users {
		if strings.TrimSpace(strings.TrimPrefix(u, "@")) == "" {
			return errors.New("approval.users: a login is empty")
		}
	}
	for _, t := range c.Approval.Teams {
		org, slug, found := strings.Cut(t, "/")
		if strings.TrimSpace(slug) == "" && found || strings.TrimSpace(org) == "" || strings.Count(t, "/") > 1 {
			return fmt.Errorf("approval.teams: %q is not a team: write org/slug, or slug for a team of the repository's owner", t)
		}
	}
	return nil
}

// BuiltinRoles are GitHub's repository roles, least first.
var BuiltinRoles = []string{"read", "triage", "write", "maintain", "admin"}

// RoleRank orders the built-in roles (read 1 to admin 5); 0 for any other
// name, which is a custom role's.
func RoleRank(role string) int {
	for i, r := range BuiltinRoles {
		if r == role {
			return i + 1
		}
	}
	return 0
}

// RoleQualifies says whether GitHub's role_name for a user is enough to
// approve: a built-in role at least MinRole (maintain and admin always),
// or a custom role named in Roles.
func (a ApprovalConfig) RoleQualifies(roleName string) bool {
	if roleName == "" {
		return false
	}
	if rank := RoleRank(roleName); rank > 0 {
		min := a.MinRole
		if min == "" {
			min = "write"
		}
		return rank >= RoleRank(min) || rank >= RoleRank("maintain")
	}
	for _, r := range a.Roles {
		if strings.EqualFold(strings.TrimSpace(r), roleName) {
			return true
		}
	}
	return false
}

// NeedsApproval says whether findings of this severity need a human's approval.
func (c Config) NeedsApproval(s Severity) bool {
	if len(c.Approval.Severities) == 0 {
		return s == Danger
	}
	for _, x := range c.Approval.Severities {
		if x == s {
			return true
		}
	}
	return false
}
