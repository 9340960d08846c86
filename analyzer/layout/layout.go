// Package layout finds the migration files of whatever tool a repository uses,
// in the order that tool applies them, with each file's up and down parts and
// the way the tool runs them with respect to transactions.
//
// It reads file names, tool directives written as SQL comments and tool
// metadata files (sqitch.plan, meta/_journal.json, migration_lock.toml,
// Flyway's .sql.conf). It never interprets SQL: splitting statements and
// deciding what they lock is the job of the SQL parser, which gets the byte
// ranges found here so that line numbers stay those of the original file.
//
// The file system may be backed by remote API calls, so Discover lists
// directories freely but reads only files that can be migrations or tool
// metadata, each at most once, and hands their bytes back in the result.
package layout

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Kind names a migration tool's layout.
type Kind string

// The layouts this package understands.
const (
	Plain         Kind = "plain"
	GolangMigrate Kind = "golang-migrate"
	Goose         Kind = "goose"
	Dbmate        Kind = "dbmate"
	Flyway        Kind = "flyway"
	Sqitch        Kind = "sqitch"
	Prisma        Kind = "prisma"
	Drizzle       Kind = "drizzle"
	Supabase      Kind = "supabase"
)

// Kinds lists every layout, in the order detection prefers them when a file
// could belong to several.
var Kinds = []Kind{GolangMigrate, Flyway, Goose, Dbmate, Sqitch, Prisma, Drizzle, Supabase, Plain}

