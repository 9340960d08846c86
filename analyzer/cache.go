package analyzer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log/slog"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// Cache keeps results that depend only on the content they were computed
// from (internal/resultcache: a folder for the CLI, memory for the App).
// Keys already hold everything the result depends on but the build: the
// cache itself keeps apart the entries of different builds. A cache only
// saves work: whatever Get returns is checked, and anything that does
// not check out is computed again.
type Cache interface {
	Get(key string) ([]byte, bool)
	Put(key string, value []byte)
}

// cacheFormat changes whenever what a key covers or what an entry holds
// changes meaning.
const cacheFormat = "migration-guard analyzer cache 2"

// keyHasher builds a cache key from tagged, length-prefixed fields, so
// that no two different field lists hash the same bytes.
type keyHasher struct{ h hash.Hash }

func newKey(kind string) *keyHasher {
	k := &keyHasher{h: sha256.New()}
	k.field("format", []byte(cacheFormat))
	k.field("kind", []byte(kind))
	return k
}

func (k *keyHasher) field(tag string, b []byte) {
	var n [binary.MaxVarintLen64]byte
	k.h.Write(n[:binary.PutUvarint(n[:], uint64(len(tag)))])
	k.h.Write([]byte(tag))
	k.h.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
	k.h.Write(b)
}

// value hashes v's JSON: every exported field, nil apart from empty.
func (k *keyHasher) value(tag string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cache key, %s: %w", tag, err)
	}
	k.field(tag, b)
	return nil
}

// migrations hashes every field of every migration, in order; the files'
// bytes by their SHA-256.
func (k *keyHasher) migrations(tag string, ms []layout.Migration) {
	if ms == nil {
		k.field(tag, nil)
		return
	}
	k.field(tag, []byte(fmt.Sprint(len(ms))))
	var b []byte
	for i := range ms {
		up, down := sha256.Sum256(ms[i].Content), sha256.Sum256(ms[i].DownContent)
		k.field("content", up[:])
		k.field("down content", down[:])
		b = appendMigration(b[:0], &ms[i])
		k.field("migration", b)
	}
}

func (k *keyHasher) sum() string { return hex.EncodeToString(k.h.Sum(nil)) }

// baseCatalogKey is the key of the schema a base history builds: the
// configuration (locations, layouts, the file size limit) and every base
// migration in the order it is replayed. The replay reads nothing else.
func baseCatalogKey(cfg Config, base []layout.Migration) (string, error) {
	k := newKey("base catalog")
	k.field("catalog encoding", []byte(fmt.Sprint(catalog.EncodingVersion)))
	if err := k.value("config", cfg); err != nil {
		return "", err
	}
	k.migrations("base", base)
	return k.sum(), nil
}

// baseCatalogKey is the key of the schema the request's base builds: the
// summary's when the base came from the cache.
func (d *Discovered) baseCatalogKey() (string, error) {
	if d.keys != nil {
		return d.keys.CatalogKey, nil
	}
	return baseCatalogKey(d.req.Config, d.base.Migrations)
}

// baseSummary is what discovery found at a base, kept under the base's id
// (Request.BaseID) without the files' text: what stands for the text is
// kept instead, computed from it when it was read.
type baseSummary struct {
	// Set is the base's set, every migration's Content and DownContent
	// left out.
	Set layout.Set
	// Sums are the SHA-256 of each migration's Content, in Set's order.
	Sums [][sha256.Size]byte
	Keys baseKeys
}

// baseKeys stand for a base's set, with its text, in keys: CatalogKey is
// its baseCatalogKey, Digest its setDigest.
type baseKeys struct {
	CatalogKey, Digest string
}

// baseSummaryKey is the key of a base's summary: the configuration (which
// says where discovery looks) and the base's id (everything it reads).
func baseSummaryKey(req Request) (string, error) {
	k := newKey("base summary")
	if err := k.value("config", req.Config); err != nil {
		return "", err
	}
	k.field("base id", []byte(req.BaseID))
	return k.sum(), nil
}

// summaryKey is the cache key of the request's base summary, when the
// request has a cache and names its base (Request.BaseID).
func summaryKey(req Request) (string, bool) {
	if req.Cache == nil || req.BaseID == "" {
		return "", false
	}
	key, err := baseSummaryKey(req)
	if err != nil {
		slog.Debug("cache: no key for the base's summary", "err", err)
		return "", false
	}
	return key, true
}

