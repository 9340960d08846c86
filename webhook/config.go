package webhook

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/migration-guard/migration-guard/analyzer"
)

// DefaultAPIURL is github.com's REST API. GitHub Enterprise Server's is
// https://HOST/api/v3.
const DefaultAPIURL = "https://api.github.com"

// DefaultMaxBodyBytes caps a delivery's body. GitHub caps payloads at
// 25 MB and drops larger ones itself, so nothing legitimate is refused;
// the cap keeps a forged request from filling memory before its
// signature is checked.
const DefaultMaxBodyBytes = 25 << 20

// Config is everything the service needs. The command line fills it from
// the environment and flags; tests fill it directly.
type Config struct {
	AppID int64
	// PrivateKey is the App's private key in PEM (PKCS#1 or PKCS#8).
	PrivateKey    []byte
	WebhookSecret string
	// APIURL is the REST API's base URL (DefaultAPIURL when empty).
	APIURL     string
	ListenAddr string
	// PublicURL is where GitHub reaches the service, for the setup
	// page's manifest; empty means the URL the setup page was opened at.
	PublicURL string

	Workers         int           // jobs running at once (4)
	QueueSize       int           // jobs waiting at most; beyond, deliveries get 503 (1000)
	MaxBodyBytes    int64         // DefaultMaxBodyBytes
	DedupeSize      int           // delivery ids remembered (10000)
	JobTimeout      time.Duration // one job's deadline (10m)
	ShutdownTimeout time.Duration // how long running jobs get on SIGTERM (30s)
	Limits          Limits
	// Work caps what one job judges (see WorkLimits).
	Work WorkLimits
	// CatalogCache keeps the schemas replayed base histories build, so
	// that the pull requests on one base commit replay it once; nil keeps
	// none. serve gives it a resultcache.Memory of CATALOG_CACHE_BYTES.
	CatalogCache analyzer.Cache
	// InstallationQueueSize is how many jobs of one installation may wait
	// (QueueSize/4, at least 1): one installation's burst answers 503 to
	// that installation only.
	InstallationQueueSize int
	// UnverifiedBytes bounds the bytes of delivery bodies read and not yet
	// verified, over all requests at once (4 x MaxBodyBytes); beyond it a
	// delivery is answered 503 at once.
	UnverifiedBytes int64

	// SetupEnabled serves the manifest flow at /setup, writing the new
	// App's credentials to SetupOutputPath.
	SetupEnabled    bool
	SetupOutputPath string
	// WebURL is GitHub's web address for the setup flow; empty derives it
	// from APIURL (api.github.com -> github.com, HOST/api/v3 -> HOST).
	WebURL string

	Logger  *slog.Logger
	Version string

	// QueueDataDir holds the default queue: River on a SQLite file, for
	// one replica. QueueDatabaseURL, when set, is the PostgreSQL database
	// of a queue that several replicas share instead. With neither, jobs
	// wait in memory (tests; a workflow step).
	QueueDataDir     string
	QueueDatabaseURL string
	// QueuePoolSize bounds the connections to QueueDatabaseURL (2 x Workers
	// + 8 by default: a running job holds one for its pull request's lease
	// and one while it writes its commit's conclusion).
	QueuePoolSize int
	// ReplicaID names this process in the queue and in the User-Agent of
	// its jobs' requests (host name and process id by default).
	ReplicaID string

	// Rehearse, when set, rehearses the pull requests whose base
	// configuration opts in (rehearsal.enabled); nil means the App has no
	// rehearsal server. See webhook/rehearse.go.
	Rehearse Rehearser

	// workflowToken, set only by RunWorkflow, replaces the App's
	// credentials: every job's client authenticates with this one token
	// (a GitHub Actions workflow's GITHUB_TOKEN).
	workflowToken string
}

// ConfigError is a configuration problem, said in one line that names the
// setting and never its value.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

