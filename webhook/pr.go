package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/checklist"
)

// maxListedFiles is where GitHub stops listing a pull request's files.
const maxListedFiles = 3000

// maxComparedFiles is where GitHub's compare endpoint stops listing files.
const maxComparedFiles = 300

// runPullRequest brings one pull request up to date: the check run on its
// current head, its inline comments and its sticky comment. It reads the
// pull request's state from GitHub rather than from the event, so that a
// late or repeated event checks what is there now.
func (r *jobRun) runPullRequest(ctx context.Context) (string, error) {
	pr, err := r.openPullRequest(ctx)
	if err != nil {
		return outcomeSkipped, err
	}
	if pr == nil {
		// Closed: its head commit may be the head of other open pull
		// requests, whose conclusion it no longer takes part in.
		return outcomeSkipped, r.leftCommit(ctx)
	}
	if r.j.Before != "" && r.j.Before != r.head && !r.j.Force {
		// A push to a commit checked before (a force-push back to it):
		// its old check may hold an approval revoked since, on the head
		// it replaced. Then it is checked again, from the head it
		// replaced.
		stale, err := r.revokedSince(ctx)
		if err != nil {
			return "", err
		}
		r.j.Force = stale
	}
	return r.checkHead(ctx, pr, nil)
}

// revokedSince says whether the head's finished check holds an approval
// that the ledger of the head the push replaced revoked or reset since.
func (r *jobRun) revokedSince(ctx context.Context) (bool, error) {
	_, state, l, err := r.headRun(ctx)
	if err != nil || state != checklist.HeadLedger || !l.Approved() {
		return false, err
	}
	runs, err := r.priorRuns(ctx, r.j.Before)
	if err != nil {
		return false, err
	}
	before := checklist.PriorAt(r.j.Number, r.j.Before, runs).Ledger
	if checklist.NewerDecision(l, []*checklist.Ledger{before}) {
		r.log.Warn("the head's approval was revoked or reset on the head the push replaced; checking it again", "before_sha", r.j.Before)
		return true, nil
	}
	return false, nil
}

// leftCommit derives the conclusion of the commit a closed pull request
// left again: its own verdict no longer counts there, and the pull
// requests still open at that commit decide.
func (r *jobRun) leftCommit(ctx context.Context) error {
	if r.head == "" {
		return nil
	}
	c, err := r.writeVerdict(ctx, nil)
	if err != nil {
		return err
	}
	if c != "" {
		r.log.Info("the commit's conclusion was derived again without this pull request", "conclusion", c)
	}
	return nil
}

// openPullRequest learns who the App is and reads the pull request; nil
// when it is not open.
func (r *jobRun) openPullRequest(ctx context.Context) (*github.PullRequest, error) {
	ident, err := r.s.appIdentity(ctx)
	if err != nil {
		return nil, err
	}
	r.ident = ident
	pr, _, err := r.gh.PullRequests.Get(ctx, r.j.Owner, r.j.Repo, r.j.Number)
	if err != nil {
		return nil, fmt.Errorf("reading pull request #%d: %w", r.j.Number, err)
	}
	if pr.GetState() != "open" {
		r.log.Info("pull request is not open; nothing to check", "state", pr.GetState())
		r.head = pr.GetHead().GetSHA()
		return nil, nil
	}
	r.head, r.base, r.baseRef = pr.GetHead().GetSHA(), pr.GetBase().GetSHA(), pr.GetBase().GetRef()
	r.fork = isFork(pr, r.j.Owner, r.j.Repo)
	r.headOf(r.head)
	r.log = r.log.With("head_sha", r.head)
	return pr, nil
}

// headAnalysis is a head's analysis with everything the texts about it
// depend on, so that an approval job renders exactly what the pull
// request job rendered.
type headAnalysis struct {
	cfg    analyzer.Config
	cfgErr error
	cc     checklist.CheckContext
	byPath map[string]*github.CommitFile
	snap   *snapshot
	// rep is nil when no migration changed.
	rep *analyzer.Report
}

