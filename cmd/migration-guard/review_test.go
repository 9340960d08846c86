package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// actionsAppID is the GitHub Actions App in the fake.
const actionsAppID = 15368

var reviewBoxRE = regexp.MustCompile(`(?m)^- \[[ xX]\] \*\*Destructive changes approved\*\*`)

// reviewEnv is one repository whose workflow runs `migration-guard review`.
type reviewEnv struct {
	t       *testing.T
	f       *githubfake.Fake
	repo    *githubfake.Repo
	actions *githubfake.App
	token   string
	runID   int
}

func newReviewEnv(t *testing.T) *reviewEnv {
	f := githubfake.New(t, githubfake.WithResponseValidation())
	repo := f.AddRepo("acme/billing")
	actions := f.AddApp(actionsAppID, "github-actions")
	// The documented workflow's permissions.
	token := f.WorkflowToken(actions, repo, map[string]string{"checks": "write", "pull_requests": "write", "contents": "read"})
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	return &reviewEnv{t: t, f: f, repo: repo, actions: actions, token: token}
}

// eventFile writes a delivery's real payload as the runner does: the
// same JSON, without the App's installation.
func (e *reviewEnv) eventFile(d *githubfake.Delivery) string {
	e.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(d.Payload, &m); err != nil {
		e.t.Fatal(err)
	}
	delete(m, "installation")
	b, err := json.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.t.TempDir(), "event.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// review runs the built binary as the workflow step does.
func (e *reviewEnv) review(event, path, token string) (int, string, string) {
	e.t.Helper()
	e.runID++ // every workflow run has its own id
	cmd := exec.Command(binary, "review")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GITHUB_EVENT_NAME=" + event, "GITHUB_EVENT_PATH=" + path, "GITHUB_REPOSITORY=" + e.repo.FullName(),
		"GITHUB_API_URL=" + e.f.URL(), "GITHUB_RUN_ID=" + strconv.Itoa(e.runID), "GITHUB_RUN_ATTEMPT=1",
		"MIGRATION_GUARD_ACTIONS_APP_ID=" + strconv.Itoa(actionsAppID),
	}
	if token != "" {
		cmd.Env = append(cmd.Env, "GITHUB_TOKEN="+token)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	e.t.Fatal(err)
	return 0, "", ""
}

func (e *reviewEnv) runs(sha string) []githubfake.CheckRun {
	var out []githubfake.CheckRun
	for _, r := range e.f.CheckRuns(e.repo, sha) {
		if r.App.ID == actionsAppID && r.Name == checklist.CheckRunName {
			out = append(out, r)
		}
	}
	return out
}

func (e *reviewEnv) sticky(pr *githubfake.PullRequest) []githubfake.IssueComment {
	var out []githubfake.IssueComment
	for _, c := range e.f.IssueComments(pr) {
		if checklist.IsStickyComment(c.Body) && c.Author.Login == "github-actions[bot]" {
			out = append(out, c)
		}
	}
	return out
}

func tickBox(t *testing.T, body string) string {
	t.Helper()
	locs := reviewBoxRE.FindAllStringIndex(body, -1)
	if len(locs) != 1 {
		t.Fatalf("%d approval boxes in the comment:\n%s", len(locs), body)
	}
	at := locs[0][0] + 2
	return body[:at] + "[x]" + body[at+3:]
}

// TestReviewDropThenTick: a pull_request_target event for a pull request
// dropping a column gives the App's red check, inline comment and
// sticky comment, written as github-actions[bot], and exit 1; a tick by
// a writer, run from the issue_comment event, turns it green (exit 0);
// the author's own tick, and a tick in a copy of the comment, do not.
func TestReviewDropThenTick(t *testing.T) {
	e := newReviewEnv(t)
	alice := e.f.AddUser("alice")
	e.f.SetRole(e.repo, alice, "write")
	mallory := e.f.AddUser("mallory")
	e.f.SetRole(e.repo, mallory, "write")
	e.repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: mallory, Head: "drop"})

	code, stdout, stderr := e.review("pull_request_target", e.eventFile(opened), e.token)
	if code != exitApproval {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	runs := e.runs(pr.HeadSHA)
	if len(runs) != 1 || runs[0].Conclusion != "action_required" || !strings.Contains(runs[0].Output.Summary, "| 1 | Drops") {
		t.Fatalf("check runs: %+v\n%s", runs, stderr)
	}
	drop := ruleComments(e.f.ReviewComments(pr), "drop-column")
	if len(drop) != 1 || drop[0].Path != "db/migrations/002_drop.sql" || drop[0].Line != 2 || drop[0].User.Login != "github-actions[bot]" {
		t.Fatalf("drop-column comments: %+v", drop)
	}
	sticky := e.sticky(pr)
	if len(sticky) != 1 {
		t.Fatalf("%d sticky comments", len(sticky))
	}

	// The same event again (a re-run of the workflow) writes nothing new.
	before := len(e.f.Mutations())
	e.runID--
	if code, _, stderr := e.review("pull_request_target", e.eventFile(opened), e.token); code != exitApproval {
		t.Fatalf("re-run: exit %d\n%s", code, stderr)
	}
	if after := e.f.Mutations(); len(after) != before {
		t.Errorf("a re-run wrote: %+v", after[before:])
	}

	// The pull request's author, with write access, cannot approve her
	// own pull request (allow_author is false by default).
	d, err := e.f.EditComment(mallory, sticky[0].ID, tickBox(t, sticky[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := e.review("issue_comment", e.eventFile(d), e.token); code != exitApproval {
		t.Fatalf("the author's tick: exit %d, want 1\n%s", code, stderr)
	}
	if runs := e.runs(pr.HeadSHA); len(runs) != 1 || runs[0].Conclusion != "action_required" {
		t.Fatalf("after the author's tick: %+v", runs)
	}

	// A copy of the summary comment posted by a writer, ticked by her, is
	// not the App's comment: no job, and the check stays red.
	sticky = e.sticky(pr)
	copied, _ := e.f.Comment(alice, pr, sticky[0].Body)
	d, err = e.f.EditComment(alice, copied.ID, tickBox(t, copied.Body))
	if err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := e.review("issue_comment", e.eventFile(d), e.token); code != exitOK || !strings.Contains(stdout, "nothing to check (not the App's comment)") {
		t.Fatalf("a copied comment: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// A green migration-guard check of another App on the head is not
	// this mode's: the pull request's own check decides the exit status.
	e.f.AddCheckRun(e.f.App(), e.repo, pr.HeadSHA, checklist.CheckRunName, "success")
	if code, _, stderr := e.review("pull_request_target", e.eventFile(opened), e.token); code != exitApproval {
		t.Fatalf("with another App's green check: exit %d, want 1\n%s", code, stderr)
	}
	if runs := e.runs(pr.HeadSHA); len(runs) != 1 || runs[0].Conclusion != "action_required" {
		t.Fatalf("after the copied comment: %+v", runs)
	}

	// A writer's tick: green.
	sticky = e.sticky(pr)
	d, err = e.f.EditComment(alice, sticky[0].ID, tickBox(t, sticky[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = e.review("issue_comment", e.eventFile(d), e.token)
	if code != exitOK {
		t.Fatalf("alice's tick: exit %d, want 0\nstdout: %s\nstderr: %s\n%+v", code, stdout, stderr, e.runs(pr.HeadSHA))
	}
	if runs := e.runs(pr.HeadSHA); len(runs) != 1 || runs[0].Conclusion != "success" {
		t.Fatalf("after alice's tick: %+v", runs)
	}
}

// TestReviewSafe: a safe migration is green, exit 0; closing the pull
// request needs no check.
func TestReviewSafe(t *testing.T) {
	e := newReviewEnv(t)
	alice := e.f.AddUser("alice")
	e.f.SetRole(e.repo, alice, "write")
	e.repo.CommitOn("note", map[string]string{"db/migrations/002_note.sql": "ALTER TABLE users ADD COLUMN note text;\n"})
	pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: alice, Head: "note"})
	code, stdout, stderr := e.review("pull_request_target", e.eventFile(opened), e.token)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if runs := e.runs(pr.HeadSHA); len(runs) != 1 || runs[0].Conclusion != "success" {
		t.Fatalf("check runs: %+v", runs)
	}
	if !strings.Contains(stdout, "success") {
		t.Errorf("stdout: %q", stdout)
	}
	// Closing it needs no check: exit 0.
	closed := e.f.ClosePR(pr)
	if code, stdout, stderr := e.review("pull_request_target", e.eventFile(closed), e.token); code != exitOK || !strings.Contains(stdout, "the pull request is closed") {
		t.Fatalf("closed: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// TestReviewErrors: what the step cannot run with is said in one line,
// exit 2, and a token GitHub refuses writes nothing and is not green.
func TestReviewErrors(t *testing.T) {
	e := newReviewEnv(t)
	alice := e.f.AddUser("alice")
	e.f.SetRole(e.repo, alice, "write")
	e.repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: alice, Head: "drop"})
	path := e.eventFile(opened)

	for _, tc := range []struct {
		name, event, path, token, want string
	}{
		{"no token", "pull_request_target", path, "", "GITHUB_TOKEN is not set"},
		{"no event file", "pull_request_target", filepath.Join(t.TempDir(), "missing.json"), e.token, "reading the event file (GITHUB_EVENT_PATH)"},
		{"another event", "push", path, e.token, `event "push" is not handled`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := e.review(tc.event, tc.path, tc.token)
			if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q; want 2 and one line with %q", code, stderr, stdout, tc.want)
			}
		})
	}

	// A wrong token, a workflow token of another repository, and one
	// without the permissions are refused by GitHub: nothing is written,
	// and the step fails.
	other := e.f.AddRepo("acme/other")
	for name, token := range map[string]string{
		"wrong token":      "ghs_not-a-token",
		"other repository": e.f.WorkflowToken(e.actions, other, map[string]string{"checks": "write", "pull_requests": "write", "contents": "read"}),
	} {
		code, _, stderr := e.review("pull_request_target", path, token)
		if code == exitOK {
			t.Errorf("%s: exit 0\n%s", name, stderr)
		}
		if runs := e.runs(pr.HeadSHA); len(runs) != 0 {
			t.Errorf("%s: check runs written: %+v", name, runs)
		}
		t.Logf("%s: %d %s", name, code, stderr)
		if strings.Contains(stderr, token) {
			t.Errorf("%s: the token is in the output", name)
		}
	}
}

// TestReviewTeamsFailClosed: the workflow token cannot read team
// membership, so a tick that depends on approval.teams cannot be judged:
// the step fails and the check stays red (docs/review.md says so).
func TestReviewTeamsFailClosed(t *testing.T) {
	e := newReviewEnv(t)
	alice := e.f.AddUser("alice")
	bob := e.f.AddUser("bob")
	e.f.SetRole(e.repo, alice, "write")
	e.f.SetRole(e.repo, bob, "write")
	e.f.AddTeamMember("acme", "dba", bob, "member", false)
	e.repo.Commit(map[string]string{".github/migration-guard.yml": "approval:\n  teams: [dba]\n"})
	e.repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: alice, Head: "drop"})
	if code, _, stderr := e.review("pull_request_target", e.eventFile(opened), e.token); code != exitApproval {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	sticky := e.sticky(pr)
	if len(sticky) != 1 {
		t.Fatalf("%d sticky comments", len(sticky))
	}
	d, err := e.f.EditComment(bob, sticky[0].ID, tickBox(t, sticky[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := e.review("issue_comment", e.eventFile(d), e.token)
	if code != exitApproval {
		t.Fatalf("bob's tick: exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	runs := e.runs(pr.HeadSHA)
	if len(runs) != 1 || runs[0].Conclusion != "action_required" {
		t.Fatalf("after bob's tick: %+v", runs)
	}
	if !strings.Contains(stderr, "asking whether @bob is in team acme/dba") || !strings.Contains(stderr, "403") {
		t.Errorf("the refusal does not say why:\n%s", stderr)
	}
}

// TestReviewWorkflowDocumented keeps the documented workflow and the
// action to what docs/review.md promises: nothing of the pull request is
// checked out or run, the permissions are the three needed, ticks
// trigger it, and the action runs `migration-guard review`.
func TestReviewWorkflowDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/review.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/review.md has no yaml block")
	}
	var wf struct {
		On          map[string]any    `yaml:"on"`
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]struct {
			Steps []map[string]any `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(block), &wf); err != nil {
		t.Fatalf("the documented workflow does not parse: %v", err)
	}
	if _, ok := wf.On["pull_request_target"]; !ok {
		t.Errorf("not triggered by pull_request_target: %v", wf.On)
	}
	if _, ok := wf.On["pull_request"]; ok {
		t.Errorf("triggered by pull_request, which runs the pull request's workflow")
	}
	if _, ok := wf.On["issue_comment"]; !ok {
		t.Errorf("not triggered by issue_comment (ticks): %v", wf.On)
	}
	want := map[string]string{"checks": "write", "pull-requests": "write", "contents": "read"}
	if !reflect.DeepEqual(wf.Permissions, want) {
		t.Errorf("permissions %v, want %v", wf.Permissions, want)
	}
	if len(wf.Jobs) != 1 {
		t.Fatalf("%d jobs", len(wf.Jobs))
	}
	for name, job := range wf.Jobs {
		if name == checklist.CheckRunName {
			t.Errorf("the job is named %q, the check run it writes", name)
		}
		if len(job.Steps) != 1 || !strings.HasPrefix(fmt.Sprint(job.Steps[0]["uses"]), "migration-guard/migration-guard@") {
			t.Errorf("steps %v: want only the action", job.Steps)
		}
	}
	action, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Runs struct {
			Using string           `yaml:"using"`
			Steps []map[string]any `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(action, &a); err != nil {
		t.Fatalf("action.yml does not parse: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("action.yml runs %q", a.Runs.Using)
	}
	var runs []string
	for _, s := range a.Runs.Steps {
		if u := fmt.Sprint(s["uses"]); strings.Contains(u, "checkout") {
			t.Errorf("action.yml checks out: %v", u)
		}
		if r, ok := s["run"].(string); ok {
			runs = append(runs, r)
		}
	}
	if all := strings.Join(runs, "\n"); !strings.Contains(all, `migration-guard" review`) || !strings.Contains(all, "apps/github-actions") {
		t.Errorf("action.yml does not run migration-guard review:\n%s", all)
	}
}
