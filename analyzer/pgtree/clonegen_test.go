package pgtree

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestCloneUpToDate: clone_gen.go is what generateClone writes for the
// pg_query this module builds with (go test ./analyzer/pgtree/ -update
// after upgrading it).
func TestCloneUpToDate(t *testing.T) {
	checkGenerated(t, "clone_gen.go", generateClone)
}

// generateClone writes one function per message type of pg_query.proto
// that deep-copies a message as proto.Clone does (an empty list stays
// nil, a nil element of a list or a oneof member holding nil becomes an
// empty message), without protobuf-go's per-type set-up. A field of a kind
// it has no code for is an error.
func generateClone() ([]byte, error) {
	names, byName, err := messageTypes()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`
// clone deep-copies m, a message of pg_query.proto, and says whether it
// knew m's type; *ok turns false if a message below holds unknown fields,
// which only proto.Clone copies.
func clone(m proto.Message, ok *bool) (proto.Message, bool) {
	switch v := m.(type) {
`)
	for _, name := range names {
		goType, _, err := goTypeOf(byName[name])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\tcase *pg_query.%s:\n\t\treturn clone%[1]s(v, ok), true\n", goType.Name())
	}
	b.WriteString("\tdefault:\n\t\treturn nil, false\n\t}\n}\n")
	for _, name := range names {
		if err := writeCloner(&b, byName[name]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return generatedFile("TestCloneUpToDate", pgQueryAndProto, b.Bytes())
}

func writeCloner(b *bytes.Buffer, md protoreflect.MessageDescriptor) error {
	goType, msg, err := goTypeOf(md)
	if err != nil {
		return err
	}
	unknown, ok := goType.FieldByName("unknownFields")
	if !ok || len(unknown.Index) != 1 {
		return fmt.Errorf("no unknownFields in %s", goType)
	}
	name := goType.Name()
	var body strings.Builder
	fields := md.Fields()
	seen := map[protoreflect.OneofDescriptor]bool{}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.IsMap() || fd.IsExtension() {
			return fmt.Errorf("field %s: maps and extensions are not generated", fd.Name())
		}
		if od := fd.ContainingOneof(); od != nil {
			if od.IsSynthetic() {
				return fmt.Errorf("field %s: proto3 optional is not generated", fd.Name())
			}
			if !seen[od] {
				seen[od] = true
				if err := writeOneofCloner(&body, msg, goType, od); err != nil {
					return err
				}
			}
			continue
		}
		goName, err := goField(goType, fd)
		if err != nil {
			return err
		}
		f, _ := goType.FieldByName(goName)
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			elem := f.Type.Elem().Elem().Name()
			fmt.Fprintf(&body, "\tif len(m.%s) > 0 {\n\t\tc.%[1]s = make([]*pg_query.%s, len(m.%[1]s))\n\t\tfor i, e := range m.%[1]s {\n", goName, elem)
			fmt.Fprintf(&body, "\t\t\tif e == nil {\n\t\t\t\tc.%s[i] = &pg_query.%s{}\n\t\t\t} else {\n\t\t\t\tc.%[1]s[i] = clone%[2]s(e, ok)\n\t\t\t}\n\t\t}\n\t}\n", goName, elem)
		case fd.IsList() && fd.Kind() == protoreflect.Uint64Kind:
			fmt.Fprintf(&body, "\tif len(m.%s) > 0 {\n\t\tc.%[1]s = append([]uint64(nil), m.%[1]s...)\n\t}\n", goName)
		case fd.IsList():
			return fmt.Errorf("field %s: repeated %s is not generated", fd.Name(), fd.Kind())
		case fd.Kind() == protoreflect.MessageKind:
			fmt.Fprintf(&body, "\tif m.%s != nil {\n\t\tc.%[1]s = clone%s(m.%[1]s, ok)\n\t}\n", goName, f.Type.Elem().Name())
		default:
			switch f.Type.Kind() {
			case reflect.Bool, reflect.Int32, reflect.Uint32, reflect.Int64, reflect.Uint64, reflect.Float64, reflect.String:
			default:
				return fmt.Errorf("field %s: Go type %s", fd.Name(), f.Type)
			}
			if fd.HasPresence() {
				return fmt.Errorf("field %s: scalars with presence are not generated", fd.Name())
			}
			fmt.Fprintf(&body, "\tc.%s = m.%[1]s\n", goName)
		}
	}
	fmt.Fprintf(b, "\nfunc clone%s(m *pg_query.%[1]s, ok *bool) *pg_query.%[1]s {\n", name)
	fmt.Fprintf(b, "\tif m == nil {\n\t\treturn nil\n\t}\n\tif hasUnknown(m, %d) {\n\t\t*ok = false\n\t}\n\tc := &pg_query.%s{}\n", unknown.Index[0], name)
	b.WriteString(body.String())
	b.WriteString("\treturn c\n}\n")
	return nil
}

func writeOneofCloner(w *strings.Builder, msg protoreflect.ProtoMessage, goType reflect.Type, od protoreflect.OneofDescriptor) error {
	iface, err := oneofField(goType, od)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\tswitch x := m.%s.(type) {\n", iface)
	members := od.Fields()
	for k := 0; k < members.Len(); k++ {
		fd := members.Get(k)
		if fd.Kind() != protoreflect.MessageKind {
			return fmt.Errorf("field %s: only oneofs of messages are generated", fd.Name())
		}
		wrapper, inner, err := oneofMember(msg, iface, fd)
		if err != nil {
			return err
		}
		elem := inner.Type.Elem().Name()
		fmt.Fprintf(w, "\tcase *pg_query.%s:\n\t\tif x != nil {\n\t\t\ty := clone%[2]s(x.%[3]s, ok)\n\t\t\tif y == nil {\n\t\t\t\ty = &pg_query.%[2]s{}\n\t\t\t}\n\t\t\tc.%[4]s = &pg_query.%[1]s{%[3]s: y}\n\t\t}\n", wrapper.Name(), elem, inner.Name, iface)
	}
	w.WriteString("\t}\n")
	return nil
}
