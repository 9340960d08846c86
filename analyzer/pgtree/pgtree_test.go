package pgtree

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func kind(n *pg_query.Node) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", n.Node), "*pg_query.Node_")
}

func parse(t *testing.T, sql string) *pg_query.Node {
	t.Helper()
	res, err := pg_query.Parse(sql)
	if err != nil || len(res.GetStmts()) != 1 {
		t.Fatalf("%s: %v", sql, err)
	}
	return res.GetStmts()[0].GetStmt()
}

func TestWalk(t *testing.T) {
	for _, c := range []struct {
		name, sql string
		skip      string // the kind of node whose children are skipped
		want      []string
	}{
		{
			name: "nested lists",
			sql:  "SELECT a, f(b, 1) FROM t WHERE x IN (1, 2)",
			want: []string{
				"SelectStmt",
				"ResTarget", "ColumnRef", "String_",
				"ResTarget", "FuncCall", "String_", "ColumnRef", "String_", "AConst",
				"RangeVar",
				"AExpr", "String_", "ColumnRef", "String_", "List", "AConst", "AConst",
			},
		},
		{
			// The relation and the column types are messages of their own,
			// not Nodes; the Nodes inside them are still reached.
			name: "nodes below plain messages",
			sql:  "CREATE TABLE s.t (id int PRIMARY KEY, v text CHECK (v <> ''))",
			want: []string{
				"CreateStmt",
				"ColumnDef", "String_", "String_", "Constraint",
				"ColumnDef", "String_", "Constraint", "AExpr", "String_", "ColumnRef", "String_", "AConst",
			},
		},
		{
			name: "skipping a function call's arguments",
			sql:  "SELECT a, f(b, 1) FROM t WHERE x IN (1, 2)",
			skip: "FuncCall",
			want: []string{
				"SelectStmt",
				"ResTarget", "ColumnRef", "String_",
				"ResTarget", "FuncCall",
				"RangeVar",
				"AExpr", "String_", "ColumnRef", "String_", "List", "AConst", "AConst",
			},
		},
		{
			name: "skipping the statement",
			sql:  "SELECT a, f(b, 1) FROM t WHERE x IN (1, 2)",
			skip: "SelectStmt",
			want: []string{"SelectStmt"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			Walk(parse(t, c.sql), func(n *pg_query.Node) bool {
				got = append(got, kind(n))
				return kind(n) != c.skip
			})
			// Protobuf reflection ranges over a message's fields in no
			// fixed order, so only the set of visits is compared.
			slices.Sort(got)
			want := slices.Sorted(slices.Values(c.want))
			if !slices.Equal(got, want) {
				t.Errorf("visited\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestWalkNil(t *testing.T) {
	Walk(nil, func(n *pg_query.Node) bool {
		t.Errorf("visited %v", n)
		return true
	})
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want []string
	}{
		{"SELECT public.f()", []string{"public", "f"}},
		{"SELECT f()", []string{"f"}},
		{"SELECT t.* FROM t", []string{"t"}},
		{`SELECT "Odd"."Name" FROM "Odd"`, []string{"Odd", "Name"}},
	} {
		var got []string
		Walk(parse(t, c.sql), func(n *pg_query.Node) bool {
			switch {
			case n.GetFuncCall() != nil:
				got = Names(n.GetFuncCall().GetFuncname())
			case n.GetColumnRef() != nil:
				got = Names(n.GetColumnRef().GetFields())
			}
			return true
		})
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.sql, got, c.want)
		}
	}
	if got := Names(nil); got != nil {
		t.Errorf("Names(nil) = %q", got)
	}
}

// WalkMessages reaches the structs a statement holds directly, which Walk
// (Nodes only) does not: the RangeVar of an INSERT, the TypeName of a cast.
func TestWalkMessages(t *testing.T) {
	var rels, types []string
	WalkMessages(parse(t, "INSERT INTO app.m (x) SELECT 'sad'::mood FROM src"), func(m protoreflect.ProtoMessage) bool {
		switch v := m.(type) {
		case *pg_query.RangeVar:
			rels = append(rels, v.GetSchemaname()+"."+v.GetRelname())
		case *pg_query.TypeName:
			types = append(types, Names(v.GetNames())...)
		}
		return true
	})
	if !slices.Equal(rels, []string{"app.m", ".src"}) || !slices.Equal(types, []string{"mood"}) {
		t.Errorf("relations %q, types %q", rels, types)
	}
	// Returning false skips the children.
	n := 0
	WalkMessages(parse(t, "SELECT 1"), func(protoreflect.ProtoMessage) bool { n++; return false })
	if n != 1 {
		t.Errorf("visited %d messages after refusing the first", n)
	}
	WalkMessages(nil, func(m protoreflect.ProtoMessage) bool {
		t.Errorf("visited %v", m)
		return true
	})
}

// TestWalkOrder: children are visited in the order their fields are
// declared (a SELECT's targets, then FROM, WHERE, GROUP BY), whatever order
// protoreflect's Range would use in this build.
func TestWalkOrder(t *testing.T) {
	res, err := pg_query.Parse("SELECT a FROM t WHERE b = 1 GROUP BY c HAVING count(d) > 0")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	Walk(res.GetStmts()[0].GetStmt(), func(n *pg_query.Node) bool {
		if cr := n.GetColumnRef(); cr != nil {
			cols = append(cols, strings.Join(Names(cr.GetFields()), "."))
		}
		return true
	})
	if got := strings.Join(cols, " "); got != "a b c d" {
		t.Errorf("column references in the order %q, want the fields' declared order %q", got, "a b c d")
	}
}

// naiveChildren is eachChild's definition, field by field in declared
// order, each asked whether it is set.
func naiveChildren(m protoreflect.Message, fn func(protoreflect.Message)) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() || !m.Has(fd) {
			continue
		}
		v := m.Get(fd)
		if fd.IsList() {
			for k := 0; k < v.List().Len(); k++ {
				fn(v.List().Get(k).Message())
			}
			continue
		}
		fn(v.Message())
	}
}

