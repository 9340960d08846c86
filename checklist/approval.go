package checklist

// The approval gate's texts and records: the fingerprint an approval binds
// to, the ledger the App keeps in its own check run, the approval section
// of the sticky comment and its one tick box. Everything a person could
// write (the comment) is parsed only as input to be checked; the ledger is
// read only from the App's check runs, which no one else can write.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/migration-guard/migration-guard/analyzer"
)

const (
	approvalMarkerPrefix = "<!-- migration-guard:approval "
	boxMarkerPrefix      = "<!-- migration-guard:approve "
	ledgerMarkerPrefix   = "<!-- migration-guard:ledger "
	// boxLabel is the one task-list item of the sticky comment.
	boxLabel = "**Destructive changes approved**"
	// LedgerVersion is the ledger format this code writes and reads.
	LedgerVersion = 1
	// ledgerStatements bounds the statements a ledger lists (and the
	// approval section shows) so that the check run's text keeps room for
	// the findings; the fingerprint always covers them all.
	ledgerStatements = 60
	ledgerSQLChars   = 160
	// ledgerRecords bounds the history a ledger keeps. The newest record
	// decides the state, so dropping the oldest never changes it.
	ledgerRecords = 20
	// changeLines bounds each list of a reset's statement changes.
	changeLines = 10
)

// ApprovalRule is one rule whose finding on a statement needs approval.
type ApprovalRule struct {
	ID       string            `json:"id"`
	Question analyzer.Question `json:"q"`
}

// ApprovalEntry is one statement (or, for a finding about a whole file,
// one file) that needs a human's approval.
type ApprovalEntry struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	// SQL is the statement as people read it, on one line and cut short.
	SQL   string         `json:"sql"`
	Rules []ApprovalRule `json:"rules"`
	// Key names the statement across pushes: a hash of its path and its
	// whole normalized text. The line is left out, so that moving a
	// statement does not change it.
	Key string `json:"key"`
	// Objects are the objects the statement resolves to when it runs
	// (schema-qualified after search_path and role) and Settings the
	// session settings it runs under: the same text can mean another
	// table after a SET above it.
	Objects  []string `json:"objects,omitempty"`
	Settings []string `json:"settings,omitempty"`
	// File is the start of what binds the rest of the entry's file: the
	// digest of its normalized up part, or for a file that could not be
	// read "blob " and its git blob id. The fingerprint hashes it whole.
	File string `json:"file,omitempty"`
	// text is the whole normalized text the fingerprint hashes, and file
	// the whole file binding.
	text, file string
	// Reached is the start of the digest of the code the statement runs
	// without containing it (the bodies of the functions it reaches,
	// which may stand in another file); empty when it reaches none. The
	// fingerprint hashes the whole digest, kept in reached.
	Reached string `json:"reached,omitempty"`
	// reach are the objects that the findings needing approval name and
	// the statement itself does not: what the code it calls (a function
	// body, which may stand in another file) destroys.
	reach   []string
	reached string
}

// ApprovalEntries lists what needs approval in the report, in file and
// line order: every statement with a finding that requires approval,
// suppressed or not, with the rules that require it.
func ApprovalEntries(r *analyzer.Report) []ApprovalEntry {
	var out []ApprovalEntry
	for i := range r.Files {
		f := &r.Files[i]
		var rules []ApprovalRule
		line := 0
		for _, fd := range f.Findings {
			if fd.RequiresApproval {
				rules = append(rules, ApprovalRule{ID: fd.Rule, Question: fd.Question})
				if line == 0 {
					line = fd.Marker.Line
				}
			}
		}
		if len(rules) > 0 {
			// A finding about a whole file (one that cannot be read, say)
			// has no statement: the file and what was found stand for it.
			var msgs []string
			for _, fd := range f.Findings {
				if fd.RequiresApproval {
					msgs = append(msgs, fd.Message)
				}
			}
			sort.Strings(msgs)
			e := newEntry(f.Path, max(line, 1), "(the whole file) "+strings.Join(msgs, "; "), "(file) "+strings.Join(msgs, "\x00"), rules)
			// A file that could not be read is bound to its bytes: the
			// same message over other content must not keep the approval.
			e.bindFile(fileBinding(f))
			out = append(out, e)
		}
		for j := range f.Statements {
			s := &f.Statements[j]
			var rules []ApprovalRule
			for _, fd := range s.Findings {
				if fd.RequiresApproval {
					rules = append(rules, ApprovalRule{ID: fd.Rule, Question: fd.Question})
				}
			}
			if len(rules) > 0 {
				e := newEntry(s.Path, s.Start.Line, s.SQL, NormalizeSQL(s.SQL), rules)
				e.Objects, e.Settings = s.Objects, s.Settings
				e.reach = reachedObjects(s)
				e.bindReached(s.ReachedCode())
				e.bindFile(fileBinding(f))
				out = append(out, e)
			}
		}
	}
	return out
}

