package webhook

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
)

// JobKind says what a job brings up to date.
type JobKind string

// Job kinds.
const (
	// KindPullRequest checks a pull request's current head and updates its
	// check run, review comments and sticky comment.
	KindPullRequest JobKind = "pull_request"
	// KindMergeGroup checks a merge queue's commit (base_sha..head_sha)
	// and reports the check run there.
	KindMergeGroup JobKind = "merge_group"
	// KindApproval decides on an edit of the sticky comment: a tick, an
	// untick, or a change to be rendered back.
	KindApproval JobKind = "approval"
	// KindSticky reconciles the sticky comment's box with the ledger of
	// the head, after a start: an accepted tick or untick may have been
	// lost with the process that had it queued.
	KindSticky JobKind = "sticky"
)

// decision says whether a job of this kind records or may record a
// person's decision: such a job is never replaced by a newer one, nor
// replaces one.
func (k JobKind) decision() bool { return k == KindApproval || k == KindSticky }

// mayRevoke says whether the job may carry a revocation: an untick of the
// sticky comment, or a reconcile of its box. Such a job fails closed: it
// is run again within its deadline, and if it still cannot finish the
// revocation is recorded without it, or a reconcile scheduled.
func (j *Job) mayRevoke() bool {
	return j.Kind == KindSticky || (j.Kind == KindApproval && j.Edit != nil && editKindOf(j.Edit) == checklist.EditUntick)
}

// CommentEdit is an edit of the App's sticky comment, from its
// issue_comment.edited delivery.
type CommentEdit struct {
	CommentID  int64
	CommentURL string
	// Author wrote the comment; Sender made the edit.
	Author, Sender ghUser
	// Old is changes.body.from, New the body after the edit.
	Old, New string
}

// Job is one unit of work. Jobs with the same Key run one at a time, in
// the order they came, and a queued pull request job is replaced by a
// newer one with its Key: the newer event describes the newer state, and
// the job reads the current state from GitHub anyway. Approval jobs
// replace nothing but queued edits of the same comment (see
// coalesceEdits): the comment's latest state is what counts.
type Job struct {
	Key            string
	Kind           JobKind
	InstallationID int64
	Owner, Repo    string
	Number         int    // pull request
	HeadSHA        string // the event's head; a pull request job checks the current head
	BaseSHA        string // merge group
	// HeadRef and BaseRef are a merge group's queue branch (which names
	// the pull request) and target branch.
	HeadRef, BaseRef string
	// Force re-runs even when the head was checked already, and creates a
	// new check run: someone asked for a re-run.
	Force bool
	// Before is the head a synchronize event replaced: its check run holds
	// the ledger an approval is carried from.
	Before string
	// Edit is the comment edit an approval job decides on; on a sticky
	// job, an untick whose job could not finish: its revocation is
	// recorded whatever the box shows by then.
	Edit *CommentEdit
	// Deliveries are the X-GitHub-Delivery ids this job answers, including
	// those of the jobs it replaced.
	Deliveries []string
	Event      string
	Enqueued   time.Time
	// Accepted is when the edit a scheduled reconcile carries was
	// accepted: its revocation is recorded at that time, and does not
	// touch an approval given after it.
	Accepted time.Time
	// Attempt counts the reconciles scheduled for a revocation that could
	// not be recorded (a sticky job whose Edit is the untick).
	Attempt int
}

var (
	errQueueFull             = errors.New("the job queue is full")
	errInstallationQueueFull = errors.New("the job queue of this installation is full")
	errQueueClosed           = errors.New("the service is shutting down")
)

// queue runs jobs on a fixed number of workers, one job per key at a time,
// with a bound on waiting jobs in all and per installation. Installations
// take turns: a worker serves the next installation that has a job ready,
// round robin, so one installation's burst cannot starve another's.
type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	entries map[string]*queueEntry
	// ready holds, per installation, the keys with a waiting job and none
	// running, in arrival order; turns lists the installations with ready
	// keys in the order they are served.
	ready    map[int64][]string
	turns    []int64
	nready   int
	waiting  int
	capacity int
	// perInstallation bounds one installation's waiting jobs.
	perInstallation int
	waitingBy       map[int64]int
	closed          bool
	run             func(ctx context.Context, j *Job, headOf func(string)) string
	// superseded is told about every job replaced before it ran.
	superseded func(old, by *Job)
	dropped    func(j *Job)
	depth      func(int)
	base       context.Context
	stopAll    context.CancelFunc
	workers    sync.WaitGroup
}

type queueEntry struct {
	installation int64
	// isReady is set while the key is in q.ready.
	isReady bool
	// waiting holds the key's jobs in arrival order: approval jobs, and
	// at most one other job, which newer ones replace where it stands.
	waiting []*Job
	running *Job
	// runningHead is the head SHA the running job works on, once known.
	runningHead string
	cancel      context.CancelCauseFunc
}

