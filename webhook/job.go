package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/checklist"
)

// finalWriteTimeout bounds the write that closes a check run after its job
// failed. It gets a fresh context: the job's own may be what ended.
const finalWriteTimeout = 30 * time.Second

// jobRun is one job's state while it runs.
type jobRun struct {
	s      *Server
	j      *Job
	gh     *github.Client
	log    *slog.Logger
	headOf func(string)
	ident  appIdentity
	// values carries the job context's values (not its deadline) to the
	// writes made with a fresh one.
	values context.Context

	head, base string
	// baseRef is the pull request's base branch, whose configuration
	// approvals are given under.
	baseRef    string
	checkRunID int64
	// checkDone is set once the check run holds its final state.
	checkDone bool
	// priorFrom is the commit this head's ledger is carried from, as
	// GitHub named it; a check that ends without a ledger points there.
	priorFrom string
	// noPointer says a decision on this head went against the approval
	// it carried: nothing may point past it.
	noPointer bool
	// ownVerdict, once known, is the pull request's own conclusion, which
	// the run's external id records (its conclusion is the commit's).
	ownVerdict string
	// fork says the head branch is in another repository (or in one
	// GitHub no longer shows).
	fork bool
}

// Job outcomes, for logs and metrics.
const (
	outcomeSuccess        = "success"
	outcomeActionRequired = "action_required"
	outcomeNoMigrations   = "no_migrations"
	outcomeConfigError    = "config_error"
	outcomeUnchanged      = "unchanged"
	outcomeSkipped        = "skipped"
	outcomeFailure        = "failure"
	outcomeCancelled      = "cancelled"
	outcomeHeadMoved      = "head_moved"
	outcomeTimedOut       = "timed_out"
	outcomeOverLimit      = "over_limit"
)

// errHeadMoved ends a job whose pull request got a new head while it ran:
// the newer head's job, queued behind it, writes the pull request's state.
var errHeadMoved = errors.New("the pull request's head moved while checking")

func (s *Server) runJob(ctx context.Context, j *Job, headOf func(string)) string {
	start := time.Now()
	s.metrics.jobsRunning.Inc()
	defer s.metrics.jobsRunning.Dec()
	ctx, cancel := context.WithTimeout(ctx, s.p.JobTimeout)
	defer cancel()
	// go-github refuses requests on its own while it believes the primary
	// limit is spent; this makes it wait for the reset instead, within the
	// job's deadline.
	ctx = context.WithValue(ctx, github.SleepUntilPrimaryRateLimitResetWhenRateLimited, true)

	log := s.log.With("deliveries", j.Deliveries, "event", j.Event, "repository", j.Owner+"/"+j.Repo, "installation", j.InstallationID)
	if j.Number != 0 {
		log = log.With("pull_request", j.Number)
	}
	gh := s.clients.Installation(j.InstallationID).gh
	newRun := func() *jobRun {
		return &jobRun{s: s, j: j, gh: gh, log: log, headOf: headOf, values: context.WithoutCancel(ctx)}
	}
	r := newRun()
	outcome, err := r.run(ctx)
	if err != nil && errors.Is(context.Cause(ctx), errHandBack) {
		// The queue runs it again (here after a restart, or on another
		// replica), and that run takes over the check run left in
		// progress: nothing is closed or recorded now.
		outcome, err = outcomeHandedBack, nil
	}
	// rerun runs the job again from the start, after a doubling backoff,
	// while its error is one again accepts and its deadline allows, up to
	// attempts runs in all (counted from this call).
	rerun := func(attempts int, again func(error) bool, what string) {
		for attempt := 1; attempt < attempts && err != nil && again(err) && retryableJob(ctx, err); attempt++ {
			if !sleepCtx(ctx, revocationBackoff(s.p.Limits.RetryBaseDelay, attempt)) {
				break
			}
			log.Warn("running a job that "+what+" again", "attempt", attempt+1, "error", s.scrub(err.Error()))
			r = newRun()
			outcome, err = r.run(ctx)
		}
	}
	// A job whose code panicked (a defect, or a state it was not written
	// for) is run again a few times: a panic that came from a passing
	// state goes with it. One that stays ends below in a failed check,
	// never in progress.
	rerun(maxPanicAttempts, func(err error) bool { return errors.As(err, new(*jobPanicError)) }, "panicked")
	if err != nil && j.mayRevoke() {
		// A revocation that was accepted must take effect: the job is run
		// again while its deadline allows. It is idempotent: a decision
		// recorded by an earlier attempt is found in the ledger by its
		// delivery id.
		rerun(maxRevocationAttempts, func(error) bool { return true }, "may revoke an approval")
		if err != nil && !errors.Is(err, errHeadMoved) {
			r.failClosed(err)
		}
	}
	if err != nil {
		outcome = r.finish(ctx, err)
	}
	elapsed := time.Since(start)
	s.metrics.jobs.WithLabelValues(outcome).Inc()
	s.metrics.jobDuration.WithLabelValues(outcome).Observe(elapsed.Seconds())
	attrs := []any{"head_sha", r.head, "outcome", outcome, "duration_ms", elapsed.Milliseconds(), "queued_ms", start.Sub(j.Enqueued).Milliseconds()}
	if r.checkRunID != 0 {
		attrs = append(attrs, "check_run", r.checkRunID)
	}
	if err != nil && outcome != outcomeCancelled && outcome != outcomeHeadMoved && outcome != outcomeOverLimit {
		log.Error("job failed", append(attrs, "error", s.scrub(err.Error()))...)
	} else {
		log.Info("job done", attrs...)
	}
	if s.jobDone != nil {
		s.jobDone(j, outcome)
	}
	return outcome
}

