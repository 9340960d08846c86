package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/migration-guard/migration-guard/analyzer"
)

// connect runs the server and a client of the SDK over an in-memory
// transport, as an agent's client would talk to it.
func connect(t *testing.T, opt Options) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	serverT, clientT := mcp.NewInMemoryTransports()
	ss, err := New(opt).Connect(ctx, serverT, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, clientT, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// call calls a tool and decodes its structured result into out; it returns
// whether the tool reported an error, and the error's text.
func call(t *testing.T, cs *mcp.ClientSession, name string, args any, out any) (bool, string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	if res.IsError {
		return true, text.String()
	}
	data, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, data)
	}
	return false, text.String()
}

func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, s := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var users = map[string]string{
	"db/migrations/00001_users.sql": "-- +goose Up\nCREATE TABLE users (id bigint PRIMARY KEY, email text, legacy text);\n-- +goose Down\nDROP TABLE users;\n",
}

func TestListTools(t *testing.T) {
	cs := connect(t, Options{Version: "test"})
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if tool.Description == "" || tool.Annotations == nil || !tool.Annotations.ReadOnlyHint {
			t.Errorf("tool %s: description and read-only hint wanted", tool.Name)
		}
	}
	if got := strings.Join(names, " "); got != "check_change check_sql explain_rule list_rules" {
		t.Errorf("tools: %s", got)
	}
}

func TestCheckSQL(t *testing.T) {
	dir := repo(t, users)
	cs := connect(t, Options{Version: "test"})
	var res Result
	if isErr, text := call(t, cs, "check_sql", map[string]any{
		"repository": dir, "path": "db/migrations/00002_drop.sql",
		"content": "-- +goose Up\nALTER TABLE users DROP COLUMN legacy;\n-- +goose Down\nALTER TABLE users ADD COLUMN legacy text;\n",
	}, &res); isErr {
		t.Fatal(text)
	}
	if !res.RequiresApproval || len(res.Findings) == 0 || res.Findings[0].Rule != "drop-column" || !res.Findings[0].RequiresApproval {
		t.Fatalf("drop: %+v", res)
	}
	f := res.Findings[0]
	if f.Question != 1 || f.Topic != "Drops" || f.Severity != "danger" || f.Path != "db/migrations/00002_drop.sql" || f.Line != 2 || f.SafeWay == "" || !strings.Contains(f.Message, "legacy") {
		t.Errorf("finding: %+v", f)
	}
	if len(res.Files) != 1 || !strings.Contains(res.Verdict, "need a human's approval") {
		t.Errorf("result: %+v", res)
	}
	// Nothing was written.
	if _, err := os.Stat(filepath.Join(dir, "db/migrations/00002_drop.sql")); !os.IsNotExist(err) {
		t.Errorf("the proposal was written: %v", err)
	}

	// A new table is safe.
	res = Result{}
	if isErr, text := call(t, cs, "check_sql", map[string]any{
		"repository": dir, "path": "db/migrations/00002_orders.sql",
		"content": "-- +goose Up\nCREATE TABLE orders (id bigint PRIMARY KEY);\n-- +goose Down\nDROP TABLE orders;\n",
	}, &res); isErr {
		t.Fatal(text)
	}
	if res.RequiresApproval || len(res.Files) != 1 {
		t.Errorf("create table: %+v", res)
	}
	for _, f := range res.Findings {
		if f.RequiresApproval {
			t.Errorf("create table: %+v", f)
		}
	}

	// The repository's schema is what the proposal meets: a column that
	// is not there is not a drop of data, and a missing table is said.
	res = Result{}
	call(t, cs, "check_sql", map[string]any{"repository": dir, "path": "db/migrations/00002_x.sql",
		"content": "-- +goose Up\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n-- +goose Down\nSELECT 1;\n"}, &res)
	if !res.RequiresApproval {
		t.Errorf("SET NOT NULL on an existing column: %+v", res)
	}
}

func TestCheckSQLConfiguration(t *testing.T) {
	dir := repo(t, map[string]string{
		".github/migration-guard.yml":   "migrations:\n  - path: sql\n    layout: plain\n",
		"sql/001_users.sql":             "CREATE TABLE users (id bigint PRIMARY KEY, legacy text);\n",
		"db/migrations/00001_users.sql": users["db/migrations/00001_users.sql"],
	})
	cs := connect(t, Options{Version: "test"})
	var res Result
	if isErr, text := call(t, cs, "check_sql", map[string]any{"repository": dir, "path": "sql/002_drop.sql", "content": "ALTER TABLE users DROP COLUMN legacy;\n"}, &res); isErr {
		t.Fatal(text)
	}
	if !res.RequiresApproval || res.Findings[0].Rule != "drop-column" {
		t.Errorf("configured folder: %+v", res)
	}
	bad := repo(t, map[string]string{".github/migration-guard.yml": "no_such_key: 1\n"})
	if isErr, text := call(t, cs, "check_sql", map[string]any{"repository": bad, "path": "a.sql", "content": "SELECT 1;"}, &res); !isErr || !strings.Contains(text, "migration-guard.yml") {
		t.Errorf("a configuration that does not parse must fail: %v %s", isErr, text)
	}
}

