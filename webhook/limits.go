package webhook

import (
	"errors"
	"fmt"

	"github.com/migration-guard/migration-guard/analyzer"
)

// WorkLimits cap the work of one job, so that one pull request cannot hold
// a worker for long. A change over a cap is not judged: its check is red
// and says which cap, failing closed. Zero values take the defaults in
// parentheses.
type WorkLimits struct {
	// MaxFiles is the most changed migration files one job judges (1,000).
	MaxFiles int
	// MaxBytes is the most bytes of changed migration files one job reads
	// (20 MiB).
	MaxBytes int64
	// MaxStatements is the most statements one job judges (10,000).
	MaxStatements int
}

// Defaults of WorkLimits.
const (
	DefaultMaxJobFiles      = 1000
	DefaultMaxJobBytes      = 20 << 20
	DefaultMaxJobStatements = 10000
)

func (l WorkLimits) withDefaults() WorkLimits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxJobFiles
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxJobBytes
	}
	if l.MaxStatements <= 0 {
		l.MaxStatements = DefaultMaxJobStatements
	}
	return l
}

// jobLimitError is a change over one of the WorkLimits. Its text goes to
// the check run: it names the cap and what lifts it.
type jobLimitError struct {
	what    string // "changed migration files", ...
	got     string // what the change has, said as a number or "more than N"
	limit   int64
	setting string
}

func (e *jobLimitError) Error() string {
	return fmt.Sprintf("This commit has %s %s; one check judges at most %d (%s). "+
		"Split the migrations over smaller pull requests, or ask the service's operator to raise %s.",
		e.got, e.what, e.limit, e.setting, e.setting)
}

// checkFileLimits checks the changed migrations against the caps on files
// and bytes before anything is fetched. size gives a file's size at the
// head, -1 when unknown (then the bytes are counted as they are read).
func (l WorkLimits) checkFileLimits(changed []string, size func(string) int64) error {
	if len(changed) > l.MaxFiles {
		return &jobLimitError{what: "changed migration files", got: fmt.Sprint(len(changed)), limit: int64(l.MaxFiles), setting: "MAX_JOB_FILES"}
	}
	var total int64
	for _, p := range changed {
		if n := size(p); n > 0 {
			total += n
		}
	}
	if total > l.MaxBytes {
		return &jobLimitError{what: "bytes of changed migration files", got: fmt.Sprint(total), limit: l.MaxBytes, setting: "MAX_JOB_BYTES"}
	}
	return nil
}

// statementLimit turns the analyzer's statement limit into the job's.
func statementLimit(err error) error {
	var se *analyzer.StatementLimitError
	if errors.As(err, &se) {
		return &jobLimitError{what: "statements to judge", got: fmt.Sprintf("more than %d", se.Max), limit: int64(se.Max), setting: "MAX_JOB_STATEMENTS"}
	}
	return err
}
