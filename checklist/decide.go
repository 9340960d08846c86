package checklist

// The approval protocol's decisions, as pure functions of facts: the
// webhook event, GitHub's answers, the ledger read from the App's own
// check runs and the analysis. Nothing here reads the network, the clock
// or the environment: the webhook package asks GitHub, passes the answers
// in and writes the outcome. A decision that needs an answer not yet
// given says which (Need), so that GitHub is asked only what a decision
// depends on, in the order the conditions are checked.

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/migration-guard/migration-guard/analyzer"
)

// MaxListedCommits is where GitHub stops listing a pull request's commits:
// beyond it, some authors and committers cannot be ruled out.
const MaxListedCommits = 250

// Outcomes of a decision on an edit, for logs and metrics.
const (
	OutcomeApproved  = "approved"
	OutcomeRefused   = "refused"
	OutcomeRevoked   = "revoked"
	OutcomeRestored  = "restored"
	OutcomeIgnored   = "ignored"
	OutcomeDuplicate = "duplicate"
)

// EditKind is what an edit of the sticky comment did.
type EditKind int

// Edit kinds.
const (
	EditNone   EditKind = iota // nothing the App wrote changed
	EditTick                   // only the box, unticked to ticked
	EditUntick                 // only the box, ticked to unticked
	EditOther                  // anything else: rendered back
)

func (k EditKind) String() string {
	return [...]string{"none", "tick", "untick", "other"}[k]
}

// ClassifyEdit compares the body before an edit with the body after it.
// Line endings and trailing space do not count: browsers send CRLF.
func ClassifyEdit(old, cur string) (EditKind, Box) {
	canonOld, boxOld, okOld := CanonicalSticky(old)
	canonNew, boxNew, okNew := CanonicalSticky(cur)
	switch {
	case okOld && okNew && canonOld == canonNew && boxOld.Ticked != boxNew.Ticked:
		if boxNew.Ticked {
			return EditTick, boxNew
		}
		return EditUntick, boxNew
	case NormalizeBody(old) == NormalizeBody(cur):
		return EditNone, boxNew
	}
	return EditOther, boxNew
}

// NormalizeBody is a comment body with CRLF line endings and trailing
// space taken out, as two bodies are compared.
func NormalizeBody(s string) string {
	return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), " \n")
}

// Account is a GitHub account as a signed webhook names it.
type Account struct {
	Login string
	ID    int64
	Type  string // User, Bot, Organization
}

// HeadState is what the App's check runs say about the pull request's
// current head, for the current base and service version.
type HeadState int

// Head states.
const (
	// HeadUnchecked: no finished check of the current inputs (a push not
	// checked yet, a run left in progress, a base that moved, a failed
	// check). There is no ledger to decide against.
	HeadUnchecked HeadState = iota
	// HeadNoBox: checked, and the check holds no approval state for this
	// pull request (nothing needs approval, or another pull request with
	// this head wrote it).
	HeadNoBox
	// HeadLedger: checked, with this pull request's ledger.
	HeadLedger
)

// Need is a fact a decision waits for.
type Need int

// Needs, in the order a tick's conditions ask for them.
const (
	NeedNothing  Need = iota
	NeedAnalysis      // the head's analysis now: its fingerprint and the comment the App renders
	NeedRole          // GitHub's role_name for the sender
	NeedTeams         // whether the sender is an active member of a listed team
	NeedCommits       // the authors and committers of the pull request's commits
)

func (n Need) String() string {
	return [...]string{"nothing", "analysis", "role", "teams", "commits"}[n]
}

// RoleAnswer is GitHub's answer about the sender's access
// (collaborators/{user}/permission).
type RoleAnswer struct {
	RoleName string
	// UserID is the account the answer is for; it must be the sender's.
	UserID int64
}

// CommitPeople is one commit of the pull request with its GitHub author
// and committer ("" when GitHub links no account).
type CommitPeople struct {
	SHA, Author, Committer string
}

// Analysis is the head's analysis as the App computes it now.
type Analysis struct {
	// OK is false when the configuration or the changed files could not
	// be read into a report.
	OK          bool
	Fingerprint string
	// Expected is the sticky comment the App renders from this analysis
	// and the head's ledger.
	Expected string
}

