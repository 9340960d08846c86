package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/prometheus/client_golang/prometheus"
)

// Reconciling after a start catches up with what a stopped service
// missed, and nothing else: GitHub never redelivers a failed delivery on
// its own, and a check run the process left in progress stays so forever.
const (
	// reconcileWindow is how far back failed deliveries are looked for:
	// older events are likely to have been overtaken by newer ones.
	reconcileWindow = 24 * time.Hour
	// reconcileMaxDeliveries bounds the delivery log read, so that a
	// service down for long does not replay a flood.
	reconcileMaxDeliveries = 300
	// reconcileMaxPulls bounds the open pull requests read per repository
	// (the most recently updated ones: those a restart could have hit).
	reconcileMaxPulls = 100
	// reconcileBudgetShare is the share of an installation's rate limit
	// reconciling leaves untouched, for the jobs of live deliveries.
	reconcileBudgetShare = 5
)

var errReconcileRunning = errors.New("a reconcile is already running")

// reconciler holds the state of reconciling, for one server.
type reconciler struct {
	off     atomic.Bool
	running atomic.Bool
	// passes counts finished reconciles, for tests to wait on.
	passes atomic.Int64

	redeliveries prometheus.Counter
	reruns       prometheus.Counter
	stickies     prometheus.Counter
	// fallbacks counts jobs that may revoke and could not finish, by what
	// was done instead.
	fallbacks *prometheus.CounterVec

	// pending holds the reconciles of a box scheduled after a revocation
	// could not be recorded, one per pull request key.
	mu      sync.Mutex
	pending map[string]*Job
}

func newReconciler(reg *prometheus.Registry) *reconciler {
	r := &reconciler{
		redeliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "migration_guard_reconcile_redeliveries_total",
			Help: "Failed webhook deliveries whose redelivery reconciling asked GitHub for.",
		}),
		reruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "migration_guard_reconcile_jobs_total",
			Help: "Pull request jobs queued by reconciling, for check runs left queued or in progress.",
		}),
	}
	r.stickies = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "migration_guard_reconcile_stickies_total",
		Help: "Sticky comments whose approval box disagreed with the ledger, queued by reconciling.",
	})
	r.fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "migration_guard_revocation_fallbacks_total",
		Help: "Jobs that may revoke an approval and could not finish: revocation recorded without them, nothing to revoke, or a reconcile of the box scheduled.",
	}, []string{"result"})
	reg.MustRegister(r.redeliveries, r.reruns, r.stickies, r.fallbacks)
	return r
}

// SetReconcileOnStart turns reconciling after the start on (the default)
// or off. Call it before Serve or Run.
func (s *Server) SetReconcileOnStart(on bool) { s.reconcile.off.Store(!on) }

// ReconcileResult counts what one reconcile did.
type ReconcileResult struct {
	DeliveriesRead int
	Redelivered    int
	PullsRead      int
	JobsQueued     int
	// StickiesQueued counts the sticky comments whose box disagreed with
	// the ledger, queued to be reconciled.
	StickiesQueued int
	started        time.Time
}

// startReconcile runs Reconcile in the background and returns a channel
// closed when it ended, so that shutdown can wait for it.
func (s *Server) startReconcile(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if s.p.appless || s.reconcile.off.Load() {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		if _, err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reconcile did not finish", "error", s.scrub(err.Error()))
		}
	}()
	return done
}

// Reconcile brings GitHub up to date with what a stopped service missed:
// it asks GitHub to redeliver the App's recent failed deliveries, queues a
// job for every open pull request whose check run by this App is still
// queued or in progress, and one for every open pull request whose sticky
// comment's box disagrees with the ledger of its head (an accepted tick or
// untick whose job was lost). Only one runs at a time.
func (s *Server) Reconcile(ctx context.Context) (ReconcileResult, error) {
	var res ReconcileResult
	if !s.reconcile.running.CompareAndSwap(false, true) {
		return res, errReconcileRunning
	}
	defer s.reconcile.running.Store(false)
	defer s.reconcile.passes.Add(1)
	start := time.Now()
	res.started = start
	s.log.Info("reconcile started")
	derr := s.redeliverFailed(ctx, &res)
	if derr != nil && ctx.Err() != nil {
		return res, derr
	}
	perr := s.rerunStuck(ctx, &res)
	s.log.Info("reconcile done", "deliveries_read", res.DeliveriesRead, "redelivered", res.Redelivered,
		"pull_requests_read", res.PullsRead, "jobs_queued", res.JobsQueued, "stickies_queued", res.StickiesQueued, "duration_ms", time.Since(start).Milliseconds())
	return res, errors.Join(derr, perr)
}

