package pgtree

import (
	"bytes"
	"math"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// sameBytes requires the generated encoder to write m as proto.Marshal
// does, byte for byte.
func sameBytes(t *testing.T, name string, m proto.Message) {
	t.Helper()
	want, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("%s: proto.Marshal: %v", name, err)
	}
	got, ok, err := marshal(nil, m)
	if !ok || err != nil {
		t.Errorf("%s: known %v, %v", name, ok, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: encoded %d bytes differ from proto.Marshal's %d", name, len(got), len(want))
	}
}

// TestEncodeMatchesMarshal: the parser's trees, and the repository's files,
// encode to proto.Marshal's bytes, and Deparse gives pg_query.Deparse's text.
func TestEncodeMatchesMarshal(t *testing.T) {
	texts := map[string]string{}
	for name, sql := range repoSQL(t) {
		texts[name] = sql
	}
	for i, sql := range statements {
		texts["statement "+string(rune('A'+i/26))+string(rune('a'+i%26))] = sql
	}
	for name, sql := range texts {
		tree, err := pg_query.Parse(sql)
		if err != nil {
			continue // a file only psql reads (\set ...)
		}
		sameBytes(t, name, tree)
		for _, st := range tree.Stmts {
			sameBytes(t, name+" (statement)", st.Stmt)
		}
		want, wantErr := pg_query.Deparse(tree)
		got, err := Deparse(tree)
		if got != want || (err == nil) != (wantErr == nil) {
			t.Errorf("%s: Deparse gave %q, %v; pg_query.Deparse %q, %v", name, got, err, want, wantErr)
		}
	}
}

// TestEncodeEveryField: every field of every message type, and every
// member of Node's oneof, filled in, encodes to proto.Marshal's bytes.
func TestEncodeEveryField(t *testing.T) {
	eachFilledMessage(t, func(name string, m proto.Message) { sameBytes(t, name, m) })
}

// TestEncodeEdges: what Go code may build by hand, written as
// proto.Marshal writes it.
func TestEncodeEdges(t *testing.T) {
	long := &pg_query.Node{Node: &pg_query.Node_String_{String_: &pg_query.String{Sval: string(bytes.Repeat([]byte("x"), 70000))}}}
	for _, c := range []struct {
		name string
		m    proto.Message
	}{
		{"empty", &pg_query.ParseResult{}},
		{"oneof member holding nil", &pg_query.Node{Node: &pg_query.Node_SelectStmt{}}},
		{"nil oneof wrapper", &pg_query.Node{Node: (*pg_query.Node_SelectStmt)(nil)}},
		{"nil in a list", &pg_query.List{Items: []*pg_query.Node{nil, {}}}},
		{"negative int32", &pg_query.RawStmt{StmtLocation: -1}},
		{"negative zero", &pg_query.SubPlan{StartupCost: math.Copysign(0, -1), PerCallCost: 0}},
		{"a message longer than 64 KiB, nested", &pg_query.List{Items: []*pg_query.Node{long, {Node: &pg_query.Node_List{List: &pg_query.List{Items: []*pg_query.Node{long}}}}}}},
		{"empty packed list", &pg_query.Var{Varnullingrels: []uint64{}}},
	} {
		sameBytes(t, c.name, c.m)
	}
}

// TestEncodeRefuses: a tree the encoder cannot write as proto.Marshal does
// is an error, and Marshal and Deparse then give protobuf-go's outcome.
func TestEncodeRefuses(t *testing.T) {
	bad := &pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_String_{String_: &pg_query.String{Sval: "\xff"}}}}}}
	if _, _, err := marshal(nil, bad); err == nil {
		t.Error("invalid UTF-8: encoded")
	}
	_, wantErr := pg_query.Deparse(bad)
	if _, err := Deparse(bad); err == nil || wantErr == nil || err.Error() != wantErr.Error() {
		t.Errorf("invalid UTF-8: Deparse gave %v, pg_query.Deparse %v", err, wantErr)
	}
	// Bytes with a field this pg_query does not know: proto.Unmarshal
	// keeps it, and proto.Marshal writes it back.
	b, err := parser.ParseToProtobuf("SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	b = protowire.AppendVarint(protowire.AppendTag(b, 99, protowire.VarintType), 7)
	withUnknown := &pg_query.ParseResult{}
	if err := proto.Unmarshal(b, withUnknown); err != nil {
		t.Fatal(err)
	}
	if _, _, err := marshal(nil, withUnknown); err == nil {
		t.Error("unknown fields: encoded")
	}
	want, err := proto.Marshal(withUnknown)
	if err != nil || !bytes.Contains(want, []byte{0x98, 0x06, 0x07}) { // field 99 = 7
		t.Fatalf("proto.Marshal dropped the unknown field: %x, %v", want, err)
	}
	got, err := Marshal(withUnknown)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("unknown fields: Marshal gave %x, %v; want %x", got, err, want)
	}
}