// EditFacts is everything a decision on an edit of the sticky comment
// depends on.
type EditFacts struct {
	// The event, from the signed webhook.
	Old, New      string // changes.body.from and the body after the edit
	CommentAuthor Account
	Sender        Account
	Delivery      string
	Comment       int64
	// AppLogin is the App's bot account, <slug>[bot].
	AppLogin string

	// The pull request, as GitHub says now.
	Open    bool
	PR      int
	Head    string
	BaseRef string
	Author  string
	// Commits is the pull request's commit count.
	Commits int
	// Policy is the base branch's approval configuration.
	Policy analyzer.ApprovalConfig

	// The head's check.
	State  HeadState
	Ledger *Ledger // with State HeadLedger

	// Answers given when asked for (nil: not asked yet).
	Analysis   *Analysis
	Role       *RoleAnswer
	TeamMember *bool
	// CommitList is the pull request's commits, all pages.
	CommitList *[]CommitPeople

	// Now is the time decisions are recorded at.
	Now time.Time
}

// Decision is what to do about an edit.
type Decision struct {
	// Need, when set, is the answer to get before deciding: ask GitHub and
	// decide again with it. Nothing else is set then.
	Need Need
	// Check says the head has no ledger of its current analysis: check it
	// (again, when Recheck) and decide on the ledger that builds, with
	// DecideUnchecked.
	Check, Recheck bool

	Kind    EditKind
	Outcome string
	Reason  string
	// Ledger is the head's ledger after the decision (the input's when
	// nothing changed); nil when there is none.
	Ledger *Ledger
	// Render says the comment must be made to show Ledger.
	Render bool
}

func (f *EditFacts) fromApp() bool { return strings.EqualFold(f.Sender.Login, f.AppLogin) }

func (f *EditFacts) record(kind, fp string) LedgerRecord {
	return LedgerRecord{
		Kind: kind, Login: f.Sender.Login, UserID: f.Sender.ID, At: f.Now.UTC().Truncate(time.Second), Fingerprint: fp,
		Head: f.Head, PR: f.PR, BaseRef: f.BaseRef, Delivery: f.Delivery, Comment: f.Comment,
	}
}

func (f *EditFacts) note(kind, reason string) *LedgerNote {
	return &LedgerNote{Kind: kind, Login: f.Sender.Login, At: f.Now.UTC().Truncate(time.Second), Reason: reason, Delivery: f.Delivery, Comment: f.Comment}
}