// reachedObjects lists, sorted, the objects the findings of s that need
// approval name beyond the statement's own: a call's findings name what
// the called body deletes, and that body may be replaced in another file
// of the change, which binds nothing of this one.
func reachedObjects(s *analyzer.Statement) []string {
	own := map[string]bool{}
	for _, o := range s.Objects {
		own[o] = true
	}
	var out []string
	for _, fd := range s.Findings {
		if !fd.RequiresApproval {
			continue
		}
		for _, o := range fd.Objects {
			if !own[o] {
				own[o] = true
				out = append(out, o)
			}
		}
	}
	sort.Strings(out)
	return out
}

// bindReached binds the entry to the code its statement runs and does not
// contain: the normalized text of each function body reached from it.
func (e *ApprovalEntry) bindReached(code []string) {
	if len(code) == 0 {
		return
	}
	data, err := json.Marshal(code)
	if err != nil {
		panic(fmt.Sprintf("checklist: encoding the code a statement reaches: %v", err))
	}
	h := sha256.Sum256(data)
	e.reached = hex.EncodeToString(h[:])
	e.Reached = e.reached[:fileShown]
}

// fileBinding is what binds a file: the digest of what its up part runs,
// or, when it could not be read, its blob id.
func fileBinding(f *analyzer.File) string {
	if f.UpDigest != "" {
		return "up " + f.UpDigest
	}
	if f.BlobSHA != "" {
		return "blob " + f.BlobSHA
	}
	return ""
}

// fileShown is how much of a file binding the ledger keeps: enough to
// tell that it changed.
const fileShown = 24

func (e *ApprovalEntry) bindFile(b string) {
	e.file = b
	e.File = b
	if len(b) > fileShown {
		e.File = b[:fileShown]
	}
}

func newEntry(path string, line int, display, text string, rules []ApprovalRule) ApprovalEntry {
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	uniq := rules[:0]
	for i, r := range rules {
		if i == 0 || r.ID != rules[i-1].ID {
			uniq = append(uniq, r)
		}
	}
	h := sha256.Sum256([]byte(path + "\x00" + text))
	return ApprovalEntry{
		Path: path, Line: line, SQL: clipLine(display, ledgerSQLChars), Rules: uniq,
		Key: hex.EncodeToString(h[:8]), text: text,
	}
}

// ruleIDs is the entry's rule ids, sorted.
func (e ApprovalEntry) ruleIDs() []string {
	ids := make([]string, len(e.Rules))
	for i, r := range e.Rules {
		ids[i] = r.ID
	}
	return ids
}

// FingerprintVersion is the version of what the fingerprint hashes. A
// ledger written under an older version carries a fingerprint that no
// longer matches anything: its approval resets once, saying why.
//
//	v1: path, normalized statement text, rule ids.
//	v2: also the objects each statement resolves to, the session settings
//	    it runs under, and what binds its file (the digest of the whole
//	    normalized up part, or the blob id of a file that could not be read).
const FingerprintVersion = 2

// ApprovalFingerprint is what an approval binds to: SHA-256 over the
// sorted list of (path, normalized statement text, sorted ids of the rules
// requiring approval, resolved objects, settings, file binding, and, only
// for a statement that has them, the objects its findings name beyond its
// own and the normalized bodies of the functions it runs without
// containing them) of every statement that needs approval. Comments,
// spacing, keyword case and lines do not change it; a changed, added or
// removed statement, another path or rule, a statement that now resolves
// to another object (a SET search_path or SET ROLE above it, in its file
// or, for tools that run a run over one session, an earlier one), any
// other change to what the up part of its file runs, an edited body of a
// function it runs (in whichever file), or other bytes in a file that
// could not be read, do. "" when nothing needs approval.
func ApprovalFingerprint(r *analyzer.Report) string {
	return fingerprintOf(ApprovalEntries(r))
}

