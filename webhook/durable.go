package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// jobQueue is where accepted work waits: durableQueue (River) in the
// served App, queue (memory) in a workflow step and unit tests.
type jobQueue interface {
	// Enqueue commits j, folding it into the waiting jobs of its key
	// (foldJob); an error means it was not accepted.
	Enqueue(j *Job) error
	Closed() bool
	// Len is the number of waiting jobs.
	Len() int
	Shutdown(ctx context.Context) error
	// engineReady reports whether the engine can take deliveries.
	engineReady(ctx context.Context) error
	idle() bool
}

func (q *queue) engineReady(context.Context) error { return nil }

// keyArgs is the River job of a key: it works the key's queued jobs, one
// at a time, oldest first. There is at most one per key; deliveries fold
// into the key's rows of migration_guard_job instead.
type keyArgs struct {
	Key          string `json:"key"`
	Installation int64  `json:"installation"`
}

func (keyArgs) Kind() string { return "migration_guard_key" }

// maxJobCrashes is how many times a job may be cut short (its process
// killed, its worker crashed) before it is failed closed with a red check
// rather than run again.
const maxJobCrashes = 3

// leaseWait is how long a key's River job sleeps when another job holds
// the key's lease (a job River rescued while its first run still goes).
const leaseWait = 500 * time.Millisecond

// errHandBack cancels a running job at shutdown: it is handed back to the
// queue, whose next run takes over its check run.
var errHandBack = errors.New("the service is stopping: the job goes back to the queue")

// outcomeHandedBack is a job handed back at shutdown.
const outcomeHandedBack = "handed_back"

// durableQueue is the queue on River: a delivery is answered 202 only
// once its job is committed to the engine's database, and survives the
// process. Jobs of one key (a pull request) run one at a time across all
// replicas: the key has one River job, which works the key's rows, and
// its run holds the key's lease (an advisory lock on PostgreSQL).
type durableQueue struct {
	eng             engine
	log             *slog.Logger
	replica         string
	capacity        int
	perInstallation int
	run             func(ctx context.Context, j *Job, headOf func(string)) string
	superseded      func(old, by *Job)
	depth           func(int)
	// failCrashed closes the check of a job cut short maxJobCrashes times.
	failCrashed func(ctx context.Context, j *Job, crashes int) string
	// closeLeft closes what a job cut short left in progress on the head
	// it was checking, after its rerun.
	closeLeft func(ctx context.Context, j *Job, head string)

	closed   atomic.Bool
	started  atomic.Bool
	mu       sync.Mutex
	running  map[int64]context.CancelCauseFunc
	stopPoll context.CancelFunc
	polled   chan struct{}
}

type keyWorker struct {
	river.WorkerDefaults[keyArgs]
	q *durableQueue
}

func (w *keyWorker) Work(ctx context.Context, job *river.Job[keyArgs]) error {
	return w.q.work(ctx, job)
}

func newDurableQueue(ctx context.Context, p *parsed, run func(ctx context.Context, j *Job, headOf func(string)) string) (*durableQueue, error) {
	q := &durableQueue{
		log: p.Logger, replica: p.ReplicaID, capacity: p.QueueSize, perInstallation: p.InstallationQueueSize, run: run,
		superseded: func(*Job, *Job) {}, depth: func(int) {}, running: map[int64]context.CancelCauseFunc{},
		failCrashed: func(context.Context, *Job, int) string { return outcomeFailure },
		closeLeft:   func(context.Context, *Job, string) {},
	}
	eng, err := openEngine(ctx, p, &keyWorker{q: q})
	if err != nil {
		return nil, err
	}
	q.eng = eng
	return q, nil
}

