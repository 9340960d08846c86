package checklist

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer"
)

// fillReport sets every exported field of v, however deep, from seed:
// strings with every character class encoding/json escapes (and empty
// ones), severities and questions known and unknown, lists nil, empty or
// filled, pointers nil or set. Unexported fields are the analyzer's own and
// stay zero.
func fillReport(v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.String:
		if v.Type() == reflect.TypeOf(analyzer.Severity("")) {
			v.SetString([]string{"danger", "warning", "info", "", "unknown"}[seed%5])
			return
		}
		v.SetString([]string{
			"plain", "quote \" backslash \\ slash / <html> & 'x'",
			"tab\tnl\ncr\rbs\bff\f nul\x00 esc\x1b del\x7f",
			"é 日本 \u2028 \u2029 invalid \xff\xfe end", "",
		}[seed%5])
	case reflect.Int, reflect.Int64:
		if v.Type() == reflect.TypeOf(analyzer.Question(0)) {
			v.SetInt(int64(seed % 8)) // 0 and 7 answer no question
			return
		}
		v.SetInt(int64(seed*7 - 3))
	case reflect.Bool:
		v.SetBool(seed%2 == 1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillReport(v.Field(i), seed+i)
			}
		}
	case reflect.Pointer:
		if seed%3 == 0 {
			return // nil
		}
		p := reflect.New(v.Type().Elem())
		fillReport(p.Elem(), seed+1)
		v.Set(p)
	case reflect.Slice:
		if seed%4 == 3 {
			return // nil
		}
		n := seed % 4 // 0: empty (not nil), 1 or 2 elements
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fillReport(s.Index(i), seed+i+1)
		}
		v.Set(s)
	default:
		panic("fillReport: unexpected kind " + v.Kind().String())
	}
}

// filledReports are reports with every field of the JSON set in turn, and
// the zero report.
func filledReports() []*analyzer.Report {
	out := []*analyzer.Report{{}}
	for seed := 0; seed < 40; seed++ {
		r := &analyzer.Report{}
		fillReport(reflect.ValueOf(r).Elem(), seed)
		out = append(out, r)
	}
	return out
}

// TestWriteReportMatchesDocument: WriteJSON, which writes from the report
// itself, gives the bytes encoding/json gives for the document NewDocument
// builds, on reports with every field set, nil and empty lists, and
// suppressed findings, and on the bundled example's report.
func TestWriteReportMatchesDocument(t *testing.T) {
	reports := append(filledReports(), shopReport(t))
	for i, r := range reports {
		doc := NewDocument(r, "test \"v\"")
		want := encoderJSON(t, &doc)
		var got bytes.Buffer
		if err := WriteJSON(&got, r, "test \"v\""); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got.Bytes()) {
			t.Fatalf("report %d: WriteJSON differs from the document's encoding: %s", i, firstDifference(got.String(), string(want)))
		}
	}
}

// summarizeAll is Summarize as it was written over AllFindings, one pass
// per question: the reference the one-pass Summarize is held to.
func summarizeAll(r *analyzer.Report) []QuestionResult {
	out := make([]QuestionResult, 0, len(analyzer.Questions))
	all := r.AllFindings()
	for _, q := range analyzer.Questions {
		res := QuestionResult{Question: int(q), Title: q.Short()}
		for _, l := range all {
			f := l.Finding
			if !answers(f, q) || (f.Suppressed != nil && !f.RequiresApproval) {
				continue
			}
			res.Count++
			if f.Severity.Rank() > analyzer.Severity(res.Worst).Rank() {
				res.Worst = string(f.Severity)
			}
			if f.RequiresApproval {
				res.RequiresApproval++
			}
		}
		out = append(out, res)
	}
	return out
}

// TestSummarizeAndApprovalMatchAllFindings: Summarize and
// Report.RequiresApproval, which read the findings where they are, agree
// with the same questions asked of AllFindings's list.
func TestSummarizeAndApprovalMatchAllFindings(t *testing.T) {
	reports := append(filledReports(), shopReport(t))
	approvals := 0
	for i, r := range reports {
		if got, want := Summarize(r), summarizeAll(r); !reflect.DeepEqual(got, want) {
			t.Fatalf("report %d: Summarize\n got  %+v\n want %+v", i, got, want)
		}
		want := false
		for _, l := range r.AllFindings() {
			want = want || l.Finding.RequiresApproval
		}
		if got := r.RequiresApproval(); got != want {
			t.Fatalf("report %d: RequiresApproval %v, want %v", i, got, want)
		}
		if want {
			approvals++
		}
	}
	// Both answers occur, or the comparison proves little.
	if approvals == 0 || approvals == len(reports) {
		t.Fatalf("%d of %d reports require approval", approvals, len(reports))
	}
}
