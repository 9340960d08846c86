package plpgsql

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// statementAt parses file and returns its statement at index i with the
// Source the analyzer gives it (the part's text up to the statement's end,
// as the tree's locations count it).
func statementAt(t *testing.T, file string, i int) (*pg_query.Node, Source) {
	t.Helper()
	tree, err := pg_query.Parse(file)
	if err != nil {
		t.Fatalf("%q: %v", file, err)
	}
	raw := tree.GetStmts()[i]
	end := int(raw.GetStmtLocation() + raw.GetStmtLen())
	if raw.GetStmtLen() == 0 {
		end = len(file)
	}
	return raw.GetStmt(), Linear(file[:end], 0)
}

// TestMemoSameAsReading: a body the memo hands out again, at another place
// of another file, is what reading it there gives, field for field (every
// offset moved, comments included), for every kind of body bareCases
// holds; bodies that differ only in what the PL/pgSQL parser is told of
// the function (an OUT parameter, a set result, a trigger) or in their
// language are not taken for one another.
func TestMemoSameAsReading(t *testing.T) {
	cases := append([]string{
		"CREATE FUNCTION f(OUT x int) RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN x := 1; RETURN NEXT; END $$",
		"CREATE FUNCTION f() RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN x := 1; RETURN NEXT; END $$",
		"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.x := 1; DELETE FROM log WHERE id = OLD.id; RETURN NEW; END $$",
		"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN NEW.x := 1; DELETE FROM log WHERE id = OLD.id; RETURN NEW; END $$",
		"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM t; $$",
		"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ DELETE FROM t; $$",
	}, bareCases...)
	memo := NewMemo()
	for _, text := range cases {
		// Each case first as the first statement of a file, then after
		// others, each time through the memo and read afresh.
		for _, file := range []string{text, "SELECT 1;\n-- a comment\n" + text, "CREATE TABLE t (a int);\n\n\n   " + text + ";\nSELECT 2;"} {
			i := strings.Count(file[:strings.Index(file, text)], ";")
			node, src := statementAt(t, file, i)
			fresh := Read(node, src)
			got := memo.Read(node, src)
			if !reflect.DeepEqual(got, fresh) {
				t.Errorf("%q: the memo's body differs from a reading:\n%s\nwant\n%s", file, dumpBody(got), dumpBody(fresh))
			}
		}
	}
	// Each case in sql or plpgsql that stands verbatim in the file (not a
	// BEGIN ATOMIC or RETURN body, which the statement's own parse gives)
	// was read once and handed out twice more.
	if memo.Reused() == 0 {
		t.Fatal("the memo handed out nothing it kept")
	}
	verbatim := 0
	for _, text := range cases {
		node, src := statementAt(t, text, 0)
		if b := Read(node, src); b != nil && b.Source.Offsets == nil && (b.Language == "sql" || b.Language == "plpgsql") && b.Source.Text != "" && !b.bareless {
			verbatim++
		}
	}
	if memo.ReusedTexts() == 0 {
		t.Error("the memo handed out no statement or expression it kept, where the cases share some")
	}
	if memo.Reused() < 2*verbatim {
		t.Errorf("the memo handed out %d bodies, want at least %d (two for each of %d verbatim bodies)", memo.Reused(), 2*verbatim, verbatim)
	}
}

