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
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				visit(l.Get(i).Message(), fn)
			}
			return true
		}
		visit(v.Message(), fn)
		return true
	})
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
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				visitAll(l.Get(i).Message(), fn)
			}
			return true
		}
		visitAll(v.Message(), fn)
		return true
	})
}
