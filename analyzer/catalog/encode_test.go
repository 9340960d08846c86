package catalog

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// checkRoundTrip decodes the encoding of c and compares: the dump, the
// encoding of the decoded catalog (every encoded field came back), the
// rebuilt indexes against a scan, and the functions' bodies read again.
func checkRoundTrip(t *testing.T, c *Catalog) {
	t.Helper()
	enc, err := c.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	d, err := Decode(enc)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got, want := d.Dump(), c.Dump(); got != want {
		t.Fatalf("decoded catalog differs:\n%s", lineDiff(want, got))
	}
	again, err := d.Encode()
	if err != nil {
		t.Fatalf("encode the decoded catalog: %v", err)
	}
	if !bytes.Equal(again, enc) {
		t.Fatalf("the decoded catalog encodes to other bytes (%d, was %d)", len(again), len(enc))
	}
	if err := checkIndexes(d); err != nil {
		t.Fatalf("decoded catalog's indexes: %v", err)
	}
	if !reflect.DeepEqual(d.SearchPath(), c.SearchPath()) || !reflect.DeepEqual(d.Settings(), c.Settings()) ||
		d.InChangeSet() != c.InChangeSet() || d.path != c.path || d.line != c.line {
		t.Fatalf("session state differs: %v %v / %v %v", d.Settings(), d.InChangeSet(), c.Settings(), c.InChangeSet())
	}
	if !reflect.DeepEqual(maps.Collect(d.storedFuncs.All()), maps.Collect(c.storedFuncs.All())) {
		t.Fatalf("stored code's functions: %v, want %v", maps.Collect(d.storedFuncs.All()), maps.Collect(c.storedFuncs.All()))
	}
	if d.functions.Len() != c.functions.Len() || !reflect.DeepEqual(maps.Collect(d.triggerFuncs.All()), maps.Collect(c.triggerFuncs.All())) {
		t.Fatalf("functions: %d, want %d; triggers %v, want %v", d.functions.Len(), c.functions.Len(),
			maps.Collect(d.triggerFuncs.All()), maps.Collect(c.triggerFuncs.All()))
	}
	for q, list := range c.functions.All() {
		got := d.functions.Get(q)
		if len(got) != len(list) {
			t.Fatalf("function %v: %d overloads, want %d", q, len(got), len(list))
		}
		for i, f := range list {
			g := got[i]
			if g.Schema != f.Schema || g.Name != f.Name || g.Signature != f.Signature || g.Origin != f.Origin ||
				!proto.Equal(g.stmt, f.stmt) || !sameValue(reflect.ValueOf(g.Body), reflect.ValueOf(f.Body)) {
				t.Fatalf("function %v overload %d differs", q, i)
			}
		}
	}
}

// TestEncodeRoundTrip covers the replay golden's history after every
// file, and the example project; every catalog the other tests build
// with build or mustApply is checked the same way after each statement
// list (helpers_test.go).
func TestEncodeRoundTrip(t *testing.T) {
	files := replayFiles(t)
	c := New()
	for i, f := range files {
		if i == len(files)/2 {
			c.BeginChangeSet()
		}
		c.ResetSession()
		if err := c.ApplySQL(f.path, f.sql); err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
		checkRoundTrip(t, c)
	}
	paths, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "db", "migrations", "*.sql"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no example migrations: %v", err)
	}
	sort.Strings(paths)
	ex := New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ex.ResetSession()
		if err := ex.ApplySQL(p, string(b)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		checkRoundTrip(t, ex)
	}
}

// TestEncodeSessionState: a session's search path and role, a dropped
// public schema, functions, triggers and stored code's calls come back.
func TestEncodeSessionState(t *testing.T) {
	c := New()
	mustApply(t, c, `
DROP SCHEMA public;
CREATE SCHEMA app;
SET search_path = app;
SET ROLE owner;
CREATE TABLE t (id int PRIMARY KEY, n text DEFAULT 'x' CHECK (n <> ''), g int GENERATED ALWAYS AS (id * 2) STORED);
CREATE FUNCTION app.f(a int) RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE t SET n = 'y'; RETURN NULL; END $$;
CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();
CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE VIEW v AS SELECT g() AS x;
CREATE INDEX ON t (lower(n)) WHERE id > 0;`)
	if c.Schema("public") != nil || c.functions.Len() != 2 || c.triggerFuncs.Len() != 1 || c.storedFuncs.Len() != 1 || c.role == "" {
		t.Fatalf("setup: public %v, functions %d, triggers %d, stored %d, role %q", c.Schema("public"), c.functions.Len(), c.triggerFuncs.Len(), c.storedFuncs.Len(), c.role)
	}
	checkRoundTrip(t, c)
	enc, _ := c.Encode()
	d, _ := Decode(enc)
	if d.Schema("public") != nil || d.SoleSchema() != "app" || d.Table("", "t") == nil {
		t.Fatalf("decoded: public %v, sole schema %q", d.Schema("public"), d.SoleSchema())
	}
	if fs := d.FunctionsByName([]string{"f"}); len(fs) != 1 || fs[0].Body == nil || len(fs[0].Body.Stmts) == 0 {
		t.Fatalf("function body not read again: %+v", fs)
	}
}

