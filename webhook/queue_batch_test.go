package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// batchEngines are the engines of the durable queue, with one or two
// replicas (queues) on one database.
type batchEngine struct {
	name     string
	replicas int
	pg       bool
}

var batchEngines = []batchEngine{{"sqlite", 1, false}, {"postgres", 1, true}, {"postgres-2-replicas", 2, true}}

// openBatchQueues opens the queues of an engine case, workers stopped.
func openBatchQueues(t *testing.T, replicas int, pg bool, tune func(*Config)) []*durableQueue {
	t.Helper()
	url, dir := "", t.TempDir()
	if pg {
		url = pgtest.Scratch(t)
	}
	var qs []*durableQueue
	for r := range replicas {
		qs = append(qs, newTestDurable(t, fmt.Sprintf("replica-%d", r), func(c *Config) {
			if pg {
				c.QueueDatabaseURL = url
			} else {
				c.QueueDataDir = dir
			}
			tune(c)
		}))
	}
	return qs
}

// pendingCalls is how many Enqueue calls wait for a batch.
func (q *durableQueue) pendingCalls() int {
	q.bmu.Lock()
	defer q.bmu.Unlock()
	return len(q.pending)
}

// holdFirstBatch makes the first batch of q wait, in its transaction,
// until n calls wait behind it (at most 20 s), so that they form one
// batch; largest reports the largest batch.
func holdFirstBatch(q *durableQueue, n int, then func(ctx context.Context, tx dbtx, batch []*enqueueReq) error) (largest func() int) {
	var once sync.Once
	var mu sync.Mutex
	most := 0
	q.beforeCommit = func(ctx context.Context, tx dbtx, batch []*enqueueReq) error {
		first := false
		once.Do(func() { first = true })
		for deadline := time.Now().Add(20 * time.Second); first && q.pendingCalls() < n && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		most = max(most, len(batch))
		mu.Unlock()
		return then(ctx, tx, batch)
	}
	return func() int { mu.Lock(); defer mu.Unlock(); return most }
}

// dbRow is a row of migration_guard_job.
type dbRow struct {
	key, body string
	running   bool
	cancel    bool
}

