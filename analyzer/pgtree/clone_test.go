package pgtree

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// messagesOf is every message reachable from m, by identity.
func messagesOf(m protoreflect.Message, into map[any]bool) {
	into[m.Interface()] = true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := 0; i < v.List().Len(); i++ {
				messagesOf(v.List().Get(i).Message(), into)
			}
		case !fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			messagesOf(v.Message(), into)
		}
		return true
	})
}

// sameClone requires Clone(m) to equal m and to share no message with it.
func sameClone(t *testing.T, name string, m proto.Message) {
	t.Helper()
	ok := true
	c, known := clone(m, &ok)
	if !known || !ok {
		t.Errorf("%s: known %v, ok %v", name, known, ok)
		return
	}
	if !proto.Equal(c, m) || !proto.Equal(c, proto.Clone(m)) {
		t.Errorf("%s: the copy differs from the message", name)
	}
	orig, cp := map[any]bool{}, map[any]bool{}
	messagesOf(m.ProtoReflect(), orig)
	messagesOf(c.ProtoReflect(), cp)
	for x := range cp {
		if orig[x] {
			t.Errorf("%s: the copy shares a %T with the message", name, x)
			return
		}
	}
}

func TestCloneEveryField(t *testing.T) {
	eachFilledMessage(t, func(name string, m proto.Message) { sameClone(t, name, m) })
	for _, sql := range statements {
		tree, err := pg_query.Parse(sql)
		if err != nil {
			t.Fatal(err)
		}
		sameClone(t, sql, tree)
	}
}

// TestCloneEdges: what proto.Clone makes of nils and empty lists, Clone
// makes too.
func TestCloneEdges(t *testing.T) {
	l := Clone(&pg_query.List{Items: []*pg_query.Node{nil, {}}})
	if len(l.Items) != 2 || l.Items[0] == nil || l.Items[1] == nil {
		t.Errorf("nil in a list: %v", l.Items)
	}
	n := Clone(&pg_query.Node{Node: &pg_query.Node_SelectStmt{}})
	if s, ok := n.Node.(*pg_query.Node_SelectStmt); !ok || s.SelectStmt == nil {
		t.Errorf("oneof member holding nil: %#v", n.Node)
	}
	if n := Clone(&pg_query.Node{Node: (*pg_query.Node_SelectStmt)(nil)}); n.Node != nil {
		t.Errorf("nil oneof wrapper: %#v", n.Node)
	}
	if l := Clone(&pg_query.List{Items: []*pg_query.Node{}}); l.Items != nil {
		t.Errorf("empty list: %#v", l.Items)
	}
	if rv := Clone((*pg_query.RangeVar)(nil)); rv != nil {
		t.Errorf("nil message: %v", rv)
	}
	for _, c := range []proto.Message{
		&pg_query.List{Items: []*pg_query.Node{nil, {}}},
		&pg_query.Node{Node: &pg_query.Node_SelectStmt{}},
		&pg_query.Node{Node: (*pg_query.Node_SelectStmt)(nil)},
	} {
		if got, want := Clone(c), proto.Clone(c); !proto.Equal(got, want) {
			t.Errorf("%v: Clone %v, proto.Clone %v", c, got, want)
		}
	}
	// Unknown fields, which only proto.Clone copies: Clone leaves the
	// message to it.
	b := protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 7)
	withUnknown := &pg_query.RangeVar{}
	if err := proto.Unmarshal(b, withUnknown); err != nil {
		t.Fatal(err)
	}
	outer := &pg_query.Node{Node: &pg_query.Node_RangeVar{RangeVar: withUnknown}}
	ok := true
	if _, known := clone(outer, &ok); !known || ok {
		t.Errorf("unknown fields below: known %v, ok %v", known, ok)
	}
	if got := Clone(outer); len(got.GetRangeVar().ProtoReflect().GetUnknown()) == 0 {
		t.Error("unknown fields: Clone lost them")
	}
}
