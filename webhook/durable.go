package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
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

	closed  atomic.Bool
	started atomic.Bool
	// The intake's group commit (see Enqueue): calls waiting for a batch,
	// whether one is being committed, and the calls not yet answered.
	bmu      sync.Mutex
	pending  []*enqueueReq
	leading  bool
	inflight sync.WaitGroup
	// beforeCommit, when set (by tests), runs in each batch's transaction
	// after its writes; an error fails the batch.
	beforeCommit func(ctx context.Context, tx dbtx, batch []*enqueueReq) error
	mu           sync.Mutex
	running      map[int64]context.CancelCauseFunc
	stopPoll     context.CancelFunc
	polled       chan struct{}
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

// maxBatch bounds the deliveries one intake transaction commits: a batch
// holds its keys' locks (and, on SQLite, the one connection River also
// needs) until its commit.
const maxBatch = 128

// enqueueReq is one Enqueue call in its batch.
type enqueueReq struct {
	j *Job
	// err is the call's answer, gone the waiting jobs j superseded; set
	// by the batch's commit.
	err  error
	gone []*Job
	// turn gets true when this call is to commit the next batch (then
	// batch is it, this call first), false when its batch was committed
	// (or failed) by another.
	turn  chan bool
	batch []*enqueueReq
}

// Enqueue commits j: under the lock of its key's row, j folds into the
// key's waiting rows, the key gets its River job if it has none, and a
// running pull request job on another head is told to stop. Only after
// the commit does the caller answer 202.
//
// Calls are committed in groups (group commit): while one call commits
// a batch, the calls that arrive meanwhile wait, and the first of them
// then commits them all in one transaction and answers each. A lone
// delivery is committed at once; under load one commit (one write to
// disk) serves many deliveries. Each delivery is folded and bounded as
// if committed alone, in arrival order; a batch that fails fails each of
// its calls, none of them committed. One batch commits at a time per
// process: the batch grows with the load instead, which costs the
// database least (on PostgreSQL, replicas' batches commit side by side).
func (q *durableQueue) Enqueue(j *Job) error {
	r := &enqueueReq{j: j, turn: make(chan bool, 1)}
	q.bmu.Lock()
	// Checked under bmu: Shutdown closes the engine only once the calls
	// that passed this check are answered.
	if q.closed.Load() {
		q.bmu.Unlock()
		return errQueueClosed
	}
	q.inflight.Add(1)
	defer q.inflight.Done()
	var batch []*enqueueReq
	if !q.leading {
		// Nothing waits (calls wait only while a batch commits): commit
		// at once.
		q.leading = true
		batch = []*enqueueReq{r}
	} else {
		q.pending = append(q.pending, r)
	}
	q.bmu.Unlock()
	if batch == nil {
		if !<-r.turn {
			q.answered(r)
			return r.err
		}
		batch = r.batch
	}
	q.commitBatchRecovering(batch)
	q.bmu.Lock()
	if len(q.pending) > 0 {
		// The first waiting call commits the next batch: those that came
		// while this one committed.
		n := min(len(q.pending), maxBatch)
		next := q.pending[:n:n]
		q.pending = append([]*enqueueReq(nil), q.pending[n:]...)
		next[0].batch = next
		next[0].turn <- true
	} else {
		q.leading = false
	}
	q.bmu.Unlock()
	for _, o := range batch[1:] {
		o.turn <- false
	}
	q.answered(r)
	return r.err
}

// answered reports, once its call is answered, what an accepted job
// superseded.
func (q *durableQueue) answered(r *enqueueReq) {
	if r.err != nil {
		return
	}
	for _, old := range r.gone {
		q.superseded(old, r.j)
	}
}

