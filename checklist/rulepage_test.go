package checklist

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/rules from the code")

// TestRulePagesUpToDate keeps docs/rules/ equal to what `explain` prints:
// every rule has its page, and no page outlives its rule.
func TestRulePagesUpToDate(t *testing.T) {
	dir := filepath.Join("..", "docs", "rules")
	want := map[string]string{}
	for _, r := range analyzer.Rules() {
		want[r.ID+".md"] = RulePage(r)
	}
	if *update {
		for name, page := range want {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var stray []string
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		if _, ok := want[e.Name()]; !ok {
			stray = append(stray, e.Name())
		}
	}
	if len(stray) > 0 {
		t.Errorf("docs/rules has pages of no rule: %s", strings.Join(stray, ", "))
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("rule page missing: %v (run go test ./checklist -update)", err)
			continue
		}
		if string(got) != want[name] {
			t.Errorf("docs/rules/%s is out of date (run go test ./checklist -update)", name)
		}
	}
}

func TestRulePageMentionsEverything(t *testing.T) {
	for _, r := range analyzer.Rules() {
		page := RulePage(r)
		for _, part := range []string{r.ID, r.Why, r.Example, r.Safe, string(r.Severity)} {
			if part == "" {
				t.Errorf("rule %s has an empty field", r.ID)
			}
			if !strings.Contains(page, part) {
				t.Errorf("page of %s lacks %q", r.ID, part)
			}
		}
		if when := r.WhenNoSafeSQL(); when != "" && !strings.Contains(page, "## When no safe SQL is printed\n\n"+when) {
			t.Errorf("page of %s lacks when no safe SQL is printed", r.ID)
		}
	}
}

// TestRulesOverviewListsEveryRule keeps docs/rules.md, the comparison with
// other linters, complete.
func TestRulesOverviewListsEveryRule(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "rules.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range analyzer.Rules() {
		if !strings.Contains(string(b), "["+r.ID+"](rules/"+r.ID+".md)") {
			t.Errorf("docs/rules.md does not list %s", r.ID)
		}
	}
}
