package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/migration-guard/migration-guard/internal/resultcache"
	"github.com/migration-guard/migration-guard/webhook"
)

// setting is one configuration value of serve: an environment variable
// and a flag of the same name (--github-app-id and --GITHUB_APP_ID both
// work). A flag wins over the environment.
type setting struct {
	env  string
	def  string
	help string
}

var serveSettings = []setting{
	{"GITHUB_APP_ID", "", "the App's numeric id"},
	{"GITHUB_PRIVATE_KEY", "", "the App's private key, PEM (prefer GITHUB_PRIVATE_KEY_PATH: flags show in ps)"},
	{"GITHUB_PRIVATE_KEY_PATH", "", "file holding the App's private key, PEM"},
	{"GITHUB_WEBHOOK_SECRET", "", "the App's webhook secret"},
	{"GITHUB_API_URL", webhook.DefaultAPIURL, "REST API base URL; GitHub Enterprise Server: https://HOST/api/v3"},
	{"GITHUB_WEB_URL", "", "GitHub's web URL for /setup (default: derived from GITHUB_API_URL)"},
	{"LISTEN_ADDR", ":8080", "address to listen on"},
	{"PUBLIC_URL", "", "URL GitHub reaches this service at, for the /setup manifest (default: the URL /setup was opened at)"},
	{"WORKERS", "4", "jobs (pull requests) checked at once"},
	{"QUEUE_SIZE", "1000", "jobs waiting at most; beyond, deliveries are answered 503"},
	{"INSTALLATION_QUEUE_SIZE", "", "jobs of one installation waiting at most; beyond, that installation's deliveries are answered 503 (default: QUEUE_SIZE/4)"},
	{"MAX_BODY_BYTES", strconv.Itoa(webhook.DefaultMaxBodyBytes), "largest delivery accepted (GitHub caps payloads at 25 MB)"},
	{"UNVERIFIED_BYTES", "", "bytes of delivery bodies read but not yet signature-checked, over all requests at once; beyond, 503 (default: 4 x MAX_BODY_BYTES)"},
	{"DEDUPE_SIZE", "10000", "delivery ids remembered to drop duplicates"},
	{"JOB_TIMEOUT", "10m", "deadline of one job; a check not judged in time is red"},
	{"QUEUE_DATA_DIR", "/var/lib/migration-guard", "directory of the job queue's SQLite file (one replica; keep it on a volume): accepted deliveries survive a restart"},
	{"QUEUE_DATABASE_URL", "", "PostgreSQL URL of a job queue shared by several replicas, instead of QUEUE_DATA_DIR; its tables are created at start"},
	{"QUEUE_POOL_SIZE", "", "connections to QUEUE_DATABASE_URL at most (default: 2 x WORKERS + 8; at least 2 x WORKERS + 4)"},
	{"REPLICA_ID", "", "this process's name in the queue and in the User-Agent of its requests (default: host name and process id)"},
	{"MAX_JOB_FILES", strconv.Itoa(webhook.DefaultMaxJobFiles), "changed migration files one check judges at most; more is red, naming this cap"},
	{"MAX_JOB_BYTES", strconv.Itoa(webhook.DefaultMaxJobBytes), "bytes of changed migration files one check reads at most; more is red, naming this cap"},
	{"MAX_JOB_STATEMENTS", strconv.Itoa(webhook.DefaultMaxJobStatements), "statements one check judges at most; more is red, naming this cap"},
	{"CATALOG_CACHE_BYTES", strconv.Itoa(resultcache.DefaultMemoryBytes), "bytes of replayed base schemas kept in memory, least recently used out first (0: none)"},
	{"SHUTDOWN_TIMEOUT", "30s", "time running jobs get to finish on SIGTERM or SIGINT"},
	{"WRITE_INTERVAL", "1s", "spacing of one installation's write requests (0: none)"},
	{"RETRY_BASE_DELAY", "1s", "first retry delay after a 5xx or timeout; doubles per retry"},
	{"MAX_ATTEMPTS", "4", "attempts of an idempotent request on 5xx or timeout"},
	{"REQUEST_TIMEOUT", "30s", "deadline of one request attempt to GitHub"},
	{"SECONDARY_RATE_LIMIT_WAIT", "1m", "wait after a secondary rate limit without Retry-After; doubles while it lasts"},
	{"MAX_RATE_LIMIT_WAIT", "15m", "longest wait for a rate limit before failing the job"},
	{"SETUP_ENABLED", "false", "serve /setup, which creates the App through GitHub's manifest flow"},
	{"SETUP_OUTPUT_PATH", "", "file the setup writes the App's credentials to (mode 0600), and serve reads them from"},
	{"RECONCILE_ON_START", "true", "after starting, redeliver recent failed deliveries and re-run checks left in progress"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"MIGRATION_GUARD_REHEARSAL_DB", "", "URL of a scratch PostgreSQL server for repositories that opt in to rehearsal (rehearsal.enabled)"},
	{"REHEARSAL_LOCAL_CLUSTER", "false", "rehearse in a private cluster started from this machine's PostgreSQL binaries instead"},
}

