package analyzer

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
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

// leaf is a settable field of a type, by its index path.
type leaf struct {
	name string
	path []int
}

// leaves lists the exported leaf fields of struct type t: the fields
// that are not structs (time.Time counts as a leaf), through pointers.
func leaves(t reflect.Type, name string, prefix []int, out *[]leaf) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		*out = append(*out, leaf{name, prefix})
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		leaves(f.Type, name+"."+f.Name, append(append([]int(nil), prefix...), i), out)
	}
}

// mutate changes the leaf at path of v (addressable), allocating the
// pointers on the way: a number grows by one, a string gets a letter, a
// boolean flips, a slice gains an element, a time moves.
func mutate(t *testing.T, v reflect.Value, l leaf) {
	for _, i := range l.path {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem())) // nil to a zero value is a change
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		e := reflect.New(v.Type().Elem()).Elem()
		if e.Kind() == reflect.String {
			// "danger" is a valid entry of every list of names in the
			// configuration (severities, users, teams, roles).
			e.SetString("danger")
		}
		v.Set(reflect.Append(v, e))
	case reflect.Struct:
		v.Set(reflect.ValueOf(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)))
	default:
		t.Fatalf("%s: cannot change a %s", l.name, v.Kind())
	}
}

func keyHistory() fstest.MapFS {
	return fstest.MapFS{
		"db/migrations/00001_a.sql": {Data: []byte(goose("CREATE TABLE a (id int PRIMARY KEY);"))},
		"db/migrations/00002_b.sql": {Data: []byte(goose("CREATE TABLE b (id int PRIMARY KEY, a int REFERENCES a);"))},
		"db/migrations/00003_c.sql": {Data: []byte(goose("ALTER TABLE b ADD COLUMN n text;"))},
	}
}

func discover(t *testing.T, fsys fstest.MapFS, cfg Config) []layout.Migration {
	t.Helper()
	set, err := layout.Discover(fsys, cfg.locations())
	if err != nil {
		t.Fatal(err)
	}
	return set.Migrations
}

// TestBaseCatalogKeyMisses: changing anything the replay reads changes
// the key of the base schema: any field of the configuration, a file's
// bytes, the order, a file's path, the layout.
func TestBaseCatalogKeyMisses(t *testing.T) {
	cfg := DefaultConfig()
	base := discover(t, keyHistory(), cfg)
	want, err := baseCatalogKey(cfg, base)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := baseCatalogKey(cfg, discover(t, keyHistory(), cfg)); again != want {
		t.Fatal("the same history gives another key")
	}
	seen := map[string]string{"": want}
	check := func(what string, cfg Config, ms []layout.Migration) {
		t.Helper()
		k, err := baseCatalogKey(cfg, ms)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for other, ok := range seen {
			if ok == k {
				t.Errorf("%s: same key as %q", what, other)
			}
		}
		seen[what] = k
	}
	var ls []leaf
	leaves(reflect.TypeOf(Config{}), "config", nil, &ls)
	if len(ls) < 15 {
		t.Fatalf("only %d configuration fields found", len(ls))
	}
	for _, l := range ls {
		c := DefaultConfig()
		mutate(t, reflect.ValueOf(&c).Elem(), l)
		check(l.name, c, base)
	}
	for i := range base {
		ms := append([]layout.Migration(nil), base...)
		ms[i].Content = append(append([]byte(nil), ms[i].Content...), ' ')
		check(fmt.Sprintf("content of file %d", i), cfg, ms)
	}
	swapped := append([]layout.Migration(nil), base...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	check("order", cfg, swapped)
	renamed := append([]layout.Migration(nil), base...)
	renamed[2].Path += "x"
	check("path", cfg, renamed)
	check("fewer files", cfg, base[:2])
	flyway := cfg
	flyway.Migrations = []layout.Location{{Path: "db/migrations", Layout: layout.Plain}}
	check("layout", flyway, discover(t, keyHistory(), flyway))
}

// TestFingerprintMisses: changing any input of a request changes its
// fingerprint.
func TestFingerprintMisses(t *testing.T) {
	head := keyHistory()
	head["db/migrations/00004_d.sql"] = &fstest.MapFile{Data: []byte(goose("ALTER TABLE b DROP COLUMN n;"))}
	req := func() Request {
		return Request{Base: keyHistory(), Head: head, Changed: []string{"db/migrations/00004_d.sql"},
			Config: DefaultConfig(), Stats: &prodstats.File{Format: "x"}}
	}
	want, err := Fingerprint(req())
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Fingerprint(req()); again != want {
		t.Fatal("the same request gives another fingerprint")
	}
	seen := map[string]string{"": want}
	check := func(what string, r Request) {
		t.Helper()
		k, err := Fingerprint(r)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for other, ok := range seen {
			if ok == k {
				t.Errorf("%s: same fingerprint as %q", what, other)
			}
		}
		seen[what] = k
	}
	var ls []leaf
	leaves(reflect.TypeOf(Config{}), "config", nil, &ls)
	leaves(reflect.TypeOf(prodstats.File{}), "stats", nil, &ls)
	for _, l := range ls {
		r := req()
		field := reflect.ValueOf(&r).Elem().FieldByName("Config")
		if strings.HasPrefix(l.name, "stats.") {
			field = reflect.ValueOf(&r).Elem().FieldByName("Stats")
		}
		mutate(t, field, l)
		// Changes the configuration refuses are made valid.
		switch l.name {
		case "config.Migrations":
			r.Config.Migrations = []layout.Location{{Path: "db/migrations"}}
		case "config.Approval.MinRole":
			r.Config.Approval.MinRole = "admin"
		}
		check(l.name, r)
	}
	r := req()
	r.Stats = nil
	check("no stats", r)
	r = req()
	r.Changed = nil
	check("every file changed", r)
	r = req()
	r.Changed = []string{}
	check("no file changed", r)
	r = req()
	r.MaxStatements = 10
	check("statement limit", r)
	r = req()
	r.Unseen = []Unseen{{Path: "db", Reason: "truncated"}}
	check("unseen", r)
	r = req()
	r.Problems = []layout.Problem{{Path: "x", Message: "y"}}
	check("problems", r)
	r = req()
	r.Base = fstest.MapFS{}
	for p, f := range keyHistory() {
		r.Base.(fstest.MapFS)[p] = f
	}
	r.Base.(fstest.MapFS)["db/migrations/00001_a.sql"] = &fstest.MapFile{Data: []byte(goose("CREATE TABLE a (id bigint PRIMARY KEY);"))}
	check("base file", r)
	r = req()
	r.Base = nil
	check("no base", r)
	r = req()
	h2 := fstest.MapFS{}
	for p, f := range head {
		h2[p] = f
	}
	h2["db/migrations/00004_d.sql"] = &fstest.MapFile{Data: []byte(goose("ALTER TABLE b DROP COLUMN n ;"))}
	r.Head = h2
	check("head file", r)
	r = req()
	r.Migrations = discover(t, head, DefaultConfig())
	check("files given", r)

	r = req()
	r.Probe = &countingProbe{}
	if _, err := Fingerprint(r); err == nil {
		t.Error("a request with a data probe has a fingerprint")
	}
}
