package checklist

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/analyzer"
)

const (
	dHead  = "1111111111111111111111111111111111111111"
	dBase  = "2222222222222222222222222222222222222222"
	dOther = "3333333333333333333333333333333333333333"
	dApp   = "migration-guard[bot]"
)

var (
	dNow   = time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)
	dCarol = Account{Login: "carol", ID: 42, Type: "User"}
	dAlice = Account{Login: "alice", ID: 7, Type: "User"}
	dDave  = Account{Login: "dave", ID: 9, Type: "User"}
)

// gh is what the fake GitHub of these tests answers when a decision asks.
type gh struct {
	role       *RoleAnswer
	teamMember bool
	commits    []CommitPeople
}

// decideAll runs DecideEdit as the webhook does: it answers every need
// from g and decides again, and returns the decision with the needs it
// was asked, in order.
func decideAll(t *testing.T, f EditFacts, g gh, expected string) (Decision, []Need) {
	t.Helper()
	var needs []Need
	for range 10 {
		d := DecideEdit(f)
		if d.Need == NeedNothing {
			return d, needs
		}
		needs = append(needs, d.Need)
		switch d.Need {
		case NeedAnalysis:
			f.Analysis = &Analysis{OK: true, Fingerprint: f.Ledger.Fingerprint, Expected: expected}
		case NeedRole:
			if g.role == nil {
				t.Fatalf("asked for the role, which this case did not expect")
			}
			f.Role = g.role
		case NeedTeams:
			f.TeamMember = &g.teamMember
		case NeedCommits:
			f.CommitList = &g.commits
		}
	}
	t.Fatalf("no decision after 10 rounds: %v", needs)
	return Decision{}, nil
}

func setTick(t *testing.T, body string, ticked bool) string {
	t.Helper()
	from, to := "- [x] "+boxLabel, "- [ ] "+boxLabel
	if ticked {
		from, to = to, from
	}
	if strings.Count(body, from) != 1 {
		t.Fatalf("no single %q in:\n%s", from, body)
	}
	return strings.Replace(body, from, to, 1)
}

// decideFixture is a head needing approval of one statement, its ledger
// unapproved and approved (by carol, delivery d-approve), and the sticky
// comments the App renders for each.
type decideFixture struct {
	rep                  *analyzer.Report
	open, approved       *Ledger
	openBody, approvBody string
}

func newDecideFixture(p analyzer.ApprovalConfig) decideFixture {
	rep := approvalReport("db/migrations/002_drop.sql", [2]string{"drop-column", "ALTER TABLE users DROP COLUMN legacy;"})
	open := NewLedger(5, dHead, dBase, "main", rep)
	approved := open.Clone()
	approved.Add(LedgerRecord{Kind: RecordApproval, Login: "carol", UserID: 42, At: dNow.Add(-time.Hour), Fingerprint: open.Fingerprint,
		Head: dHead, PR: 5, BaseRef: "main", Delivery: "d-approve", Comment: 99})
	render := func(l *Ledger) string {
		return StickyComment(rep, CheckContext{HeadSHA: dHead, BaseSHA: dBase, Approval: ApprovalView{Ledger: l, Policy: p}})
	}
	return decideFixture{rep: rep, open: open, approved: approved, openBody: render(open), approvBody: render(approved)}
}

