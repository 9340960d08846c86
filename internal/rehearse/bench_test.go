package rehearse

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer"
)

// history is a synthetic 200-migration history: tables, columns, indexes,
// constraints and backfills, as a long-lived application accumulates them.
func history(n int) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 1; i <= n; i++ {
		t := fmt.Sprintf("t%03d", (i-1)/4)
		var up, down string
		switch i % 4 {
		case 1:
			up = fmt.Sprintf("CREATE TABLE %s (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());", t)
			down = "DROP TABLE " + t + ";"
		case 2:
			up = fmt.Sprintf("ALTER TABLE %s ADD COLUMN status text;\nINSERT INTO %s (name, status) SELECT 'n' || g, 'new' FROM generate_series(1, 20) g;", t, t)
			down = fmt.Sprintf("ALTER TABLE %s DROP COLUMN status;", t)
		case 3:
			up = fmt.Sprintf("CREATE INDEX %s_status ON %s (status);\nALTER TABLE %s ADD CONSTRAINT %s_name_len CHECK (length(name) < 200);", t, t, t, t)
			down = fmt.Sprintf("DROP INDEX %s_status;\nALTER TABLE %s DROP CONSTRAINT %s_name_len;", t, t, t)
		case 0:
			up = fmt.Sprintf("CREATE TYPE %s_kind AS ENUM ('a', 'b');\nALTER TABLE %s ADD COLUMN kind %s_kind;", t, t, t)
			down = fmt.Sprintf("ALTER TABLE %s DROP COLUMN kind;\nDROP TYPE %s_kind;", t, t)
		}
		fsys[fmt.Sprintf("db/migrations/%05d_m.sql", i)] = &fstest.MapFile{Data: []byte(goose(up, down))}
	}
	return fsys
}

// BenchmarkRehearse200 rehearses one changed file over a 200-migration
// history: cold (the base replayed) and with the base cached as a template
// database. Run with -bench Rehearse200 -benchtime 5x.
func BenchmarkRehearse200(b *testing.B) {
	ctx := context.Background()
	base := history(200)
	head := fstest.MapFS{}
	for k, v := range base {
		head[k] = v
	}
	changed := "db/migrations/00201_change.sql"
	head[changed] = &fstest.MapFile{Data: []byte(goose("ALTER TABLE t010 ADD COLUMN note text;\nCREATE INDEX t010_note ON t010 (note);\nALTER TABLE t010 ALTER COLUMN status SET NOT NULL;",
		"DROP INDEX t010_note;\nALTER TABLE t010 ALTER COLUMN status DROP NOT NULL;\nALTER TABLE t010 DROP COLUMN note;"))}
	req := analyzer.Request{Base: base, Head: head, Changed: []string{changed}, Config: analyzer.DefaultConfig()}
	req.Config.PostgresVersion = 15
	servers := map[string]func(b *testing.B) *Server{
		"scratch": func(b *testing.B) *Server { return scratchServer(b) },
		"cluster": func(b *testing.B) *Server {
			srv, _, err := StartCluster(ctx, ClusterOptions{Version: 15, CacheDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = srv.Close(ctx) })
			return srv
		},
	}
	for _, where := range []string{"scratch", "cluster"} {
		for _, cached := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/cached=%v", where, cached), func(b *testing.B) {
				srv := servers[where](b)
				opt := Options{CacheBase: cached}
				if cached {
					// Fill the cache once, outside the timing.
					rep, err := analyzer.Analyze(ctx, req)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := Rehearse(ctx, srv, req, rep, opt); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for b.Loop() {
					rep, err := analyzer.Analyze(ctx, req)
					if err != nil {
						b.Fatal(err)
					}
					res, err := Rehearse(ctx, srv, req, rep, opt)
					if err != nil {
						b.Fatal(err)
					}
					if fr := res.Files[0]; res.BaseMigrations != 200 || fr.NotRehearsed != "" || fr.Failed != nil || !fr.AgainRan || len(fr.DownDifferences) > 0 || res.BaseCached != cached {
						b.Fatalf("%+v %+v", res, fr)
					}
				}
			})
		}
	}
}

// BenchmarkStartCluster is the private cluster's own cost: initdb, start,
// stop and removal.
func BenchmarkStartCluster(b *testing.B) {
	ctx := context.Background()
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			opt := ClusterOptions{Version: 15, CacheDir: "-"}
			if cached {
				opt.CacheDir = b.TempDir()
			}
			for b.Loop() {
				srv, _, err := StartCluster(ctx, opt)
				if err != nil {
					b.Fatal(err)
				}
				if err := srv.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