// TestEachChildMatchesFieldOrder: asking a oneof which member is set visits
// the same messages in the same order as asking every field, for
// statements that reach oneofs (Node, A_Const's value) among other fields.
func TestEachChildMatchesFieldOrder(t *testing.T) {
	for _, sql := range []string{
		"SELECT a, f(b, 1), 'x'::text, 1.5, true, B'101', NULL FROM t JOIN u USING (id) WHERE x IN (1, 2) GROUP BY 1 HAVING count(*) > 0 ORDER BY 2 LIMIT 3",
		"CREATE TABLE s.t (id int PRIMARY KEY, v text CHECK (v <> '') DEFAULT 'a', w numeric(12,2) REFERENCES o (id))",
		"ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0, ALTER COLUMN d TYPE bigint USING d::bigint",
		"CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a + 1 $$",
		"WITH w AS (INSERT INTO t VALUES (1) RETURNING *) UPDATE u SET x = w.a FROM w WHERE u.id = w.a",
		"CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION f()",
		"CREATE INDEX CONCURRENTLY i ON t USING gin (lower(a) gin_trgm_ops) INCLUDE (b) WHERE c > 0",
	} {
		stmt := parse(t, sql)
		var got, want []string
		var walk func(m protoreflect.Message, children func(protoreflect.Message, func(protoreflect.Message)), out *[]string)
		walk = func(m protoreflect.Message, children func(protoreflect.Message, func(protoreflect.Message)), out *[]string) {
			*out = append(*out, string(m.Descriptor().Name()))
			children(m, func(c protoreflect.Message) { walk(c, children, out) })
		}
		walk(stmt.ProtoReflect(), eachChild, &got)
		walk(stmt.ProtoReflect(), naiveChildren, &want)
		if len(want) < 10 || !slices.Equal(got, want) {
			t.Errorf("%s:\nvisited %q\nwant    %q", sql, got, want)
		}
		// The generated walker, too.
		var generated []string
		var visit func(m proto.Message)
		visit = func(m proto.Message) {
			generated = append(generated, string(m.ProtoReflect().Descriptor().Name()))
			if !children(m, visit) {
				t.Errorf("children does not know %T", m)
			}
		}
		visit(stmt)
		if !slices.Equal(generated, want) {
			t.Errorf("%s:\ngenerated walker visited %q\nwant %q", sql, generated, want)
		}
	}
}

