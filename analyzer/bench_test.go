package analyzer

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

// corpus generates a realistic migration history of at least minBytes:
// tables created, altered, indexed, renamed, constrained and dropped.
func corpus(minBytes int) (fstest.MapFS, int) {
	fsys := fstest.MapFS{}
	total := 0
	for i := 1; total < minBytes; i++ {
		body := corpusFile(i)
		fsys[fmt.Sprintf("db/migrations/%05d_step.sql", i)] = &fstest.MapFile{Data: []byte(body)}
		total += len(body)
	}
	return fsys, total
}

// corpusFile is the i-th migration of the generated history.
func corpusFile(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- +goose Up\n")
	fmt.Fprintf(&b, "CREATE TABLE t%[1]d (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    account_id bigint NOT NULL,\n    email text NOT NULL,\n    name varchar(200),\n    amount numeric(12,2) DEFAULT 0,\n    status text CHECK (status IN ('new', 'done')),\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n", i)
	fmt.Fprintf(&b, "CREATE INDEX t%[1]d_account_idx ON t%[1]d (account_id, created_at);\n", i)
	fmt.Fprintf(&b, "ALTER TABLE t%[1]d ADD COLUMN note text;\nALTER TABLE t%[1]d ALTER COLUMN name TYPE varchar(300);\n", i)
	fmt.Fprintf(&b, "COMMENT ON TABLE t%[1]d IS 'generated table %[1]d for the benchmark, with a comment long enough to look like a real one';\n", i)
	if i > 1 {
		fmt.Fprintf(&b, "ALTER TABLE t%[1]d ADD CONSTRAINT t%[1]d_prev_fk FOREIGN KEY (account_id) REFERENCES t%[2]d (id) NOT VALID;\n", i, i-1)
		fmt.Fprintf(&b, "ALTER TABLE t%[1]d VALIDATE CONSTRAINT t%[1]d_prev_fk;\n", i)
		fmt.Fprintf(&b, "ALTER TABLE t%[2]d RENAME COLUMN note TO remark;\n", i, i-1)
	}
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW v%[1]d AS SELECT id, email, amount FROM t%[1]d WHERE status = 'new';\n", i)
	fmt.Fprintf(&b, "INSERT INTO t%[1]d (account_id, email) SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 10) g;\n", i)
	b.WriteString("-- +goose Down\n")
	fmt.Fprintf(&b, "DROP VIEW v%[1]d;\nDROP TABLE t%[1]d;\n", i)
	return b.String()
}

// judgeOneFileHistory is a history of n generated migrations, and the
// same history with one changed migration (an up and a down part) that
// touches two of its tables.
func judgeOneFileHistory(n int) (base, head fstest.MapFS, change string) {
	base = fstest.MapFS{}
	for i := 1; i <= n; i++ {
		base[fmt.Sprintf("db/migrations/%05d_step.sql", i)] = &fstest.MapFile{Data: []byte(corpusFile(i))}
	}
	head = fstest.MapFS{}
	for k, v := range base {
		head[k] = v
	}
	change = "db/migrations/99999_change.sql"
	head[change] = &fstest.MapFile{Data: []byte("-- +goose Up\nALTER TABLE t1 ADD COLUMN extra text;\nCREATE INDEX t2_email_idx ON t2 (email);\n" +
		"-- +goose Down\nDROP INDEX t2_email_idx;\nALTER TABLE t1 DROP COLUMN extra;\n")}
	return base, head, change
}

// memCost is what a function allocated: exact counts, unlike times.
type memCost struct{ allocs, bytes int64 }

func measureMem(f func()) memCost {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return memCost{int64(after.Mallocs - before.Mallocs), int64(after.TotalAlloc - before.TotalAlloc)}
}

// judgedFileCost replays a history of n migrations, then replays it again
// and judges the changed migration, and returns what each cost and what
// the judged file added (the difference).
func judgedFileCost(tb testing.TB, n int) (replay, judged, added memCost) {
	base, head, change := judgeOneFileHistory(n)
	analyze := func(changed []string) {
		rep, err := Analyze(context.Background(), Request{Base: base, Head: head, Changed: changed, Config: DefaultConfig()})
		if err != nil {
			tb.Fatal(err)
		}
		if len(rep.Files) != len(changed) {
			tb.Fatalf("%d files judged, want %d", len(rep.Files), len(changed))
		}
	}
	// The first analysis of a process pays one-time set-ups (the parser's,
	// the rules'): a warm-up keeps them out of the replay's figures.
	analyze([]string{})
	replay = measureMem(func() { analyze([]string{}) })
	judged = measureMem(func() { analyze([]string{change}) })
	return replay, judged, memCost{judged.allocs - replay.allocs, judged.bytes - replay.bytes}
}

// TestJudgedFileCostFollowsTheChange: what judging one file with a down
// part adds to a replay does not grow with the schema. Before the catalog
// shared its objects between copies, the file cost two copies of the whole
// schema: ten times as much against a history ten times as long.
func TestJudgedFileCostFollowsTheChange(t *testing.T) {
	_, _, small := judgedFileCost(t, 30)
	_, _, large := judgedFileCost(t, 300)
	if small.allocs <= 0 || large.allocs <= 0 {
		t.Fatalf("judging the file allocated nothing: %+v, %+v", small, large)
	}
	if large.allocs > 2*small.allocs || large.bytes > 2*small.bytes {
		t.Fatalf("the judged file adds %d allocations (%d bytes) against 300 migrations, %d (%d bytes) against 30: it grows with the schema",
			large.allocs, large.bytes, small.allocs, small.bytes)
	}
}