// shutdownGrace is how long cancelled jobs get, after the shutdown
// deadline, to close their check runs.
const shutdownGrace = 10 * time.Second

// errSuperseded is the cause a running job is cancelled with when a push
// replaced the commit it checks.
var errSuperseded = errors.New("superseded by a newer push")

func newQueue(workers, capacity, perInstallation int, run func(ctx context.Context, j *Job, headOf func(string)) string) *queue {
	base, stop := context.WithCancel(context.Background())
	q := &queue{
		entries:         map[string]*queueEntry{},
		ready:           map[int64][]string{},
		waitingBy:       map[int64]int{},
		capacity:        capacity,
		perInstallation: perInstallation,
		run:             run,
		superseded:      func(*Job, *Job) {},
		dropped:         func(*Job) {},
		depth:           func(int) {},
		base:            base,
		stopAll:         stop,
	}
	q.cond = sync.NewCond(&q.mu)
	for range workers {
		q.workers.Add(1)
		go q.worker()
	}
	return q
}

// Enqueue adds j, replacing a job with the same key that has not started.
// A running job with the same key keeps running unless j is about a
// different head, in which case it is cancelled: its results would be
// for a commit that is no longer the pull request's head.
func (q *queue) Enqueue(j *Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errQueueClosed
	}
	e := q.entries[j.Key]
	if e == nil {
		e = &queueEntry{installation: j.InstallationID}
	}
	waiting, gone := foldJob(e.waiting, j)
	if grow := len(waiting) - len(e.waiting); grow > 0 {
		if q.waitingBy[e.installation]+grow > q.perInstallation {
			return errInstallationQueueFull
		}
		if q.waiting+grow > q.capacity {
			return errQueueFull
		}
	}
	grow := len(waiting) - len(e.waiting)
	e.waiting = waiting
	q.entries[j.Key] = e
	q.waiting += grow
	q.waitingBy[e.installation] += grow
	for _, old := range gone {
		q.superseded(old, j)
	}
	if e.running == nil && !e.isReady {
		q.makeReady(e, j.Key)
	}
	// Only a pull request job is cut short by a push: an approval job
	// records a decision on the head it read, which the next job carries
	// or resets.
	if e.running != nil && e.cancel != nil && e.running.Kind == KindPullRequest && j.Kind == KindPullRequest &&
		j.HeadSHA != "" && e.runningHead != "" && j.HeadSHA != e.runningHead {
		e.cancel(errSuperseded)
	}
	q.depth(q.waiting)
	return nil
}

// foldJob adds j to a key's waiting jobs, in arrival order, and returns
// them with the jobs j superseded. A pull request or merge group job
// replaces the key's waiting one (there is at most one) where it stands,
// taking over its deliveries, Force and Before: the newer event describes
// the newer state, and the job reads the current state from GitHub anyway.
// Decision jobs (approval, sticky) are never replaced by, nor replace,
// another kind; approval edits of one comment coalesce (coalesceEdits).
// Both queue engines call it, so their rules cannot drift apart. It may
// change j, and never changes waiting.
func foldJob(waiting []*Job, j *Job) (out, gone []*Job) {
	switch {
	case j.Kind == KindApproval:
		out, gone = coalesceEdits(waiting, j)
		return append(out, j), gone
	case j.Kind.decision():
		return append(waiting[:len(waiting):len(waiting)], j), nil
	}
	for i, old := range waiting {
		if old.Kind.decision() {
			continue
		}
		j.Force = j.Force || old.Force
		// The older job's starting point is the one whose check run
		// exists: the head in between was never checked.
		if old.Before != "" {
			j.Before = old.Before
		}
		j.Deliveries = append(append([]string(nil), old.Deliveries...), j.Deliveries...)
		out = append(waiting[:0:0], waiting...)
		out[i] = j
		return out, []*Job{old}
	}
	return append(waiting[:len(waiting):len(waiting)], j), nil
}

