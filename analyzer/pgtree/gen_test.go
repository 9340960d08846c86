package pgtree

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

var update = flag.Bool("update", false, "rewrite children_gen.go from pg_query's message types")

// TestChildrenUpToDate: children_gen.go is what generateChildren writes for
// the pg_query this module builds with (go test ./analyzer/pgtree/ -update
// after upgrading it).
func TestChildrenUpToDate(t *testing.T) {
	checkGenerated(t, "children_gen.go", generateChildren)
}

// generateChildren writes a type switch over every message type of
// pg_query's parse tree that calls fn for each message it holds, field by
// field in declared order: what eachChild does through protoreflect, at
// the cost of field reads.
func generateChildren() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`
// children calls fn for every message m holds (in a field or a list), in
// the order the fields are declared, and says whether it knew m's type.
func children(m proto.Message, fn func(proto.Message)) bool {
	switch v := m.(type) {
`)
	names, byName, err := messageTypes()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		md := byName[name]
		goType, msg, err := goTypeOf(md)
		if err != nil {
			return nil, err
		}
		var body strings.Builder
		fields := md.Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
				if od.Fields().Get(0) != fd {
					continue
				}
				if err := writeOneof(&body, msg, goType, od); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				continue
			}
			if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
				continue
			}
			goName, err := goField(goType, fd)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if fd.IsList() {
				fmt.Fprintf(&body, "\t\tfor _, c := range v.%s {\n\t\t\tif c != nil {\n\t\t\t\tfn(c)\n\t\t\t}\n\t\t}\n", goName)
			} else {
				fmt.Fprintf(&body, "\t\tif v.%s != nil {\n\t\t\tfn(v.%[1]s)\n\t\t}\n", goName)
			}
		}
		fmt.Fprintf(&b, "\tcase *pg_query.%s:\n", goType.Name())
		if body.Len() == 0 {
			b.WriteString("\t\t_ = v\n")
		}
		b.WriteString(body.String())
	}
	b.WriteString("\tdefault:\n\t\treturn false\n\t}\n\treturn true\n}\n")
	if err := writeNodeWalkers(&b, names, byName); err != nil {
		return nil, err
	}
	if err := writeMessageWalkers(&b, names, byName); err != nil {
		return nil, err
	}
	return generatedFile("TestChildrenUpToDate", pgQueryAndProto+"\t\"google.golang.org/protobuf/reflect/protoreflect\"\n", b.Bytes())
}

// writeNodeWalkers writes Walk's typed walkers: walkNode, and a walker per
// message type whose fields can lead to a Node, calling each other
// directly where children goes through proto.Message and a closure per
// level. Fields whose types can hold no Node, however deep, are not
// entered: Walk reports Nodes only, so they cannot change what it visits.
// A Node of a kind this file does not know goes to walkUnknown.
func writeNodeWalkers(b *bytes.Buffer, names []string, byName map[string]protoreflect.MessageDescriptor) error {
	reaches := nodeReaching(names, byName)
	var walkers strings.Builder
	for _, name := range names {
		if name == "Node" || !reaches[name] {
			continue
		}
		md := byName[name]
		goType, msg, err := goTypeOf(md)
		if err != nil {
			return err
		}
		fmt.Fprintf(&walkers, "\nfunc walk%s(v *pg_query.%[1]s, fn func(*pg_query.Node) bool) {\n", goType.Name())
		fields := md.Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
				continue
			}
			callee := walkerOf(fd.Message(), reaches)
			if callee == "" {
				continue
			}
			if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
				m, err := oneofMemberOf(msg, goType, od, fd)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				fmt.Fprintf(&walkers, "\tif x, ok := v.%s.(*pg_query.%s); ok && x.%s != nil {\n\t\t%s(x.%[3]s, fn)\n\t}\n", m.iface, m.wrapper.Name(), m.inner.Name, callee)
				continue
			}
			goName, err := goField(goType, fd)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if fd.IsList() {
				fmt.Fprintf(&walkers, "\tfor _, c := range v.%s {\n\t\tif c != nil {\n\t\t\t%s(c, fn)\n\t\t}\n\t}\n", goName, callee)
			} else {
				fmt.Fprintf(&walkers, "\tif v.%s != nil {\n\t\t%s(v.%[1]s, fn)\n\t}\n", goName, callee)
			}
		}
		walkers.WriteString("}\n")
	}
	node := byName["Node"]
	goType, msg, err := goTypeOf(node)
	if err != nil {
		return err
	}
	od := node.Oneofs().ByName("node")
	if od == nil || node.Fields().Len() != od.Fields().Len() {
		return fmt.Errorf("Node: expected one oneof and no other field")
	}
	var leaves []string
	b.WriteString(`
// walkNode visits n and, unless fn refuses it, the Nodes below it, in the
// order children meets them.
func walkNode(n *pg_query.Node, fn func(*pg_query.Node) bool) {
	if !fn(n) {
		return
	}
	switch x := n.Node.(type) {
`)
	for k := 0; k < od.Fields().Len(); k++ {
		fd := od.Fields().Get(k)
		m, err := oneofMemberOf(msg, goType, od, fd)
		if err != nil {
			return fmt.Errorf("Node: %w", err)
		}
		callee := walkerOf(fd.Message(), reaches)
		if callee == "" {
			leaves = append(leaves, "*pg_query."+m.wrapper.Name())
			continue
		}
		fmt.Fprintf(b, "\tcase *pg_query.%s:\n\t\tif x.%s != nil {\n\t\t\t%s(x.%[2]s, fn)\n\t\t}\n", m.wrapper.Name(), m.inner.Name, callee)
	}
	if len(leaves) > 0 {
		b.WriteString("\tcase nil, " + strings.Join(leaves, ", ") + ":\n\t\t// No Node below.\n")
	}
	b.WriteString("\tdefault:\n\t\twalkUnknown(n, fn)\n\t}\n}\n")
	b.WriteString(walkers.String())
	return nil
}