func TestToolErrors(t *testing.T) {
	dir := repo(t, users)
	cs := connect(t, Options{Version: "test"})
	var res Result
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"check_sql", map[string]any{"repository": filepath.Join(dir, "nowhere"), "path": "a.sql", "content": "SELECT 1;"}, "nowhere"},
		{"check_sql", map[string]any{"repository": filepath.Join(dir, "db/migrations/00001_users.sql"), "path": "a.sql", "content": "SELECT 1;"}, "not a folder"},
		{"check_sql", map[string]any{"repository": dir, "path": "../outside.sql", "content": "SELECT 1;"}, "inside the repository"},
		{"check_sql", map[string]any{"repository": dir, "path": "/etc/x.sql", "content": "SELECT 1;"}, "relative"},
		{"check_sql", map[string]any{"repository": dir, "content": "SELECT 1;"}, "path"},
		{"check_change", map[string]any{"repository": dir, "base": "main"}, "not available"},
		{"explain_rule", map[string]any{"rule": "no-such-rule"}, "drop-column"},
	} {
		isErr, text := call(t, cs, tc.tool, tc.args, &res)
		if !isErr || !strings.Contains(text, tc.want) {
			t.Errorf("%s %v: error %v %q, want one saying %q", tc.tool, tc.args, isErr, text, tc.want)
		}
	}
}

func TestCheckChange(t *testing.T) {
	// The git side belongs to the command; here a change is given as
	// file systems, and the tool must judge it and pass the arguments on.
	var gotRepo, gotBase string
	opt := Options{Version: "test", Change: func(_ context.Context, repo, base string) (analyzer.Request, error) {
		gotRepo, gotBase = repo, base
		if base == "nope" {
			return analyzer.Request{}, fmt.Errorf("unknown revision %s", base)
		}
		baseFS := fstest.MapFS{"db/migrations/00001_users.sql": {Data: []byte(users["db/migrations/00001_users.sql"])}}
		head := fstest.MapFS{
			"db/migrations/00001_users.sql": {Data: []byte(users["db/migrations/00001_users.sql"])},
			"db/migrations/00002_drop.sql":  {Data: []byte("-- +goose Up\nDROP TABLE users;\n-- +goose Down\nSELECT 1;\n")},
		}
		return analyzer.Request{Base: baseFS, Head: head, Changed: []string{"db/migrations/00002_drop.sql"}, Config: analyzer.DefaultConfig()}, nil
	}}
	cs := connect(t, opt)
	dir := t.TempDir()
	var res Result
	if isErr, text := call(t, cs, "check_change", map[string]any{"repository": dir, "base": "origin/main"}, &res); isErr {
		t.Fatal(text)
	}
	if gotRepo != dir || gotBase != "origin/main" {
		t.Errorf("Change got %q %q", gotRepo, gotBase)
	}
	if !res.RequiresApproval || res.Findings[0].Rule != "drop-table" || len(res.Files) != 1 {
		t.Errorf("result %+v", res)
	}
	if isErr, text := call(t, cs, "check_change", map[string]any{"repository": dir, "base": "nope"}, &res); !isErr || !strings.Contains(text, "unknown revision nope") {
		t.Errorf("a git error must reach the client: %v %s", isErr, text)
	}
	if isErr, _ := call(t, cs, "check_change", map[string]any{"repository": dir, "base": " "}, &res); !isErr {
		t.Error("an empty base must be refused")
	}
}

func TestRules(t *testing.T) {
	cs := connect(t, Options{Version: "test"})
	var list RuleList
	if isErr, text := call(t, cs, "list_rules", map[string]any{}, &list); isErr {
		t.Fatal(text)
	}
	if len(list.Rules) != len(analyzer.Rules()) || len(list.Rules) == 0 {
		t.Fatalf("%d rules, want %d", len(list.Rules), len(analyzer.Rules()))
	}
	var d RuleDetail
	if isErr, text := call(t, cs, "explain_rule", map[string]any{"rule": "drop-column"}, &d); isErr {
		t.Fatal(text)
	}
	want, _ := analyzer.RuleByID("drop-column")
	if d.ID != "drop-column" || d.Question != 1 || d.Why != want.Why || d.SafeWay != want.Safe || d.Severity != "danger" {
		t.Errorf("explain: %+v", d)
	}
}

// TestResultIsCapped: thousands of findings stay within the budget, what
// needs approval comes first, and the result says it was cut.
func TestResultIsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("-- +goose Up\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, "CREATE TABLE t%d (id int);\n", i)
	}
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, "DROP TABLE users_%d;\n", i)
	}
	b.WriteString("-- +goose Down\nSELECT 1;\n")
	files := map[string]string{"db/migrations/00001_users.sql": users["db/migrations/00001_users.sql"]}
	dir := repo(t, files)
	cs := connect(t, Options{Version: "test", MaxChars: 8000})
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "check_sql", Arguments: map[string]any{
		"repository": dir, "path": "db/migrations/00002_many.sql", "content": b.String()}})
	if err != nil || res.IsError {
		t.Fatalf("%v %+v", err, res)
	}
	data, _ := json.Marshal(res.StructuredContent)
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if len(data) > 8000+4000 {
		t.Errorf("%d bytes for a budget of 8000", len(data))
	}
	if !r.Truncated || r.TotalFindings < 500 || len(r.Findings) >= r.TotalFindings {
		t.Errorf("truncated %v, %d of %d", r.Truncated, len(r.Findings), r.TotalFindings)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), fmt.Sprintf("%d of %d findings are shown", len(r.Findings), r.TotalFindings)) {
		t.Errorf("notes %q", r.Notes)
	}
	for _, f := range r.Findings {
		if !f.RequiresApproval {
			t.Errorf("%s shown before what needs approval", f.Rule)
			break
		}
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
		cut  bool
	}{
		{"short", 10, "short", false},
		{"abcdef", 3, "abc … (cut)", true},
		{"ééé", 3, "é … (cut)", true}, // never half a character
	} {
		got, cut := clip(tc.in, tc.n)
		if got != tc.want || cut != tc.cut {
			t.Errorf("clip(%q, %d) = %q %v", tc.in, tc.n, got, cut)
		}
	}
}