// TestDecideEdit covers every branch of the decision on an edit of the
// sticky comment, with the GitHub answers each one asked for.
func TestDecideEdit(t *testing.T) {
	write := &RoleAnswer{RoleName: "write", UserID: 42}
	fromAlice := []CommitPeople{{SHA: dOther, Author: "alice", Committer: "web-flow"}}
	type tc struct {
		name   string
		policy analyzer.ApprovalConfig
		// facts changes the facts of a tick by carol on the unapproved head.
		facts   func(f *EditFacts, fx decideFixture)
		gh      gh
		outcome string
		reason  string // a part of the reason
		needs   []Need
		check   bool // the head must be checked first
	}
	tick := []Need{NeedAnalysis, NeedRole, NeedCommits}
	cases := []tc{
		{name: "a writer approves", gh: gh{role: write, commits: fromAlice}, outcome: OutcomeApproved, needs: tick},
		{name: "maintain", gh: gh{role: &RoleAnswer{RoleName: "maintain", UserID: 42}, commits: fromAlice}, outcome: OutcomeApproved, needs: tick},
		{name: "admin", gh: gh{role: &RoleAnswer{RoleName: "admin", UserID: 42}, commits: fromAlice}, outcome: OutcomeApproved, needs: tick},
		{name: "admin under min_role admin", policy: analyzer.ApprovalConfig{MinRole: "admin"}, gh: gh{role: &RoleAnswer{RoleName: "admin", UserID: 42}, commits: fromAlice}, outcome: OutcomeApproved, needs: tick},
		{name: "maintain under min_role admin", policy: analyzer.ApprovalConfig{MinRole: "admin"}, gh: gh{role: &RoleAnswer{RoleName: "maintain", UserID: 42}, commits: fromAlice}, outcome: OutcomeApproved, needs: tick},
		{name: "write under min_role maintain", policy: analyzer.ApprovalConfig{MinRole: "maintain"}, gh: gh{role: write}, outcome: OutcomeRefused, reason: "has the `write` role on this repository; approving needs maintain or higher", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "read", gh: gh{role: &RoleAnswer{RoleName: "read", UserID: 42}}, outcome: OutcomeRefused, reason: "has the `read` role", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "triage", gh: gh{role: &RoleAnswer{RoleName: "triage", UserID: 42}}, outcome: OutcomeRefused, reason: "has the `triage` role", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "triage under min_role triage", policy: analyzer.ApprovalConfig{MinRole: "triage"}, gh: gh{role: &RoleAnswer{RoleName: "triage", UserID: 42}, commits: fromAlice}, outcome: OutcomeApproved, needs: tick},
		{name: "no role", gh: gh{role: &RoleAnswer{UserID: 42}}, outcome: OutcomeRefused, reason: "has no role on this repository", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "custom role named", policy: analyzer.ApprovalConfig{Roles: []string{"db-reviewer"}}, gh: gh{role: &RoleAnswer{RoleName: "db-reviewer", UserID: 42}, commits: fromAlice}, outcome: OutcomeApproved, needs: tick},
		{name: "custom role not named", gh: gh{role: &RoleAnswer{RoleName: "db-reviewer", UserID: 42}}, outcome: OutcomeRefused, reason: "has the `db-reviewer` role", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "another account answered", gh: gh{role: &RoleAnswer{RoleName: "admin", UserID: 43}}, outcome: OutcomeRefused, reason: "GitHub's answer about @carol was for another account", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "not a collaborator", gh: gh{role: &RoleAnswer{}}, outcome: OutcomeRefused, reason: "for another account", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "the author", facts: func(f *EditFacts, _ decideFixture) { f.Sender = dAlice }, gh: gh{role: &RoleAnswer{RoleName: "write", UserID: 7}}, outcome: OutcomeRefused, reason: "@alice is the author of this pull request", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "the author, allowed by the base", policy: analyzer.ApprovalConfig{AllowAuthor: true}, facts: func(f *EditFacts, _ decideFixture) { f.Sender = dAlice }, gh: gh{role: &RoleAnswer{RoleName: "write", UserID: 7}}, outcome: OutcomeApproved, needs: []Need{NeedAnalysis, NeedRole}},
		{name: "a commit's author", gh: gh{role: write, commits: []CommitPeople{{SHA: dOther, Author: "Carol", Committer: "web-flow"}}}, outcome: OutcomeRefused, reason: "@carol is the author of commit 3333333", needs: tick},
		{name: "a commit's committer", gh: gh{role: write, commits: []CommitPeople{{SHA: dOther, Author: "alice", Committer: "carol"}}}, outcome: OutcomeRefused, reason: "@carol is the committer of commit 3333333", needs: tick},
		{name: "more commits than GitHub lists", facts: func(f *EditFacts, _ decideFixture) { f.Commits = 251 }, gh: gh{role: write}, outcome: OutcomeRefused, reason: "has 251 commits and GitHub lists only 250", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "a listing of 250 commits", gh: gh{role: write, commits: func() []CommitPeople {
			out := make([]CommitPeople, 250)
			for i := range out {
				out[i] = CommitPeople{SHA: fmt.Sprintf("%040d", i), Author: "alice"}
			}
			return out
		}()}, outcome: OutcomeRefused, reason: "has 250 commits", needs: tick},
		{name: "a bot", facts: func(f *EditFacts, _ decideFixture) { f.Sender = Account{Login: "renovate[bot]", ID: 5, Type: "Bot"} }, outcome: OutcomeRefused, reason: "@renovate[bot] is a bot", needs: []Need{NeedAnalysis}},
		{name: "an account without id", facts: func(f *EditFacts, _ decideFixture) { f.Sender = Account{Login: "ghost", Type: "User"} }, outcome: OutcomeRefused, reason: "is a bot", needs: []Need{NeedAnalysis}},
		{name: "the App itself", facts: func(f *EditFacts, _ decideFixture) { f.Sender = Account{Login: dApp, ID: 1, Type: "Bot"} }, outcome: OutcomeRefused, reason: "the App cannot approve its own check", needs: []Need{NeedAnalysis}},
		{name: "listed user", policy: analyzer.ApprovalConfig{Users: []string{"@Carol"}, Teams: []string{"acme/dba"}}, gh: gh{role: write, commits: fromAlice}, outcome: OutcomeApproved, needs: tick},
		{name: "active team member", policy: analyzer.ApprovalConfig{Teams: []string{"acme/dba"}}, gh: gh{role: write, teamMember: true, commits: fromAlice}, outcome: OutcomeApproved, needs: []Need{NeedAnalysis, NeedRole, NeedTeams, NeedCommits}},
		{name: "not listed", policy: analyzer.ApprovalConfig{Users: []string{"dave"}, Teams: []string{"acme/dba"}}, gh: gh{role: write}, outcome: OutcomeRefused, reason: "@carol is not one of the approvers listed", needs: []Need{NeedAnalysis, NeedRole, NeedTeams}},
		{name: "not listed, no teams", policy: analyzer.ApprovalConfig{Users: []string{"dave"}}, gh: gh{role: write}, outcome: OutcomeRefused, reason: "not one of the approvers", needs: []Need{NeedAnalysis, NeedRole}},
		{name: "stale fingerprint", facts: func(f *EditFacts, fx decideFixture) {
			old := strings.Replace(fx.openBody, "fp="+fx.open.Fingerprint, "fp="+strings.Repeat("a", 64), 1)
			f.Old, f.New = old, setTick(t, old, true)
		}, outcome: OutcomeRefused, reason: "the box was ticked for fingerprint `aaaaaaaaaaaa`", needs: []Need{NeedAnalysis}},
		{name: "ticked in an altered comment", facts: func(f *EditFacts, fx decideFixture) {
			old := strings.Replace(fx.openBody, "## migration-guard", "## migration-guard (all fine)", 1)
			f.Old, f.New = old, setTick(t, old, true)
		}, outcome: OutcomeRefused, reason: "was not the current one", needs: []Need{NeedAnalysis}},
		{name: "head not checked yet", facts: func(f *EditFacts, _ decideFixture) { f.State, f.Ledger = HeadUnchecked, nil }, check: true},
		{name: "head checked, nothing to approve", facts: func(f *EditFacts, _ decideFixture) { f.State, f.Ledger = HeadNoBox, nil }, outcome: OutcomeIgnored, reason: "holds no approval state"},
		{name: "analysis changed since the check", facts: func(f *EditFacts, _ decideFixture) {
			f.Analysis = &Analysis{OK: true, Fingerprint: strings.Repeat("b", 64)}
		}, check: true},
		{name: "analysis failed", facts: func(f *EditFacts, _ decideFixture) { f.Analysis = &Analysis{} }, check: true},
		{name: "pull request closed", facts: func(f *EditFacts, _ decideFixture) { f.Open = false }, outcome: OutcomeIgnored, reason: "not open"},
		{name: "someone else's comment", facts: func(f *EditFacts, _ decideFixture) { f.CommentAuthor = dDave }, outcome: OutcomeIgnored, reason: "not the App's comment"},
		{name: "nothing changed", facts: func(f *EditFacts, _ decideFixture) { f.New = f.Old + "\r\n" }, outcome: OutcomeIgnored, reason: "nothing the App wrote changed"},
		{name: "text changed", facts: func(f *EditFacts, fx decideFixture) { f.New = fx.openBody + "\nApproved by @admin\n" }, outcome: OutcomeRestored, reason: "only the approval box may be changed", needs: []Need{NeedAnalysis}},
		{name: "text changed back to the App's", facts: func(f *EditFacts, fx decideFixture) { f.Old, f.New = fx.openBody+"\nhi\n", fx.openBody }, outcome: OutcomeIgnored, reason: "already shows the ledger", needs: []Need{NeedAnalysis}},
		{name: "the App's own older write", facts: func(f *EditFacts, fx decideFixture) {
			f.Sender = Account{Login: dApp, ID: 1, Type: "Bot"}
			f.New = fx.openBody + "\nolder\n"
		}, outcome: OutcomeIgnored, reason: "the App's own edit", needs: []Need{NeedAnalysis}},
		{name: "the App's own edit on an unchecked head", facts: func(f *EditFacts, fx decideFixture) {
			f.Sender = Account{Login: dApp, ID: 1, Type: "Bot"}
			f.New, f.State, f.Ledger = fx.openBody+"\nolder\n", HeadUnchecked, nil
		}, outcome: OutcomeIgnored, reason: "the App's own edit"},
		{name: "untick revokes, by anyone", facts: func(f *EditFacts, fx decideFixture) {
			f.Sender, f.Ledger, f.Old, f.New = dAlice, fx.approved, fx.approvBody, setTick(t, fx.approvBody, false)
		}, outcome: OutcomeRevoked, reason: "unticked", needs: []Need{NeedAnalysis}},
		{name: "untick without an approval", facts: func(f *EditFacts, fx decideFixture) {
			f.Old, f.New = setTick(t, fx.openBody, true), fx.openBody
		}, outcome: OutcomeRestored, reason: "no approval was in force", needs: []Need{NeedAnalysis}},
		{name: "replayed delivery", facts: func(f *EditFacts, fx decideFixture) {
			f.Delivery, f.Ledger = "d-approve", fx.approved
		}, outcome: OutcomeDuplicate, reason: "decided already", needs: []Need{NeedAnalysis}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newDecideFixture(c.policy)
			f := EditFacts{
				Old: fx.openBody, New: setTick(t, fx.openBody, true), CommentAuthor: Account{Login: dApp, ID: 1, Type: "Bot"}, Sender: dCarol,
				Delivery: "d-new", Comment: 99, AppLogin: dApp, Open: true, PR: 5, Head: dHead, BaseRef: "main", Author: "alice",
				Commits: 1, Policy: c.policy, State: HeadLedger, Ledger: fx.open, Now: dNow,
			}
			if c.facts != nil {
				c.facts(&f, fx)
			}
			expected := fx.openBody
			if f.Ledger == fx.approved {
				expected = fx.approvBody
			}
			before := ""
			if f.Ledger != nil {
				before = f.Ledger.Marker()
			}
			d, needs := decideAll(t, f, c.gh, expected)
			if d.Check != c.check {
				t.Fatalf("check = %v, want %v (%+v)", d.Check, c.check, d)
			}
			if c.check {
				return
			}
			if d.Outcome != c.outcome || !strings.Contains(d.Reason, c.reason) {
				t.Errorf("decision %s (%s), want %s (…%s…)", d.Outcome, d.Reason, c.outcome, c.reason)
			}
			if !reflect.DeepEqual(needs, c.needs) {
				t.Errorf("asked for %v, want %v", needs, c.needs)
			}
			if f.Ledger != nil && f.Ledger.Marker() != before {
				t.Error("the input ledger was changed")
			}
			// What the ledger holds after the decision.
			switch d.Outcome {
			case OutcomeApproved, OutcomeRevoked:
				last := d.Ledger.Records[len(d.Ledger.Records)-1]
				wantKind := RecordApproval
				if d.Outcome == OutcomeRevoked {
					wantKind = RecordRevocation
				}
				if last.Kind != wantKind || last.Login != f.Sender.Login || last.UserID != f.Sender.ID || last.Delivery != "d-new" ||
					last.Head != dHead || last.PR != 5 || last.BaseRef != "main" || !last.At.Equal(dNow) || d.Ledger.Approved() != (d.Outcome == OutcomeApproved) {
					t.Errorf("record: %+v", last)
				}
				if !d.Render {
					t.Error("the comment is not re-rendered")
				}
			case OutcomeRefused, OutcomeRestored:
				if len(d.Ledger.Records) != len(f.Ledger.Records) {
					t.Errorf("records changed: %+v", d.Ledger.Records)
				}
				if d.Reason != "no approval was in force" && (d.Ledger.Note == nil || d.Ledger.Note.Reason != d.Reason || d.Ledger.Note.Login != f.Sender.Login) {
					t.Errorf("note: %+v", d.Ledger.Note)
				}
				if !d.Render {
					t.Error("the comment is not rendered back")
				}
			case OutcomeDuplicate:
				if d.Ledger.Marker() != f.Ledger.Marker() || !d.Render {
					t.Errorf("a duplicate changed the ledger or left the comment: %+v", d)
				}
			}
		})
	}
}