// analyzeHead reads the configuration at the base and the changed
// migrations, and runs the analyzer.
func (r *jobRun) analyzeHead(ctx context.Context, pr *github.PullRequest) (*headAnalysis, error) {
	a := &headAnalysis{}
	var err error
	a.cfg, a.cfgErr, err = r.readConfig(ctx, r.base)
	if err != nil || a.cfgErr != nil {
		return a, err
	}
	files, err := r.listFiles(ctx)
	if err != nil {
		return nil, err
	}
	a.cc = checklist.CheckContext{HeadSHA: r.head, BaseSHA: r.base, ChangedFiles: pr.GetChangedFiles(), ListedFiles: len(files)}
	var changed []string
	a.byPath = map[string]*github.CommitFile{}
	touched := map[string]bool{}
	for _, f := range files {
		touched[f.GetFilename()] = true
		if f.GetPreviousFilename() != "" {
			touched[f.GetPreviousFilename()] = true
		}
		if f.GetStatus() == "removed" || !worthFetching(f.GetFilename(), a.cfg) {
			continue
		}
		changed = append(changed, f.GetFilename())
		a.byPath[f.GetFilename()] = f
	}
	var unseen []analyzer.Unseen
	if pr.GetChangedFiles() > len(files) {
		// GitHub lists at most 3,000 files: the migrations among the rest
		// run all the same, so the two trees are compared instead.
		if changed, unseen, err = r.comparedFiles(ctx, a.cfg); err != nil {
			return nil, err
		}
	}
	r.log.Debug("changed files", "listed", len(files), "migrations", len(changed))
	// A listing GitHub cut short cannot rule a file out: then the guard's
	// own files are compared themselves.
	settings, err := r.guardSettings(ctx, a.cfg, touched, len(files) >= pr.GetChangedFiles())
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 || len(unseen) > 0 {
		if a.snap, err = r.snapshot(ctx, r.base, r.head, a.cfg, changed, a.byPath); err != nil {
			return nil, err
		}
		a.snap.unseen = append(a.snap.unseen, unseen...)
		if a.rep, err = r.analyze(ctx, a.snap, a.cfg, changed); err != nil {
			return nil, err
		}
		keepApprovalWhenSuppressed(a.rep, a.cfg)
	}
	a.rep = withSettings(a.rep, a.cfg, settings)
	return a, nil
}

// withSettings adds the findings about the guard's own files to a report,
// making one when no migration changed.
func withSettings(rep *analyzer.Report, cfg analyzer.Config, settings []analyzer.File) *analyzer.Report {
	if len(settings) == 0 {
		return rep
	}
	if rep == nil {
		rep = &analyzer.Report{PostgresVersion: cfg.PostgresVersion, Files: []analyzer.File{}}
	}
	rep.Files = append(rep.Files, settings...)
	return rep
}

// guardSettings judges a change to the guard's own files between the base
// and the head: the configuration, and the statistics file the base's
// configuration names. touched lists the paths the change touches, which
// is all of them when complete; otherwise every such file is compared.
// Each is read at both ends, and only a real difference counts.
func (r *jobRun) guardSettings(ctx context.Context, cfg analyzer.Config, touched map[string]bool, complete bool) ([]analyzer.File, error) {
	ch := analyzer.SettingsChange{StatsPath: cfg.StatsFile}
	compare := func(path string) (base, head []byte, changed bool, err error) {
		if path == "" || (complete && !touched[path]) {
			return nil, nil, false, nil
		}
		if base, err = r.optionalFile(ctx, path, r.base); err != nil {
			return nil, nil, false, err
		}
		if head, err = r.optionalFile(ctx, path, r.head); err != nil {
			return nil, nil, false, err
		}
		return base, head, (base == nil) != (head == nil) || !bytes.Equal(base, head), nil
	}
	var err error
	if ch.ConfigBase, ch.ConfigHead, ch.ConfigChanged, err = compare(analyzer.ConfigPath); err != nil {
		return nil, err
	}
	if ch.StatsBase, ch.StatsHead, ch.StatsChanged, err = compare(cfg.StatsFile); err != nil {
		return nil, err
	}
	files := analyzer.SettingsFiles(ch)
	if len(files) > 0 {
		r.log.Info("the change touches the guard's own settings", "files", len(files))
	}
	return files, nil
}

