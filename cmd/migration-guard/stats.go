package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/internal/pgstats"
)

func newStatsCommand() *cobra.Command {
	var dbURL, out string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "stats --db URL [--out FILE]",
		Short: "Write production table sizes to a statistics file (reads no row data)",
		Long: `Connects to a PostgreSQL database and writes a statistics file: the server version,
the settings that matter to migrations (lock_timeout, statement_timeout), and per
table its estimated rows, heap, index and TOAST bytes, and per column its type, null
fraction and average width.

It runs in a READ ONLY transaction with a short statement_timeout and reads only the
catalog and statistics views (pg_class, pg_stats, pg_settings, ...): never a row of
your tables. The password of the URL is never printed. The file is small enough to
commit; point stats_file in .github/migration-guard.yml at it, or pass it to
check --stats.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dbURL == "" {
				return fail("--db is required (postgres://user@host/db); the password may come from PGPASSWORD or ~/.pgpass")
			}
			ctx := cmdContext(cmd)
			f, err := pgstats.Collect(ctx, dbURL, pgstats.CollectOptions{StatementTimeout: timeout})
			if err != nil {
				return fail("collecting statistics from %s: %v", pgstats.RedactURL(dbURL), err)
			}
			if err := writeStatsFile(cmd.OutOrStdout(), out, f); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d tables from PostgreSQL %s\n", orStdout(out), len(f.Tables), f.Server.Version)
			return nil
		},
	}
	cmd.Flags().StringVar(&dbURL, "db", "", "connection URL of the production database (a read-only role is enough)")
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	cmd.Flags().DurationVar(&timeout, "statement-timeout", 10*time.Second, "statement_timeout of the collecting session")
	return cmd
}

func newCalibrateCommand() *cobra.Command {
	var dbURL, statsPath string
	var sizeMB int64
	var force bool
	cmd := &cobra.Command{
		Use:   "calibrate --db URL --stats FILE [--size-mb N]",
		Short: "Measure rewrite, scan and index-build throughput on a scratch database",
		Long: `Creates a table of about --size-mb megabytes on a scratch database, times a table
rewrite, a validating scan, an index build and a whole-table UPDATE, drops what it
created, and writes the measured throughput into the statistics file, where question
6's duration estimates use it instead of the documented defaults.

Run it on a server like production's (same hardware class and settings), never on
production itself: it refuses a database that already has tables unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dbURL == "" || statsPath == "" {
				return fail("--db and --stats are required")
			}
			f, err := readStatsFile(statsPath)
			if err != nil {
				return err
			}
			cal, err := pgstats.Calibrate(cmdContext(cmd), dbURL, pgstats.CalibrateOptions{TableBytes: sizeMB << 20, Force: force})
			if err != nil {
				return fail("calibrating on %s: %v", pgstats.RedactURL(dbURL), err)
			}
			f.Calibration = &cal
			if err := writeStatsFile(cmd.OutOrStdout(), statsPath, f); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: rewrite %.0f MB/s, scan %.0f MB/s, index build %.0f MB/s, backfill %.0f MB/s\n", statsPath,
				cal.BytesPerSecond.Rewrite/(1<<20), cal.BytesPerSecond.Scan/(1<<20), cal.BytesPerSecond.IndexBuild/(1<<20), cal.BytesPerSecond.Backfill/(1<<20))
			return nil
		},
	}
	cmd.Flags().StringVar(&dbURL, "db", "", "connection URL of a scratch database")
	cmd.Flags().StringVar(&statsPath, "stats", "", "statistics file to add the figures to")
	cmd.Flags().Int64Var(&sizeMB, "size-mb", 200, "size of the table to measure on")
	cmd.Flags().BoolVar(&force, "force", false, "calibrate even though the database has tables (they are not touched)")
	return cmd
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func orStdout(path string) string {
	if path == "" {
		return "standard output"
	}
	return path
}

// writeStatsFile writes to a file (atomically, through a temporary file) or
// to standard output.
func writeStatsFile(stdout io.Writer, path string, f *prodstats.File) error {
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return fail("encoding the statistics: %v", err)
	}
	if path == "" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fail("writing %s: %v", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail("writing %s: %v", path, err)
	}
	return nil
}

func readStatsFile(path string) (*prodstats.File, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fail("reading the statistics file: %v", err)
	}
	defer file.Close()
	f, err := prodstats.Load(file)
	if err != nil {
		return nil, fail("reading %s: %v", path, err)
	}
	return f, nil
}

// loadStats finds the statistics for a check: --stats, else the
// configuration's stats_file in fsys. A file that cannot be read does not
// stop the review: it runs without sizes and says why.
func loadStats(errOut io.Writer, flag string, cfg analyzer.Config, fsys fs.FS) (*prodstats.File, string) {
	var data []byte
	var err error
	name := flag
	switch {
	case flag != "":
		data, err = os.ReadFile(flag)
	case cfg.StatsFile != "" && fsys != nil:
		name = cfg.StatsFile
		data, err = fs.ReadFile(fsys, cfg.StatsFile)
	default:
		return nil, ""
	}
	if err == nil {
		var f *prodstats.File
		if f, err = prodstats.Load(bytes.NewReader(data)); err == nil {
			return f, ""
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		err = errors.New("no such file")
	}
	note := fmt.Sprintf("statistics file %s not used (%v): table sizes are unknown", name, err)
	fmt.Fprintf(errOut, "migration-guard: %s\n", note)
	return nil, note
}

// openProbe connects the data probes. A database that cannot be reached
// does not stop the review: it runs without probes and says why.
func openProbe(ctx context.Context, errOut io.Writer, dbURL string) (analyzer.DataProbe, func(), string) {
	if dbURL == "" {
		return nil, func() {}, ""
	}
	p, err := pgstats.NewProber(ctx, dbURL, pgstats.ProbeOptions{})
	if err != nil {
		note := fmt.Sprintf("data probes off: cannot use %s (%v)", pgstats.RedactURL(dbURL), err)
		fmt.Fprintf(errOut, "migration-guard: %s\n", note)
		return nil, func() {}, note
	}
	return p.AnalyzerProbe(), func() { p.Close() }, ""
}