// TestDecideUnchecked: an edit made while the head had no finished check
// is decided on the ledger the check builds.
func TestDecideUnchecked(t *testing.T) {
	fx := newDecideFixture(analyzer.ApprovalConfig{})
	base := EditFacts{Sender: dCarol, Delivery: "d-new", Comment: 99, Head: dHead, PR: 5, BaseRef: "main", Now: dNow}
	cases := []struct {
		name     string
		old, new string
		ledger   *Ledger
		delivery string
		outcome  string
		approved bool
	}{
		{"tick: in progress", fx.openBody, setTick(t, fx.openBody, true), fx.open, "", OutcomeRefused, false},
		{"no change to the box: undone, the approval stays", fx.approvBody, fx.approvBody + "\nmore\n", fx.approved, "", OutcomeRestored, true},
		{"untick revokes the carried approval", fx.approvBody, setTick(t, fx.approvBody, false), fx.approved, "", OutcomeRevoked, false},
		{"untick without approval", setTick(t, fx.openBody, true), fx.openBody, fx.open, "", OutcomeRestored, false},
		{"other edit undone", fx.openBody, fx.openBody + "\nmore\n", fx.open, "", OutcomeRestored, false},
		{"replayed", fx.approvBody, setTick(t, fx.approvBody, false), fx.approved, "d-approve", OutcomeDuplicate, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := base
			f.Old, f.New = c.old, c.new
			if c.delivery != "" {
				f.Delivery = c.delivery
			}
			d := DecideUnchecked(f, c.ledger)
			if d.Outcome != c.outcome || d.Ledger.Approved() != c.approved {
				t.Errorf("%s (%s), approved %v; want %s, %v", d.Outcome, d.Reason, d.Ledger.Approved(), c.outcome, c.approved)
			}
			if c.outcome == OutcomeRefused && !strings.Contains(d.Ledger.Note.Reason, "in progress") {
				t.Errorf("note: %+v", d.Ledger.Note)
			}
		})
	}
}

