package webhook

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/checklist"
)

// One commit, several pull requests.
//
// A check run belongs to a commit, not to a pull request, and several open
// pull requests can have the same head commit, each into its own base with
// its own configuration. Branch protection reads the newest
// "migration-guard" run of the App on the commit, whichever pull request's
// job wrote it. So every run the App has on a commit carries the same
// conclusion: the strictest over every open pull request whose head the
// commit is, each judged by its own job with its own base's configuration
// and its own ledger.
//
// Each pull request keeps its own run on the commit, which holds its ledger;
// the run's external id names the pull request, the inputs it was judged
// on (base, head, service version) and its own verdict, so that the shared
// conclusion can be derived again from GitHub alone.
// A pull request's run, and so its ledger, is written only by that pull
// request's jobs, which run one at a time on its queue key: per-PR
// serialization of the ledger is unchanged. What is shared is the
// conclusion, and it is only ever written under a per-commit lock that
// reads every sibling's own verdict fresh from GitHub, so the last writer
// sees the last state. A sibling without a verdict for its current inputs
// (not checked yet, checked against another base, left in progress) counts
// as blocking, and a job of its own is queued for it: the event on one
// pull request re-judges the others through their own jobs rather than in
// this one, which would have to write their ledgers from outside their
// queues.

// commitLocks serializes the writing of a commit's conclusion across the
// pull requests whose head it is. It is in process: several replicas
// sharing work need the shared queue's lock instead.
type commitLocks struct {
	mu sync.Mutex
	m  map[string]*commitLock
}

type commitLock struct {
	ch    chan struct{}
	users int
}

// lock waits for the commit's lock; the returned function releases it.
func (c *commitLocks) lock(ctx context.Context, key string) (func(), error) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*commitLock{}
	}
	l := c.m[key]
	if l == nil {
		l = &commitLock{ch: make(chan struct{}, 1)}
		c.m[key] = l
	}
	l.users++
	c.mu.Unlock()
	release := func() {
		c.mu.Lock()
		l.users--
		if l.users == 0 {
			delete(c.m, key)
		}
		c.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, fmt.Errorf("waiting for the other pull requests of the commit: %w", ctx.Err())
	}
}

// inputsIDFor names what one pull request's check of a commit depends on:
// the pull request, its base, the head and this version of the service.
// The pull request's number is in clear so that its runs can be told from
// its siblings' ones on the same commit (0 for a merge queue's commit).
func inputsIDFor(pr int, base, head, version string) string {
	return "mg2:" + strconv.Itoa(pr) + ":" + hashHex(strconv.Itoa(pr)+"\x00"+base+"\x00"+head+"\x00"+version)
}

// runPR is the pull request a run of this App belongs to, from its
// external id; -1 for a run of an older version that did not say.
func runPR(run *github.CheckRun) int {
	rest, ok := strings.CutPrefix(run.GetExternalID(), "mg2:")
	if !ok {
		return -1
	}
	n, _, _ := strings.Cut(rest, ":")
	pr, err := strconv.Atoi(n)
	if err != nil {
		return -1
	}
	return pr
}

// Markers around the note, on top of the summary, about the other pull
// requests of the commit.
const (
	commitNoteStart = "<!-- migration-guard:commit -->\n"
	commitNoteEnd   = "<!-- /migration-guard:commit -->\n"
	// blockedTitle starts the title of a run whose own pull request
	// passes while another one of the commit does not.
	blockedTitle = "Blocked by another pull request of this commit · "
)

// ownOf is the verdict a run's external id records for its own pull
// request, and the inputs id before it; "" when it records none.
func ownOf(run *github.CheckRun) (inputs, own string) {
	ext := run.GetExternalID()
	i := strings.LastIndexByte(ext, ':')
	if runPR(run) < 0 || strings.Count(ext, ":") != 3 || i < 0 {
		return ext, ""
	}
	return ext[:i], ext[i+1:]
}

// ownOutput is a run's output without what the shared conclusion added.
func ownOutput(o *github.CheckRunOutput) checklist.CheckOutput {
	summary := o.GetSummary()
	if strings.HasPrefix(summary, commitNoteStart) {
		if i := strings.Index(summary, commitNoteEnd); i >= 0 {
			summary = summary[i+len(commitNoteEnd):]
		}
	}
	return checklist.CheckOutput{Title: strings.TrimPrefix(o.GetTitle(), blockedTitle), Summary: summary, Text: o.GetText()}
}

// strictness orders conclusions: the strictest one wins. Anything GitHub
// does not count as passing ranks above success and neutral; one the App
// does not know ranks as a failure.
func strictness(conclusion string) int {
	switch conclusion {
	case "success":
		return 0
	case "neutral", "skipped":
		return 1
	case "cancelled", "stale", "timed_out":
		return 2
	case "action_required", verdictPending:
		return 3
	}
	return 4
}