// BenchmarkJudgeOneFile judges one changed migration (an up and a down
// part) against histories of 100, 1,000 and 10,000 migrations, next to
// replaying the same history without judging anything, and reports what
// the judged file adds (judged-file-allocs/op, judged-file-B/op): the
// difference between the two, exact where times on a shared machine are
// not. It must not grow with the schema: the copies of the catalog the
// down-part check takes share what the file does not change
// (docs/performance.md). Replaying grows with the history.
func BenchmarkJudgeOneFile(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("migrations=%d", n), func(b *testing.B) {
			var replay, judged, added memCost
			for i := 0; i < b.N; i++ {
				r, j, a := judgedFileCost(b, n)
				replay.allocs, replay.bytes = replay.allocs+r.allocs, replay.bytes+r.bytes
				judged.allocs, judged.bytes = judged.allocs+j.allocs, judged.bytes+j.bytes
				added.allocs, added.bytes = added.allocs+a.allocs, added.bytes+a.bytes
			}
			per := func(v int64) float64 { return float64(v) / float64(b.N) }
			b.ReportMetric(per(replay.allocs), "replay-allocs/op")
			b.ReportMetric(per(replay.bytes), "replay-B/op")
			b.ReportMetric(per(judged.allocs), "replay+judge-allocs/op")
			b.ReportMetric(per(judged.bytes), "replay+judge-B/op")
			b.ReportMetric(per(added.allocs), "judged-file-allocs/op")
			b.ReportMetric(per(added.bytes), "judged-file-B/op")
		})
	}
}

// BenchmarkReplayCorpus parses and replays a 5 MB migration history, then
// judges one change against it: the work of one pull request's review.
func BenchmarkReplayCorpus(b *testing.B) {
	base, size := corpus(benchCorpusBytes)
	head := fstest.MapFS{}
	for k, v := range base {
		head[k] = v
	}
	change := "db/migrations/99999_change.sql"
	head[change] = &fstest.MapFile{Data: []byte(goose("ALTER TABLE t1 DROP COLUMN email;\nALTER TABLE t2 RENAME TO t2_old;"))}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := Analyze(context.Background(), Request{Base: base, Head: head, Changed: []string{change}, Config: DefaultConfig()})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Files) != 1 || !rep.RequiresApproval() {
			b.Fatalf("unexpected report: %d files", len(rep.Files))
		}
	}
}

// benchCorpusBytes is the size of the benchmark's history: 5 MB, as the
// performance target says.
var benchCorpusBytes = 5 << 20

// BenchmarkCheckBaseWarm is `check --base` over a history of 400
// migrations with one changed file: cold (the base replayed) and warm
// (the base schema read back from a filled cache, as a second run on the
// same base reads it). Discovering the migrations, hashing them for the
// key and judging the changed file are in both.
func BenchmarkCheckBaseWarm(b *testing.B) {
	const n = 400
	base := fstest.MapFS{}
	for i := 1; i <= n; i++ {
		base[fmt.Sprintf("db/migrations/%05d_step.sql", i)] = &fstest.MapFile{Data: []byte(corpusFile(i))}
	}
	head := fstest.MapFS{}
	for k, v := range base {
		head[k] = v
	}
	change := "db/migrations/99999_change.sql"
	head[change] = &fstest.MapFile{Data: []byte("-- +goose Up\nALTER TABLE t1 ADD COLUMN extra text;\nCREATE INDEX t2_email_idx ON t2 (email);\n" +
		"-- +goose Down\nDROP INDEX t2_email_idx;\nALTER TABLE t1 DROP COLUMN extra;\n")}
	req := Request{Base: base, Head: head, Changed: []string{change}, Config: DefaultConfig()}
	filled := newMapCache()
	req.Cache = filled
	if _, err := Analyze(context.Background(), req); err != nil || filled.puts != 1 {
		b.Fatalf("filling the cache: %v, %d puts", err, filled.puts)
	}
	for _, tc := range []struct {
		name  string
		cache Cache
	}{{"cold", nil}, {"warm", filled}} {
		b.Run(fmt.Sprintf("migrations=%d/%s", n, tc.name), func(b *testing.B) {
			r := req
			r.Cache = tc.cache
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rep, err := Analyze(context.Background(), r)
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Files) != 1 || rep.BaseMigrations != n {
					b.Fatalf("%d files judged, %d base migrations", len(rep.Files), rep.BaseMigrations)
				}
			}
		})
	}
}

// BenchmarkCheckHistory judges every file of a 200-migration history, as
// `check` over a folder does (up parts only: a down part's check copies
// the catalog, BenchmarkJudgeOneFile's subject), with the files parsed as each is judged
// (inline) and parsed ahead on the other cores (ahead, the default; the
// same as inline with one core). Parsing ahead moves the parser's CPU off
// the replay's path, not out of the total: compare wall time, or the
// replay's share of a CPU profile.
func BenchmarkCheckHistory(b *testing.B) {
	defer func(h int) { parseHelpers = h }(parseHelpers)
	head := fstest.MapFS{}
	for i := 1; i <= 200; i++ {
		up, _, _ := strings.Cut(corpusFile(i), "-- +goose Down\n")
		head[fmt.Sprintf("db/migrations/%05d_step.sql", i)] = &fstest.MapFile{Data: []byte(up)}
	}
	for _, tc := range []struct {
		name    string
		helpers int
	}{{"inline", -1}, {"ahead", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			parseHelpers = tc.helpers
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rep, err := Analyze(context.Background(), Request{Head: head, Config: DefaultConfig()})
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Files) != 200 {
					b.Fatalf("%d files judged, want 200", len(rep.Files))
				}
			}
		})
	}
}
