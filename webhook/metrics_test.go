package webhook

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestEnterpriseURLAndMetrics: with a GitHub Enterprise Server style API
// URL (/api/v3), calls go under that prefix and the metrics name routes
// by template.
func TestEnterpriseURLAndMetrics(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.APIURL = strings.TrimSuffix(c.APIURL, "/") + "/api/v3" })
	pr, opened := e.openPR("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	e.deliver(opened, http.StatusAccepted)
	e.deliver(opened, http.StatusAccepted)
	e.wait()
	if run := e.onlyRun(pr.HeadSHA); run.Conclusion != "action_required" {
		t.Fatalf("check: %s; logs:\n%s", run.Conclusion, e.logs)
	}
	resp, err := http.Get(e.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`migration_guard_webhook_deliveries_total{event="pull_request",outcome="accepted"} 1`,
		`migration_guard_webhook_deliveries_total{event="pull_request",outcome="duplicate"} 1`,
		`migration_guard_jobs_total{outcome="action_required"} 1`,
		`migration_guard_github_requests_total{method="GET",route="/repos/{owner}/{repo}/pulls/{pull_number}/files",status="200"} 1`,
		`migration_guard_github_requests_total{method="POST",route="/app/installations/{installation_id}/access_tokens",status="201"}`,
		`migration_guard_github_request_duration_seconds_bucket{method="PATCH",route="/repos/{owner}/{repo}/check-runs/{check_run_id}"`,
		`migration_guard_job_duration_seconds_count{outcome="action_required"} 1`,
		`migration_guard_github_rate_limit_remaining{installation="`,
		"migration_guard_queue_depth 0",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), `route="other"`) {
		t.Error("a call with no route template")
	}
}