// commitBatchRecovering is commitBatch, and a panic in it (a defect)
// answers every call of the batch as the queue being down instead of
// leaving them waiting, and the intake with them: the batch's transaction
// was rolled back (withTx), or, if it had committed, the deliveries are
// answered 503 and redelivered, which folds them again.
func (q *durableQueue) commitBatchRecovering(batch []*enqueueReq) {
	defer func() {
		if p := recover(); p != nil {
			q.log.Error("committing a batch of deliveries panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err := fmt.Errorf("%w: committing the batch failed", errEngineDown)
			for _, r := range batch {
				r.err, r.gone = err, nil
			}
		}
	}()
	q.commitBatch(batch)
}

// commitBatch commits a batch in one transaction and sets each call's
// answer: its own refusal (the queue or the installation's share is
// full), or, when the transaction fails, errEngineDown for every call.
func (q *durableQueue) commitBatch(batch []*enqueueReq) {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	var cancelIDs []int64
	err := q.eng.withTx(ctx, func(tx dbtx) error {
		var err error
		cancelIDs, err = q.foldBatch(ctx, tx, batch)
		if err == nil && q.beforeCommit != nil {
			err = q.beforeCommit(ctx, tx, batch)
		}
		return err
	})
	if err != nil {
		for _, r := range batch {
			r.err, r.gone = fmt.Errorf("%w: %w", errEngineDown, err), nil
		}
		return
	}
	q.mu.Lock()
	for _, id := range cancelIDs {
		if c := q.running[id]; c != nil {
			c(errSuperseded)
		}
	}
	q.mu.Unlock()
}

// batchKey is one key of a batch: its River job, and its rows as the
// batch's deliveries fold into them.
type batchKey struct {
	installation int64
	found        bool
	riverJob     *int64
	// waiting are the key's waiting jobs in order; a slot with id 0 is a
	// job of this batch not written yet.
	waiting  []*slot
	running  []*queued
	deleted  []int64
	accepted bool
}

type slot struct {
	id    int64
	job   *Job
	dirty bool
}

// placeholders is "?, ?, ..., ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// foldBatch writes a batch in tx: it locks the batch's keys in sorted
// order (two replicas' batches sharing keys wait for each other instead
// of deadlocking), reads their rows and the waiting jobs' counts once,
// folds each delivery in arrival order as Enqueue of one would (foldJob,
// QUEUE_SIZE, INSTALLATION_QUEUE_SIZE, the counts kept exact within the
// batch), then writes the outcome. It returns the running jobs to cancel.
func (q *durableQueue) foldBatch(ctx context.Context, tx dbtx, batch []*enqueueReq) ([]int64, error) {
	byKey := map[string]*batchKey{}
	var keys []string
	for _, r := range batch {
		r.err, r.gone = nil, nil
		if byKey[r.j.Key] == nil {
			byKey[r.j.Key] = &batchKey{installation: r.j.InstallationID}
			keys = append(keys, r.j.Key)
		}
	}
	slices.Sort(keys)
	if err := q.lockKeys(ctx, tx, keys, byKey); err != nil {
		return nil, err
	}
	keyVals := make([]any, len(keys))
	for i, k := range keys {
		keyVals[i] = k
	}
	err := tx.query(ctx, "SELECT id, key, body, running, head, crashes FROM migration_guard_job WHERE key IN ("+placeholders(len(keys))+") ORDER BY key, id", keyVals,
		func(scan func(...any) error) error {
			var r queued
			var key, body string
			var running int
			if err := scan(&r.id, &key, &body, &running, &r.head, &r.crashes); err != nil {
				return err
			}
			r.job = new(Job)
			if err := json.Unmarshal([]byte(body), r.job); err != nil {
				return fmt.Errorf("reading queued job %d: %w", r.id, err)
			}
			k := byKey[key]
			if running != 0 {
				r.running = true
				k.running = append(k.running, &r)
				return nil
			}
			k.waiting = append(k.waiting, &slot{id: r.id, job: r.job})
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading the queued jobs: %w", err)
	}
	// The waiting jobs in all and per installation, once per batch.
	all := 0
	mine := map[int64]int{}
	if err := tx.query(ctx, "SELECT installation, count(*) FROM migration_guard_job WHERE running = 0 GROUP BY installation", nil,
		func(scan func(...any) error) error {
			var inst int64
			var n int
			if err := scan(&inst, &n); err != nil {
				return err
			}
			mine[inst] += n
			all += n
			return nil
		}); err != nil {
		return nil, fmt.Errorf("counting waiting jobs: %w", err)
	}
	cancels := map[int64]bool{}
	for _, r := range batch {
		j, k := r.j, byKey[r.j.Key]
		waiting := make([]*Job, len(k.waiting))
		slotOf := make(map[*Job]*slot, len(k.waiting))
		for i, s := range k.waiting {
			waiting[i] = s.job
			slotOf[s.job] = s
		}
		out, gone := foldJob(waiting, j)
		grow := len(out) - len(waiting)
		if grow > 0 {
			if mine[j.InstallationID]+grow > q.perInstallation {
				r.err = errInstallationQueueFull
				continue
			}
			if all+grow > q.capacity {
				r.err = errQueueFull
				continue
			}
		}
		all += grow
		mine[j.InstallationID] += grow
		r.gone = gone
		k.accepted = true
		// j replaces a pull request job in its place (its row), or comes
		// last; folded approval edits go.
		next := make([]*slot, 0, len(out))
		for i, o := range out {
			switch {
			case o != j:
				next = append(next, slotOf[o])
			case j.Kind != KindApproval && len(gone) == 1 && i < len(waiting) && waiting[i] == gone[0]:
				s := slotOf[gone[0]]
				s.job, s.dirty = j, true
				next = append(next, s)
			default:
				next = append(next, &slot{job: j, dirty: true})
			}
		}
		for _, g := range gone {
			if s := slotOf[g]; s.job == g && s.id != 0 {
				k.deleted = append(k.deleted, s.id)
			}
		}
		k.waiting = next
		// Only a pull request job is cut short by a push (see queue.Enqueue).
		if j.Kind == KindPullRequest && j.HeadSHA != "" {
			for _, rr := range k.running {
				if rr.job.Kind == KindPullRequest && rr.head != "" && rr.head != j.HeadSHA {
					cancels[rr.id] = true
				}
			}
		}
	}
	if err := q.writeBatch(ctx, tx, keys, byKey); err != nil {
		return nil, err
	}
	cancelIDs := slices.Sorted(maps.Keys(cancels))
	if len(cancelIDs) > 0 {
		args := make([]any, len(cancelIDs))
		for i, id := range cancelIDs {
			args[i] = id
		}
		if err := tx.exec(ctx, "UPDATE migration_guard_job SET cancel = 1 WHERE id IN ("+placeholders(len(args))+")", args...); err != nil {
			return nil, fmt.Errorf("superseding running jobs: %w", err)
		}
	}
	return cancelIDs, nil
}

// lockKeys gives each of keys a row in migration_guard_key and locks
// them, in the (sorted) order of keys, reading their River jobs.
func (q *durableQueue) lockKeys(ctx context.Context, tx dbtx, keys []string, byKey map[string]*batchKey) error {
	missing := keys
	// A key's row that the key's worker deletes between the insert and
	// the lock (its last job just ended) is inserted again.
	for range 3 {
		args := make([]any, 0, 2*len(missing))
		for _, k := range missing {
			args = append(args, k, byKey[k].installation)
		}
		if err := tx.exec(ctx, "INSERT INTO migration_guard_key (key, installation) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?), ", len(missing)), ", ")+" ON CONFLICT (key) DO NOTHING", args...); err != nil {
			return fmt.Errorf("queueing %s: %w", strings.Join(missing, ", "), err)
		}
		args = args[:0]
		for _, k := range missing {
			args = append(args, k)
		}
		if err := tx.query(ctx, "SELECT key, river_job_id FROM migration_guard_key WHERE key IN ("+placeholders(len(missing))+") ORDER BY key"+q.eng.forUpdate(), args,
			func(scan func(...any) error) error {
				var key string
				var riverJob *int64
				if err := scan(&key, &riverJob); err != nil {
					return err
				}
				if k := byKey[key]; k != nil {
					k.found, k.riverJob = true, riverJob
				}
				return nil
			}); err != nil {
			return fmt.Errorf("locking %s: %w", strings.Join(missing, ", "), err)
		}
		var still []string
		for _, k := range missing {
			if !byKey[k].found {
				still = append(still, k)
			}
		}
		if len(still) == 0 {
			return nil
		}
		missing = still
	}
	return fmt.Errorf("locking %s: its row keeps disappearing", strings.Join(missing, ", "))
}

