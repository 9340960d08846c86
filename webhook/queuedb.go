package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // the SQLite engine of the default, single-replica queue
)

// QueueFile is the SQLite file of the default queue, in QueueDataDir.
const QueueFile = "queue.sqlite"

// dbtx is one transaction of the queue's database, whichever engine.
// Queries are written with ? placeholders; the PostgreSQL side numbers
// them.
type dbtx interface {
	exec(ctx context.Context, q string, args ...any) error
	query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error
	// insertKeyJob inserts the River job that works key's entries.
	insertKeyJob(ctx context.Context, args keyArgs) (int64, error)
	// completeKeyJob completes the running River job in this transaction,
	// so that a delivery committed after it starts a new one.
	completeKeyJob(ctx context.Context, job *river.Job[keyArgs]) error
}

// engine is River on one database, with what the queue needs besides
// River: transactions on its own tables, and a lease per key.
type engine interface {
	name() string
	withTx(ctx context.Context, fn func(tx dbtx) error) error
	// lease takes key's lease for a running job; ok is false when another
	// job holds it.
	lease(ctx context.Context, key string) (release func(), ok bool, err error)
	ping(ctx context.Context) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	close()
	// forUpdate ends a SELECT that locks the key's row until commit.
	forUpdate() string
	// sharedLock is a lock shared by all replicas, waited for; nil when
	// one process owns the queue.
	sharedLock() func(ctx context.Context, key string) (func(), error)
}

// riverEngine is engine on River's client for one driver.
type riverEngine[TTx any] struct {
	engineName string
	client     *river.Client[TTx]
	begin      func(ctx context.Context) (TTx, error)
	commit     func(ctx context.Context, tx TTx) error
	rollback   func(ctx context.Context, tx TTx)
	wrap       func(tx TTx) rawTx
	complete   func(ctx context.Context, tx TTx, job *river.Job[keyArgs]) error
	leaseFn    func(ctx context.Context, key string) (func(), bool, error)
	lockFn     func(ctx context.Context, key string) (func(), error)
	pingFn     func(ctx context.Context) error
	closeFn    func()
	lockSuffix string
}

// rawTx runs SQL in a transaction.
type rawTx interface {
	exec(ctx context.Context, q string, args ...any) error
	query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error
}

type riverTx[TTx any] struct {
	rawTx
	e  *riverEngine[TTx]
	tx TTx
}

func (t *riverTx[TTx]) insertKeyJob(ctx context.Context, args keyArgs) (int64, error) {
	res, err := t.e.client.InsertTx(ctx, t.tx, args, nil)
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

func (t *riverTx[TTx]) completeKeyJob(ctx context.Context, job *river.Job[keyArgs]) error {
	return t.e.complete(ctx, t.tx, job)
}

func (e *riverEngine[TTx]) name() string { return e.engineName }
func (e *riverEngine[TTx]) sharedLock() func(ctx context.Context, key string) (func(), error) {
	return e.lockFn
}
func (e *riverEngine[TTx]) forUpdate() string { return e.lockSuffix }

func (e *riverEngine[TTx]) withTx(ctx context.Context, fn func(tx dbtx) error) error {
	tx, err := e.begin(ctx)
	if err != nil {
		return fmt.Errorf("beginning a transaction on the queue's %s: %w", e.engineName, err)
	}
	if err := fn(&riverTx[TTx]{rawTx: e.wrap(tx), e: e, tx: tx}); err != nil {
		e.rollback(ctx, tx)
		return err
	}
	if err := e.commit(ctx, tx); err != nil {
		return fmt.Errorf("committing to the queue's %s: %w", e.engineName, err)
	}
	return nil
}

func (e *riverEngine[TTx]) lease(ctx context.Context, key string) (func(), bool, error) {
	return e.leaseFn(ctx, key)
}
func (e *riverEngine[TTx]) ping(ctx context.Context) error  { return e.pingFn(ctx) }
func (e *riverEngine[TTx]) start(ctx context.Context) error { return e.client.Start(ctx) }
func (e *riverEngine[TTx]) stop(ctx context.Context) error  { return e.client.Stop(ctx) }
func (e *riverEngine[TTx]) close()                          { e.closeFn() }
func (e *riverEngine[TTx]) stopAndCancel(ctx context.Context) error {
	return e.client.StopAndCancel(ctx)
}

// sqlTx is rawTx on database/sql (SQLite).
type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, q, args...)
	return err
}

func (t sqlTx) query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// pgTx is rawTx on pgx (PostgreSQL).
type pgTx struct{ tx pgx.Tx }

// numbered turns ? placeholders into $1, $2, ...: the queue's own SQL
// has no other question mark.
func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (t pgTx) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.Exec(ctx, numbered(q), args...)
	return err
}