func configErr(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// parsed is the validated configuration.
type parsed struct {
	Config
	key     *rsa.PrivateKey
	apiURL  *url.URL // with a trailing slash
	webURL  *url.URL
	appless bool // setup only: no App credentials yet
}

func (c Config) validate() (*parsed, error) {
	p := &parsed{Config: c}
	if p.APIURL == "" {
		p.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(p.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, configErr("GITHUB_API_URL must be an absolute http(s) URL, like %s or https://ghe.example.com/api/v3", DefaultAPIURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	p.apiURL = u
	if p.WebURL != "" {
		w, err := url.Parse(p.WebURL)
		if err != nil || w.Host == "" {
			return nil, configErr("the GitHub web URL must be an absolute URL")
		}
		p.webURL = w
	} else {
		p.webURL = webURLFor(u)
	}
	none := p.AppID == 0 && len(p.PrivateKey) == 0 && p.WebhookSecret == ""
	if p.SetupEnabled {
		if p.SetupOutputPath == "" {
			return nil, configErr("SETUP_ENABLED needs SETUP_OUTPUT_PATH: where to write the new App's credentials")
		}
		if none {
			p.appless = true
		}
	}
	if !p.appless && p.workflowToken == "" {
		switch {
		case p.AppID <= 0:
			return nil, configErr("GITHUB_APP_ID is required (the App's numeric id, on its settings page)")
		case len(p.PrivateKey) == 0:
			return nil, configErr("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH is required (the App's private key, PEM)")
		case p.WebhookSecret == "":
			return nil, configErr("GITHUB_WEBHOOK_SECRET is required (the App's webhook secret)")
		}
		key, err := jwt.ParseRSAPrivateKeyFromPEM(p.PrivateKey)
		if err != nil {
			// The parser's message is generic, but it is not passed on: the
			// one line must not risk quoting the key.
			return nil, configErr("the private key does not parse: it must be the App's RSA private key in PEM form, as GitHub downloads it")
		}
		p.key = key
	}
	if p.ListenAddr == "" {
		p.ListenAddr = ":8080"
	}
	if p.Workers <= 0 {
		p.Workers = 4
	}
	if p.QueueSize <= 0 {
		p.QueueSize = 1000
	}
	if p.MaxBodyBytes <= 0 {
		p.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if p.DedupeSize <= 0 {
		p.DedupeSize = 10000
	}
	if p.JobTimeout <= 0 {
		p.JobTimeout = 10 * time.Minute
	}
	if p.ShutdownTimeout <= 0 {
		p.ShutdownTimeout = 30 * time.Second
	}
	p.Limits = p.Limits.withDefaults()
	p.Work = p.Work.withDefaults()
	if p.QueuePoolSize <= 0 {
		p.QueuePoolSize = 2*p.Workers + 8
	}
	if p.QueueDatabaseURL != "" && p.QueuePoolSize < 2*p.Workers+4 {
		return nil, configErr("QUEUE_POOL_SIZE must be at least 2 x WORKERS + 4: each running job holds a connection for its pull request's lease and one while it writes its commit's conclusion, and River and the intake need their own")
	}
	if p.ReplicaID == "" {
		host, _ := os.Hostname()
		p.ReplicaID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if p.InstallationQueueSize <= 0 {
		p.InstallationQueueSize = max(p.QueueSize/4, 1)
	}
	p.InstallationQueueSize = min(p.InstallationQueueSize, p.QueueSize)
	if p.UnverifiedBytes <= 0 {
		p.UnverifiedBytes = 4 * p.MaxBodyBytes
	}
	// One largest delivery must fit, or none would ever be verified.
	p.UnverifiedBytes = max(p.UnverifiedBytes, p.MaxBodyBytes+1)
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Version == "" {
		p.Version = "dev"
	}
	return p, nil
}

// webURLFor derives GitHub's web address from its API address:
// api.github.com serves github.com; GitHub Enterprise Server serves its
// API under /api/v3 on the web host.
func webURLFor(api *url.URL) *url.URL {
	w := *api
	w.RawQuery, w.Fragment = "", ""
	if strings.EqualFold(api.Host, "api.github.com") {
		w.Host = "github.com"
		w.Path = "/"
		return &w
	}
	w.Path = strings.TrimSuffix(strings.TrimSuffix(api.Path, "/"), "/api/v3") + "/"
	return &w
}
