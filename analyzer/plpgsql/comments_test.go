package plpgsql

import (
	"reflect"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/internal/repotext"
)

// commentTexts are texts where a comment stands right before a place, or
// close to one without standing before it, in every way the scanner reads
// one: line comments ended by a line feed, a carriage return or the end of
// the text, followed by every blank; block comments, nested, running on
// over lines and past the place; markers inside strings, quoted names and
// dollar quotes, which are no comments.
var commentTexts = []string{
	"BEGIN\n  -- a\n  DELETE FROM t;\nEND",
	"BEGIN -- a\r  DELETE FROM t; END",
	"BEGIN --\n\t\f\v\r\n DELETE FROM t; END",
	"BEGIN /* a /* nested */ still */ DELETE FROM t; END",
	"BEGIN /* over\nlines\n*/\n\nDELETE FROM t; END",
	"BEGIN /* runs past DELETE FROM t; */ END",
	"BEGIN DELETE FROM t; -- after\nUPDATE t SET a = '--'; END",
	"BEGIN x := '/* no'; DELETE FROM \"--t\"; y := $q$ -- $q$; UPDATE t SET a = 1; END",
	"-- top\nBEGIN\n  x := 1; -- trailing\n  DELETE FROM t;\nEND",
	"BEGIN DELETE FROM t;--",
	"BEGIN DELETE FROM t;/*",
	"-",
	"/",
	"--",
	"/**/",
	"BEGIN /*/ still */ DELETE FROM t; /***/UPDATE t SET a = 1; /* a */ /* b */\nINSERT INTO t VALUES (1); END",
	"BEGIN /* /* */ DELETE FROM t; */ UPDATE t SET a = '/*'; DELETE FROM u; END",
	"BEGIN x := 1 */ 2; DELETE FROM t; END",
}

// scannedCommentBefore is what attachComments finds with the scan: the last
// token starting before at is a comment.
func scannedCommentBefore(toks []pgtree.Token, at int) bool {
	k := 0
	for k < len(toks) && int(toks[k].GetStart()) < at {
		k++
	}
	if k == 0 {
		return false
	}
	t := toks[k-1].GetToken()
	return t == pg_query.Token_SQL_COMMENT || t == pg_query.Token_C_COMMENT
}

// TestCommentMayEndAt: wherever the scan finds a comment right before a
// place of a text, commentMayEndAt says it may, for every place of every
// text above and of every .sql file of the repository; and it says no at
// many places, or it would spare no scan.
func TestCommentMayEndAt(t *testing.T) {
	texts := append([]string{}, commentTexts...)
	for _, f := range repotext.SQL(t) {
		texts = append(texts, f.Text)
	}
	found, spared := 0, 0
	for _, text := range texts {
		toks, err := pgtree.ScanTokens(text)
		if err != nil {
			continue
		}
		blocks := blockEnds(text)
		for at := -1; at <= len(text)+1; at++ {
			scanned := scannedCommentBefore(toks, at)
			may := commentMayEndAt(text, blocks, at)
			if scanned && !may {
				t.Fatalf("%q at %d: the scan finds a comment right before, commentMayEndAt says none can be", text, at)
			}
			if scanned {
				found++
			} else if !may {
				spared++
			}
		}
	}
	t.Logf("%d texts, %d places with a comment before, %d spared", len(texts), found, spared)
	if found < 100 || spared < 1000 {
		t.Errorf("%d places with a comment right before, %d spared: want many of each", found, spared)
	}
}

// TestSpareCommentScans: every DO block and function of every .sql file of
// the repository, and those above, reads the same whether or not bodies
// whose comments all stand elsewhere are spared the scan; and some are.
func TestSpareCommentScans(t *testing.T) {
	var files []string
	for _, text := range commentTexts {
		files = append(files, "DO $$"+text+"$$;", "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$"+text+"$f$;")
	}
	files = append(files, bareCases...)
	for _, f := range repotext.SQL(t) {
		files = append(files, f.Text)
	}
	defer func() { spareCommentScans = true }()
	bodies, spared := 0, 0
	eachStatement(files, func(stmt *pg_query.Node, file string, start, end int) {
		src := Linear(file[start:end], start)
		spareCommentScans = false
		want := Read(stmt, src)
		spareCommentScans = true
		got := Read(stmt, src)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: the reading differs with comment scans spared:\n%s\nwant\n%s", file[start:end], dumpBody(got), dumpBody(want))
		}
		if got == nil || got.Language != "plpgsql" {
			return
		}
		bodies++
		text := got.Source.Text
		if (strings.Contains(text, "--") || strings.Contains(text, "/*")) && !got.commentsMayStand() {
			spared++
		}
	})
	if bodies < 20 || spared == 0 {
		t.Errorf("%d PL/pgSQL bodies read, %d scans spared: want many, and some", bodies, spared)
	}
	t.Logf("%d PL/pgSQL bodies, %d scans spared", bodies, spared)
}