func (t pgTx) query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := t.tx.Query(ctx, numbered(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// The queue's own tables: a row per key with work, holding the River job
// that works it, and a row per queued job (the serialized Job), in the
// order they came. A delivery folds into the waiting rows of its key in
// the transaction that commits it.
const (
	sqliteSchema = `
CREATE TABLE IF NOT EXISTS migration_guard_key (
	key TEXT PRIMARY KEY,
	installation INTEGER NOT NULL,
	river_job_id INTEGER
);
CREATE TABLE IF NOT EXISTS migration_guard_job (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	key TEXT NOT NULL,
	installation INTEGER NOT NULL,
	body TEXT NOT NULL,
	running INTEGER NOT NULL DEFAULT 0,
	owner TEXT NOT NULL DEFAULT '',
	head TEXT NOT NULL DEFAULT '',
	cancel INTEGER NOT NULL DEFAULT 0,
	crashes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS migration_guard_job_key ON migration_guard_job (key, id);
CREATE INDEX IF NOT EXISTS migration_guard_job_waiting ON migration_guard_job (running, installation);
`
	pgSchema = `
CREATE TABLE IF NOT EXISTS migration_guard_key (
	key text PRIMARY KEY,
	installation bigint NOT NULL,
	river_job_id bigint
);
CREATE TABLE IF NOT EXISTS migration_guard_job (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key text NOT NULL,
	installation bigint NOT NULL,
	body text NOT NULL,
	running integer NOT NULL DEFAULT 0,
	owner text NOT NULL DEFAULT '',
	head text NOT NULL DEFAULT '',
	cancel integer NOT NULL DEFAULT 0,
	crashes integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS migration_guard_job_key ON migration_guard_job (key, id);
CREATE INDEX IF NOT EXISTS migration_guard_job_waiting ON migration_guard_job (running, installation);
`
)

// engineTimeout bounds one statement's wait for the queue's database at
// intake and in /readyz: a delivery is answered 503 within seconds when
// the engine is down.
const engineTimeout = 5 * time.Second

// riverConfig is River's client configuration for the queue.
func riverConfig(p *parsed, w *keyWorker) *river.Config {
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	return &river.Config{
		ID:      p.ReplicaID,
		Logger:  p.Logger,
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: p.Workers}},
		Workers: workers,
		// The job's own deadline is JOB_TIMEOUT, from the moment it holds
		// its key's lease (see runJob): waiting for its turn does not
		// count. River's bounds the whole run, with the write that closes
		// a failed check; River rescues only jobs that have one.
		JobTimeout: riverJobTimeout(p.JobTimeout),
		// A job whose process died is run again once it cannot be running
		// anywhere: its deadline and its last write's have passed.
		RescueStuckJobsAfter: rescueAfter(p.JobTimeout),
		// A key's River job is retried for every crash of the job it runs;
		// the queue counts crashes per job and fails the job closed
		// (maxJobCrashes), so River's own limit is never what ends one.
		MaxAttempts:       10000,
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 100 * time.Millisecond,
		// The queue's rows of finished keys are deleted as they finish;
		// River's completed jobs are kept for a day, for inspection.
		CompletedJobRetentionPeriod: 24 * time.Hour,
	}
}

// rescueAfter is how long a key's River job may run before River hands it
// to another worker: longer than River lets it run.
func rescueAfter(jobTimeout time.Duration) time.Duration {
	return riverJobTimeout(jobTimeout) + 10*time.Second
}

// riverJobTimeout bounds one run of a key's River job: the job's deadline,
// the write that closes a failed check, and a margin.
func riverJobTimeout(jobTimeout time.Duration) time.Duration {
	return jobTimeout + finalWriteTimeout + 5*time.Second
}

// openSQLite opens the default queue: River on a SQLite file in dir,
// which this process alone may use (an exclusive lock on dir/queue.lock;
// a second process fails at once, naming the directory).
func openSQLite(ctx context.Context, p *parsed, w *keyWorker) (engine, error) {
	dir := p.QueueDataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("QUEUE_DATA_DIR: creating %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "queue.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("QUEUE_DATA_DIR: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("QUEUE_DATA_DIR %s is in use by another migration-guard process (one process per data directory; several replicas share QUEUE_DATABASE_URL instead): %w", dir, err)
	}
	path := filepath.Join(dir, QueueFile)
	// WAL with full sync: a commit is on disk before the 202 is sent.
	dsn := "file:" + path + "?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("opening the queue file %s: %w", path, err)
	}
	// SQLite has one writer: one connection avoids SQLITE_BUSY between
	// River's own statements (River's advice for its SQLite driver).
	db.SetMaxOpenConns(1)
	closeAll := func() { db.Close(); lock.Close() }
	driver := riversqlite.New(db)
	if err := migrateSQLite(ctx, db, driver); err != nil {
		closeAll()
		return nil, fmt.Errorf("preparing the queue file %s: %w", path, err)
	}
	client, err := river.NewClient(driver, riverConfig(p, w))
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("starting the queue: %w", err)
	}
	var mu sync.Mutex
	held := map[string]bool{}
	return &riverEngine[*sql.Tx]{
		engineName: "SQLite file " + path,
		client:     client,
		begin:      func(ctx context.Context) (*sql.Tx, error) { return db.BeginTx(ctx, nil) },
		commit:     func(_ context.Context, tx *sql.Tx) error { return tx.Commit() },
		rollback:   func(_ context.Context, tx *sql.Tx) { _ = tx.Rollback() },
		wrap:       func(tx *sql.Tx) rawTx { return sqlTx{tx} },
		complete: func(ctx context.Context, tx *sql.Tx, job *river.Job[keyArgs]) error {
			_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job)
			return err
		},
		// One process owns the file: a lease is a lock in this process.
		leaseFn: func(_ context.Context, key string) (func(), bool, error) {
			mu.Lock()
			defer mu.Unlock()
			if held[key] {
				return nil, false, nil
			}
			held[key] = true
			return func() { mu.Lock(); delete(held, key); mu.Unlock() }, true, nil
		},
		pingFn:  db.PingContext,
		closeFn: closeAll,
	}, nil
}