// failCrashedJob ends a job that was cut short crashes times (its
// process killed, or its worker crashed, while it ran) without running it
// again: it fails closed, with a red check on the head it was for (the
// run it left in progress, taken over, or a new one), never in progress.
func (s *Server) failCrashedJob(ctx context.Context, j *Job, crashes int) string {
	ctx, cancel := context.WithTimeout(ctx, finalWriteTimeout)
	defer cancel()
	log := s.log.With("deliveries", j.Deliveries, "event", j.Event, "repository", j.Owner+"/"+j.Repo, "installation", j.InstallationID, "pull_request", j.Number)
	r := &jobRun{s: s, j: j, gh: s.clients.Installation(j.InstallationID).gh, log: log, headOf: func(string) {}}
	r.head = j.HeadSHA
	if r.head == "" && j.Number != 0 {
		pr, _, err := r.gh.PullRequests.Get(ctx, j.Owner, j.Repo, j.Number)
		if err != nil {
			log.Error("could not read the pull request to fail its check", "error", s.scrub(err.Error()))
			return outcomeFailure
		}
		r.head, r.base = pr.GetHead().GetSHA(), pr.GetBase().GetSHA()
	}
	if r.head == "" {
		s.metrics.jobs.WithLabelValues(outcomeFailure).Inc()
		return outcomeFailure
	}
	runs, err := r.appRuns(ctx, r.head)
	if err != nil {
		log.Error("could not list the check runs to fail the check", "error", s.scrub(err.Error()))
		return outcomeFailure
	}
	for _, run := range runs {
		if r.ownsRun(run) && run.GetStatus() != "completed" {
			r.checkRunID = run.GetID()
			break
		}
	}
	out := checklist.FailureOutput(fmt.Sprintf("the check was cut short %d times (its process was killed or its worker crashed while it ran), and is not run again", crashes))
	failure := "failure"
	if r.checkRunID != 0 {
		err = r.completeCheckRun(ctx, failure, out, nil, "")
	} else {
		err = r.createCheckRun(ctx, &failure, out)
	}
	if err != nil {
		log.Error("could not fail the check of a job cut short", "error", s.scrub(err.Error()))
	}
	s.metrics.jobs.WithLabelValues(outcomeFailure).Inc()
	if s.jobDone != nil {
		s.jobDone(j, outcomeFailure)
	}
	return outcomeFailure
}

