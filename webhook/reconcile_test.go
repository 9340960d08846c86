package webhook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

const addColumn = "ALTER TABLE users ADD COLUMN nickname text;\n"

// serve runs the server as the command does, until the test ends or the
// returned stop is called (which waits for Serve to return).
func (e *env) serve() (stop func()) {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			e.t.Fatal("Serve did not return 20s after its context ended")
		}
	}
	e.t.Cleanup(stop)
	return stop
}

// failDelivery sends d while the service is unreachable, as GitHub would
// during a restart, so that the fake's delivery log shows it failed.
func (e *env) failDelivery(d *githubfake.Delivery) {
	e.t.Helper()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()
	e.f.SetWebhookURL(down.URL)
	defer e.f.SetWebhookURL(e.ts.URL + "/webhook")
	e.deliver(d, http.StatusBadGateway)
}

// waitReconciled waits for the background reconcile to finish once and
// for what it asked of GitHub to be done.
func (e *env) waitReconciled() {
	e.t.Helper()
	e.waitFor("the reconcile", func() bool { return e.srv.reconcile.passes.Load() > 0 })
	e.f.Wait()
	e.wait()
}

func (e *env) wantMetric(line string) {
	e.t.Helper()
	resp, err := http.Get(e.ts.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "\n"+line+"\n") {
		e.t.Errorf("metrics lack %s", line)
	}
}

func attemptsOf(f *githubfake.Fake, guid string) []githubfake.Delivery {
	var out []githubfake.Delivery
	for _, d := range f.Deliveries() {
		if d.GUID == guid {
			out = append(out, d)
		}
	}
	return out
}

func TestReconcileRedeliversFailedDeliveries(t *testing.T) {
	e := newEnv(t, nil)
	missed, missedD := e.openPR("missed", map[string]string{"db/migrations/002_nick.sql": addColumn})
	e.failDelivery(missedD)
	handled, handledD := e.openPR("handled", map[string]string{"db/migrations/003_nick.sql": addColumn})
	e.deliver(handledD, http.StatusAccepted)
	e.wait()
	// An event the App does not act on is not worth a redelivery.
	e.failDelivery(e.f.InstallationEvent(e.inst, "new_permissions_accepted", e.author))
	if runs := e.ourRuns(missed.HeadSHA); len(runs) != 0 {
		t.Fatalf("the missed delivery left %d check runs", len(runs))
	}

	e.serve()
	e.waitReconciled()

	if run := e.onlyRun(missed.HeadSHA); run.Status != "completed" {
		t.Errorf("check run of the redelivered pull request is %s, want completed", run.Status)
	}
	attempts := attemptsOf(e.f, missedD.GUID)
	if len(attempts) != 2 || !attempts[1].Redelivery || attempts[1].StatusCode != http.StatusAccepted {
		t.Errorf("attempts of the failed delivery: %+v, want the failure and one accepted redelivery", attempts)
	}
	if n := len(attemptsOf(e.f, handledD.GUID)); n != 1 {
		t.Errorf("the successful delivery was sent %d times, want 1", n)
	}
	e.onlyRun(handled.HeadSHA)
	if n := writes(e.f.Mutations())["apps/redeliver-webhook-delivery"]; n != 1 {
		t.Errorf("%d redeliveries asked, want 1", n)
	}
	e.wantMetric("migration_guard_reconcile_redeliveries_total 1")
	for _, leak := range []string{e.f.WebhookSecret(), "ALTER TABLE"} {
		if strings.Contains(e.logs.String(), leak) {
			t.Errorf("the logs contain %q", leak)
		}
	}
}