// TestReconcileBox: the box is input, never authority. A ticked box
// without an approval approves nothing; an unticked box under an approval
// revokes it (fail closed).
func TestReconcileBox(t *testing.T) {
	fx := newDecideFixture(analyzer.ApprovalConfig{})
	cases := []struct {
		name     string
		body     string
		ledger   *Ledger
		act      bool
		outcome  string
		approved bool
	}{
		{"ticked and approved", fx.approvBody, fx.approved, false, "", true},
		{"unticked and waiting", fx.openBody, fx.open, false, "", false},
		{"unticked under an approval: revoked", setTick(t, fx.approvBody, false), fx.approved, true, OutcomeRevoked, false},
		{"ticked without an approval: rendered back", setTick(t, fx.openBody, true), fx.open, true, OutcomeRestored, false},
		{"no box", StickyNothingLeft(dHead), fx.approved, false, "", true},
		{"nothing needs approval", fx.openBody, NewLedger(5, dHead, dBase, "main", &analyzer.Report{}), false, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := ReconcileBox(c.body, c.ledger, dNow)
			if ok != c.act {
				t.Fatalf("act = %v, want %v", ok, c.act)
			}
			if !ok {
				return
			}
			if d.Outcome != c.outcome || d.Ledger.Approved() != c.approved || !d.Render {
				t.Errorf("%+v", d)
			}
			body := StickyComment(fx.rep, CheckContext{HeadSHA: dHead, Approval: ApprovalView{Ledger: d.Ledger}})
			want := "was revoked at 2026-03-04 10:30 UTC: the comment showed the box unticked"
			if c.outcome == OutcomeRestored {
				want = "⚠ A tick the App did not record was undone: the box was ticked, but no approval was recorded"
			}
			if !strings.Contains(body, want) {
				t.Errorf("%q not in:\n%s", want, body)
			}
			if l, ok := ParseLedger("x\n"+d.Ledger.Marker(), dHead); !ok || l.Approved() != c.approved {
				t.Error("the reconciled ledger does not read back")
			}
		})
	}
}

