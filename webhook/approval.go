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

// Approval job outcomes, for logs and metrics.
const (
	outcomeApproved  = "approved"
	outcomeRefused   = "refused"
	outcomeRevoked   = "revoked"
	outcomeRestored  = "restored"
	outcomeIgnored   = "ignored"
	outcomeDuplicate = "duplicate"
)

// maxListedCommits is where GitHub stops listing a pull request's commits.
const maxListedCommits = 250

// editKind is what an edit of the sticky comment did.
type editKind int

const (
	editNone   editKind = iota // nothing the App wrote changed
	editTick                   // only the box, unticked to ticked
	editUntick                 // only the box, ticked to unticked
	editOther                  // anything else: rendered back
)

func (k editKind) String() string {
	return [...]string{"none", "tick", "untick", "other"}[k]
}

// classifyEdit compares the body before the edit with the body after it.
// Line endings and trailing space do not count: browsers send CRLF.
func classifyEdit(old, cur string) (editKind, checklist.Box) {
	canonOld, boxOld, okOld := checklist.CanonicalSticky(old)
	canonNew, boxNew, okNew := checklist.CanonicalSticky(cur)
	switch {
	case okOld && okNew && canonOld == canonNew && boxOld.Ticked != boxNew.Ticked:
		if boxNew.Ticked {
			return editTick, boxNew
		}
		return editUntick, boxNew
	case normalizeBody(old) == normalizeBody(cur):
		return editNone, boxNew
	}
	return editOther, boxNew
}

func normalizeBody(s string) string {
	return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), " \n")
}

// verdict is an approval job's decision, for the audit line.
type verdict struct {
	outcome string
	reason  string
}

