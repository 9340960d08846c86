package pgtree

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestDecodeUpToDate: decode_gen.go is what generateDecode writes for the
// pg_query this module builds with (go test ./analyzer/pgtree/ -update
// after upgrading it).
func TestDecodeUpToDate(t *testing.T) {
	checkGenerated(t, "decode_gen.go", generateDecode)
}

// generateDecode writes one function per message type of pg_query.proto
// that reads the protobuf wire format into the message's Go struct: what
// proto.Unmarshal does, without the reflection it sets up for every type
// on first use. A field of a kind it has no code for is an error, so that
// a later pg_query cannot yield a decoder that leaves fields out.
func generateDecode() ([]byte, error) {
	var b bytes.Buffer
	names, byName, err := messageTypes()
	if err != nil {
		return nil, err
	}
	b.WriteString(`
// unmarshal decodes b into m, a message of pg_query.proto that it first
// empties, and says whether it knew m's type.
func unmarshal(b []byte, m proto.Message) (bool, error) {
	switch v := m.(type) {
`)
	for _, name := range names {
		goType, _, err := goTypeOf(byName[name])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\tcase *pg_query.%s:\n\t\t*v = pg_query.%[1]s{}\n\t\treturn true, decode%[1]s(b, v, 0)\n", goType.Name())
	}
	b.WriteString("\tdefault:\n\t\treturn false, nil\n\t}\n}\n")
	for _, name := range names {
		if err := writeDecoder(&b, byName[name]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return wireCodeFile("TestDecodeUpToDate", b.Bytes())
}

// goTypeOf is the Go struct type protobuf-go generated for md.
func goTypeOf(md protoreflect.MessageDescriptor) (reflect.Type, protoreflect.ProtoMessage, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
	if err != nil {
		return nil, nil, err
	}
	msg := mt.New().Interface()
	return reflect.TypeOf(msg).Elem(), msg, nil
}

func writeDecoder(b *bytes.Buffer, md protoreflect.MessageDescriptor) error {
	goType, msg, err := goTypeOf(md)
	if err != nil {
		return err
	}
	name := goType.Name()
	var cases strings.Builder
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		fmt.Fprintf(&cases, "\t\tcase %d: // %s\n", fd.Number(), fd.Name())
		if err := writeField(&cases, msg, goType, fd); err != nil {
			return err
		}
	}
	fmt.Fprintf(b, "\nfunc decode%s(b []byte, m *pg_query.%[1]s, depth int) error {\n", name)
	b.WriteString("\tif depth > maxDepth {\n\t\treturn errDepth\n\t}\n")
	if fields.Len() == 0 {
		fmt.Fprintf(b, "\tif len(b) > 0 {\n\t\tnum, typ, n := protowire.ConsumeTag(b)\n\t\tif n < 0 {\n\t\t\treturn wireError(n)\n\t\t}\n\t\treturn fieldError(%q, num, typ)\n\t}\n\treturn nil\n}\n", name)
		return nil
	}
	b.WriteString("\tvar err error\n\tfor len(b) > 0 {\n\t\tnum, typ, n := protowire.ConsumeTag(b)\n\t\tif n < 0 {\n\t\t\treturn wireError(n)\n\t\t}\n\t\tb = b[n:]\n\t\tswitch num {\n")
	b.WriteString(cases.String())
	fmt.Fprintf(b, "\t\tdefault:\n\t\t\treturn fieldError(%q, num, typ)\n\t\t}\n\t}\n\treturn nil\n}\n", name)
	return nil
}

// writeField writes the body of one case: read the field's value from b
// and set, append or merge it the way proto.Unmarshal does (the last
// value of a scalar wins, a message met twice is merged).
func writeField(w *strings.Builder, msg protoreflect.ProtoMessage, goType reflect.Type, fd protoreflect.FieldDescriptor) error {
	od, f, err := generatedField(goType, fd)
	if err != nil {
		return err
	}
	if od != nil {
		return writeOneofMember(w, msg, goType, od, fd)
	}
	goName := f.Name
	if fd.IsList() {
		switch fd.Kind() {
		case protoreflect.MessageKind:
			elem := f.Type.Elem().Elem().Name()
			fmt.Fprintf(w, "\t\t\tvar v []byte\n\t\t\tif v, b, err = lenField(b, typ); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n")
			fmt.Fprintf(w, "\t\t\tc := &pg_query.%s{}\n\t\t\tif err = decode%[1]s(v, c, depth+1); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n", elem)
			fmt.Fprintf(w, "\t\t\tm.%s = append(m.%[1]s, c)\n", goName)
		case protoreflect.Uint64Kind:
			if f.Type.Elem().Kind() != reflect.Uint64 {
				return fmt.Errorf("field %s: Go type %s", fd.Name(), f.Type)
			}
			fmt.Fprintf(w, "\t\t\tif b, err = varintList(b, typ, func(v uint64) { m.%s = append(m.%[1]s, v) }); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n", goName)
		default:
			return fmt.Errorf("field %s: repeated %s is not generated", fd.Name(), fd.Kind())
		}
		return nil
	}
	if fd.HasPresence() && fd.Kind() != protoreflect.MessageKind {
		return fmt.Errorf("field %s: scalars with presence are not generated", fd.Name())
	}
	readVarint := "\t\t\tvar v uint64\n\t\t\tif v, b, err = varintField(b, typ); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n"
	want := map[protoreflect.Kind]reflect.Kind{
		protoreflect.BoolKind:   reflect.Bool,
		protoreflect.Int32Kind:  reflect.Int32,
		protoreflect.EnumKind:   reflect.Int32,
		protoreflect.Uint32Kind: reflect.Uint32,
		protoreflect.Int64Kind:  reflect.Int64,
		protoreflect.Uint64Kind: reflect.Uint64,
		protoreflect.DoubleKind: reflect.Float64,
		protoreflect.StringKind: reflect.String,
	}
	if k, ok := want[fd.Kind()]; ok && f.Type.Kind() != k {
		return fmt.Errorf("field %s: Go type %s for %s", fd.Name(), f.Type, fd.Kind())
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		fmt.Fprintf(w, "%s\t\t\tm.%s = v != 0\n", readVarint, goName)
	case protoreflect.Int32Kind:
		fmt.Fprintf(w, "%s\t\t\tm.%s = int32(v)\n", readVarint, goName)
	case protoreflect.EnumKind:
		fmt.Fprintf(w, "%s\t\t\tm.%s = pg_query.%s(int32(v))\n", readVarint, goName, f.Type.Name())
	case protoreflect.Uint32Kind:
		fmt.Fprintf(w, "%s\t\t\tm.%s = uint32(v)\n", readVarint, goName)
	case protoreflect.Int64Kind:
		fmt.Fprintf(w, "%s\t\t\tm.%s = int64(v)\n", readVarint, goName)
	case protoreflect.Uint64Kind:
		fmt.Fprintf(w, "%s\t\t\tm.%s = v\n", readVarint, goName)
	case protoreflect.DoubleKind:
		fmt.Fprintf(w, "\t\t\tvar v uint64\n\t\t\tif v, b, err = fixed64Field(b, typ); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n\t\t\tm.%s = math.Float64frombits(v)\n", goName)
	case protoreflect.StringKind:
		fmt.Fprintf(w, "\t\t\tif m.%s, b, err = stringField(b, typ); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n", goName)
	case protoreflect.MessageKind:
		if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
			return fmt.Errorf("field %s: Go type %s", fd.Name(), f.Type)
		}
		elem := f.Type.Elem().Name()
		fmt.Fprintf(w, "\t\t\tvar v []byte\n\t\t\tif v, b, err = lenField(b, typ); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n")
		fmt.Fprintf(w, "\t\t\tif m.%s == nil {\n\t\t\t\tm.%[1]s = &pg_query.%s{}\n\t\t\t}\n", goName, elem)
		fmt.Fprintf(w, "\t\t\tif err = decode%s(v, m.%s, depth+1); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n", elem, goName)
	default:
		return fmt.Errorf("field %s: kind %s is not generated", fd.Name(), fd.Kind())
	}
	return nil
}

// writeOneofMember sets a oneof to one of its message members: a member
// met again is merged into, another member replaces it.
func writeOneofMember(w *strings.Builder, msg protoreflect.ProtoMessage, goType reflect.Type, od protoreflect.OneofDescriptor, fd protoreflect.FieldDescriptor) error {
	mb, err := oneofMemberOf(msg, goType, od, fd)
	if err != nil {
		return err
	}
	iface, wrapper, inner, elem := mb.iface, mb.wrapper, mb.inner, mb.elem
	fmt.Fprintf(w, "\t\t\tvar v []byte\n\t\t\tif v, b, err = lenField(b, typ); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n")
	fmt.Fprintf(w, "\t\t\tx, ok := m.%s.(*pg_query.%s)\n\t\t\tif !ok || x.%s == nil {\n\t\t\t\tx = &pg_query.%[2]s{%[3]s: &pg_query.%s{}}\n\t\t\t\tm.%[1]s = x\n\t\t\t}\n", iface, wrapper.Name(), inner.Name, elem)
	fmt.Fprintf(w, "\t\t\tif err = decode%s(v, x.%s, depth+1); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n", elem, inner.Name)
	return nil
}
