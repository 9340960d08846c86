package plpgsql

import (
	"encoding/json"
	"reflect"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/internal/repotext"
)

// viaEncodingJSON is what the reader walked before decodeTree: the tree as
// encoding/json decodes it.
func viaEncodingJSON(text string) (jval, error) {
	var tree any
	if err := json.Unmarshal([]byte(text), &tree); err != nil {
		return jval{}, err
	}
	return fromAny(tree), nil
}

func checkDecodeTree(t *testing.T, text string) {
	t.Helper()
	got, err := decodeTree(text)
	want, werr := viaEncodingJSON(text)
	if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
		t.Fatalf("%q: error %v, encoding/json says %v", text, err, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decoded\n%+v\nencoding/json\n%+v", text, got, want)
	}
	// The tree the reader walks is that tree, pruned.
	walked, err := decodeWalked(text)
	if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
		t.Fatalf("%q: decodeWalked's error %v, encoding/json says %v", text, err, werr)
	}
	if want := pruned(want); !reflect.DeepEqual(walked, want) {
		t.Fatalf("%q: decodeWalked\n%+v\nthe pruned tree of encoding/json\n%+v", text, walked, want)
	}
}

// TestWalkedTreeSameReading: every DO block and function of every .sql
// file of the repository, and the cases of the tests here, reads the same
// from the pruned tree (decodeWalked) as from the whole tree.
func TestWalkedTreeSameReading(t *testing.T) {
	files := append([]string{
		// The same statement in both branches: the tree lists the ELSE
		// branch first, and only its line number places it.
		"DO $$ BEGIN IF random() > 0.5 THEN\n  DELETE FROM t;\nELSE\n  DELETE FROM t;\nEND IF; END $$;",
		// An exception block, and a body without one, nested.
		"DO $$ BEGIN BEGIN DELETE FROM t; EXCEPTION WHEN others THEN NULL; END; BEGIN DELETE FROM u; END; END $$;",
	}, bareCases...)
	for _, text := range commentTexts {
		files = append(files, "DO $$"+text+"$$;")
	}
	for _, f := range repotext.SQL(t) {
		files = append(files, f.Text)
	}
	defer func() { decodeWith = decodeWalked }()
	bodies := 0
	eachStatement(files, func(stmt *pg_query.Node, file string, start, end int) {
		src := Linear(file[start:end], start)
		decodeWith = decodeTree
		want := Read(stmt, src)
		decodeWith = decodeWalked
		got := Read(stmt, src)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: the reading from the pruned tree differs:\n%s\nwant\n%s", file[start:end], dumpBody(got), dumpBody(want))
		}
		if got != nil && got.Language == "plpgsql" && len(got.Stmts) > 0 {
			bodies++
		}
	})
	if bodies < 20 {
		t.Errorf("%d PL/pgSQL bodies read, want many", bodies)
	}
}

// TestDecodeTreeMatchesEncodingJSON: the parse trees of real bodies, and
// JSON pg_query does not write (escapes, invalid UTF-8, repeated keys,
// odd numbers, bad syntax), decode as encoding/json decodes them, errors
// included.
func TestDecodeTreeMatchesEncodingJSON(t *testing.T) {
	bodies := 0
	for _, text := range bareCases {
		tree, err := pg_query.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		cf := tree.GetStmts()[0].GetStmt().GetCreateFunctionStmt()
		b := Read(tree.GetStmts()[0].GetStmt(), Source{})
		if b.Language != "plpgsql" {
			continue
		}
		wrapper, _, err := wrap(signature(cf), b.Source.Text)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pg_query.ParsePlPgSqlToJSON(wrapper)
		if err != nil {
			continue
		}
		bodies++
		checkDecodeTree(t, out)
	}
	if bodies < 8 {
		t.Fatalf("%d bodies' trees checked", bodies)
	}
	for _, text := range []string{
		`{}`, `[]`, ` [ 1 , -2.5e3 , 0 , true , false , null , "x" ] `,
		`{"b":1,"a":{"query":"SELECT \"x\"\n\t\\ \u00e9 \ud83d\ude00","parseMode":0},"a":2}`,
		"{\"query\":\"\xff\xfe\"}", `{"a":"\ud800"}`, `{"a":1e999}`, `{"a":+1}`, `{"a":1.}`, `{"a":01}`,
		`{"a":.5}`, `{"a":-}`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":1} x`, `{"a":"x`, "{\"a\":\"\x01\"}",
		`{"q":"a\nb\t\"c\"\\d\/e\bf\fg\rh"}`, `{"q":"end\\"}`, `{"q":"\"}`, "{\"q\":\"\\n\xff\"}",
		`nul`, `tru`, ``, `{"a":[{"b":[{"c":null}]}]}`, `"\/"`, `{"a":"\q"}`,
		// \u escapes, which pg_query writes for <, > and &: decoded here
		// but for surrogates, alone or in pairs, and malformed ones.
		`{"q":"a \u003e= b \u003C c \u0026\n\u0000\u001f\uFFFF\u00E9"}`, `"\ud83d"`, `"x\udc00y"`, `"\ud83d\ude00\u003e"`,
		`"\u12"`, `"\u12G4"`, `"\u"`, `"\u003"`, `"\uD7FF\uE000"`,
	} {
		checkDecodeTree(t, text)
	}
}

// FuzzDecodeTree: any text decodes as encoding/json decodes it.
func FuzzDecodeTree(f *testing.F) {
	for _, s := range []string{`{"PLpgSQL_function":{"datums":[{"PLpgSQL_var":{"refname":"found"}}],"action":{"PLpgSQL_stmt_block":{"lineno":1,"body":[]}}}}`,
		`[1,"a\n",null,{"x":true}]`, `{"a":1,"a":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkDecodeTree(t, s)
	})
}
