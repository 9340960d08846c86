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
	"github.com/riverqueue/river/rivertype"
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
	// insertKeyJob inserts the River job that works key's entries, at
	// River priority priority (1, the first served, to 4).
	insertKeyJob(ctx context.Context, args keyArgs, priority int) (int64, error)
	// deleteKeyJob deletes a River job that waits; false when a worker
	// took it meanwhile (River does not delete a running job).
	deleteKeyJob(ctx context.Context, id int64) (bool, error)
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
	// job holds it. The returned context is ctx, cancelled with
	// errLeaseLost when the lease goes while held (its connection died).
	lease(ctx context.Context, key string) (lctx context.Context, release func(), ok bool, err error)
	ping(ctx context.Context) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	close()
	// forUpdate ends a SELECT that locks the key's row until commit.
	forUpdate() string
	// skipLocked ends a SELECT of migration_guard_key rows (as k) that
	// locks those no other transaction holds, and skips the others.
	skipLocked() string
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
	leaseFn    func(ctx context.Context, key string) (context.Context, func(), bool, error)
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

func (t *riverTx[TTx]) insertKeyJob(ctx context.Context, args keyArgs, priority int) (int64, error) {
	res, err := t.e.client.InsertTx(ctx, t.tx, args, &river.InsertOpts{Priority: priority})
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

func (t *riverTx[TTx]) deleteKeyJob(ctx context.Context, id int64) (bool, error) {
	_, err := t.e.client.JobDeleteTx(ctx, t.tx, id)
	if errors.Is(err, rivertype.ErrJobRunning) {
		return false, nil
	}
	return err == nil, err
}

func (t *riverTx[TTx]) completeKeyJob(ctx context.Context, job *river.Job[keyArgs]) error {
	return t.e.complete(ctx, t.tx, job)
}

func (e *riverEngine[TTx]) name() string { return e.engineName }
func (e *riverEngine[TTx]) sharedLock() func(ctx context.Context, key string) (func(), error) {
	return e.lockFn
}
func (e *riverEngine[TTx]) forUpdate() string { return e.lockSuffix }
func (e *riverEngine[TTx]) skipLocked() string {
	if e.lockSuffix == "" {
		// SQLite: one transaction at a time holds the whole file.
		return ""
	}
	return e.lockSuffix + " OF k SKIP LOCKED"
}

func (e *riverEngine[TTx]) withTx(ctx context.Context, fn func(tx dbtx) error) error {
	tx, err := e.begin(ctx)
	if err != nil {
		return fmt.Errorf("beginning a transaction on the queue's %s: %w", e.engineName, err)
	}
	ended := false
	defer func() {
		if !ended {
			// fn panicked: the transaction must not keep its locks, nor
			// SQLite's one connection, while the panic goes up.
			e.rollback(context.WithoutCancel(ctx), tx)
		}
	}()
	if err := fn(&riverTx[TTx]{rawTx: e.wrap(tx), e: e, tx: tx}); err != nil {
		ended = true
		e.rollback(ctx, tx)
		return err
	}
	ended = true
	if err := e.commit(ctx, tx); err != nil {
		return fmt.Errorf("committing to the queue's %s: %w", e.engineName, err)
	}
	return nil
}

func (e *riverEngine[TTx]) lease(ctx context.Context, key string) (context.Context, func(), bool, error) {
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
CREATE INDEX IF NOT EXISTS migration_guard_key_installation ON migration_guard_key (installation);
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
CREATE INDEX IF NOT EXISTS migration_guard_key_installation ON migration_guard_key (installation);
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
		// A job whose process died is queued again within seconds by the
		// queue's own rescue (rescueDead, on the lease); River's, once the
		// job cannot be running anywhere (its deadline and its last
		// write's have passed), is a backstop: it ends a River job the
		// queue already replaced.
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
		leaseFn: func(ctx context.Context, key string) (context.Context, func(), bool, error) {
			mu.Lock()
			defer mu.Unlock()
			if held[key] {
				return nil, nil, false, nil
			}
			held[key] = true
			return ctx, func() { mu.Lock(); delete(held, key); mu.Unlock() }, true, nil
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
	for k, v := range keepaliveParams {
		if _, set := cfg.ConnConfig.RuntimeParams[k]; !set {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	}
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
		leaseFn: func(ctx context.Context, key string) (context.Context, func(), bool, error) {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return nil, nil, false, fmt.Errorf("taking a connection for the lease of %s: %w", key, err)
			}
			var ok bool
			if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", leaseClass, key).Scan(&ok); err != nil {
				conn.Release()
				return nil, nil, false, fmt.Errorf("taking the lease of %s: %w", key, err)
			}
			if !ok {
				conn.Release()
				return nil, nil, false, nil
			}
			lctx, lost := context.WithCancelCause(ctx)
			stop, beat := make(chan struct{}), make(chan struct{})
			go heartbeat(conn, stop, beat, lost)
			return lctx, func() {
				close(stop)
				<-beat
				lost(nil)
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

// The lease's session is watched from both ends, so that a replica cut
// off from the database stops its job before another replica can take
// the key over:
//   - the runner pings it every leaseBeat and, when a ping fails or does
//     not come back within leaseBeatTimeout, cancels its job with
//     errLeaseLost (detected within leaseBeat+leaseBeatTimeout, 4 s);
//   - the server ends a session whose peer is gone after TCP keepalives
//     (keepaliveParams: idle 5 s, then 3 probes 2 s apart, about 11 s
//     after the peer's last packet), which frees the advisory lock; a
//     process that dies closes its connections, which frees it at once.
const (
	leaseBeat        = 2 * time.Second
	leaseBeatTimeout = 2 * time.Second
)

// keepaliveParams are the server's TCP keepalive settings for the queue's
// sessions (user-settable; ignored on a Unix socket). The URL's own
// settings win.
var keepaliveParams = map[string]string{
	"tcp_keepalives_idle":     "5",
	"tcp_keepalives_interval": "2",
	"tcp_keepalives_count":    "3",
	// Data the server sent that the peer never acknowledged ends the
	// session after 10 s too (keepalives only probe an idle one).
	"tcp_user_timeout": "10000",
}

// errLeaseLost hands a running job back when its lease's session failed:
// the lock may be gone, and another replica may take the key over.
var errLeaseLost = fmt.Errorf("%w (the lease of its pull request was lost with its database session)", errHandBack)

// heartbeat pings the lease's connection until stop is closed, and
// cancels the lease's context when a ping fails.
func heartbeat(conn *pgxpool.Conn, stop <-chan struct{}, done chan<- struct{}, lost context.CancelCauseFunc) {
	defer close(done)
	t := time.NewTicker(leaseBeat)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(context.Background(), leaseBeatTimeout)
		err := conn.Ping(pctx)
		cancel()
		if err != nil {
			lost(errLeaseLost)
			return
		}
	}
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