// writeBatch writes the folded rows of a batch's keys and gives each key
// that got a job and has no River job its River job (startKey).
func (q *durableQueue) writeBatch(ctx context.Context, tx dbtx, keys []string, byKey map[string]*batchKey) error {
	var deleted, inserts, updates []any
	for _, key := range keys {
		k := byKey[key]
		for _, id := range k.deleted {
			deleted = append(deleted, id)
		}
		for _, s := range k.waiting {
			if !s.dirty {
				continue
			}
			body, err := json.Marshal(s.job)
			if err != nil {
				return fmt.Errorf("encoding the job: %w", err)
			}
			if s.id != 0 {
				updates = append(updates, s.id, string(body))
				continue
			}
			// Inserted in the key's order: ids grow in a VALUES list's order.
			inserts = append(inserts, key, s.job.InstallationID, string(body))
		}
	}
	if len(deleted) > 0 {
		if err := tx.exec(ctx, "DELETE FROM migration_guard_job WHERE id IN ("+placeholders(len(deleted))+")", deleted...); err != nil {
			return fmt.Errorf("removing superseded jobs: %w", err)
		}
	}
	if len(updates) > 0 {
		// A newer pull request event takes its predecessor's row: one
		// statement for the batch (UPDATE ... FROM, on both engines).
		if err := tx.exec(ctx, "UPDATE migration_guard_job SET body = v.column2 FROM (VALUES "+
			strings.TrimSuffix(strings.Repeat("(CAST(? AS bigint), CAST(? AS text)), ", len(updates)/2), ", ")+
			") AS v WHERE migration_guard_job.id = v.column1", updates...); err != nil {
			return fmt.Errorf("replacing queued jobs: %w", err)
		}
	}
	if len(inserts) > 0 {
		if err := tx.exec(ctx, "INSERT INTO migration_guard_job (key, installation, body) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(inserts)/3), ", "), inserts...); err != nil {
			return fmt.Errorf("queueing jobs: %w", err)
		}
	}
	for _, key := range keys {
		k := byKey[key]
		switch {
		case k.riverJob != nil:
		case k.accepted:
			if err := q.startKey(ctx, tx, key, k.installation); err != nil {
				return err
			}
		default:
			// Every delivery of a new key was refused: its row goes.
			if err := tx.exec(ctx, "DELETE FROM migration_guard_key WHERE key = ? AND river_job_id IS NULL", key); err != nil {
				return fmt.Errorf("queueing %s: %w", key, err)
			}
		}
	}
	return nil
}

// startKey inserts the River job of a key that got a job and had none,
// in the batch's transaction, and names it in the key's row.
func (q *durableQueue) startKey(ctx context.Context, tx dbtx, key string, installation int64) error {
	priority, err := keyJobPriority(ctx, tx, installation, key)
	if err != nil {
		return err
	}
	id, err := tx.insertKeyJob(ctx, keyArgs{Key: key, Installation: installation}, priority)
	if err != nil {
		return fmt.Errorf("queueing %s in River: %w", key, err)
	}
	if err := tx.exec(ctx, "UPDATE migration_guard_key SET river_job_id = ? WHERE key = ?", id, key); err != nil {
		return fmt.Errorf("queueing %s: %w", key, err)
	}
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
	q.bmu.Lock()
	wasClosed := q.closed.Swap(true)
	q.bmu.Unlock()
	if wasClosed {
		return nil
	}
	defer func() {
		// Calls being committed are answered before the engine goes.
		q.inflight.Wait()
		q.eng.close()
	}()
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