// runApproval decides on an edit of the App's sticky comment. Nothing in
// the comment is trusted: who acted comes from the signed delivery, what
// they may do from GitHub's answers now, and what is approved from the
// ledger in the App's own check run on the pull request's current head.
// Every decision is written to that ledger first and then shown in the
// comment, which is rendered from the analysis and the ledger, never
// restored from an earlier body.
func (r *jobRun) runApproval(ctx context.Context) (string, error) {
	ed := r.j.Edit
	r.log = r.log.With("sender", ed.Sender.Login, "comment", ed.CommentID)
	pr, err := r.openPullRequest(ctx)
	if err != nil {
		return "", err
	}
	if pr == nil {
		return r.audit(verdict{outcomeIgnored, "the pull request is not open"}, nil), nil
	}
	if !strings.EqualFold(ed.Author.Login, r.ident.BotLogin) || ed.Author.Type != "Bot" {
		return r.audit(verdict{outcomeIgnored, "not the App's comment"}, nil), nil
	}
	kind, box := classifyEdit(ed.Old, ed.New)
	r.log = r.log.With("edit", kind.String())
	if kind == editNone {
		return r.audit(verdict{outcomeIgnored, "nothing the App wrote changed"}, nil), nil
	}
	fromApp := strings.EqualFold(ed.Sender.Login, r.ident.BotLogin)

	latest, ledger, err := r.headRun(ctx)
	if err != nil {
		return "", err
	}
	if ledger == nil {
		return r.approvalBeforeCheck(ctx, pr, latest, kind, fromApp)
	}
	r.checkRunID, r.checkDone = latest.GetID(), true

	a, err := r.analyzeHead(ctx, pr)
	if err != nil {
		return "", err
	}
	if a.cfgErr != nil || a.rep == nil || checklist.NewLedger(r.j.Number, r.head, r.base, r.baseRef, a.rep).Fingerprint != ledger.Fingerprint {
		// The analysis no longer matches the check (production data read by
		// a probe changed, say): check again, then decide on that.
		r.log.Info("the head's analysis differs from its check run; checking it again")
		r.j.Force = true
		r.checkRunID, r.checkDone = 0, false
		return r.approvalBeforeCheck(ctx, pr, nil, kind, fromApp)
	}
	expected := checklist.StickyComment(a.rep, a.texts(ledger))
	if ledger.Seen(lastOf(r.j.Deliveries)) {
		// Decided already (GitHub redelivered it, or the service forgot
		// it in a restart). The comment is made to show the ledger, in
		// case the first run stopped between the two writes.
		if err := r.showLedger(ctx, expected); err != nil {
			return "", err
		}
		return r.audit(verdict{outcomeDuplicate, "this delivery was decided already"}, ledger), nil
	}
	next := ledger.Clone()
	now := time.Now().UTC().Truncate(time.Second)
	var v verdict
	switch kind {
	case editOther:
		switch {
		case normalizeBody(ed.New) == normalizeBody(expected):
			return r.audit(verdict{outcomeIgnored, "the comment already shows the ledger"}, ledger), nil
		case fromApp:
			// An earlier write of the App's, echoed after a newer one.
			return r.audit(verdict{outcomeIgnored, "the App's own edit"}, ledger), nil
		}
		v = verdict{outcomeRestored, checklist.ReasonOnlyBox()}
		next.Note = r.note(checklist.NoteUndone, v.reason, now)
	case editUntick:
		if ledger.Approved() {
			v = verdict{outcomeRevoked, "unticked"}
			next.Add(r.record(checklist.RecordRevocation, ledger.Fingerprint, now))
		} else {
			v = verdict{outcomeRestored, "no approval was in force"}
		}
	case editTick:
		current := false
		if canonNew, _, ok := checklist.CanonicalSticky(ed.New); ok {
			canonExp, _, _ := checklist.CanonicalSticky(expected)
			current = canonNew == canonExp
		}
		reason, err := r.authorize(ctx, pr, a.cfg.Approval, ledger, box, current)
		if err != nil {
			return "", err
		}
		if reason == "" {
			v = verdict{outcomeApproved, "every condition holds"}
			next.Add(r.record(checklist.RecordApproval, ledger.Fingerprint, now))
		} else {
			v = verdict{outcomeRefused, reason}
			next.Note = r.note(checklist.NoteRefused, reason, now)
		}
	}

	cc := a.texts(next)
	conclusion := checklist.ApprovedConclusion(a.rep, next)
	if next.Marker() != ledger.Marker() || ownConclusion(latest) != conclusion {
		// The ledger first: it is the record; the comment only shows it.
		// The conclusion is the commit's: the strictest over the pull
		// requests whose head it is.
		details := ""
		if conclusion == "action_required" {
			details = ed.CommentURL
		}
		if _, err := r.writeVerdict(ctx, &verdictInput{atHead: true, conclusion: conclusion, out: checklist.CheckRunOutput(a.rep, cc), details: details}); err != nil {
			return "", err
		}
	}
	if err := r.showLedger(ctx, checklist.StickyComment(a.rep, cc)); err != nil {
		return "", err
	}
	return r.audit(v, next), nil
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
// base that moved). A tick cannot be judged against a ledger that does
// not exist yet, so it is refused; an untick revokes whatever approval the
// head would carry; any other edit is undone. Then the head is checked,
// which writes the comment from the ledger it carries.
func (r *jobRun) approvalBeforeCheck(ctx context.Context, pr *github.PullRequest, latest *github.CheckRun, kind editKind, fromApp bool) (string, error) {
	if latest != nil && latest.GetStatus() == "completed" && r.sameInputs(latest) {
		switch ownConclusion(latest) {
		case "success", "action_required", "neutral":
			// Checked, with nothing that needs approval (or by another
			// pull request whose head this commit also is): there is no
			// box to decide on. A failed or cancelled check is checked
			// again below.
			return r.audit(verdict{outcomeIgnored, "the head's check holds no approval state for this pull request"}, nil), nil
		}
	}
	if fromApp && kind != editTick {
		return r.audit(verdict{outcomeIgnored, "the App's own edit"}, nil), nil
	}
	now := time.Now().UTC().Truncate(time.Second)
	var v verdict
	amend := func(l *checklist.Ledger) {
		if l.Seen(lastOf(r.j.Deliveries)) {
			v = verdict{outcomeDuplicate, "this delivery was decided already"}
			return
		}
		switch kind {
		case editTick:
			v = verdict{outcomeRefused, checklist.ReasonInProgress(r.head)}
			l.Note = r.note(checklist.NoteRefused, v.reason, now)
		case editUntick:
			if l.Approved() {
				v = verdict{outcomeRevoked, "unticked while the head was being checked"}
				l.Add(r.record(checklist.RecordRevocation, l.Fingerprint, now))
			} else {
				v = verdict{outcomeRestored, "no approval was in force"}
			}
		default:
			v = verdict{outcomeRestored, checklist.ReasonOnlyBox()}
			l.Note = r.note(checklist.NoteUndone, v.reason, now)
		}
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

// authorize checks a tick against every condition, each asked now; the
// first that fails is the reason given ("" when all hold).
func (r *jobRun) authorize(ctx context.Context, pr *github.PullRequest, p analyzer.ApprovalConfig, l *checklist.Ledger, box checklist.Box, current bool) (string, error) {
	s := r.j.Edit.Sender
	switch {
	case strings.EqualFold(s.Login, r.ident.BotLogin):
		return checklist.ReasonApp(), nil
	case s.Type != "User" || s.ID <= 0:
		return checklist.ReasonBot(s.Login), nil
	case box.Fingerprint != l.Fingerprint:
		return checklist.ReasonFingerprint(box.Fingerprint, l.Fingerprint), nil
	case !current:
		return checklist.ReasonStaleComment(), nil
	}
	perm, err := r.permission(ctx, s.Login)
	if err != nil {
		return "", err
	}
	if perm.User.ID != s.ID {
		return checklist.ReasonOtherAccount(s.Login), nil
	}
	if !p.RoleQualifies(perm.RoleName) {
		return checklist.ReasonRole(s.Login, perm.RoleName, p), nil
	}
	if len(p.Users) > 0 || len(p.Teams) > 0 {
		listed, err := r.listedApprover(ctx, s.Login, p)
		if err != nil {
			return "", err
		}
		if !listed {
			return checklist.ReasonNotListed(s.Login), nil
		}
	}
	if p.AllowAuthor {
		return "", nil
	}
	if strings.EqualFold(pr.GetUser().GetLogin(), s.Login) {
		return checklist.ReasonAuthor(s.Login), nil
	}
	return r.notACommitter(ctx, pr, s.Login)
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

// listedApprover says whether login is one of the configured users or an
// active member of one of the configured teams.
func (r *jobRun) listedApprover(ctx context.Context, login string, p analyzer.ApprovalConfig) (bool, error) {
	for _, u := range p.Users {
		if strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(u), "@"), login) {
			return true, nil
		}
	}
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
		// A pending invitation is not a membership.
		if m.GetState() == "active" {
			return true, nil
		}
	}
	return false, nil
}

// notACommitter lists the pull request's commits (all pages) and refuses
// an author or committer of any of them.
func (r *jobRun) notACommitter(ctx context.Context, pr *github.PullRequest, login string) (string, error) {
	if pr.GetCommits() > maxListedCommits {
		return checklist.ReasonTooManyCommits(pr.GetCommits()), nil
	}
	opts := &github.ListOptions{PerPage: 100}
	listed := 0
	for {
		page, resp, err := r.gh.PullRequests.ListCommits(ctx, r.j.Owner, r.j.Repo, r.j.Number, opts)
		if err != nil {
			return "", fmt.Errorf("listing the commits of #%d (page %d): %w", r.j.Number, max(opts.Page, 1), err)
		}
		for _, c := range page {
			listed++
			if strings.EqualFold(c.GetAuthor().GetLogin(), login) {
				return checklist.ReasonCommitter(login, "author", c.GetSHA()), nil
			}
			if strings.EqualFold(c.GetCommitter().GetLogin(), login) {
				return checklist.ReasonCommitter(login, "committer", c.GetSHA()), nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if listed >= maxListedCommits {
		// The count in the pull request may lag a push: trust the listing.
		return checklist.ReasonTooManyCommits(listed), nil
	}
	return "", nil
}

func (r *jobRun) record(kind, fp string, now time.Time) checklist.LedgerRecord {
	ed := r.j.Edit
	return checklist.LedgerRecord{
		Kind: kind, Login: ed.Sender.Login, UserID: ed.Sender.ID, At: now, Fingerprint: fp,
		Head: r.head, PR: r.j.Number, BaseRef: r.baseRef, Delivery: lastOf(r.j.Deliveries), Comment: ed.CommentID,
	}
}

func (r *jobRun) note(kind, reason string, now time.Time) *checklist.LedgerNote {
	ed := r.j.Edit
	return &checklist.LedgerNote{Kind: kind, Login: ed.Sender.Login, At: now, Reason: reason, Delivery: lastOf(r.j.Deliveries), Comment: ed.CommentID}
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

// headRun is the App's newest check run on the head, and its ledger when
// it is a finished check of the current inputs for this pull request.
func (r *jobRun) headRun(ctx context.Context) (*github.CheckRun, *checklist.Ledger, error) {
	runs, err := r.appRuns(ctx, r.head)
	if err != nil {
		return nil, nil, err
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
		return nil, nil, nil
	}
	if latest.GetStatus() != "completed" || !r.sameInputs(latest) {
		return latest, nil, nil
	}
	l, ok := checklist.ParseLedger(latest.GetOutput().GetText(), r.head)
	if !ok || l.PR != r.j.Number {
		return latest, nil, nil
	}
	return latest, l, nil
}

// appRuns lists this App's "migration-guard" check runs on sha, newest
// first. Runs of any other App are dropped here whatever the query asked:
// a ledger is only ever read from the App's own runs.
func (r *jobRun) appRuns(ctx context.Context, sha string) ([]*github.CheckRun, error) {
	appID := r.s.p.AppID
	opts := &github.ListCheckRunsOptions{
		CheckName: github.String(checklist.CheckRunName), AppID: &appID, Filter: github.String("all"),
		ListOptions: github.ListOptions{PerPage: 100},
	}
	var out []*github.CheckRun
	for {
		list, resp, err := r.gh.Checks.ListCheckRunsForRef(ctx, r.j.Owner, r.j.Repo, sha, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the check runs on %s: %w", short(sha), err)
		}
		for _, run := range list.CheckRuns {
			if run.GetApp().GetID() == appID && run.GetName() == checklist.CheckRunName && run.GetHeadSHA() == sha {
				out = append(out, run)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetID() > out[j].GetID() })
	return out, nil
}

// priorLedger finds the ledger a head's check starts from: an earlier
// check run of the same head (a re-run, a new base), else the head the
// push replaced, else the head the sticky comment says it shows. The
// comment only points; the ledger is read from the App's check run there,
// and only one written for this pull request counts.
func (r *jobRun) priorLedger(ctx context.Context, stickyBody string) (*checklist.Ledger, string, error) {
	seen := map[string]bool{}
	for _, sha := range []string{r.head, r.j.Before, checklist.StickyHead(stickyBody)} {
		if sha == "" || seen[sha] {
			continue
		}
		seen[sha] = true
		runs, err := r.appRuns(ctx, sha)
		if err != nil {
			if s := statusOf(err); s == http.StatusNotFound || s == http.StatusUnprocessableEntity {
				// A commit a force-push left behind may be gone.
				continue
			}
			return nil, "", err
		}
		for _, run := range runs {
			if run.GetID() == r.checkRunID || run.GetStatus() != "completed" {
				continue
			}
			if l, ok := checklist.ParseLedger(run.GetOutput().GetText(), sha); ok && l.PR == r.j.Number {
				return l, sha, nil
			}
		}
	}
	return nil, "", nil
}
