package pgtree

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestJSONDecodeUpToDate: jsondecode_gen.go is what generateJSONDecode
// writes for the pg_query this module builds with (go test
// ./analyzer/pgtree/ -update after upgrading it).
func TestJSONDecodeUpToDate(t *testing.T) {
	checkGenerated(t, "jsondecode_gen.go", generateJSONDecode)
}

// generateJSONDecode writes one function per message type of
// pg_query.proto that reads the message's JSON (keys are the fields' json
// names) into its Go struct. A field of a kind it has no code for is an
// error, so that a later pg_query cannot yield a decoder that leaves
// fields out.
func generateJSONDecode() ([]byte, error) {
	var b bytes.Buffer
	names, byName, err := messageTypes()
	if err != nil {
		return nil, err
	}
	b.WriteString(`
// jsonUnmarshal reads text, the JSON of one message of pg_query.proto,
// into m, which it first empties, and says whether it knew m's type.
func jsonUnmarshal(text string, m proto.Message) (bool, error) {
	r := &jsonReader{s: text}
	switch v := m.(type) {
`)
	for _, name := range names {
		goType, _, err := goTypeOf(byName[name])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\tcase *pg_query.%s:\n\t\t*v = pg_query.%[1]s{}\n\t\treturn true, r.exact(json%[1]s(r, v, 0))\n", goType.Name())
	}
	b.WriteString("\tdefault:\n\t\treturn false, nil\n\t}\n}\n")
	if err := writeMoveLocations(&b, names, byName); err != nil {
		return nil, err
	}
	for _, name := range names {
		if err := writeJSONDecoder(&b, byName[name]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := writeJSONNodeElement(&b, byName[nodeMessage]); err != nil {
		return nil, fmt.Errorf("%s: %w", nodeMessage, err)
	}
	return generatedFile("TestJSONDecodeUpToDate", pgQueryAndProto, b.Bytes())
}

// nodeMessage is the message most lists hold, one oneof of every node
// type.
const nodeMessage = "Node"

// writeJSONNodeElement writes jsonNodeElement, which reads one Node of a
// list: it reads the member's name before it allocates, so that the Node,
// the member and the wrapper that holds it are one allocation, not three.
// They live and die together, as the elements of a list of a parse tree
// are never taken out of it. An object with a second key is an error, as
// it is for jsonNode.
func writeJSONNodeElement(b *bytes.Buffer, md protoreflect.MessageDescriptor) error {
	goType, msg, err := goTypeOf(md)
	if err != nil {
		return err
	}
	b.WriteString(`
// jsonNodeElement reads a Node of a list, {} being an empty Node.
func jsonNodeElement(r *jsonReader, depth int) (*pg_query.Node, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	if err := r.openObject(); err != nil {
		return nil, err
	}
	key, more, err := r.nextKey(true)
	if err != nil {
		return nil, err
	}
	if !more {
		return &pg_query.Node{}, nil
	}
	var m *pg_query.Node
	switch key {
`)
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		od, _, err := generatedField(goType, fd)
		if err != nil {
			return err
		}
		if od == nil || fd.Kind() != protoreflect.MessageKind {
			return fmt.Errorf("field %s is not a message member of a oneof", fd.Name())
		}
		mb, err := oneofMemberOf(msg, goType, od, fd)
		if err != nil {
			return err
		}
		iface, wrapper, inner, elem := mb.iface, mb.wrapper, mb.inner, mb.elem
		fmt.Fprintf(b, "\tcase %q:\n", fd.JSONName())
		fmt.Fprintf(b, "\t\tp := &struct {\n\t\t\tn pg_query.%s\n\t\t\tw pg_query.%s\n\t\t\tx pg_query.%s\n\t\t}{}\n", goType.Name(), wrapper.Name(), elem)
		fmt.Fprintf(b, "\t\tp.w.%s = &p.x\n\t\tp.n.%s = &p.w\n\t\tm = &p.n\n", inner.Name, iface)
		fmt.Fprintf(b, "\t\tif err = json%s(r, &p.x, depth+1); err != nil {\n\t\t\treturn nil, err\n\t\t}\n", elem)
	}
	fmt.Fprintf(b, "\tdefault:\n\t\treturn nil, unknownKey(%q, key)\n\t}\n", goType.Name())
	fmt.Fprintf(b, "\tif key, more, err = r.nextKey(false); err != nil {\n\t\treturn nil, err\n\t}\n\tif more {\n\t\treturn nil, oneofTwice(%q, key)\n\t}\n\treturn m, nil\n}\n", goType.Name())
	return nil
}

// integerMessage is the message whose value pg_query's JSON leaves out
// when it is not positive (_outInteger): its decoder tells the reader
// where the value is missing (the value may be 0 or any negative number).
const integerMessage = "Integer"

func writeJSONDecoder(b *bytes.Buffer, md protoreflect.MessageDescriptor) error {
	goType, msg, err := goTypeOf(md)
	if err != nil {
		return err
	}
	name := goType.Name()
	var cases strings.Builder
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		fmt.Fprintf(&cases, "\t\tcase %q:\n", fd.JSONName())
		if err := writeJSONField(&cases, msg, goType, fd); err != nil {
			return err
		}
	}
	integer := string(md.Name()) == integerMessage
	if integer {
		if fields.Len() != 1 || fields.Get(0).Kind() != protoreflect.Int32Kind {
			return fmt.Errorf("%s is no longer one int32", integerMessage)
		}
		// The one field's case records that the value was there.
		cases.WriteString("\t\t\tseen = true\n")
	}
	fmt.Fprintf(b, "\nfunc json%s(r *jsonReader, m *pg_query.%[1]s, depth int) error {\n", name)
	b.WriteString("\tif depth > maxDepth {\n\t\treturn errDepth\n\t}\n\tif err := r.openObject(); err != nil {\n\t\treturn err\n\t}\n")
	end := "\t\t\treturn err\n"
	if integer {
		b.WriteString("\tseen := false\n")
		end = "\t\t\tif !seen {\n\t\t\t\tr.unwrittenInteger = true\n\t\t\t}\n\t\t\treturn err\n"
	}
	if fields.Len() == 0 {
		fmt.Fprintf(b, "\tkey, more, err := r.nextKey(true)\n\tif err != nil || !more {\n\t\treturn err\n\t}\n\treturn unknownKey(%q, key)\n}\n", name)
		return nil
	}
	b.WriteString("\tfor first := true; ; first = false {\n\t\tkey, more, err := r.nextKey(first)\n")
	fmt.Fprintf(b, "\t\tif err != nil || !more {\n%s\t\t}\n", end)
	b.WriteString("\t\tswitch key {\n")
	b.WriteString(cases.String())
	fmt.Fprintf(b, "\t\tdefault:\n\t\t\treturn unknownKey(%q, key)\n\t\t}\n\t}\n}\n", name)
	return nil
}

