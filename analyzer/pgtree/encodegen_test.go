package pgtree

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestEncodeUpToDate: encode_gen.go is what generateEncode writes for the
// pg_query this module builds with (go test ./analyzer/pgtree/ -update
// after upgrading it).
func TestEncodeUpToDate(t *testing.T) {
	checkGenerated(t, "encode_gen.go", generateEncode)
}

// generateEncode writes one function per message type of pg_query.proto
// that appends the message in the protobuf wire format, byte for byte as
// proto.Marshal writes it (fields in the order of their numbers, oneofs
// last, proto3 zero values left out),
// without the per-type set-up protobuf-go pays on first use. A field of a
// kind it has no code for is an error.
func generateEncode() ([]byte, error) {
	names, byName, err := messageTypes()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`
// marshal appends m, a message of pg_query.proto, to b, and says whether
// it knew m's type.
func marshal(b []byte, m proto.Message) ([]byte, bool, error) {
	switch v := m.(type) {
`)
	for _, name := range names {
		goType, _, err := goTypeOf(byName[name])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\tcase *pg_query.%s:\n\t\tb, err := encode%[1]s(b, v)\n\t\treturn b, true, err\n", goType.Name())
	}
	b.WriteString("\tdefault:\n\t\treturn b, false, nil\n\t}\n}\n")
	for _, name := range names {
		if err := writeEncoder(&b, byName[name]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return wireCodeFile("TestEncodeUpToDate", b.Bytes())
}

// tagOf is the Go literal of a field's tag as proto.Marshal writes it.
func tagOf(fd protoreflect.FieldDescriptor, typ protowire.Type) string {
	var lit []string
	for _, c := range protowire.AppendTag(nil, fd.Number(), typ) {
		lit = append(lit, fmt.Sprintf("0x%02x", c))
	}
	return strings.Join(lit, ", ")
}

func writeEncoder(b *bytes.Buffer, md protoreflect.MessageDescriptor) error {
	goType, msg, err := goTypeOf(md)
	if err != nil {
		return err
	}
	unknown, ok := goType.FieldByName("unknownFields")
	if !ok || len(unknown.Index) != 1 {
		return fmt.Errorf("no unknownFields in %s", goType)
	}
	fields := md.Fields()
	order := make([]protoreflect.FieldDescriptor, 0, fields.Len())
	for i := 0; i < fields.Len(); i++ {
		order = append(order, fields.Get(i))
	}
	// proto.Marshal writes the fields in no oneof first, by number, then
	// the oneofs in the order they are declared ("to preserve
	// compatibility with historic wire output").
	sort.Slice(order, func(i, j int) bool {
		oi, oj := order[i].ContainingOneof(), order[j].ContainingOneof()
		switch {
		case (oi == nil) != (oj == nil):
			return oi == nil
		case oi != nil && oi != oj:
			return oi.Index() < oj.Index()
		}
		return order[i].Number() < order[j].Number()
	})
	var body strings.Builder
	seen := map[protoreflect.OneofDescriptor]bool{}
	for _, fd := range order {
		if od := fd.ContainingOneof(); od != nil {
			if od.IsSynthetic() {
				return fmt.Errorf("field %s: proto3 optional is not generated", fd.Name())
			}
			if seen[od] {
				continue
			}
			seen[od] = true
			if err := writeOneofEncoder(&body, msg, goType, od); err != nil {
				return err
			}
			continue
		}
		if err := writeFieldEncoder(&body, goType, fd); err != nil {
			return err
		}
	}
	name := goType.Name()
	fmt.Fprintf(b, "\nfunc encode%s(b []byte, m *pg_query.%[1]s) ([]byte, error) {\n", name)
	fmt.Fprintf(b, "\tif m == nil {\n\t\treturn b, nil\n\t}\n\tif hasUnknown(m, %d) {\n\t\treturn nil, errUnknownFields\n\t}\n", unknown.Index[0])
	if strings.Contains(body.String(), "err") {
		b.WriteString("\tvar err error\n")
	}
	b.WriteString(body.String())
	b.WriteString("\treturn b, nil\n}\n")
	return nil
}

// writeMessage appends a message field: its tag, then its contents, whose
// length is known once they are written (startLen, endLen).
func writeMessage(w *strings.Builder, fd protoreflect.FieldDescriptor, elem, expr, indent string) {
	fmt.Fprintf(w, "%sb = append(b, %s)\n%[1]sat := startLen(&b)\n", indent, tagOf(fd, protowire.BytesType))
	fmt.Fprintf(w, "%sif b, err = encode%s(b, %s); err != nil {\n%[1]s\treturn nil, err\n%[1]s}\n%[1]sb = endLen(b, at)\n", indent, elem, expr)
}

func writeFieldEncoder(w *strings.Builder, goType reflect.Type, fd protoreflect.FieldDescriptor) error {
	if fd.IsMap() || fd.IsExtension() {
		return fmt.Errorf("field %s: maps and extensions are not generated", fd.Name())
	}
	goName, err := goField(goType, fd)
	if err != nil {
		return err
	}
	f, _ := goType.FieldByName(goName)
	if fd.IsList() {
		switch fd.Kind() {
		case protoreflect.MessageKind:
			fmt.Fprintf(w, "\tfor _, c := range m.%s {\n", goName)
			writeMessage(w, fd, f.Type.Elem().Elem().Name(), "c", "\t\t")
			w.WriteString("\t}\n")
		case protoreflect.Uint64Kind:
			if !fd.IsPacked() || f.Type.Elem().Kind() != reflect.Uint64 {
				return fmt.Errorf("field %s: only packed uint64 lists are generated", fd.Name())
			}
			fmt.Fprintf(w, "\tif len(m.%s) > 0 {\n\t\tn := 0\n\t\tfor _, v := range m.%[1]s {\n\t\t\tn += protowire.SizeVarint(v)\n\t\t}\n", goName)
			fmt.Fprintf(w, "\t\tb = append(b, %s)\n\t\tb = protowire.AppendVarint(b, uint64(n))\n", tagOf(fd, protowire.BytesType))
			fmt.Fprintf(w, "\t\tfor _, v := range m.%s {\n\t\t\tb = protowire.AppendVarint(b, v)\n\t\t}\n\t}\n", goName)
		default:
			return fmt.Errorf("field %s: repeated %s is not generated", fd.Name(), fd.Kind())
		}
		return nil
	}
	if fd.HasPresence() && fd.Kind() != protoreflect.MessageKind {
		return fmt.Errorf("field %s: scalars with presence are not generated", fd.Name())
	}
	varint := func(cond, val string) {
		fmt.Fprintf(w, "\tif %s {\n\t\tb = append(b, %s)\n\t\tb = protowire.AppendVarint(b, %s)\n\t}\n", cond, tagOf(fd, protowire.VarintType), val)
	}
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
	v := "m." + goName
	switch fd.Kind() {
	case protoreflect.BoolKind:
		varint(v, "1")
	case protoreflect.Int32Kind, protoreflect.EnumKind, protoreflect.Int64Kind:
		// A negative int32 is written sign-extended to ten bytes.
		varint(v+" != 0", "uint64(int64("+v+"))")
	case protoreflect.Uint32Kind:
		varint(v+" != 0", "uint64("+v+")")
	case protoreflect.Uint64Kind:
		varint(v+" != 0", v)
	case protoreflect.DoubleKind:
		// proto3 leaves out +0 only: -0 has its sign bit set.
		fmt.Fprintf(w, "\tif %s != 0 || math.Signbit(%[1]s) {\n\t\tb = append(b, %s)\n\t\tb = protowire.AppendFixed64(b, math.Float64bits(%[1]s))\n\t}\n", v, tagOf(fd, protowire.Fixed64Type))
	case protoreflect.StringKind:
		fmt.Fprintf(w, "\tif %s != \"\" {\n\t\tif b, err = appendString(b, []byte{%s}, %[1]s); err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t}\n", v, tagOf(fd, protowire.BytesType))
	case protoreflect.MessageKind:
		if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
			return fmt.Errorf("field %s: Go type %s", fd.Name(), f.Type)
		}
		fmt.Fprintf(w, "\tif %s != nil {\n", v)
		writeMessage(w, fd, f.Type.Elem().Name(), v, "\t\t")
		w.WriteString("\t}\n")
	default:
		return fmt.Errorf("field %s: kind %s is not generated", fd.Name(), fd.Kind())
	}
	return nil
}

// writeOneofEncoder writes the member a oneof holds. A member whose
// message is nil is written empty, as proto.Marshal does.
func writeOneofEncoder(w *strings.Builder, msg protoreflect.ProtoMessage, goType reflect.Type, od protoreflect.OneofDescriptor) error {
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
		fmt.Fprintf(w, "\tcase *pg_query.%s:\n\t\tif x != nil {\n", wrapper.Name())
		writeMessage(w, fd, inner.Type.Elem().Name(), "x."+inner.Name, "\t\t\t")
		w.WriteString("\t\t}\n")
	}
	w.WriteString("\t}\n")
	return nil
}
