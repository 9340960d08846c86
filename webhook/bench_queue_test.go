package webhook

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// BenchmarkQueue measures the queue engines in process: 16 concurrent
// senders post signed deliveries for 200 pull requests to one or two
// replicas, round robin, through HTTP on loopback. Each job is a 10 ms
// stand-in for the check (BenchmarkDeliveryToCheck measures a real one),
// so the figures are the queue's: the deliveries accepted per second (each
// answered 202 once committed), and the latency from a delivery's 202 to
// the end of the job that answered it (its own, or the newer one it was
// folded into), at the median and the 99th percentile. Every accepted
// delivery must end in a finished job: a lost one fails the benchmark.
//
//	go test ./webhook/ -run '^$' -bench BenchmarkQueue -benchtime 3000x [-bench-senders 64]
func BenchmarkQueue(b *testing.B) {
	for _, tc := range []struct {
		name     string
		replicas int
		engine   func(b *testing.B) func(*Config)
	}{
		{"memory/1", 1, func(*testing.B) func(*Config) { return func(*Config) {} }},
		{"sqlite/1", 1, func(b *testing.B) func(*Config) {
			dir := b.TempDir()
			return func(c *Config) { c.QueueDataDir = dir }
		}},
		{"postgres/1", 1, func(b *testing.B) func(*Config) {
			url := pgtest.Scratch(b)
			return func(c *Config) { c.QueueDatabaseURL = url }
		}},
		{"postgres/2", 2, func(b *testing.B) func(*Config) {
			url := pgtest.Scratch(b)
			return func(c *Config) { c.QueueDatabaseURL = url }
		}},
	} {
		b.Run(tc.name, func(b *testing.B) { benchQueue(b, tc.replicas, tc.engine(b)) })
	}
}

func benchQueue(b *testing.B, replicas int, engine func(*Config)) {
	f := githubfake.New(b)
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	author := f.AddUser("alice")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	var bodies [][]byte
	for i := range 200 {
		repo.CommitOn(fmt.Sprintf("p%d", i), map[string]string{fmt.Sprintf("docs/%d.md", i): "x\n"})
		_, d := f.OpenPR(repo, githubfake.PROptions{Author: author, Head: fmt.Sprintf("p%d", i)})
		bodies = append(bodies, d.Payload)
	}
	sigs := make([]string, len(bodies))
	for i, body := range bodies {
		sigs[i] = githubfake.Sign(f.WebhookSecret(), body)
	}

	var mu sync.Mutex
	var ran atomic.Int64
	acceptedAt := map[string]time.Time{}
	doneAt := map[string]time.Time{}
	var urls []string
	for r := range replicas {
		cfg := Config{AppID: f.App().ID, PrivateKey: f.PrivateKeyPEM(), WebhookSecret: f.WebhookSecret(), APIURL: f.URL(),
			Workers: 4, QueueSize: 1000000, InstallationQueueSize: 1000000, Limits: Limits{WriteInterval: -1},
			Logger: slog.New(slog.DiscardHandler), ReplicaID: fmt.Sprintf("bench-%d", r)}
		engine(&cfg)
		srv, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		stub := func(_ context.Context, j *Job, _ func(string)) string {
			time.Sleep(10 * time.Millisecond)
			ran.Add(1)
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			for _, d := range j.Deliveries {
				doneAt[d] = now
			}
			return outcomeSuccess
		}
		switch q := srv.queue.(type) {
		case *queue:
			q.mu.Lock()
			q.run = stub
			q.mu.Unlock()
		case *durableQueue:
			q.run = stub
		}
		urls = append(urls, newBenchServer(b, srv)+"/webhook")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next, rejected atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range *benchSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				i := int(n) % len(bodies)
				req, _ := http.NewRequest(http.MethodPost, urls[int(n)%len(urls)], bytes.NewReader(bodies[i]))
				guid := fmt.Sprintf("q-%d", n)
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", guid)
				req.Header.Set("X-Hub-Signature-256", sigs[i])
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusAccepted:
					now := time.Now()
					mu.Lock()
					acceptedAt[guid] = now
					mu.Unlock()
				case http.StatusServiceUnavailable:
					rejected.Add(1)
				default:
					b.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	// Every accepted delivery ends in a finished job.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		mu.Lock()
		left := 0
		for g := range acceptedAt {
			if _, ok := doneAt[g]; !ok {
				left++
			}
		}
		mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d accepted deliveries in no finished job after 5 minutes", left, len(acceptedAt))
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for g, at := range acceptedAt {
		lat = append(lat, max(doneAt[g].Sub(at), 0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(acceptedAt))/elapsed.Seconds(), "accepted/s")
	b.ReportMetric(float64(rejected.Load()), "rejected")
	// Jobs run: deliveries folded into a waiting job of their pull
	// request make fewer, so a faster intake can mean less work.
	b.ReportMetric(float64(ran.Load()), "jobs")
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
	}
	b.ReportMetric(0, "ns/op")
}

// newTestDurable opens a durable queue on the engine tune configures,
// without starting its workers: nothing but the caller uses the engine,
// and the jobs stay in its tables.
func newTestDurable(tb testing.TB, replica string, tune func(*Config)) *durableQueue {
	tb.Helper()
	f := githubfake.New(tb)
	cfg := Config{AppID: f.App().ID, PrivateKey: f.PrivateKeyPEM(), WebhookSecret: f.WebhookSecret(), APIURL: f.URL(),
		Workers: 4, QueueSize: 1000000, InstallationQueueSize: 1000000, Logger: slog.New(slog.DiscardHandler), ReplicaID: replica}
	tune(&cfg)
	p, err := cfg.validate()
	if err != nil {
		tb.Fatal(err)
	}
	q, err := newDurableQueue(context.Background(), p, func(context.Context, *Job, func(string)) string { return outcomeSuccess })
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = q.Shutdown(context.Background()) })
	return q
}

