package webhook

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"
)

// clients makes and keeps the GitHub clients: one for the App itself (JWT)
// and one per installation (installation tokens), each with its own
// conditional-request cache and rate limit state.
type clients struct {
	appID   int64
	key     *rsa.PrivateKey
	apiURL  *url.URL
	base    http.RoundTripper
	limits  Limits
	metrics *metrics
	log     *slog.Logger
	version string
	// token, when set, is the workflow token every installation client
	// uses instead of an installation token (see workflow.go).
	token string

	mu       sync.Mutex
	installs map[int64]*installClient
	app      *github.Client
}

type installClient struct {
	gh   *github.Client
	etag *etagTransport
}

func newClients(p *parsed, m *metrics) *clients {
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}
	return &clients{
		appID: p.AppID, key: p.key, apiURL: p.apiURL, base: base, limits: p.Limits,
		metrics: m, log: p.Logger, version: p.Version, installs: map[int64]*installClient{}, token: p.workflowToken,
	}
}

func (c *clients) prefix() string { return strings.TrimSuffix(c.apiURL.Path, "/") }

func (c *clients) newGitHub(rt http.RoundTripper) *github.Client {
	gh := github.NewClient(&http.Client{Transport: agentTransport{rt}})
	// Setting BaseURL directly serves github.com, GitHub Enterprise
	// Server (https://HOST/api/v3/) and test servers alike.
	u := *c.apiURL
	gh.BaseURL = &u
	gh.UploadURL = &u
	gh.UserAgent = "migration-guard/" + c.version
	return gh
}

// App is the client authenticated as the App (JWT), for /app endpoints.
func (c *clients) App() *github.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.app == nil {
		inner := &metricsTransport{next: c.base, metrics: c.metrics, log: c.log, prefix: c.prefix()}
		atr := ghinstallation.NewAppsTransportFromPrivateKey(inner, c.appID, c.key)
		atr.BaseURL = strings.TrimSuffix(c.apiURL.String(), "/")
		lim := &limitTransport{next: atr, limits: c.limits, state: &rateState{}, metrics: c.metrics, log: c.log, prefix: c.prefix()}
		c.app = c.newGitHub(lim)
	}
	return c.app
}

// Installation is the client of one installation. Each has its own
// AppsTransport: ghinstallation writes to the AppsTransport while
// refreshing a token, so sharing one between installations would race.
func (c *clients) Installation(id int64) *installClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ic, ok := c.installs[id]; ok {
		return ic
	}
	inner := &metricsTransport{next: c.base, metrics: c.metrics, log: c.log, installation: id, prefix: c.prefix()}
	var itr http.RoundTripper
	if c.token != "" {
		// The same job code, authenticated with the workflow's token: the
		// seam between the App and the CI mode is only this transport.
		itr = &bearerTransport{next: inner, token: c.token}
	} else {
		atr := ghinstallation.NewAppsTransportFromPrivateKey(inner, c.appID, c.key)
		atr.BaseURL = strings.TrimSuffix(c.apiURL.String(), "/")
		itr = ghinstallation.NewFromAppsTransport(atr, id)
	}
	lim := &limitTransport{next: itr, limits: c.limits, state: &rateState{}, metrics: c.metrics, log: c.log, installation: id, prefix: c.prefix()}
	etag := newETagTransport(lim)
	ic := &installClient{gh: c.newGitHub(etag), etag: etag}
	c.installs[id] = ic
	return ic
}

// Forget drops an installation's client, when the App is uninstalled.
func (c *clients) Forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.installs, id)
}

// Anonymous is a client without credentials, for the manifest conversion
// (the one-time code is the credential).
func (c *clients) Anonymous() *github.Client {
	return c.newGitHub(&limitTransport{
		next:    &metricsTransport{next: c.base, metrics: c.metrics, log: c.log, prefix: c.prefix()},
		limits:  c.limits,
		state:   &rateState{},
		metrics: c.metrics,
		log:     c.log,
		prefix:  c.prefix(),
	})
}

// appIdentity is what the App learns about itself from GET /app.
type appIdentity struct {
	Slug     string
	BotLogin string
}

func (c *clients) identity(ctx context.Context) (appIdentity, error) {
	app, _, err := c.App().Apps.Get(ctx, "")
	if err != nil {
		return appIdentity{}, fmt.Errorf("asking GitHub who the App is (GET /app): %w", err)
	}
	return appIdentity{Slug: app.GetSlug(), BotLogin: app.GetSlug() + "[bot]"}, nil
}