// start starts River's workers, the watch for cancellations and the
// rescue of jobs whose runner is gone (a first pass before the workers
// start: after a restart, the jobs the last process left running).
func (q *durableQueue) start() error {
	if err := q.rescueDead(context.Background()); err != nil {
		q.log.Warn("could not look for jobs cut short", "error", err.Error())
	}
	if err := q.eng.start(context.Background()); err != nil {
		return fmt.Errorf("starting the queue's workers: %w", err)
	}
	q.started.Store(true)
	pctx, stop := context.WithCancel(context.Background())
	q.stopPoll, q.polled = stop, make(chan struct{})
	rescued := make(chan struct{})
	go func() {
		defer close(rescued)
		q.rescueLoop(pctx)
	}()
	if q.eng.sharedLock() == nil {
		// One process owns the queue: Enqueue cancels its jobs itself.
		go func() { <-rescued; close(q.polled) }()
		return nil
	}
	go func() {
		q.pollCancels(pctx)
		<-rescued
		close(q.polled)
	}()
	return nil
}

// rescueInterval is how often each replica looks for jobs whose runner
// is gone.
const rescueInterval = 2 * time.Second

func (q *durableQueue) rescueLoop(ctx context.Context) {
	t := time.NewTicker(rescueInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := q.rescueDead(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("could not look for jobs cut short", "error", err.Error())
		}
	}
}

