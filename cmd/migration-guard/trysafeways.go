package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/rehearse"
	"github.com/migration-guard/migration-guard/internal/safewayrun"
)

// newTrySafeWaysCommand is the corpus run of the safe ways
// (scripts/corpus-safeways.sh, docs/corpus.md): a development tool, hidden
// from the help.
func newTrySafeWaysCommand() *cobra.Command {
	var db string
	var rows int
	cmd := &cobra.Command{
		Use:    "try-safe-ways [--rehearsal-db URL] [--rows N] FOLDER",
		Short:  "Run every safe way the review of a migration folder prints, on the folder's own history, and compare its effect with the statement's",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tuneMemory(os.Getenv)
			return runTrySafeWays(cmd.Context(), cmd.OutOrStdout(), db, rows, args[0])
		},
	}
	cmd.Flags().StringVar(&db, "rehearsal-db", "", "`URL` of a scratch PostgreSQL server (default: a private cluster from local binaries)")
	cmd.Flags().IntVar(&rows, "rows", 3, "rows added to every table before each judged statement")
	return cmd
}

// runTrySafeWays writes one TSV line per safe way (path, line, rule,
// status, rows, reason) and, last, a "# history" line: how many statements
// of the history applied, and why it stopped ("-" when it did not).
func runTrySafeWays(ctx context.Context, out io.Writer, db string, rows int, folder string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	req, _, err := pathsRequest(checkOptions{}, []string{folder})
	if err != nil {
		return err
	}
	rep, err := analyzer.Analyze(ctx, req)
	if err != nil {
		return fail("%v", err)
	}
	var srv *rehearse.Server
	if db != "" {
		srv, err = rehearse.OpenScratch(ctx, db)
	} else {
		srv, _, err = rehearse.StartCluster(ctx, rehearse.ClusterOptions{Version: req.Config.PostgresVersion})
	}
	if err != nil {
		return fail("%v", err)
	}
	defer func() { _ = srv.Close(context.WithoutCancel(ctx)) }()
	// Each outcome is written as soon as it is known; the history's line
	// comes last, once the whole folder ran.
	if _, err := fmt.Fprintf(out, "path\tline\trule\tstatus\trows\treason\n"); err != nil {
		return fail("writing the results: %v", err)
	}
	var werr error
	res, err := safewayrun.Run(ctx, srv, rep, safewayrun.Options{Rows: rows, Progress: func(o safewayrun.Outcome) {
		if werr == nil {
			_, werr = fmt.Fprintf(out, "%s\t%d\t%s\t%s\t%s\t%s\n", o.Path, o.Line, o.Rule, o.Status, dash(o.Rows), dash(tsvField(o.Reason)))
		}
	}})
	if err != nil {
		return fail("%v", err)
	}
	why := res.NotRunnable
	if why == "" {
		why = "-"
	}
	if _, err := fmt.Fprintf(out, "# history\t%d\t%s\n", res.Applied, tsvField(why)); err != nil || werr != nil {
		return fail("writing the results: %v", errors.Join(err, werr))
	}
	return nil
}

func tsvField(s string) string { return strings.NewReplacer("\t", " ", "\n", " | ").Replace(s) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
