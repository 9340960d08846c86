package webhook

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/migration-guard/migration-guard/internal/resultcache"
)

// countingCache counts what the App asks of its catalog cache.
type countingCache struct {
	mu         sync.Mutex
	m          *resultcache.Memory
	hits, puts int
}

func (c *countingCache) Get(key string) ([]byte, bool) {
	v, ok := c.m.Get(key)
	c.mu.Lock()
	if ok {
		c.hits++
	}
	c.mu.Unlock()
	return v, ok
}

func (c *countingCache) Put(key string, value []byte) {
	c.mu.Lock()
	c.puts++
	c.mu.Unlock()
	c.m.Put(key, value)
}

func (c *countingCache) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.puts
}

// TestCatalogCacheAcrossPullRequests: the second pull request on the same
// base reads the base's schema from the App's cache, and is judged as the
// first: a column of a table only the base creates is known.
func TestCatalogCacheAcrossPullRequests(t *testing.T) {
	cache := &countingCache{m: resultcache.NewMemory(0)}
	e := newEnv(t, func(c *Config) { c.CatalogCache = cache })
	for i, branch := range []string{"drop-legacy", "drop-email"} {
		column := strings.TrimPrefix(branch, "drop-")
		pr, opened := e.openPR(branch, map[string]string{"db/migrations/002_drop.sql": "ALTER TABLE users DROP COLUMN " + column + ";\n"})
		e.deliver(opened, http.StatusAccepted)
		e.wait()
		run := e.onlyRun(pr.HeadSHA)
		if run.Conclusion != "action_required" || !strings.Contains(run.Output.Text, "drop-column") || !strings.Contains(run.Output.Text, "users."+column) {
			t.Fatalf("%s: %s\n%s", branch, run.Conclusion, run.Output.Text)
		}
		hits, puts := cache.counts()
		if puts != 1 || hits != i {
			t.Fatalf("after %s: %d hits, %d puts; want %d, 1", branch, hits, puts, i)
		}
	}
}
