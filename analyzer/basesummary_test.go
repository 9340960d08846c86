package analyzer

import (
	"context"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// countingFS counts the files read from it.
type countingFS struct {
	fstest.MapFS
	reads *int
}

func (c countingFS) ReadFile(name string) ([]byte, error) {
	*c.reads++
	return c.MapFS.ReadFile(name)
}

func (c countingFS) Open(name string) (fs.File, error) {
	f, err := c.MapFS.Open(name)
	if err == nil {
		if st, serr := f.Stat(); serr == nil && !st.IsDir() {
			*c.reads++
		}
	}
	return f, err
}

// TestBaseSummary: with Request.BaseID, a request over a base seen before
// reads none of the base's files when its schema is cached, reads them
// when it must (the schema not cached, a head file whose bytes are not the
// base's), and in every case reports and fingerprints what a request
// without the cache does.
func TestBaseSummary(t *testing.T) {
	const added = "db/migrations/00004_d.sql"
	const old = "db/migrations/00002_b.sql"
	for _, tc := range []struct {
		name string
		// head changes the head (which holds the base and added).
		head func(head fstest.MapFS)
		// between runs after the run that fills the cache.
		between func(t *testing.T, c *mapCache, req *Request)
		// reads: the second run must read base files.
		reads bool
	}{
		{"the base seen before", func(fstest.MapFS) {}, func(*testing.T, *mapCache, *Request) {}, false},
		{"the base's schema evicted", func(fstest.MapFS) {}, func(t *testing.T, c *mapCache, req *Request) {
			key, err := baseCatalogKey(req.Config, discover(t, keyHistory(), req.Config))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.m[key]; !ok {
				t.Fatal("no base schema in the cache")
			}
			delete(c.m, key)
		}, true},
		{"another base id", func(fstest.MapFS) {}, func(_ *testing.T, _ *mapCache, req *Request) { req.BaseID = "base 2" }, true},
		{"the summary damaged", func(fstest.MapFS) {}, func(t *testing.T, c *mapCache, req *Request) {
			key, err := baseSummaryKey(*req)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.m[key]; !ok {
				t.Fatal("no base summary in the cache")
			}
			c.m[key] = []byte("not a summary")
		}, true},
		{"an unchanged path with CRLF line endings", func(head fstest.MapFS) {
			crlf := strings.ReplaceAll(string(head[old].Data), "\n", "\r\n")
			head[old] = &fstest.MapFile{Data: []byte(crlf)}
		}, func(*testing.T, *mapCache, *Request) {}, true},
		{"an unchanged path with other bytes", func(head fstest.MapFS) {
			head[old] = &fstest.MapFile{Data: []byte(goose("ALTER TABLE b DROP COLUMN a;"))}
		}, func(*testing.T, *mapCache, *Request) {}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := keyHistory()
			head[added] = &fstest.MapFile{Data: []byte(goose("ALTER TABLE a ADD COLUMN b int NOT NULL;"))}
			tc.head(head)
			reads := 0
			// Validated, as Discover does, so that the test's keys are the
			// run's.
			cfg := DefaultConfig()
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			req := Request{Base: countingFS{MapFS: keyHistory(), reads: &reads}, Head: head,
				Changed: []string{added}, Config: cfg, BaseID: "base 1"}
			ctx := context.Background()
			want, err := Analyze(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			wantKey, err := Fingerprint(req)
			if err != nil {
				t.Fatal(err)
			}
			c := newMapCache()
			req.Cache = c
			if _, err := Analyze(ctx, req); err != nil {
				t.Fatal(err)
			}
			tc.between(t, c, &req)
			reads = 0
			warm, err := Analyze(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if read := reads > 0; read != tc.reads {
				t.Errorf("%d base files read; want some: %v", reads, tc.reads)
			}
			if !reflect.DeepEqual(warm, want) {
				t.Fatalf("the report differs:\n%v\nwant\n%v", got(warm), got(want))
			}
			if key, err := Fingerprint(req); err != nil || key != wantKey {
				t.Errorf("fingerprint %q (%v), want %q", key, err, wantKey)
			}
		})
	}
}

// TestBaseSummaryKeyMisses: the summary is kept apart for every base id
// and every configuration.
func TestBaseSummaryKeyMisses(t *testing.T) {
	req := Request{Config: DefaultConfig(), BaseID: "base 1"}
	want, err := baseSummaryKey(req)
	if err != nil {
		t.Fatal(err)
	}
	other := req
	other.BaseID = "base 2"
	moved := req
	moved.Config.PostgresVersion++
	for name, r := range map[string]Request{"base id": other, "configuration": moved} {
		if k, err := baseSummaryKey(r); err != nil || k == want {
			t.Errorf("another %s: key %q (%v), the same", name, k, err)
		}
	}
}