// DecideEdit decides on an edit of the App's sticky comment. Nothing in
// the comment is trusted: who acted comes from the signed delivery, what
// they may do from GitHub's answers, and what is approved from the ledger
// in the App's own check run on the current head.
func DecideEdit(f EditFacts) Decision {
	ignore := func(kind EditKind, reason string, l *Ledger) Decision {
		return Decision{Kind: kind, Outcome: OutcomeIgnored, Reason: reason, Ledger: l}
	}
	if !f.Open {
		return ignore(EditNone, "the pull request is not open", nil)
	}
	if !strings.EqualFold(f.CommentAuthor.Login, f.AppLogin) || f.CommentAuthor.Type != "Bot" {
		return ignore(EditNone, "not the App's comment", nil)
	}
	kind, box := ClassifyEdit(f.Old, f.New)
	if kind == EditNone {
		return ignore(kind, "nothing the App wrote changed", nil)
	}
	switch f.State {
	case HeadNoBox:
		return ignore(kind, "the head's check holds no approval state for this pull request", nil)
	case HeadUnchecked:
		if f.fromApp() && kind != EditTick {
			return ignore(kind, "the App's own edit", nil)
		}
		return Decision{Kind: kind, Check: true}
	}
	l := f.Ledger
	if f.Analysis == nil {
		return Decision{Kind: kind, Need: NeedAnalysis}
	}
	if !f.Analysis.OK || f.Analysis.Fingerprint != l.Fingerprint {
		// The analysis no longer matches the check (production data read
		// by a probe changed, say): check again, then decide on that.
		if f.fromApp() && kind != EditTick {
			return ignore(kind, "the App's own edit", nil)
		}
		return Decision{Kind: kind, Check: true, Recheck: true}
	}
	if l.Seen(f.Delivery) {
		// Decided already (GitHub redelivered it, or the service forgot
		// it in a restart). The comment is made to show the ledger, in
		// case the first run stopped between the two writes.
		return Decision{Kind: kind, Outcome: OutcomeDuplicate, Reason: "this delivery was decided already", Ledger: l, Render: true}
	}
	next := l.Clone()
	d := Decision{Kind: kind, Ledger: next, Render: true}
	switch kind {
	case EditOther:
		switch {
		case NormalizeBody(f.New) == NormalizeBody(f.Analysis.Expected):
			return ignore(kind, "the comment already shows the ledger", l)
		case f.fromApp():
			// An earlier write of the App's, echoed after a newer one.
			return ignore(kind, "the App's own edit", l)
		}
		d.Outcome, d.Reason = OutcomeRestored, ReasonOnlyBox()
		next.Note = f.note(NoteUndone, d.Reason)
	case EditUntick:
		// Revoking is the safe direction: anyone who may edit the comment
		// may revoke.
		if l.Approved() {
			d.Outcome, d.Reason = OutcomeRevoked, "unticked"
			next.Add(f.record(RecordRevocation, l.Fingerprint))
		} else {
			d.Outcome, d.Reason = OutcomeRestored, "no approval was in force"
		}
	case EditTick:
		reason, need := authorize(&f, box)
		if need != NeedNothing {
			return Decision{Kind: kind, Need: need}
		}
		if reason == "" {
			d.Outcome, d.Reason = OutcomeApproved, "every condition holds"
			next.Add(f.record(RecordApproval, l.Fingerprint))
		} else {
			d.Outcome, d.Reason = OutcomeRefused, reason
			next.Note = f.note(NoteRefused, reason)
		}
	}
	return d
}

// authorize checks a tick against every condition, in order; the first
// that fails is the reason ("" when all hold), or the answer it needs.
func authorize(f *EditFacts, box Box) (string, Need) {
	s, l, p := f.Sender, f.Ledger, f.Policy
	switch {
	case f.fromApp():
		return ReasonApp(), NeedNothing
	case s.Type != "User" || s.ID <= 0:
		return ReasonBot(s.Login), NeedNothing
	case box.Fingerprint != l.Fingerprint:
		return ReasonFingerprint(box.Fingerprint, l.Fingerprint), NeedNothing
	}
	// The ticked comment must be the App's current text: the body with the
	// box reset equals what the App renders now.
	canonNew, _, ok := CanonicalSticky(f.New)
	canonExp, _, _ := CanonicalSticky(f.Analysis.Expected)
	if !ok || canonNew != canonExp {
		return ReasonStaleComment(), NeedNothing
	}
	if f.Role == nil {
		return "", NeedRole
	}
	if f.Role.UserID != s.ID {
		return ReasonOtherAccount(s.Login), NeedNothing
	}
	if !p.RoleQualifies(f.Role.RoleName) {
		return ReasonRole(s.Login, f.Role.RoleName, p), NeedNothing
	}
	if len(p.Users) > 0 || len(p.Teams) > 0 {
		listed := ListedUser(p, s.Login)
		if !listed && len(p.Teams) > 0 {
			if f.TeamMember == nil {
				return "", NeedTeams
			}
			listed = *f.TeamMember
		}
		if !listed {
			return ReasonNotListed(s.Login), NeedNothing
		}
	}
	if p.AllowAuthor {
		return "", NeedNothing
	}
	if strings.EqualFold(f.Author, s.Login) {
		return ReasonAuthor(s.Login), NeedNothing
	}
	if f.Commits > MaxListedCommits {
		return ReasonTooManyCommits(f.Commits), NeedNothing
	}
	if f.CommitList == nil {
		return "", NeedCommits
	}
	list := *f.CommitList
	for _, c := range list {
		if strings.EqualFold(c.Author, s.Login) {
			return ReasonCommitter(s.Login, "author", c.SHA), NeedNothing
		}
		if strings.EqualFold(c.Committer, s.Login) {
			return ReasonCommitter(s.Login, "committer", c.SHA), NeedNothing
		}
	}
	if len(list) >= MaxListedCommits {
		// The count in the pull request may lag a push: trust the listing.
		return ReasonTooManyCommits(len(list)), NeedNothing
	}
	return "", NeedNothing
}