// writeMessageWalkers writes WalkMessages's typed walkers, one per
// message type: fn for the message, then its messages as children
// lists them. A Node of a kind this file does not know goes to
// visitUnknown; a field of a message type from another file to visitAll.
func writeMessageWalkers(b *bytes.Buffer, names []string, byName map[string]protoreflect.MessageDescriptor) error {
	callee := func(md protoreflect.MessageDescriptor) string {
		if md.ParentFile() != pg_query.File_pg_query_proto {
			return "visitAll"
		}
		return "walkMessages" + string(md.Name())
	}
	for _, name := range names {
		md := byName[name]
		goType, msg, err := goTypeOf(md)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "\nfunc walkMessages%s(v *pg_query.%[1]s, fn func(protoreflect.ProtoMessage) bool) {\n\tif !fn(v) {\n\t\treturn\n\t}\n", goType.Name())
		fields := md.Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
				if od.Fields().Get(0) != fd {
					continue
				}
				iface, err := oneofField(goType, od)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				var cases strings.Builder
				for k := 0; k < od.Fields().Len(); k++ {
					member := od.Fields().Get(k)
					if member.Kind() != protoreflect.MessageKind {
						continue
					}
					m, err := oneofMemberOf(msg, goType, od, member)
					if err != nil {
						return fmt.Errorf("%s: %w", name, err)
					}
					fmt.Fprintf(&cases, "\tcase *pg_query.%s:\n\t\tif x.%s != nil {\n\t\t\t%s(x.%[2]s, fn)\n\t\t}\n", m.wrapper.Name(), m.inner.Name, callee(member.Message()))
				}
				if cases.Len() == 0 {
					continue
				}
				fmt.Fprintf(b, "\tswitch x := v.%s.(type) {\n%s", iface, cases.String())
				if name == "Node" {
					b.WriteString("\tcase nil:\n\tdefault:\n\t\tvisitUnknown(v, fn)\n")
				}
				b.WriteString("\t}\n")
				continue
			}
			if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
				continue
			}
			goName, err := goField(goType, fd)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if fd.IsList() {
				fmt.Fprintf(b, "\tfor _, c := range v.%s {\n\t\tif c != nil {\n\t\t\t%s(c, fn)\n\t\t}\n\t}\n", goName, callee(fd.Message()))
			} else {
				fmt.Fprintf(b, "\tif v.%s != nil {\n\t\t%s(v.%[1]s, fn)\n\t}\n", goName, callee(fd.Message()))
			}
		}
		b.WriteString("}\n")
	}
	return nil
}

