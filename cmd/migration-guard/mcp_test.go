package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPEndToEnd runs `migration-guard mcp` as an agent's client does: the
// built binary over stdio, on a real git checkout.
func TestMCPEndToEnd(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{
		".github/migration-guard.yml":   "postgres_version: 15\n",
		"db/migrations/00001_users.sql": gooseRepo["db/migrations/00001_users.sql"],
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	writeFiles(t, dir, map[string]string{
		"db/migrations/00002_drop.sql": "-- +goose Up\nALTER TABLE users DROP COLUMN legacy;\n-- +goose Down\nALTER TABLE users ADD COLUMN legacy text;\n",
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.Command(binary, "mcp")
	cmd.Dir = dir
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if got := cs.InitializeResult().ServerInfo.Name; got != "migration-guard" {
		t.Errorf("server %q", got)
	}

	type result struct {
		RequiresApproval bool     `json:"requires_approval"`
		Files            []string `json:"files"`
		Findings         []struct {
			Rule             string `json:"rule"`
			RequiresApproval bool   `json:"requires_approval"`
		} `json:"findings"`
	}
	callTool := func(name string, args map[string]any) (result, bool, string) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		text := ""
		if len(res.Content) > 0 {
			if tc, ok := res.Content[0].(*mcp.TextContent); ok {
				text = tc.Text
			}
		}
		var r result
		if !res.IsError {
			data, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatal(err)
			}
		}
		return r, res.IsError, text
	}

	// The repository defaults to the server's working directory.
	r, isErr, text := callTool("check_change", map[string]any{"base": "main"})
	if isErr || !r.RequiresApproval || len(r.Files) != 1 || r.Files[0] != "db/migrations/00002_drop.sql" || r.Findings[0].Rule != "drop-column" {
		t.Errorf("check_change: %v %+v %s", isErr, r, text)
	}
	r, isErr, text = callTool("check_change", map[string]any{"repository": dir, "base": "HEAD~5"})
	if !isErr || !strings.Contains(text, "unknown revision") {
		t.Errorf("unknown base: %v %s", isErr, text)
	}
	r, isErr, text = callTool("check_change", map[string]any{"repository": dir, "base": "--output=/tmp/x"})
	if !isErr || !strings.Contains(text, "invalid ref") {
		t.Errorf("an option as a ref: %v %s", isErr, text)
	}
	r, isErr, text = callTool("check_sql", map[string]any{"path": "db/migrations/00002_orders.sql",
		"content": "-- +goose Up\nCREATE TABLE orders (id bigint PRIMARY KEY);\n-- +goose Down\nDROP TABLE orders;\n"})
	if isErr || r.RequiresApproval || len(r.Files) != 1 {
		t.Errorf("check_sql: %v %+v %s", isErr, r, text)
	}
	if _, isErr, text = callTool("explain_rule", map[string]any{"rule": "drop-column"}); isErr || !strings.Contains(text, "drop-column") {
		t.Errorf("explain_rule: %v %s", isErr, text)
	}
	notGit := t.TempDir()
	if _, isErr, text = callTool("check_change", map[string]any{"repository": notGit, "base": "main"}); !isErr || !strings.Contains(text, "not inside") {
		t.Errorf("not a checkout: %v %s", isErr, text)
	}
}
