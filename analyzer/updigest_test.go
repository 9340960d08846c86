package analyzer

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
	"github.com/migration-guard/migration-guard/internal/repotext"
)

// upDigestJoined is upDigest as it was first written, a string per item
// hashed write by write: the bytes approvals are bound to.
func upDigestJoined(parts []digestPart) string {
	h := sha256.New()
	h.Write([]byte("migration-guard up part v1\n"))
	for _, p := range parts {
		h.Write([]byte("part\x00" + string(p.part.Tx)))
		if p.part.TxAcrossRun {
			h.Write([]byte("\x00across-run"))
		}
		if p.part.Mixed {
			h.Write([]byte("\x00mixed"))
		}
		h.Write([]byte("\n"))
		type item struct {
			at   int
			text string
		}
		var items []item
		for i := range p.script.Statements {
			st := &p.script.Statements[i]
			items = append(items, item{st.Start, "sql\x00" + sqlscript.NormalizeStatement(st)})
		}
		for _, mc := range p.script.MetaCommands {
			items = append(items, item{mc.Start, "psql\x00" + strings.Join(strings.Fields(mc.Text), " ")})
		}
		sort.SliceStable(items, func(i, j int) bool { return items[i].at < items[j].at })
		for _, it := range items {
			h.Write([]byte(it.text + "\n"))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// digestTexts is every text the digest is compared on: the repository's
// .sql files and parts that mix psql meta-commands, syntax errors and
// case folding beyond ASCII.
func digestTexts(t testing.TB) []string {
	return append(repotext.Texts(t),
		"\\set ON_ERROR_STOP on\nCREATE TABLE Ärger (ÉtÉ INT);\n\\echo   done  now\nSELECT 1 \\gset\nDROP TABLE \"Ärger\";",
		"CREATE TABLE a (id int;\nCREATE TABLE b (id INT);\nSELEC 1;",
		"SELECT 'unterminated",
		"",
	)
}

// TestUpDigestKeepsItsBytes: for every text as one part and for runs of
// texts as several parts, under every transaction mode and flag, upDigest
// gives what upDigestJoined gives.
func TestUpDigestKeepsItsBytes(t *testing.T) {
	texts := digestTexts(t)
	modes := []layout.TxMode{layout.TxWrapped, layout.TxNone, layout.TxImplicit, layout.TxAutoNonTx}
	var all []digestPart
	for i, text := range texts {
		p := digestPart{
			part:   layout.Part{End: len(text), Tx: modes[i%len(modes)], TxAcrossRun: i%3 == 1, Mixed: i%5 == 2},
			script: sqlscript.Split(text, 0, len(text)),
		}
		all = append(all, p)
		one := []digestPart{p}
		if got, want := upDigest(one), upDigestJoined(one); got != want {
			t.Errorf("text %d (%.40q): digest %s, want %s", i, text, got, want)
		}
	}
	for n := 2; n <= len(all); n *= 2 {
		for i := 0; i+n <= len(all); i += n {
			if got, want := upDigest(all[i:i+n]), upDigestJoined(all[i:i+n]); got != want {
				t.Errorf("parts %d to %d: digest %s, want %s", i, i+n, got, want)
			}
		}
	}
	if got, want := upDigest(nil), upDigestJoined(nil); got != want {
		t.Errorf("no part: digest %s, want %s", got, want)
	}
}

// BenchmarkUpDigest: the digest of every .sql file of the repository as
// one part each, against the former way (a string per statement).
func BenchmarkUpDigest(b *testing.B) {
	var parts [][]digestPart
	for _, text := range repotext.Texts(b) {
		parts = append(parts, []digestPart{{part: layout.Part{End: len(text), Tx: layout.TxWrapped}, script: sqlscript.Split(text, 0, len(text))}})
	}
	for _, c := range []struct {
		name   string
		digest func([]digestPart) string
	}{{"buffer", upDigest}, {"joined", upDigestJoined}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range parts {
					c.digest(p)
				}
			}
		})
	}
}
