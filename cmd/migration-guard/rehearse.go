package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/rehearse"
	"github.com/migration-guard/migration-guard/webhook"
)

type rehearsalOptions struct {
	on               bool
	db               string
	budget           time.Duration
	statementTimeout time.Duration
	lockTimeout      time.Duration
	rows             int
}

func addRehearsalFlags(cmd *cobra.Command, opt *rehearsalOptions) {
	cmd.Flags().StringVar(&opt.db, "rehearsal-db", os.Getenv("MIGRATION_GUARD_REHEARSAL_DB"),
		"`URL` of a scratch PostgreSQL server to rehearse on (default: $MIGRATION_GUARD_REHEARSAL_DB; empty: a private cluster from local binaries); "+
			"its database must hold no tables, the rehearsal creates and drops its own")
	cmd.Flags().DurationVar(&opt.budget, "rehearsal-budget", 2*time.Minute, "the most the whole rehearsal may take")
	cmd.Flags().DurationVar(&opt.statementTimeout, "rehearsal-statement-timeout", 10*time.Second, "statement_timeout of the rehearsed SQL")
	cmd.Flags().IntVar(&opt.rows, "rows", 0, "fill every table of the base with `N` generated rows before the change runs, and time each rewrite, scan and index build")
	cmd.Flags().DurationVar(&opt.lockTimeout, "rehearsal-lock-timeout", 5*time.Second, "lock_timeout of the rehearsed SQL")
}

func newRehearseCommand() *cobra.Command {
	var opt checkOptions
	cmd := &cobra.Command{
		Use:   "rehearse [--base REF] [--rehearsal-db URL] [--format text|json|markdown|sarif] [--config FILE] [PATH...]",
		Short: "Review migrations and apply them to a throwaway PostgreSQL to see what they really do",
		Long: `Review PostgreSQL migrations as check does, then rehearse them: apply the base
migrations and the changed ones, statement by statement as their tool runs them, to
a throwaway PostgreSQL, and report what the server did.

Each lock, rewrite and scan finding is marked confirmed or contradicted by what
PostgreSQL did (pg_locks of the migrating session before each commit, each table's
relfilenode and scan counter before and after each statement). Findings only a run
gives are added: fails-at-deploy (PostgreSQL's error and line), down-does-not-restore
(the down part leaves another schema than the one before the up part, or the up part
fails when run again), rehearsal-contradicts-model, and not-rehearsed (an extension
missing on this machine, a privilege the rehearsal never grants, a timeout).

Where it runs: by default a private cluster started from the machine's PostgreSQL
binaries (initdb and postgres from PATH, /usr/lib/postgresql/<version>/bin or
/usr/pgsql-<version>/bin, the version matching postgres_version when several exist),
listening on a Unix socket in a temporary folder only and removed afterwards; as root
it runs as the postgres account. With --rehearsal-db URL (or
MIGRATION_GUARD_REHEARSAL_DB), on that scratch server, where it creates and drops its
own database and role; a server whose database holds tables is refused.

With --rows N, every table of the base gets N generated rows (parents before children,
values that fit each column's type; a table whose constraints the values break is named
and left empty), each statement is timed, and the time of each rewrite, scan, index
build and backfill is scaled to production's row count from the statistics file.

The migrations' SQL runs as a role that is no superuser and owns only the scratch
database, with statement_timeout, lock_timeout and a total budget.

Arguments are those of check. Exit status: 0 when nothing requires approval, 1 when
something does, 2 for usage, I/O, git errors or a rehearsal that could not start.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			tuneMemory(os.Getenv)
			opt.rehearsal.on = true
			return runCheck(cmd.Context(), cmd.OutOrStdout(), opt, args)
		},
	}
	cmd.Flags().StringVar(&opt.base, "base", "", "git ref of the base: judge what changed since it")
	cmd.Flags().StringVar(&opt.format, "format", "text", "output format: text, json, markdown or sarif")
	cmd.Flags().StringVar(&opt.configPath, "config", "", "configuration file (default: .github/migration-guard.yml, from --base when given)")
	cmd.Flags().StringVar(&opt.statsPath, "stats", "", "statistics `FILE` written by migration-guard stats (default: stats_file of the configuration)")
	cmd.Flags().StringVar(&opt.probeDB, "probe-db", os.Getenv("MIGRATION_GUARD_PROBE_DB"),
		"read-only connection URL to count the rows that would break a statement (default: $MIGRATION_GUARD_PROBE_DB); counts only, never values")
	addRehearsalFlags(cmd, &opt.rehearsal)
	addCacheFlags(cmd, &opt)
	return cmd
}

// serveRehearsal opens the App's rehearsal server: a scratch server by URL
// or a private cluster, kept for the process so that bases are cached. Nil
// when neither is configured.
func serveRehearsal(ctx context.Context, get func(env string) (string, bool)) (webhook.Rehearser, func(), error) {
	url, _ := get("MIGRATION_GUARD_REHEARSAL_DB")
	local, err := falseSetting(get, "REHEARSAL_LOCAL_CLUSTER")
	if err != nil {
		return nil, func() {}, err
	}
	var srv *rehearse.Server
	switch {
	case url != "" && local:
		return nil, func() {}, errors.New("set MIGRATION_GUARD_REHEARSAL_DB or REHEARSAL_LOCAL_CLUSTER, not both")
	case url != "":
		srv, err = rehearse.OpenScratch(ctx, url)
	case local:
		srv, _, err = rehearse.StartCluster(ctx, rehearse.ClusterOptions{})
	default:
		return nil, func() {}, nil
	}
	if err != nil {
		return nil, func() {}, fmt.Errorf("rehearsal server: %w", err)
	}
	var mu sync.Mutex
	return func(ctx context.Context, req analyzer.Request, rep *analyzer.Report) error {
			// One rehearsal at a time: each holds two connections and a
			// database, and the machine's cores serve the webhook too.
			mu.Lock()
			defer mu.Unlock()
			_, err := rehearse.Rehearse(ctx, srv, req, rep, rehearse.Options{CacheBase: true, Rows: req.Config.Rehearsal.Rows})
			return err
		}, func() {
			_ = srv.Close(context.Background())
		}, nil
}

// falseSetting reads a setting that is false unless turned on.
func falseSetting(get func(env string) (string, bool), env string) (bool, error) {
	v, _ := get(env)
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no", "":
		return false, nil
	}
	return false, fmt.Errorf("%s must be true or false, got %q", env, v)
}

// runRehearsal rehearses the analyzed change and marks the report. A
// rehearsal that was asked for and cannot start is an error, never a
// report that looks rehearsed.
func runRehearsal(ctx context.Context, opt rehearsalOptions, req analyzer.Request, rep *analyzer.Report) error {
	if len(rep.Files) == 0 {
		return nil // nothing changed: nothing to rehearse, no server to start
	}
	var srv *rehearse.Server
	var err error
	if opt.db != "" {
		srv, err = rehearse.OpenScratch(ctx, opt.db)
	} else {
		srv, _, err = rehearse.StartCluster(ctx, rehearse.ClusterOptions{Version: req.Config.PostgresVersion})
	}
	if err != nil {
		return fail("rehearsal: %v", err)
	}
	defer srv.Close(context.WithoutCancel(ctx)) //nolint:errcheck // what is left is a scratch database
	_, err = rehearse.Rehearse(ctx, srv, req, rep, rehearse.Options{
		Budget: opt.budget, StatementTimeout: opt.statementTimeout, LockTimeout: opt.lockTimeout, Rows: opt.rows,
	})
	if err != nil {
		return fail("rehearsal: %v", err)
	}
	return nil
}
