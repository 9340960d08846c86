package githubfake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v62/github"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func rawCall(t *testing.T, f *Fake, method, path, auth string) (int, string) {
	t.Helper()
	var body io.Reader
	if method != http.MethodGet {
		body = strings.NewReader(`{"body":"x"}`)
	}
	req, err := http.NewRequest(method, f.URL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	return resp.StatusCode, answer.Message
}

// TestAppJWT checks GitHub's rules for App JWTs on /app endpoints.
func TestAppJWT(t *testing.T) {
	f := New(t)
	inst := f.Install("acme", f.AddRepo("acme/billing"))
	appID := strconv.FormatInt(f.App().ID, 10)
	now := time.Now()
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signWith := func(key *rsa.PrivateKey, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "iss": appID}).SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		auth       string
		wantStatus int
		wantMsg    string
	}{
		{"valid", "Bearer " + f.AppJWT(9*time.Minute), 200, ""},
		{"iss as number", "Bearer " + f.SignJWT(jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "iss": f.App().ID}), 200, ""},
		{"expired", "Bearer " + f.SignJWT(jwt.MapClaims{"iat": now.Add(-20 * time.Minute).Unix(), "exp": now.Add(-11 * time.Minute).Unix(), "iss": appID}), 401, msgJWTExpired},
		{"exp more than 10 minutes after iat", "Bearer " + f.SignJWT(jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(11 * time.Minute).Unix(), "iss": appID}), 401, msgJWTTooLong},
		{"iat in the future", "Bearer " + f.SignJWT(jwt.MapClaims{"iat": now.Add(5 * time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix(), "iss": appID}), 401, msgJWTIssuedLater},
		{"missing exp", "Bearer " + f.SignJWT(jwt.MapClaims{"iat": now.Unix(), "iss": appID}), 401, msgJWTExpired},
		{"signed by another key", "Bearer " + signWith(otherKey, jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "iss": appID}), 401, msgJWTUndecodable},
		{"HS256", "Bearer " + hs256, 401, msgJWTUndecodable},
		{"unknown issuer", "Bearer " + f.SignJWT(jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "iss": "999999"}), 401, msgJWTIssuer},
		{"garbage", "Bearer a.b.c", 401, msgJWTUndecodable},
		{"installation token", "token " + f.InstallationToken(inst), 401, msgJWTUndecodable},
		{"no credentials", "", 401, msgRequiresAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := rawCall(t, f, http.MethodGet, "app", tt.auth)
			if status != tt.wantStatus || (tt.wantMsg != "" && msg != tt.wantMsg) {
				t.Fatalf("GET /app = %d %q, want %d %q", status, msg, tt.wantStatus, tt.wantMsg)
			}
		})
	}
}

// TestInstallationTokens covers token issue, expiry and scope.
func TestInstallationTokens(t *testing.T) {
	clock := &testClock{now: time.Now()}
	f := New(t, WithClock(clock.Now))
	billing := f.AddRepo("acme/billing")
	other := f.AddRepo("acme/other")
	inst := f.Install("acme", billing, other)
	app := jwtClient(t, f)

	tok, _, err := app.Apps.CreateInstallationToken(t.Context(), inst.ID, &github.InstallationTokenOptions{Repositories: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.GetExpiresAt().Sub(clock.Now()); got < 59*time.Minute || got > time.Hour {
		t.Fatalf("token lifetime %v, want an hour", got)
	}
	if len(tok.Repositories) != 1 || tok.Repositories[0].GetName() != "billing" {
		t.Fatalf("token repositories = %v", tok.Repositories)
	}
	auth := "token " + tok.GetToken()
	if status, _ := rawCall(t, f, http.MethodGet, "repos/acme/billing", auth); status != 200 {
		t.Fatalf("scoped repo: %d", status)
	}
	if status, _ := rawCall(t, f, http.MethodGet, "repos/acme/other", auth); status != 404 {
		t.Fatalf("private repo outside the token's scope: %d, want 404", status)
	}
	// Bearer works as well as token.
	if status, _ := rawCall(t, f, http.MethodGet, "repos/acme/billing", "Bearer "+tok.GetToken()); status != 200 {
		t.Fatalf("Bearer token: %d", status)
	}

	_, _, err = app.Apps.CreateInstallationToken(t.Context(), inst.ID, &github.InstallationTokenOptions{Repositories: []string{"elsewhere"}})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 {
		t.Fatalf("token for a repository outside the installation: %v, want 422", err)
	}

	clock.Advance(61 * time.Minute)
	if status, msg := rawCall(t, f, http.MethodGet, "repos/acme/billing", auth); status != 401 || msg != msgBadCredentials {
		t.Fatalf("expired token: %d %q, want 401 Bad credentials", status, msg)
	}

	fresh := f.InstallationToken(inst)
	f.ExpireTokens()
	if status, msg := rawCall(t, f, http.MethodGet, "repos/acme/billing", "token "+fresh); status != 401 || msg != msgBadCredentials {
		t.Fatalf("token after ExpireTokens: %d %q", status, msg)
	}
	if status, msg := rawCall(t, f, http.MethodGet, "repos/acme/billing", "token ghs_never_issued"); status != 401 || msg != msgBadCredentials {
		t.Fatalf("unknown token: %d %q", status, msg)
	}
}

// TestRepositoryAccess proves GitHub's visibility answers: private
// repositories a caller cannot see are 404, public ones are readable but
// not writable, and missing installation permissions are 403.
func TestRepositoryAccess(t *testing.T) {
	f := New(t)
	mine := f.AddRepo("acme/billing")
	private := f.AddRepo("globex/secret")
	public := f.AddRepo("globex/open")
	public.SetPrivate(false)
	inst := f.Install("acme", mine)
	tok := "token " + f.InstallationToken(inst)
	jwtAuth := "Bearer " + f.AppJWT(5*time.Minute)

	noChecks := f.Install("acme", mine)
	f.SetPermission(noChecks, "checks", "")
	weak := "token " + f.InstallationToken(noChecks)

	tests := []struct {
		name, method, path, auth string
		want                     int
	}{
		{"own private repo", "GET", "repos/acme/billing", tok, 200},
		{"someone else's private repo", "GET", "repos/globex/secret", tok, 404},
		{"someone else's public repo, read", "GET", "repos/globex/open", tok, 200},
		{"someone else's public repo, write", "POST", "repos/globex/open/issues/1/comments", tok, 403},
		{"anonymous private", "GET", "repos/acme/billing", "", 404},
		{"anonymous public read", "GET", "repos/globex/open", "", 200},
		{"app JWT on a repository endpoint", "GET", "repos/acme/billing", jwtAuth, 404},
		{"missing checks permission", "GET", "repos/acme/billing/check-runs/1", weak, 403},
		{"unknown repository", "GET", "repos/acme/nope", tok, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, msg := rawCall(t, f, tt.method, tt.path, tt.auth); status != tt.want {
				t.Fatalf("%s %s = %d %q, want %d", tt.method, tt.path, status, msg, tt.want)
			}
		})
	}
	_ = private
}

// TestGhinstallationRefreshesExpiredTokens: with short-lived tokens
// ghinstallation asks for a new one before each use, and every call
// succeeds.
func TestGhinstallationRefreshesExpiredTokens(t *testing.T) {
	e := newEnv(t, WithTokenTTL(30*time.Second))
	for i := 0; i < 3; i++ {
		if _, _, err := e.gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.f.Count("apps/create-installation-access-token"); n != 3 {
		t.Fatalf("tokens requested = %d, want 3 (one per call, each expiring within a minute)", n)
	}
}