// TestMemoSharesNothingWritable: two bodies the memo handed out, for one
// text or for two texts that run the same statements (one that does not
// parse among them), share no statement, source, comment or parse error:
// changing one leaves the other, and what the memo hands out next, as
// they were. Only the parse trees are shared, which nothing writes to.
func TestMemoSharesNothingWritable(t *testing.T) {
	other := "DO $$ BEGIN EXECUTE 'SELEC 1'; DELETE FROM z; END $$"
	for _, pair := range [][2]string{
		{bareCases[1], bareCases[1]},
		{other, "DO $$ DECLARE n int; BEGIN DELETE FROM z; EXECUTE 'SELEC 1'; END $$"},
	} {
		memo := NewMemo()
		node, src := statementAt(t, pair[0], 0)
		first := memo.Read(node, src)
		node2, src2 := statementAt(t, "SELECT 1;\n"+pair[1], 1)
		second := memo.Read(node2, src2)
		if memo.Reused()+memo.ReusedTexts() == 0 {
			t.Fatalf("%q: the memo handed out nothing it kept", pair[1])
		}
		before, beforeSecond := dumpWithErrors(first), dumpWithErrors(second)
		errors := 0
		for _, b := range []*Body{first, second} {
			for i := range b.Stmts {
				s := &b.Stmts[i]
				s.Via = "changed"
				s.Src.Base += 1000
				for k := range s.Src.Offsets {
					s.Src.Offsets[k] += 1000
				}
				for k := range s.Comments {
					s.Comments[k].Start += 1000
				}
				if s.Stmt.ParseError != nil {
					s.Stmt.ParseError.Offset += 1000
					s.Stmt.ParseError.Message = "changed"
					errors++
				}
			}
			b.Stmts = append(b.Stmts, Stmt{Via: "added"})
			if b == first {
				if after := dumpWithErrors(second); after != beforeSecond {
					t.Fatalf("changing one body changed the other:\n%s\nwas\n%s", after, beforeSecond)
				}
			}
		}
		if pair[0] == other && errors != 2 {
			t.Errorf("%d parse errors changed, want 2 (one in each body)", errors)
		}
		if again := memo.Read(node, src); dumpWithErrors(again) != before {
			t.Errorf("changing the bodies handed out changed what the memo kept:\n%s\nwas\n%s", dumpWithErrors(again), before)
		}
	}
}

// dumpWithErrors is dumpBody with each statement's parse error.
func dumpWithErrors(b *Body) string {
	out := dumpBody(b)
	for _, s := range b.Stmts {
		if s.Stmt.ParseError != nil {
			out += fmt.Sprintf("  error %+v\n", *s.Stmt.ParseError)
		}
	}
	return out
}

// TestMemoNil: a nil memo reads each body afresh.
func TestMemoNil(t *testing.T) {
	var memo *Memo
	node, src := statementAt(t, bareCases[0], 0)
	if got, want := memo.Read(node, src), Read(node, src); !reflect.DeepEqual(got, want) || memo.Reused() != 0 {
		t.Errorf("a nil memo's reading differs:\n%s\nwant\n%s", dumpBody(got), dumpBody(want))
	}
}

// TestMemoSignature: the memo's signature is signature's text, whether it
// deparses it or hands out what it kept, for functions whose signatures
// differ and for those that share one.
func TestMemoSignature(t *testing.T) {
	m := NewMemo()
	distinct := map[string]bool{}
	for round := 0; round < 2; round++ {
		for _, text := range append(bareCases,
			"CREATE FUNCTION a() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
			"CREATE FUNCTION b() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
			"CREATE FUNCTION c(x int, OUT y text) LANGUAGE plpgsql AS $$ BEGIN y := x::text; END $$",
			"CREATE PROCEDURE d(x int) LANGUAGE plpgsql AS $$ BEGIN PERFORM x; END $$",
			// The same signatures, standing elsewhere in their texts.
			"CREATE OR REPLACE FUNCTION longer_name() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
			"CREATE FUNCTION public.c2(x   int, OUT y text) LANGUAGE plpgsql AS $$ BEGIN y := x::text; END $$",
			"CREATE FUNCTION e(x numeric(10, 2) DEFAULT 1.5, VARIADIC r text[] DEFAULT '{}') RETURNS SETOF record LANGUAGE plpgsql AS $$ BEGIN RETURN; END $$",
			"CREATE FUNCTION ee(x numeric(10, 2) DEFAULT 2.5, VARIADIC r text[] DEFAULT '{a}') RETURNS SETOF record LANGUAGE plpgsql AS $$ BEGIN RETURN; END $$",
		) {
			tree, err := pg_query.Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			cf := tree.GetStmts()[0].GetStmt().GetCreateFunctionStmt()
			if cf == nil {
				continue
			}
			want := signature(cf)
			distinct[want] = true
			if got := m.signature(cf); got != want || want == "" {
				t.Errorf("%s: memo's signature %q, want %q", text, got, want)
			}
			if got := (*Memo)(nil).signature(cf); got != want {
				t.Errorf("%s: a nil memo's signature %q, want %q", text, got, want)
			}
		}
	}
	// One kept per signature: those that differ only in where they stand
	// (a, b and longer_name; c and c2) share one.
	if m.heads.Len() != len(distinct) {
		t.Errorf("the memo kept %d signatures, want %d", m.heads.Len(), len(distinct))
	}
}