// startStuckRun leaves a check run in progress on the pull request's
// head, written as the App, as a process that died mid-job would.
func (e *env) startStuckRun(sha string) int64 {
	e.t.Helper()
	gh := e.srv.clients.Installation(e.inst.ID).gh
	run, _, err := gh.Checks.CreateCheckRun(context.Background(), "acme", "billing", github.CreateCheckRunOptions{
		Name: checklist.CheckRunName, HeadSHA: sha, Status: github.String("in_progress"),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return run.GetID()
}

func TestReconcileCompletesChecksLeftInProgress(t *testing.T) {
	e := newEnv(t, nil)
	stuck, _ := e.openPR("stuck", map[string]string{"db/migrations/002_nick.sql": addColumn})
	id := e.startStuckRun(stuck.HeadSHA)
	done, doneD := e.openPR("done", map[string]string{"db/migrations/003_nick.sql": addColumn})
	e.deliver(doneD, http.StatusAccepted)
	e.wait()
	before := e.onlyRun(done.HeadSHA)

	e.serve()
	e.waitReconciled()

	run := e.onlyRun(stuck.HeadSHA)
	if run.ID != id || run.Status != "completed" || run.Conclusion == "" {
		t.Errorf("stuck check run: id %d (want %d), %s/%s, want it completed", run.ID, id, run.Status, run.Conclusion)
	}
	if after := e.onlyRun(done.HeadSHA); after.ID != before.ID || after.CompletedAt == nil || !after.CompletedAt.Equal(*before.CompletedAt) {
		t.Errorf("the completed check run was touched")
	}
	e.wantMetric("migration_guard_reconcile_jobs_total 1")
	if !strings.Contains(e.logs.String(), `"jobs_queued":1`) {
		t.Errorf("the log does not count the queued job; logs:\n%s", e.logs.String())
	}
}

func TestReconcileOff(t *testing.T) {
	e := newEnv(t, nil)
	stuck, _ := e.openPR("stuck", map[string]string{"db/migrations/002_nick.sql": addColumn})
	e.startStuckRun(stuck.HeadSHA)
	_, missedD := e.openPR("missed", map[string]string{"db/migrations/003_nick.sql": addColumn})
	e.failDelivery(missedD)
	calls := len(e.f.Mutations())

	e.srv.SetReconcileOnStart(false)
	stop := e.serve()
	time.Sleep(300 * time.Millisecond)
	stop()

	if n := e.srv.reconcile.passes.Load(); n != 0 {
		t.Errorf("%d reconciles ran", n)
	}
	if ms := e.f.Mutations()[calls:]; len(ms) != 0 {
		t.Errorf("writes with reconciling off: %v", writes(ms))
	}
	if run := e.onlyRun(stuck.HeadSHA); run.Status != "in_progress" {
		t.Errorf("stuck check run is %s, want it left in_progress", run.Status)
	}
	if n := len(attemptsOf(e.f, missedD.GUID)); n != 1 {
		t.Errorf("the failed delivery was sent %d times, want 1", n)
	}
}

func TestReconcileRunsOneAtATime(t *testing.T) {
	e := newEnv(t, nil)
	stuck, _ := e.openPR("stuck", map[string]string{"db/migrations/002_nick.sql": addColumn})
	e.startStuckRun(stuck.HeadSHA)
	calls := len(e.f.Mutations())

	e.srv.reconcile.running.Store(true)
	if _, err := e.srv.Reconcile(context.Background()); !errors.Is(err, errReconcileRunning) {
		t.Fatalf("Reconcile during another: %v, want errReconcileRunning", err)
	}
	if ms := e.f.Mutations()[calls:]; len(ms) != 0 || !e.srv.queue.idle() {
		t.Errorf("a refused reconcile did something: %v", writes(ms))
	}
	e.srv.reconcile.running.Store(false)

	// Many at once: exactly one does the work.
	results := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := e.srv.Reconcile(context.Background())
			results <- err
		}()
	}
	ran := 0
	for range 8 {
		err := <-results
		switch {
		case err == nil:
			ran++
		case !errors.Is(err, errReconcileRunning):
			t.Errorf("Reconcile: %v", err)
		}
	}
	e.wait()
	if ran < 1 {
		t.Fatal("no reconcile ran")
	}
	if run := e.onlyRun(stuck.HeadSHA); run.Status != "completed" {
		t.Errorf("stuck check run is %s, want completed", run.Status)
	}
}

