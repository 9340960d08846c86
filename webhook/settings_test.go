package webhook

import (
	"net/http"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// TestMergeGroupSettingsChange: the merge queue judges a change to the
// guard's settings as the pull request did, so the approval of exactly
// that change carries to the queue's commit, and another change to the
// settings there stays red.
func TestMergeGroupSettingsChange(t *testing.T) {
	e := newEnv(t, nil)
	carol := e.f.AddUser("carol")
	e.f.SetRole(e.repo, carol, "write")
	weaker := map[string]string{analyzerConfigPath: "approval:\n  allow_author: true\n"}
	pr, opened := e.openPR("settings", weaker)
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.expect(pr, pr.HeadSHA, "action_required", false)
	if !strings.Contains(run.Output.Text+run.Output.Summary, "approval.allow_author: false → true") {
		t.Errorf("the settings change is not shown:\n%s", run.Output.Summary)
	}
	e.tick(pr, carol, true)
	e.expect(pr, pr.HeadSHA, "success", true)

	queue := func(files map[string]string) string {
		t.Helper()
		sha := e.repo.CommitWith(githubfake.CommitOptions{Branch: "gh-readonly-queue/main/pr-1", Parent: e.repo.Branch("main"), Files: files})
		d, err := e.f.MergeGroupEvent(pr, sha, e.author)
		if err != nil {
			t.Fatal(err)
		}
		e.deliver(d, http.StatusAccepted)
		e.wait()
		return e.onlyRun(sha).Conclusion
	}
	if c := queue(weaker); c != "success" {
		t.Errorf("the approved settings change in the queue: %s", c)
	}
	if c := queue(map[string]string{analyzerConfigPath: "approval:\n  severities: [info]\n"}); c != "action_required" {
		t.Errorf("another settings change in the queue: %s", c)
	}
	if c := queue(map[string]string{"NOTES.md": "queued\n"}); c != "success" {
		t.Errorf("a queue commit without settings or migrations: %s", c)
	}
}
