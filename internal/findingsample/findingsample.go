// Package findingsample draws a deterministic sample of the findings of a
// corpus run (scripts/corpus.sh's JSON outputs) for judgment by hand, and
// counts findings per rule for two runs side by side.
//
// The sample is stratified by rule, so that a rule with a handful of findings
// is judged as well as one with thousands, and seeded: each finding's place
// in its rule's draw is a hash of the seed and of where the finding is (corpus
// folder, file, line, column, rule), not of its message, so that two runs
// before and after a change draw the same findings where both still make them.
package findingsample

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Finding is one finding of a corpus run, with what a judge needs to see.
type Finding struct {
	Corpus    string // the corpus entry (the JSON file's name)
	Path      string
	Line      int
	Column    int
	Rule      string
	Severity  string
	Message   string
	Statement string // "" for a finding about a whole file
	SafeWay   string
}

// Where is the finding's place, "corpus:path:line".
func (f Finding) Where() string { return fmt.Sprintf("%s:%s:%d", f.Corpus, f.Path, f.Line) }

// document is the part of `check --format json` read here.
type document struct {
	Files []struct {
		Path       string        `json:"path"`
		Findings   []jsonFinding `json:"findings"`
		Statements []struct {
			Path     string        `json:"path"`
			SQL      string        `json:"sql"`
			Findings []jsonFinding `json:"findings"`
		} `json:"statements"`
	} `json:"files"`
}

type jsonFinding struct {
	Rule       string `json:"rule"`
	Severity   string `json:"severity"`
	Message    string `json:"message"`
	Safe       string `json:"safe_alternative"`
	Line       int    `json:"line"`
	Column     int    `json:"column"`
	Suppressed bool   `json:"suppressed"`
}

// Load reads every <name>.json of a corpus output folder. Suppressed
// findings are left out, as the corpus summary leaves them out. A JSON file
// that does not read is an error that names it: a run with a hole is not
// the run.
func Load(dir string) ([]Finding, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []Finding
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		if strings.HasSuffix(name, ".sqlfiles") {
			continue // corpus.sh's list of a folder's .sql files
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		var doc document
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("reading %s as check --format json: %w", p, err)
		}
		for _, f := range doc.Files {
			for _, jf := range f.Findings {
				if !jf.Suppressed {
					out = append(out, jf.finding(name, f.Path, ""))
				}
			}
			for _, s := range f.Statements {
				for _, jf := range s.Findings {
					if !jf.Suppressed {
						out = append(out, jf.finding(name, s.Path, s.SQL))
					}
				}
			}
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no <name>.json in %s: not a corpus output folder", dir)
	}
	return out, nil
}

func (jf jsonFinding) finding(corpus, path, sql string) Finding {
	return Finding{Corpus: corpus, Path: path, Line: jf.Line, Column: jf.Column, Rule: jf.Rule, Severity: jf.Severity,
		Message: jf.Message, Statement: sql, SafeWay: jf.Safe}
}

// key orders a finding in its rule's draw.
func key(seed string, f Finding) uint64 {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d\x00%d\x00%s", seed, f.Corpus, f.Path, f.Line, f.Column, f.Rule))
	return binary.BigEndian.Uint64(h[:8])
}

// Quotas shares n places among the rules: every rule gets one while there
// are places for all of them (the rules with the most findings first
// otherwise), and each further place goes to the rule with the most findings
// per place it would then have (D'Hondt's highest averages), never more
// places than a rule has findings.
func Quotas(counts map[string]int, n int) map[string]int {
	rules := make([]string, 0, len(counts))
	for r, c := range counts {
		if c > 0 {
			rules = append(rules, r)
		}
	}
	// Most findings first, then by name: the order every tie is broken in.
	sort.Slice(rules, func(i, j int) bool {
		if counts[rules[i]] != counts[rules[j]] {
			return counts[rules[i]] > counts[rules[j]]
		}
		return rules[i] < rules[j]
	})
	q := map[string]int{}
	left := n
	for _, r := range rules {
		if left == 0 {
			break
		}
		q[r] = 1
		left--
	}
	for ; left > 0; left-- {
		best := ""
		for _, r := range rules {
			if q[r] == counts[r] {
				continue
			}
			// counts[r]/(q[r]+1) > counts[best]/(q[best]+1), without division.
			if best == "" || counts[r]*(q[best]+1) > counts[best]*(q[r]+1) {
				best = r
			}
		}
		if best == "" {
			break // every finding is drawn
		}
		q[best]++
	}
	return q
}