// redeliverable says whether a delivery's event and action would give a
// job: redelivering anything else only fills the log.
func redeliverable(event, action string) bool {
	switch event {
	case "pull_request":
		switch action {
		case "opened", "synchronize", "reopened", "ready_for_review", "edited", "closed":
			return true
		}
	case "check_run", "check_suite":
		return action == "rerequested"
	case "merge_group":
		return action == "checks_requested"
	case "issue_comment":
		return action == "edited"
	}
	return false
}

func deliveryOK(d *github.HookDelivery) bool {
	code := d.GetStatusCode()
	return code >= 200 && code < 300 && strings.EqualFold(d.GetStatus(), "OK")
}

// redeliverFailed reads the delivery log newest first. A GUID is
// redelivered once, through its latest attempt, and only when none of its
// attempts in the window succeeded: one that did was handled, and handling
// is idempotent but not free.
func (s *Server) redeliverFailed(ctx context.Context, res *ReconcileResult) error {
	gh := s.clients.App()
	since := time.Now().Add(-reconcileWindow)
	type guidState struct {
		latest int64
		ok     bool
	}
	guids := map[string]*guidState{}
	var order []string
	opts := &github.ListCursorOptions{PerPage: 100}
read:
	for {
		page, resp, err := gh.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			return fmt.Errorf("listing the App's webhook deliveries: %w", err)
		}
		for _, d := range page {
			if res.DeliveriesRead >= reconcileMaxDeliveries || (d.DeliveredAt != nil && d.DeliveredAt.Before(since)) {
				break read
			}
			res.DeliveriesRead++
			if !redeliverable(d.GetEvent(), d.GetAction()) || d.GetGUID() == "" {
				continue
			}
			g := guids[d.GetGUID()]
			if g == nil {
				g = &guidState{latest: d.GetID()}
				guids[d.GetGUID()] = g
				order = append(order, d.GetGUID())
			}
			g.ok = g.ok || deliveryOK(d)
		}
		if resp.Cursor == "" || len(page) == 0 {
			break
		}
		opts.Cursor = resp.Cursor
	}
	// Oldest first, so that the events of one pull request arrive in
	// their order.
	for i := len(order) - 1; i >= 0; i-- {
		g := guids[order[i]]
		if g.ok {
			continue
		}
		_, _, err := gh.Apps.RedeliverHookDelivery(ctx, g.latest)
		var accepted *github.AcceptedError
		if err != nil && !errors.As(err, &accepted) {
			return fmt.Errorf("asking GitHub to redeliver delivery %d: %w", g.latest, err)
		}
		res.Redelivered++
		s.reconcile.redeliveries.Inc()
	}
	return nil
}

// lowBudget says whether a response shows less of the rate limit left
// than reconciling may use.
func lowBudget(resp *github.Response) bool {
	return resp != nil && resp.Rate.Limit > 0 && resp.Rate.Remaining < resp.Rate.Limit/reconcileBudgetShare
}

// rerunStuck queues a job for every open pull request whose head has a
// check run of this App not completed: the process that owned it died.
// The job takes the run over (see startCheckRun).
func (s *Server) rerunStuck(ctx context.Context, res *ReconcileResult) error {
	app := s.clients.App()
	var errs []error
	lo := &github.ListOptions{PerPage: 100}
	for {
		insts, resp, err := app.Apps.ListInstallations(ctx, lo)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("listing the App's installations: %w", err))...)
		}
		for _, inst := range insts {
			if inst.SuspendedAt != nil {
				continue
			}
			if err := s.rerunInstallation(ctx, inst.GetID(), res); err != nil {
				if ctx.Err() != nil || errors.Is(err, errQueueClosed) || errors.Is(err, errQueueFull) {
					return err
				}
				errs = append(errs, err)
			}
		}
		if resp.NextPage == 0 {
			return errors.Join(errs...)
		}
		lo.Page = resp.NextPage
	}
}