// verdictPending marks a sibling whose verdict for its current inputs is
// not known yet: it blocks like a missing approval.
const verdictPending = "pending"

// siblingState is one open pull request of the commit, as the shared
// conclusion sees it.
type siblingState struct {
	number     int
	baseRef    string
	conclusion string
}

// commitPulls lists the open pull requests of the repository whose head is
// the commit. GitHub's list of a commit's pull requests
// (commits/{sha}/pulls) is filled in asynchronously after a push and also
// names pull requests that merely contain the commit; the list of open pull
// requests is exact, so it is read in full and filtered by head SHA. It
// includes pull requests from forks, whose head commit is the same object.
func (r *jobRun) commitPulls(ctx context.Context, sha string) ([]*github.PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 100}}
	var out []*github.PullRequest
	for {
		page, resp, err := r.gh.PullRequests.List(ctx, r.j.Owner, r.j.Repo, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the open pull requests to find those whose head is %s (page %d): %w", short(sha), max(opts.Page, 1), err)
		}
		for _, pr := range page {
			if pr.GetHead().GetSHA() == sha && pr.GetState() == "open" {
				out = append(out, pr)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetNumber() < out[j].GetNumber() })
	return out, nil
}

// verdictInput is what a job hands to writeVerdict about its own pull
// request: its own conclusion and output, nil when the job only derives
// the shared conclusion again (a pull request closed, a check already
// done).
type verdictInput struct {
	// atHead says the job read from GitHub that its pull request is open
	// with this head: its verdict counts even if the list of open pull
	// requests lags behind.
	atHead     bool
	conclusion string
	out        checklist.CheckOutput
	anns       []checklist.Annotation
	details    string
}

// writeVerdict writes the commit's conclusion: the job's own run gets its
// own output (when own is set) and, like every other run of the App on the
// commit, the strictest conclusion over the open pull requests whose head
// the commit is. It returns that conclusion.
func (r *jobRun) writeVerdict(ctx context.Context, own *verdictInput) (string, error) {
	key := fmt.Sprintf("%d/%s/%s@%s", r.j.InstallationID, strings.ToLower(r.j.Owner), strings.ToLower(r.j.Repo), r.head)
	unlock, err := r.s.commits.lock(ctx, key)
	if err != nil {
		return "", err
	}
	defer unlock()
	if r.s.sharedLock != nil {
		// Replicas sharing a queue: the other pull requests of the commit
		// may be checked on another one.
		unlockShared, err := r.s.sharedLock(ctx, key)
		if err != nil {
			return "", fmt.Errorf("waiting for the other pull requests of the commit: %w", err)
		}
		defer unlockShared()
	}
	pulls, err := r.commitPulls(ctx, r.head)
	if err != nil {
		return "", err
	}
	runs, err := r.appRuns(ctx, r.head)
	if err != nil {
		return "", err
	}
	var states []siblingState
	ownListed := false
	for _, pr := range pulls {
		n := pr.GetNumber()
		st := siblingState{number: n, baseRef: pr.GetBase().GetRef()}
		switch {
		case n == r.j.Number && own != nil:
			st.conclusion = own.conclusion
		default:
			st.conclusion = r.storedVerdict(runs, n, pr.GetBase().GetSHA())
			if st.conclusion == verdictPending && n != r.j.Number {
				r.queueSibling(n)
			}
		}
		ownListed = ownListed || n == r.j.Number
		states = append(states, st)
	}
	if own != nil && !ownListed && (own.atHead || len(states) == 0) {
		// Open at this head as the job read it (the list may lag), or no
		// longer, and no other pull request is: its own verdict counts.
		// One whose head moved on (a cancelled job) does not block the
		// others.
		states = append(states, siblingState{number: r.j.Number, baseRef: r.baseRef, conclusion: own.conclusion})
		sort.Slice(states, func(i, j int) bool { return states[i].number < states[j].number })
	}
	if own == nil && len(states) == 0 {
		return "", nil
	}
	combined := "success"
	for _, st := range states {
		if strictness(st.conclusion) > strictness(combined) {
			combined = st.conclusion
		}
	}
	if combined == verdictPending {
		combined = "action_required"
	} else if strictness(combined) == 4 {
		combined = "failure"
	}
	note := commitNote(states, combined)
	if len(states) > 1 || combined != "success" {
		r.log.Info("commit verdict", "pull_requests", len(states), "conclusion", combined)
	}
	if own != nil {
		r.ownVerdict = own.conclusion
		if err := r.completeCheckRun(ctx, combined, withNote(own.out, own.conclusion, combined, note), own.anns, own.details); err != nil {
			return "", err
		}
	}
	for _, run := range runs {
		if (own != nil && run.GetID() == r.checkRunID) || run.GetStatus() != "completed" {
			continue
		}
		if err := r.alignRun(ctx, run, combined, note); err != nil {
			return "", err
		}
	}
	return combined, nil
}

