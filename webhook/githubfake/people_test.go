package githubfake

import (
	"strconv"
	"time"

	"encoding/json"
	"errors"
	"github.com/golang-jwt/jwt/v4"
	"net/http"
	"testing"

	"github.com/google/go-github/v62/github"
)

// TestAppCommentsAreTheBots: what the App writes is authored by its bot
// user and carries performed_via_github_app.
func TestAppCommentsAreTheBots(t *testing.T) {
	e := newEnv(t)
	c, _, err := e.gh.Issues.CreateComment(e.ctx, "acme", "billing", e.pr.Number, &github.IssueComment{Body: github.String("checklist")})
	if err != nil {
		t.Fatal(err)
	}
	if c.GetUser().GetLogin() != "migration-guard[bot]" || c.GetUser().GetType() != "Bot" {
		t.Fatalf("author = %s (%s)", c.GetUser().GetLogin(), c.GetUser().GetType())
	}
	// go-github v62 has no field for performed_via_github_app; read it raw.
	req, _ := e.gh.NewRequest(http.MethodGet, sprintf("repos/acme/billing/issues/comments/%d", c.GetID()), nil)
	var raw map[string]any
	if _, err := e.gh.Do(e.ctx, req, &raw); err != nil {
		t.Fatal(err)
	}
	app, _ := raw["performed_via_github_app"].(map[string]any)
	if app["slug"] != "migration-guard" || app["id"] != float64(e.f.App().ID) {
		t.Fatalf("performed_via_github_app = %v", raw["performed_via_github_app"])
	}
	stored := e.f.IssueComments(e.pr)
	if len(stored) != 1 || stored[0].App != e.f.App() || stored[0].Author != e.f.App().Bot {
		t.Fatalf("stored = %+v", stored)
	}
}

// TestAnyoneWithWriteAccessEditsAnyComment: the App's sticky comment can
// be edited by collaborators with write access or more, and the edit
// history and webhook show who did it.
func TestAnyoneWithWriteAccessEditsAnyComment(t *testing.T) {
	e := newEnv(t)
	c, _, err := e.gh.Issues.CreateComment(e.ctx, "acme", "billing", e.pr.Number, &github.IssueComment{Body: github.String("- [ ] approve")})
	if err != nil {
		t.Fatal(err)
	}
	roles := []struct {
		role    string
		canEdit bool
	}{
		{"read", false}, {"triage", false}, {"write", true}, {"maintain", true}, {"admin", true}, {"", false},
	}
	for _, r := range roles {
		t.Run("role "+r.role, func(t *testing.T) {
			u := e.f.AddUser("user-" + r.role)
			if r.role != "" {
				e.f.SetRole(e.repo, u, r.role)
			}
			d, err := e.f.EditComment(u, c.GetID(), "- [x] approve by "+u.Login)
			if (err == nil) != r.canEdit {
				t.Fatalf("edit by %s: err = %v, want allowed=%v", r.role, err, r.canEdit)
			}
			if !r.canEdit {
				return
			}
			var p struct {
				Sender  struct{ Login string } `json:"sender"`
				Changes struct {
					Body struct{ From string } `json:"body"`
				} `json:"changes"`
				Comment struct {
					Body string
					User struct{ Login string }
				} `json:"comment"`
			}
			if err := json.Unmarshal(d.Payload, &p); err != nil {
				t.Fatal(err)
			}
			if p.Sender.Login != u.Login || p.Comment.User.Login != "migration-guard[bot]" || p.Comment.Body != "- [x] approve by "+u.Login || p.Changes.Body.From == "" {
				t.Fatalf("payload = %+v", p)
			}
		})
	}
	// The author may always edit their own comment.
	own, _ := e.f.Comment(e.author, e.pr, "mine")
	outsider := e.f.AddUser("outsider")
	mine, _ := e.f.Comment(outsider, e.pr, "drive-by")
	if _, err := e.f.EditComment(outsider, mine.ID, "edited"); err != nil {
		t.Fatalf("author editing own comment: %v", err)
	}
	_ = own
	history := e.f.IssueComments(e.pr)[0].Edits
	if len(history) != 3 || history[0].From != "- [ ] approve" || history[0].Editor.Login != "user-write" {
		t.Fatalf("edit history = %+v", history)
	}
}

