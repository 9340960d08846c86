package analyzer

import (
	"fmt"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// TestNodeKind: the kind read through reflect is the wrapper's type name
// as %T prints it, for a Node of every kind the parser has.
func TestNodeKind(t *testing.T) {
	node := (&pg_query.Node{}).ProtoReflect()
	members := node.Descriptor().Oneofs().ByName("node").Fields()
	if members.Len() < 200 {
		t.Fatalf("%d kinds of Node", members.Len())
	}
	for k := 0; k < members.Len(); k++ {
		fd := members.Get(k)
		m := node.New()
		m.Set(fd, m.NewField(fd))
		n := m.Interface().(*pg_query.Node)
		want := strings.TrimPrefix(fmt.Sprintf("%T", n.GetNode()), "*pg_query.Node_")
		if got := nodeKind(n); got != want || got == "" {
			t.Errorf("%s: nodeKind %q, want %q", fd.Name(), got, want)
		}
	}
	if got := nodeKind(&pg_query.Node{}); got != "" {
		t.Errorf("a Node of no kind: %q", got)
	}
	if got := nodeKind(nil); got != "" {
		t.Errorf("nil: %q", got)
	}
}