// TestPriorAt: what one commit's check runs say about where a head's
// approval state comes from.
func TestPriorAt(t *testing.T) {
	fx := newDecideFixture(analyzer.ApprovalConfig{})
	at := func(l *Ledger, sha string) string { c := l.Clone(); c.Head = sha; return "findings\n" + c.Marker() }
	other := fx.approved.Clone()
	other.PR = 6
	cases := []struct {
		name string
		runs []PriorRun
		want string // ledger, follow:<sha>, look before, stop
	}{
		{"no runs: never checked", nil, "look before"},
		{"a ledger", []PriorRun{{ID: 2, Status: "completed", Conclusion: "success", Text: at(fx.approved, dOther)}}, "ledger"},
		{"superseded, pointing back", []PriorRun{{ID: 2, Status: "completed", Conclusion: "cancelled", Text: PriorText(dBase)}}, "follow:" + dBase},
		{"failed, pointing back", []PriorRun{{ID: 2, Status: "completed", Conclusion: "failure", Text: "boom\n\n" + PriorText(dBase)}}, "follow:" + dBase},
		{"superseded without pointer: older runs decide", []PriorRun{{ID: 3, Status: "completed", Conclusion: "cancelled"}, {ID: 2, Status: "completed", Conclusion: "action_required", Text: at(fx.open, dOther)}}, "ledger"},
		{"only superseded runs", []PriorRun{{ID: 3, Status: "completed", Conclusion: "cancelled"}}, "look before"},
		{"failed without pointer", []PriorRun{{ID: 3, Status: "completed", Conclusion: "failure", Text: "boom"}, {ID: 2, Status: "completed", Conclusion: "success", Text: at(fx.approved, dOther)}}, "stop"},
		{"nothing needed approval", []PriorRun{{ID: 3, Status: "completed", Conclusion: "success", Text: "no migrations"}}, "stop"},
		{"another pull request's ledger", []PriorRun{{ID: 3, Status: "completed", Conclusion: "success", Text: at(other, dOther)}}, "stop"},
		{"left in progress", []PriorRun{{ID: 3, Status: "in_progress"}}, "stop"},
		{"a ledger for another commit", []PriorRun{{ID: 3, Status: "completed", Conclusion: "success", Text: at(fx.approved, dHead)}}, "stop"},
		{"a pointer forged in a successful run's findings", []PriorRun{{ID: 3, Status: "completed", Conclusion: "success", Text: PriorText(dBase)}}, "stop"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := PriorAt(5, dOther, c.runs)
			got := "stop"
			switch {
			case st.Ledger != nil:
				got = "ledger"
			case st.Follow != "":
				got = "follow:" + st.Follow
			case st.LookBefore:
				got = "look before"
			case st.Stop == "":
				t.Fatal("no step and no reason")
			}
			if got != c.want {
				t.Errorf("%s (%s), want %s", got, st.Stop, c.want)
			}
		})
	}
	if PriorText("not a sha") != "" || PriorOf("x\n<!-- migration-guard:prior sha=zz -->") != "" {
		t.Error("a malformed pointer is read")
	}
}