func flagName(env string) string { return strings.ReplaceAll(strings.ToLower(env), "_", "-") }

// newServeCommand builds serve; addFlags gives it its forty flags, which
// only a command line that can reach serve needs (newRootCommand).
func newServeCommand() (cmd *cobra.Command, addFlags func()) {
	values := map[string]*string{}
	cmd = &cobra.Command{
		Use:   "serve",
		Short: "Run the GitHub App",
		Long: `Run migration-guard as a GitHub App: receive webhooks at POST /webhook, check
every pull request's migrations, and report in a check run, inline review
comments and one summary comment. Health at /healthz and /readyz, Prometheus
metrics at /metrics.

Every setting comes from the environment variable of the same name as its flag
(--github-app-id or --GITHUB_APP_ID: GITHUB_APP_ID); a flag wins. See docs/serve.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			get := func(env string) (string, bool) {
				if f := cmd.Flags().Lookup(flagName(env)); f != nil && f.Changed {
					return *values[env], true
				}
				if v, ok := os.LookupEnv(env); ok {
					return v, true
				}
				return *values[env], false
			}
			cfg, level, err := serveConfig(get)
			if err != nil {
				return &statusError{status: exitError, err: err}
			}
			reconcile, err := boolSetting(get, "RECONCILE_ON_START")
			if err != nil {
				return &statusError{status: exitError, err: err}
			}
			var lv slog.LevelVar
			lv.Set(level)
			cfg.Logger = slog.New(webhook.NewRedactingHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: &lv}),
				cfg.WebhookSecret, string(cfg.PrivateKey)))
			cfg.Version = version
			rehearser, closeRehearsal, err := serveRehearsal(context.Background(), get)
			if err != nil {
				return &statusError{status: exitError, err: err}
			}
			defer closeRehearsal()
			cfg.Rehearse = rehearser
			srv, err := webhook.New(cfg)
			if err != nil {
				return &statusError{status: exitError, err: err}
			}
			srv.SetReconcileOnStart(reconcile)
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if err := srv.Run(ctx); err != nil {
				return &statusError{status: exitError, err: err}
			}
			return nil
		},
	}
	addFlags = func() {
		flags := cmd.Flags()
		// --GITHUB_APP_ID is read as --github-app-id.
		flags.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
			return pflag.NormalizedName(flagName(name))
		})
		for _, s := range serveSettings {
			v := new(string)
			values[s.env] = v
			flags.StringVar(v, flagName(s.env), s.def, s.help+" ($"+s.env+")")
		}
	}
	return cmd, addFlags
}

// serveConfig builds the configuration from get (flag, environment or
// default). Its errors are one line, name the setting and never quote a
// key or secret.
func serveConfig(get func(env string) (string, bool)) (webhook.Config, slog.Level, error) {
	var cfg webhook.Config
	var errs []string
	str := func(env string) string { v, _ := get(env); return strings.TrimSpace(v) }
	num := func(env string) int {
		v := str(env)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("%s must be a whole number, got %q", env, v))
		}
		return n
	}
	dur := func(env string) time.Duration {
		v := str(env)
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Sprintf("%s must be a duration like 30s or 5m, got %q", env, v))
		}
		return d
	}
	if v := str("GITHUB_APP_ID"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			errs = append(errs, "GITHUB_APP_ID must be the App's numeric id")
		}
		cfg.AppID = id
	}
	key, _ := get("GITHUB_PRIVATE_KEY")
	keyPath := str("GITHUB_PRIVATE_KEY_PATH")
	switch {
	case key != "" && keyPath != "":
		errs = append(errs, "set GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, not both")
	case keyPath != "":
		b, err := os.ReadFile(keyPath)
		if err != nil {
			errs = append(errs, fmt.Sprintf("GITHUB_PRIVATE_KEY_PATH: cannot read %s: %v", keyPath, unwrapPathError(err)))
		}
		cfg.PrivateKey = b
	case key != "":
		// Environments that cannot hold newlines get "\n" escapes.
		if !strings.Contains(key, "\n") {
			key = strings.ReplaceAll(key, `\n`, "\n")
		}
		cfg.PrivateKey = []byte(key)
	}
	cfg.WebhookSecret, _ = get("GITHUB_WEBHOOK_SECRET")
	cfg.APIURL = str("GITHUB_API_URL")
	cfg.WebURL = str("GITHUB_WEB_URL")
	cfg.ListenAddr = str("LISTEN_ADDR")
	cfg.PublicURL = str("PUBLIC_URL")
	cfg.Workers = num("WORKERS")
	cfg.QueueSize = num("QUEUE_SIZE")
	optNum := func(env string) int {
		if str(env) == "" {
			return 0 // the default
		}
		return num(env)
	}
	cfg.InstallationQueueSize = optNum("INSTALLATION_QUEUE_SIZE")
	cfg.MaxBodyBytes = int64(num("MAX_BODY_BYTES"))
	cfg.UnverifiedBytes = int64(optNum("UNVERIFIED_BYTES"))
	cfg.Work = webhook.WorkLimits{MaxFiles: num("MAX_JOB_FILES"), MaxBytes: int64(num("MAX_JOB_BYTES")), MaxStatements: num("MAX_JOB_STATEMENTS")}
	cfg.DedupeSize = num("DEDUPE_SIZE")
	if n := num("CATALOG_CACHE_BYTES"); n > 0 {
		cfg.CatalogCache = resultcache.NewMemory(n)
	}
	cfg.JobTimeout = dur("JOB_TIMEOUT")
	cfg.QueueDataDir = str("QUEUE_DATA_DIR")
	cfg.QueueDatabaseURL = str("QUEUE_DATABASE_URL")
	cfg.QueuePoolSize = optNum("QUEUE_POOL_SIZE")
	cfg.ReplicaID = str("REPLICA_ID")
	if cfg.QueueDataDir == "" && cfg.QueueDatabaseURL == "" {
		errs = append(errs, "QUEUE_DATA_DIR must name a directory (or QUEUE_DATABASE_URL a PostgreSQL database): accepted deliveries are kept there")
	}
	cfg.ShutdownTimeout = dur("SHUTDOWN_TIMEOUT")
	cfg.Limits = webhook.Limits{
		WriteInterval:    dur("WRITE_INTERVAL"),
		RetryBaseDelay:   dur("RETRY_BASE_DELAY"),
		MaxAttempts:      num("MAX_ATTEMPTS"),
		RequestTimeout:   dur("REQUEST_TIMEOUT"),
		SecondaryMinWait: dur("SECONDARY_RATE_LIMIT_WAIT"),
		MaxRateLimitWait: dur("MAX_RATE_LIMIT_WAIT"),
	}
	if cfg.Limits.WriteInterval == 0 {
		cfg.Limits.WriteInterval = -1 // explicitly none
	}
	switch v := strings.ToLower(str("SETUP_ENABLED")); v {
	case "true", "1", "yes":
		cfg.SetupEnabled = true
	case "false", "0", "no", "":
	default:
		errs = append(errs, fmt.Sprintf("SETUP_ENABLED must be true or false, got %q", v))
	}
	cfg.SetupOutputPath = str("SETUP_OUTPUT_PATH")
	var level slog.Level
	if err := level.UnmarshalText([]byte(str("LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Sprintf("LOG_LEVEL must be debug, info, warn or error, got %q", str("LOG_LEVEL")))
	}
	if len(errs) > 0 {
		return cfg, level, errors.New(errs[0])
	}
	// After the manifest flow, the credentials file is the configuration:
	// nothing needs copying.
	if cfg.AppID == 0 && len(cfg.PrivateKey) == 0 && cfg.WebhookSecret == "" && cfg.SetupOutputPath != "" {
		creds, err := webhook.ReadCredentials(cfg.SetupOutputPath)
		switch {
		case err == nil:
			cfg.AppID, cfg.PrivateKey, cfg.WebhookSecret = creds.AppID, []byte(creds.PEM), creds.WebhookSecret
		case errors.Is(err, fs.ErrNotExist):
		default:
			return cfg, level, err
		}
	}
	return cfg, level, nil
}

// boolSetting reads a setting that is true unless turned off; the value
// is not secret, so the error may quote it.
func boolSetting(get func(env string) (string, bool), env string) (bool, error) {
	v, _ := get(env)
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "true", "1", "yes", "":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s must be true or false, got %q", env, v)
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
