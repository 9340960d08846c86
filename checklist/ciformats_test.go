package checklist

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migration-guard/migration-guard/analyzer"
)

func TestGoldenCIFormats(t *testing.T) {
	rep := shopReport(t)
	var gl, gh bytes.Buffer
	if err := WriteGitLab(&gl, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "shop.gitlab.json", gl.Bytes())
	validateGitLab(t, gl.Bytes(), len(rep.AllFindings()))
	if err := WriteGitHubActions(&gh, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "shop.github.txt", gh.Bytes())
	validateWorkflowCommands(t, gh.String(), len(rep.AllFindings()))
}

// validateGitLab checks a report against what GitLab's code quality schema
// requires of every issue (docs.gitlab.com/ci/testing/code_quality, "Code
// Quality report format"; the schema is written here because tests run
// without a network): description, check_name, fingerprint, severity from
// its enum, location.path and location.lines.begin.
func validateGitLab(t *testing.T, data []byte, want int) {
	t.Helper()
	var issues []map[string]any
	if err := json.Unmarshal(data, &issues); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	if len(issues) != want {
		t.Errorf("%d issues, want %d", len(issues), want)
	}
	severities := map[string]bool{"info": true, "minor": true, "major": true, "critical": true, "blocker": true}
	fingerprints := map[string]bool{}
	for i, is := range issues {
		for _, field := range []string{"description", "check_name", "fingerprint", "severity"} {
			if s, ok := is[field].(string); !ok || s == "" {
				t.Errorf("issue %d: %s is not a non-empty string: %v", i, field, is[field])
			}
		}
		if sev, _ := is["severity"].(string); !severities[sev] {
			t.Errorf("issue %d: severity %q is not in GitLab's enum", i, sev)
		}
		fp, _ := is["fingerprint"].(string)
		if fingerprints[fp] {
			t.Errorf("issue %d: fingerprint %s repeated", i, fp)
		}
		fingerprints[fp] = true
		loc, ok := is["location"].(map[string]any)
		if !ok {
			t.Fatalf("issue %d: no location", i)
		}
		if p, _ := loc["path"].(string); p == "" || strings.HasPrefix(p, "/") {
			t.Errorf("issue %d: location.path %q must be relative to the repository", i, p)
		}
		lines, ok := loc["lines"].(map[string]any)
		if !ok {
			t.Fatalf("issue %d: no location.lines", i)
		}
		if b, ok := lines["begin"].(float64); !ok || b < 1 || b != float64(int(b)) {
			t.Errorf("issue %d: location.lines.begin %v is not a positive integer", i, lines["begin"])
		}
	}
}

// validateWorkflowCommands checks each line is a well-formed command whose
// properties hold no unescaped separator.
func validateWorkflowCommands(t *testing.T, out string, want int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	n := 0
	for _, line := range lines {
		if !strings.HasPrefix(line, "::") {
			continue
		}
		n++
		cmd, rest, ok := strings.Cut(line[2:], " ")
		if !ok || (cmd != "error" && cmd != "warning" && cmd != "notice") {
			t.Errorf("command %q", line)
			continue
		}
		props, _, ok := strings.Cut(rest, "::")
		if !ok {
			t.Errorf("no message: %q", line)
			continue
		}
		seen := map[string]bool{}
		for _, p := range strings.Split(props, ",") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || v == "" || strings.ContainsAny(v, ":\r\n") {
				t.Errorf("property %q of %q", p, line)
			}
			seen[k] = true
		}
		for _, k := range []string{"file", "line", "col", "title"} {
			if !seen[k] {
				t.Errorf("%q lacks %s", line, k)
			}
		}
	}
	if n != want {
		t.Errorf("%d commands, want %d", n, want)
	}
}

func TestWorkflowCommandEscaping(t *testing.T) {
	for _, tc := range []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"x: y, z", "x: y, z", "x%3A y%2C z"},
		{"%0A", "%250A", "%250A"}, // a literal escape is not unescaped by the runner
	} {
		if got := escapeData(tc.in); got != tc.data {
			t.Errorf("escapeData(%q) = %q, want %q", tc.in, got, tc.data)
		}
		if got := escapeProperty(tc.in); got != tc.prop {
			t.Errorf("escapeProperty(%q) = %q, want %q", tc.in, got, tc.prop)
		}
	}
}

// TestCIFormatsHostileNames: a file name or a message carrying separators
// or a newline cannot forge a second command or a property.
func TestCIFormatsHostileNames(t *testing.T) {
	name := "db/migrations/00001_a,title=x::y.sql"
	head := fstest.MapFS{name: {Data: []byte("-- +goose Up\nDROP TABLE \"a\n::error file=forged.sql::x\";\n-- +goose Down\nSELECT 1;\n")}}
	rep, err := analyzer.Analyze(context.Background(), analyzer.Request{Head: head, Config: analyzer.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.AllFindings()) == 0 {
		t.Fatal("no findings to show")
	}
	var gh bytes.Buffer
	if err := WriteGitHubActions(&gh, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(gh.String(), "\n::error file=forged") {
		t.Errorf("a name became a command:\n%s", gh.String())
	}
	validateWorkflowCommands(t, gh.String(), len(rep.AllFindings()))
	var gl bytes.Buffer
	if err := WriteGitLab(&gl, rep); err != nil {
		t.Fatal(err)
	}
	validateGitLab(t, gl.Bytes(), len(rep.AllFindings()))
}

func TestGitLabEmptyReportIsAnArray(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteGitLab(&buf, &analyzer.Report{}); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Errorf("got %q: GitLab wants an array, even empty", buf.String())
	}
}
