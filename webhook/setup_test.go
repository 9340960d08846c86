package webhook

import (
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// TestManifestMatchesDeploy keeps the Go manifest and the one in deploy/
// in step.
func TestManifestMatchesDeploy(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "github-app-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var deployed Manifest
	if err := json.Unmarshal(raw, &deployed); err != nil {
		t.Fatalf("deploy/github-app-manifest.json: %v", err)
	}
	ours := AppManifest("https://example.invalid")
	if !reflect.DeepEqual(deployed.DefaultPermissions, ours.DefaultPermissions) {
		t.Errorf("permissions differ:\n deploy %v\n go     %v", deployed.DefaultPermissions, ours.DefaultPermissions)
	}
	a, b := append([]string(nil), deployed.DefaultEvents...), append([]string(nil), ours.DefaultEvents...)
	sort.Strings(a)
	sort.Strings(b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("events differ:\n deploy %v\n go     %v", a, b)
	}
	if deployed.Public != ours.Public || deployed.HookAttributes.Active != ours.HookAttributes.Active || deployed.Name != ours.Name {
		t.Errorf("deploy manifest: public %v, active %v, name %q", deployed.Public, deployed.HookAttributes.Active, deployed.Name)
	}
}

func TestWebURL(t *testing.T) {
	tests := []struct{ api, web string }{
		{"https://api.github.com", "https://github.com/"},
		{"https://api.github.com/", "https://github.com/"},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/"},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com/"},
		{"http://127.0.0.1:4000/", "http://127.0.0.1:4000/"},
	}
	for _, tt := range tests {
		p, err := Config{APIURL: tt.api, SetupEnabled: true, SetupOutputPath: "x"}.validate()
		if err != nil {
			t.Fatal(err)
		}
		if got := p.webURL.String(); got != tt.web {
			t.Errorf("%s: web %s, want %s", tt.api, got, tt.web)
		}
	}
}

// TestSetupFlow drives the manifest flow: the page's form, the state
// check, the code exchange and the 0600 credentials file.
func TestSetupFlow(t *testing.T) {
	f := githubfake.New(t)
	out := filepath.Join(t.TempDir(), "app.json")
	srv, err := New(Config{APIURL: f.URL(), SetupEnabled: true, SetupOutputPath: out, WebURL: "https://ghe.example.com/", PublicURL: "https://guard.example.com",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, srv)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		resp, err := client.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, page := get("/setup?org=acme")
	if code != 200 {
		t.Fatalf("setup page: %d", code)
	}
	action := between(page, `action="`, `"`)
	u, err := url.Parse(html.UnescapeString(action))
	if err != nil || u.Host != "ghe.example.com" || u.Path != "/organizations/acme/settings/apps/new" {
		t.Fatalf("form action %q", action)
	}
	state := u.Query().Get("state")
	if len(state) < 32 {
		t.Fatalf("state %q", state)
	}
	var m Manifest
	if err := json.Unmarshal([]byte(html.UnescapeString(between(page, `name="manifest" value="`, `"`))), &m); err != nil {
		t.Fatalf("manifest in the form: %v", err)
	}
	if m.HookAttributes.URL != "https://guard.example.com/webhook" || m.RedirectURL != "https://guard.example.com/setup/callback" || m.DefaultPermissions["checks"] != "write" {
		t.Errorf("manifest: %+v", m)
	}
	if code, _ := get("/webhook"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook: %d", code)
	}

	creds := f.AddManifestCode("good-code")
	if code, _ := get("/setup/callback?code=good-code&state=forged"); code != http.StatusBadRequest {
		t.Errorf("forged state: %d", code)
	}
	if code, body := get("/setup/callback?code=good-code&state=" + state); code != 200 {
		t.Fatalf("callback: %d %s", code, body)
	}
	if code, _ := get("/setup/callback?code=good-code&state=" + state); code != http.StatusBadRequest {
		t.Errorf("a state works twice: %d", code)
	}
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v", info.Mode().Perm())
	}
	got, err := ReadCredentials(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.AppID != creds.ID || got.PEM != creds.PEM || got.WebhookSecret != creds.WebhookSecret || got.ClientSecret != creds.ClientSecret || got.Slug != creds.Slug {
		t.Errorf("credentials: %+v", got)
	}

	// Set up already: the page says so, and the file is never replaced.
	if _, page := get("/setup"); !strings.Contains(page, "already written") {
		t.Error("setup page offers to set up again")
	}
	f.AddManifestCode("second")
	srv.setup.mu.Lock()
	srv.setup.states["s2"] = farFuture()
	srv.setup.mu.Unlock()
	if code, _ := get("/setup/callback?code=second&state=s2"); code != http.StatusConflict {
		t.Errorf("overwrite: %d", code)
	}
	if f.Count("apps/create-from-manifest") != 1 {
		t.Error("the second code was spent though the file exists")
	}
	// Without App credentials, webhooks are refused and not ready.
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz without an App: %d", code)
	}
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

func farFuture() time.Time { return time.Now().Add(time.Hour) }
