package githubfake

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// token is an installation access token.
type token struct {
	value       string
	inst        *Installation
	expiresAt   time.Time
	repoIDs     map[int64]bool // nil: every repository of the installation
	permissions map[string]string
}

// credential is who a request authenticated as.
type credential struct {
	kind  string // "app" (JWT), "installation" (token), "anonymous"
	app   *App
	token *token
}

func (c *credential) rateKey(r *http.Request) string {
	switch c.kind {
	case "app":
		return fmt.Sprintf("app:%d", c.app.ID)
	case "installation":
		// GitHub counts an installation's calls across all its tokens, so
		// refreshing a token does not reset the limit.
		return fmt.Sprintf("installation:%d", c.token.inst.ID)
	}
	return "anonymous:" + strings.Split(r.RemoteAddr, ":")[0]
}

type authError struct {
	status  int
	message string
}

func (e *authError) Error() string { return e.message }

// GitHub's answers to bad App JWTs, verbatim, because Apps (and their
// logs) match on them.
const (
	msgJWTUndecodable = "A JSON web token could not be decoded"
	msgJWTExpired     = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	msgJWTTooLong     = "'Expiration time' claim ('exp') is too far in the future"
	msgJWTIssuedLater = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	msgJWTIssuer      = "'Issuer' claim ('iss') must be an Integer"
	msgBadCredentials = "Bad credentials"
	msgRequiresAuth   = "Requires authentication"
	msgNotAccessible  = "Resource not accessible by integration"
)

// authenticate reads the Authorization header. It does not decide what
// the credential may do; handlers and authorize do.
func (f *Fake) authenticate(r *http.Request) (*credential, *authError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return &credential{kind: "anonymous"}, nil
	}
	scheme, value, ok := strings.Cut(h, " ")
	if !ok {
		return nil, &authError{http.StatusUnauthorized, msgBadCredentials}
	}
	switch strings.ToLower(scheme) {
	case "bearer", "token":
	default:
		return nil, &authError{http.StatusUnauthorized, msgBadCredentials}
	}
	value = strings.TrimSpace(value)
	if strings.Count(value, ".") == 2 {
		app, err := f.verifyJWT(value)
		if err != nil {
			return nil, err
		}
		return &credential{kind: "app", app: app}, nil
	}
	tok, ok := f.tokens[value]
	if !ok || !f.now().Before(tok.expiresAt) {
		return nil, &authError{http.StatusUnauthorized, msgBadCredentials}
	}
	return &credential{kind: "installation", token: tok}, nil
}

// verifyJWT applies GitHub's rules for App JWTs: RS256, signed by the
// App's key, iss the App id (or client id), iat not in the future (60 s
// leeway for clock drift), exp in the future and at most 10 minutes after
// iat.
func (f *Fake) verifyJWT(raw string) (*App, *authError) {
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(jwt.WithoutClaimsValidation(), jwt.WithValidMethods([]string{"RS256"}))
	_, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		app := f.jwtIssuer(claims)
		if app == nil || app.key == nil {
			return nil, errors.New("unknown issuer")
		}
		return &app.key.PublicKey, nil
	})
	if err != nil {
		if f.jwtIssuer(claims) == nil {
			if _, ok := claims["iss"]; ok {
				return nil, &authError{http.StatusUnauthorized, msgJWTIssuer}
			}
		}
		return nil, &authError{http.StatusUnauthorized, msgJWTUndecodable}
	}
	app := f.jwtIssuer(claims)
	iat, okIat := numericClaim(claims["iat"])
	exp, okExp := numericClaim(claims["exp"])
	now := f.now().Unix()
	switch {
	case !okExp || exp <= now:
		return nil, &authError{http.StatusUnauthorized, msgJWTExpired}
	case !okIat || iat > now+60:
		return nil, &authError{http.StatusUnauthorized, msgJWTIssuedLater}
	case exp-iat > 600:
		return nil, &authError{http.StatusUnauthorized, msgJWTTooLong}
	}
	return app, nil
}

func (f *Fake) jwtIssuer(claims jwt.MapClaims) *App {
	switch iss := claims["iss"].(type) {
	case string:
		if id, err := strconv.ParseInt(iss, 10, 64); err == nil {
			return f.apps[id]
		}
		for _, a := range f.apps {
			if a.ClientID == iss {
				return a
			}
		}
	case float64:
		return f.apps[int64(iss)]
	}
	return nil
}

func numericClaim(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func newTokenValue() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("githubfake: reading random bytes: %v", err))
	}
	return "ghs_" + hex.EncodeToString(b[:])
}

func (f *Fake) issueToken(inst *Installation, repoIDs map[int64]bool, perms map[string]string) *token {
	if perms == nil {
		perms = map[string]string{}
		for k, v := range inst.Permissions {
			perms[k] = v
		}
	}
	t := &token{value: newTokenValue(), inst: inst, expiresAt: f.now().Add(f.cfg.tokenTTL).Truncate(time.Second), repoIDs: repoIDs, permissions: perms}
	f.tokens[t.value] = t
	return t
}

// InstallationToken issues a token for inst directly, for tests that call
// the API without going through POST .../access_tokens.
func (f *Fake) InstallationToken(inst *Installation) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issueToken(inst, nil, nil).value
}

// ExpireTokens makes every token issued so far expired, so the App's next
// call with one gets 401 "Bad credentials".
func (f *Fake) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	past := f.now().Add(-time.Second)
	for _, t := range f.tokens {
		t.expiresAt = past
	}
}