// coalesceEdits folds the queued edits of j's comment into j, the newest:
// what counts is the comment's latest state, and an edit that waits is
// superseded by a newer one of the same comment. Decisions are kept: the
// newest queued untick stays, in its place, unless j is an untick itself
// (a newer tick may be refused, while the untick it would replace always
// takes effect), and so does the newest queued tick unless j is a tick
// (a newer edit of the text must not undo a writer's approval). Older
// ticks and unticks are superseded by the newer one of their kind, which
// reads the comment as it is after them. So 60 edits of one comment wait
// as at most three jobs. It returns the waiting jobs kept, before j is
// added.
func coalesceEdits(waiting []*Job, j *Job) (kept, gone []*Job) {
	if j.Edit == nil {
		return waiting[:len(waiting):len(waiting)], nil
	}
	jKind := editKindOf(j.Edit)
	keepUntick, keepTick := -1, -1
	for i, old := range waiting {
		if old.Kind != KindApproval || old.Edit == nil || old.Edit.CommentID != j.Edit.CommentID {
			continue
		}
		switch k := editKindOf(old.Edit); {
		case k == checklist.EditUntick && jKind != checklist.EditUntick:
			keepUntick = i
		case k == checklist.EditTick && jKind != checklist.EditTick:
			keepTick = i
		}
	}
	kept = waiting[:0:0]
	var folded []string
	for i, old := range waiting {
		if i == keepUntick || i == keepTick || old.Kind != KindApproval || old.Edit == nil || old.Edit.CommentID != j.Edit.CommentID {
			kept = append(kept, old)
			continue
		}
		folded = append(folded, old.Deliveries...)
		gone = append(gone, old)
	}
	if len(folded) > 0 {
		j.Deliveries = append(folded, j.Deliveries...)
	}
	return kept, gone
}

func editKindOf(ed *CommentEdit) checklist.EditKind {
	k, _ := checklist.ClassifyEdit(ed.Old, ed.New)
	return k
}

// makeReady queues key for a worker in its installation's turn. Called
// with q.mu held.
func (q *queue) makeReady(e *queueEntry, key string) {
	inst := e.installation
	e.isReady = true
	if len(q.ready[inst]) == 0 {
		q.turns = append(q.turns, inst)
	}
	q.ready[inst] = append(q.ready[inst], key)
	q.nready++
	q.cond.Signal()
}

// nextReady takes the next installation's first ready key; the
// installation goes to the back of the turns if it has more. Called with
// q.mu held and q.nready > 0.
func (q *queue) nextReady() string {
	inst := q.turns[0]
	q.turns = q.turns[1:]
	keys := q.ready[inst]
	key := keys[0]
	if len(keys) == 1 {
		delete(q.ready, inst)
	} else {
		q.ready[inst] = keys[1:]
		q.turns = append(q.turns, inst)
	}
	q.nready--
	return key
}

func (q *queue) worker() {
	defer q.workers.Done()
	for {
		q.mu.Lock()
		for q.nready == 0 && !(q.closed && q.waiting == 0) {
			q.cond.Wait()
		}
		if q.nready == 0 {
			q.mu.Unlock()
			return
		}
		key := q.nextReady()
		e := q.entries[key]
		e.isReady = false
		j := e.waiting[0]
		e.waiting = e.waiting[1:]
		e.running, e.runningHead = j, ""
		q.waiting--
		q.waitingBy[e.installation]--
		if q.waitingBy[e.installation] == 0 {
			delete(q.waitingBy, e.installation)
		}
		ctx, cancel := context.WithCancelCause(q.base)
		e.cancel = cancel
		q.depth(q.waiting)
		q.mu.Unlock()

		q.run(ctx, j, func(head string) {
			q.mu.Lock()
			e.runningHead = head
			q.mu.Unlock()
		})
		cancel(nil)

		q.mu.Lock()
		e.running, e.cancel, e.runningHead = nil, nil, ""
		if len(e.waiting) > 0 {
			q.makeReady(e, key)
		} else {
			delete(q.entries, key)
		}
		if q.closed && q.waiting == 0 {
			q.cond.Broadcast()
		}
		q.mu.Unlock()
	}
}

// Closed reports whether Shutdown began.
func (q *queue) Closed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// Len is the number of waiting jobs.
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}

// Shutdown refuses new jobs and lets the workers finish the running and
// waiting ones until ctx ends; then it cancels the running jobs (which
// close their check runs as failed) and reports every job that never ran,
// so that nothing accepted disappears without a trace.
func (q *queue) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()

	done := make(chan struct{})
	go func() {
		q.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	var dropped []*Job
	for _, e := range q.entries {
		e.isReady = false
		dropped = append(dropped, e.waiting...)
		q.waiting -= len(e.waiting)
		e.waiting = nil
	}
	q.ready, q.turns, q.nready = map[int64][]string{}, nil, 0
	q.waitingBy = map[int64]int{}
	q.cond.Broadcast()
	q.mu.Unlock()
	for _, j := range dropped {
		q.dropped(j)
	}
	q.stopAll()
	// Cancelled jobs still write their check run's final state; they get
	// a short grace for it.
	select {
	case <-done:
	case <-time.After(shutdownGrace):
	}
	return ctx.Err()
}

// idle reports whether no job waits or runs.
func (q *queue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries) == 0
}