func (s *Server) rerunInstallation(ctx context.Context, id int64, res *ReconcileResult) error {
	gh := s.clients.Installation(id).gh
	lo := &github.ListOptions{PerPage: 100}
	for {
		repos, resp, err := gh.Apps.ListRepos(ctx, lo)
		if err != nil {
			return fmt.Errorf("listing the repositories of installation %d: %w", id, err)
		}
		if lowBudget(resp) {
			s.log.Warn("reconcile stopped early for an installation: its rate limit is low", "installation", id, "remaining", resp.Rate.Remaining)
			return nil
		}
		for _, repo := range repos.Repositories {
			if repo.GetArchived() {
				continue
			}
			low, err := s.rerunRepo(ctx, id, repo.GetOwner().GetLogin(), repo.GetName(), gh, res)
			if err != nil {
				return err
			}
			if low {
				s.log.Warn("reconcile stopped early for an installation: its rate limit is low", "installation", id)
				return nil
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		lo.Page = resp.NextPage
	}
}

// rerunRepo reports whether the rate limit ran low.
func (s *Server) rerunRepo(ctx context.Context, inst int64, owner, name string, gh *github.Client, res *ReconcileResult) (bool, error) {
	since := res.started
	pulls, resp, err := gh.PullRequests.List(ctx, owner, name, &github.PullRequestListOptions{
		State: "open", Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: reconcileMaxPulls},
	})
	if err != nil {
		return false, fmt.Errorf("listing the open pull requests of %s/%s: %w", owner, name, err)
	}
	if lowBudget(resp) {
		return true, nil
	}
	appID := s.p.AppID
	for _, pr := range pulls {
		res.PullsRead++
		head := pr.GetHead().GetSHA()
		if head == "" {
			continue
		}
		runs, resp, err := listAppRuns(ctx, gh, appID, owner, name, head)
		if err != nil {
			return false, fmt.Errorf("reading the check runs of %s/%s#%d: %w", owner, name, pr.GetNumber(), err)
		}
		// This pull request's run: its head may be the head of others,
		// each with its own run and ledger there.
		latest := pullRequestRun(runs, pr.GetNumber())
		stuck := latest != nil && (latest.GetStatus() == "queued" || latest.GetStatus() == "in_progress")
		if !stuck {
			reconcile, err := s.stickyToReconcile(ctx, gh, owner, name, pr, latest, since)
			if err != nil {
				return false, err
			}
			if reconcile {
				j := &Job{
					Key: prKey(inst, owner, name, pr.GetNumber()), Kind: KindSticky, InstallationID: inst,
					Owner: owner, Repo: name, Number: pr.GetNumber(), HeadSHA: head,
					Event: "reconcile", Enqueued: since,
				}
				if err := s.queue.Enqueue(j); err != nil {
					return false, fmt.Errorf("queueing %s/%s#%d: %w", owner, name, pr.GetNumber(), err)
				}
				res.StickiesQueued++
				s.reconcile.stickies.Inc()
			}
		}
		if stuck {
			j := &Job{
				Key: prKey(inst, owner, name, pr.GetNumber()), Kind: KindPullRequest, InstallationID: inst,
				Owner: owner, Repo: name, Number: pr.GetNumber(), HeadSHA: head,
				Event: "reconcile", Enqueued: time.Now(),
			}
			if err := s.queue.Enqueue(j); err != nil {
				return false, fmt.Errorf("queueing %s/%s#%d: %w", owner, name, pr.GetNumber(), err)
			}
			res.JobsQueued++
			s.reconcile.reruns.Inc()
		}
		if lowBudget(resp) {
			return true, nil
		}
	}
	return false, nil
}
