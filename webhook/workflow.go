package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
)

// workflowInstallation stands for the installation in CI mode, where the
// event names none: every job uses the workflow token's one client.
const workflowInstallation int64 = -1

// ActionsBot is the account GitHub Actions' token writes as: its check
// runs, comments and sticky comment are "the App's" in CI mode.
const ActionsBot = "github-actions[bot]"

// WorkflowConfig is the CI mode (`migration-guard review`): one job run
// in a GitHub Actions workflow with the workflow's token.
type WorkflowConfig struct {
	// APIURL is the REST API's base URL (GITHUB_API_URL).
	APIURL string
	// Token is the workflow's GITHUB_TOKEN.
	Token string
	// ActionsAppID is the id of the GitHub Actions App, whose check runs
	// are the ones read back (GET /apps/github-actions tells it).
	ActionsAppID int64
	// Delivery names the run in logs and ledgers (GITHUB_RUN_ID and
	// attempt), as a delivery id does for the App.
	Delivery   string
	JobTimeout time.Duration
	Work       WorkLimits
	Limits     Limits
	Logger     *slog.Logger
	Version    string
}

// WorkflowResult is what one CI run did.
type WorkflowResult struct {
	// Ignored says why the event needed no job ("" when one ran).
	Ignored string
	// Outcome is the job's outcome, as the App logs it.
	Outcome string
	// Number is the pull request; HeadSHA its head after the job.
	Number  int
	HeadSHA string
	// Conclusion is what the pull request's migration-guard check run
	// says about it after the job, read back from GitHub ("" when there
	// is none).
	Conclusion string
}

// NeedsApproval says whether the CI step must fail: anything but a
// check run that passed (or no migrations to judge) fails closed.
func (r WorkflowResult) NeedsApproval() bool {
	if r.Ignored != "" {
		return false
	}
	switch r.Conclusion {
	case "success", "neutral":
		return false
	}
	return true
}

// RunWorkflow runs the job an Actions event asks for, synchronously,
// with the App's own job code: the same check run, review comments,
// sticky comment and approval flow, authenticated with the workflow's
// token instead of an installation token. event is GITHUB_EVENT_NAME;
// pull_request_target carries a pull_request payload.
func RunWorkflow(ctx context.Context, cfg WorkflowConfig, event string, body []byte) (WorkflowResult, error) {
	if cfg.Token == "" {
		return WorkflowResult{}, errors.New("no workflow token")
	}
	if cfg.ActionsAppID <= 0 {
		return WorkflowResult{}, errors.New("the GitHub Actions App id is unknown")
	}
	p, err := Config{
		APIURL: cfg.APIURL, AppID: cfg.ActionsAppID, JobTimeout: cfg.JobTimeout, Work: cfg.Work, Limits: cfg.Limits,
		Logger: cfg.Logger, Version: cfg.Version, Workers: 1, workflowToken: cfg.Token,
	}.validate()
	if err != nil {
		return WorkflowResult{}, err
	}
	s := &Server{p: p, log: p.Logger, metrics: newMetrics(), seen: newDeliveryLRU(1), readyCache: 30 * time.Second,
		unverified: &byteBudget{max: p.UnverifiedBytes}}
	s.scrubber = NewRedactingHandler(slog.DiscardHandler, cfg.Token)
	s.clients = newClients(p, s.metrics)
	s.reconcile = newReconciler(s.metrics.registry)
	// Jobs a job queues (another pull request of a shared commit, a
	// revocation to reconcile) run here too, one at a time, before the
	// step ends: no service stays behind to run them later.
	mq := newQueue(1, 100, 100, s.runJob)
	mq.dropped = func(j *Job) {
		s.log.Error("job not run before the step ended: re-run the workflow", "repository", j.Owner+"/"+j.Repo, "pull_request", j.Number)
	}
	s.queue = mq
	defer func() { _ = s.shutdownQueue() }()
	id := appIdentity{Slug: "github-actions", BotLogin: ActionsBot}
	s.identity.Store(&id)

	switch event {
	case "pull_request_target":
		event = "pull_request"
	case "pull_request", "issue_comment":
	default:
		return WorkflowResult{}, fmt.Errorf("event %q is not handled: run on pull_request_target (or pull_request) and issue_comment", event)
	}
	jobs, info, err := s.route(event, body)
	if err != nil {
		return WorkflowResult{}, fmt.Errorf("reading the %s event: %w", event, err)
	}
	res := WorkflowResult{Number: info.number, Ignored: info.ignore}
	if len(jobs) == 0 {
		if res.Ignored == "" {
			res.Ignored = "no job"
		}
		return res, nil
	}
	j := jobs[0]
	j.Deliveries, j.Event, j.Enqueued = []string{cfg.Delivery}, event, time.Now()
	res.Outcome = s.runJob(ctx, j, func(string) {})
	res.Number = j.Number
	// The exit status says what GitHub now shows: the pull request's own
	// verdict in its check run on its current head.
	gh := s.clients.Installation(workflowInstallation).gh
	pr, _, err := gh.PullRequests.Get(ctx, j.Owner, j.Repo, j.Number)
	if err != nil {
		return res, fmt.Errorf("reading pull request #%d after the check: %w", j.Number, err)
	}
	res.HeadSHA = pr.GetHead().GetSHA()
	if pr.GetState() != "open" {
		res.Ignored = "the pull request is " + pr.GetState()
		return res, nil
	}
	runs, _, err := listAppRuns(ctx, gh, p.AppID, j.Owner, j.Repo, res.HeadSHA)
	if err != nil {
		return res, fmt.Errorf("reading the %s check run back: %w", checklist.CheckRunName, err)
	}
	for _, run := range runs {
		if runPR(run) == j.Number && run.GetStatus() == "completed" {
			res.Conclusion = ownConclusion(run)
			break
		}
	}
	return res, nil
}

// bearerTransport authenticates every request with one token.
type bearerTransport struct {
	next  http.RoundTripper
	token string
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}