// optionalFile reads a file at a commit; nil when it is not there.
func (r *jobRun) optionalFile(ctx context.Context, path, ref string) ([]byte, error) {
	data, err := r.readFileAt(ctx, path, ref)
	if errors.Is(err, errNoFile) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the guard's own settings: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// keepApprovalWhenSuppressed makes every finding whose severity the base
// configuration says needs approval need it, suppressed or not: the
// suppression comment is written by the pull request's author, and the
// approval must come from someone else. (The analyzer already keeps it
// for dangers; this covers warnings and infos a repository chose to gate.)
func keepApprovalWhenSuppressed(rep *analyzer.Report, cfg analyzer.Config) {
	for _, l := range rep.AllFindings() {
		if l.Finding.Suppressed != nil && cfg.NeedsApproval(l.Finding.Severity) {
			l.Finding.RequiresApproval = true
		}
	}
}

// texts is the check context with the approval state, for the sticky
// comment and the check run.
func (a *headAnalysis) texts(l *checklist.Ledger) checklist.CheckContext {
	cc := a.cc
	cc.Approval = checklist.ApprovalView{Ledger: l, Policy: a.cfg.Approval}
	return cc
}

// checkHead checks the head (r.head against r.base) and writes the
// verdict: check run, inline comments, sticky comment. The approval state
// starts from the ledger of the commit this one follows; amend, when set,
// records an approval job's decision in it before anything is written.
func (r *jobRun) checkHead(ctx context.Context, pr *github.PullRequest, amend func(*checklist.Ledger)) (string, error) {
	work, err := r.startCheckRun(ctx)
	if err != nil {
		return "", err
	}
	r.stage("check-run")
	if !work {
		r.log.Info("this head and base were checked already; nothing to do", "check_run", r.checkRunID)
		// The other pull requests of the commit may have changed since.
		if _, err := r.writeVerdict(ctx, nil); err != nil {
			return "", err
		}
		return outcomeUnchanged, nil
	}
	a, err := r.analyzeHead(ctx, pr)
	if err != nil {
		return "", err
	}
	if a.cfgErr != nil {
		r.log.Info("configuration error at the base", "error", a.cfgErr.Error())
		out := checklist.ConfigErrorOutput(analyzer.ConfigPath, r.base, a.cfgErr.Error())
		_, err := r.writeVerdict(ctx, &verdictInput{atHead: true, conclusion: "failure", out: out})
		return outcomeConfigError, err
	}
	if a.rep == nil {
		if err := r.clearPullRequest(ctx, pr); err != nil {
			return "", err
		}
		_, err := r.writeVerdict(ctx, &verdictInput{atHead: true, conclusion: "success", out: checklist.NoMigrationsOutput(a.cc)})
		return outcomeNoMigrations, err
	}

	mine, err := r.stickyComments(ctx)
	if err != nil {
		return "", err
	}
	ledger := checklist.NewLedger(r.j.Number, r.head, r.base, r.baseRef, a.rep)
	prior, from, err := r.priorLedger(ctx)
	if err != nil {
		return "", err
	}
	ledger.Carry(prior, time.Now())
	if prior != nil {
		r.log.Info("approval state carried", "from_sha", from, "approved", ledger.Approved(), "carried_from", ledger.CarriedFrom, "fingerprint", ledger.Fingerprint)
	}
	if amend != nil {
		amend(ledger)
	}
	if len(mine) > 0 {
		// The box the comment shows is input: unticked under an approval
		// in force, it may be an accepted untick that was lost.
		if d, ok := checklist.ReconcileBox(mine[0].GetBody(), ledger, time.Now()); ok && d.Outcome == outcomeRevoked {
			r.log.Warn("approval revoked: the comment's box is unticked", "fingerprint", ledger.Fingerprint)
			*ledger = *d.Ledger
		}
	}
	if prior.Approved() && !ledger.Approved() {
		// Decided against the approval carried: a check that ends
		// without a ledger must not point back to it.
		r.priorFrom, r.noPointer = "", true
	}

	// The pull request's own state (comments) belongs to its newest head:
	// if a push came in meanwhile, that head's job writes it.
	if err := r.requireHead(ctx); err != nil {
		return "", err
	}
	if err := r.syncReview(ctx, pr, a.rep, a.byPath, a.snap); err != nil {
		return "", err
	}
	cc := a.texts(ledger)
	sticky, err := r.putSticky(ctx, mine, checklist.StickyComment(a.rep, cc), true)
	if err != nil {
		return "", err
	}
	conclusion := checklist.ApprovedConclusion(a.rep, ledger)
	details := ""
	if conclusion == "action_required" && sticky != nil {
		details = sticky.GetHTMLURL()
	}
	if _, err := r.writeVerdict(ctx, &verdictInput{atHead: true, conclusion: conclusion, out: checklist.CheckRunOutput(a.rep, cc), anns: checklist.Annotations(a.rep), details: details}); err != nil {
		return "", err
	}
	return conclusion, nil
}

// listFiles lists the pull request's changed files, 100 a page, up to the
// 3,000 GitHub lists.
func (r *jobRun) listFiles(ctx context.Context) ([]*github.CommitFile, error) {
	var all []*github.CommitFile
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := r.gh.PullRequests.ListFiles(ctx, r.j.Owner, r.j.Repo, r.j.Number, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the changed files of #%d (page %d): %w", r.j.Number, max(opts.Page, 1), err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 || len(all) >= maxListedFiles {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// requireHead checks that the pull request's head is still the one being
// checked.
func (r *jobRun) requireHead(ctx context.Context) error {
	pr, _, err := r.gh.PullRequests.Get(ctx, r.j.Owner, r.j.Repo, r.j.Number)
	if err != nil {
		return fmt.Errorf("re-reading pull request #%d: %w", r.j.Number, err)
	}
	if pr.GetHead().GetSHA() != r.head {
		r.log.Info("the head moved while checking; the newer head's job takes over", "new_head_sha", pr.GetHead().GetSHA())
		return errHeadMoved
	}
	return nil
}

// clearPullRequest handles a head without migration changes: inline
// comments of earlier pushes are resolved and an existing sticky comment
// says nothing is left; no comment is created. The pull request's
// comment counts spare the listing calls when there is nothing to clear.
func (r *jobRun) clearPullRequest(ctx context.Context, pr *github.PullRequest) error {
	if pr.GetReviewComments() > 0 {
		if err := r.requireHead(ctx); err != nil {
			return err
		}
		if err := r.syncReview(ctx, pr, &analyzer.Report{}, nil, nil); err != nil {
			return err
		}
	}
	if pr.GetComments() > 0 {
		if _, err := r.syncSticky(ctx, pr, checklist.StickyNothingLeft(r.head), false); err != nil {
			return err
		}
	}
	return nil
}

// runMergeGroup checks a merge queue's commit: the change is
// base_sha..head_sha, there is no pull request to comment on, and the
// verdict goes in the check run on head_sha.
func (r *jobRun) runMergeGroup(ctx context.Context) (string, error) {
	r.head, r.base = r.j.HeadSHA, r.j.BaseSHA
	r.headOf(r.head)
	r.log = r.log.With("head_sha", r.head, "base_sha", r.base)
	work, err := r.startCheckRun(ctx)
	if err != nil {
		return "", err
	}
	if !work {
		return outcomeUnchanged, nil
	}
	cfg, cfgErr, err := r.readConfig(ctx, r.base)
	if err != nil {
		return "", err
	}
	if cfgErr != nil {
		return outcomeConfigError, r.completeCheckRun(ctx, "failure", checklist.ConfigErrorOutput(analyzer.ConfigPath, r.base, cfgErr.Error()), nil, "")
	}
	changed, unseen, err := r.comparedFiles(ctx, cfg)
	if err != nil {
		return "", err
	}
	// The queue's commit judges the guard's own files like the pull
	// request did, so that the same approval covers the same entries.
	settings, err := r.guardSettings(ctx, cfg, nil, false)
	if err != nil {
		return "", err
	}
	cc := checklist.CheckContext{HeadSHA: r.head, BaseSHA: r.base}
	var rep *analyzer.Report
	if len(changed) > 0 || len(unseen) > 0 {
		snap, err := r.snapshot(ctx, r.base, r.head, cfg, changed, nil)
		if err != nil {
			return "", err
		}
		snap.unseen = append(snap.unseen, unseen...)
		if rep, err = r.analyze(ctx, snap, cfg, changed); err != nil {
			return "", err
		}
		keepApprovalWhenSuppressed(rep, cfg)
	}
	rep = withSettings(rep, cfg, settings)
	if rep == nil {
		return outcomeNoMigrations, r.completeCheckRun(ctx, "success", checklist.NoMigrationsOutput(cc), nil, "")
	}
	if rep.RequiresApproval() {
		l, err := r.mergeGroupLedger(ctx, rep)
		if err != nil {
			return "", err
		}
		cc.Approval = checklist.ApprovalView{Ledger: l, Policy: cfg.Approval}
	}
	conclusion := checklist.ApprovedConclusion(rep, cc.Approval.Ledger)
	return conclusion, r.completeCheckRun(ctx, conclusion, checklist.CheckRunOutput(rep, cc), checklist.Annotations(rep), "")
}

// queueBranch is GitHub's name for a merge queue's branch:
// gh-readonly-queue/<base>/pr-<number>-<sha>.
// It is compiled on first use, not when the package loads (every command
// of the binary would pay for it).
var queueBranch = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:refs/heads/)?gh-readonly-queue/.+/pr-([0-9]+)-[0-9a-f]{40}$`)
})

// mergeGroupLedger is the approval state of a merge queue's commit: the
// approval in force on the queued pull request's current head carries
// over when the commit needs approval for exactly the statements it
// approved, into the same base branch. A commit holding other pull
// requests' statements too (queued ahead of it) differs, and stays red.
func (r *jobRun) mergeGroupLedger(ctx context.Context, rep *analyzer.Report) (*checklist.Ledger, error) {
	baseRef := strings.TrimPrefix(r.j.BaseRef, "refs/heads/")
	m := queueBranch().FindStringSubmatch(r.j.HeadRef)
	if m == nil {
		return checklist.NewLedger(0, r.head, r.base, baseRef, rep), nil
	}
	number, err := strconv.Atoi(m[1])
	if err != nil || number <= 0 {
		return checklist.NewLedger(0, r.head, r.base, baseRef, rep), nil
	}
	l := checklist.NewLedger(number, r.head, r.base, baseRef, rep)
	pr, _, err := r.gh.PullRequests.Get(ctx, r.j.Owner, r.j.Repo, number)
	if err != nil {
		if isNotFound(err) {
			return l, nil
		}
		return nil, fmt.Errorf("reading pull request #%d of the merge queue: %w", number, err)
	}
	prHead := pr.GetHead().GetSHA()
	runs, err := r.appRuns(ctx, prHead)
	if err != nil {
		return nil, err
	}
	for _, run := range runs {
		if run.GetStatus() != "completed" {
			continue
		}
		if prior, ok := checklist.ParseLedger(run.GetOutput().GetText(), prHead); ok && prior.PR == number {
			l.Carry(prior, time.Now())
			r.log.Info("merge queue approval", "pull_request", number, "pull_request_head", prHead, "approved", l.Approved())
			break
		}
	}
	return l, nil
}

// comparedFiles lists the migrations changed between base and head by
// comparing the two trees, which the analysis reads next anyway (the
// second listing is a free 304); GitHub's compare endpoint, used only
// when a tree is truncated, stops at 300 files: when it lists that many,
// the rest were not seen, which needs approval.
func (r *jobRun) comparedFiles(ctx context.Context, cfg analyzer.Config) ([]string, []analyzer.Unseen, error) {
	base, _, err := r.gh.Git.GetTree(ctx, r.j.Owner, r.j.Repo, r.base, true)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the files at %s: %w", short(r.base), err)
	}
	head, _, err := r.gh.Git.GetTree(ctx, r.j.Owner, r.j.Repo, r.head, true)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the files at %s: %w", short(r.head), err)
	}
	if base.GetTruncated() || head.GetTruncated() {
		cmp, _, err := r.gh.Repositories.CompareCommits(ctx, r.j.Owner, r.j.Repo, r.base, r.head, &github.ListOptions{PerPage: 100})
		if err != nil {
			return nil, nil, fmt.Errorf("comparing %s...%s: %w", short(r.base), short(r.head), err)
		}
		var out []string
		for _, f := range cmp.Files {
			if f.GetStatus() != "removed" && worthFetching(f.GetFilename(), cfg) {
				out = append(out, f.GetFilename())
			}
		}
		var unseen []analyzer.Unseen
		if len(cmp.Files) >= maxComparedFiles {
			unseen = append(unseen, analyzer.Unseen{Path: ".", ID: head.GetSHA(), Reason: fmt.Sprintf(
				"the trees are too large for GitHub to list and its comparison lists only %d changed files: migrations among the others were not seen, and the tool runs them all the same; a person must check the change",
				maxComparedFiles)})
		}
		return out, unseen, nil
	}
	at := map[string]string{}
	for _, e := range entriesOf(base.Entries, "") {
		at[e.Path] = e.ID
	}
	var out []string
	for _, e := range entriesOf(head.Entries, "") {
		if at[e.Path] != e.ID && worthFetching(e.Path, cfg) {
			out = append(out, e.Path)
		}
	}
	return out, nil, nil
}