// backendTicks is the CPU time (clock ticks) of each PostgreSQL session on
// the database of url, read from /proc: the server runs on this machine.
func backendTicks(tb testing.TB, url string) map[int]int64 {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	if err != nil {
		tb.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int]int64{}
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // the session ended
		}
		// Fields after the command's closing parenthesis: utime and stime
		// are the 12th and 13th.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		out[int(pid)] = u + s
	}
	return out
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEnqueue measures the intake's commits alone: 16 goroutines
// call Enqueue of the durable queue (its workers not started, so nothing
// else uses the engine) with pull request events of 200 pull requests,
// round robin to one or two replicas. Besides the deliveries accepted per
// second it reports the CPU time per delivery of this process and, on
// PostgreSQL, of the server's sessions on the benchmark's database (from
// /proc), which the wall clock of a loaded machine hides.
//
//	go test ./webhook/ -run '^$' -bench BenchmarkEnqueue -benchtime 4000x
func BenchmarkEnqueue(b *testing.B) {
	for _, tc := range []struct {
		name     string
		replicas int
		pg       bool
	}{{"sqlite/1", 1, false}, {"postgres/1", 1, true}, {"postgres/2", 2, true}} {
		b.Run(tc.name, func(b *testing.B) {
			var qs []*durableQueue
			url := ""
			if tc.pg {
				url = pgtest.Scratch(b)
			}
			dir := b.TempDir()
			for r := range tc.replicas {
				qs = append(qs, newTestDurable(b, fmt.Sprintf("bench-%d", r), func(c *Config) {
					if tc.pg {
						c.QueueDatabaseURL = url
					} else {
						c.QueueDataDir = dir
					}
				}))
			}
			var pgBefore map[int]int64
			if tc.pg {
				pgBefore = backendTicks(b, url)
			}
			cpuBefore := processCPU()
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						pr := int(n % 200)
						j := &Job{Key: fmt.Sprintf("acme/billing#%d", pr), Kind: KindPullRequest, InstallationID: 1, Owner: "acme", Repo: "billing",
							Number: pr, HeadSHA: fmt.Sprintf("%040d", n), Deliveries: []string{fmt.Sprintf("e-%d", n)}, Event: "pull_request.synchronize"}
						if err := qs[int(n)%len(qs)].Enqueue(j); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "accepted/s")
			b.ReportMetric(float64((processCPU()-cpuBefore).Microseconds())/float64(b.N), "cpu-µs/op")
			if tc.pg {
				var ticks int64
				for pid, t := range backendTicks(b, url) {
					ticks += t - pgBefore[pid]
				}
				// Clock ticks are 10 ms (USER_HZ 100).
				b.ReportMetric(float64(ticks)*10000/float64(b.N), "pg-cpu-µs/op")
			}
			if n, want := qs[0].Len(), min(b.N, 200); n != want {
				b.Fatalf("%d jobs wait, want one per pull request (%d)", n, want)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchSenders is how many deliveries BenchmarkQueue keeps in flight
// (GitHub sends a burst's deliveries side by side): group commit batches
// what arrives while a commit is under way, so the rate it reaches grows
// with it. docs/performance.md gives figures at 16 and 64.
var benchSenders = flag.Int("bench-senders", 16, "deliveries BenchmarkQueue keeps in flight")
