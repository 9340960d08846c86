package webhook

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

func benchEnv(b *testing.B, tune func(*Config)) *env {
	f := githubfake.New(b)
	repo := f.AddRepo("acme/billing")
	inst := f.Install("acme", repo)
	author := f.AddUser("alice")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	cfg := Config{AppID: f.App().ID, PrivateKey: f.PrivateKeyPEM(), WebhookSecret: f.WebhookSecret(), APIURL: f.URL(),
		Workers: 4, QueueSize: 100000, Limits: Limits{WriteInterval: -1}, Logger: slog.New(slog.DiscardHandler)}
	if tune != nil {
		tune(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ts := newBenchServer(b, srv)
	f.SetWebhookURL(ts + "/webhook")
	return &env{f: f, srv: srv, repo: repo, inst: inst, author: author}
}

// BenchmarkDeliveryToCheck measures the time from a signed delivery to a
// completed check run, for a pull request adding 50 migrations, against
// the fake GitHub on loopback with no write spacing.
func BenchmarkDeliveryToCheck(b *testing.B) {
	e := benchEnv(b, nil)
	files := map[string]string{}
	for i := 0; i < 50; i++ {
		files[fmt.Sprintf("db/migrations/%03d_step.sql", i+2)] = fmt.Sprintf(
			"CREATE TABLE t%d (id bigint PRIMARY KEY, v text);\nALTER TABLE t%d ADD COLUMN w int NOT NULL DEFAULT 0;\nCREATE INDEX t%d_v ON t%d (v);\n", i, i, i, i)
	}
	files["db/migrations/052_drop.sql"] = dropLegacy
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		branch := fmt.Sprintf("b%d", i)
		files["db/migrations/053_marker.sql"] = fmt.Sprintf("-- run %d\nSELECT 1;\n", i)
		e.repo.CommitOn(branch, files)
		pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: branch})
		b.StartTimer()
		deliverAndAwaitCheck(b, e, opened, pr.HeadSHA)
	}
	b.StopTimer()
	calls := 0
	for op, n := range e.f.Counts() {
		if op != "" {
			calls += n
		}
	}
	b.ReportMetric(float64(calls)/float64(b.N), "github-calls/op")
}

// BenchmarkIntake measures the deliveries per second one process accepts
// from concurrent senders, and checks that every accepted delivery's job
// ran or was folded into a job that ran: nothing is dropped silently.
func BenchmarkIntake(b *testing.B) {
	var mu sync.Mutex
	handled := map[string]bool{}
	e := benchEnv(b, nil)
	e.srv.jobDone = func(j *Job, _ string) {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range j.Deliveries {
			handled[d] = true
		}
	}
	// Pull requests without migrations, so that jobs are cheap and the
	// intake is what is measured; deliveries for the same pull request
	// fold into one job.
	var base []*githubfake.Delivery
	for i := 0; i < 20; i++ {
		e.repo.CommitOn(fmt.Sprintf("p%d", i), map[string]string{fmt.Sprintf("docs/%d.md", i): "x\n"})
		_, d := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: fmt.Sprintf("p%d", i)})
		base = append(base, d)
	}
	var accepted sync.Map
	var rejected, next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			d := *base[n%int64(len(base))]
			guid := fmt.Sprintf("bench-%d", n)
			code, err := e.f.Deliver(&d, githubfake.WithGUID(guid))
			switch {
			case err != nil:
				b.Error(err)
			case code == http.StatusAccepted:
				accepted.Store(guid, true)
			case code == http.StatusServiceUnavailable:
				rejected.Add(1)
			default:
				b.Errorf("status %d: %s", code, d.ResponseBody)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(rejected.Load()), "rejected")
	deadline := time.Now().Add(time.Minute)
	for !e.srv.queue.idle() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	lost := 0
	accepted.Range(func(k, _ any) bool {
		if !handled[k.(string)] {
			lost++
		}
		return true
	})
	if lost > 0 {
		b.Fatalf("%d accepted deliveries never ran", lost)
	}
}

func newBenchServer(b *testing.B, srv *Server) string {
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(func() {
		_ = srv.Shutdown(b.Context())
		ts.Close()
	})
	return strings.TrimSuffix(ts.URL, "/")
}

// BenchmarkIntakeHandler measures the intake alone (signature, decoding,
// queueing) by calling the handler without a network or a sender.
func BenchmarkIntakeHandler(b *testing.B) {
	e := benchEnv(b, nil)
	var bodies [][]byte
	for i := 0; i < 20; i++ {
		e.repo.CommitOn(fmt.Sprintf("p%d", i), map[string]string{fmt.Sprintf("docs/%d.md", i): "x\n"})
		_, d := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: fmt.Sprintf("p%d", i)})
		bodies = append(bodies, d.Payload)
	}
	sigs := make([]string, len(bodies))
	for i, body := range bodies {
		sigs[i] = githubfake.Sign(e.f.WebhookSecret(), body)
	}
	h := e.srv.Handler()
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			i := int(n) % len(bodies)
			req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(bodies[i]))
			req.Header.Set("X-GitHub-Event", "pull_request")
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("h-%d", n))
			req.Header.Set("X-Hub-Signature-256", sigs[i])
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
	b.StopTimer()
	for !e.srv.queue.idle() {
		time.Sleep(5 * time.Millisecond)
	}
}

// deliverAndAwaitCheck delivers a pull request's event and waits until its
// one check run completes, needing approval (every benchmark change holds
// a destructive statement).
func deliverAndAwaitCheck(b *testing.B, e *env, opened *githubfake.Delivery, head string) {
	b.Helper()
	if code, err := e.f.Deliver(opened); err != nil || code != http.StatusAccepted {
		b.Fatalf("delivery: %d %v", code, err)
	}
	for {
		runs := e.f.CheckRuns(e.repo, head)
		if len(runs) == 1 && runs[0].Status == "completed" {
			if runs[0].Conclusion != "action_required" {
				b.Fatalf("check: %s %q", runs[0].Conclusion, runs[0].Output.Summary)
			}
			return
		}
		time.Sleep(time.Millisecond)
	}
}