// writeJSONField writes the body of one case: read the field's value and
// set or append it.
func writeJSONField(w *strings.Builder, msg protoreflect.ProtoMessage, goType reflect.Type, fd protoreflect.FieldDescriptor) error {
	od, f, err := generatedField(goType, fd)
	if err != nil {
		return err
	}
	if od != nil {
		return writeJSONOneofMember(w, msg, goType, od, fd)
	}
	goName := f.Name
	check := "; err != nil {\n\t\t\t\treturn err\n\t\t\t}\n"
	if fd.IsList() {
		switch fd.Kind() {
		case protoreflect.MessageKind:
			if elem := f.Type.Elem().Elem().Name(); elem == nodeMessage {
				fmt.Fprintf(w, "\t\t\tif m.%s, err = jsonNodes(r, m.%[1]s, depth+1)%s", goName, check)
			} else {
				fmt.Fprintf(w, "\t\t\tif m.%s, err = jsonMessages(r, m.%[1]s, depth+1, json%s)%s", goName, elem, check)
			}
		case protoreflect.Uint64Kind:
			// Bitmapsets: pg_query's JSON leaves member 0 out.
			w.WriteString("\t\t\treturn errJSONLossy\n")
		default:
			return fmt.Errorf("field %s: repeated %s is not generated", fd.Name(), fd.Kind())
		}
		return nil
	}
	if fd.HasPresence() && fd.Kind() != protoreflect.MessageKind {
		return fmt.Errorf("field %s: scalars with presence are not generated", fd.Name())
	}
	read := map[protoreflect.Kind]struct {
		goKind reflect.Kind
		method string
	}{
		protoreflect.BoolKind:   {reflect.Bool, "boolValue"},
		protoreflect.Int32Kind:  {reflect.Int32, "int32Value"},
		protoreflect.Uint32Kind: {reflect.Uint32, "uint32Value"},
		protoreflect.Int64Kind:  {reflect.Int64, "int64Value"},
		protoreflect.Uint64Kind: {reflect.Uint64, "uint64Value"},
		protoreflect.StringKind: {reflect.String, "stringValue"},
	}
	if rd, ok := read[fd.Kind()]; ok {
		if f.Type.Kind() != rd.goKind || f.Type.PkgPath() != "" {
			return fmt.Errorf("field %s: Go type %s for %s", fd.Name(), f.Type, fd.Kind())
		}
		fmt.Fprintf(w, "\t\t\tif m.%s, err = r.%s()%s", goName, rd.method, check)
		return nil
	}
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if f.Type.Kind() != reflect.Int32 {
			return fmt.Errorf("field %s: Go type %s for an enum", fd.Name(), f.Type)
		}
		fmt.Fprintf(w, "\t\t\tvar v int32\n\t\t\tif v, err = r.enumValue(pg_query.%s_value)%s\t\t\tm.%s = pg_query.%[1]s(v)\n", f.Type.Name(), check, goName)
	case protoreflect.DoubleKind:
		// pg_query writes doubles with %f: six decimals.
		w.WriteString("\t\t\treturn errJSONLossy\n")
	case protoreflect.MessageKind:
		if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
			return fmt.Errorf("field %s: Go type %s", fd.Name(), f.Type)
		}
		elem := f.Type.Elem().Name()
		fmt.Fprintf(w, "\t\t\tif m.%s == nil {\n\t\t\t\tm.%[1]s = &pg_query.%s{}\n\t\t\t}\n", goName, elem)
		fmt.Fprintf(w, "\t\t\tif err = json%s(r, m.%s, depth+1)%s", elem, goName, check)
	default:
		return fmt.Errorf("field %s: kind %s is not generated", fd.Name(), fd.Kind())
	}
	return nil
}

