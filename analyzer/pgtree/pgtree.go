// Package pgtree holds helpers for reading PostgreSQL parse trees as
// pg_query produces them.
package pgtree

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Walk visits every Node below n (n included) depth first; fn returning
// false skips the node's children. Reflection keeps it complete for every
// node type the parser can produce, including ones a later grammar adds.
func Walk(n *pg_query.Node, fn func(*pg_query.Node) bool) {
	if n == nil {
		return
	}
	visit(n.ProtoReflect(), fn)
}

func visit(m protoreflect.Message, fn func(*pg_query.Node) bool) {
	if node, ok := m.Interface().(*pg_query.Node); ok {
		if node == nil || !fn(node) {
			return
		}
	}
	eachChild(m, func(c protoreflect.Message) { visit(c, fn) })
}

// eachChild calls fn for every message m holds (in a field or a list), in
// the order the fields are declared. protoreflect's Range has no defined
// order, and protobuf-go varies it from one build of the binary to the
// next; what the walkers report (a view's dependencies, a statement's
// objects, the order of findings) must not change with the build.
func eachChild(m protoreflect.Message, fn func(protoreflect.Message)) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() || !m.Has(fd) {
			continue
		}
		v := m.Get(fd)
		if fd.IsList() {
			l := v.List()
			for k := 0; k < l.Len(); k++ {
				fn(l.Get(k).Message())
			}
			continue
		}
		fn(v.Message())
	}
}

// Names reads a list of String nodes, such as a qualified name or a column
// list. Other nodes (the * of a.*) are left out.
func Names(nodes []*pg_query.Node) []string {
	var out []string
	for _, n := range nodes {
		if s := n.GetString_(); s != nil {
			out = append(out, s.GetSval())
		}
	}
	return out
}

// WalkMessages visits every message below n (n included), Nodes and the
// structs they hold directly (a RangeVar, a TypeName), depth first; fn
// returning false skips the message's children.
func WalkMessages(n *pg_query.Node, fn func(protoreflect.ProtoMessage) bool) {
	if n == nil {
		return
	}
	visitAll(n.ProtoReflect(), fn)
}

func visitAll(m protoreflect.Message, fn func(protoreflect.ProtoMessage) bool) {
	if !m.IsValid() || !fn(m.Interface()) {
		return
	}
	eachChild(m, func(c protoreflect.Message) { visitAll(c, fn) })
}
