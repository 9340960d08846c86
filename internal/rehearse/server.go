// Package rehearse applies migrations to a throwaway PostgreSQL database and
// records what the server really did: which statement failed and why, the
// locks each statement took, which tables were rewritten or scanned, and
// whether the down parts give the schema back.
//
// The pull request's SQL is untrusted. It runs as a role created for the
// rehearsal, which is no superuser and owns only the scratch database, with
// statement_timeout, lock_timeout and a total time budget. The server is
// either a private cluster started from the machine's PostgreSQL binaries
// (Unix socket only) or a scratch server given by URL, on which the rehearsal
// creates and drops its own database and role.
package rehearse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a PostgreSQL server the rehearsal may create databases and roles
// on. Its admin connection is a superuser.
type Server struct {
	admin *pgx.ConnConfig
	// role is the unprivileged login the PR's SQL runs as, created on first
	// use and dropped by Close.
	role, password string
	mu             sync.Mutex
	// templates are databases holding a replayed base, by the base's hash:
	// the next rehearsal over the same base starts from a copy.
	templates map[string]string
	// databases lists every database created, dropped by Close.
	databases []string
	closeFns  []func() error
	// SocketDir is the private cluster's folder, "" for a scratch server;
	// FromCache says its data folder was copied from the cache instead of
	// made by initdb.
	SocketDir string
	FromCache bool
}

// NewServer uses the server behind adminURL. It does not check that the
// server is a scratch server: OpenScratch does.
func NewServer(adminURL string) (*Server, error) {
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("reading the rehearsal server's URL: %w", err)
	}
	cfg.RuntimeParams["application_name"] = "migration-guard rehearse"
	// The admin session also reads the scratch database, whose public
	// schema the migration owns: only pg_catalog's functions and operators.
	cfg.RuntimeParams["search_path"] = "pg_catalog"
	return &Server{admin: cfg, templates: map[string]string{}}, nil
}

// ErrNotScratch is returned for a server whose database holds tables the
// rehearsal did not create: it may be a production server.
var ErrNotScratch = errors.New("not a scratch server")

// OpenScratch connects to a scratch server given by URL and refuses it when
// the URL's database holds user tables: a rehearsal must never run where
// production data may live. The URL's role must be a superuser.
func OpenScratch(ctx context.Context, url string) (*Server, error) {
	s, err := NewServer(url)
	if err != nil {
		return nil, err
	}
	c, err := s.connectAdmin(ctx, "")
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var tables []string
	rows, err := c.Query(ctx, `SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
		ORDER BY 1 LIMIT 3`)
	if err != nil {
		return nil, fmt.Errorf("listing the tables of the rehearsal server's database: %w", err)
	}
	tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing the tables of the rehearsal server's database: %w", err)
	}
	if len(tables) > 0 {
		return nil, fmt.Errorf("%w: database %q holds tables (%v): give a server that holds no data, the rehearsal creates and drops its own database on it",
			ErrNotScratch, s.admin.Database, tables)
	}
	var super bool
	if err := c.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		return nil, fmt.Errorf("reading the rehearsal server role's rights: %w", err)
	}
	if !super {
		// It creates a role and a database, hands the database and its
		// public schema to that role, and watches it from outside: only a
		// superuser can do all of that on every supported version.
		return nil, fmt.Errorf("the role %q of the rehearsal server is not a superuser: give a scratch server's superuser (the rehearsed SQL never runs as it)", s.admin.User)
	}
	return s, nil
}

func (s *Server) connectAdmin(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg := s.admin.Copy()
	if db != "" {
		cfg.Database = db
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the rehearsal server: %w", err)
	}
	return c, nil
}

// ensureRole creates the unprivileged role the PR's SQL runs as.
func (s *Server) ensureRole(ctx context.Context, admin *pgx.Conn) error {
	if s.role != "" {
		// An earlier rehearsal's SQL may have changed its own role's
		// settings or password (ALTER ROLE CURRENT_USER ...), which every
		// later connection of the role would inherit: set them back.
		if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER ROLE %s RESET ALL`, s.role)); err != nil {
			return fmt.Errorf("resetting the rehearsal role: %w", err)
		}
		if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER ROLE %s PASSWORD '%s'`, s.role, s.password)); err != nil {
			return fmt.Errorf("resetting the rehearsal role: %w", err)
		}
		return limitRole(ctx, admin, s.role)
	}
	name := "mg_rehearsal_" + randomHex(6)
	pw := randomHex(16)
	// The password is random hex: quoting it as a literal is safe.
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT CONNECTION LIMIT 4`, name, pw)); err != nil {
		return fmt.Errorf("creating the rehearsal role: %w", err)
	}
	s.role, s.password = name, pw
	return limitRole(ctx, admin, name)
}

// limitRole bounds the temporary files the role's sorts and hashes may
// write: a superuser setting the role cannot lift.
func limitRole(ctx context.Context, admin *pgx.Conn, role string) error {
	if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER ROLE %s SET temp_file_limit = '1GB'`, role)); err != nil {
		return fmt.Errorf("limiting the rehearsal role: %w", err)
	}
	return nil
}

