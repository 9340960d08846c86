package sqlscript

import (
	"reflect"
	"testing"

	"github.com/migration-guard/migration-guard/internal/repotext"
)

// TestDecodeSharedIsDecode holds DecodeShared to Decode: the same text,
// encoding, offset and error for every repository .sql file and for the
// table's files of each kind Decode tells apart (BOM, UTF-16, NUL, invalid
// UTF-8, too large). It then writes over the bytes: Decode's text, a copy,
// must not change, and DecodeShared's, read in the bytes, must (for a
// UTF-8 file), which fails when either stops doing what its comment says.
func TestDecodeSharedIsDecode(t *testing.T) {
	files := []string{
		"", "SELECT 1;\n", "\xEF\xBB\xBFSELECT 1;", "\xEF\xBB\xBF",
		"\xFF\xFES\x00E\x00L\x00;\x00", "\xFE\xFF\x00S\x00;", "\xFF\xFE\x00",
		"SELECT\x00 1;", "SELECT 'caf\xC3\xA9';", "SELECT '\xC3';\n", "\xEF\xBB\xBF\xFF",
		"SELECT 1;\n-- \xE2\x82\xAC\n", "0123456789",
	}
	for _, f := range repotext.SQL(t) {
		files = append(files, f.Text)
	}
	for i, text := range files {
		for _, lim := range []int{0, 5} {
			want, wantErr := Decode([]byte(text), lim)
			raw := []byte(text)
			got, gotErr := DecodeShared(raw, lim)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
				t.Fatalf("file %d, max %d: DecodeShared gives %+v, %+v; Decode %+v, %+v", i, lim, got, gotErr, want, wantErr)
			}
			if got == nil || got.Encoding == "utf-16le" || got.Encoding == "utf-16be" || got.Text == "" {
				continue
			}
			own, _ := Decode(raw, lim)
			before := own.Text
			for j := range raw {
				raw[j] ^= 0x55
			}
			if own.Text != before {
				t.Fatalf("file %d: Decode's text changed with the bytes", i)
			}
			if got.Text == want.Text {
				t.Fatalf("file %d: DecodeShared's text did not change with the bytes: it is a copy", i)
			}
		}
	}
}