// ListedUser says whether login is one of the configured users.
func ListedUser(p analyzer.ApprovalConfig, login string) bool {
	for _, u := range p.Users {
		if strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(u), "@"), login) {
			return true
		}
	}
	return false
}

// DecideUnchecked records an edit made while the head had no finished
// check in the ledger the head's check builds (l, carried from the
// commit it follows): a tick cannot be judged against a ledger that did
// not exist yet, so it is refused; an untick revokes whatever approval
// the head carries; any other edit is undone. It returns the decision
// with the amended ledger.
func DecideUnchecked(f EditFacts, l *Ledger) Decision {
	kind, _ := ClassifyEdit(f.Old, f.New)
	next := l.Clone()
	d := Decision{Kind: kind, Ledger: next, Render: true}
	if l.Seen(f.Delivery) {
		d.Outcome, d.Reason = OutcomeDuplicate, "this delivery was decided already"
		return d
	}
	switch kind {
	case EditTick:
		d.Outcome, d.Reason = OutcomeRefused, ReasonInProgress(f.Head)
		next.Note = f.note(NoteRefused, d.Reason)
	case EditUntick:
		if l.Approved() {
			d.Outcome, d.Reason = OutcomeRevoked, "unticked while the head was being checked"
			next.Add(f.record(RecordRevocation, l.Fingerprint))
		} else {
			d.Outcome, d.Reason = OutcomeRestored, "no approval was in force"
		}
	default:
		d.Outcome, d.Reason = OutcomeRestored, ReasonOnlyBox()
		next.Note = f.note(NoteUndone, d.Reason)
	}
	return d
}

// ReconcileBox compares the box the sticky comment shows (body) with the
// ledger of the head, when nothing says how the two came apart: after a
// restart, or when a push carries an approval. The box is input, never
// authority. A ticked box without an approval in the ledger approves
// nothing (whoever ticked it is not known from the box): the comment is
// rendered back. An unticked box while the ledger holds an approval may
// be an untick that was accepted and then lost, and the App cannot tell:
// the approval is revoked (fail closed). ok is false when nothing is to
// be done.
func ReconcileBox(body string, l *Ledger, now time.Time) (Decision, bool) {
	if !l.NeedsApproval() {
		return Decision{}, false
	}
	_, box, ok := CanonicalSticky(body)
	if !ok {
		// No box (the comment shows another state, or was altered): it
		// says nothing about a revocation; a check renders it anew.
		return Decision{}, false
	}
	switch {
	case !box.Ticked && l.Approved():
		next := l.Clone()
		next.Add(LedgerRecord{
			Kind: RecordRevocation, At: now.UTC().Truncate(time.Second), Fingerprint: l.Fingerprint,
			Head: l.Head, PR: l.PR, BaseRef: l.BaseRef, Reason: ReasonBoxUnticked(),
		})
		return Decision{Kind: EditUntick, Outcome: OutcomeRevoked, Reason: ReasonBoxUnticked(), Ledger: next, Render: true}, true
	case box.Ticked && !l.Approved():
		next := l.Clone()
		next.Note = &LedgerNote{Kind: NoteUndone, At: now.UTC().Truncate(time.Second), Reason: ReasonTickNotRecorded()}
		return Decision{Kind: EditTick, Outcome: OutcomeRestored, Reason: ReasonTickNotRecorded(), Ledger: next, Render: true}, true
	}
	return Decision{}, false
}

