package analyzer

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// eachLeaf calls f with every settable leaf reachable from v (through
// pointers, structs and every element of lists, a list's length counting
// as a leaf of its own), named by its path.
func eachLeaf(v reflect.Value, name string, f func(name string, leaf reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		f(name+" (nil or not)", v)
		if !v.IsNil() {
			eachLeaf(v.Elem(), name, f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			eachLeaf(v.Field(i), name+"."+v.Type().Field(i).Name, f)
		}
	case reflect.Slice:
		f(name+" (length)", v)
		if v.Type().Elem().Kind() != reflect.Uint8 {
			for i := 0; i < v.Len(); i++ {
				eachLeaf(v.Index(i), fmt.Sprintf("%s[%d]", name, i), f)
			}
		}
	default:
		f(name, v)
	}
}

// changeLeaf changes a leaf: a number grows, a string or a list gains an
// element, a boolean flips, a pointer turns nil or non-nil.
func changeLeaf(t *testing.T, name string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.New(v.Type().Elem()).Elem()))
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		} else {
			v.Set(reflect.Zero(v.Type()))
		}
	default:
		t.Fatalf("%s: cannot change a %s", name, v.Kind())
	}
}

// fullMigration has every pointer set and one element in every list.
func fullMigration() layout.Migration {
	return layout.Migration{
		Kind: layout.Dbmate, Dir: "db", Path: "db/1.sql", Version: "1", Name: "one",
		Up:       layout.Part{Path: "db/1.sql", Start: 1, End: 9, Tx: layout.TxWrapped, TxReason: "r", TxLine: 2, TxSource: "s"},
		Down:     &layout.Part{Path: "db/1.sql", Start: 10, End: 20},
		More:     []layout.Section{{Up: layout.Part{Path: "db/1.sql"}, Down: &layout.Part{Path: "db/1.sql"}}},
		DownPath: "db/1.down.sql", VerifyPath: "verify/1.sql",
		Content: []byte("SELECT 1;"), DownContent: []byte("SELECT 2;"),
		Problems: []layout.Problem{{Path: "db/1.sql", Line: 3, Message: "m"}},
		BlobSHA:  "abc", Unreadable: "u",
	}
}

// TestMigrationKeyCoversEveryField: changing any field of a migration, at
// any depth, changes the key of a history that holds it.
func TestMigrationKeyCoversEveryField(t *testing.T) {
	keyOf := func(m layout.Migration) string {
		k := newKey("test")
		k.migrations("history", []layout.Migration{m})
		return k.sum()
	}
	m := fullMigration()
	want := keyOf(m)
	leaves := 0
	eachLeaf(reflect.ValueOf(&m).Elem(), "Migration", func(name string, v reflect.Value) {
		leaves++
		saved := reflect.New(v.Type()).Elem()
		saved.Set(v)
		changeLeaf(t, name, v)
		if keyOf(m) == want {
			t.Errorf("%s changed, the key did not", name)
		}
		v.Set(saved)
		if keyOf(m) != want {
			t.Fatalf("%s restored, the key differs", name)
		}
	})
	if leaves < 40 {
		t.Fatalf("only %d leaves walked", leaves)
	}
	if keyOf(layout.Migration{}) == keyOf(layout.Migration{Problems: []layout.Problem{}}) {
		t.Error("no problems and an empty list of problems: the same key")
	}
}

// fullSummary has every list with one element, every pointer set.
func fullSummary() baseSummary {
	m := fullMigration()
	m.Content, m.DownContent = nil, nil
	return baseSummary{
		Set: layout.Set{
			Migrations: []layout.Migration{m},
			Folders: []layout.Folder{{Path: "db", Kind: layout.Dbmate, Detected: "configured", Configured: true,
				Options: layout.Options{Transaction: layout.TransactionNone, MultiStatement: true}}},
			Problems: []layout.Problem{{Path: "db/x", Line: 1, Message: "m", RunTimeText: true}},
		},
		Sums: [][32]byte{{1, 2, 3}},
		Keys: baseKeys{CatalogKey: "c", Digest: "d"},
	}
}

// TestSummaryRoundTrip: every field of a base's summary, changed at any
// depth, is read back as written (nil lists as nil, empty ones as empty);
// the text is never kept. A summary cut short or with bytes after it is
// not read.
func TestSummaryRoundTrip(t *testing.T) {
	sum := fullSummary()
	check := func(name string) {
		t.Helper()
		b := appendSummary(nil, &sum)
		got, err := readSummary(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(*got, sum) {
			t.Fatalf("%s: read back\n%+v\nwant\n%+v", name, *got, sum)
		}
		for _, cut := range []int{1, len(b) / 2, len(b) - 1} {
			if _, err := readSummary(b[:cut]); err == nil {
				t.Fatalf("%s: %d bytes of %d read", name, cut, len(b))
			}
		}
		if _, err := readSummary(append(b, 0)); err == nil {
			t.Fatalf("%s: a byte after the end read", name)
		}
	}
	check("the full summary")
	leaves := 0
	eachLeaf(reflect.ValueOf(&sum).Elem(), "summary", func(name string, v reflect.Value) {
		if strings.Contains(name, "Content") {
			return // never kept
		}
		if v.Kind() == reflect.Array {
			v.Index(0).SetUint(v.Index(0).Uint() + 1)
			check(name)
			return
		}
		leaves++
		saved := reflect.New(v.Type()).Elem()
		saved.Set(v)
		changeLeaf(t, name, v)
		if v.Kind() == reflect.Slice && v.Len() > 0 && v.Index(v.Len()-1).Kind() == reflect.Array {
			// A sum per migration: the added one goes with a migration.
			v.Set(saved)
			return
		}
		if strings.HasSuffix(name, "Migrations (length)") {
			sum.Sums = append(sum.Sums, [32]byte{})
			check(name)
			sum.Sums = sum.Sums[:1]
		} else {
			check(name)
		}
		v.Set(saved)
	})
	if leaves < 50 {
		t.Fatalf("only %d leaves walked", leaves)
	}
	empty := baseSummary{Set: layout.Set{Migrations: []layout.Migration{}, Folders: []layout.Folder{}}, Keys: baseKeys{CatalogKey: "c", Digest: "d"}, Sums: [][32]byte{}}
	b := appendSummary(nil, &empty)
	got, err := readSummary(b)
	if err != nil || got.Set.Migrations == nil || got.Set.Folders == nil || got.Set.Problems != nil {
		t.Errorf("empty lists read back as %+v (%v)", got, err)
	}
}
