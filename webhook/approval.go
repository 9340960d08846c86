package webhook

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/checklist"
)

// Approval job outcomes, for logs and metrics: the protocol's own.
const (
	outcomeApproved  = checklist.OutcomeApproved
	outcomeRefused   = checklist.OutcomeRefused
	outcomeRevoked   = checklist.OutcomeRevoked
	outcomeRestored  = checklist.OutcomeRestored
	outcomeIgnored   = checklist.OutcomeIgnored
	outcomeDuplicate = checklist.OutcomeDuplicate
)

// verdict is an approval job's decision, for the audit line.
type verdict struct {
	outcome string
	reason  string
}

// runApproval gathers the facts an edit of the App's sticky comment is
// decided on (the signed event, GitHub's answers now, the ledger in the
// App's own check run on the pull request's current head, the analysis),
// lets checklist.DecideEdit decide, and writes the outcome: the ledger
// first, then the comment, which is rendered from the analysis and the
// ledger, never restored from an earlier body.
func (r *jobRun) runApproval(ctx context.Context) (string, error) {
	ed := r.j.Edit
	r.log = r.log.With("sender", ed.Sender.Login, "comment", ed.CommentID)
	pr, err := r.openPullRequest(ctx)
	if err != nil {
		return "", err
	}
	f := r.editFacts(pr)
	kind, _ := checklist.ClassifyEdit(ed.Old, ed.New)
	if pr != nil {
		r.log = r.log.With("edit", kind.String())
	}
	var latest *github.CheckRun
	if f.Open && strings.EqualFold(ed.Author.Login, r.ident.BotLogin) && ed.Author.Type == "Bot" && kind != checklist.EditNone {
		// Reading the head's check is the first GitHub answer a decision
		// on the App's comment needs.
		if latest, f.State, f.Ledger, err = r.headRun(ctx); err != nil {
			return "", err
		}
		if f.State == checklist.HeadLedger {
			// The check is final: a failure from here on must not turn it
			// into a failed one.
			r.checkRunID, r.checkDone = latest.GetID(), true
		}
	}
	var a *headAnalysis
	for {
		d := checklist.DecideEdit(f)
		if d.Need == checklist.NeedNothing {
			if d.Check {
				if d.Recheck {
					r.log.Info("the head's analysis differs from its check run; checking it again")
					r.j.Force = true
				}
				r.checkRunID, r.checkDone = 0, false
				return r.approvalBeforeCheck(ctx, pr, f)
			}
			if d.Outcome == outcomeIgnored {
				return r.audit(verdict{d.Outcome, d.Reason}, d.Ledger), nil
			}
			return r.writeDecision(ctx, a, f.Ledger, latest, d)
		}
		if err := r.answer(ctx, pr, d.Need, &f, &a); err != nil {
			return "", err
		}
	}
}

// editFacts is what the event and the pull request say; GitHub's other
// answers are added as the decision asks for them.
func (r *jobRun) editFacts(pr *github.PullRequest) checklist.EditFacts {
	ed := r.j.Edit
	f := checklist.EditFacts{
		Old: ed.Old, New: ed.New, CommentAuthor: checklist.Account(ed.Author), Sender: checklist.Account(ed.Sender),
		Delivery: lastOf(r.j.Deliveries), Comment: ed.CommentID, AppLogin: r.ident.BotLogin,
		Now: time.Now(),
	}
	if pr != nil {
		f.Open, f.PR, f.Head, f.BaseRef = true, r.j.Number, r.head, r.baseRef
		f.Author, f.Commits = pr.GetUser().GetLogin(), pr.GetCommits()
	}
	return f
}