// reflectWalk is Walk through children and protoreflect alone, every
// message entered: what the typed walkers must match.
func reflectWalk(n *pg_query.Node, fn func(*pg_query.Node) bool) {
	var visit func(m proto.Message)
	visit = func(m proto.Message) {
		if node, ok := m.(*pg_query.Node); ok && !fn(node) {
			return
		}
		childrenOf(m, visit)
	}
	visit(n)
}

// TestWalkMatchesReflection: the typed walkers visit the same Nodes (and
// WalkMessages's the same messages), in the same order, as a walk through
// children and protoreflect that enters every message, with and without
// children skipped, for a Node of every kind with every field set and
// for parsed statements; the fields they do not enter hold no Node.
func TestWalkMatchesReflection(t *testing.T) {
	compare := func(name string, n *pg_query.Node) {
		for _, skipEvery := range []int{0, 2, 3} {
			visits := func(walk func(*pg_query.Node, func(*pg_query.Node) bool)) []*pg_query.Node {
				var out []*pg_query.Node
				walk(n, func(x *pg_query.Node) bool {
					out = append(out, x)
					return skipEvery == 0 || len(out)%skipEvery != 0
				})
				return out
			}
			got, want := visits(Walk), visits(reflectWalk)
			if !slices.Equal(got, want) {
				t.Errorf("%s (skipping every %d): visited %d Nodes, want %d", name, skipEvery, len(got), len(want))
			}
			messages := func(walk func(*pg_query.Node, func(protoreflect.ProtoMessage) bool)) []protoreflect.ProtoMessage {
				var out []protoreflect.ProtoMessage
				walk(n, func(m protoreflect.ProtoMessage) bool {
					out = append(out, m)
					return skipEvery == 0 || len(out)%skipEvery != 0
				})
				return out
			}
			gotMsgs := messages(WalkMessages)
			wantMsgs := messages(func(n *pg_query.Node, fn func(protoreflect.ProtoMessage) bool) { visitAll(n, fn) })
			if !slices.Equal(gotMsgs, wantMsgs) {
				t.Errorf("%s (skipping every %d): WalkMessages visited %d messages, want %d", name, skipEvery, len(gotMsgs), len(wantMsgs))
			}
		}
	}
	kinds := 0
	eachFilledMessage(t, func(name string, m proto.Message) {
		if n, ok := m.(*pg_query.Node); ok {
			kinds++
			compare(name, n)
		}
	})
	if kinds < 200 {
		t.Errorf("compared %d kinds of Node", kinds)
	}
	for _, sql := range statements {
		tree, err := pg_query.Parse(sql)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range tree.GetStmts() {
			compare(sql, st.GetStmt())
		}
	}
	// A Node of no kind visits itself only.
	compare("an empty Node", &pg_query.Node{})
}

// BenchmarkWalk: Walk's and WalkMessages's typed walkers against the walk
// through children and protoreflect, over the same trees (the
// repository's .sql files).
func BenchmarkWalk(b *testing.B) {
	var stmts []*pg_query.Node
	for _, t := range benchTexts(b) {
		tree, err := pg_query.Parse(t)
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range tree.GetStmts() {
			stmts = append(stmts, st.GetStmt())
		}
	}
	for _, c := range []struct {
		name string
		walk func(*pg_query.Node, func(*pg_query.Node) bool)
	}{
		{"typed", Walk},
		{"reflection", reflectWalk},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			calls := 0
			for b.Loop() {
				for _, st := range stmts {
					c.walk(st, func(n *pg_query.Node) bool {
						calls += len(n.GetFuncCall().GetFuncname())
						return true
					})
				}
			}
		})
	}
	for _, c := range []struct {
		name string
		walk func(*pg_query.Node, func(protoreflect.ProtoMessage) bool)
	}{
		{"messages-typed", WalkMessages},
		{"messages-reflection", func(n *pg_query.Node, fn func(protoreflect.ProtoMessage) bool) { visitAll(n, fn) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			relations := 0
			for b.Loop() {
				for _, st := range stmts {
					c.walk(st, func(m protoreflect.ProtoMessage) bool {
						if _, ok := m.(*pg_query.RangeVar); ok {
							relations++
							return false
						}
						return true
					})
				}
			}
		})
	}
}
