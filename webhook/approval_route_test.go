package webhook

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// TestCommentRouting: only edits of the App's summary comment become
// approval jobs; the App's own unticked writes, other comments and other
// actions are answered as ignored without a GitHub request.
func TestCommentRouting(t *testing.T) {
	a := newApprovalEnv(t, "")
	requests := len(a.f.Requests())
	c := a.sticky(a.pr)
	own, err := a.f.EditComment(a.f.App().Bot, c.ID, c.Body+"\n")
	if err != nil {
		t.Fatal(err)
	}
	mine, created := a.f.Comment(a.carol, a.pr, "LGTM <!-- migration-guard:sticky -->")
	quoting, err := a.f.EditComment(a.carol, mine.ID, "<!-- migration-guard:sticky -->\n- [x] **Destructive changes approved**")
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := a.f.IssueCommentEvent(c.ID, "deleted", a.carol, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		d    *githubfake.Delivery
		want string
	}{
		{"the App's own unticked write", own, "the App's own edit"},
		{"a person's comment quoting the marker", quoting, "not the App's comment"},
		{"a new comment", created, "issue_comment action created"},
		{"a deleted sticky", deleted, "issue_comment action deleted"},
	} {
		code, err := a.f.Deliver(tt.d)
		if err != nil || code != http.StatusAccepted || !strings.Contains(tt.d.ResponseBody, "ignored: "+tt.want) {
			t.Errorf("%s: %d %q %v", tt.name, code, tt.d.ResponseBody, err)
		}
	}
	a.wait()
	if n := len(a.f.Requests()); n != requests {
		t.Errorf("%d GitHub requests for ignored comment events", n-requests)
	}
}

// TestQueueKeepsApprovalJobs: a pull request's waiting jobs run in
// arrival order; a newer push replaces the waiting push where it stands,
// and approval jobs are never replaced nor replace anything.
func TestQueueKeepsApprovalJobs(t *testing.T) {
	var mu sync.Mutex
	var ran []string
	var push *Job
	release := make(chan struct{})
	q := newQueue(1, 10, 10, func(ctx context.Context, j *Job, headOf func(string)) string {
		if j.Event == "block" {
			<-release
		}
		mu.Lock()
		ran = append(ran, j.Event)
		if j.Kind == KindPullRequest {
			push = j
		}
		mu.Unlock()
		return "ok"
	})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.Shutdown(ctx)
	}()
	enqueue := func(kind JobKind, event, before string) {
		t.Helper()
		if err := q.Enqueue(&Job{Key: "pr", Kind: kind, Event: event, Before: before, HeadSHA: event, Deliveries: []string{event}}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(KindApproval, "block", "")
	for q.Len() != 0 {
		time.Sleep(time.Millisecond)
	}
	enqueue(KindPullRequest, "push1", "h0")
	enqueue(KindApproval, "tick1", "")
	enqueue(KindPullRequest, "push2", "h1")
	enqueue(KindApproval, "tick2", "")
	if n := q.Len(); n != 3 {
		t.Errorf("%d waiting, want push2 (replacing push1), tick1, tick2", n)
	}
	close(release)
	for !q.idle() {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(ran, ","); got != "block,push2,tick1,tick2" {
		t.Errorf("ran %s", got)
	}
	// The replaced push's starting point is kept: its head was never
	// checked, so its ledger is where an approval is carried from.
	if push.Before != "h0" || strings.Join(push.Deliveries, ",") != "push1,push2" {
		t.Errorf("push job: before %q, deliveries %v", push.Before, push.Deliveries)
	}
}
