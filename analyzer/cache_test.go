package analyzer

import (
	"context"
	"reflect"
	"testing"
)

// mapCache is a Cache in a map that counts what it is asked.
type mapCache struct {
	m          map[string][]byte
	hits, puts int
}

func newMapCache() *mapCache { return &mapCache{m: map[string][]byte{}} }

func (c *mapCache) Get(key string) ([]byte, bool) {
	v, ok := c.m[key]
	if ok {
		c.hits++
	}
	return v, ok
}

func (c *mapCache) Put(key string, value []byte) {
	c.puts++
	c.m[key] = append([]byte(nil), value...)
}

// checkCachedReport analyzes req again with an empty cache (which fills
// it) and again with the filled one (which replays nothing), and compares
// both reports with want, field for field.
func checkCachedReport(t *testing.T, req Request, want *Report) {
	t.Helper()
	c := newMapCache()
	req.Cache = c
	cold, err := Analyze(context.Background(), req)
	if err != nil {
		t.Fatalf("Analyze with an empty cache: %v", err)
	}
	if req.Base != nil && (c.puts != 1 || c.hits != 0) {
		t.Fatalf("empty cache: %d puts, %d hits; want 1, 0", c.puts, c.hits)
	}
	warm, err := Analyze(context.Background(), req)
	if err != nil {
		t.Fatalf("Analyze with a filled cache: %v", err)
	}
	if req.Base != nil && (c.puts != 1 || c.hits != 1) {
		t.Fatalf("filled cache: %d puts, %d hits; want 1, 1", c.puts, c.hits)
	}
	for name, rep := range map[string]*Report{"empty cache": cold, "filled cache": warm} {
		if !reflect.DeepEqual(rep, want) {
			t.Fatalf("the report with an %s differs:\n%v\nwant\n%v", name, got(rep), got(want))
		}
	}
}