// Sample draws n findings of the given severities, stratified by rule
// (Quotas), each rule's share taken in the order of the seeded hash. The
// result is ordered by rule, then by that hash.
func Sample(all []Finding, n int, seed string, severities ...string) []Finding {
	byRule := map[string][]Finding{}
	for _, f := range all {
		if slices.Contains(severities, f.Severity) {
			byRule[f.Rule] = append(byRule[f.Rule], f)
		}
	}
	counts := map[string]int{}
	for r, fs := range byRule {
		counts[r] = len(fs)
		slices.SortFunc(fs, func(a, b Finding) int {
			return cmp.Or(cmp.Compare(key(seed, a), key(seed, b)), strings.Compare(a.Where(), b.Where()), strings.Compare(a.Message, b.Message))
		})
	}
	quotas := Quotas(counts, n)
	rules := make([]string, 0, len(quotas))
	for r := range quotas {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	var out []Finding
	for _, r := range rules {
		out = append(out, byRule[r][:quotas[r]]...)
	}
	return out
}

// Count is one rule's findings by severity.
type Count struct{ Danger, Warning, Info int }

// Counts counts findings per rule.
func Counts(all []Finding) map[string]Count {
	out := map[string]Count{}
	for _, f := range all {
		c := out[f.Rule]
		switch f.Severity {
		case "danger":
			c.Danger++
		case "warning":
			c.Warning++
		case "info":
			c.Info++
		}
		out[f.Rule] = c
	}
	return out
}

// WriteCounts writes a Markdown table of findings per rule for two runs side
// by side, "danger/warning/info" in each column, the rules that changed marked;
// for one run only when beforeName is "".
func WriteCounts(w io.Writer, beforeName string, before map[string]Count, afterName string, after map[string]Count) error {
	if beforeName == "" {
		return writeOneCount(w, afterName, after)
	}
	var rules []string
	for r := range before {
		rules = append(rules, r)
	}
	for r := range after {
		if _, ok := before[r]; !ok {
			rules = append(rules, r)
		}
	}
	sort.Strings(rules)
	var b strings.Builder
	fmt.Fprintf(&b, "| rule | %s (danger/warning/info) | %s (danger/warning/info) | change |\n|---|---|---|---|\n", cell(beforeName), cell(afterName))
	var tb, ta Count
	for _, r := range rules {
		x, y := before[r], after[r]
		tb = Count{tb.Danger + x.Danger, tb.Warning + x.Warning, tb.Info + x.Info}
		ta = Count{ta.Danger + y.Danger, ta.Warning + y.Warning, ta.Info + y.Info}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r, x, y, change(x, y))
	}
	fmt.Fprintf(&b, "| **total** | %s | %s | %s |\n", tb, ta, change(tb, ta))
	_, err := io.WriteString(w, b.String())
	return err
}

func writeOneCount(w io.Writer, name string, counts map[string]Count) error {
	rules := make([]string, 0, len(counts))
	for r := range counts {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	var b strings.Builder
	fmt.Fprintf(&b, "| rule | %s (danger/warning/info) |\n|---|---|\n", cell(name))
	var t Count
	for _, r := range rules {
		c := counts[r]
		t = Count{t.Danger + c.Danger, t.Warning + c.Warning, t.Info + c.Info}
		fmt.Fprintf(&b, "| %s | %s |\n", r, c)
	}
	fmt.Fprintf(&b, "| **total** | %s |\n", t)
	_, err := io.WriteString(w, b.String())
	return err
}

func (c Count) String() string { return fmt.Sprintf("%d/%d/%d", c.Danger, c.Warning, c.Info) }

func change(x, y Count) string {
	if x == y {
		return ""
	}
	var parts []string
	for _, d := range []struct {
		name string
		diff int
	}{{"danger", y.Danger - x.Danger}, {"warning", y.Warning - x.Warning}, {"info", y.Info - x.Info}} {
		if d.diff != 0 {
			parts = append(parts, fmt.Sprintf("%+d %s", d.diff, d.name))
		}
	}
	return strings.Join(parts, ", ")
}

// WriteSample writes the sample as a Markdown table with empty verdict and
// reason columns to fill in: true positive, correct but noisy, or wrong.
func WriteSample(w io.Writer, sample []Finding, maxChars int) error {
	var b strings.Builder
	b.WriteString("| # | rule | severity | where | statement | message | safe way | verdict | why |\n|---|---|---|---|---|---|---|---|---|\n")
	for i, f := range sample {
		stmt := f.Statement
		if stmt == "" {
			stmt = "(the whole file)"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s |  |  |\n", i+1, cell(f.Rule), cell(f.Severity), cell(f.Where()),
			cell(clip(stmt, maxChars)), cell(f.Message), cell(clip(f.SafeWay, maxChars)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clip shortens s to at most n characters, saying so.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if n <= 0 || len(r) <= n {
		return s
	}
	return string(r[:n]) + fmt.Sprintf(" … (%d more characters)", len(r)-n)
}

// cell makes text safe inside a Markdown table cell: HTML's special
// characters escaped, pipes escaped, line breaks as <br>.
func cell(s string) string {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", `\|`, "\r\n", "<br>", "\n", "<br>", "\t", " ").Replace(s)
	return s
}