// createDatabase creates a database owned by the rehearsal role, copied from
// template when it is not "".
func (s *Server) createDatabase(ctx context.Context, template string) (string, error) {
	admin, err := s.connectAdmin(ctx, "")
	if err != nil {
		return "", err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureRole(ctx, admin); err != nil {
		return "", err
	}
	name := "mg_rehearse_" + randomHex(6)
	q := fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, s.role)
	if template != "" {
		q += " TEMPLATE " + template
	}
	if _, err := admin.Exec(ctx, q); err != nil {
		return "", fmt.Errorf("creating the rehearsal database: %w", err)
	}
	s.databases = append(s.databases, name)
	if _, err := admin.Exec(ctx, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", name)); err != nil {
		return "", fmt.Errorf("closing the rehearsal database to other roles: %w", err)
	}
	if template == "" {
		// The public schema belongs to pg_database_owner on a fresh
		// PostgreSQL 15, to the bootstrap superuser on older or upgraded
		// clusters: hand it to the role that owns the database.
		c, err := s.connectAdmin(ctx, name)
		if err != nil {
			return "", err
		}
		defer c.Close(context.WithoutCancel(ctx))
		if _, err := c.Exec(ctx, "ALTER SCHEMA public OWNER TO "+s.role); err != nil {
			return "", fmt.Errorf("giving the public schema to the rehearsal role: %w", err)
		}
	}
	return name, nil
}

// dropDatabase drops a database the rehearsal created, ending its sessions.
func (s *Server) dropDatabase(ctx context.Context, name string) error {
	admin, err := s.connectAdmin(ctx, "")
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping the rehearsal database %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, d := range s.databases {
		if d == name {
			s.databases = append(s.databases[:i], s.databases[i+1:]...)
			break
		}
	}
	return nil
}

// roleConfig is how the PR's SQL connects: as the rehearsal role, with
// timeouts the server enforces on every statement.
func (s *Server) roleConfig(db string, opt Options) *pgx.ConnConfig {
	cfg := s.admin.Copy()
	cfg.User, cfg.Password, cfg.Database = s.role, s.password, db
	cfg.RuntimeParams = map[string]string{
		"application_name":                    "migration-guard rehearse (migration)",
		"statement_timeout":                   fmt.Sprint(opt.StatementTimeout.Milliseconds()),
		"lock_timeout":                        fmt.Sprint(opt.LockTimeout.Milliseconds()),
		"idle_in_transaction_session_timeout": fmt.Sprint(opt.Budget.Milliseconds()),
		"client_min_messages":                 "error",
	}
	return cfg
}

// Close drops every database and the role the rehearsal created, and stops
// the private cluster if it started one.
func (s *Server) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var errs []error
	if s.role != "" || len(s.databases) > 0 {
		admin, err := s.connectAdmin(ctx, "")
		if err != nil {
			errs = append(errs, err)
		} else {
			s.mu.Lock()
			for _, d := range s.databases {
				if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+d+" WITH (FORCE)"); err != nil {
					errs = append(errs, fmt.Errorf("dropping the rehearsal database %s: %w", d, err))
				}
			}
			s.databases = nil
			if s.role != "" {
				if _, err := admin.Exec(ctx, "DROP ROLE IF EXISTS "+s.role); err != nil {
					errs = append(errs, fmt.Errorf("dropping the rehearsal role: %w", err))
				}
				s.role = ""
			}
			s.mu.Unlock()
			admin.Close(ctx)
		}
	}
	for i := len(s.closeFns) - 1; i >= 0; i-- {
		if err := s.closeFns[i](); err != nil {
			errs = append(errs, err)
		}
	}
	s.closeFns = nil
	return errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return hex.EncodeToString(b)
}
