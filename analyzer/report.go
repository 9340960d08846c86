// Package analyzer reads PostgreSQL migrations and answers the six questions
// of migration-guard's checklist for every statement of the changed ones.
//
// It knows SQL and migration tools, nothing of GitHub: the input is a file
// system at the base and at the head of a change, the output a Report.
package analyzer

import (
	"slices"
	"sort"
)

// Question is one of the six points of the checklist.
type Question int

// The six questions, numbered as people read them.
const (
	QDrops       Question = 1
	QTypes       Question = 2
	QConstraints Question = 3
	QRenames     Question = 4
	QTransaction Question = 5
	QLocks       Question = 6
)

// Questions lists the checklist in order.
var Questions = []Question{QDrops, QTypes, QConstraints, QRenames, QTransaction, QLocks}

// Title is the question as the checklist asks it.
func (q Question) Title() string {
	switch q {
	case QDrops:
		return "Drops: does it destroy tables, columns or rows?"
	case QTypes:
		return "Type changes: does it narrow or rewrite a column?"
	case QConstraints:
		return "Constraints: can a new constraint fail on existing rows?"
	case QRenames:
		return "Renames: does it break the version still running?"
	case QTransaction:
		return "Transaction: does it run as the tool really runs it?"
	case QLocks:
		return "Locks: could it block traffic for more than a second?"
	}
	return "Unknown question"
}

// Short is the question's one-word name.
func (q Question) Short() string {
	switch q {
	case QDrops:
		return "Drops"
	case QTypes:
		return "Type changes"
	case QConstraints:
		return "Constraints"
	case QRenames:
		return "Renames"
	case QTransaction:
		return "Transaction"
	case QLocks:
		return "Locks"
	}
	return "Unknown"
}

// Severity ranks a finding.
type Severity string

