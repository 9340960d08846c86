package analyzer

import (
	"fmt"
	"reflect"
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
