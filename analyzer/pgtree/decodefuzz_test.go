package pgtree

import (
	"bytes"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
	"google.golang.org/protobuf/proto"
)

// FuzzDecodeSQL: for any text the parser accepts, the generated decoder
// and proto.Unmarshal read the same tree from its bytes, and the same
// tokens from the scanner's; the generated encoder writes the tree as
// proto.Marshal does, and the generated copy equals it.
func FuzzDecodeSQL(f *testing.F) {
	for _, s := range statements {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		if b, err := parser.ParseToProtobuf(sql); err == nil {
			tree := &pg_query.ParseResult{}
			same(t, b, &pg_query.ParseResult{}, tree)
			// The generated encoder writes the tree back as
			// proto.Marshal does.
			if want, err := proto.Marshal(tree); err == nil {
				if got, _, err := marshal(nil, tree); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("encoded tree differs from proto.Marshal's (%v)", err)
				}
			}
			if !proto.Equal(Clone(tree), tree) {
				t.Fatal("the copy of the tree differs from it")
			}
		}
		if b, err := parser.ScanToProtobuf(sql); err == nil {
			same(t, b, &pg_query.ScanResult{}, &pg_query.ScanResult{})
		}
	})
}

// FuzzDecodeBytes: arbitrary bytes never make the decoder panic, and
// whatever it accepts proto.Unmarshal accepts as the same message.
func FuzzDecodeBytes(f *testing.F) {
	for _, s := range statements[:40] {
		b, err := parser.ParseToProtobuf(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := &pg_query.ParseResult{}
		if decodeParseResult(b, got, 0) != nil {
			return
		}
		want := &pg_query.ParseResult{}
		if err := proto.Unmarshal(b, want); err != nil {
			t.Fatalf("decoded bytes proto.Unmarshal rejects: %v", err)
		}
		if !proto.Equal(got, want) {
			t.Fatal("decoded tree differs from proto.Unmarshal's")
		}
	})
}

// same requires the generated decoder and proto.Unmarshal to agree on b.
func same[M proto.Message](t *testing.T, b []byte, got, want M) {
	t.Helper()
	if err := proto.Unmarshal(b, want); err != nil {
		// protobuf-go refuses it (invalid UTF-8, nesting): the decoder
		// must not accept it either.
		if _, derr := unmarshal(b, got); derr == nil {
			t.Fatalf("decoder accepted what proto.Unmarshal refuses: %v", err)
		}
		return
	}
	if _, err := unmarshal(b, got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !proto.Equal(got, want) {
		t.Fatal("decoded message differs from proto.Unmarshal's")
	}
}