func migrateSQLite(ctx context.Context, db *sql.DB, driver *riversqlite.Driver) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrating River's tables: %w", err)
	}
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		return fmt.Errorf("creating the queue's tables: %w", err)
	}
	return nil
}

// leaseClass namespaces the queue's advisory locks of pull requests
// (two-key form): "mg"; commitClass those of commits' conclusions.
const (
	leaseClass  = 0x6d67
	commitClass = 0x6d68
)

// openPostgres opens the queue for several replicas: River on PostgreSQL.
// River's tables and the queue's are created at start (River's migrator,
// under an advisory lock, so that replicas starting at once on an empty
// database do not race).
func openPostgres(ctx context.Context, p *parsed, w *keyWorker) (engine, error) {
	cfg, err := pgxpool.ParseConfig(p.QueueDatabaseURL)
	if err != nil {
		return nil, configErr("QUEUE_DATABASE_URL must be a PostgreSQL URL (postgres://user@host:5432/db)")
	}
	cfg.MaxConns = int32(p.QueuePoolSize)
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > engineTimeout {
		cfg.ConnConfig.ConnectTimeout = engineTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to QUEUE_DATABASE_URL: %w", err)
	}
	driver := riverpgxv5.New(pool)
	if err := migratePostgres(ctx, pool, driver); err != nil {
		pool.Close()
		return nil, err
	}
	client, err := river.NewClient(driver, riverConfig(p, w))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("starting the queue: %w", err)
	}
	return &riverEngine[pgx.Tx]{
		engineName: "PostgreSQL database",
		client:     client,
		begin:      func(ctx context.Context) (pgx.Tx, error) { return pool.Begin(ctx) },
		commit:     func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) },
		rollback: func(_ context.Context, tx pgx.Tx) {
			rctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
			defer cancel()
			_ = tx.Rollback(rctx)
		},
		wrap: func(tx pgx.Tx) rawTx { return pgTx{tx} },
		complete: func(ctx context.Context, tx pgx.Tx, job *river.Job[keyArgs]) error {
			_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
			return err
		},
		// A session advisory lock on a connection held for the job: it
		// goes with the connection when the process dies.
		leaseFn: func(ctx context.Context, key string) (func(), bool, error) {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return nil, false, fmt.Errorf("taking a connection for the lease of %s: %w", key, err)
			}
			var ok bool
			if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", leaseClass, key).Scan(&ok); err != nil {
				conn.Release()
				return nil, false, fmt.Errorf("taking the lease of %s: %w", key, err)
			}
			if !ok {
				conn.Release()
				return nil, false, nil
			}
			return func() {
				uctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
				defer cancel()
				if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1, hashtext($2))", leaseClass, key); err != nil {
					// The lock must not outlive the job: the session goes.
					_ = conn.Conn().Close(uctx)
				}
				conn.Release()
			}, true, nil
		},
		lockFn: func(ctx context.Context, key string) (func(), error) {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return nil, err
			}
			if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", commitClass, key); err != nil {
				// A cancelled wait may leave the lock to come: the session goes.
				_ = conn.Conn().Close(context.Background())
				conn.Release()
				return nil, err
			}
			return func() {
				uctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
				defer cancel()
				if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1, hashtext($2))", commitClass, key); err != nil {
					_ = conn.Conn().Close(uctx)
				}
				conn.Release()
			}, nil
		},
		pingFn:     pool.Ping,
		closeFn:    pool.Close,
		lockSuffix: " FOR UPDATE",
	}, nil
}

// migrateLock serializes the start of replicas on one database.
const migrateLock = 0x6d67_0001

func migratePostgres(ctx context.Context, pool *pgxpool.Pool, driver *riverpgxv5.Driver) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connecting to QUEUE_DATABASE_URL: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrateLock)); err != nil {
		return fmt.Errorf("locking the queue's database for its migration: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(migrateLock)) }()
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("creating River's tables in QUEUE_DATABASE_URL: %w", err)
	}
	if _, err := conn.Exec(ctx, pgSchema); err != nil {
		return fmt.Errorf("creating the queue's tables in QUEUE_DATABASE_URL: %w", err)
	}
	return nil
}

// openEngine opens the queue's engine for the configuration.
func openEngine(ctx context.Context, p *parsed, w *keyWorker) (engine, error) {
	if p.QueueDatabaseURL != "" {
		return openPostgres(ctx, p, w)
	}
	if p.QueueDataDir != "" {
		return openSQLite(ctx, p, w)
	}
	return nil, errors.New("no queue engine configured")
}