func TestCollaboratorPermission(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		login, role, base   string
		wantPermission      string
		wantRoleName        string
		wantPush, wantAdmin bool
	}{
		{"reader", "read", "read", "read", "read", false, false},
		{"triager", "triage", "triage", "read", "triage", false, false},
		{"writer", "write", "write", "write", "write", true, false},
		{"maintainer", "maintain", "maintain", "write", "maintain", true, false},
		{"administrator", "admin", "admin", "admin", "admin", true, true},
		{"dba", "db-reviewer", "write", "write", "db-reviewer", true, false},
		{"stranger", "", "", "none", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.login, func(t *testing.T) {
			u := e.f.AddUser(tt.login)
			if tt.role != "" {
				e.f.SetCustomRole(e.repo, u, tt.role, tt.base)
			}
			p, _, err := e.gh.Repositories.GetPermissionLevel(e.ctx, "acme", "billing", tt.login)
			if err != nil {
				t.Fatal(err)
			}
			if p.GetPermission() != tt.wantPermission || p.GetUser().GetRoleName() != tt.wantRoleName ||
				p.GetUser().GetPermissions()["push"] != tt.wantPush || p.GetUser().GetPermissions()["admin"] != tt.wantAdmin {
				t.Fatalf("permission=%s role_name=%s perms=%v", p.GetPermission(), p.GetUser().GetRoleName(), p.GetUser().GetPermissions())
			}
		})
	}
	_, resp, err := e.gh.Repositories.GetPermissionLevel(e.ctx, "acme", "billing", "nobody-at-all")
	if resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestTeamMembership(t *testing.T) {
	e := newEnv(t)
	dba := e.f.AddUser("dba")
	invited := e.f.AddUser("invited")
	e.f.AddTeamMember("acme", "db-owners", dba, "maintainer", false)
	e.f.AddTeamMember("acme", "db-owners", invited, "member", true)
	tests := []struct {
		org, team, user string
		want            int
		role, state     string
	}{
		{"acme", "db-owners", "dba", 200, "maintainer", "active"},
		{"acme", "db-owners", "invited", 200, "member", "pending"},
		{"acme", "db-owners", "alice", 404, "", ""},
		{"acme", "nope", "dba", 404, "", ""},
		{"globex", "db-owners", "dba", 404, "", ""},
	}
	for _, tt := range tests {
		m, resp, err := e.gh.Teams.GetTeamMembershipBySlug(e.ctx, tt.org, tt.team, tt.user)
		if resp == nil || resp.StatusCode != tt.want {
			t.Fatalf("%+v: %v", tt, err)
		}
		if tt.want == 200 && (m.GetRole() != tt.role || m.GetState() != tt.state) {
			t.Fatalf("%+v: role %s state %s", tt, m.GetRole(), m.GetState())
		}
	}
	e.f.SetPermission(e.inst, "members", "")
	gh := tokenClient(t, e.f, e.f.InstallationToken(e.inst))
	_, resp, _ := gh.Teams.GetTeamMembershipBySlug(e.ctx, "acme", "db-owners", "dba")
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without members permission: %v", resp)
	}
}

func TestManifestConversion(t *testing.T) {
	f := New(t, WithResponseValidation())
	creds := f.AddManifestCode("abc123")
	gh, err := github.NewClient(nil).WithEnterpriseURLs(f.URL(), f.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := gh.Apps.CompleteAppManifest(t.Context(), "abc123")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GetID() != creds.ID || cfg.GetSlug() != creds.Slug || cfg.GetPEM() != creds.PEM || cfg.GetWebhookSecret() != creds.WebhookSecret || cfg.GetClientID() != creds.ClientID || cfg.GetClientSecret() != creds.ClientSecret {
		t.Fatalf("conversion = %+v, want %+v", cfg, creds)
	}
	// The new App can authenticate with the key it was given.
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(cfg.GetPEM()))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "iss": strconv.FormatInt(creds.ID, 10)}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	me, _, err := gh.WithAuthToken(signed).Apps.Get(t.Context(), "")
	if err != nil || me.GetSlug() != creds.Slug {
		t.Fatalf("GET /app as the new App: %v %v", me, err)
	}
	_, _, err = gh.Apps.CompleteAppManifest(t.Context(), "abc123")
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusNotFound {
		t.Fatalf("second use of a code: %v, want 404", err)
	}
	_, _, err = gh.Apps.CompleteAppManifest(t.Context(), "never-registered")
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown code: %v, want 404", err)
	}
}