func dbRows(t *testing.T, q *durableQueue) []dbRow {
	t.Helper()
	ctx := context.Background()
	var out []dbRow
	err := q.eng.withTx(ctx, func(tx dbtx) error {
		out = nil
		return tx.query(ctx, "SELECT key, body, running, cancel FROM migration_guard_job ORDER BY key, id", nil, func(scan func(...any) error) error {
			var r dbRow
			var running, cancel int
			if err := scan(&r.key, &r.body, &running, &cancel); err != nil {
				return err
			}
			r.running, r.cancel = running != 0, cancel != 0
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// By key in byte order (the database's collation may differ), each
	// key's rows in their order.
	slices.SortStableFunc(out, func(a, b dbRow) int { return strings.Compare(a.key, b.key) })
	return out
}

// keyJobs maps each key of migration_guard_key to its River job's key
// (empty when the River job is missing or not the key's).
func keyJobs(t *testing.T, q *durableQueue) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	err := q.eng.withTx(ctx, func(tx dbtx) error {
		clear(out)
		return tx.query(ctx, "SELECT k.key, j.args ->> 'key' FROM migration_guard_key k LEFT JOIN river_job j ON j.id = k.river_job_id", nil,
			func(scan func(...any) error) error {
				var key string
				var jobKey *string
				if err := scan(&key, &jobKey); err != nil {
					return err
				}
				out[key] = ""
				if jobKey != nil {
					out[key] = *jobKey
				}
				return nil
			})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// serialModel is the queue as Enqueue of one delivery at a time leaves
// it: foldJob and the two bounds, the pure rules both queues share.
type serialModel struct {
	capacity, perInstallation int
	waiting                   map[string][]*Job
	runningHead               map[string]string
	cancelled                 map[string]bool
	superseded                int
}

func (m *serialModel) enqueue(j *Job) error {
	out, gone := foldJob(m.waiting[j.Key], j)
	if grow := len(out) - len(m.waiting[j.Key]); grow > 0 {
		all, mine := 0, 0
		for _, w := range m.waiting {
			for _, o := range w {
				all++
				if o.InstallationID == j.InstallationID {
					mine++
				}
			}
		}
		if mine+grow > m.perInstallation {
			return errInstallationQueueFull
		}
		if all+grow > m.capacity {
			return errQueueFull
		}
	}
	m.waiting[j.Key] = out
	m.superseded += len(gone)
	if h := m.runningHead[j.Key]; j.Kind == KindPullRequest && j.HeadSHA != "" && h != "" && h != j.HeadSHA {
		m.cancelled[j.Key] = true
	}
	return nil
}

// TestQueueBatchMatchesSerial: deliveries enqueued at once by many
// callers (pushes to many pull requests of three installations, a burst
// on one pull request, approval edits of one comment that coalesce, a
// push cutting a running job short, more than the queue and an
// installation's share take) are committed in batches, and end exactly as
// the same deliveries enqueued one at a time in the order they were
// folded: the same answers, the same rows in the same order, one River
// job per key with jobs, the superseded jobs reported. With two replicas
// the order holds per key (a key's batches take turns on its lock), and
// the bounds are left out: replicas' concurrent commits each count the
// committed jobs only, as two deliveries committed side by side did.
func TestQueueBatchMatchesSerial(t *testing.T) {
	unticked, ticked := stickyBodies(t)
	edits := []CommentEdit{
		{Old: unticked, New: ticked},
		{Old: ticked, New: unticked},
		{Old: unticked, New: unticked + "\nsomething else"},
	}
	for _, eng := range batchEngines {
		t.Run(eng.name, func(t *testing.T) {
			capacity, perInstallation := 80, 25
			if eng.replicas > 1 {
				capacity, perInstallation = 100000, 100000
			}
			qs := openBatchQueues(t, eng.replicas, eng.pg, func(c *Config) { c.QueueSize, c.InstallationQueueSize = capacity, perInstallation })
			var smu sync.Mutex
			superseded := 0
			for _, q := range qs {
				q.superseded = func(*Job, *Job) { smu.Lock(); superseded++; smu.Unlock() }
			}
			m := &serialModel{capacity: capacity, perInstallation: perInstallation, waiting: map[string][]*Job{},
				runningHead: map[string]string{}, cancelled: map[string]bool{}}
			// The jobs of each delivery: one for the queue, one for the model
			// (foldJob changes the job it folds).
			var specs []func() *Job
			deliveries := 0
			pr := func(inst, n int, head string) func() *Job {
				deliveries++
				d := fmt.Sprintf("d%d", deliveries)
				return func() *Job {
					return &Job{Key: fmt.Sprintf("i%d#%d", inst, n), Kind: KindPullRequest, InstallationID: int64(inst), Number: n,
						HeadSHA: head, Event: "pull_request.synchronize", Deliveries: []string{d}, Force: n%7 == 0 && head == "h1"}
				}
			}
			// Before: a waiting job, and a job running on head h0.
			for _, s := range []func() *Job{pr(1, 0, "h0"), pr(1, 1, "h0")} {
				if err := qs[0].Enqueue(s()); err != nil {
					t.Fatal(err)
				}
				if err := m.enqueue(s()); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			if err := qs[0].eng.withTx(ctx, func(tx dbtx) error {
				return tx.exec(ctx, "UPDATE migration_guard_job SET running = 1, owner = 'replica-0', head = 'h0' WHERE key = 'i1#1'")
			}); err != nil {
				t.Fatal(err)
			}
			m.runningHead["i1#1"] = "h0"
			m.waiting["i1#1"] = nil

			for inst := 1; inst <= 3; inst++ {
				for n := range 30 {
					specs = append(specs, pr(inst, n, "h1"))
				}
			}
			for i := range 40 {
				specs = append(specs, pr(2, 99, fmt.Sprintf("burst%d", i)))
			}
			for i := range 30 {
				specs = append(specs, pr(1, 1, fmt.Sprintf("h%d", i%3)))
			}
			for i := range 45 {
				ed := edits[i%len(edits)]
				ed.CommentID = int64(1 + i%2)
				deliveries++
				d := fmt.Sprintf("d%d", deliveries)
				specs = append(specs, func() *Job {
					e := ed
					return &Job{Key: "i4#5", Kind: KindApproval, InstallationID: 4, Number: 5, Event: "issue_comment.edited", Edit: &e, Deliveries: []string{d}}
				})
			}
			// Kinds and installations arrive mixed.
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(specs), func(a, b int) { specs[a], specs[b] = specs[b], specs[a] })
			// The order the queues folded the deliveries in, batch by batch.
			var omu sync.Mutex
			var order []*Job
			record := func(_ context.Context, _ dbtx, batch []*enqueueReq) error {
				omu.Lock()
				defer omu.Unlock()
				for _, r := range batch {
					order = append(order, r.j)
				}
				return nil
			}
			largest := holdFirstBatch(qs[0], 10, record)
			for _, q := range qs[1:] {
				q.beforeCommit = record
			}
			sent := make([]*Job, len(specs))
			errs := make([]error, len(specs))
			index := map[*Job]int{}
			for i, s := range specs {
				sent[i] = s()
				index[sent[i]] = i
			}
			var wg sync.WaitGroup
			for w := range 24 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < len(sent); i += 24 {
						errs[i] = qs[i%len(qs)].Enqueue(sent[i])
					}
				}()
			}
			wg.Wait()

			if largest() < 10 {
				t.Errorf("the largest batch had %d deliveries: the test did not batch", largest())
			}
			if len(order) != len(specs) {
				t.Fatalf("%d deliveries folded, %d sent", len(order), len(specs))
			}
			refused := 0
			for _, j := range order {
				i := index[j]
				want := m.enqueue(specs[i]())
				if !errors.Is(errs[i], want) || (want == nil) != (errs[i] == nil) {
					t.Errorf("delivery %d (%s): %v, one at a time: %v", i, j.Key, errs[i], want)
				}
				if want != nil {
					refused++
				}
			}
			if eng.replicas == 1 && refused == 0 {
				t.Error("no delivery was refused: the bounds were not reached")
			}
			if superseded != m.superseded {
				t.Errorf("%d jobs reported superseded, one at a time: %d", superseded, m.superseded)
			}

			var want []dbRow
			keys := slices.Sorted(maps.Keys(m.waiting))
			for _, k := range keys {
				if k == "i1#1" {
					want = append(want, dbRow{key: k, running: true, cancel: m.cancelled[k]})
				}
				for _, j := range m.waiting[k] {
					body, _ := json.Marshal(j)
					want = append(want, dbRow{key: k, body: string(body)})
				}
			}
			got := dbRows(t, qs[0])
			for i := range got {
				if got[i].running {
					got[i].body = ""
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("rows after the batches differ from one delivery at a time:\n got %d rows: %s\nwant %d rows: %s", len(got), describeRows(got), len(want), describeRows(want))
			}
			if !m.cancelled["i1#1"] {
				t.Error("the model cut no running job short: the test lost its push")
			}
			jobs := keyJobs(t, qs[0])
			for _, k := range keys {
				if len(m.waiting[k]) == 0 && k != "i1#1" {
					continue
				}
				if jobs[k] != k {
					t.Errorf("key %s has River job %q", k, jobs[k])
				}
				delete(jobs, k)
			}
			if len(jobs) != 0 {
				t.Errorf("keys without jobs kept a row: %v", jobs)
			}
		})
	}
}

func describeRows(rows []dbRow) string {
	var b strings.Builder
	for _, r := range rows {
		var j Job
		_ = json.Unmarshal([]byte(r.body), &j)
		fmt.Fprintf(&b, "\n  %s running=%v cancel=%v %s %s %v", r.key, r.running, r.cancel, j.Kind, j.HeadSHA, j.Deliveries)
	}
	return b.String()
}

// TestQueueBatchFailsWhole: when the engine fails in the middle of a
// batch, every delivery of the batch is refused as the queue being down
// (the 503 path), and nothing of the batch is visible: no job row, no
// key row, no River job, the waiting job a delivery would have replaced
// unchanged. The queue takes deliveries again afterwards.
func TestQueueBatchFailsWhole(t *testing.T) {
	for _, tc := range []struct {
		eng batchEngine
		// panics: the batch's own code panics (a defect), instead of the
		// engine failing; the callers get the same answer and the intake
		// goes on.
		panics bool
	}{{batchEngines[0], false}, {batchEngines[1], false}, {batchEngines[0], true}, {batchEngines[1], true}} {
		eng := tc.eng
		name := eng.name
		if tc.panics {
			name += "/panic"
		}
		t.Run(name, func(t *testing.T) {
			q := openBatchQueues(t, 1, eng.pg, func(*Config) {})[0]
			ctx := context.Background()
			first := &Job{Key: "pr#1", Kind: KindPullRequest, InstallationID: 1, HeadSHA: "a", Deliveries: []string{"first"}}
			if err := q.Enqueue(first); err != nil {
				t.Fatal(err)
			}
			before := dbRows(t, q)
			const n = 12
			batches := 0
			holdFirstBatch(q, n, func(ctx context.Context, tx dbtx, batch []*enqueueReq) error {
				batches++
				if batches != 2 {
					return nil
				}
				if len(batch) != n {
					t.Errorf("the second batch has %d deliveries, want %d", len(batch), n)
				}
				if tc.panics {
					panic("a defect in the batch's code")
				}
				// The engine fails after the batch's writes, before its commit.
				if eng.pg {
					return tx.exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
				}
				return tx.exec(ctx, "INSERT INTO migration_guard_job (key) VALUES ('no installation, no body')")
			})
			held := &Job{Key: "pr#0", Kind: KindPullRequest, InstallationID: 1, HeadSHA: "a", Deliveries: []string{"held"}}
			heldErr := make(chan error, 1)
			go func() { heldErr <- q.Enqueue(held) }()
			for !q.leadingNow() {
				time.Sleep(time.Millisecond)
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					j := &Job{Key: fmt.Sprintf("pr#%d", 2+i%6), Kind: KindPullRequest, InstallationID: 1, HeadSHA: "b", Deliveries: []string{fmt.Sprintf("lost%d", i)}}
					if i == 0 {
						// Would replace the waiting job of pr#1.
						j.Key = "pr#1"
					}
					if i == 1 {
						j = &Job{Key: "pr#3", Kind: KindApproval, InstallationID: 1, Deliveries: []string{"lost-edit"}}
					}
					errs[i] = q.Enqueue(j)
				}()
			}
			wg.Wait()
			if err := <-heldErr; err != nil {
				t.Fatalf("the delivery of the first batch: %v", err)
			}
			for i, err := range errs {
				if !errors.Is(err, errEngineDown) {
					t.Errorf("delivery %d of the failed batch: %v, want the queue down", i, err)
				}
			}
			got := dbRows(t, q)
			want := append(before, dbRow{key: "pr#0", body: mustJSON(t, held)})
			slices.SortFunc(want, func(a, b dbRow) int { return strings.Compare(a.key, b.key) })
			if !slices.Equal(got, want) {
				t.Errorf("rows after the failed batch:%s\nwant:%s", describeRows(got), describeRows(want))
			}
			if jobs := keyJobs(t, q); len(jobs) != 2 || jobs["pr#0"] != "pr#0" || jobs["pr#1"] != "pr#1" {
				t.Errorf("keys and River jobs after the failed batch: %v", jobs)
			}
			rivers := 0
			if err := q.eng.withTx(ctx, func(tx dbtx) error {
				return tx.query(ctx, "SELECT count(*) FROM river_job", nil, func(scan func(...any) error) error { return scan(&rivers) })
			}); err != nil {
				t.Fatal(err)
			}
			if rivers != 2 {
				t.Errorf("%d River jobs, want those of pr#0 and pr#1", rivers)
			}
			// The engine answers again: so does the queue.
			if err := q.Enqueue(&Job{Key: "pr#2", Kind: KindPullRequest, InstallationID: 1, HeadSHA: "c", Deliveries: []string{"after"}}); err != nil {
				t.Fatalf("after the failed batch: %v", err)
			}
		})
	}
}

func (q *durableQueue) leadingNow() bool {
	q.bmu.Lock()
	defer q.bmu.Unlock()
	return q.leading
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
