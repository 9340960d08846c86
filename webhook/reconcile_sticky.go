package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/checklist"
)

// recentEdit is how close to a reconcile's start a comment edit counts as
// one whose delivery may still be on its way: a ticked box that recent is
// left to its own approval job rather than rendered back. (Only that
// direction waits: a ticked box approves nothing, so the check is red
// meanwhile. An unticked box under an approval is revoked at once.)
const recentEdit = 2 * time.Minute

// stickyToReconcile says whether the pull request's sticky comment and
// the ledger of its head disagree in a way only reconciling can settle:
// the pull request's newest check run on the head (latest, as listed)
// holds a ledger that needs approval, and the comment's box says
// otherwise.
func (s *Server) stickyToReconcile(ctx context.Context, gh *github.Client, owner, name string, pr *github.PullRequest, latest *github.CheckRun, since time.Time) (bool, error) {
	if latest == nil || latest.GetStatus() != "completed" {
		return false, nil
	}
	head := pr.GetHead().GetSHA()
	l, ok := checklist.ParseLedger(latest.GetOutput().GetText(), head)
	if !ok || l.PR != pr.GetNumber() || !l.NeedsApproval() {
		return false, nil
	}
	id, err := s.appIdentity(ctx)
	if err != nil {
		return false, err
	}
	c, err := firstSticky(ctx, gh, owner, name, pr.GetNumber(), id)
	if err != nil || c == nil {
		return false, err
	}
	return reconcileWanted(c, l, since), nil
}

// reconcileWanted applies checklist.ReconcileBox, with the wait for a
// recent tick.
func reconcileWanted(c *github.IssueComment, l *checklist.Ledger, since time.Time) bool {
	d, act := checklist.ReconcileBox(c.GetBody(), l, time.Now())
	if !act {
		return false
	}
	if d.Outcome == outcomeRestored && c.GetUpdatedAt().After(since.Add(-recentEdit)) {
		return false
	}
	return true
}