func fingerprintOf(entries []ApprovalEntry) string {
	if len(entries) == 0 {
		return ""
	}
	type item struct {
		key  string
		list []any
	}
	items := make([]item, len(entries))
	for i, e := range entries {
		ids := e.ruleIDs()
		list := []any{e.Path, e.text, ids, nonNil(e.Objects), nonNil(e.Settings), e.file}
		if len(e.reach) > 0 || e.reached != "" {
			// Only when there are some: an entry without them hashes as
			// it did before they were bound.
			list = append(list, nonNil(e.reach))
		}
		if e.reached != "" {
			list = append(list, e.reached)
		}
		key, err := json.Marshal(list)
		if err != nil {
			panic(fmt.Sprintf("checklist: encoding an approval entry: %v", err))
		}
		items[i] = item{string(key), list}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	list := make([][]any, len(items))
	for i, it := range items {
		list[i] = it.list
	}
	data, err := json.Marshal(list)
	if err != nil {
		// Strings and string slices always marshal.
		panic(fmt.Sprintf("checklist: encoding the approval list: %v", err))
	}
	h := sha256.New()
	fmt.Fprintf(h, "migration-guard approval v%d\n", FingerprintVersion)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ShortFingerprint is the fingerprint as people read it: 12 hex digits.
func ShortFingerprint(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// Record kinds. The newest record of a ledger says whether the head is
// approved: an approval of the ledger's fingerprint is in force until a
// revocation or a reset follows it.
const (
	RecordApproval   = "approval"
	RecordRevocation = "revocation"
	RecordReset      = "reset"
)

// LedgerRecord is one decision in the ledger.
type LedgerRecord struct {
	Kind string `json:"kind"`
	// Login and UserID are the approver's or revoker's GitHub account.
	Login  string    `json:"login,omitempty"`
	UserID int64     `json:"user_id,omitempty"`
	At     time.Time `json:"at"`
	// Fingerprint is what was approved, revoked or reset.
	Fingerprint string `json:"fp,omitempty"`
	// Head is the commit the decision was made on, PR the pull request
	// and BaseRef the branch it was to merge into, whose configuration
	// said who may approve.
	Head    string `json:"head,omitempty"`
	PR      int    `json:"pr,omitempty"`
	BaseRef string `json:"base_ref,omitempty"`
	// Delivery and Comment are the webhook delivery and the comment the
	// decision came from.
	Delivery string `json:"delivery,omitempty"`
	Comment  int64  `json:"comment,omitempty"`
	// Reason and Changes say why a reset happened.
	Reason  string            `json:"reason,omitempty"`
	Changes *StatementChanges `json:"changes,omitempty"`
}

// StatementChanges is how the statements needing approval differ between
// the approved list and the new one.
type StatementChanges struct {
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Changed []string `json:"changed,omitempty"`
	// Partial says the lists were cut (or the ledgers listed only part of
	// the statements), so some changes are not named.
	Partial bool `json:"partial,omitempty"`
}

// Note kinds.
const (
	NoteRefused = "refused"
	NoteUndone  = "undone"
)

// LedgerNote is the last refused tick or undone edit of this head: one
// line in the comment, replaced by the next one.
type LedgerNote struct {
	Kind     string    `json:"kind"`
	Login    string    `json:"login"`
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
	Delivery string    `json:"delivery,omitempty"`
	Comment  int64     `json:"comment,omitempty"`
}

// Ledger is the approval state of one head, kept in the App's check run on
// that head (its output text ends with the encoded ledger). Only the App
// can write its check runs, so a ledger read from one is the App's own
// record; the sticky comment only displays it.
type Ledger struct {
	V       int    `json:"v"`
	PR      int    `json:"pr"`
	Head    string `json:"head"`
	Base    string `json:"base"`
	BaseRef string `json:"base_ref"`
	// Fingerprint is the head's approval fingerprint ("" when nothing
	// needs approval) and Statements what it covers, for people and for
	// saying what changed when a push resets an approval.
	Fingerprint string `json:"fp"`
	// FPV is the FingerprintVersion the fingerprint was computed with (0
	// in ledgers written before versions were recorded, which were v1).
	FPV        int             `json:"fpv,omitempty"`
	Statements []ApprovalEntry `json:"statements"`
	// Omitted is how many statements did not fit in Statements.
	Omitted int `json:"omitted,omitempty"`
	// CarriedFrom is the earlier head whose approval this head kept.
	CarriedFrom string         `json:"carried_from,omitempty"`
	Records     []LedgerRecord `json:"records,omitempty"`
	Note        *LedgerNote    `json:"note,omitempty"`
}

// NewLedger is a head's ledger without history: pull request pr, its head
// and base commits and its base branch.
func NewLedger(pr int, head, base, baseRef string, r *analyzer.Report) *Ledger {
	entries := ApprovalEntries(r)
	l := &Ledger{V: LedgerVersion, PR: pr, Head: head, Base: base, BaseRef: baseRef, Fingerprint: fingerprintOf(entries), FPV: FingerprintVersion, Statements: entries}
	if len(entries) > ledgerStatements {
		l.Statements, l.Omitted = entries[:ledgerStatements], len(entries)-ledgerStatements
	}
	if l.Statements == nil {
		l.Statements = []ApprovalEntry{}
	}
	return l
}

// Approval is the approval in force: the newest state record, if it is an
// approval of this ledger's fingerprint given in this pull request for
// this base branch.
func (l *Ledger) Approval() *LedgerRecord {
	if l == nil || l.Fingerprint == "" {
		return nil
	}
	last := l.lastState()
	if last == nil || last.Kind != RecordApproval || last.Fingerprint != l.Fingerprint || last.PR != l.PR || last.BaseRef != l.BaseRef {
		return nil
	}
	return last
}

func (l *Ledger) lastState() *LedgerRecord {
	if l == nil || len(l.Records) == 0 {
		return nil
	}
	return &l.Records[len(l.Records)-1]
}

// Approved says whether an approval is in force.
func (l *Ledger) Approved() bool { return l.Approval() != nil }

// NeedsApproval says whether anything on this head needs approval.
func (l *Ledger) NeedsApproval() bool { return l != nil && l.Fingerprint != "" }

// Seen says whether a decision of this ledger came from the delivery: a
// redelivered or replayed event is then answered with nothing new.
func (l *Ledger) Seen(delivery string) bool {
	if l == nil || delivery == "" {
		return false
	}
	for _, r := range l.Records {
		if r.Delivery == delivery {
			return true
		}
	}
	return l.Note != nil && l.Note.Delivery == delivery
}

// Add appends a record, keeping the newest ledgerRecords, and clears the
// note: a decision replaces the last refusal's line.
func (l *Ledger) Add(r LedgerRecord) {
	l.Records = append(l.Records, r)
	if n := len(l.Records); n > ledgerRecords {
		l.Records = append([]LedgerRecord(nil), l.Records[n-ledgerRecords:]...)
	}
	l.Note = nil
}

// Clone is a deep enough copy to change records and note independently.
func (l *Ledger) Clone() *Ledger {
	if l == nil {
		return nil
	}
	c := *l
	c.Records = append([]LedgerRecord(nil), l.Records...)
	c.Statements = append([]ApprovalEntry(nil), l.Statements...)
	if l.Note != nil {
		n := *l.Note
		c.Note = &n
	}
	return &c
}

// Carry builds the ledger of a head from the ledger of the commit it
// follows (an earlier head, or the same head checked again). The history
// comes along; an approval in force stays in force only for the same
// fingerprint in the same pull request into the same base branch,
// otherwise a reset records why. (A base branch is bound because its
// configuration said who may approve: a pull request approved against a
// lax branch and then retargeted must be approved again.) The last
// refusal's line stays only on the same head.
func (l *Ledger) Carry(prior *Ledger, now time.Time) {
	if prior == nil || prior.PR != l.PR {
		// Another pull request's history is not this one's: an approval
		// given there was for that pull request's author and commits.
		return
	}
	l.Records = append([]LedgerRecord(nil), prior.Records...)
	if appr := prior.Approval(); appr != nil {
		if appr.Fingerprint == l.Fingerprint && appr.BaseRef == l.BaseRef {
			l.CarriedFrom = prior.CarriedFrom
			if prior.Head != l.Head {
				l.CarriedFrom = prior.Head
			}
		} else {
			reason := "the statements needing approval changed"
			oldVersion := prior.FPV != FingerprintVersion && l.Fingerprint != ""
			switch {
			case oldVersion && appr.BaseRef == l.BaseRef:
				reason = fmt.Sprintf("migration-guard now binds an approval to more of what will run (fingerprint version %d: the objects each statement resolves to, the session settings, the whole up part of its file, the bytes of a file it cannot read); this approval was given under an earlier version and is needed once more", FingerprintVersion)
			case appr.BaseRef != l.BaseRef:
				reason = fmt.Sprintf("the pull request's base branch changed from %s to %s, whose configuration says who may approve", inlineCode(appr.BaseRef), inlineCode(l.BaseRef))
			case l.Fingerprint == "":
				reason = "nothing needs approval any more"
			}
			var ch *StatementChanges
			if appr.Fingerprint != l.Fingerprint && !oldVersion {
				ch = DiffStatements(prior, l)
			}
			l.Add(LedgerRecord{Kind: RecordReset, At: now.UTC(), Fingerprint: appr.Fingerprint, Head: l.Head, PR: l.PR, BaseRef: l.BaseRef,
				Reason: reason, Changes: ch})
		}
	}
	if prior.Head == l.Head && prior.Note != nil {
		n := *prior.Note
		l.Note = &n
	}
}

// DiffStatements says which statements were added, removed or changed
// (same place, other text; or same statement, other rules) from old to
// cur.
func DiffStatements(old, cur *Ledger) *StatementChanges {
	ch := &StatementChanges{Partial: old.Omitted > 0 || cur.Omitted > 0}
	used := make([]bool, len(old.Statements))
	byKey := map[string][]int{}
	for i, e := range old.Statements {
		byKey[e.Key] = append(byKey[e.Key], i)
	}
	var added []ApprovalEntry
	for _, e := range cur.Statements {
		is := byKey[e.Key]
		if len(is) == 0 {
			added = append(added, e)
			continue
		}
		prev := old.Statements[is[0]]
		byKey[e.Key], used[is[0]] = is[1:], true
		var what []string
		if was, now := strings.Join(prev.ruleIDs(), ", "), strings.Join(e.ruleIDs(), ", "); was != now {
			what = append(what, fmt.Sprintf("rules %s, were %s", now, was))
		}
		if was, now := listOrNone(prev.Objects), listOrNone(e.Objects); was != now {
			what = append(what, fmt.Sprintf("now on %s, was on %s", now, was))
		}
		if was, now := listOrNone(prev.Settings), listOrNone(e.Settings); was != now {
			what = append(what, fmt.Sprintf("runs under %s, was under %s", now, was))
		}
		if prev.File != e.File {
			if strings.HasPrefix(e.File, "blob ") || strings.HasPrefix(prev.File, "blob ") {
				what = append(what, "the file's content changed")
			} else {
				what = append(what, "another statement of its file changed")
			}
		}
		if prev.Reached != e.Reached {
			what = append(what, "the function bodies it runs changed")
		}
		if len(what) > 0 {
			ch.Changed = append(ch.Changed, fmt.Sprintf("%s (%s)", entryLabel(e), strings.Join(what, "; ")))
		}
	}
	var removed []ApprovalEntry
	for i, e := range old.Statements {
		if !used[i] {
			removed = append(removed, e)
		}
	}
	// A statement rewritten in place reads as changed, not as one removed
	// and one added.
	for _, a := range added {
		paired := false
		for i, r := range removed {
			if r.Path == a.Path && r.Line == a.Line {
				ch.Changed = append(ch.Changed, fmt.Sprintf("%s (was %s)", entryLabel(a), inlineCode(r.SQL)))
				removed = append(removed[:i], removed[i+1:]...)
				paired = true
				break
			}
		}
		if !paired {
			ch.Added = append(ch.Added, entryLabel(a))
		}
	}
	for _, r := range removed {
		ch.Removed = append(ch.Removed, entryLabel(r))
	}
	for _, list := range []*[]string{&ch.Added, &ch.Removed, &ch.Changed} {
		if len(*list) > changeLines {
			*list = (*list)[:changeLines]
			ch.Partial = true
		}
	}
	return ch
}

// listOrNone shows a list of objects or settings in a change line.
func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return inlineCode(strings.Join(s, ", "))
}

func entryLabel(e ApprovalEntry) string {
	return fmt.Sprintf("%s:%d %s", e.Path, e.Line, inlineCode(e.SQL))
}

// Marker is the ledger as the last line of the check run's text: a hidden
// comment holding JSON. encoding/json escapes <, > and &, so no value can
// end the comment early.
func (l *Ledger) Marker() string {
	data, err := json.Marshal(l)
	if err != nil {
		panic(fmt.Sprintf("checklist: encoding the ledger: %v", err))
	}
	return ledgerMarkerPrefix + string(data) + markerSuffix
}

// hexSHA and hexFP match a commit id and a fingerprint: lowercase hex of
// 40 and 64 digits. (Plain loops rather than regular expressions compiled
// when the package loads: every run of the binary pays for those, and most
// never read a ledger.)
var (
	hexSHA = lowerHex(40)
	hexFP  = lowerHex(64)
)

type lowerHex int

func (n lowerHex) MatchString(s string) bool {
	if len(s) != int(n) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseLedger reads the ledger from the text of a check run on head. The
// ledger counts only as the very last line of the text, where the App
// puts it: the findings above quote the migrations, which anyone opening
// a pull request writes, and may quote a forged marker. It must be this
// version, name this head, and be well formed in every field; anything
// else is no ledger at all.
func ParseLedger(text, head string) (*Ledger, bool) {
	text = strings.TrimRight(text, "\n")
	i := strings.LastIndexByte(text, '\n')
	last := text[i+1:]
	inner, ok := strings.CutPrefix(last, ledgerMarkerPrefix)
	if !ok {
		return nil, false
	}
	inner, ok = strings.CutSuffix(inner, markerSuffix)
	if !ok {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(inner)))
	dec.DisallowUnknownFields()
	var l Ledger
	if err := dec.Decode(&l); err != nil || dec.More() {
		return nil, false
	}
	if l.V != LedgerVersion || l.Head != head || !hexSHA.MatchString(l.Head) || l.PR <= 0 || l.FPV < 0 || l.FPV > FingerprintVersion {
		return nil, false
	}
	if l.Fingerprint != "" && !hexFP.MatchString(l.Fingerprint) {
		return nil, false
	}
	if l.CarriedFrom != "" && !hexSHA.MatchString(l.CarriedFrom) {
		return nil, false
	}
	for _, r := range l.Records {
		switch r.Kind {
		case RecordApproval:
			if r.Login == "" || r.UserID <= 0 || !hexFP.MatchString(r.Fingerprint) || r.PR <= 0 || r.BaseRef == "" || r.At.IsZero() {
				return nil, false
			}
		case RecordRevocation, RecordReset:
			if r.At.IsZero() {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	if l.Note != nil && l.Note.Kind != NoteRefused && l.Note.Kind != NoteUndone {
		return nil, false
	}
	if l.Statements == nil {
		l.Statements = []ApprovalEntry{}
	}
	return &l, true
}

// Box is the approval box as a comment shows it.
type Box struct {
	Ticked bool
	// Fingerprint is the one the box's hidden marker names.
	Fingerprint string
}

// boxLine is compiled on first use, not when the package loads.
var boxLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^- \[([ xX])\] ` + regexp.QuoteMeta(boxLabel) + `(.*)$`)
})

// CanonicalSticky is a sticky comment's body with the approval box
// unticked and line endings normalized, and the box as found. Only the
// approval section counts: it follows the last approval marker, after
// everything quoted from the migrations. ok is false when there is no
// approval section or it does not hold exactly one box. Two bodies whose
// canonical forms are equal differ at most in the box.
func CanonicalSticky(body string) (string, Box, bool) {
	body = strings.TrimRight(strings.ReplaceAll(body, "\r\n", "\n"), " \n")
	lines := strings.Split(body, "\n")
	start := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], approvalMarkerPrefix) {
			start = i
			break
		}
	}
	if start < 0 {
		return body, Box{}, false
	}
	var box Box
	found := 0
	for i := start + 1; i < len(lines); i++ {
		m := boxLine().FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		found++
		box.Ticked = m[1] != " "
		box.Fingerprint = markerField(m[2], boxMarkerPrefix, "fp")
		lines[i] = "- [ ] " + boxLabel + m[2]
	}
	if found != 1 {
		return body, Box{}, false
	}
	return strings.Join(lines, "\n"), box, true
}

// StickyHead is the head the sticky comment says it describes. Anyone
// with write access can edit the comment, so it decides nothing: where a
// head's approval state comes from is asked of GitHub (see PriorAt).
func StickyHead(body string) string {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	i := strings.LastIndex(body, "\n"+approvalMarkerPrefix)
	if i < 0 {
		return ""
	}
	line, _, _ := strings.Cut(body[i+1:], "\n")
	if sha := markerField(line, approvalMarkerPrefix, "head"); hexSHA.MatchString(sha) {
		return sha
	}
	return ""
}

// markerField reads key=value from the hidden marker starting with prefix
// in s.
func markerField(s, prefix, key string) string {
	i := strings.Index(s, prefix)
	if i < 0 {
		return ""
	}
	inner, _, ok := strings.Cut(s[i+len(prefix):], markerSuffix)
	if !ok {
		return ""
	}
	for _, f := range strings.Fields(inner) {
		if k, v, _ := strings.Cut(f, "="); k == key {
			return v
		}
	}
	return ""
}

// ApprovalView is what the approval texts show: the head's ledger and the
// base branch's rules for approvers.
type ApprovalView struct {
	Ledger *Ledger
	Policy analyzer.ApprovalConfig
}

// ApprovalSection is the end of the sticky comment while something needs
// approval: the one tick box with the fingerprint it approves, what it
// approves, who may tick it, and what happened to it. "" when nothing
// needs approval.
func ApprovalSection(v ApprovalView) string {
	l := v.Ledger
	if !l.NeedsApproval() {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%shead=%s%s\n### Approval\n\n", approvalMarkerPrefix, l.Head, markerSuffix)
	tick := " "
	if l.Approved() {
		tick = "x"
	}
	fmt.Fprintf(&b, "- [%s] %s %sfp=%s%s\n\n", tick, boxLabel, boxMarkerPrefix, l.Fingerprint, markerSuffix)
	b.WriteString(approvalStatus(l, true))
	b.WriteString("\n")
	fmt.Fprintf(&b, "\nThe box approves %s, at fingerprint `%s`:\n\n", plural(len(l.Statements)+l.Omitted, "statement", "statements"), ShortFingerprint(l.Fingerprint))
	b.WriteString("| File | Line | Statement | Question | Rule |\n|---|---|---|---|---|\n")
	for _, e := range l.Statements {
		var qs, rs []string
		for _, r := range e.Rules {
			qs = append(qs, fmt.Sprintf("Q%d %s", r.Question, r.Question.Short()))
			rs = append(rs, inlineCode(r.ID))
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", inlineCode(e.Path), e.Line, inlineCode(e.SQL), strings.Join(uniqStrings(qs), ", "), strings.Join(rs, ", "))
	}
	if l.Omitted > 0 {
		fmt.Fprintf(&b, "\n…and %d more, listed with the findings above and in the `%s` check.\n", l.Omitted, CheckRunName)
	}
	fmt.Fprintf(&b, "\n**Who may tick it:** %s\n", WhoMayApprove(v.Policy))
	if line := historyLine(l); line != "" {
		b.WriteString("\n" + line + "\n")
	}
	if n := l.Note; n != nil {
		verb := "The tick by"
		if n.Kind == NoteUndone {
			verb = "The edit by"
		}
		who := verb + " @" + n.Login
		if n.Login == "" {
			// Found by reconciling: the box alone does not say who.
			who = "A tick the App did not record"
		}
		fmt.Fprintf(&b, "\n⚠ %s was undone: %s.\n", who, strings.TrimRight(n.Reason, "."))
	}
	return b.String()
}

// ApprovalSummary is the approval part of the check run's summary.
func ApprovalSummary(v ApprovalView) string {
	l := v.Ledger
	if !l.NeedsApproval() {
		return ""
	}
	var b strings.Builder
	b.WriteString(approvalStatus(l, false))
	b.WriteString("\n")
	if line := historyLine(l); line != "" {
		b.WriteString("\n" + line + "\n")
	}
	if n := l.Note; n != nil && n.Kind == NoteRefused {
		fmt.Fprintf(&b, "\nLast refused tick, by @%s: %s.\n", n.Login, strings.TrimRight(n.Reason, "."))
	}
	return b.String()
}

func approvalStatus(l *Ledger, inComment bool) string {
	fp := ShortFingerprint(l.Fingerprint)
	if a := l.Approval(); a != nil {
		s := fmt.Sprintf("✅ **Approved by @%s** at %s for fingerprint `%s`", a.Login, displayTime(a.At), fp)
		if l.CarriedFrom != "" {
			s += fmt.Sprintf(" (approval carried from %s)", short(l.CarriedFrom))
		} else if a.Head != "" && a.Head != l.Head {
			s += fmt.Sprintf(" (given on %s)", short(a.Head))
		}
		return s + "."
	}
	where := "tick the box in the pull request's migration-guard comment"
	if inComment {
		where = "someone allowed to approve ticks the box above"
	}
	return fmt.Sprintf("⏳ **Waiting for approval** of fingerprint `%s`: %s.", fp, where)
}

// historyLine tells the newest revocation or reset, when it is the newest
// record.
func historyLine(l *Ledger) string {
	last := l.lastState()
	if last == nil {
		return ""
	}
	approver := ""
	for i := len(l.Records) - 2; i >= 0; i-- {
		if l.Records[i].Kind == RecordApproval {
			approver = "@" + l.Records[i].Login
			break
		}
	}
	switch last.Kind {
	case RecordRevocation:
		who := "The approval"
		if approver != "" {
			who = "The approval by " + approver
		}
		if last.Login == "" {
			// Revoked by the App itself, failing closed: the reason says why.
			return fmt.Sprintf("✖ %s was revoked at %s: %s.", who, displayTime(last.At), strings.TrimRight(last.Reason, "."))
		}
		return fmt.Sprintf("✖ %s was revoked by @%s at %s.", who, last.Login, displayTime(last.At))
	case RecordReset:
		who := "The approval"
		if approver != "" {
			who = "The approval by " + approver
		}
		s := fmt.Sprintf("↺ %s (fingerprint `%s`) was reset at %s: %s.", who, ShortFingerprint(last.Fingerprint), short(last.Head), last.Reason)
		if c := last.Changes; c != nil {
			for _, part := range []struct {
				label string
				list  []string
			}{{"Added", c.Added}, {"Removed", c.Removed}, {"Changed", c.Changed}} {
				if len(part.list) > 0 {
					s += fmt.Sprintf("\n- %s: %s", part.label, strings.Join(part.list, "; "))
				}
			}
			if c.Partial {
				s += "\n- (not every change is listed)"
			}
		}
		return s
	}
	return ""
}

// WhoMayApprove says who may tick the box under the base branch's rules.
func WhoMayApprove(p analyzer.ApprovalConfig) string {
	min := p.MinRole
	if min == "" {
		min = "write"
	}
	var b strings.Builder
	switch min {
	case "maintain", "admin":
		b.WriteString("someone with the **maintain** or **admin** role on this repository")
	default:
		fmt.Fprintf(&b, "someone with the **%s** role or higher on this repository", min)
	}
	if len(p.Roles) > 0 {
		var rs []string
		for _, r := range p.Roles {
			rs = append(rs, inlineCode(r))
		}
		fmt.Fprintf(&b, " (or the custom %s %s)", pluralWord(len(rs), "role", "roles"), strings.Join(rs, ", "))
	}
	if len(p.Users) > 0 || len(p.Teams) > 0 {
		var who []string
		for _, u := range p.Users {
			who = append(who, "@"+strings.TrimPrefix(u, "@"))
		}
		for _, t := range p.Teams {
			who = append(who, "a member of team "+inlineCode(t))
		}
		fmt.Fprintf(&b, ", who is %s", strings.Join(who, ", or "))
	}
	if p.AllowAuthor {
		b.WriteString("; the pull request's author and committers may approve too (`allow_author`)")
	} else {
		b.WriteString(", not the author of this pull request nor an author or committer of its commits")
	}
	fmt.Fprintf(&b, ". Set in `%s` on the base branch.", analyzer.ConfigPath)
	return b.String()
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// uniqStrings keeps the first of each string, in order.
func uniqStrings(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func displayTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// inlineCode puts text in a code span that survives a table cell: pipes
// escaped (GitHub splits cells on them even in code), newlines flattened,
// and a fence longer than any backtick run inside.
func inlineCode(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// clipLine flattens s to one line of at most n characters.
func clipLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Why a tick was not counted, or an edit undone: one line each, shown in
// the comment after "The tick by @login was undone:".

// ReasonInProgress: the head's check has not finished.
func ReasonInProgress(head string) string {
	return fmt.Sprintf("the analysis of %s was in progress: tick again when it completes", short(head))
}

// ReasonApp: the App's own account ticked.
func ReasonApp() string { return "the App cannot approve its own check" }

// ReasonBot: a bot or another App ticked.
func ReasonBot(login string) string {
	return fmt.Sprintf("@%s is a bot, and only a person can approve", login)
}

// ReasonFingerprint: the box named another fingerprint than the head's.
func ReasonFingerprint(ticked, current string) string {
	if ticked == "" {
		return fmt.Sprintf("the box carried no fingerprint; what needs approval is now `%s`: review the list and tick again", ShortFingerprint(current))
	}
	return fmt.Sprintf("the box was ticked for fingerprint `%s`, but what needs approval is now `%s`: review the list and tick again",
		ShortFingerprint(ticked), ShortFingerprint(current))
}

// ReasonStaleComment: the box was ticked in a comment that was not the
// App's current text.
func ReasonStaleComment() string {
	return "the comment it was ticked in was not the current one (someone had changed it, or it showed an earlier state): review it and tick again"
}

// ReasonRole: the sender's role on the repository is not enough.
func ReasonRole(login, role string, p analyzer.ApprovalConfig) string {
	if role == "" {
		return fmt.Sprintf("@%s has no role on this repository", login)
	}
	min := p.MinRole
	if min == "" {
		min = "write"
	}
	return fmt.Sprintf("@%s has the %s role on this repository; approving needs %s or higher%s", login, inlineCode(role), min, customRoles(p))
}

func customRoles(p analyzer.ApprovalConfig) string {
	if len(p.Roles) == 0 {
		return ""
	}
	var rs []string
	for _, r := range p.Roles {
		rs = append(rs, inlineCode(r))
	}
	return ", or the custom " + pluralWord(len(rs), "role", "roles") + " " + strings.Join(rs, ", ")
}

// ReasonOtherAccount: GitHub's answer named another account than the
// sender (the login changed hands between the edit and the check).
func ReasonOtherAccount(login string) string {
	return fmt.Sprintf("GitHub's answer about @%s was for another account", login)
}

// ReasonNotListed: users or teams are configured and the sender is in
// neither.
func ReasonNotListed(login string) string {
	return fmt.Sprintf("@%s is not one of the approvers listed in %s", login, inlineCode(analyzer.ConfigPath))
}

// ReasonAuthor: the sender opened the pull request.
func ReasonAuthor(login string) string {
	return fmt.Sprintf("@%s is the author of this pull request", login)
}

// ReasonCommitter: the sender wrote or committed one of its commits.
func ReasonCommitter(login, how, sha string) string {
	return fmt.Sprintf("@%s is the %s of commit %s of this pull request", login, how, short(sha))
}

// ReasonTooManyCommits: GitHub lists at most 250 commits of a pull
// request, so the others' authors cannot be ruled out.
func ReasonTooManyCommits(n int) string {
	return fmt.Sprintf("this pull request has %d commits and GitHub lists only 250, so its authors and committers cannot all be checked", n)
}

// ReasonOnlyBox: an edit changed the App's text.
func ReasonOnlyBox() string {
	return "only the approval box may be changed in this comment, so the App's text was put back"
}