// storedVerdict is a pull request's own verdict from its newest run on the
// commit, when that run is finished and was judged against base by this
// version of the service; pending otherwise.
func (r *jobRun) storedVerdict(runs []*github.CheckRun, number int, base string) string {
	for _, run := range runs {
		if runPR(run) != number {
			continue
		}
		inputs, own := ownOf(run)
		if run.GetStatus() != "completed" || own == "" || inputs != inputsIDFor(number, base, r.head, r.s.p.Version) {
			return verdictPending
		}
		return own
	}
	return verdictPending
}

// queueSibling queues a job for another pull request of the commit whose
// verdict is not known for its current inputs. The job reads the pull
// request's head from GitHub, so it names none: a head here could cut
// short a running job on a newer one. It starts from this job's before
// SHA, where a push to a shared branch left the other pull request's
// ledger too: only a ledger written for that pull request is read there.
func (r *jobRun) queueSibling(number int) {
	j := &Job{
		Key: prKey(r.j.InstallationID, r.j.Owner, r.j.Repo, number), Kind: KindPullRequest,
		InstallationID: r.j.InstallationID, Owner: r.j.Owner, Repo: r.j.Repo, Number: number,
		Before: r.j.Before, Event: "same_commit", Enqueued: time.Now(),
	}
	if err := r.s.queue.Enqueue(j); err != nil {
		// It still counts as blocking; its next event checks it.
		r.log.Warn("could not queue the check of another pull request of the commit", "other_pull_request", number, "error", err.Error())
		return
	}
	r.log.Info("queued the check of another pull request of the commit", "other_pull_request", number)
}

// alignRun gives another run of the App on the commit the shared
// conclusion and note, keeping its own text (and so its ledger).
func (r *jobRun) alignRun(ctx context.Context, run *github.CheckRun, combined, note string) error {
	o := run.GetOutput()
	_, own := ownOf(run)
	if own == "" {
		// A run of an older version, or one closed without a verdict: its
		// words are left alone, its conclusion follows the commit's.
		own = combined
	}
	out := withNote(ownOutput(o), own, combined, note)
	if run.GetConclusion() == combined && o.GetTitle() == out.Title && o.GetSummary() == out.Summary {
		return nil
	}
	if out.Title == "" {
		out.Title = checklist.CheckRunName
	}
	if out.Summary == "" {
		out.Summary = out.Title
	}
	_, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.j.Owner, r.j.Repo, run.GetID(), github.UpdateCheckRunOptions{
		Name: checklist.CheckRunName, Status: github.String("completed"), Conclusion: github.String(combined),
		Output: checkOutput(out, nil, true),
	})
	if err != nil {
		return fmt.Errorf("giving check run %d the commit's conclusion: %w", run.GetID(), err)
	}
	return nil
}

// withNote puts the note on top of a run's own output, and says in the
// title when another pull request decides the conclusion.
func withNote(out checklist.CheckOutput, own, combined, note string) checklist.CheckOutput {
	if note != "" {
		summary := commitNoteStart + note + commitNoteEnd + out.Summary
		if r := []rune(summary); len(r) > checklist.CheckOutputLimit {
			summary = string(r[:checklist.CheckOutputLimit])
		}
		out.Summary = summary
	}
	if combined != own && strictness(combined) > strictness(own) {
		out.Title = clipTitle(blockedTitle + out.Title)
	}
	return out
}

func clipTitle(s string) string {
	const limit = 250
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}

// commitNote tells the readers of any run on the commit which pull requests
// share it and what each needs; empty for a commit of one pull request
// whose own result is the commit's.
func commitNote(states []siblingState, combined string) string {
	if len(states) <= 1 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**This commit is the head of %d open pull requests.** The check is the strictest of their results (each judged with its own base branch's configuration and its own approvals): **%s**.\n\n", len(states), conclusionWords(combined))
	for _, st := range states {
		fmt.Fprintf(&b, "- #%d into `%s`: %s\n", st.number, st.baseRef, conclusionWords(st.conclusion))
	}
	b.WriteString("\n")
	return b.String()
}

func conclusionWords(c string) string {
	switch c {
	case "success":
		return "passes"
	case "action_required":
		return "needs approval"
	case verdictPending:
		return "not checked yet"
	case "neutral", "skipped":
		return c
	case "cancelled", "stale", "timed_out":
		return "not finished (" + c + ")"
	}
	return "failed (" + c + ")"
}
