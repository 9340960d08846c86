package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// grammarVersion asks the linked parser which PostgreSQL grammar it is.
func grammarVersion() string {
	tree, err := pgtree.Parse("SELECT 1")
	if err != nil {
		return "unknown"
	}
	v := tree.GetVersion() // e.g. 160001
	return fmt.Sprintf("%d.%d", v/10000, v%100)
}

func parserModuleVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/pganalyze/pg_query_go/v5" {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the PostgreSQL grammar it parses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "migration-guard %s\nPostgreSQL grammar %s (pg_query_go %s)\n", version, grammarVersion(), parserModuleVersion())
			return nil
		},
	}
}
