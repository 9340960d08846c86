package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockedQueue is a queue with one worker held by a first job until
// release is closed, so that what is enqueued meanwhile waits; ran lists
// the jobs that ran after it, in order.
type blockedQueue struct {
	q       *queue
	release chan struct{}
	mu      sync.Mutex
	ran     []*Job
}

func newBlockedQueue(t *testing.T, capacity, perInstallation int) *blockedQueue {
	t.Helper()
	b := &blockedQueue{release: make(chan struct{})}
	b.q = newQueue(1, capacity, perInstallation, func(ctx context.Context, j *Job, headOf func(string)) string {
		if j.Event == "block" {
			<-b.release
			return "ok"
		}
		b.mu.Lock()
		b.ran = append(b.ran, j)
		b.mu.Unlock()
		return "ok"
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.q.Shutdown(ctx)
	})
	if err := b.q.Enqueue(&Job{Key: "blocker", InstallationID: 999, Event: "block"}); err != nil {
		t.Fatal(err)
	}
	for b.q.Len() != 0 {
		time.Sleep(time.Millisecond)
	}
	return b
}

func (b *blockedQueue) finish(t *testing.T) []*Job {
	t.Helper()
	close(b.release)
	for !b.q.idle() {
		time.Sleep(time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ran
}

// stickyBodies renders a real sticky comment that needs approval, unticked
// and ticked.
func stickyBodies(t *testing.T) (unticked, ticked string) {
	t.Helper()
	e := newEnv(t, nil)
	pr, d := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": "ALTER TABLE users DROP COLUMN legacy;\n"})
	e.deliver(d, http.StatusAccepted)
	e.wait()
	unticked = e.sticky(pr).Body
	return unticked, setBox(t, unticked, true)
}

// TestQueueCoalescesEdits: queued edits of one comment fold into the
// newest, which carries every delivery; the newest queued untick and tick
// are kept ahead of a newer edit of another kind, so that no accepted
// revocation (nor approval) is lost; other comments' edits and pull
// request jobs are untouched.
func TestQueueCoalescesEdits(t *testing.T) {
	unticked, ticked := stickyBodies(t)
	edits := map[string]*CommentEdit{
		"tick":   {Old: unticked, New: ticked},
		"untick": {Old: ticked, New: unticked},
		"other":  {Old: unticked, New: unticked + "\nsomething else"},
	}
	tests := []struct {
		name string
		in   []string // kind:comment, or "push"
		want []string // the jobs that ran
	}{
		{"sixty edits of one comment run once", slices.Repeat([]string{"other:1"}, 60), []string{"other:1#60"}},
		{"sixty mixed edits run at most three times", slices.Repeat([]string{"tick:1", "other:1", "untick:1"}, 20), []string{"tick:1#20", "untick:1#40"}},
		{"untick then tick keeps the untick", []string{"tick:1", "untick:1", "tick:1"}, []string{"untick:1#1", "tick:1#2"}},
		{"a tick stays ahead of a newer untick", []string{"tick:1", "tick:1", "untick:1"}, []string{"tick:1#2", "untick:1#1"}},
		{"a tick stays ahead of a newer text edit", []string{"tick:1", "other:1", "other:1"}, []string{"tick:1#1", "other:1#2"}},
		{"the newest untick is kept", []string{"untick:1", "other:1", "untick:1", "other:1", "tick:1"}, []string{"untick:1#3", "tick:1#2"}},
		{"other comments apart", []string{"untick:1", "other:2", "other:1", "other:2"}, []string{"untick:1#1", "other:1#1", "other:2#2"}},
		{"pushes stay", []string{"tick:1", "push", "tick:1"}, []string{"push#1", "tick:1#2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlockedQueue(t, 100, 100)
			var sent []string
			for i, in := range tt.in {
				d := fmt.Sprintf("d%d", i)
				sent = append(sent, d)
				j := &Job{Key: "pr", InstallationID: 1, Kind: KindPullRequest, Event: "push", Deliveries: []string{d}}
				if kind, comment, ok := strings.Cut(in, ":"); ok {
					ed := *edits[kind]
					fmt.Sscan(comment, &ed.CommentID)
					j.Kind, j.Event, j.Edit = KindApproval, in, &ed
				}
				if err := b.q.Enqueue(j); err != nil {
					t.Fatal(err)
				}
			}
			var got, delivered []string
			for _, j := range b.finish(t) {
				got = append(got, fmt.Sprintf("%s#%d", j.Event, len(j.Deliveries)))
				delivered = append(delivered, j.Deliveries...)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ran %v, want %v", got, tt.want)
			}
			slices.Sort(delivered)
			slices.Sort(sent)
			if !slices.Equal(delivered, sent) {
				t.Errorf("deliveries answered %v, sent %v: every accepted delivery belongs to a job that ran", delivered, sent)
			}
		})
	}
}

// TestQueueServesInstallationsInTurn: a burst of one installation does
// not starve another: workers take the installations round robin, and a
// full installation is refused alone.
func TestQueueServesInstallationsInTurn(t *testing.T) {
	b := newBlockedQueue(t, 100, 5)
	enqueue := func(inst int64, n int) error {
		return b.q.Enqueue(&Job{Key: fmt.Sprintf("%d/pr%d", inst, n), InstallationID: inst, Kind: KindPullRequest, Event: fmt.Sprintf("%d:%d", inst, n)})
	}
	for n := range 5 {
		if err := enqueue(1, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := enqueue(1, 5); !errors.Is(err, errInstallationQueueFull) {
		t.Fatalf("sixth job of installation 1: %v, want %v", err, errInstallationQueueFull)
	}
	for n := range 2 {
		if err := enqueue(2, n); err != nil {
			t.Fatalf("installation 2 refused while installation 1 is full: %v", err)
		}
	}
	var got []string
	for _, j := range b.finish(t) {
		got = append(got, j.Event)
	}
	want := []string{"1:0", "2:0", "1:1", "2:1", "1:2", "1:3", "1:4"}
	if !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v", got, want)
	}
}

// TestQueueCapacityOverall: the overall bound holds across installations.
func TestQueueCapacityOverall(t *testing.T) {
	b := newBlockedQueue(t, 3, 2)
	var errs []error
	for i, inst := range []int64{1, 1, 2, 2} {
		errs = append(errs, b.q.Enqueue(&Job{Key: fmt.Sprint(i), InstallationID: inst, Kind: KindPullRequest}))
	}
	if errs[0] != nil || errs[1] != nil || errs[2] != nil || !errors.Is(errs[3], errQueueFull) {
		t.Errorf("enqueue errors %v, want nil, nil, nil, %v", errs, errQueueFull)
	}
	b.finish(t)
}