// rescueDead queues again, at once, the keys whose running job's runner
// is gone: a row marked running whose key's lease nobody holds. A runner
// holds the lease from before it marks its row running until after it
// unmarks it (work), and the lease goes with its process or its database
// session, so a free lease over a running row is a run cut short, never
// a live one. The key gets a new River job (its old one, left running in
// River by the dead process, finds another on the key when River rescues
// it, and ends); its run counts the crash and takes over the check run
// left in progress. River's own rescue, after its job timeout, is only a
// backstop: its rescuer looks every 30 s and cannot be tuned, and a job
// timeout shorter than a live run's would cut that run.
func (q *durableQueue) rescueDead(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, engineTimeout)
	defer cancel()
	var keys []string
	if err := q.eng.withTx(ctx, func(tx dbtx) error {
		keys = nil
		return tx.query(ctx, "SELECT DISTINCT key FROM migration_guard_job WHERE running = 1", nil,
			func(scan func(...any) error) error {
				var k string
				if err := scan(&k); err != nil {
					return err
				}
				keys = append(keys, k)
				return nil
			})
	}); err != nil {
		return fmt.Errorf("reading the running jobs: %w", err)
	}
	for _, key := range keys {
		if err := q.rescueKey(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

func (q *durableQueue) rescueKey(ctx context.Context, key string) error {
	_, release, ok, err := q.eng.lease(ctx, key)
	if err != nil {
		return err
	}
	if !ok {
		// Its runner is alive.
		return nil
	}
	defer release()
	return q.eng.withTx(ctx, func(tx dbtx) error {
		var riverJob *int64
		if err := tx.query(ctx, "SELECT river_job_id FROM migration_guard_key WHERE key = ?"+q.eng.forUpdate(), []any{key},
			func(scan func(...any) error) error { return scan(&riverJob) }); err != nil {
			return fmt.Errorf("locking %s: %w", key, err)
		}
		n := 0
		var installation int64
		if err := tx.query(ctx, "SELECT count(*), coalesce(max(installation), 0) FROM migration_guard_job WHERE key = ? AND running = 1", []any{key},
			func(scan func(...any) error) error { return scan(&n, &installation) }); err != nil {
			return fmt.Errorf("reading the jobs of %s: %w", key, err)
		}
		if n == 0 {
			// Its run ended meanwhile.
			return nil
		}
		priority, err := keyJobPriority(ctx, tx, installation, key)
		if err != nil {
			return err
		}
		id, err := tx.insertKeyJob(ctx, keyArgs{Key: key, Installation: installation}, priority)
		if err != nil {
			return fmt.Errorf("queueing %s in River again: %w", key, err)
		}
		if err := tx.exec(ctx, "INSERT INTO migration_guard_key (key, installation, river_job_id) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET river_job_id = excluded.river_job_id", key, installation, id); err != nil {
			return fmt.Errorf("queueing %s again: %w", key, err)
		}
		q.log.Warn("a job's runner is gone; its pull request is queued again", "key", key)
		return nil
	})
}

// queued is one row of migration_guard_job.
type queued struct {
	id      int64
	job     *Job
	running bool
	head    string
	crashes int
}

func (q *durableQueue) rows(ctx context.Context, tx dbtx, key string) ([]*queued, error) {
	var out []*queued
	err := tx.query(ctx, "SELECT id, body, running, head, crashes FROM migration_guard_job WHERE key = ? ORDER BY id", []any{key},
		func(scan func(...any) error) error {
			var r queued
			var body string
			var running int
			if err := scan(&r.id, &body, &running, &r.head, &r.crashes); err != nil {
				return err
			}
			r.running = running != 0
			r.job = new(Job)
			if err := json.Unmarshal([]byte(body), r.job); err != nil {
				return fmt.Errorf("reading queued job %d: %w", r.id, err)
			}
			out = append(out, &r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading the jobs of %s: %w", key, err)
	}
	return out, nil
}

// Enqueue commits j: under the lock of its key's row, j folds into the
// key's waiting rows, the key gets its River job if it has none, and a
// running pull request job on another head is told to stop. Only after
// the commit does the caller answer 202.
func (q *durableQueue) Enqueue(j *Job) error {
	if q.closed.Load() {
		return errQueueClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	var gone []*Job
	var cancelIDs []int64
	err := q.eng.withTx(ctx, func(tx dbtx) error {
		gone, cancelIDs = nil, nil
		if err := tx.exec(ctx, "INSERT INTO migration_guard_key (key, installation) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", j.Key, j.InstallationID); err != nil {
			return fmt.Errorf("queueing %s: %w", j.Key, err)
		}
		var riverJob *int64
		if err := tx.query(ctx, "SELECT river_job_id FROM migration_guard_key WHERE key = ?"+q.eng.forUpdate(), []any{j.Key},
			func(scan func(...any) error) error { return scan(&riverJob) }); err != nil {
			return fmt.Errorf("locking %s: %w", j.Key, err)
		}
		rows, err := q.rows(ctx, tx, j.Key)
		if err != nil {
			return err
		}
		var waiting []*Job
		idOf := map[*Job]int64{}
		var runningRows []*queued
		for _, r := range rows {
			if r.running {
				runningRows = append(runningRows, r)
				continue
			}
			waiting = append(waiting, r.job)
			idOf[r.job] = r.id
		}
		out, g := foldJob(waiting, j)
		gone = g
		if grow := len(out) - len(waiting); grow > 0 {
			var all, mine int
			if err := tx.query(ctx, "SELECT count(*), coalesce(sum(CASE WHEN installation = ? THEN 1 ELSE 0 END), 0) FROM migration_guard_job WHERE running = 0",
				[]any{j.InstallationID}, func(scan func(...any) error) error { return scan(&all, &mine) }); err != nil {
				return fmt.Errorf("counting waiting jobs: %w", err)
			}
			if mine+grow > q.perInstallation {
				return errInstallationQueueFull
			}
			if all+grow > q.capacity {
				return errQueueFull
			}
		}
		body, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("encoding the job: %w", err)
		}
		// j replaces a pull request job in its place (its row), or comes
		// last; folded approval edits go.
		inserted := false
		for i, o := range out {
			if o != j {
				continue
			}
			if j.Kind != KindApproval && len(gone) == 1 && i < len(waiting) && waiting[i] == gone[0] {
				if err := tx.exec(ctx, "UPDATE migration_guard_job SET body = ? WHERE id = ?", string(body), idOf[gone[0]]); err != nil {
					return fmt.Errorf("queueing %s: %w", j.Key, err)
				}
				inserted = true
			}
		}
		for _, g := range gone {
			if inserted && g == gone[0] && j.Kind != KindApproval {
				continue
			}
			if err := tx.exec(ctx, "DELETE FROM migration_guard_job WHERE id = ?", idOf[g]); err != nil {
				return fmt.Errorf("queueing %s: %w", j.Key, err)
			}
		}
		if !inserted {
			if err := tx.exec(ctx, "INSERT INTO migration_guard_job (key, installation, body) VALUES (?, ?, ?)", j.Key, j.InstallationID, string(body)); err != nil {
				return fmt.Errorf("queueing %s: %w", j.Key, err)
			}
		}
		if riverJob == nil {
			priority, err := keyJobPriority(ctx, tx, j.InstallationID, j.Key)
			if err != nil {
				return err
			}
			id, err := tx.insertKeyJob(ctx, keyArgs{Key: j.Key, Installation: j.InstallationID}, priority)
			if err != nil {
				return fmt.Errorf("queueing %s in River: %w", j.Key, err)
			}
			if err := tx.exec(ctx, "UPDATE migration_guard_key SET river_job_id = ? WHERE key = ?", id, j.Key); err != nil {
				return fmt.Errorf("queueing %s: %w", j.Key, err)
			}
		}
		// Only a pull request job is cut short by a push (see queue.Enqueue).
		if j.Kind == KindPullRequest && j.HeadSHA != "" {
			for _, r := range runningRows {
				if r.job.Kind == KindPullRequest && r.head != "" && r.head != j.HeadSHA {
					if err := tx.exec(ctx, "UPDATE migration_guard_job SET cancel = 1 WHERE id = ?", r.id); err != nil {
						return fmt.Errorf("superseding the running job of %s: %w", j.Key, err)
					}
					cancelIDs = append(cancelIDs, r.id)
				}
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, errQueueFull) || errors.Is(err, errInstallationQueueFull) {
			return err
		}
		return fmt.Errorf("%w: %w", errEngineDown, err)
	}
	for _, old := range gone {
		q.superseded(old, j)
	}
	q.mu.Lock()
	for _, id := range cancelIDs {
		if c := q.running[id]; c != nil {
			c(errSuperseded)
		}
	}
	q.mu.Unlock()
	return nil
}

// keyJobPriority is the River priority of a key's River job inserted now
// (or put back after a job of the key ran): 1 when no other key of its
// installation has work, then one lower for each other key up to River's
// lowest, 4. River serves priorities in order, so a burst of one
// installation's pull requests waits behind another installation's first
// ones instead of ahead of them: the in-memory queue's round robin, on
// state every replica reads from the database.
func keyJobPriority(ctx context.Context, tx dbtx, installation int64, key string) (int, error) {
	n := 0
	if err := tx.query(ctx, "SELECT count(*) FROM migration_guard_key WHERE installation = ? AND key <> ?", []any{installation, key},
		func(scan func(...any) error) error { return scan(&n) }); err != nil {
		return 0, fmt.Errorf("counting the keys of installation %d: %w", installation, err)
	}
	return min(1+n, 4), nil
}

// errEngineDown refuses a delivery that could not be committed.
var errEngineDown = errors.New("the job queue cannot be written")

// work is a key's River job: it takes the key's lease, runs the key's
// oldest job (or the one a crash cut short), and comes back for the next
// (a snooze, which puts the key behind the others that wait) until the
// key has none.
func (q *durableQueue) work(ctx context.Context, job *river.Job[keyArgs]) error {
	key := job.Args.Key
	ctx, release, ok, err := q.eng.lease(ctx, key)
	if err != nil {
		return err
	}
	if !ok {
		return river.JobSnooze(leaseWait)
	}
	defer release()
	var cur *queued
	err = q.eng.withTx(ctx, func(tx dbtx) error {
		cur = nil
		var riverJob *int64
		if err := tx.query(ctx, "SELECT river_job_id FROM migration_guard_key WHERE key = ?"+q.eng.forUpdate(), []any{key},
			func(scan func(...any) error) error { return scan(&riverJob) }); err != nil {
			return fmt.Errorf("locking %s: %w", key, err)
		}
		if riverJob == nil || *riverJob != job.ID {
			// Another River job works the key now (see requeueKey and
			// rescueDead): this one has nothing to do.
			return nil
		}
		rows, err := q.rows(ctx, tx, key)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return q.finishKey(ctx, tx, job)
		}
		cur = rows[0]
		for _, r := range rows {
			if r.running {
				// Cut short by a crash: it runs again first, and takes over
				// the check run it left in progress.
				cur = r
				cur.crashes++
				break
			}
		}
		return tx.exec(ctx, "UPDATE migration_guard_job SET running = 1, owner = ?, cancel = 0, crashes = ? WHERE id = ?", q.replica, cur.crashes, cur.id)
	})
	if err != nil {
		return fmt.Errorf("taking the next job of %s: %w", key, err)
	}
	if cur == nil {
		return nil
	}
	// Every request of this run names it (see withJobAgent).
	actx := withJobAgent(ctx, q.replica, key, strconv.FormatInt(cur.id, 10)+"."+strconv.Itoa(cur.crashes))
	var outcome string
	if cur.crashes >= maxJobCrashes {
		q.log.Error("a job was cut short too many times; its check is failed", "key", key, "crashes", cur.crashes, "deliveries", cur.job.Deliveries)
		outcome = q.failCrashed(actx, cur.job, cur.crashes)
	} else {
		if cur.crashes > 0 {
			q.log.Warn("running again a job cut short by a crash", "key", key, "crashes", cur.crashes, "deliveries", cur.job.Deliveries)
		}
		outcome = q.runOne(actx, cur)
		if errors.Is(context.Cause(ctx), errLeaseLost) {
			q.log.Warn("a running job stopped and was handed back: "+errLeaseLost.Error(), "key", key, "deliveries", cur.job.Deliveries)
		}
	}
	if cur.crashes > 0 && outcome != outcomeHandedBack {
		q.closeLeft(actx, cur.job, cur.head)
	}
	// The key's next job, or its end, is written with a context of its
	// own: the job's may have ended.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), engineTimeout)
	defer cancel()
	err = q.eng.withTx(fctx, func(tx dbtx) error {
		var riverJob *int64
		if err := tx.query(fctx, "SELECT river_job_id FROM migration_guard_key WHERE key = ?"+q.eng.forUpdate(), []any{key},
			func(scan func(...any) error) error { return scan(&riverJob) }); err != nil {
			return fmt.Errorf("locking %s: %w", key, err)
		}
		if outcome == outcomeHandedBack {
			if err := tx.exec(fctx, "UPDATE migration_guard_job SET running = 0, owner = '' WHERE id = ?", cur.id); err != nil {
				return err
			}
		} else if err := tx.exec(fctx, "DELETE FROM migration_guard_job WHERE id = ?", cur.id); err != nil {
			return err
		}
		if riverJob == nil || *riverJob != job.ID {
			// The key's lease was lost with its connection and another
			// River job works the key now: it goes on from here.
			return nil
		}
		n := 0
		if err := tx.query(fctx, "SELECT count(*) FROM migration_guard_job WHERE key = ?", []any{key},
			func(scan func(...any) error) error { return scan(&n) }); err != nil {
			return err
		}
		if n > 0 {
			return q.requeueKey(fctx, tx, job)
		}
		return q.finishKey(fctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("recording the end of a job of %s: %w", key, err)
	}
	return nil
}

// requeueKey puts a key that has more jobs behind the others: its River
// job completes and a new one takes its place, at the priority the key's
// installation has now (keyJobPriority), in the same transaction. A
// snooze would keep the priority the key had when its first delivery
// came.
func (q *durableQueue) requeueKey(ctx context.Context, tx dbtx, job *river.Job[keyArgs]) error {
	priority, err := keyJobPriority(ctx, tx, job.Args.Installation, job.Args.Key)
	if err != nil {
		return err
	}
	id, err := tx.insertKeyJob(ctx, job.Args, priority)
	if err != nil {
		return fmt.Errorf("queueing %s in River again: %w", job.Args.Key, err)
	}
	if err := tx.exec(ctx, "UPDATE migration_guard_key SET river_job_id = ? WHERE key = ?", id, job.Args.Key); err != nil {
		return fmt.Errorf("queueing %s again: %w", job.Args.Key, err)
	}
	// A job River rescued from a live run is no longer running: it finds
	// another River job on the key when it runs, and ends.
	_ = tx.completeKeyJob(ctx, job)
	return q.promoteKeys(ctx, tx, job.Args.Installation)
}

// promoteKeys gives installation's waiting keys, once one of its keys
// stopped running, the priorities they would get now: the installation's
// next key is not left behind other installations' keys that came after
// it (with priorities fixed at insertion, an installation that keeps one
// key waiting would starve another's backlog). A River job's priority
// cannot change: a key that moves up gets a new River job, the waiting
// one is deleted (unless a worker took it meanwhile). Keys whose row
// another transaction holds are left as they are, so two keys of one
// installation ending at once do not wait for each other.
func (q *durableQueue) promoteKeys(ctx context.Context, tx dbtx, installation int64) error {
	type keyJob struct {
		key      string
		id       int64
		state    string
		priority int
	}
	var keys []keyJob
	if err := tx.query(ctx, "SELECT k.key, k.river_job_id, j.state, j.priority FROM migration_guard_key k JOIN river_job j ON j.id = k.river_job_id WHERE k.installation = ? ORDER BY j.priority, j.id"+q.eng.skipLocked(),
		[]any{installation}, func(scan func(...any) error) error {
			var k keyJob
			if err := scan(&k.key, &k.id, &k.state, &k.priority); err != nil {
				return err
			}
			keys = append(keys, k)
			return nil
		}); err != nil {
		return fmt.Errorf("reading the keys of installation %d: %w", installation, err)
	}
	running := 0
	for _, k := range keys {
		if k.state == string(rivertype.JobStateRunning) {
			running++
		}
	}
	rank := running
	for _, k := range keys {
		if k.state == string(rivertype.JobStateRunning) {
			continue
		}
		want := min(1+rank, 4)
		rank++
		if want >= k.priority || k.state != string(rivertype.JobStateAvailable) {
			continue
		}
		deleted, err := tx.deleteKeyJob(ctx, k.id)
		if err != nil {
			return fmt.Errorf("moving %s up: %w", k.key, err)
		}
		if !deleted {
			continue
		}
		id, err := tx.insertKeyJob(ctx, keyArgs{Key: k.key, Installation: installation}, want)
		if err != nil {
			return fmt.Errorf("moving %s up: %w", k.key, err)
		}
		if err := tx.exec(ctx, "UPDATE migration_guard_key SET river_job_id = ? WHERE key = ?", id, k.key); err != nil {
			return fmt.Errorf("moving %s up: %w", k.key, err)
		}
	}
	return nil
}

// finishKey ends a key that has no job left: its row goes, and its River
// job completes in the same transaction, so that a delivery committed
// after it gives the key a new one.
func (q *durableQueue) finishKey(ctx context.Context, tx dbtx, job *river.Job[keyArgs]) error {
	if err := tx.exec(ctx, "DELETE FROM migration_guard_key WHERE key = ? AND river_job_id = ?", job.Args.Key, job.ID); err != nil {
		return fmt.Errorf("ending %s: %w", job.Args.Key, err)
	}
	// A job River rescued from a live run is no longer running: its
	// rescue completes itself, finding nothing to do.
	_ = tx.completeKeyJob(ctx, job)
	return q.promoteKeys(ctx, tx, job.Args.Installation)
}

// runOne runs a claimed job, cancellable by a newer push (from any
// replica) and by the shutdown.
func (q *durableQueue) runOne(ctx context.Context, cur *queued) string {
	jctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	// River's cancellation at its hard stop hands the job back; at its
	// deadline (the job outran even the write closing it) it ends it.
	stopWatch := context.AfterFunc(ctx, func() {
		if q.closed.Load() {
			cancel(errHandBack)
			return
		}
		cancel(context.Cause(ctx))
	})
	defer stopWatch()
	q.mu.Lock()
	q.running[cur.id] = cancel
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		delete(q.running, cur.id)
		q.mu.Unlock()
	}()
	return q.run(jctx, cur.job, func(head string) {
		hctx, hcancel := context.WithTimeout(context.Background(), engineTimeout)
		defer hcancel()
		if err := q.eng.withTx(hctx, func(tx dbtx) error {
			return tx.exec(hctx, "UPDATE migration_guard_job SET head = ? WHERE id = ?", head, cur.id)
		}); err != nil {
			q.log.Warn("could not record the head a job checks; a newer push will not cut it short", "key", cur.job.Key, "error", err.Error())
		}
	})
}

// pollCancels cuts short the running jobs of this process that a newer
// push on another replica superseded.
func (q *durableQueue) pollCancels(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		q.mu.Lock()
		n := len(q.running)
		q.mu.Unlock()
		if n == 0 {
			continue
		}
		var ids []int64
		qctx, cancel := context.WithTimeout(ctx, engineTimeout)
		err := q.eng.withTx(qctx, func(tx dbtx) error {
			ids = nil
			return tx.query(qctx, "SELECT id FROM migration_guard_job WHERE owner = ? AND running = 1 AND cancel = 1", []any{q.replica},
				func(scan func(...any) error) error {
					var id int64
					if err := scan(&id); err != nil {
						return err
					}
					ids = append(ids, id)
					return nil
				})
		})
		cancel()
		if err != nil {
			continue
		}
		q.mu.Lock()
		for _, id := range ids {
			if c := q.running[id]; c != nil {
				c(errSuperseded)
			}
		}
		q.mu.Unlock()
	}
}

func (q *durableQueue) Closed() bool { return q.closed.Load() }

func (q *durableQueue) count(ctx context.Context, where string) (int, error) {
	n := 0
	err := q.eng.withTx(ctx, func(tx dbtx) error {
		return tx.query(ctx, "SELECT count(*) FROM migration_guard_job"+where, nil, func(scan func(...any) error) error { return scan(&n) })
	})
	return n, err
}

// Len counts the waiting jobs of all replicas; -1 when the engine cannot
// be read.
func (q *durableQueue) Len() int {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	n, err := q.count(ctx, " WHERE running = 0")
	if err != nil {
		return -1
	}
	return n
}

func (q *durableQueue) idle() bool {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	n, err := q.count(ctx, "")
	return err == nil && n == 0
}

func (q *durableQueue) engineReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, engineTimeout)
	defer cancel()
	if err := q.eng.ping(ctx); err != nil {
		return fmt.Errorf("the queue's %s is unreachable", q.eng.name())
	}
	return nil
}

// Shutdown refuses new jobs and lets the running ones finish until ctx
// ends; then it hands them back to the queue (their next run, here after
// a restart or on another replica, takes over their check runs). Waiting
// jobs stay in the queue's database: nothing is dropped.
func (q *durableQueue) Shutdown(ctx context.Context) error {
	if q.closed.Swap(true) {
		return nil
	}
	defer q.eng.close()
	if !q.started.Load() {
		return nil
	}
	q.stopPoll()
	<-q.polled
	err := q.eng.stop(ctx)
	if err == nil {
		return nil
	}
	q.mu.Lock()
	for _, c := range q.running {
		c(errHandBack)
	}
	q.mu.Unlock()
	hctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if herr := q.eng.stopAndCancel(hctx); herr != nil {
		q.log.Warn("stopping the queue's workers", "error", herr.Error())
	}
	return ctx.Err()
}

type jobAgentKey struct{}

// withJobAgent names, in the User-Agent of the job's requests to GitHub,
// the replica and the job (key and run): GitHub's logs, and a test's
// fake, tell which process and which run made each write.
func withJobAgent(ctx context.Context, replica, key, run string) context.Context {
	return context.WithValue(ctx, jobAgentKey{}, "replica "+replica+"; job "+key+" "+run)
}

// agentTransport adds the job's name to the User-Agent.
type agentTransport struct{ next http.RoundTripper }

func (t agentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	agent, _ := req.Context().Value(jobAgentKey{}).(string)
	if agent == "" {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", req.Header.Get("User-Agent")+" ("+agent+")")
	return t.next.RoundTrip(r)
}