// answer asks GitHub (or the analyzer) for what a decision needs.
func (r *jobRun) answer(ctx context.Context, pr *github.PullRequest, need checklist.Need, f *checklist.EditFacts, a **headAnalysis) error {
	switch need {
	case checklist.NeedAnalysis:
		an, err := r.analyzeHead(ctx, pr)
		if err != nil {
			return err
		}
		*a = an
		f.Analysis = &checklist.Analysis{}
		if an.cfgErr == nil && an.rep != nil {
			f.Policy = an.cfg.Approval
			f.Analysis.OK = true
			f.Analysis.Fingerprint = checklist.NewLedger(r.j.Number, r.head, r.base, r.baseRef, an.rep).Fingerprint
			f.Analysis.Expected = checklist.StickyComment(an.rep, an.texts(f.Ledger))
		}
	case checklist.NeedRole:
		perm, err := r.permission(ctx, f.Sender.Login)
		if err != nil {
			return err
		}
		f.Role = &checklist.RoleAnswer{RoleName: perm.RoleName, UserID: perm.User.ID}
	case checklist.NeedTeams:
		member, err := r.teamMember(ctx, f.Sender.Login, f.Policy)
		if err != nil {
			return err
		}
		f.TeamMember = &member
	case checklist.NeedCommits:
		list, err := r.commitPeople(ctx)
		if err != nil {
			return err
		}
		f.CommitList = &list
	default:
		return fmt.Errorf("the approval decision asked for %s, which nothing answers", need)
	}
	return nil
}

// writeDecision writes a decision on a head with a ledger: the check run
// first when the ledger or the conclusion changed (it is the record; the
// comment only shows it), then the comment.
func (r *jobRun) writeDecision(ctx context.Context, a *headAnalysis, ledger *checklist.Ledger, latest *github.CheckRun, d checklist.Decision) (string, error) {
	r.checkRunID, r.checkDone = latest.GetID(), true
	next := d.Ledger
	cc := a.texts(next)
	if d.Outcome != outcomeDuplicate {
		conclusion := checklist.ApprovedConclusion(a.rep, next)
		// The run's own verdict, not the commit's conclusion (the
		// strictest over the pull requests whose head it is), says
		// whether this pull request's result changed.
		if next.Marker() != ledger.Marker() || ownConclusion(latest) != conclusion {
			details := ""
			if conclusion == "action_required" {
				details = r.j.Edit.CommentURL
			}
			if _, err := r.writeVerdict(ctx, &verdictInput{atHead: true, conclusion: conclusion, out: checklist.CheckRunOutput(a.rep, cc), details: details}); err != nil {
				return "", err
			}
		}
	}
	if d.Render {
		if err := r.showLedger(ctx, checklist.StickyComment(a.rep, cc)); err != nil {
			return "", err
		}
	}
	return r.audit(verdict{d.Outcome, d.Reason}, next), nil
}

// showLedger makes the sticky comment hold body (no write when it does).
// The edited comment counts as the sticky comment even when the edit
// removed its marker, so that removing the marker is rendered back too
// rather than leaving the altered text behind.
func (r *jobRun) showLedger(ctx context.Context, body string) error {
	mine, err := r.stickyComments(ctx)
	if err != nil {
		return err
	}
	ed := r.j.Edit
	found := false
	for _, c := range mine {
		found = found || c.GetID() == ed.CommentID
	}
	if !found {
		edited := &github.IssueComment{ID: github.Int64(ed.CommentID), Body: github.String(ed.New)}
		mine = append(mine, edited)
		sort.Slice(mine, func(i, j int) bool { return mine[i].GetID() < mine[j].GetID() })
	}
	_, err = r.putSticky(ctx, mine, body, false)
	return err
}

// approvalBeforeCheck handles an edit when the head has no finished check
// of its current inputs (a push not checked yet, a run left in progress, a
// base that moved, an analysis that changed): the head is checked, and
// the edit is decided (checklist.DecideUnchecked) on the ledger that
// check builds, before anything is written.
func (r *jobRun) approvalBeforeCheck(ctx context.Context, pr *github.PullRequest, f checklist.EditFacts) (string, error) {
	var v verdict
	amend := func(l *checklist.Ledger) {
		d := checklist.DecideUnchecked(f, l)
		*l = *d.Ledger
		v = verdict{d.Outcome, d.Reason}
	}
	outcome, err := r.checkHead(ctx, pr, amend)
	if err != nil {
		return "", err
	}
	if v.outcome == "" {
		v = verdict{outcomeIgnored, "the head's check ended as " + outcome}
	}
	return r.audit(v, nil), nil
}

