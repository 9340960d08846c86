// Package pgtree holds helpers for reading PostgreSQL parse trees as
// pg_query produces them.
package pgtree

import (
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Walk visits every Node below n (n included) depth first; fn returning
// false skips the node's children. The generated walkers (walkNode,
// children_gen.go) cover every message type of the parser's tree, and
// reflection (walkUnknown) whatever a later grammar adds before
// children_gen.go is generated again.
func Walk(n *pg_query.Node, fn func(*pg_query.Node) bool) {
	if n == nil {
		return
	}
	walkNode(n, fn)
}

// walkUnknown visits the Nodes below a Node of a kind walkNode does not
// know, through children and protoreflect.
func walkUnknown(n *pg_query.Node, fn func(*pg_query.Node) bool) {
	var visit func(m proto.Message)
	visit = func(m proto.Message) {
		if node, ok := m.(*pg_query.Node); ok && !fn(node) {
			return
		}
		childrenOf(m, visit)
	}
	childrenOf(n, visit)
}

// childrenOf calls fn for every message m holds, in declared order.
func childrenOf(m proto.Message, fn func(proto.Message)) {
	if children(m, fn) {
		return
	}
	eachChild(m.ProtoReflect(), func(c protoreflect.Message) {
		if c.IsValid() {
			fn(c.Interface())
		}
	})
}

// eachChild calls fn for every message m holds (in a field or a list), in
// the order the fields are declared. protoreflect's Range has no defined
// order, and protobuf-go varies it from one build of the binary to the
// next; what the walkers report (a view's dependencies, a statement's
// objects, the order of findings) must not change with the build.
func eachChild(m protoreflect.Message, fn func(protoreflect.Message)) {
	for _, st := range stepsOf(m.Descriptor()) {
		fd := st.field
		if st.oneof != nil {
			// A Node holds one of some 250 kinds: asking which one is set
			// costs one type switch, asking each whether it is set (Has)
			// cost two thirds of a whole check.
			if fd = m.WhichOneof(st.oneof); fd == nil || fd.Kind() != protoreflect.MessageKind {
				continue
			}
		} else if !m.Has(fd) {
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

// step is one place of a message that may hold messages: a field, or a
// oneof whose members are declared one after the other (at most one of
// them is set, so visiting the set one keeps the declared order).
type step struct {
	field protoreflect.FieldDescriptor
	oneof protoreflect.OneofDescriptor
}

// steps caches each message type's steps: the descriptors never change.
var steps sync.Map // protoreflect.MessageDescriptor -> []step

func stepsOf(md protoreflect.MessageDescriptor) []step {
	if v, ok := steps.Load(md); ok {
		return v.([]step)
	}
	fields := md.Fields()
	var out []step
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() && contiguous(fields, od) {
			if od.Fields().Get(0) == fd {
				out = append(out, step{oneof: od})
			}
			continue
		}
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
			continue
		}
		out = append(out, step{field: fd})
	}
	v, _ := steps.LoadOrStore(md, out)
	return v.([]step)
}

// contiguous says od's members are declared one after the other in
// fields, in the oneof's own order, so that the oneof can stand in the
// place of its first member.
func contiguous(fields protoreflect.FieldDescriptors, od protoreflect.OneofDescriptor) bool {
	members := od.Fields()
	first := members.Get(0).Index()
	for k := 0; k < members.Len(); k++ {
		if members.Get(k).Index() != first+k || fields.Get(first+k) != members.Get(k) {
			return false
		}
	}
	return true
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
// returning false skips the message's children. The generated walkers
// (walkMessagesNode, children_gen.go) cover every message type of the
// parser's tree, reflection (visitUnknown) what a later grammar adds.
func WalkMessages(n *pg_query.Node, fn func(protoreflect.ProtoMessage) bool) {
	if n == nil {
		return
	}
	walkMessagesNode(n, fn)
}

// visitUnknown visits the messages below a Node of a kind
// walkMessagesNode does not know, through children and protoreflect.
func visitUnknown(n *pg_query.Node, fn func(protoreflect.ProtoMessage) bool) {
	childrenOf(n, func(c proto.Message) { visitAll(c, fn) })
}

// visitAll visits m and the messages below it through children and
// protoreflect: one closure for the whole walk, where a closure per
// message visited allocated one per message.
func visitAll(m proto.Message, fn func(protoreflect.ProtoMessage) bool) {
	var visit func(c proto.Message)
	visit = func(c proto.Message) {
		if fn(c) {
			childrenOf(c, visit)
		}
	}
	visit(m)
}
