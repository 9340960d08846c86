package webhook

import (
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/checklist"
)

// TestOwnVerdictInExternalID: a run's external id names its pull request,
// its inputs and its own verdict; runs of older versions name none.
func TestOwnVerdictInExternalID(t *testing.T) {
	id := inputsIDFor(12, "base", "head", "v1")
	for _, tc := range []struct {
		ext             string
		pr              int
		inputs, verdict string
	}{
		{id + ":action_required", 12, id, "action_required"},
		{id, 12, id, ""},
		{"mg1:0123456789abcdef01234567", -1, "mg1:0123456789abcdef01234567", ""},
		{"", -1, "", ""},
		{"mg2:x:abc:success", -1, "mg2:x:abc:success", ""},
	} {
		run := &github.CheckRun{ExternalID: github.String(tc.ext)}
		inputs, own := ownOf(run)
		if runPR(run) != tc.pr || inputs != tc.inputs || own != tc.verdict {
			t.Errorf("%q: pr %d, inputs %q, own %q", tc.ext, runPR(run), inputs, own)
		}
	}
	if inputsIDFor(12, "base", "head", "v1") == inputsIDFor(13, "base", "head", "v1") || !strings.HasPrefix(id, "mg2:12:") {
		t.Errorf("inputs ids: %s", id)
	}
}

// TestStrictness: failures beat missing approvals beat cancellations beat
// passing; a conclusion the App does not know counts as a failure.
func TestStrictness(t *testing.T) {
	order := []string{"success", "neutral", "cancelled", "action_required", "failure"}
	for i := 1; i < len(order); i++ {
		if strictness(order[i]) <= strictness(order[i-1]) {
			t.Errorf("%s is not stricter than %s", order[i], order[i-1])
		}
	}
	if strictness(verdictPending) != strictness("action_required") || strictness("something_new") != strictness("failure") {
		t.Error("pending or unknown conclusions rank wrong")
	}
}

// TestCommitNoteRoundTrip: the note and the title prefix the shared
// conclusion adds come off again, so a run returns to its own words.
func TestCommitNoteRoundTrip(t *testing.T) {
	own := checklist.CheckOutput{Title: "Approved", Summary: "**Approved** by @carol.", Text: "text\n<!-- ledger -->"}
	states := []siblingState{{1, "main", "success"}, {2, "lax", "action_required"}}
	note := commitNote(states, "action_required")
	for _, want := range []string{"head of 2 open pull requests", "**needs approval**", "- #1 into `main`: passes", "- #2 into `lax`: needs approval"} {
		if !strings.Contains(note, want) {
			t.Errorf("note lacks %q:\n%s", want, note)
		}
	}
	blocked := withNote(own, "success", "action_required", note)
	if !strings.HasPrefix(blocked.Title, blockedTitle) || !strings.HasPrefix(blocked.Summary, commitNoteStart) || blocked.Text != own.Text {
		t.Errorf("blocked: %+v", blocked)
	}
	back := ownOutput(&github.CheckRunOutput{Title: &blocked.Title, Summary: &blocked.Summary, Text: &blocked.Text})
	if back != own {
		t.Errorf("round trip: %+v", back)
	}
	if single := withNote(own, "success", "success", commitNote(states[:1], "success")); single != own {
		t.Errorf("one pull request changed the output: %+v", single)
	}
}