// RevokeUnfinished records the revocation an accepted untick (f, an
// edit of the App's comment) carries when its job could not finish:
// GitHub kept failing, or the deadline passed. Revoking needs no
// authorization (anyone who may edit the comment may untick), so it is
// recorded without the answers a decision would ask for, and without an
// analysis: the approval in l is revoked whatever it was given for. ok is
// false when there is nothing to record: not an untick of the App's
// comment, no approval in force, one given after the untick was accepted
// (f.Now), or the delivery is in the ledger already (an attempt that got
// as far as writing it).
func RevokeUnfinished(f EditFacts, l *Ledger) (Decision, bool) {
	if !f.Open || !l.NeedsApproval() || !strings.EqualFold(f.CommentAuthor.Login, f.AppLogin) || f.CommentAuthor.Type != "Bot" {
		return Decision{}, false
	}
	if kind, _ := ClassifyEdit(f.Old, f.New); kind != EditUntick || !l.Approved() || l.Seen(f.Delivery) {
		return Decision{}, false
	}
	if l.Approval().At.After(f.Now.UTC().Truncate(time.Second)) {
		// Approved after the untick was accepted (f.Now): the untick
		// revoked an earlier approval, if any, not this one.
		return Decision{}, false
	}
	next := l.Clone()
	r := f.record(RecordRevocation, l.Fingerprint)
	r.Reason = ReasonUntickUnfinished()
	next.Add(r)
	return Decision{Kind: EditUntick, Outcome: OutcomeRevoked, Reason: r.Reason, Ledger: next, Render: true}, true
}

// RevokedOutput is the check run output that records a revocation made
// without an analysis (RevokeUnfinished, or ReconcileBox when the job
// that applied it could not finish): the run's previous output with its
// title and summary saying so, and l as the text's last line. The next
// check or decision renders the whole output again.
func RevokedOutput(prev CheckOutput, l *Ledger, reason string) CheckOutput {
	marker := l.Marker()
	body := strings.TrimRight(prev.Text, "\n")
	if i := strings.LastIndexByte(body, '\n'); i >= 0 && strings.HasPrefix(body[i+1:], ledgerMarkerPrefix) {
		body = strings.TrimRight(body[:i], "\n")
	} else if strings.HasPrefix(body, ledgerMarkerPrefix) {
		body = ""
	}
	body = clip(body, CheckOutputLimit-100-utf8.RuneCountInString(marker))
	text := marker
	if body != "" {
		text = body + "\n\n" + marker
	}
	summary := "**The approval was revoked: needs approval again.** " + escapeText(reason) + "\n\n" + prev.Summary
	return CheckOutput{Title: "Approval revoked: needs approval again", Summary: clip(summary, CheckOutputLimit), Text: text}
}

// ReasonUntickUnfinished: an untick was accepted, and its job could not
// finish; the revocation is recorded without it.
func ReasonUntickUnfinished() string {
	return "unticked; the service could not finish deciding (GitHub failing or the deadline passed), so the approval is revoked without it"
}

// ReasonBoxUnticked: the comment showed the box unticked while the ledger
// held an approval, and no recorded decision explains it.
func ReasonBoxUnticked() string {
	return "the comment showed the box unticked, and an untick may have been accepted but not recorded (the service stopped): approve again if this was not meant"
}

// ReasonTickNotRecorded: the comment showed the box ticked while the
// ledger held no approval, and no recorded decision explains it.
func ReasonTickNotRecorded() string {
	return "the box was ticked, but no approval was recorded (the service may have stopped before deciding): tick again"
}

// PriorRun is one of the App's check runs on a commit, as GitHub lists it.
type PriorRun struct {
	ID         int64
	Status     string
	Conclusion string
	// Text is the run's output text: the ledger is its last line.
	Text string
}

// PriorStep is what one commit's check runs say about where a head's
// approval state comes from.
type PriorStep struct {
	// Ledger is found: this pull request's ledger on the commit.
	Ledger *Ledger
	// Follow is the commit a superseded check of this commit would have
	// carried its ledger from: look there next.
	Follow string
	// LookBefore says the commit was never checked to the end (no run, or
	// only runs a newer push superseded without a pointer): look at the
	// commit before it.
	LookBefore bool
	// Stop, when set, says why nothing may be carried past this commit.
	Stop string
}