// ParseKind accepts a layout name as people write it in configuration.
func ParseKind(s string) (Kind, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	switch k {
	case "":
		return "", nil
	case "migrate", "golang_migrate", "golangmigrate", "golang-migrate/migrate":
		return GolangMigrate, nil
	case "psql", "sql":
		return Plain, nil
	}
	for _, known := range Kinds {
		if Kind(k) == known {
			return known, nil
		}
	}
	return "", fmt.Errorf("unknown migration layout %q (known: %s)", s, kindList())
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// RunsWithPsql reports whether the tool runs files with psql, which
// interpolates :variables and executes backslash commands before the server
// sees anything: plain folders (psql -f) and sqitch's pg engine.
func (k Kind) RunsWithPsql() bool {
	return k == Plain || k == Sqitch
}

// SupportsDown reports whether the tool has down (revert, undo) migrations.
func (k Kind) SupportsDown() bool {
	switch k {
	case GolangMigrate, Goose, Dbmate, Flyway, Sqitch:
		return true
	}
	return false
}

// Location is one configured migration folder, from .github/migration-guard.yml:
//
//	migrations:
//	  - path: db/migrations
//	    layout: goose
//	  - path: services/billing/migrations
//	    layout: golang-migrate
//	    multi_statement: true
type Location struct {
	// Path is the migration folder (for sqitch the project root holding
	// sqitch.conf or sqitch.plan, for prisma the folder holding
	// migration_lock.toml or the project root above it), slash-separated,
	// relative to the repository root.
	Path string `yaml:"path" json:"path"`
	// Layout is the tool; "" means detect it under Path.
	Layout Kind `yaml:"layout" json:"layout"`
	// Options change how the tool runs files.
	Options Options `yaml:",inline" json:"options"`
}

// Transaction overrides for Options.Transaction.
const (
	// TransactionPerFile says the runner wraps each file in one transaction,
	// as psql --single-transaction (-1) does.
	TransactionPerFile = "per-file"
	// TransactionNone says the runner sends statements one at a time outside
	// any transaction, as Flyway does with executeInTransaction=false.
	TransactionNone = "none"
)

// Options describe runner settings that live outside the repository's
// migration files (command-line flags, connection URLs, tool configuration)
// and change how files are run. They replace the tool's default only: a
// directive in a file (-- +goose NO TRANSACTION, transaction:false, a Flyway
// .sql.conf) still wins for that file.
type Options struct {
	// Transaction is "" for the tool's default, TransactionPerFile or
	// TransactionNone.
	Transaction string `yaml:"transaction" json:"transaction,omitempty"`
	// MultiStatement is golang-migrate's x-multi-statement=true: the file is
	// split on semicolons and each piece sent on its own, so nothing is
	// wrapped in a transaction.
	MultiStatement bool `yaml:"multi_statement" json:"multi_statement,omitempty"`
	// Mixed is Flyway's mixed=true: a migration may hold both statements that
	// can and statements that cannot run in a transaction; Flyway then runs
	// the whole script without one instead of refusing it.
	Mixed bool `yaml:"mixed" json:"mixed,omitempty"`
	// Group is Flyway's group=true: all pending migrations of a run are
	// applied in one transaction (DbMigrate.migrateGroup), so locks taken
	// by one are held through the next, as with drizzle.
	Group bool `yaml:"group" json:"group,omitempty"`
}

// TxMode says how the tool runs a part with respect to transactions, before
// looking at the SQL.
type TxMode string

const (
	// TxWrapped: the tool opens a transaction around the whole part.
	TxWrapped TxMode = "wrapped"
	// TxNone: each statement autocommits unless the file itself says
	// BEGIN/COMMIT.
	TxNone TxMode = "none"
	// TxImplicit: the part is sent as one multi-statement simple query, which
	// PostgreSQL runs as one implicit transaction when it holds more than one
	// statement, and as a plain autocommitted statement otherwise.
	TxImplicit TxMode = "implicit"
	// TxAutoNonTx is Flyway's rule: the part runs in a transaction unless one
	// of its statements cannot run in one (Flyway's list is in
	// FlywayNonTransactional); then the whole part runs without a
	// transaction, statement by statement. A part holding both kinds is
	// refused by Flyway unless Part.Mixed is set.
	TxAutoNonTx TxMode = "auto-nontransactional-if-needed"
)

// FlywayNonTransactional lists the statement beginnings (upper-case, single
// spaces) that Flyway's PostgreSQL parser marks as unable to run in a
// transaction, from PostgreSQLParser.detectCanExecuteInTransaction. "ALTER
// TYPE ... ADD VALUE" is on the list only when the server is older than 12.
var FlywayNonTransactional = []string{
	"CREATE DATABASE", "DROP DATABASE",
	"CREATE TABLESPACE", "DROP TABLESPACE",
	"CREATE SUBSCRIPTION", "DROP SUBSCRIPTION",
	"ALTER SYSTEM",
	"CREATE INDEX CONCURRENTLY", "CREATE UNIQUE INDEX CONCURRENTLY",
	"DROP INDEX CONCURRENTLY", "DROP UNIQUE INDEX CONCURRENTLY",
	"REINDEX SCHEMA", "REINDEX DATABASE", "REINDEX SYSTEM",
	"REINDEX VERBOSE SCHEMA", "REINDEX VERBOSE DATABASE", "REINDEX VERBOSE SYSTEM",
	"VACUUM",
	"DISCARD ALL",
	"ALTER TYPE ... ADD VALUE (PostgreSQL < 12)",
}

// Part is the up or down half of a migration: a byte range of one file.
type Part struct {
	Path       string // the file this part is in
	Start, End int    // byte offsets of the part's text in that file's content
	Tx         TxMode
	TxReason   string // one sentence for people
	TxLine     int    // 1-based line of the directive that set Tx, 0 if a default
	// TxSource is the file holding that directive when it is not Path
	// (Flyway's .sql.conf sidecar).
	TxSource string
	// TxAcrossRun says the transaction also holds every other migration
	// applied in the same run (drizzle), so its locks last until the last
	// pending migration has run.
	TxAcrossRun bool
	// Mixed carries Flyway's mixed setting for TxAutoNonTx.
	Mixed bool
}

// Text returns the part's bytes from the content of its file.
func (p Part) Text(content []byte) []byte {
	if p.Start < 0 || p.End > len(content) || p.Start > p.End {
		return nil
	}
	return content[p.Start:p.End]
}

// Section is one up/down pair of a file that holds several (dbmate).
type Section struct {
	Up   Part
	Down *Part
}

// Migration is one migration as the tool sees it.
type Migration struct {
	Kind     Kind
	Dir      string // the migration folder (sqitch/prisma: the project folder)
	Path     string // the file of the up part (or the main file)
	Version  string // as written ("20240101120000", "1.2.3", "" for repeatable and sqitch)
	Name     string
	Up       Part
	Down     *Part  // nil when there is none
	DownPath string // where the down part lives when it is a separate file
	// SupportsDown says the tool has down migrations at all.
	SupportsDown bool
	Repeatable   bool // Flyway R__
	// More holds the second and later sections of a dbmate file with
	// several -- migrate:up blocks; dbmate runs each on its own.
	More []Section
	// VerifyPath is sqitch's verify script for the change; it is never
	// run as part of a migration.
	VerifyPath string
	// FollowsSameVersion says the migration shares its version with the one
	// before it in a plain folder: the runner applies them together, in an
	// order the folder does not tell (the one assumed is in Problems), so
	// what the earlier one creates is still new here.
	FollowsSameVersion bool
	// Content is the up file's bytes as read, and DownContent the separate
	// down file's, if any. Nothing writes them once read (fs.ReadFile
	// gives its caller bytes of its own): the analysis reads a file's text
	// in them (sqlscript.DecodeShared) rather than in a copy.
	Content     []byte
	DownContent []byte
	Problems    []Problem
	// BlobSHA is the git blob id of the up file: computed from Content
	// when it was read, else the id the file system gave with the
	// UnreadableError (the link itself for a symbolic link that cannot be
	// followed, the blob for a file over the size limit).
	BlobSHA string
	// Unreadable says why the up file, which the tool would run, could not
	// be read; "" when it was. Content is then empty: the file must be
	// judged by a person.
	Unreadable string
}

// UnreadableError is the error a file system gives for a file that exists
// but cannot be read as migration text: a symbolic link that leads out of
// the repository, in a loop or nowhere, a file over the size limit. Discover
// never skips such a file when the tool would run it: it hands it back as a
// Migration with Unreadable set. Any other read error stops Discover.
type UnreadableError struct {
	Path   string
	Reason string // for people: "symbolic link to /etc/x, outside the repository"
	// BlobID is the git blob id that stands for what is there, "" when
	// unknown (then GitBlobID of the bytes the caller has, if any).
	BlobID string
}

func (e *UnreadableError) Error() string { return e.Path + ": " + e.Reason }

// unreadable returns the UnreadableError in err's chain, or nil.
func unreadable(err error) *UnreadableError {
	var ue *UnreadableError
	if errors.As(err, &ue) {
		return ue
	}
	return nil
}

// GitBlobID is the id git gives a blob with this content:
// SHA-1 over "blob <length>\x00" followed by the content.
func GitBlobID(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// SharesSession says whether the tool runs the migrations of one run over
// one database session, so that a session-level SET (search_path, role)
// in one file still holds in the files after it. psql starts a session per
// file (plain, sqitch), and Flyway puts the connection back after each
// migration (PostgreSQLConnection.doRestoreOriginalState resets the role,
// Connection.restoreOriginalSchema the search path); the others keep one
// connection for the run (or a pool that hands back the same idle
// connection), and migration-guard assumes the setting carries over, which
// errs on the side of resetting an approval.
func (k Kind) SharesSession() bool {
	switch k {
	case Plain, Sqitch, Flyway:
		return false
	}
	return true
}

// Problem is a layout-level issue: something the tool would refuse, silently
// skip, or run differently from how it reads.
type Problem struct {
	Path    string
	Line    int
	Message string
	// RunTimeText says the tool fills in text of the file when it runs it
	// (goose's ENVSUB): what runs is not what the review reads, so it
	// needs a person, not only a note.
	RunTimeText bool
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.Path, p.Line, p.Message)
	}
	return p.Path + ": " + p.Message
}

// Folder is a migration folder and how it was recognised.
type Folder struct {
	Path       string
	Kind       Kind
	Detected   string // "configured", "sqitch.plan", "file names V<version>__<desc>.sql", ...
	Configured bool
	Options    Options
}

// Set is everything Discover found.
type Set struct {
	Migrations []Migration
	Folders    []Folder
	// Problems holds issues not tied to one migration: a plan or journal
	// naming a missing file, a down file without its up file, a configured
	// folder that does not exist.
	Problems []Problem
}

// AllProblems returns the set's problems followed by every migration's.
func (s *Set) AllProblems() []Problem {
	out := append([]Problem(nil), s.Problems...)
	for _, m := range s.Migrations {
		out = append(out, m.Problems...)
	}
	return out
}