// closeLeftRuns closes the runs of j's pull request still in progress on
// head, where a run of j that a crash cut short was checking: its rerun
// checked the pull request's head as it is now, and took that run over
// if the head had not moved; a run left on an older head would otherwise
// stay in progress for good.
func (s *Server) closeLeftRuns(ctx context.Context, j *Job, head string) {
	if j.Number == 0 || head == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	log := s.log.With("repository", j.Owner+"/"+j.Repo, "pull_request", j.Number, "head_sha", head)
	r := &jobRun{s: s, j: j, gh: s.clients.Installation(j.InstallationID).gh, log: log, headOf: func(string) {}, head: head}
	runs, err := r.appRuns(ctx, head)
	if err != nil {
		log.Error("could not list the runs a job cut short may have left in progress", "error", s.scrub(err.Error()))
		return
	}
	for _, run := range runs {
		if !r.ownsRun(run) || run.GetStatus() == "completed" {
			continue
		}
		r.checkRunID, r.checkDone = run.GetID(), false
		if err := r.completeCheckRun(ctx, "cancelled", checklist.SupersededOutput(""), nil, ""); err != nil {
			log.Error("could not close a run a job cut short left in progress", "check_run", run.GetID(), "error", s.scrub(err.Error()))
			continue
		}
		log.Info("closed a run a job cut short left in progress on an older head", "check_run", run.GetID())
	}
}

// run runs the job once.
func (r *jobRun) run(ctx context.Context) (outcome string, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("job panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = &jobPanicError{value: fmt.Sprint(p)}
		}
	}()
	r.stage("start")
	switch r.j.Kind {
	case KindMergeGroup:
		return r.runMergeGroup(ctx)
	case KindApproval:
		return r.runApproval(ctx)
	case KindSticky:
		return r.runSticky(ctx)
	default:
		return r.runPullRequest(ctx)
	}
}

// stage tells a test's hook where the run is.
func (r *jobRun) stage(name string) {
	if r.s.jobStage != nil {
		r.s.jobStage(r.j, name)
	}
}

// jobPanicError is a job run that panicked.
type jobPanicError struct{ value string }

func (e *jobPanicError) Error() string { return "internal error: " + e.value }

// maxPanicAttempts bounds the runs of a job whose code panics.
const maxPanicAttempts = 3

// maxRevocationAttempts bounds the runs of a job that may revoke an
// approval: a failure that outlasts them (an answer that will not change,
// or a long outage) is left to the scheduled reconcile of the box rather
// than hold a worker until the deadline.
const maxRevocationAttempts = 5

// maxRevocationBackoff caps the wait between two attempts of a job that
// may revoke an approval, and between two scheduled reconciles of a box.
const maxRevocationBackoff = 5 * time.Minute

// revocationBackoff is the wait before attempt+1: base doubled per
// attempt, capped.
func revocationBackoff(base time.Duration, attempt int) time.Duration {
	d := base << min(max(attempt-1, 0), 16)
	if d <= 0 || d > maxRevocationBackoff {
		d = maxRevocationBackoff
	}
	return d
}

// retryableJob says whether a job that ended in err may be run again:
// not when its deadline passed or the service is stopping, nor when the
// head moved (the newer head's job applies the box rule), nor when it is
// over a work cap (running it again would be over it again).
func retryableJob(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !errors.Is(err, errHeadMoved) && !errors.As(err, new(*jobLimitError))
}