// firstSticky is the App's sticky comment on the pull request (the oldest
// if several), nil when there is none.
func firstSticky(ctx context.Context, gh *github.Client, owner, name string, number int, id appIdentity) (*github.IssueComment, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := gh.Issues.ListComments(ctx, owner, name, number, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the comments of %s/%s#%d: %w", owner, name, number, err)
		}
		for _, c := range page {
			if strings.EqualFold(c.GetUser().GetLogin(), id.BotLogin) && checklist.IsStickyComment(c.GetBody()) {
				return c, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// runSticky reconciles the sticky comment's box with the head's ledger
// (checklist.ReconcileBox), reading both again now: an unticked box under
// an approval revokes it, a ticked box without one is rendered back. A
// head without a ledger of its current inputs is checked instead, which
// applies the same rule to the approval it carries.
func (r *jobRun) runSticky(ctx context.Context) (string, error) {
	pr, err := r.openPullRequest(ctx)
	if err != nil || pr == nil {
		return outcomeSkipped, err
	}
	latest, state, ledger, err := r.headRun(ctx)
	if err != nil {
		return "", err
	}
	if state != checklist.HeadLedger {
		return r.checkHead(ctx, pr, r.pendingUntick(pr))
	}
	r.checkRunID, r.checkDone = latest.GetID(), true
	mine, err := r.stickyComments(ctx)
	if err != nil || len(mine) == 0 {
		return outcomeUnchanged, err
	}
	// An untick whose job could not finish is recorded as such, whatever
	// the box shows by now: a tick since then does not undo it.
	d, act := checklist.Decision{}, false
	if r.j.Edit != nil {
		d, act = checklist.RevokeUnfinished(r.untickFacts(pr), ledger)
	}
	if !act {
		if !reconcileWanted(mine[0], ledger, r.j.Enqueued) {
			return outcomeUnchanged, nil
		}
		d, _ = checklist.ReconcileBox(mine[0].GetBody(), ledger, time.Now())
	}
	a, err := r.analyzeHead(ctx, pr)
	if err != nil {
		return "", err
	}
	if a.cfgErr != nil || a.rep == nil || checklist.NewLedger(r.j.Number, r.head, r.base, r.baseRef, a.rep).Fingerprint != ledger.Fingerprint {
		// The analysis changed since the check: check again; the check
		// applies the same rule to the box.
		r.j.Force = true
		r.checkRunID, r.checkDone = 0, false
		return r.checkHead(ctx, pr, r.pendingUntick(pr))
	}
	cc := a.texts(d.Ledger)
	conclusion := checklist.ApprovedConclusion(a.rep, d.Ledger)
	// The run's own verdict says whether this pull request's result
	// changed; what is written is the commit's conclusion, the strictest
	// over the pull requests whose head it is.
	if d.Ledger.Marker() != ledger.Marker() || ownConclusion(latest) != conclusion {
		details := ""
		if conclusion == "action_required" {
			details = mine[0].GetHTMLURL()
		}
		if _, err := r.writeVerdict(ctx, &verdictInput{atHead: true, conclusion: conclusion, out: checklist.CheckRunOutput(a.rep, cc), details: details}); err != nil {
			return "", err
		}
	}
	if _, err := r.putSticky(ctx, mine, checklist.StickyComment(a.rep, cc), false); err != nil {
		return "", err
	}
	r.log.Info("approval decision", "edit", d.Kind.String(), "decision", d.Outcome, "reason", d.Reason,
		"fingerprint", d.Ledger.Fingerprint, "approved", d.Ledger.Approved(), "comment", mine[0].GetID())
	return d.Outcome, nil
}

// pendingUntick is, for a reconcile scheduled after an untick's job could
// not finish, the amendment that records the untick in the ledger a check
// builds (checklist.RevokeUnfinished: it revokes the approval the head
// carries, unless that was given after the untick); nil for any other
// reconcile.
func (r *jobRun) pendingUntick(pr *github.PullRequest) func(*checklist.Ledger) {
	if r.j.Edit == nil {
		return nil
	}
	f := r.untickFacts(pr)
	return func(l *checklist.Ledger) {
		if d, ok := checklist.RevokeUnfinished(f, l); ok {
			*l = *d.Ledger
		}
	}
}

// untickFacts are the facts of the untick a job carries, at the time it
// was accepted.
func (r *jobRun) untickFacts(pr *github.PullRequest) checklist.EditFacts {
	f := r.editFacts(pr)
	f.Now = r.j.acceptedAt()
	return f
}

// acceptedAt is when the job's edit was accepted.
func (j *Job) acceptedAt() time.Time {
	if !j.Accepted.IsZero() {
		return j.Accepted
	}
	return j.Enqueued
}

// scheduleBoxReconcile queues, after a backoff, a reconcile of the box of
// j's pull request: j may carry a revocation that could not be recorded
// (GitHub failing). The reconcile carries j's untick, if it was one, so
// that the untick is recorded as such when GitHub answers again; if that
// job cannot finish either, it schedules the next one. One reconcile per
// pull request waits at a time; a service that stops forgets it, and the
// reconcile on start finds the unticked box instead.
func (s *Server) scheduleBoxReconcile(j *Job) {
	nj := &Job{
		Key: j.Key, Kind: KindSticky, InstallationID: j.InstallationID, Owner: j.Owner, Repo: j.Repo,
		Number: j.Number, Deliveries: j.Deliveries, Event: "revocation_retry", Attempt: j.Attempt + 1,
		Accepted: j.acceptedAt(),
	}
	if j.Edit != nil && editKindOf(j.Edit) == checklist.EditUntick {
		nj.Edit = j.Edit
	}
	s.reconcile.mu.Lock()
	if s.reconcile.pending == nil {
		s.reconcile.pending = map[string]*Job{}
	}
	if old := s.reconcile.pending[j.Key]; old != nil {
		if old.Edit == nil {
			old.Edit = nj.Edit
		}
		s.reconcile.mu.Unlock()
		return
	}
	s.reconcile.pending[j.Key] = nj
	s.reconcile.mu.Unlock()
	time.AfterFunc(revocationBackoff(s.p.Limits.RetryBaseDelay, nj.Attempt), func() {
		s.reconcile.mu.Lock()
		delete(s.reconcile.pending, j.Key)
		s.reconcile.mu.Unlock()
		nj.Enqueued = time.Now()
		switch err := s.queue.Enqueue(nj); {
		case errors.Is(err, errQueueClosed):
			s.log.Warn("a scheduled reconcile of a box was dropped: the service is stopping", "pull_request", j.Number, "repository", j.Owner+"/"+j.Repo)
		case err != nil:
			s.log.Warn("a scheduled reconcile of a box could not be queued; scheduled again", "pull_request", j.Number, "error", err.Error())
			s.scheduleBoxReconcile(nj)
		}
	})
}
