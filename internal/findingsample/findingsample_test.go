package findingsample

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuotas(t *testing.T) {
	tests := []struct {
		name   string
		counts map[string]int
		n      int
		want   map[string]int
	}{
		{"one each, the rest by share", map[string]int{"a": 90, "b": 9, "c": 1}, 10, map[string]int{"a": 8, "b": 1, "c": 1}},
		{"a rule never gets more than it has", map[string]int{"a": 2, "b": 2}, 10, map[string]int{"a": 2, "b": 2}},
		{"more rules than places: the largest first", map[string]int{"a": 5, "b": 7, "c": 1}, 2, map[string]int{"b": 1, "a": 1}},
		{"largest remainders", map[string]int{"a": 50, "b": 30, "c": 20}, 6, map[string]int{"a": 3, "b": 2, "c": 1}},
		{"nothing to draw", map[string]int{}, 5, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Quotas(tt.counts, tt.n)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Quotas(%v, %d) = %v, want %v", tt.counts, tt.n, got, tt.want)
			}
		})
	}
}

func findings(rule, severity string, n int) []Finding {
	var out []Finding
	for i := range n {
		out = append(out, Finding{Corpus: "c", Path: "m.sql", Line: i + 1, Rule: rule, Severity: severity, Message: fmt.Sprint(rule, i)})
	}
	return out
}

func TestSampleIsSeededAndStratified(t *testing.T) {
	var all []Finding
	all = append(all, findings("drop-table", "danger", 100)...)
	all = append(all, findings("rename-column", "warning", 3)...)
	all = append(all, findings("serial-column", "info", 40)...)
	s1 := Sample(all, 10, "x", "danger", "warning")
	s2 := Sample(all, 10, "x", "danger", "warning")
	if fmt.Sprint(s1) != fmt.Sprint(s2) {
		t.Fatal("the same seed drew different samples")
	}
	rules := map[string]int{}
	for _, f := range s1 {
		rules[f.Rule]++
	}
	if len(s1) != 10 || rules["rename-column"] == 0 || rules["serial-column"] != 0 {
		t.Errorf("sample by rule %v (%d findings): want 10, rename-column drawn, no info finding", rules, len(s1))
	}
	s3 := Sample(all, 10, "y", "danger", "warning")
	if fmt.Sprint(s1) == fmt.Sprint(s3) {
		t.Error("another seed drew the same sample")
	}
	// A finding whose message changed between two runs is drawn in both.
	changed := append([]Finding(nil), all...)
	for i := range changed {
		changed[i].Message += " (reworded)"
	}
	s4 := Sample(changed, 10, "x", "danger", "warning")
	for i := range s1 {
		if s1[i].Where() != s4[i].Where() {
			t.Fatalf("rewording messages changed the draw: %s vs %s", s1[i].Where(), s4[i].Where())
		}
	}
}

func TestLoadAndWrite(t *testing.T) {
	dir := t.TempDir()
	doc := `{"files":[{"path":"m/1.sql","findings":[{"rule":"missing-down","severity":"warning","message":"no down","line":1}],
	"statements":[{"path":"m/1.sql","sql":"DROP TABLE a | b;\nSELECT 1","findings":[
	{"rule":"drop-table","severity":"danger","message":"Drops <a>","safe_alternative":"x","line":3,"column":1},
	{"rule":"drop-table","severity":"danger","message":"quiet","line":4,"suppressed":true}]}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "proj.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proj.sqlfiles.json"), []byte(`["m/1.sql"]`), 0o644); err != nil {
		t.Fatal(err)
	}
	all, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[1].Where() != "proj:m/1.sql:3" || all[0].Statement != "" {
		t.Fatalf("loaded %+v", all)
	}
	var b strings.Builder
	if err := WriteSample(&b, Sample(all, 5, "s", "danger"), 16); err != nil {
		t.Fatal(err)
	}
	if want := `| 1 | drop-table | danger | proj:m/1.sql:3 | DROP TABLE a \| b … (10 more characters) | Drops &lt;a&gt; | x |  |  |`; !strings.Contains(b.String(), want) {
		t.Errorf("sample table:\n%s\nwant a row %s", b.String(), want)
	}
	b.Reset()
	if err := WriteCounts(&b, "before", map[string]Count{"drop-table": {Danger: 2}}, "after", Counts(all)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| drop-table | 2/0/0 | 1/0/0 | -1 danger |", "| missing-down | 0/0/0 | 0/1/0 | +1 warning |", "| **total** | 2/0/0 | 1/1/0 | -1 danger, +1 warning |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("counts table:\n%s\nwant a row %s", b.String(), want)
		}
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("an empty folder loaded without error")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a broken JSON file: err %v, want one naming bad.json", err)
	}
}

func TestWriteOneRunsCounts(t *testing.T) {
	var b strings.Builder
	if err := WriteCounts(&b, "", nil, "after", map[string]Count{"b": {Warning: 2}, "a": {Danger: 1, Info: 3}}); err != nil {
		t.Fatal(err)
	}
	want := "| rule | after (danger/warning/info) |\n|---|---|\n| a | 1/0/3 |\n| b | 0/2/0 |\n| **total** | 1/2/3 |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