// collaboratorPermission is GitHub's answer about a user's access; go-github
// does not decode role_name, the exact field the decision needs.
type collaboratorPermission struct {
	Permission string `json:"permission"`
	RoleName   string `json:"role_name"`
	User       struct {
		Login string `json:"login"`
		ID    int64  `json:"id"`
	} `json:"user"`
}

func (r *jobRun) permission(ctx context.Context, login string) (*collaboratorPermission, error) {
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", r.j.Owner, r.j.Repo, login)
	req, err := r.gh.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("asking for @%s's role: %w", login, err)
	}
	var perm collaboratorPermission
	if _, err := r.gh.Do(ctx, req, &perm); err != nil {
		if isNotFound(err) {
			// Not a collaborator, nor an account at all: no role.
			return &collaboratorPermission{}, nil
		}
		return nil, fmt.Errorf("asking for @%s's role: %w", login, err)
	}
	return &perm, nil
}

// teamMember says whether login is an active member of one of the
// configured teams; a pending invitation is not a membership.
func (r *jobRun) teamMember(ctx context.Context, login string, p analyzer.ApprovalConfig) (bool, error) {
	for _, t := range p.Teams {
		org, slug, found := strings.Cut(strings.TrimSpace(t), "/")
		if !found {
			org, slug = r.j.Owner, org
		}
		m, _, err := r.gh.Teams.GetTeamMembershipBySlug(ctx, org, slug, login)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return false, fmt.Errorf("asking whether @%s is in team %s/%s: %w", login, org, slug, err)
		}
		if m.GetState() == "active" {
			return true, nil
		}
	}
	return false, nil
}