// AppJWT signs a JWT for the App valid from now for lifetime, as
// ghinstallation would.
func (f *Fake) AppJWT(lifetime time.Duration) string {
	now := f.now()
	return f.SignJWT(jwt.MapClaims{
		"iat": now.Add(-30 * time.Second).Unix(),
		"exp": now.Add(lifetime).Unix(),
		"iss": strconv.FormatInt(f.app.ID, 10),
	})
}

// SignJWT signs arbitrary claims with the App's key, for tests of bad JWTs.
func (f *Fake) SignJWT(claims jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(f.app.key)
	if err != nil {
		panic(fmt.Sprintf("githubfake: signing JWT: %v", err))
	}
	return s
}

var permissionLevels = map[string]int{"read": 1, "write": 2, "admin": 3}

// permissionFor names the installation permission an operation needs.
// Comments on pull requests are allowed with either issues or
// pull_requests, as on GitHub.
var permissionFor = map[string][2]string{
	"pulls/get":                               {"pull_requests", "read"},
	"pulls/list":                              {"pull_requests", "read"},
	"pulls/list-files":                        {"pull_requests", "read"},
	"pulls/list-commits":                      {"pull_requests", "read"},
	"pulls/list-reviews":                      {"pull_requests", "read"},
	"pulls/list-review-comments":              {"pull_requests", "read"},
	"pulls/get-review-comment":                {"pull_requests", "read"},
	"pulls/create-review":                     {"pull_requests", "write"},
	"pulls/create-review-comment":             {"pull_requests", "write"},
	"pulls/update-review-comment":             {"pull_requests", "write"},
	"pulls/delete-review-comment":             {"pull_requests", "write"},
	"pulls/create-reply-for-review-comment":   {"pull_requests", "write"},
	"repos/get":                               {"metadata", "read"},
	"repos/get-branch":                        {"contents", "read"},
	"repos/get-content":                       {"contents", "read"},
	"repos/get-commit":                        {"contents", "read"},
	"repos/compare-commits-with-basehead":     {"contents", "read"},
	"git/get-tree":                            {"contents", "read"},
	"git/get-blob":                            {"contents", "read"},
	"checks/create":                           {"checks", "write"},
	"checks/update":                           {"checks", "write"},
	"checks/rerequest-run":                    {"checks", "write"},
	"checks/get":                              {"checks", "read"},
	"checks/get-suite":                        {"checks", "read"},
	"checks/list-for-ref":                     {"checks", "read"},
	"issues/list-comments":                    {"issues|pull_requests", "read"},
	"issues/get-comment":                      {"issues|pull_requests", "read"},
	"issues/create-comment":                   {"issues|pull_requests", "write"},
	"issues/update-comment":                   {"issues|pull_requests", "write"},
	"issues/delete-comment":                   {"issues|pull_requests", "write"},
	"repos/get-collaborator-permission-level": {"metadata", "read"},
	"teams/get-membership-for-user-in-org":    {"members", "read"},
}

func (t *token) allows(op string) bool {
	need, ok := permissionFor[op]
	if !ok {
		return true
	}
	for _, name := range strings.Split(need[0], "|") {
		if permissionLevels[t.permissions[name]] >= permissionLevels[need[1]] {
			return true
		}
	}
	return false
}

func (t *token) covers(f *Fake, r *Repo) bool {
	if !t.inst.covers(f, r) {
		return false
	}
	return t.repoIDs == nil || t.repoIDs[r.ID]
}

// authorizeRepo decides whether cred may call op on repo, answering as
// GitHub does: a private repository the caller cannot see does not exist
// (404); a public one can be read but not written (403 for tokens, 401
// without credentials).
func (f *Fake) authorizeRepo(cred *credential, op, method string, repo *Repo) *authError {
	write := method != http.MethodGet
	switch cred.kind {
	case "app":
		// An App JWT only reaches /app endpoints; GitHub answers a JWT on a
		// repository endpoint like a request it cannot attribute.
		if repo.Private {
			return &authError{http.StatusNotFound, "Not Found"}
		}
		return &authError{http.StatusForbidden, msgNotAccessible}
	case "anonymous":
		if repo.Private {
			return &authError{http.StatusNotFound, "Not Found"}
		}
		if write {
			return &authError{http.StatusUnauthorized, msgRequiresAuth}
		}
		return nil
	}
	if !cred.token.covers(f, repo) {
		if repo.Private {
			return &authError{http.StatusNotFound, "Not Found"}
		}
		if write {
			return &authError{http.StatusForbidden, msgNotAccessible}
		}
		return nil
	}
	if !cred.token.allows(op) {
		return &authError{http.StatusForbidden, msgNotAccessible}
	}
	return nil
}

// WorkflowToken issues a GitHub Actions workflow token (GITHUB_TOKEN) for
// one repository. On GitHub it is an installation token of the GitHub
// Actions App, bound to the repository whose workflow runs, with the
// permissions the workflow's `permissions:` grant: so it is here, for
// actions (added with AddApp), and it is refused on every other
// repository like any token bound to selected repositories.
func (f *Fake) WorkflowToken(actions *App, repo *Repo, perms map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	inst := &Installation{
		ID: f.id(), Account: repo.Owner, App: actions, Permissions: perms,
		repos: map[int64]*Repo{repo.ID: repo},
	}
	f.installs[inst.ID] = inst
	p := map[string]string{"metadata": "read"}
	for k, v := range perms {
		p[k] = v
	}
	inst.Permissions = p
	return f.issueToken(inst, map[int64]bool{repo.ID: true}, p).value
}