// sleepCtx waits d, or until ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// finish closes the check run of a job that could not complete, with a
// fresh context, so that no check run stays in_progress.
func (r *jobRun) finish(ctx context.Context, err error) string {
	outcome := outcomeFailure
	conclusion := "failure"
	var out checklist.CheckOutput
	cause := context.Cause(ctx)
	switch {
	case errors.Is(err, errHeadMoved):
		outcome, conclusion = outcomeHeadMoved, "cancelled"
		out = checklist.SupersededOutput("")
	case errors.Is(cause, errSuperseded):
		outcome, conclusion = outcomeCancelled, "cancelled"
		out = checklist.SupersededOutput("")
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		// Fail closed: what was not judged in time needs approval, and the
		// check is never left in progress.
		outcome = outcomeTimedOut
		out = checklist.NotJudgedOutput(checklist.TitleNotJudgedInTime, fmt.Sprintf(
			"migration-guard could not judge this commit within its deadline (JOB_TIMEOUT, %s) and stopped. "+
				"Re-run the check from the Checks tab, split the migrations over smaller pull requests, or ask the service's operator to raise JOB_TIMEOUT.",
			r.s.p.JobTimeout))
	case errors.As(err, new(*jobLimitError)):
		var le *jobLimitError
		errors.As(err, &le)
		outcome = outcomeOverLimit
		out = checklist.NotJudgedOutput(checklist.TitleOverJobLimit, le.Error())
	case ctx.Err() != nil:
		out = checklist.FailureOutput("the service stopped before the check finished")
	default:
		out = checklist.FailureOutput(r.s.scrub(err.Error()))
	}
	if r.checkDone {
		return outcome
	}
	if r.priorFrom == "" && !r.noPointer {
		r.priorFrom = r.j.Before
	}
	if p := checklist.PriorText(r.priorFrom); p != "" && !r.noPointer {
		// A later push follows this pointer past a check that ended
		// without a ledger, rather than past the decisions made before.
		out.Text = strings.TrimRight(out.Text+"\n\n"+p, "\n")
		out.Text = strings.TrimLeft(out.Text, "\n")
	}
	// A fresh deadline, the job's values (the name its requests carry).
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	if r.j.Number != 0 && r.head != "" && (r.checkRunID != 0 || conclusion == "failure") {
		// A pull request's run takes part in its commit's conclusion like
		// any other: written with its verdict, so that the pull requests
		// sharing the commit count it (a failure blocks them all) rather
		// than wait for it.
		if r.checkRunID == 0 {
			if err := r.createCheckRun(fctx, nil, checklist.InProgressOutput()); err != nil {
				r.log.Error("could not report the failure in a check run", "error", r.s.scrub(err.Error()))
				return outcome
			}
		}
		_, err := r.writeVerdict(fctx, &verdictInput{atHead: conclusion == "failure", conclusion: conclusion, out: out})
		if err == nil {
			return outcome
		}
		r.log.Error("could not give the commit its conclusion after a failure", "check_run", r.checkRunID, "error", r.s.scrub(err.Error()))
	}
	if r.checkRunID == 0 {
		// Nothing was started: only a failure is worth a check run, and
		// only where the commit is known.
		sha := r.head
		if sha == "" {
			sha = r.j.HeadSHA
		}
		if conclusion != "failure" || sha == "" {
			return outcome
		}
		r.head = sha
		if err := r.createCheckRun(fctx, &conclusion, out); err != nil {
			r.log.Error("could not report the failure in a check run", "error", r.s.scrub(err.Error()))
		}
		return outcome
	}
	if r.j.Number != 0 {
		r.ownVerdict = conclusion
	}
	if err := r.completeCheckRun(fctx, conclusion, out, nil, ""); err != nil {
		r.log.Error("could not close the check run after a failure", "check_run", r.checkRunID, "error", r.s.scrub(err.Error()))
	}
	return outcome
}

// inputsID names what a check depends on: the pull request, the base,
// the head and this version of the service. A completed check with the
// same id makes a repeated job a no-op, which is how duplicate and
// concurrent deliveries converge without a second comment or check run.
func (r *jobRun) inputsID() string {
	return inputsIDFor(r.j.Number, r.base, r.head, r.s.p.Version)
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:12])
}

