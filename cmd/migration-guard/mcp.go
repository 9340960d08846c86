package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/internal/mcpserver"
)

func newMCPCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "Serve coding agents over the Model Context Protocol (stdio)",
		Long: `Run a Model Context Protocol server on standard input and output, for coding
agents: check_sql judges a migration before it is written, check_change reviews a
checkout's change since a base ref, explain_rule and list_rules describe the rules.
Repositories are read, never written. See docs/mcp.md for client configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv := mcpserver.New(mcpOptions())
			if err := srv.Run(cmdContext(cmd), &mcp.StdioTransport{}); err != nil {
				return fail("mcp server: %v", err)
			}
			return nil
		},
	}
}

func mcpOptions() mcpserver.Options {
	return mcpserver.Options{
		Version: version,
		Change:  changeRequest,
		Stats: func(cfg analyzer.Config, fsys fs.FS) (*prodstats.File, string) {
			// The note reaches the agent in the result; standard output is
			// the protocol's, so nothing is printed.
			return loadStats(io.Discard, "", cfg, fsys)
		},
	}
}

// changeRequest is `check --base` for a checkout given by path rather than
// by the working directory: the migrations changed since base, judged
// against the schema and the configuration at base.
func changeRequest(ctx context.Context, dir, base string) (analyzer.Request, error) {
	repo, err := openGitRepo(ctx, dir)
	if err != nil {
		return analyzer.Request{}, err
	}
	commit, err := repo.resolve(ctx, base)
	if err != nil {
		return analyzer.Request{}, err
	}
	baseTree, err := repo.tree(ctx, commit)
	if err != nil {
		return analyzer.Request{}, fmt.Errorf("reading %s: %w", base, err)
	}
	changed, err := repo.changedSince(ctx, commit)
	if err != nil {
		return analyzer.Request{}, fmt.Errorf("listing changes since %s: %w", base, err)
	}
	if changed == nil {
		changed = []string{}
	}
	cfg, err := loadConfig(checkOptions{}, baseTree)
	if err != nil {
		return analyzer.Request{}, err
	}
	return analyzer.Request{Base: baseTree, Head: os.DirFS(repo.root), Changed: changed, Config: cfg}, nil
}
