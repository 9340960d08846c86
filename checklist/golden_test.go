package checklist

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// shopReport analyzes the bundled example as `check examples/shop/db/migrations` does.
func shopReport(t *testing.T) *analyzer.Report {
	t.Helper()
	dir := filepath.Join("..", "examples", "shop", "db", "migrations")
	set, err := layout.Discover(os.DirFS(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range set.Migrations {
		set.Migrations[i].Path = "db/migrations/" + set.Migrations[i].Path
	}
	rep, err := analyzer.Analyze(context.Background(), analyzer.Request{Migrations: set.Migrations, Config: analyzer.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./checklist -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./checklist -update and review the diff):\n%s", name, firstDifference(string(got), string(want)))
	}
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d lines", len(g), len(w))
}

func TestGoldenOutputs(t *testing.T) {
	rep := shopReport(t)
	var text, js, sarif bytes.Buffer
	if err := WriteText(&text, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "shop.txt", text.Bytes())
	golden(t, "shop.md", []byte(Markdown(rep, MarkdownOptions{})))
	if err := WriteJSON(&js, rep, "test"); err != nil {
		t.Fatal(err)
	}
	golden(t, "shop.json", js.Bytes())
	if err := WriteSARIF(&sarif, rep, "test"); err != nil {
		t.Fatal(err)
	}
	golden(t, "shop.sarif", sarif.Bytes())

	var colored bytes.Buffer
	if err := WriteText(&colored, rep, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(colored.String(), "\x1b[1;31mdanger\x1b[0m") || strings.Contains(text.String(), "\x1b[") {
		t.Error("colour only when asked for")
	}
}

// TestSARIFShape checks what GitHub code scanning requires of an upload.
func TestSARIFShape(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, shopReport(t), "test"); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID   string `json:"id"`
						Help struct {
							Text string `json:"text"`
						} `json:"help"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine, StartColumn, EndLine, EndColumn int
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "migration-guard" {
		t.Fatalf("header: %+v", log)
	}
	run := log.Runs[0]
	if len(run.Results) == 0 {
		t.Fatal("no results")
	}
	for _, r := range run.Tool.Driver.Rules {
		if r.Help.Text == "" {
			t.Errorf("rule %s has no help text", r.ID)
		}
	}
	for _, res := range run.Results {
		if res.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s points at rule index %d", res.RuleID, res.RuleIndex)
		}
		if res.Level != "error" && res.Level != "warning" && res.Level != "note" {
			t.Errorf("level %q", res.Level)
		}
		loc := res.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI == "" || strings.HasPrefix(loc.ArtifactLocation.URI, "/") || loc.Region.StartLine < 1 || loc.Region.StartColumn < 1 {
			t.Errorf("location %+v", loc)
		}
		if res.Message.Text == "" {
			t.Error("empty message")
		}
	}
}

// TestMarkdownFitsInAComment builds a report with thousands of findings and
// checks that the Markdown stays under GitHub's limit and says what it left out.
func TestMarkdownFitsInAComment(t *testing.T) {
	var b strings.Builder
	b.WriteString("-- +goose Up\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&b, "DROP TABLE legacy_table_number_%d;\n", i)
	}
	b.WriteString("-- +goose Down\nSELECT 1;\n")
	head := fstest.MapFS{"db/migrations/00001_x.sql": {Data: []byte(b.String())}}
	rep, err := analyzer.Analyze(context.Background(), analyzer.Request{Head: head, Config: analyzer.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	md := Markdown(rep, MarkdownOptions{})
	if n := len([]rune(md)); n > GitHubCommentLimit-5000 {
		t.Errorf("%d characters, over the limit", n)
	}
	if !strings.Contains(md, fmt.Sprintf("of %d findings are shown", len(rep.AllFindings()))) || len(rep.AllFindings()) < 3000 {
		t.Error("no note about the findings left out")
	}
	if strings.Count(md, "<details") != strings.Count(md, "</details>") {
		t.Error("unbalanced <details>")
	}
	small := Markdown(rep, MarkdownOptions{MaxChars: 2000})
	if len(small) > 2000 || !strings.Contains(small, "| 1 | Drops") {
		t.Errorf("a small budget still holds the summary and stays under it: %d", len(small))
	}
}

func TestMarkdownEscapesNames(t *testing.T) {
	head := fstest.MapFS{"db/migrations/00001_x.sql": {Data: []byte("-- +goose Up\nDROP TABLE \"</details><img src=x>\";\n-- +goose Down\nSELECT 1;\n")}}
	rep, err := analyzer.Analyze(context.Background(), analyzer.Request{Head: head, Config: analyzer.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	// Inside a fenced code block GitHub shows HTML as text; outside, a name
	// from a migration must never become markup.
	outside := outsideCodeBlocks(Markdown(rep, MarkdownOptions{}))
	if strings.Contains(outside, "<img") || strings.Count(outside, "</details>") != 1 {
		t.Errorf("a name from a migration leaked into the Markdown as HTML:\n%s", outside)
	}
	if got := codeBlock("sql", "SELECT '```';"); !strings.HasPrefix(got, "````sql\n") {
		t.Errorf("fence too short: %q", got)
	}
}

func outsideCodeBlocks(md string) string {
	var out []string
	inside := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inside = !inside
			continue
		}
		if !inside {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
