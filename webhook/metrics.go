package webhook

import (
	"context"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the service's Prometheus series. They live on a registry of
// their own, not the global one, so that several servers in one test
// process do not collide.
type metrics struct {
	registry       *prometheus.Registry
	deliveries     *prometheus.CounterVec
	jobs           *prometheus.CounterVec
	jobDuration    *prometheus.HistogramVec
	githubCalls    *prometheus.CounterVec
	githubLatency  *prometheus.HistogramVec
	rateRemaining  *prometheus.GaugeVec
	queueDepth     prometheus.Gauge
	jobsRunning    prometheus.Gauge
	rateLimitWaits *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "migration_guard_webhook_deliveries_total",
			Help: "Webhook deliveries received, by event and outcome (accepted, ignored, duplicate, bad_signature, too_large, queue_full, queue_down, bad_payload, shutting_down).",
		}, []string{"event", "outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "migration_guard_jobs_total",
			Help: "Jobs finished, by outcome (success, action_required, no_migrations, config_error, unchanged, failure, cancelled, superseded, skipped, dropped, handed_back; approval jobs: approved, refused, revoked, restored, ignored, duplicate).",
		}, []string{"outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "migration_guard_job_duration_seconds",
			Help:    "Time from a job's start to its end, by outcome.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"outcome"}),
		githubCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "migration_guard_github_requests_total",
			Help: "Requests sent to GitHub's REST API (each attempt), by method, route template and status (\"error\" when no answer came).",
		}, []string{"method", "route", "status"}),
		githubLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "migration_guard_github_request_duration_seconds",
			Help:    "Latency of GitHub REST API requests, by method and route template.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		rateRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "migration_guard_github_rate_limit_remaining",
			Help: "X-RateLimit-Remaining last seen, per installation (\"app\" for the App's own JWT calls).",
		}, []string{"installation"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "migration_guard_queue_depth",
			Help: "Jobs waiting to run.",
		}),
		jobsRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "migration_guard_jobs_running",
			Help: "Jobs running now.",
		}),
		rateLimitWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "migration_guard_github_rate_limit_waits_total",
			Help: "Times a request waited for a GitHub rate limit, by kind (primary, secondary).",
		}, []string{"kind"}),
	}
	m.registry.MustRegister(m.deliveries, m.jobs, m.jobDuration, m.githubCalls, m.githubLatency,
		m.rateRemaining, m.queueDepth, m.jobsRunning, m.rateLimitWaits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func installationLabel(id int64) string {
	if id == 0 {
		return "app"
	}
	return strconv.FormatInt(id, 10)
}

// routeTemplates are the REST routes the App calls, so that metrics are
// labelled by route rather than by URL: one series per owner, pull
// request or blob would grow without bound.
var routeTemplates = [][]string{
	split("/app"),
	split("/app/installations/{installation_id}/access_tokens"),
	split("/app-manifests/{code}/conversions"),
	split("/repos/{owner}/{repo}/pulls"),
	split("/repos/{owner}/{repo}/pulls/{pull_number}"),
	split("/repos/{owner}/{repo}/pulls/{pull_number}/files"),
	split("/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
	split("/repos/{owner}/{repo}/collaborators/{username}/permission"),
	split("/orgs/{org}/teams/{team_slug}/memberships/{username}"),
	split("/repos/{owner}/{repo}/pulls/{pull_number}/comments"),
	split("/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
	split("/repos/{owner}/{repo}/pulls/comments/{comment_id}"),
	split("/repos/{owner}/{repo}/contents/{path...}"),
	split("/repos/{owner}/{repo}/git/trees/{tree_sha}"),
	split("/repos/{owner}/{repo}/git/blobs/{file_sha}"),
	split("/repos/{owner}/{repo}/check-runs"),
	split("/repos/{owner}/{repo}/check-runs/{check_run_id}"),
	split("/repos/{owner}/{repo}/commits/{ref}/check-runs"),
	split("/repos/{owner}/{repo}/issues/{issue_number}/comments"),
	split("/repos/{owner}/{repo}/issues/comments/{comment_id}"),
	split("/repos/{owner}/{repo}/compare/{basehead}"),
}

func split(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

// routeOf maps a request path (without the API prefix) to its template.
func routeOf(path string) string {
	segs := split(path)
	for _, tpl := range routeTemplates {
		if matchRoute(tpl, segs) {
			return "/" + strings.Join(tpl, "/")
		}
	}
	return "other"
}

func matchRoute(tpl, segs []string) bool {
	for i, t := range tpl {
		if strings.HasSuffix(t, "...}") {
			return len(segs) > i
		}
		if i >= len(segs) {
			return false
		}
		if strings.HasPrefix(t, "{") {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if t != segs[i] {
			return false
		}
	}
	return len(segs) == len(tpl)
}

// queueCollector reports the durable queue's jobs by state at each
// scrape: the queue's own rows (waiting, running) and River's jobs (one
// per pull request with work; available, running, scheduled, retryable,
// completed, discarded, cancelled). A scrape that cannot read the engine
// reports migration_guard_queue_up 0.
type queueCollector struct {
	q                          *durableQueue
	jobs, riverJobs, up, depth *prometheus.Desc
}

func newQueueCollector(q *durableQueue) *queueCollector {
	return &queueCollector{
		q:         q,
		jobs:      prometheus.NewDesc("migration_guard_queue_jobs", "Jobs in the durable queue, all replicas, by state (waiting, running).", []string{"state"}, nil),
		riverJobs: prometheus.NewDesc("migration_guard_queue_river_jobs", "River jobs of the queue (one per pull request with work), all replicas, by River's state.", []string{"state"}, nil),
		up:        prometheus.NewDesc("migration_guard_queue_up", "Whether the queue's database answered this scrape.", nil, nil),
		depth:     prometheus.NewDesc("migration_guard_queue_depth", "Jobs waiting to run.", nil, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.riverJobs
	ch <- c.up
	ch <- c.depth
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	jobs := map[string]int{"waiting": 0, "running": 0}
	riverJobs := map[string]int{}
	for _, st := range []string{"available", "running", "scheduled", "retryable", "completed", "discarded", "cancelled", "pending"} {
		riverJobs[st] = 0
	}
	err := c.q.eng.withTx(ctx, func(tx dbtx) error {
		if err := tx.query(ctx, "SELECT running, count(*) FROM migration_guard_job GROUP BY running", nil, func(scan func(...any) error) error {
			var running, n int
			if err := scan(&running, &n); err != nil {
				return err
			}
			if running != 0 {
				jobs["running"] += n
			} else {
				jobs["waiting"] += n
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.query(ctx, "SELECT CAST(state AS TEXT), count(*) FROM river_job GROUP BY state", nil, func(scan func(...any) error) error {
			var st string
			var n int
			if err := scan(&st, &n); err != nil {
				return err
			}
			riverJobs[st] = n
			return nil
		})
	})
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(jobs["waiting"]))
	for st, n := range jobs {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n), st)
	}
	for st, n := range riverJobs {
		ch <- prometheus.MustNewConstMetric(c.riverJobs, prometheus.GaugeValue, float64(n), st)
	}
}