// restoreBaseSummary returns the cached summary of the request's base, or
// nil.
func restoreBaseSummary(req Request) *baseSummary {
	key, ok := summaryKey(req)
	if !ok {
		return nil
	}
	b, ok := req.Cache.Get(key)
	if !ok {
		return nil
	}
	sum, err := readSummary(b)
	if err != nil || sum.Keys.CatalogKey == "" || sum.Keys.Digest == "" {
		slog.Debug("cache: ignoring a base summary entry", "err", err)
		return nil
	}
	return sum
}

// keepBaseSummary keeps what discovery found at the request's base, read
// with its text, under the base's id, and returns the keys it computed.
func keepBaseSummary(req Request, set *layout.Set) *baseKeys {
	key, ok := summaryKey(req)
	if !ok {
		return nil
	}
	var err error
	sum := baseSummary{Set: *set, Sums: make([][sha256.Size]byte, len(set.Migrations))}
	if sum.Keys.CatalogKey, err = baseCatalogKey(req.Config, set.Migrations); err != nil {
		slog.Debug("cache: not keeping the base's summary", "err", err)
		return nil
	}
	if sum.Keys.Digest, err = setDigest(set); err != nil {
		slog.Debug("cache: not keeping the base's summary", "err", err)
		return nil
	}
	sum.Set.Migrations = make([]layout.Migration, len(set.Migrations))
	for i, m := range set.Migrations {
		sum.Sums[i] = sha256.Sum256(m.Content)
		m.Content, m.DownContent = nil, nil
		sum.Set.Migrations[i] = m
	}
	req.Cache.Put(key, appendSummary(nil, &sum))
	return &sum.Keys
}

// setDigest is a key for every field of a set, the files' bytes by hash.
func setDigest(set *layout.Set) (string, error) {
	k := newKey("migration set")
	if err := k.set("set", set); err != nil {
		return "", err
	}
	return k.sum(), nil
}

// restoreBase returns the cached schema of the base history, or nil.
func restoreBase(c Cache, key string) *catalog.Catalog {
	b, ok := c.Get(key)
	if !ok {
		return nil
	}
	cat, err := catalog.Decode(b)
	if err != nil {
		slog.Debug("cache: ignoring a base catalog entry", "err", err)
		return nil
	}
	return cat
}

// Fingerprint is a key for everything a request's report depends on:
// the configuration, the statistics, the migrations at the base and at the
// head (every field, the files' bytes by hash, in order), the files given
// and their problems, the changed paths, what could not be examined and
// the statement limit. Two requests with the same fingerprint get the same
// report from the same build. A request with a data probe has none: the
// rows it counts are not content.
func Fingerprint(req Request) (string, error) {
	d, err := Discover(req)
	if err != nil {
		return "", err
	}
	return d.Fingerprint()
}

// Fingerprint is the request's Fingerprint, from the files already read.
func (d *Discovered) Fingerprint() (string, error) {
	req := d.req
	if req.Probe != nil {
		return "", errors.New("a request with a data probe depends on the database's rows")
	}
	k := newKey("report")
	if err := k.value("config", req.Config); err != nil {
		return "", err
	}
	if err := k.value("stats", req.Stats); err != nil {
		return "", err
	}
	// The base by its digest, which a base from the cache carries.
	switch {
	case d.keys != nil:
		k.field("base", []byte(d.keys.Digest))
	case d.base != nil:
		digest, err := setDigest(d.base)
		if err != nil {
			return "", err
		}
		k.field("base", []byte(digest))
	default:
		k.field("base", nil)
	}
	if d.head == nil {
		k.field("head", nil)
	} else if err := k.set("head", d.head); err != nil {
		return "", err
	}
	k.migrations("given", req.Migrations)
	if err := k.value("problems", req.Problems); err != nil {
		return "", err
	}
	if err := k.value("changed", req.Changed); err != nil {
		return "", err
	}
	if err := k.value("unseen", req.Unseen); err != nil {
		return "", err
	}
	if err := k.value("max statements", req.MaxStatements); err != nil {
		return "", err
	}
	return k.sum(), nil
}

func (k *keyHasher) set(tag string, set *layout.Set) error {
	k.migrations(tag, set.Migrations)
	if err := k.value(tag+" folders", set.Folders); err != nil {
		return err
	}
	return k.value(tag+" problems", set.Problems)
}