// walkerOf is the typed walker of a field of message type md, "" when
// nothing of that type can hold a Node.
func walkerOf(md protoreflect.MessageDescriptor, reaches map[string]bool) string {
	name := string(md.Name())
	switch {
	case md.ParentFile() != pg_query.File_pg_query_proto:
		return ""
	case name == "Node":
		return "walkNode"
	case reaches[name]:
		return "walk" + name
	}
	return ""
}

// nodeReaching names the message types whose fields can lead to a Node,
// directly or through other messages.
func nodeReaching(names []string, byName map[string]protoreflect.MessageDescriptor) map[string]bool {
	reaches := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, name := range names {
			if reaches[name] {
				continue
			}
			fields := byName[name].Fields()
			for i := 0; i < fields.Len(); i++ {
				fd := fields.Get(i)
				if fd.Kind() != protoreflect.MessageKind || fd.IsMap() || fd.Message().ParentFile() != pg_query.File_pg_query_proto {
					continue
				}
				if sub := string(fd.Message().Name()); sub == "Node" || reaches[sub] {
					reaches[name], changed = true, true
					break
				}
			}
		}
	}
	return reaches
}

// generatedField checks that the wire-code generators have code for fd: a
// member of a oneof (of messages) is returned as its oneof, any other
// field as its Go struct field.
func generatedField(goType reflect.Type, fd protoreflect.FieldDescriptor) (protoreflect.OneofDescriptor, reflect.StructField, error) {
	if fd.IsMap() || fd.IsExtension() {
		return nil, reflect.StructField{}, fmt.Errorf("field %s: maps and extensions are not generated", fd.Name())
	}
	if od := fd.ContainingOneof(); od != nil {
		if od.IsSynthetic() || fd.Kind() != protoreflect.MessageKind {
			return nil, reflect.StructField{}, fmt.Errorf("field %s: only oneofs of messages are generated", fd.Name())
		}
		return od, reflect.StructField{}, nil
	}
	goName, err := goField(goType, fd)
	if err != nil {
		return nil, reflect.StructField{}, err
	}
	f, _ := goType.FieldByName(goName)
	return nil, f, nil
}

// goField is the Go name of a field that is in no oneof.
func goField(t reflect.Type, fd protoreflect.FieldDescriptor) (string, error) {
	for i := 0; i < t.NumField(); i++ {
		for _, part := range strings.Split(t.Field(i).Tag.Get("protobuf"), ",") {
			if part == "name="+string(fd.Name()) {
				return t.Field(i).Name, nil
			}
		}
	}
	return "", fmt.Errorf("no Go field for %s", fd.Name())
}

// writeOneof writes a switch over the members of a oneof that hold
// messages. The oneof's members are declared together, so one place in
// the order stands for all of them (TestEachChildMatchesFieldOrder).
func writeOneof(b *strings.Builder, msg protoreflect.ProtoMessage, t reflect.Type, od protoreflect.OneofDescriptor) error {
	iface, err := oneofField(t, od)
	if err != nil {
		return err
	}
	members := od.Fields()
	first := members.Get(0).Index()
	var cases strings.Builder
	for k := 0; k < members.Len(); k++ {
		fd := members.Get(k)
		if fd.Index() != first+k {
			return fmt.Errorf("oneof %s: its members are not declared together", od.Name())
		}
		if fd.Kind() != protoreflect.MessageKind {
			continue
		}
		wrapper, inner, err := oneofMember(msg, iface, fd)
		if err != nil {
			return err
		}
		fmt.Fprintf(&cases, "\t\tcase *pg_query.%s:\n\t\t\tif x.%s != nil {\n\t\t\t\tfn(x.%[2]s)\n\t\t\t}\n", wrapper.Name(), inner.Name)
	}
	if cases.Len() > 0 {
		fmt.Fprintf(b, "\t\tswitch x := v.%s.(type) {\n%s\t\t}\n", iface, cases.String())
	}
	return nil
}

// checkGenerated fails unless file holds what generate writes now, and
// rewrites it first under -update.
func checkGenerated(t *testing.T, file string, generate func() ([]byte, error)) {
	t.Helper()
	src, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, src) {
		t.Errorf("%s is stale: run go test ./analyzer/pgtree/ -update", file)
	}
}

