// Package pgstats is everything of migration-guard that talks to
// PostgreSQL: collecting the statistics file, calibrating throughput on a
// scratch database, and probing production data for rows a migration would
// fail on.
//
// Everything that reads production runs in READ ONLY transactions with a
// statement_timeout and a lock_timeout, reads catalogs, statistics and row
// counts only, and returns no row value and no password, even in errors.
package pgstats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// applicationName lets a DBA see in pg_stat_activity who is connected.
const applicationName = "migration-guard"

// defaultConnectTimeout bounds connecting when the connection string sets
// no connect_timeout: an unreachable host should fail, not hang.
const defaultConnectTimeout = 10 * time.Second

// Error is the type of every error this package returns. Its text is
// scrubbed of passwords and of row values: the server's message is shown
// only for kinds of error whose messages name objects, never data.
type Error struct {
	msg   string
	code  string
	cause error
	// kind says in fixed words what failed below PostgreSQL (no server
	// answer): see PublicReason.
	kind string
}

func (e *Error) Error() string { return e.msg }

// SQLState is the SQLSTATE PostgreSQL reported, "" when the error did not
// come from the server.
func (e *Error) SQLState() string { return e.code }

// Unwrap gives only context.Canceled or context.DeadlineExceeded, never the
// driver's error, whose text may hold a password.
func (e *Error) Unwrap() error { return e.cause }

// IsStatementTimeout reports whether err is PostgreSQL cancelling a
// statement that ran longer than statement_timeout.
func IsStatementTimeout(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.code == "57014" && e.cause == nil
}

// IsLockTimeout reports whether err is a lock_timeout.
func IsLockTimeout(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.code == "55P03"
}

// safeClasses are the SQLSTATE classes whose messages name objects,
// settings or roles but never quote a value read from a row. Others (data
// exceptions, integrity violations, internal errors) may, and are reported
// by their code only.
var safeClasses = map[string]bool{
	"08": true, // connection exception
	"0A": true, // feature not supported
	"25": true, // invalid transaction state (read-only)
	"28": true, // invalid authorization
	"3D": true, // invalid catalog name (database)
	"3F": true, // invalid schema name
	"42": true, // syntax error or access rule violation
	"53": true, // insufficient resources
	"54": true, // program limit exceeded
	"55": true, // object not in prerequisite state (lock timeout)
	"57": true, // operator intervention (statement timeout)
}

// session is one connection and the means to report its errors safely.
type session struct {
	conn  *pgx.Conn
	scrub func(string) string
	where string
}

// connect opens one connection. readOnly makes every transaction of the
// session read-only by default, so that even a statement run outside the
// helpers below cannot write.
func connect(ctx context.Context, connString string, readOnly bool) (*session, error) {
	s := &session{scrub: scrubber(connString), where: RedactURL(connString)}
	if s.where == "" {
		s.where = "(the server named by the PG* environment variables)"
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		// The driver's parse errors quote the input and redact it only on a
		// best-effort basis, so none of their text is passed on.
		return nil, &Error{msg: fmt.Sprintf("invalid connection string %s: expected postgres://user@host:port/database or host=... dbname=... keyword/value pairs", s.where)}
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	cfg.RuntimeParams["application_name"] = applicationName
	if readOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, s.wrap(ctx, "cannot connect to "+s.where, err)
	}
	s.conn = conn
	return s, nil
}

func (s *session) close() {
	if s != nil && s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.conn.Close(ctx)
	}
}

// wrap turns a driver error into an *Error whose text holds no password and
// no row value.
func (s *session) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	out := &Error{}
	var text string
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr):
		out.code = pgErr.Code
		if len(pgErr.Code) >= 2 && safeClasses[pgErr.Code[:2]] {
			text = pgErr.Message
			if pgErr.Hint != "" {
				text += " (" + pgErr.Hint + ")"
			}
		} else {
			text = "PostgreSQL reported an error of class " + pgErr.Code[:min(2, len(pgErr.Code))] +
				"; its message is not shown because it can quote row values"
		}
		text += " (SQLSTATE " + pgErr.Code + ")"
		switch {
		case pgErr.Code == "57014" && ctx.Err() != nil:
			text = "cancelled: " + ctx.Err().Error()
			out.cause = ctx.Err()
		case pgErr.Code == "28P01" || pgErr.Code == "28000":
			text += "; check the role and password"
		case pgErr.Code == "55P03":
			text += "; another session holds a conflicting lock on the table (a running migration?): try again later"
		}
	case ctx.Err() != nil:
		text = ctx.Err().Error()
		out.cause = ctx.Err()
	default:
		text = oneLine(err)
		out.kind = failureKind(err)
		if errors.Is(err, context.DeadlineExceeded) {
			out.cause = context.DeadlineExceeded
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			text += " (is PostgreSQL running and accepting TCP connections at that address?)"
		}
	}
	out.msg = s.scrub(op + ": " + text)
	return out
}

// oneLine is a driver error as one line. A connection error lists each
// address tried on its own line, after a prefix naming the user and
// database that the caller's message already names.
func oneLine(err error) string {
	text := err.Error()
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		text = ce.Unwrap().Error()
	}
	// sslmode=prefer tries each address twice, with and without TLS, and
	// fails the same way both times.
	var parts []string
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" && !seen[line] {
			seen[line] = true
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

// timeouts bound every statement of a transaction.
type timeouts struct {
	statement time.Duration
	lock      time.Duration
}

func msString(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// readOnly runs fn in a READ ONLY transaction with statement_timeout and
// lock_timeout set for that transaction only, and rolls it back: nothing it
// does could be committed, and the settings end with it. Every query
// against production goes through here.
func (s *session) readOnly(ctx context.Context, t timeouts, op string, fn func(pgx.Tx) error) error {
	tx, err := s.conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	// set_config(..., true) is SET LOCAL with the value as a parameter.
	if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true)`,
		msString(t.statement), msString(t.lock)); err != nil {
		return s.wrap(ctx, op, err)
	}
	if err := fn(tx); err != nil {
		return s.wrap(ctx, op, err)
	}
	return nil
}