// writeJSONOneofMember sets a oneof to one of its message members; an
// object naming two members is an error, as it is for protojson.
func writeJSONOneofMember(w *strings.Builder, msg protoreflect.ProtoMessage, goType reflect.Type, od protoreflect.OneofDescriptor, fd protoreflect.FieldDescriptor) error {
	mb, err := oneofMemberOf(msg, goType, od, fd)
	if err != nil {
		return err
	}
	iface, wrapper, inner, elem := mb.iface, mb.wrapper, mb.inner, mb.elem
	fmt.Fprintf(w, "\t\t\tif m.%s != nil {\n\t\t\t\treturn oneofTwice(%q, key)\n\t\t\t}\n", iface, goType.Name())
	// The member and the wrapper that holds it in the oneof are one
	// allocation, not two: they live and die together (the wrapper is
	// never seen without its member), and allocating is most of what
	// decoding a tree costs.
	fmt.Fprintf(w, "\t\t\tp := &struct {\n\t\t\t\tw pg_query.%s\n\t\t\t\tx pg_query.%s\n\t\t\t}{}\n", wrapper.Name(), elem)
	fmt.Fprintf(w, "\t\t\tp.w.%s = &p.x\n\t\t\tm.%s = &p.w\n", inner.Name, iface)
	fmt.Fprintf(w, "\t\t\tif err = json%s(r, &p.x, depth+1); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n", elem)
	return nil
}

// writeMoveLocations writes moveOwnLocations: a type switch that adds to
// each location of a message (an int32 field named location) above 0: -1
// is no location, and 0 is also what a node the grammar gives no location
// holds (makeNode zeroes it). A field whose name says location otherwise (RawStmt's and
// Query's stmt_location, which say where a statement starts in a text
// holding several) makes it answer false, as does a type it does not know.
func writeMoveLocations(b *bytes.Buffer, names []string, byName map[string]protoreflect.MessageDescriptor) error {
	b.WriteString(`
// moveOwnLocations adds by to the locations above 0 m holds itself (not
// those of the messages in it), and says whether it knows every location
// of m.
func moveOwnLocations(m proto.Message, by int32) bool {
	switch v := m.(type) {
`)
	var none, refused []string
	for _, name := range names {
		md := byName[name]
		goType, _, err := goTypeOf(md)
		if err != nil {
			return err
		}
		var moves strings.Builder
		known := true
		for i := 0; i < md.Fields().Len(); i++ {
			fd := md.Fields().Get(i)
			switch {
			case fd.Name() == "location" && fd.Kind() == protoreflect.Int32Kind:
				goName, err := goField(goType, fd)
				if err != nil {
					return err
				}
				fmt.Fprintf(&moves, "\t\tif v.%s > 0 {\n\t\t\tv.%[1]s += by\n\t\t}\n", goName)
			case strings.Contains(string(fd.Name()), "location") && fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.MessageKind:
				known = false
			}
		}
		switch {
		case !known:
			refused = append(refused, "*pg_query."+goType.Name())
		case moves.Len() == 0:
			none = append(none, "*pg_query."+goType.Name())
		default:
			fmt.Fprintf(b, "\tcase *pg_query.%s:\n%s", goType.Name(), moves.String())
		}
	}
	fmt.Fprintf(b, "\tcase %s:\n\t\t// No location of their own.\n", strings.Join(none, ",\n\t\t"))
	fmt.Fprintf(b, "\tcase %s:\n\t\treturn false\n", strings.Join(refused, ", "))
	b.WriteString("\tdefault:\n\t\treturn false\n\t}\n\treturn true\n}\n")
	return nil
}
