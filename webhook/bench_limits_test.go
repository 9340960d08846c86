package webhook

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// BenchmarkIntakeUnsignedFlood sends unsigned 1 MiB bodies from concurrent
// senders straight to the handler, with the default budget of unverified
// bytes (4 x MAX_BODY_BYTES): it reports how many were refused unread and
// the most unverified bytes ever held, which must stay within the budget.
func BenchmarkIntakeUnsignedFlood(b *testing.B) {
	e := benchEnv(b, func(c *Config) { c.MaxBodyBytes = 1 << 20; c.UnverifiedBytes = 4 << 20 })
	body := bytes.Repeat([]byte("x"), 1<<20)
	h := e.srv.Handler()
	var busy, unsigned atomic.Int64
	b.SetBytes(int64(len(body)))
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
			req.Header.Set("X-GitHub-Event", "pull_request")
			req.Header.Set("X-Hub-Signature-256", "sha256=00")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusServiceUnavailable:
				busy.Add(1)
			case http.StatusUnauthorized:
				unsigned.Add(1)
			default:
				b.Errorf("status %d", rec.Code)
			}
		}
	})
	b.StopTimer()
	used, peak := e.srv.unverified.state()
	if peak > 4<<20 || used != 0 {
		b.Fatalf("unverified bytes: peak %d over the budget, or %d still held", peak, used)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "requests/s")
	b.ReportMetric(float64(busy.Load())/float64(b.N), "refused-unread/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-unverified-MiB")
}

// BenchmarkPushOf1000Migrations is the per-job cost of a pull request
// adding 1,000 migrations: time from delivery to the completed check and
// GitHub requests per job.
func BenchmarkPushOf1000Migrations(b *testing.B) {
	e := benchEnv(b, nil)
	files := map[string]string{}
	for i := range 999 {
		files[fmt.Sprintf("db/migrations/%04d_step.sql", i+2)] = fmt.Sprintf("CREATE TABLE t%d (id bigint PRIMARY KEY, v text);\nCREATE INDEX t%d_v ON t%d (v);\n", i, i, i)
	}
	calls := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		branch := fmt.Sprintf("b%d", i)
		files["db/migrations/1002_marker.sql"] = fmt.Sprintf("-- run %d\nALTER TABLE users DROP COLUMN legacy;\n", i)
		e.repo.CommitOn(branch, files)
		pr, opened := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: branch})
		before := e.f.Counts()
		b.StartTimer()
		deliverAndAwaitCheck(b, e, opened, pr.HeadSHA)
		b.StopTimer()
		for op, n := range e.f.Counts() {
			calls += n - before[op]
			if i == 0 && n > before[op] {
				b.Logf("%s: %d", op, n-before[op])
			}
		}
	}
	b.ReportMetric(float64(calls)/float64(b.N), "github-calls/op")
}
