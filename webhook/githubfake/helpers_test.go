package githubfake

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"
)

// env is the usual setup: an org repository with a migration on main, a
// feature branch changing it, an open pull request, the App installed.
type env struct {
	f      *Fake
	repo   *Repo
	inst   *Installation
	author *User
	pr     *PullRequest
	gh     *github.Client
	ctx    context.Context
}

const baseMigration = "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  email text NOT NULL\n);\n"

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	f := New(t, append([]Option{WithResponseValidation()}, opts...)...)
	repo := f.AddRepo("acme/billing")
	inst := f.Install("acme", repo)
	author := f.AddUser("alice")
	f.SetRole(repo, author, "write")
	repo.Commit(map[string]string{"migrations/001_users.sql": baseMigration})
	repo.CommitOn("feature", map[string]string{
		"migrations/001_users.sql":  baseMigration + "CREATE INDEX users_email ON users (email);\n",
		"migrations/002_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
	})
	pr, _ := f.OpenPR(repo, PROptions{Author: author, Head: "feature", Title: "Add orders"})
	return &env{f: f, repo: repo, inst: inst, author: author, pr: pr, gh: appClient(t, f, inst), ctx: context.Background()}
}

// appClient is a go-github client authenticated the way the App does it:
// ghinstallation exchanging an App JWT for installation tokens.
func appClient(t *testing.T, f *Fake, inst *Installation) *github.Client {
	t.Helper()
	itr, err := ghinstallation.New(http.DefaultTransport, f.App().ID, inst.ID, f.PrivateKeyPEM())
	if err != nil {
		t.Fatalf("creating installation transport: %v", err)
	}
	itr.BaseURL = strings.TrimSuffix(f.URL(), "/")
	gh, err := github.NewClient(&http.Client{Transport: itr, Timeout: 10 * time.Second}).WithEnterpriseURLs(f.URL(), f.URL())
	if err != nil {
		t.Fatalf("pointing go-github at the fake: %v", err)
	}
	return gh
}

// tokenClient uses a raw installation token, for tests that manage
// tokens themselves.
func tokenClient(t *testing.T, f *Fake, tok string) *github.Client {
	t.Helper()
	gh, err := github.NewClient(nil).WithAuthToken(tok).WithEnterpriseURLs(f.URL(), f.URL())
	if err != nil {
		t.Fatalf("pointing go-github at the fake: %v", err)
	}
	return gh
}

// jwtClient authenticates as the App itself.
func jwtClient(t *testing.T, f *Fake) *github.Client {
	t.Helper()
	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, f.App().ID, f.PrivateKeyPEM())
	if err != nil {
		t.Fatalf("creating apps transport: %v", err)
	}
	atr.BaseURL = strings.TrimSuffix(f.URL(), "/")
	gh, err := github.NewClient(&http.Client{Transport: atr}).WithEnterpriseURLs(f.URL(), f.URL())
	if err != nil {
		t.Fatalf("pointing go-github at the fake: %v", err)
	}
	return gh
}

// violationRecorder is a TB that collects what the fake reports, so a
// test can assert a violation happened without failing.
type violationRecorder struct {
	mu     sync.Mutex
	errors []string
}

func (r *violationRecorder) Helper() {}

func (r *violationRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, sprintf(format, args...))
}