// PriorAt reads the App's runs on sha (newest first) for pull request pr.
// The newest finished run decides: one with this pull request's ledger
// is the state to carry; one that was superseded or failed points to
// where its ledger would have come from (a superseded one without a
// pointer says nothing: then the older runs decide); any other finished
// run (a failure, nothing needing approval,
// another pull request's check) ends the search, because whatever
// decisions were made up to it are not known: nothing is carried past it.
// A run still in progress was left by a stopped service: not known
// either.
func PriorAt(pr int, sha string, runs []PriorRun) PriorStep {
	for _, run := range runs {
		if run.Status != "completed" {
			return PriorStep{Stop: fmt.Sprintf("the check of %s did not finish", short(sha))}
		}
		if l, ok := ParseLedger(run.Text, sha); ok {
			if l.PR != pr {
				return PriorStep{Stop: fmt.Sprintf("the check of %s belongs to another pull request", short(sha))}
			}
			return PriorStep{Ledger: l}
		}
		if to := PriorOf(run.Text); to != "" && to != sha && (run.Conclusion == "cancelled" || run.Conclusion == "failure") {
			return PriorStep{Follow: to}
		}
		if run.Conclusion == "cancelled" {
			// Superseded before it knew where to start: it decided
			// nothing, and the older runs say what held.
			continue
		}
		return PriorStep{Stop: fmt.Sprintf("the check of %s ended as %s without an approval state", short(sha), run.Conclusion)}
	}
	return PriorStep{LookBefore: true}
}

// NewerDecision says whether any of the other ledgers read holds a
// revocation or reset of this pull request newer than the approval in
// force in chosen: then the approval does not carry. Records are matched
// by delivery where they have one, and ordered by their time otherwise.
func NewerDecision(chosen *Ledger, others []*Ledger) bool {
	appr := chosen.Approval()
	if appr == nil {
		return false
	}
	for _, o := range others {
		if o == nil || o == chosen || o.PR != chosen.PR {
			continue
		}
		at := -1
		for i, r := range o.Records {
			if r.Kind == RecordApproval && r.At.Equal(appr.At) && r.UserID == appr.UserID && r.Delivery == appr.Delivery {
				at = i
			}
		}
		for i, r := range o.Records {
			if r.Kind != RecordRevocation && r.Kind != RecordReset {
				continue
			}
			if (at >= 0 && i > at) || (at < 0 && r.At.After(appr.At)) {
				return true
			}
		}
	}
	return false
}

// GuardPrior is the ledger a head may start from, given the one found
// (chosen) and the others read on the way: when one of them holds a newer
// revocation or reset, a reset is added so that the found approval does
// not carry. stale says whether that happened.
func GuardPrior(chosen *Ledger, others []*Ledger, now time.Time) (l *Ledger, stale bool) {
	if !NewerDecision(chosen, others) {
		return chosen, false
	}
	l = chosen.Clone()
	l.Add(LedgerRecord{Kind: RecordReset, At: now.UTC().Truncate(time.Second), Fingerprint: l.Fingerprint,
		Head: l.Head, PR: l.PR, BaseRef: l.BaseRef, Reason: ReasonNewerDecision()})
	return l, true
}

// ReasonNewerDecision: an approval found was followed by a revocation or
// reset in another ledger of the pull request.
func ReasonNewerDecision() string {
	return "a newer revocation or reset of this pull request was found"
}

const priorPrefix = "<!-- migration-guard:prior sha="

// PriorText is the last line of the text of a check run that ended
// without a ledger (superseded, or failed): the commit its ledger would
// have been carried from, as GitHub named it (a synchronize event's
// before, or a commit whose ledger was found), so that a later push can
// follow it past this commit. It is written only to the App's own check
// runs.
func PriorText(prior string) string {
	if !hexSHA.MatchString(prior) {
		return ""
	}
	return priorPrefix + prior + markerSuffix
}

// PriorOf reads PriorText from a check run's text ("" when
// there is none).
func PriorOf(text string) string {
	text = strings.TrimRight(text, "\n")
	last := text[strings.LastIndexByte(text, '\n')+1:]
	inner, ok := strings.CutPrefix(last, priorPrefix)
	if !ok {
		return ""
	}
	sha, ok := strings.CutSuffix(inner, markerSuffix)
	if !ok || !hexSHA.MatchString(sha) {
		return ""
	}
	return sha
}