func TestReconcileStopsOnShutdown(t *testing.T) {
	e := newEnv(t, nil)
	for _, b := range []string{"a", "b", "c"} {
		pr, _ := e.openPR(b, map[string]string{"db/migrations/002_" + b + ".sql": addColumn})
		e.startStuckRun(pr.HeadSHA)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := e.srv.Reconcile(ctx)
	if !errors.Is(err, context.Canceled) || res.Redelivered != 0 || res.JobsQueued != 0 {
		t.Errorf("Reconcile after its context ended: %+v, %v; want nothing done and context.Canceled", res, err)
	}

	// A slow GitHub keeps the reconcile in its listing when the shutdown
	// comes: Serve must not wait for the answer.
	e.f.FailNext("apps/list-installations", githubfake.Slow(15*time.Second), 1)
	stop := e.serve()
	e.waitFor("the reconcile to start", func() bool { return e.srv.reconcile.running.Load() })
	time.Sleep(100 * time.Millisecond)
	began := time.Now()
	stop()
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Serve took %s to return while reconciling", took)
	}
	if e.srv.reconcile.running.Load() {
		t.Error("a reconcile still runs after Serve returned")
	}
	calls := len(e.f.Mutations())
	time.Sleep(200 * time.Millisecond)
	if ms := e.f.Mutations()[calls:]; len(ms) != 0 {
		t.Errorf("writes after Serve returned: %v", writes(ms))
	}
	if got := e.srv.reconcile.passes.Load(); got != 2 {
		t.Errorf("%d reconciles ended, want 2", got)
	}
}

// TestReconcileStickyBoxes: on start, the sticky comments of open pull
// requests are reconciled with their heads' ledgers. The box is input,
// never authority: unticked under an approval (an untick whose delivery
// was accepted and lost), the approval is revoked; ticked without one
// (a lost tick), it is rendered back unticked saying so, and approves
// nothing; ticked so recently that its delivery may be on its way, it is
// left to that delivery. Boxes that agree are not touched.
func TestReconcileStickyBoxes(t *testing.T) {
	a := newApprovalEnv(t, "")
	// lost edits the comment and never delivers the edit; old edits were
	// made longer ago than the wait for deliveries in flight.
	lost := func(pr *githubfake.PullRequest, user *githubfake.User, ticked, old bool) {
		t.Helper()
		id := a.sticky(pr).ID
		if _, err := a.f.EditComment(user, id, setBox(t, a.sticky(pr).Body, ticked)); err != nil {
			t.Fatal(err)
		}
		if old {
			a.f.AgeComment(id, 2*recentEdit)
		}
	}
	open := func(branch, file string) *githubfake.PullRequest {
		t.Helper()
		pr, d := a.openPR(branch, map[string]string{file: dropLegacy})
		a.deliver(d, http.StatusAccepted)
		a.wait()
		return pr
	}
	untick := a.pr
	a.tick(untick, a.carol, true)
	a.expect(untick, untick.HeadSHA, "success", true)
	lost(untick, a.author, false, false)

	tick := open("tick", "db/migrations/003_drop.sql")
	lost(tick, a.carol, true, true)

	kept := open("kept", "db/migrations/004_drop.sql")
	a.tick(kept, a.carol, true)
	a.expect(kept, kept.HeadSHA, "success", true)
	keptRun := a.onlyRun(kept.HeadSHA)

	recent := open("recent", "db/migrations/005_drop.sql")
	lost(recent, a.carol, true, false)
	recentBody := a.sticky(recent).Body

	a.serve()
	a.waitReconciled()

	run := a.expect(untick, untick.HeadSHA, "action_required", false)
	l, _ := checklist.ParseLedger(run.Output.Text, untick.HeadSHA)
	if last := l.Records[len(l.Records)-1]; last.Kind != checklist.RecordRevocation || last.Login != "" {
		t.Errorf("untick: ledger %+v", l.Records)
	}
	a.expect(tick, tick.HeadSHA, "action_required", false)
	if body := a.sticky(tick).Body; !strings.Contains(body, "A tick the App did not record was undone") {
		t.Errorf("tick: the comment does not say why it was unticked:\n%s", body)
	}
	if after := a.onlyRun(kept.HeadSHA); after.Conclusion != "success" || after.Output.Text != keptRun.Output.Text {
		t.Errorf("an approval that the box agrees with was touched: %s", after.Conclusion)
	}
	if a.sticky(recent).Body != recentBody || a.onlyRun(recent.HeadSHA).Conclusion != "action_required" {
		t.Errorf("a recent tick was not left to its delivery, or approved")
	}
	a.wantMetric("migration_guard_reconcile_stickies_total 2")
}