// TestNewerDecision: an approval does not carry past a revocation or reset
// found in another ledger of the pull request.
func TestNewerDecision(t *testing.T) {
	fx := newDecideFixture(analyzer.ApprovalConfig{})
	revoked := fx.approved.Clone()
	revoked.Add(LedgerRecord{Kind: RecordRevocation, Login: "alice", At: dNow.Add(-time.Minute), Fingerprint: fx.open.Fingerprint, PR: 5})
	reset := fx.approved.Clone()
	reset.Add(LedgerRecord{Kind: RecordReset, At: dNow.Add(-time.Minute), PR: 5})
	reapproved := revoked.Clone()
	reapproved.Add(LedgerRecord{Kind: RecordApproval, Login: "dave", UserID: 9, At: dNow, Fingerprint: fx.open.Fingerprint, PR: 5, BaseRef: "main", Delivery: "d-again"})
	older := fx.open.Clone()
	older.Add(LedgerRecord{Kind: RecordRevocation, At: dNow.Add(-2 * time.Hour), PR: 5})
	otherPR := revoked.Clone()
	otherPR.PR = 6
	cases := []struct {
		name   string
		chosen *Ledger
		others []*Ledger
		want   bool
	}{
		{"revoked after it", fx.approved, []*Ledger{revoked}, true},
		{"reset after it", fx.approved, []*Ledger{reset}, true},
		{"approved again after the revocation", reapproved, []*Ledger{revoked}, false},
		{"an older revocation elsewhere", fx.approved, []*Ledger{older}, false},
		{"the same history", fx.approved, []*Ledger{fx.approved.Clone()}, false},
		{"another pull request", fx.approved, []*Ledger{otherPR}, false},
		{"nothing approved", fx.open, []*Ledger{revoked}, false},
		{"nothing else read", fx.approved, []*Ledger{nil}, false},
	}
	for _, c := range cases {
		if got := NewerDecision(c.chosen, c.others); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		l, stale := GuardPrior(c.chosen, c.others, dNow)
		if stale != c.want || (stale && (l.Approved() || l.Records[len(l.Records)-1].Reason != ReasonNewerDecision())) || (!stale && l != c.chosen) {
			t.Errorf("%s: GuardPrior gave %+v, stale %v", c.name, l.Records, stale)
		}
		if stale && !c.chosen.Approved() {
			t.Errorf("%s: GuardPrior changed its input", c.name)
		}
	}
}

