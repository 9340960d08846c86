package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// setupFlow creates the App through GitHub's manifest flow, so that no one
// copies a private key or secret by hand: the page posts the manifest to
// GitHub, GitHub sends the browser back with a one-time code, and the code
// is exchanged for the credentials, which go straight to a 0600 file.
type setupFlow struct {
	p       *parsed
	clients *clients
	log     *slog.Logger

	mu     sync.Mutex
	states map[string]time.Time // state -> expiry
}

const (
	stateTTL  = time.Hour
	maxStates = 100
)

func newSetupFlow(p *parsed, c *clients, log *slog.Logger) *setupFlow {
	return &setupFlow{p: p, clients: c, log: log, states: map[string]time.Time{}}
}

// Credentials is what the setup writes, and what serve reads back from
// SETUP_OUTPUT_PATH when no App settings are given.
type Credentials struct {
	AppID         int64  `json:"app_id"`
	Slug          string `json:"slug"`
	Name          string `json:"name,omitempty"`
	HTMLURL       string `json:"html_url,omitempty"`
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	WebhookSecret string `json:"webhook_secret"`
	PEM           string `json:"pem"`
}

// ReadCredentials reads a file written by the setup flow.
func ReadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("reading the App credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("reading the App credentials in %s: not the JSON the setup writes", path)
	}
	return c, nil
}

func (f *setupFlow) newState() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a setup state: %w", err)
	}
	s := hex.EncodeToString(b[:])
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for k, exp := range f.states {
		if now.After(exp) {
			delete(f.states, k)
		}
	}
	if len(f.states) >= maxStates {
		return "", errors.New("too many setups in progress; try again in an hour")
	}
	f.states[s] = now.Add(stateTTL)
	return s, nil
}

// takeState checks a returned state and uses it up.
func (f *setupFlow) takeState(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.states[s]
	delete(f.states, s)
	return ok && time.Now().Before(exp)
}

func (f *setupFlow) publicURL(r *http.Request) string {
	if f.p.PublicURL != "" {
		return strings.TrimSuffix(f.p.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// setupPage is parsed on first use, not when the package loads (every command
// of the binary would pay for it).
var setupPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("setup").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Set up migration-guard</title></head>
<body>
<h1>Set up migration-guard</h1>
{{if .Done}}<p>The App's credentials are already written to <code>{{.Path}}</code>. Delete that file to set up again.</p>
{{else}}<p>This creates the GitHub App {{if .Org}}for the organization <b>{{.Org}}</b>{{else}}for your account (add <code>?org=NAME</code> to this address for an organization){{end}} on <b>{{.Web}}</b>, with the permissions and events migration-guard needs. GitHub asks you to confirm, then sends you back here, and the credentials are written to <code>{{.Path}}</code> (mode 0600) without passing through anyone's clipboard.</p>
<form action="{{.Action}}" method="post">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Create the GitHub App</button>
</form>
<details><summary>Manifest</summary><pre>{{.Manifest}}</pre></details>
{{end}}
</body></html>
`))
})

func (f *setupFlow) page(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Path": f.p.SetupOutputPath, "Web": strings.TrimSuffix(f.p.webURL.String(), "/")}
	if _, err := os.Stat(f.p.SetupOutputPath); err == nil {
		data["Done"] = true
		f.render(w, http.StatusOK, data)
		return
	}
	state, err := f.newState()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	manifest, err := json.MarshalIndent(AppManifest(f.publicURL(r)), "", "  ")
	if err != nil {
		http.Error(w, "encoding the manifest", http.StatusInternalServerError)
		return
	}
	org := r.URL.Query().Get("org")
	target := *f.p.webURL
	if org != "" {
		target.Path = strings.TrimSuffix(target.Path, "/") + "/organizations/" + url.PathEscape(org) + "/settings/apps/new"
		data["Org"] = org
	} else {
		target.Path = strings.TrimSuffix(target.Path, "/") + "/settings/apps/new"
	}
	target.RawQuery = url.Values{"state": {state}}.Encode()
	data["Action"] = target.String()
	data["Manifest"] = string(manifest)
	f.render(w, http.StatusOK, data)
}

func (f *setupFlow) render(w http.ResponseWriter, code int, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = setupPage().Execute(w, data)
}

// donePage is parsed on first use, not when the package loads (every command
// of the binary would pay for it).
var donePage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>migration-guard is set up</title></head>
<body>
<h1>The GitHub App {{.Slug}} exists</h1>
<p>Its id, private key, webhook secret and OAuth client are in <code>{{.Path}}</code> (mode 0600).</p>
<p>Restart the service with <code>SETUP_OUTPUT_PATH={{.Path}}</code> and no other GitHub setting: it reads them from there. Then install the App{{if .HTML}} from <a href="{{.HTML}}">its page</a>{{end}} on the repositories to guard.</p>
</body></html>
`))
})

func (f *setupFlow) callback(w http.ResponseWriter, r *http.Request) {
	code, state := r.URL.Query().Get("code"), r.URL.Query().Get("state")
	if code == "" || state == "" || !f.takeState(state) {
		f.log.Warn("setup callback with an unknown or expired state")
		http.Error(w, "unknown or expired setup state: start again at /setup", http.StatusBadRequest)
		return
	}
	// Refuse before using the code: it works once, and the file must not
	// be overwritten.
	if _, err := os.Stat(f.p.SetupOutputPath); err == nil {
		http.Error(w, "the credentials file exists already; it is not overwritten", http.StatusConflict)
		return
	} else if !errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "cannot check the credentials file", http.StatusInternalServerError)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	cfg, _, err := f.clients.Anonymous().Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		f.log.Error("exchanging the manifest code failed", "error", err.Error())
		http.Error(w, "GitHub did not accept the code (it works once and expires after an hour): start again at /setup", http.StatusBadGateway)
		return
	}
	creds := Credentials{
		AppID: cfg.GetID(), Slug: cfg.GetSlug(), Name: cfg.GetName(), HTMLURL: cfg.GetHTMLURL(),
		ClientID: cfg.GetClientID(), ClientSecret: cfg.GetClientSecret(), WebhookSecret: cfg.GetWebhookSecret(), PEM: cfg.GetPEM(),
	}
	if err := writeCredentials(f.p.SetupOutputPath, creds); err != nil {
		f.log.Error("writing the App credentials failed", "path", f.p.SetupOutputPath, "error", err.Error())
		status := http.StatusInternalServerError
		if errors.Is(err, fs.ErrExist) {
			status = http.StatusConflict
		}
		http.Error(w, "could not write the credentials file; see the service's log", status)
		return
	}
	f.log.Info("GitHub App created through the manifest flow", "app_id", creds.AppID, "slug", creds.Slug, "path", f.p.SetupOutputPath)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = donePage().Execute(w, map[string]any{"Slug": creds.Slug, "Path": f.p.SetupOutputPath, "HTML": creds.HTMLURL})
}

// writeCredentials creates path with mode 0600, refusing to replace an
// existing file.
func writeCredentials(path string, c Credentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the credentials: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	// The umask can only take bits away from 0600, but a filesystem
	// that ignores the mode at creation is told again.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("restricting %s to its owner: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
