package layout

import (
	"io/fs"
	"os"
	"strings"
	"testing"
)

// scanSignalsByLine is scanSignals as it was written over eachLine: the
// reference that the byte-wise scan must agree with.
func scanSignalsByLine(content []byte) signals {
	var s signals
	eachLine(content, bomLen(content), func(l textLine) bool {
		t := strings.TrimSpace(l.text)
		if !strings.HasPrefix(t, "--") {
			return true
		}
		switch {
		case strings.Contains(t, "+goose"):
			s.goose++
		case strings.HasPrefix(t, "--> statement-breakpoint"):
			s.drizzle++
		default:
			c := strings.TrimLeft(t[2:], " \t")
			if strings.HasPrefix(c, "migrate:up") || strings.HasPrefix(c, "migrate:down") {
				s.dbmate++
			}
		}
		return true
	})
	return s
}

func TestScanSignals(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want signals
	}{
		{"", signals{}},
		{"-- +goose Up\nCREATE TABLE a ();\n-- +goose Down\n", signals{goose: 2}},
		{"\ufeff-- +goose Up\r\nSELECT 1;\r\n", signals{goose: 1}},
		{"   \t-- +goose StatementBegin", signals{goose: 1}},
		{"SELECT '-- +goose Up';\n", signals{}},
		{"--migrate:up\n--   migrate:down\n-- migrate:upx\n", signals{dbmate: 3}},
		{"-- \tmigrate:down\n-- no migrate:up\n", signals{dbmate: 1}},
		{"CREATE TABLE a ();\n--> statement-breakpoint\nCREATE TABLE b ();\n", signals{drizzle: 1}},
		{"\u00a0-- +goose Up\u00a0\n\u0085--> statement-breakpoint\n", signals{goose: 1, drizzle: 1}},
		{"-- +goose Up\n\n\n--\n-\n--migrate:up", signals{goose: 1, dbmate: 1}},
		{"\xff\xfe-- +goose Up\n\xc3-- migrate:up\n", signals{}},
	} {
		if got := scanSignals([]byte(tc.in)); got != tc.want {
			t.Errorf("scanSignals(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if got := scanSignalsByLine([]byte(tc.in)); got != tc.want {
			t.Errorf("reference(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	// Every SQL file of the test data, and the fuzz seeds' shapes.
	err := fs.WalkDir(os.DirFS("testdata"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(os.DirFS("testdata"), p)
		if err != nil {
			return err
		}
		if got, want := scanSignals(b), scanSignalsByLine(b); got != want {
			t.Errorf("%s: %+v, by line %+v", p, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