// TestRevokeUnfinished: an accepted untick whose job could not finish is
// recorded as a revocation without any answer from GitHub, once; nothing
// else is.
func TestRevokeUnfinished(t *testing.T) {
	fx := newDecideFixture(analyzer.ApprovalConfig{})
	untick := func(t *testing.T) EditFacts {
		return EditFacts{
			Old: fx.approvBody, New: setTick(t, fx.approvBody, false), CommentAuthor: Account{Login: dApp, ID: 1, Type: "Bot"}, Sender: dAlice,
			Delivery: "d-untick", Comment: 99, AppLogin: dApp, Open: true, PR: 5, Head: dHead, BaseRef: "main", Now: dNow,
		}
	}
	seen := fx.approved.Clone()
	seen.Add(LedgerRecord{Kind: RecordRevocation, Login: "alice", UserID: 7, At: dNow, Delivery: "d-untick"})
	cases := []struct {
		name   string
		facts  func(f *EditFacts)
		ledger *Ledger
		act    bool
	}{
		{"the author unticks an approval", nil, fx.approved, true},
		{"nothing approved", nil, fx.open, false},
		{"recorded already", nil, seen, false},
		{"a tick", func(f *EditFacts) { f.Old, f.New = fx.openBody, setTick(t, fx.openBody, true) }, fx.approved, false},
		{"an edit of the text", func(f *EditFacts) { f.New = f.New + "\nmore" }, fx.approved, false},
		{"not the App's comment", func(f *EditFacts) { f.CommentAuthor = dAlice }, fx.approved, false},
		{"a closed pull request", func(f *EditFacts) { f.Open = false }, fx.approved, false},
		{"nothing needs approval", nil, NewLedger(5, dHead, dBase, "main", &analyzer.Report{}), false},
		{"approved in the second the untick was accepted", func(f *EditFacts) { f.Now = dNow.Add(-time.Hour) }, fx.approved, true},
		{"approved after the untick was accepted", func(f *EditFacts) { f.Now = dNow.Add(-2 * time.Hour) }, fx.approved, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := untick(t)
			if c.facts != nil {
				c.facts(&f)
			}
			d, ok := RevokeUnfinished(f, c.ledger)
			if ok != c.act {
				t.Fatalf("act = %v, want %v", ok, c.act)
			}
			if !ok {
				return
			}
			if d.Outcome != OutcomeRevoked || d.Ledger.Approved() || !d.Ledger.Seen("d-untick") || c.ledger.Seen("d-untick") {
				t.Errorf("%+v", d)
			}
			last := d.Ledger.Records[len(d.Ledger.Records)-1]
			if last.Kind != RecordRevocation || last.Login != "alice" || last.UserID != 7 || last.Reason != ReasonUntickUnfinished() {
				t.Errorf("record: %+v", last)
			}
			out := RevokedOutput(CheckOutput{Title: "t", Summary: "the summary", Text: "findings\n\n" + c.ledger.Marker()}, d.Ledger, d.Reason)
			l, ok := ParseLedger(out.Text, dHead)
			if !ok || l.Approved() || !l.Seen("d-untick") || !strings.HasPrefix(out.Text, "findings\n\n") ||
				strings.Count(out.Text, ledgerMarkerPrefix) != 1 || !strings.Contains(out.Summary, "the summary") {
				t.Errorf("output: %+v", out)
			}
		})
	}
}