// ownsRun says whether a run of the App on the head is this job's pull
// request's (or, for a run left in progress by an older version that did
// not name its pull request, one to take over).
func (r *jobRun) ownsRun(run *github.CheckRun) bool {
	switch pr := runPR(run); {
	case pr == r.j.Number:
		return true
	case pr < 0:
		return run.GetStatus() != "completed"
	}
	return false
}

// ownConclusion is the verdict a run holds about its own pull request:
// its external id says it, since the conclusion is the commit's.
func ownConclusion(run *github.CheckRun) string {
	if _, own := ownOf(run); own != "" {
		return own
	}
	return run.GetConclusion()
}

// sameInputs says whether a run checked this job's inputs.
func (r *jobRun) sameInputs(run *github.CheckRun) bool {
	inputs, _ := ownOf(run)
	return inputs == r.inputsID()
}

// startCheckRun finds this pull request's check run on the head (other
// pull requests of the same commit have their own) or creates one. It
// returns false when a completed run for the same inputs exists and the
// job was not forced: there is nothing to do.
func (r *jobRun) startCheckRun(ctx context.Context) (bool, error) {
	runs, err := r.appRuns(ctx, r.head)
	if err != nil {
		return false, err
	}
	var latest *github.CheckRun
	for _, run := range runs {
		if r.ownsRun(run) {
			latest = run
			break
		}
	}
	if latest != nil && !r.j.Force {
		switch {
		case latest.GetStatus() == "completed" && r.sameInputs(latest):
			switch ownConclusion(latest) {
			case "success", "action_required", "neutral":
				r.checkRunID, r.checkDone = latest.GetID(), true
				return false, nil
			}
		case latest.GetStatus() != "completed":
			// A run left behind by a restart, or queued by GitHub: take it
			// over rather than add a second one.
			r.checkRunID = latest.GetID()
			_, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.j.Owner, r.j.Repo, r.checkRunID, github.UpdateCheckRunOptions{
				Name: checklist.CheckRunName, Status: github.String("in_progress"), ExternalID: github.String(r.inputsID()),
				Output: checkOutput(checklist.InProgressOutput(), nil, false),
			})
			if err != nil {
				return false, fmt.Errorf("taking over check run %d: %w", r.checkRunID, err)
			}
			return true, nil
		}
	}
	return true, r.createCheckRun(ctx, nil, checklist.InProgressOutput())
}

func (r *jobRun) createCheckRun(ctx context.Context, conclusion *string, out checklist.CheckOutput) error {
	now := github.Timestamp{Time: time.Now()}
	opts := github.CreateCheckRunOptions{
		Name: checklist.CheckRunName, HeadSHA: r.head, ExternalID: github.String(r.inputsID()),
		Status: github.String("in_progress"), StartedAt: &now, Output: checkOutput(out, nil, conclusion != nil),
	}
	if conclusion != nil {
		opts.Status, opts.Conclusion, opts.CompletedAt = github.String("completed"), conclusion, &now
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("creating the check run on %s: %w", short(r.head), err)
	}
	// Once sent, the answer is read even if the job is cancelled meanwhile
	// (a newer push): a run GitHub created whose id the job never learned
	// would stay in progress for good. finish then closes it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	run, _, err := r.gh.Checks.CreateCheckRun(cctx, r.j.Owner, r.j.Repo, opts)
	if err != nil {
		return fmt.Errorf("creating the check run on %s: %w", short(r.head), err)
	}
	r.checkRunID = run.GetID()
	r.checkDone = conclusion != nil
	return nil
}

