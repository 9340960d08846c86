package webhook

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// GitHub lists at most 3,000 files of a pull request: a migration past
// them is found by comparing the trees, not skipped.
func TestMigrationPastTheListedFilesIsJudged(t *testing.T) {
	e := newEnv(t, nil, githubfake.WithResponseValidation())
	files := map[string]string{"db/migrations/002_drop.sql": "DROP TABLE users;\n"}
	for i := 0; i < 3001; i++ {
		files[fmt.Sprintf("assets/f%04d.txt", i)] = fmt.Sprintf("%d\n", i)
	}
	pr, opened := e.openPR("big", files)
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr.HeadSHA)
	if run.Conclusion != "action_required" || !strings.Contains(run.Output.Text, "drop-table") {
		t.Fatalf("%s\n%s\n%s", run.Conclusion, run.Output.Summary, e.logs.String())
	}
}

// When both trees are too large to list and GitHub's comparison stops at
// 300 files, the rest were not seen: that needs approval.
func TestComparisonCutShortNeedsApproval(t *testing.T) {
	e := newEnv(t, nil, githubfake.WithResponseValidation())
	files := map[string]string{}
	for i := 0; i < 3001; i++ {
		files[fmt.Sprintf("assets/f%04d.txt", i)] = fmt.Sprintf("%d\n", i)
	}
	files["db/migrations/002_add.sql"] = "CREATE TABLE notes (id int);\n"
	e.repo.SetTreeLimit(2000)
	pr, opened := e.openPR("big", files)
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	run := e.onlyRun(pr.HeadSHA)
	if run.Conclusion != "action_required" || !strings.Contains(run.Output.Text, "lists only 300 changed files") {
		t.Fatalf("%s\n%s\n%s\n%s", run.Conclusion, run.Output.Summary, run.Output.Text, e.logs.String())
	}
}