// commitPeople lists the pull request's commits, all pages, with their
// GitHub authors and committers.
func (r *jobRun) commitPeople(ctx context.Context) ([]checklist.CommitPeople, error) {
	var out []checklist.CommitPeople
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := r.gh.PullRequests.ListCommits(ctx, r.j.Owner, r.j.Repo, r.j.Number, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the commits of #%d (page %d): %w", r.j.Number, max(opts.Page, 1), err)
		}
		for _, c := range page {
			out = append(out, checklist.CommitPeople{SHA: c.GetSHA(), Author: c.GetAuthor().GetLogin(), Committer: c.GetCommitter().GetLogin()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// audit logs the decision on one edit: who, what, why. Never a token:
// the fields are the delivery's and the ledger's.
func (r *jobRun) audit(v verdict, l *checklist.Ledger) string {
	attrs := []any{"decision", v.outcome, "reason", v.reason}
	if l != nil {
		attrs = append(attrs, "fingerprint", l.Fingerprint, "approved", l.Approved())
	}
	r.log.Info("approval decision", attrs...)
	return v.outcome
}

// headRun is the App's newest check run on the head, what it says about
// the head's approval state, and its ledger when it is a finished check
// of the current inputs for this pull request.
func (r *jobRun) headRun(ctx context.Context) (*github.CheckRun, checklist.HeadState, *checklist.Ledger, error) {
	runs, err := r.appRuns(ctx, r.head)
	if err != nil {
		return nil, checklist.HeadUnchecked, nil, err
	}
	var latest *github.CheckRun
	for _, run := range runs {
		// Other pull requests of the same commit have runs of their own.
		if r.ownsRun(run) {
			latest = run
			break
		}
	}
	if latest == nil {
		return nil, checklist.HeadUnchecked, nil, nil
	}
	if latest.GetStatus() != "completed" || !r.sameInputs(latest) {
		return latest, checklist.HeadUnchecked, nil, nil
	}
	if l, ok := checklist.ParseLedger(latest.GetOutput().GetText(), r.head); ok && l.PR == r.j.Number {
		return latest, checklist.HeadLedger, l, nil
	}
	// The pull request's own verdict, which the run's external id holds:
	// its conclusion is the commit's, which another pull request of the
	// commit may make stricter.
	switch ownConclusion(latest) {
	case "success", "action_required", "neutral":
		// Checked, with nothing that needs approval: there is no box to
		// decide on. A failed or cancelled check is checked again.
		return latest, checklist.HeadNoBox, nil, nil
	}
	return latest, checklist.HeadUnchecked, nil, nil
}

// appRuns lists this App's "migration-guard" check runs on sha, newest
// first. Runs of any other App are dropped here whatever the query asked:
// a ledger is only ever read from the App's own runs.
func (r *jobRun) appRuns(ctx context.Context, sha string) ([]*github.CheckRun, error) {
	runs, _, err := listAppRuns(ctx, r.gh, r.s.p.AppID, r.j.Owner, r.j.Repo, sha)
	return runs, err
}

// listAppRuns is appRuns for any client, with GitHub's last response (for
// its rate limit). Every run is listed ("all"): GitHub's "latest" keeps
// one run per name and App, which on a commit shared by several pull
// requests is only one of their runs.
func listAppRuns(ctx context.Context, gh *github.Client, appID int64, owner, repo, sha string) ([]*github.CheckRun, *github.Response, error) {
	opts := &github.ListCheckRunsOptions{
		CheckName: github.String(checklist.CheckRunName), AppID: &appID, Filter: github.String("all"),
		ListOptions: github.ListOptions{PerPage: 100},
	}
	var out []*github.CheckRun
	for {
		list, resp, err := gh.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("listing the check runs on %s: %w", short(sha), err)
		}
		for _, run := range list.CheckRuns {
			if run.GetApp().GetID() == appID && run.GetName() == checklist.CheckRunName && run.GetHeadSHA() == sha {
				out = append(out, run)
			}
		}
		if resp.NextPage == 0 {
			sort.Slice(out, func(i, j int) bool { return out[i].GetID() > out[j].GetID() })
			return out, resp, nil
		}
		opts.Page = resp.NextPage
	}
}

// pullRequestRun is a pull request's newest run among runs (newest first):
// the newest one whose external id names it, or one of an older version
// that named no pull request (whose ledger, if any, says whose it is).
// The other pull requests whose head the commit is have runs of their own.
func pullRequestRun(runs []*github.CheckRun, number int) *github.CheckRun {
	for _, run := range runs {
		if pr := runPR(run); pr == number || pr < 0 {
			return run
		}
	}
	return nil
}

// maxPriorSteps bounds the commits looked at for a head's prior ledger;
// past it, nothing is carried.
const maxPriorSteps = 30

// priorLedger finds the ledger a head's check starts from, only ever from
// what GitHub says and the App's own check runs, never from comment text:
// an earlier finished check of the same head (a re-run, a new base); else
// the head the synchronize event replaced (its before); else the newest
// earlier commit of the pull request's commits. checklist.PriorAt says
// what each commit's runs mean: a ledger, a pointer to follow, a commit
// never checked (look further back), or a reason to carry nothing. The
// approval found does not carry past a newer revocation or reset in any
// other ledger read on the way (checklist.NewerDecision).
func (r *jobRun) priorLedger(ctx context.Context) (*checklist.Ledger, string, error) {
	var read []*checklist.Ledger
	found := func(l *checklist.Ledger, sha string) (*checklist.Ledger, string, error) {
		l, stale := checklist.GuardPrior(l, read, time.Now())
		if stale {
			r.log.Warn("an approval older than a revocation or reset was not carried", "from_sha", sha)
		}
		r.priorFrom = sha
		return l, sha, nil
	}
	cache := map[string][]checklist.PriorRun{}
	runsOn := func(sha string) ([]checklist.PriorRun, error) {
		if runs, ok := cache[sha]; ok {
			return runs, nil
		}
		runs, err := r.priorRuns(ctx, sha)
		cache[sha] = runs
		return runs, err
	}
	if r.j.Before != "" {
		// The head the push replaced is read in any case: a force-push
		// back to an approved commit must not bring back an approval that
		// was revoked after it.
		runs, err := runsOn(r.j.Before)
		if err != nil {
			return nil, "", err
		}
		if st := checklist.PriorAt(r.j.Number, r.j.Before, runs); st.Ledger != nil {
			read = append(read, st.Ledger)
		}
	}
	runs, err := runsOn(r.head)
	if err != nil {
		return nil, "", err
	}
	for _, run := range runs {
		if run.ID == r.checkRunID || run.Status != "completed" {
			continue
		}
		if l, ok := checklist.ParseLedger(run.Text, r.head); ok && l.PR == r.j.Number {
			return found(l, r.head)
		}
	}
	var commits []string // the pull request's, newest first, without the head
	listed := false
	next := r.j.Before
	seen := map[string]bool{r.head: true}
	for step := 0; step < maxPriorSteps; step++ {
		if next == "" || seen[next] {
			if !listed && r.j.Event == "pull_request.opened" {
				// A pull request just opened has no earlier check of its
				// own: its commits need not be looked at.
				return nil, "", nil
			}
			if !listed {
				list, err := r.commitPeople(ctx)
				if err != nil {
					return nil, "", err
				}
				listed = true
				for i := len(list) - 1; i >= 0; i-- {
					commits = append(commits, list[i].SHA)
				}
			}
			next = ""
			for len(commits) > 0 && next == "" {
				if !seen[commits[0]] {
					next = commits[0]
				}
				commits = commits[1:]
			}
			if next == "" {
				return nil, "", nil
			}
		}
		sha := next
		seen[sha] = true
		next = ""
		runs, err := runsOn(sha)
		if err != nil {
			return nil, "", err
		}
		st := checklist.PriorAt(r.j.Number, sha, runs)
		switch {
		case st.Ledger != nil:
			return found(st.Ledger, sha)
		case st.Follow != "":
			next = st.Follow
		case st.Stop != "":
			r.log.Info("no approval state carried", "from_sha", sha, "reason", st.Stop)
			return nil, "", nil
		case st.LookBefore:
			// The commit decided nothing: the next one in the pull
			// request's list (or the push's before) says what held.
		}
	}
	r.log.Info("no approval state carried", "reason", "too many commits without a finished check")
	return nil, "", nil
}

// priorRuns is this pull request's check runs on sha, newest first, as
// the protocol reads them; none when GitHub no longer has the commit (a
// force-push may have left it behind). The other pull requests whose head
// the commit was have runs of their own there, which say nothing about
// this one's decisions: only runs whose external id names this pull
// request are read, and those of an older version that named none (whose
// ledger says whose it is; another one's stops the search). A run's
// conclusion is the commit's, the strictest over those pull requests: the
// protocol reads the pull request's own verdict instead.
func (r *jobRun) priorRuns(ctx context.Context, sha string) ([]checklist.PriorRun, error) {
	runs, err := r.appRuns(ctx, sha)
	if err != nil {
		if s := statusOf(err); s == http.StatusNotFound || s == http.StatusUnprocessableEntity {
			return nil, nil
		}
		return nil, err
	}
	return priorRunsOf(runs, r.j.Number), nil
}

// priorRunsOf is priorRuns without the listing: runs of pull request
// number, as the protocol reads them.
func priorRunsOf(runs []*github.CheckRun, number int) []checklist.PriorRun {
	out := make([]checklist.PriorRun, 0, len(runs))
	for _, run := range runs {
		if pr := runPR(run); pr >= 0 && pr != number {
			continue
		}
		out = append(out, checklist.PriorRun{ID: run.GetID(), Status: run.GetStatus(), Conclusion: ownConclusion(run), Text: run.GetOutput().GetText()})
	}
	return out
}

// failClosed is the last step of a job that may carry a revocation (an
// untick, a reconcile of the box) and could not finish, even run again
// within its deadline: GitHub kept failing, or the deadline passed. The
// approval must not stand meanwhile. With a fresh context, it records the
// revocation in the ledger of the head's check run, without an analysis
// (revoking needs no authorization: anyone who may edit the comment may
// untick), which turns the check red. When even that cannot be written,
// or GitHub cannot say what the head's ledger is, a reconcile of the pull
// request's box is scheduled: when GitHub answers again, it records the
// untick's revocation, or the unticked box revokes (ReconcileBox). It
// reports whether the revocation was recorded.
func (r *jobRun) failClosed(cause error) bool {
	base := r.values
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithTimeout(base, finalWriteTimeout)
	defer cancel()
	recorded, settled, err := r.revokeWithout(ctx)
	switch {
	case recorded:
		r.s.reconcile.fallbacks.WithLabelValues("recorded").Inc()
		r.log.Warn("the job could not finish; the approval was revoked without it", "cause", r.s.scrub(cause.Error()))
		// The run holds the revocation: nothing may overwrite it with a
		// failure that has no ledger.
		r.checkDone = true
		return true
	case settled:
		r.s.reconcile.fallbacks.WithLabelValues("nothing").Inc()
		return false
	}
	attrs := []any{"cause", r.s.scrub(cause.Error())}
	if err != nil {
		attrs = append(attrs, "error", r.s.scrub(err.Error()))
	}
	r.s.reconcile.fallbacks.WithLabelValues("scheduled").Inc()
	r.log.Error("a revocation could not be recorded; a reconcile of the box is scheduled", attrs...)
	r.s.scheduleBoxReconcile(r.j)
	return false
}

// revokeWithout records the revocation the job carries in the head's
// ledger, asking GitHub only what that needs: the pull request, the head's
// check run, and for a reconcile the comment's box. settled says there is
// nothing to revoke: the pull request is closed, the head's ledger holds
// no approval, or holds this revocation already.
func (r *jobRun) revokeWithout(ctx context.Context) (recorded, settled bool, err error) {
	fr := &jobRun{s: r.s, j: r.j, gh: r.gh, log: r.log, headOf: func(string) {}}
	pr, err := fr.openPullRequest(ctx)
	if err != nil || pr == nil {
		return false, err == nil, err
	}
	latest, state, ledger, err := fr.headRun(ctx)
	if err != nil || state != checklist.HeadLedger {
		// Without a ledger of the head's current inputs the head is
		// checked again (by the scheduled reconcile), and the check
		// applies the box rule to the approval it carries.
		return false, state == checklist.HeadNoBox, err
	}
	var d checklist.Decision
	ok, details := false, ""
	if ed := r.j.Edit; ed != nil {
		d, ok = checklist.RevokeUnfinished(fr.untickFacts(pr), ledger)
		details = ed.CommentURL
	} else {
		mine, err := fr.stickyComments(ctx)
		if err != nil {
			return false, false, err
		}
		if len(mine) > 0 {
			d, ok = checklist.ReconcileBox(mine[0].GetBody(), ledger, time.Now())
			ok = ok && d.Outcome == outcomeRevoked
			details = mine[0].GetHTMLURL()
		}
	}
	if !ok {
		return false, true, nil
	}
	prev := checklist.CheckOutput{Title: latest.GetOutput().GetTitle(), Summary: latest.GetOutput().GetSummary(), Text: latest.GetOutput().GetText()}
	fr.checkRunID, fr.checkDone = latest.GetID(), true
	if _, err := fr.writeVerdict(ctx, &verdictInput{atHead: true, conclusion: "action_required", out: checklist.RevokedOutput(prev, d.Ledger, d.Reason), details: details}); err != nil {
		return false, false, err
	}
	fr.audit(verdict{d.Outcome, d.Reason}, d.Ledger)
	return true, false, nil
}
