package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
)

// TestWorkLimitsFailClosed: a change over a cap on the work of one job, or
// one that runs out of its deadline, is red and says why, naming the cap;
// it is never green and never left in progress. Under the caps the same
// kind of change is judged.
func TestWorkLimitsFailClosed(t *testing.T) {
	three := map[string]string{
		"db/migrations/002_a.sql": "CREATE TABLE a (id int);\n",
		"db/migrations/003_b.sql": "CREATE TABLE b (id int);\n",
		"db/migrations/004_c.sql": "CREATE TABLE c (id int);\nCREATE TABLE d (id int);\n",
	}
	tests := []struct {
		name       string
		tune       func(*Config)
		conclusion string
		title      string
		says       string
	}{
		{"under the caps", func(c *Config) { c.Work = WorkLimits{MaxFiles: 3, MaxBytes: 1000, MaxStatements: 4} }, "success", "", ""},
		{"files", func(c *Config) { c.Work.MaxFiles = 2 }, "failure", checklist.TitleOverJobLimit, "3 changed migration files; one check judges at most 2 (MAX_JOB_FILES)"},
		{"bytes", func(c *Config) { c.Work.MaxBytes = 60 }, "failure", checklist.TitleOverJobLimit, "bytes of changed migration files; one check judges at most 60 (MAX_JOB_BYTES)"},
		{"statements", func(c *Config) { c.Work.MaxStatements = 3 }, "failure", checklist.TitleOverJobLimit, "more than 3 statements to judge; one check judges at most 3 (MAX_JOB_STATEMENTS)"},
		{"deadline", func(c *Config) { c.JobTimeout = time.Nanosecond }, "failure", checklist.TitleNotJudgedInTime, "within its deadline (JOB_TIMEOUT, 1ns)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.tune)
			pr, d := e.openPR("many", three)
			e.deliver(d, http.StatusAccepted)
			e.wait()
			run := e.onlyRun(pr.HeadSHA)
			if run.Status != "completed" || run.Conclusion != tt.conclusion {
				t.Fatalf("check %s/%s, want completed/%s: %s", run.Status, run.Conclusion, tt.conclusion, run.Output.Summary)
			}
			if tt.title == "" {
				return
			}
			if run.Output.Title != tt.title || !strings.Contains(strings.ReplaceAll(run.Output.Summary, `\_`, "_"), tt.says) {
				t.Errorf("check output %q: %q; want %q saying %q", run.Output.Title, run.Output.Summary, tt.title, tt.says)
			}
			if !strings.Contains(run.Output.Title, "needs approval") {
				t.Errorf("title %q does not say it needs approval", run.Output.Title)
			}
		})
	}
}