// messageTypes lists pg_query.proto's message types by name, sorted. The
// generators write one function per type and know no nested types.
func messageTypes() ([]string, map[string]protoreflect.MessageDescriptor, error) {
	msgs := pg_query.File_pg_query_proto.Messages()
	var names []string
	byName := map[string]protoreflect.MessageDescriptor{}
	for i := 0; i < msgs.Len(); i++ {
		md := msgs.Get(i)
		if md.Messages().Len() > 0 {
			return nil, nil, fmt.Errorf("%s: nested message types are not generated", md.Name())
		}
		names = append(names, string(md.Name()))
		byName[string(md.Name())] = md
	}
	sort.Strings(names)
	return names, byName, nil
}

// oneofField is the Go name of the interface field that holds oneof od.
func oneofField(t reflect.Type, od protoreflect.OneofDescriptor) (string, error) {
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("protobuf_oneof") == string(od.Name()) {
			return t.Field(i).Name, nil
		}
	}
	return "", fmt.Errorf("no Go field for oneof %s", od.Name())
}

// oneofMember is the wrapper type protobuf-go holds member fd of a oneof
// in (the oneof's Go field is iface), and the wrapper's one field, which
// points to the member's message. Setting the member shows both.
// memberOf is what the wire-code generators write for fd, a message member
// of a oneof: the oneof's Go field (iface), the member's wrapper type, the
// wrapper's one field (inner) and the message type it points to (elem).
type memberOf struct {
	iface   string
	wrapper reflect.Type
	inner   reflect.StructField
	elem    string
}

// oneofMemberOf finds what the generators write for fd, a member of od.
func oneofMemberOf(msg protoreflect.ProtoMessage, goType reflect.Type, od protoreflect.OneofDescriptor, fd protoreflect.FieldDescriptor) (memberOf, error) {
	iface, err := oneofField(goType, od)
	if err != nil {
		return memberOf{}, err
	}
	wrapper, inner, err := oneofMember(msg, iface, fd)
	if err != nil {
		return memberOf{}, err
	}
	return memberOf{iface: iface, wrapper: wrapper, inner: inner, elem: inner.Type.Elem().Name()}, nil
}

func oneofMember(msg protoreflect.ProtoMessage, iface string, fd protoreflect.FieldDescriptor) (reflect.Type, reflect.StructField, error) {
	od := fd.ContainingOneof()
	m := msg.ProtoReflect().Type().New()
	m.Set(fd, m.NewField(fd))
	wrapper := reflect.ValueOf(m.Interface()).Elem().FieldByName(iface).Elem().Type().Elem()
	if wrapper.NumField() != 1 {
		return nil, reflect.StructField{}, fmt.Errorf("oneof %s: wrapper %s has %d fields", od.Name(), wrapper.Name(), wrapper.NumField())
	}
	inner := wrapper.Field(0)
	if inner.Type.Kind() != reflect.Pointer || inner.Type.Elem().Kind() != reflect.Struct {
		return nil, reflect.StructField{}, fmt.Errorf("oneof %s: wrapper %s holds %s", od.Name(), wrapper.Name(), inner.Type)
	}
	return wrapper, inner, nil
}

// generatedFile is a generated file: its header, naming the test that
// writes it, the import lines given, then body, formatted.
func generatedFile(test, imports string, body []byte) ([]byte, error) {
	head := "// Code generated by " + test + " (go test ./analyzer/pgtree/ -update); DO NOT EDIT.\n\npackage pgtree\n\nimport (\n" + imports + ")\n"
	return format.Source(append([]byte(head), body...))
}

// pgQueryAndProto are the imports every generated file has.
const pgQueryAndProto = "\tpg_query \"github.com/pganalyze/pg_query_go/v5\"\n\t\"google.golang.org/protobuf/proto\"\n"

// wireCodeFile is a generated file of the wire-format code: what the
// decoder and the encoder import (math only where the body uses it).
func wireCodeFile(test string, body []byte) ([]byte, error) {
	imports := "\t\"math\"\n\n"
	if !bytes.Contains(body, []byte("math.")) {
		imports = ""
	}
	return generatedFile(test, imports+"\tpg_query \"github.com/pganalyze/pg_query_go/v5\"\n\t\"google.golang.org/protobuf/encoding/protowire\"\n\t\"google.golang.org/protobuf/proto\"\n", body)
}