// TestDecodeRefusesDamage: every truncation of an encoding, every
// damaged byte, a trailing byte and another version give ErrEncoding and
// no catalog.
func TestDecodeRefusesDamage(t *testing.T) {
	c := replay(t, replayFiles(t))
	enc, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(enc); n++ {
		if d, err := Decode(enc[:n]); err == nil || d != nil {
			t.Fatalf("truncated at %d of %d: decoded", n, len(enc))
		}
	}
	other := append([]byte(nil), enc[:len(enc)-sha256.Size]...)
	other[len(encodingMagic)] = EncodingVersion + 1
	sum := sha256.Sum256(other)
	if _, err := Decode(append(other, sum[:]...)); !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), "version") {
		t.Fatalf("another version: %v", err)
	}
	if _, err := Decode(append(append([]byte(nil), enc...), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	// A damaged parse tree that still decodes as protobuf can crash the
	// parser's C code: no damaged byte may get past the checksum.
	for i := 0; i < len(enc); i++ {
		flipped := append([]byte(nil), enc...)
		flipped[i] ^= 0x5a
		if d, err := Decode(flipped); !errors.Is(err, ErrEncoding) || d != nil {
			t.Fatalf("byte %d of %d damaged: decoded (%v)", i, len(enc), err)
		}
	}
}

// TestEncodeCoversFields fails when a field is added to a type the
// encoding writes: the new field must be encoded (or said to be derived)
// and listed here. The owner fields (and the catalog's copies) say which
// catalog version may change an object in place: they are not encoded,
// and decoding gives every object the new catalog as its owner. Nor is
// calls, a cache of what the bodies say (bodyCalls), nor texts, the
// expressions' deparsed texts (deparseExpr's memo): a decoded catalog starts empty
// ones. Nor is settled, the maps as Settle left them: a decoded catalog
// has none, and looks through all its objects for the change set.
func TestEncodeCoversFields(t *testing.T) {
	want := map[reflect.Type]string{
		reflect.TypeOf(Catalog{}):    "schemas tables enums domains sequences functions triggerFuncs storedFuncs owner copies procedural searchPath role sessionUser path line inChangeSet idx calls texts settled scratchOf",
		reflect.TypeOf(Schema{}):     "Name Origin owner",
		reflect.TypeOf(Table{}):      "Schema Name Kind Columns Constraints Indexes Unlogged PartitionOf PartitionStrategy ColumnsUnknown Query Definition DependsOn UpdateTriggers Origin parent keys sharedKids owner",
		reflect.TypeOf(Column{}):     "Name Type NotNull Default DefaultNode Identity Generated GeneratedNode Collation Origin generatedFrom",
		reflect.TypeOf(Constraint{}): "Name Kind Columns Validated Check CheckNode NotNullColumn RefSchema RefTable RefColumns OnDelete OnUpdate Index Deferrable InitiallyDeferred NoInherit Origin",
		reflect.TypeOf(IndexKey{}):   "Column Expr ExprNode Desc",
		reflect.TypeOf(Index{}):      "Name Keys Include Unique Primary NullsNotDistinct Method Where WhereNode Valid Concurrently Constraint Origin parent exprColumns",
		reflect.TypeOf(Enum{}):       "Schema Name Values Origin owner",
		reflect.TypeOf(Domain{}):     "Schema Name BaseType NotNull Default Constraints Origin owner",
		reflect.TypeOf(Sequence{}):   "Schema Name OwnedByTable OwnedByColumn Identity Origin owner",
		reflect.TypeOf(Function{}):   "Schema Name Signature Body Origin stmt",
		reflect.TypeOf(Type{}):       "Schema Name Mods ArrayDims",
		reflect.TypeOf(Origin{}):     "InChangeSet Path Line",
		reflect.TypeOf(ObjectRef{}):  "Kind Schema Table Name NeedsCascade",
	}
	for typ, fields := range want {
		var have []string
		for i := 0; i < typ.NumField(); i++ {
			have = append(have, typ.Field(i).Name)
		}
		if got := strings.Join(have, " "); got != fields {
			t.Errorf("%s has fields %q; encode.go handles %q: encode the new ones, bump EncodingVersion, and list them here", typ.Name(), got, fields)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	c := New()
	for _, f := range replayFilesB(b) {
		c.ResetSession()
		if err := c.ApplySQL(f.path, f.sql); err != nil {
			b.Fatal(err)
		}
	}
	enc, err := c.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func replayFilesB(b *testing.B) []migration {
	paths, err := filepath.Glob(filepath.Join("testdata", "replay", "*.sql"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no replay files: %v", err)
	}
	sort.Strings(paths)
	var out []migration
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, migration{path: filepath.ToSlash(p), sql: string(data)})
	}
	return out
}

var protoMessage = reflect.TypeOf((*proto.Message)(nil)).Elem()

// sameValue is reflect.DeepEqual with parse-tree messages compared by
// proto.Equal: their internal caches differ between equal trees.
func sameValue(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	if a.Type().Implements(protoMessage) && a.Kind() == reflect.Pointer {
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return proto.Equal(a.Interface().(proto.Message), b.Interface().(proto.Message))
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if !b.MapIndex(k).IsValid() || !sameValue(a.MapIndex(k), b.MapIndex(k)) {
				return false
			}
		}
		return true
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	}
	return false
}