// Severities, from worst to least.
const (
	Danger  Severity = "danger"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Rank orders severities: danger 3, warning 2, info 1.
func (s Severity) Rank() int {
	switch s {
	case Danger:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Position is a 1-based line and column in a file; columns count characters.
type Position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Finding is one answer to one question about one statement (or file).
type Finding struct {
	Rule     string   `json:"rule"`
	Question Question `json:"question"`
	// AlsoQuestions are other questions the finding answers: a constraint's
	// scan under a blocking lock is question 3's finding and question 6's
	// work, reported once and counted for both.
	AlsoQuestions    []Question `json:"also_questions,omitempty"`
	Severity         Severity   `json:"severity"`
	RequiresApproval bool       `json:"requires_approval"`
	// Objects are the database objects it touches, schema-qualified:
	// "public.orders", "public.orders.email".
	Objects []string `json:"objects,omitempty"`
	Message string   `json:"message"`
	Why     string   `json:"why"`
	// SafeAlternative is the safe way, written out as SQL with the
	// statement's real names. Empty when the statement is already the safe way.
	SafeAlternative string `json:"safe_alternative,omitempty"`
	// Marker points at the part of the statement at fault; zero when the
	// whole statement is.
	Marker Position `json:"marker"`
	// Suppressed holds the reason given in a migration-guard:ignore comment.
	Suppressed *Suppression `json:"suppressed,omitempty"`
	// Rehearsal is "confirmed" or "contradicted" when a rehearsal on a real
	// PostgreSQL checked the finding's prediction (locks, rewrite, scan);
	// "" when none did.
	Rehearsal string `json:"rehearsal,omitempty"`
	// repeats counts the same finding folded into this one (a called
	// function that runs the same statement several times); it is said
	// once in the message instead of as many findings.
	repeats int
	// rows holds what an existing-rows finding says, part by part, for
	// foldExistingRows.
	rows *rowsFacts
}

// Suppression is a reviewed exception written next to the statement.
type Suppression struct {
	Reason string `json:"reason"`
	Line   int    `json:"line"`
}

// Statement is one statement of a changed migration with what was found.
type Statement struct {
	Path  string   `json:"path"`
	Part  string   `json:"part"` // "up" or "down"
	Start Position `json:"start"`
	End   Position `json:"end"`
	SQL   string   `json:"sql"`
	Kind  string   `json:"kind"` // the parse tree's node, e.g. "AlterTableStmt"; "" when it does not parse
	InTx  bool     `json:"in_transaction"`
	// Locks are the table-level locks the statement takes (question 6).
	Locks []LockInfo `json:"locks,omitempty"`
	// Work is what it does while holding them: metadata, scan, rewrite,
	// index-build or backfill.
	Work string `json:"work,omitempty"`
	// Estimate is how long the work may hold the locks, from production
	// statistics; nil when the size is unknown or the work is metadata only.
	Estimate *Estimate `json:"estimate,omitempty"`
	// Objects are the tables and other objects the statement names,
	// resolved as the database will resolve them when it runs: schema-
	// qualified after the session's search_path and role, as written when
	// that cannot be known. An approval is bound to them.
	Objects []string `json:"objects,omitempty"`
	// Settings are the session settings in force when the statement runs
	// that change what its names mean ("search_path=billing",
	// "role=admin"); only those away from a new session's default. A SET
	// in an earlier file counts when the tool runs the files of one run
	// over one session.
	Settings []string `json:"settings,omitempty"`
	// Inner says the statement is one that a DO block, a function body or
	// a called function runs: it is part of the statement before it that
	// holds it, never run on its own (a rehearsal runs only the outer one).
	Inner     bool      `json:"inner,omitempty"`
	Findings  []Finding `json:"findings"`
	startByte int
	// reached is the code the statement runs without containing it, one
	// entry per body (ReachedCode).
	reached []reachedBody
}

// ReachedCode is the code the statement runs that it does not contain:
// the body of each function the analysis followed from it, transitively
// (a call, a trigger it creates, stored code it installs, and what those
// bodies call in turn), as "schema.name(signature)", the language and the
// body's text normalized by PostgreSQL's scanner (comments, spacing and
// keyword case left out), sorted, each once. Nil when it reaches none.
// The body may stand in another file, so an approval of the statement
// binds it: the same call of an edited body is not what was approved.
func (s *Statement) ReachedCode() []string {
	if len(s.reached) == 0 {
		return nil
	}
	out := make([]string, len(s.reached))
	for i, r := range s.reached {
		out[i] = r.text()
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// LockInfo is one lock a statement takes.
type LockInfo struct {
	Relation string `json:"relation"`
	Kind     string `json:"kind"`
	Mode     string `json:"mode"`
	// Blocks says what the mode blocks, for people.
	Blocks   string `json:"blocks"`
	Existing bool   `json:"existing"`
}

// Estimate is a duration range for the work a statement does.
type Estimate struct {
	Relation string `json:"relation"`
	Rows     int64  `json:"rows"`
	Bytes    int64  `json:"bytes"`
	LowMS    int64  `json:"low_ms"`
	HighMS   int64  `json:"high_ms"`
	Basis    string `json:"basis"`
	// WALBytes is about how much write-ahead log the work writes, which
	// every replica must receive and replay (prodstats: RewriteWAL,
	// IndexBuildWAL, UpdateWAL, DeleteWAL); 0 when it writes none worth
	// counting.
	WALBytes int64 `json:"wal_bytes,omitempty"`
}

// File is one changed migration.
type File struct {
	Path     string `json:"path"`
	Layout   string `json:"layout"`
	Version  string `json:"version,omitempty"`
	DownPath string `json:"down_path,omitempty"`
	// InTransaction is true when every statement of the up part runs inside
	// a transaction, as the tool runs the file.
	InTransaction     bool   `json:"in_transaction"`
	TransactionMode   string `json:"transaction_mode"`
	TransactionReason string `json:"transaction_reason"`
	// RunTransaction names the transaction the tool opens around every
	// pending migration of the run (drizzle, Flyway with group) when the
	// up part runs in it, else "": files with the same name share it.
	RunTransaction string      `json:"run_transaction,omitempty"`
	Statements     []Statement `json:"statements"`
	// Findings about the file as a whole (unreadable, no down part, ...).
	Findings []Finding `json:"findings"`
	// BlobSHA is the git blob id of the file as it is (for a symbolic link
	// that cannot be followed, of the link; for a folder that could not be
	// listed, its tree id): what an approval of a file that could not be
	// read is bound to.
	BlobSHA string `json:"blob_sha,omitempty"`
	// UpDigest is SHA-256 (hex) over what the up part runs: how the tool
	// runs it (transaction mode) and each statement's text normalized by
	// PostgreSQL's scanner (comments, spacing and keyword case left out).
	// "" when the file could not be read or only its down part changed.
	UpDigest string `json:"up_digest,omitempty"`
}

// Report is the analysis of a change.
type Report struct {
	PostgresVersion int    `json:"postgres_version"`
	Files           []File `json:"files"`
	// BaseMigrations is how many migrations were replayed to know the schema.
	BaseMigrations int `json:"base_migrations"`
	// Notes are things people should know about the analysis itself, such as
	// a migration folder whose layout could not be told.
	Notes []string `json:"notes,omitempty"`
}

// RequiresApproval is true when any finding requires a human's approval.
func (r *Report) RequiresApproval() bool {
	// The findings are read where they are: listing them (AllFindings)
	// allocated a slice of them all for every call.
	for i := range r.Files {
		f := &r.Files[i]
		for j := range f.Findings {
			if f.Findings[j].RequiresApproval {
				return true
			}
		}
		for j := range f.Statements {
			for k := range f.Statements[j].Findings {
				if f.Statements[j].Findings[k].RequiresApproval {
					return true
				}
			}
		}
	}
	return false
}

// Located is a finding with where it was found.
type Located struct {
	File      *File
	Statement *Statement // nil for a file-level finding
	Finding   *Finding
}

// AllFindings lists every finding in file and statement order.
func (r *Report) AllFindings() []Located {
	// Counted first so that the list is allocated once, at its size.
	n := 0
	for i := range r.Files {
		f := &r.Files[i]
		n += len(f.Findings)
		for j := range f.Statements {
			n += len(f.Statements[j].Findings)
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Located, 0, n)
	for i := range r.Files {
		f := &r.Files[i]
		for j := range f.Findings {
			out = append(out, Located{File: f, Finding: &f.Findings[j]})
		}
		for j := range f.Statements {
			s := &f.Statements[j]
			for k := range s.Findings {
				out = append(out, Located{File: f, Statement: s, Finding: &s.Findings[k]})
			}
		}
	}
	return out
}