// completeCheckRun writes the final output. Annotations beyond GitHub's 50
// per request go first, in updates that leave the run in progress, so
// that a completed run always has all of them.
func (r *jobRun) completeCheckRun(ctx context.Context, conclusion string, out checklist.CheckOutput, anns []checklist.Annotation, detailsURL string) error {
	for len(anns) > checklist.AnnotationsPerRequest {
		batch := anns[:checklist.AnnotationsPerRequest]
		anns = anns[checklist.AnnotationsPerRequest:]
		_, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.j.Owner, r.j.Repo, r.checkRunID, github.UpdateCheckRunOptions{
			Name:   checklist.CheckRunName,
			Output: checkOutput(checklist.CheckOutput{Title: out.Title, Summary: out.Summary}, batch, false),
		})
		if err != nil {
			return fmt.Errorf("adding annotations to check run %d: %w", r.checkRunID, err)
		}
	}
	opts := github.UpdateCheckRunOptions{
		Name: checklist.CheckRunName, Status: github.String("completed"), Conclusion: github.String(conclusion),
		CompletedAt: &github.Timestamp{Time: time.Now()}, Output: checkOutput(out, anns, true),
	}
	if r.ownVerdict != "" {
		opts.ExternalID = github.String(r.inputsID() + ":" + r.ownVerdict)
	}
	if detailsURL != "" {
		opts.DetailsURL = github.String(detailsURL)
	}
	if _, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.j.Owner, r.j.Repo, r.checkRunID, opts); err != nil {
		return fmt.Errorf("completing check run %d: %w", r.checkRunID, err)
	}
	r.checkDone = true
	return nil
}

func checkOutput(out checklist.CheckOutput, anns []checklist.Annotation, withText bool) *github.CheckRunOutput {
	o := &github.CheckRunOutput{Title: github.String(out.Title), Summary: github.String(out.Summary)}
	if withText && out.Text != "" {
		o.Text = github.String(out.Text)
	}
	for _, a := range anns {
		ga := &github.CheckRunAnnotation{
			Path: github.String(a.Path), StartLine: github.Int(a.StartLine), EndLine: github.Int(a.EndLine),
			AnnotationLevel: github.String(a.Level), Message: github.String(a.Message), Title: github.String(a.Title),
		}
		if a.StartColumn > 0 && a.StartLine == a.EndLine {
			ga.StartColumn, ga.EndColumn = github.Int(a.StartColumn), github.Int(a.EndColumn)
		}
		if a.RawDetails != "" {
			ga.RawDetails = github.String(a.RawDetails)
		}
		o.Annotations = append(o.Annotations, ga)
	}
	return o
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// statusOf is an API error's HTTP status, 0 for other errors.
func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return rl.Response.StatusCode
	}
	return 0
}

func isNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// readConfig reads the configuration at the base. The first error is the
// configuration's own (reported in the check run); the second is a
// failure to read it.
func (r *jobRun) readConfig(ctx context.Context, ref string) (analyzer.Config, error, error) {
	fc, _, _, err := r.gh.Repositories.GetContents(ctx, r.j.Owner, r.j.Repo, analyzer.ConfigPath, &github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		if isNotFound(err) {
			return analyzer.DefaultConfig(), nil, nil
		}
		return analyzer.Config{}, nil, fmt.Errorf("reading %s at %s: %w", analyzer.ConfigPath, short(ref), err)
	}
	if fc == nil {
		return analyzer.Config{}, errors.New("it is a folder, not a file"), nil
	}
	var data []byte
	if fc.GetEncoding() == "none" {
		// Files over 1 MB come without content; the blob has it.
		data, err = r.blob(ctx, fc.GetSHA())
	} else {
		var s string
		s, err = fc.GetContent()
		data = []byte(s)
	}
	if err != nil {
		return analyzer.Config{}, nil, fmt.Errorf("reading %s at %s: %w", analyzer.ConfigPath, short(ref), err)
	}
	cfg, perr := analyzer.ParseConfig(data)
	if perr != nil {
		return analyzer.Config{}, perr, nil
	}
	return cfg, nil, nil
}
