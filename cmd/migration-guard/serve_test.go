package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/checklist"
	"github.com/migration-guard/migration-guard/internal/servetest"
	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

// served is the real binary running `serve` against the fake GitHub,
// through a proxy that records every credential the App sends, so that
// the test can look for them in the logs.
type served struct {
	*servetest.Process
	t     *testing.T
	f     *githubfake.Fake
	mu    sync.Mutex
	creds map[string]bool
}

func startServe(t *testing.T, f *githubfake.Fake, env ...string) *served {
	t.Helper()
	s := &served{t: t, f: f, creds: map[string]bool{}}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			_, cred, _ := strings.Cut(a, " ")
			s.mu.Lock()
			s.creds[cred] = true
			s.mu.Unlock()
		}
		f.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	s.Process = servetest.Start(t, binary, f, proxy.URL, append([]string{"LOG_LEVEL=debug"}, env...)...)
	return s
}

// waitJobs waits until n jobs have finished (ran or were superseded) and
// none waits or runs.
func (s *served) waitJobs(n int) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		done := s.Metric("migration_guard_jobs_total", "")
		// The queue's rows go only after their job ended: none left, none
		// waits or runs (a row claimed but not yet running included).
		if done >= float64(n) && s.Metric("migration_guard_jobs_running", "") == 0 && s.Metric("migration_guard_queue_jobs", "") == 0 &&
			s.Metric("migration_guard_queue_up", "") == 1 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%v of %d jobs done after 30s:\n%s", done, n, s.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *served) deliver(d *githubfake.Delivery, want int, opts ...githubfake.DeliveryOption) {
	s.t.Helper()
	got, err := s.f.Deliver(d, opts...)
	if err != nil {
		s.t.Fatal(err)
	}
	if got != want {
		s.t.Fatalf("%s.%s: %d, want %d (%s)", d.Event, d.Action, got, want, d.ResponseBody)
	}
}

func botRuns(f *githubfake.Fake, repo *githubfake.Repo, sha string) []githubfake.CheckRun {
	var out []githubfake.CheckRun
	for _, r := range f.CheckRuns(repo, sha) {
		if r.App.ID == f.App().ID && r.Name == checklist.CheckRunName {
			out = append(out, r)
		}
	}
	return out
}

func stickyComments(f *githubfake.Fake, pr *githubfake.PullRequest) []githubfake.IssueComment {
	var out []githubfake.IssueComment
	for _, c := range f.IssueComments(pr) {
		if checklist.IsStickyComment(c.Body) && c.Author.Login == f.App().Bot.Login {
			out = append(out, c)
		}
	}
	return out
}

func ruleComments(all []githubfake.ReviewComment, rule string) []githubfake.ReviewComment {
	var out []githubfake.ReviewComment
	for _, c := range all {
		if strings.Contains(c.Body, "`"+rule+"`") {
			out = append(out, c)
		}
	}
	return out
}

const (
	usersTable = "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  email text NOT NULL,\n  legacy text\n);\n"
	dropLegacy = "-- Clean up.\nALTER TABLE users DROP COLUMN legacy;\n"
)

// TestServeEndToEnd drives the built binary with the fake's real webhook
// payloads, through every flow a pull request goes through.
func TestServeEndToEnd(t *testing.T) {
	f := githubfake.New(t, githubfake.WithResponseValidation())
	repo := f.AddRepo("acme/billing")
	f.Install("acme", repo)
	alice := f.AddUser("alice")
	f.SetRole(repo, alice, "write")
	repo.Commit(map[string]string{"db/migrations/001_users.sql": usersTable})
	s := startServe(t, f)
	jobs := 0

	// 1. A dangerous migration: red check, inline comment, one sticky.
	repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": dropLegacy})
	pr, opened := f.OpenPR(repo, githubfake.PROptions{Author: alice, Head: "drop"})
	s.deliver(opened, http.StatusAccepted)
	jobs++
	s.waitJobs(jobs)
	runs := botRuns(f, repo, pr.HeadSHA)
	if len(runs) != 1 || runs[0].Conclusion != "action_required" || !strings.Contains(runs[0].Output.Summary, "| 1 | Drops") {
		t.Fatalf("check runs: %+v\n%s", runs, s.Logs)
	}
	drop := ruleComments(f.ReviewComments(pr), "drop-column")
	if len(drop) != 1 || drop[0].Path != "db/migrations/002_drop.sql" || drop[0].Line != 2 {
		t.Fatalf("drop-column comments: %+v", drop)
	}
	if n := len(stickyComments(f, pr)); n != 1 {
		t.Fatalf("%d sticky comments", n)
	}

	// 2. A redelivery and two concurrent duplicates change nothing.
	before := len(f.Mutations())
	s.deliver(opened, http.StatusAccepted)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, err := f.Deliver(f.PullRequestEvent(pr, "opened", alice)); err != nil || code != http.StatusAccepted {
				t.Errorf("duplicate: %d %v", code, err)
			}
		}()
	}
	wg.Wait()
	s.waitJobs(jobs + 1) // the two coalesce or run one after the other
	jobs = int(s.Metric("migration_guard_jobs_total", ""))
	if after := f.Mutations(); len(after) != before {
		t.Errorf("duplicates wrote: %+v", after[before:])
	}

	// 3. The fix: green, the comment resolved, still one sticky.
	fixed := repo.CommitOn("drop", map[string]string{"db/migrations/002_drop.sql": "ALTER TABLE users ADD COLUMN note text;\n"})
	s.deliver(f.Push(pr, fixed), http.StatusAccepted)
	jobs++
	s.waitJobs(jobs)
	if runs := botRuns(f, repo, fixed); len(runs) != 1 || runs[0].Conclusion != "success" {
		t.Fatalf("after the fix: %+v", runs)
	}
	drop = ruleComments(f.ReviewComments(pr), "drop-column")
	if m, _ := checklist.ParseFindingMarker(drop[0].Body); len(drop) != 1 || !m.Resolved {
		t.Errorf("drop-column comment not resolved: %+v", drop)
	}
	if sticky := stickyComments(f, pr); len(sticky) != 1 || strings.Contains(sticky[0].Body, "drop-column") {
		t.Errorf("sticky after the fix: %+v", sticky)
	}

	// 4. A head that switches the guard off is checked with the base's
	// configuration.
	repo.CommitOn("sneaky", map[string]string{
		".github/migration-guard.yml":    "migrations:\n  - path: nowhere\n",
		"db/migrations/002_drop_all.sql": "ALTER TABLE users DROP COLUMN email;\n",
	})
	sneaky, opened2 := f.OpenPR(repo, githubfake.PROptions{Author: alice, Head: "sneaky"})
	s.deliver(opened2, http.StatusAccepted)
	jobs++
	s.waitJobs(jobs)
	if runs := botRuns(f, repo, sneaky.HeadSHA); len(runs) != 1 || runs[0].Conclusion != "action_required" {
		t.Errorf("the head's configuration switched the guard off: %+v", runs)
	}

	// 5. No migration changes: green, no comment.
	repo.CommitOn("docs", map[string]string{"README.md": "# billing\n\nDocs.\n"})
	docs, opened3 := f.OpenPR(repo, githubfake.PROptions{Author: alice, Head: "docs"})
	s.deliver(opened3, http.StatusAccepted)
	jobs++
	s.waitJobs(jobs)
	if runs := botRuns(f, repo, docs.HeadSHA); len(runs) != 1 || runs[0].Conclusion != "success" || runs[0].Output.Title != "No migration changes" {
		t.Errorf("no-migration check: %+v", runs)
	}
	if n := len(f.IssueComments(docs)) + len(f.ReviewComments(docs)); n != 0 {
		t.Errorf("%d comments on a pull request without migrations", n)
	}

	// 6. A bad signature: 401 and no job.
	s.deliver(f.PullRequestEvent(docs, "synchronize", alice), http.StatusUnauthorized, githubfake.WrongSignature())

	if v := f.Violations(); len(v) != 0 {
		t.Errorf("contract violations: %+v", v)
	}
	s.Stop()
	logs := s.Logs.String()
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Errorf("no graceful stop in the logs")
	}
	assertNoSecrets(t, logs, s, f)
}

// assertNoSecrets looks for every credential the App used, its private
// key and its webhook secret in the logs.
func assertNoSecrets(t *testing.T, logs string, s *served, f *githubfake.Fake) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var tokens, jwts int
	for cred := range s.creds {
		if strings.HasPrefix(cred, "ghs_") {
			tokens++
		} else if strings.Count(cred, ".") == 2 {
			jwts++
		}
		if strings.Contains(logs, cred) {
			t.Errorf("a credential sent to GitHub is in the logs: %.12s…", cred)
		}
		// A JWT's signature alone is as bad.
		if i := strings.LastIndexByte(cred, '.'); i > 0 && strings.Contains(logs, cred[i+1:]) {
			t.Error("a JWT signature is in the logs")
		}
	}
	if tokens == 0 || jwts == 0 {
		t.Fatalf("the proxy saw %d tokens and %d JWTs: the test proves nothing", tokens, jwts)
	}
	for _, line := range strings.Split(string(f.PrivateKeyPEM()), "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(logs, line) {
			t.Error("a line of the private key is in the logs")
		}
	}
	if strings.Contains(logs, f.WebhookSecret()) {
		t.Error("the webhook secret is in the logs")
	}
	// Nor the key's body re-encoded some other way.
	der := strings.Join(strings.Split(strings.TrimSpace(string(f.PrivateKeyPEM())), "\n")[1:4], "")
	if raw, err := base64.StdEncoding.DecodeString(der[:len(der)/4*4]); err == nil && strings.Contains(logs, fmt.Sprintf("%x", raw[:16])) {
		t.Error("the private key, hex-encoded, is in the logs")
	}
	for _, want := range []string{`"delivery":`, `"event":"pull_request.opened"`, `"repository":"acme/billing"`, `"pull_request":`, `"head_sha":`, `"duration_ms":`, `"outcome":"action_required"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %s", want)
		}
	}
}

// TestServeRefusesToStart: exit status 2 and one clear line, never the
// key or the secret.
func TestServeRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	badKey := filepath.Join(dir, "bad.pem")
	secretKey := "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETKEYMATERIALxyz\n-----END RSA PRIVATE KEY-----\n"
	if err := os.WriteFile(badKey, []byte(secretKey), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"GITHUB_APP_ID=", "GITHUB_PRIVATE_KEY=", "GITHUB_PRIVATE_KEY_PATH=", "GITHUB_WEBHOOK_SECRET=", "SETUP_OUTPUT_PATH=", "LISTEN_ADDR=127.0.0.1:0"}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"nothing", nil, nil, "GITHUB_APP_ID is required"},
		{"no key", []string{"GITHUB_APP_ID=12"}, nil, "GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH is required"},
		{"no secret", []string{"GITHUB_APP_ID=12", "GITHUB_PRIVATE_KEY_PATH=" + badKey}, nil, "GITHUB_WEBHOOK_SECRET is required"},
		{"key does not parse", []string{"GITHUB_APP_ID=12", "GITHUB_PRIVATE_KEY_PATH=" + badKey, "GITHUB_WEBHOOK_SECRET=hushhushhush"}, nil, "the private key does not parse"},
		{"key inline does not parse", []string{"GITHUB_APP_ID=12", "GITHUB_PRIVATE_KEY=" + secretKey, "GITHUB_WEBHOOK_SECRET=hushhushhush"}, nil, "the private key does not parse"},
		{"key unreadable", []string{"GITHUB_APP_ID=12", "GITHUB_PRIVATE_KEY_PATH=" + filepath.Join(dir, "missing.pem"), "GITHUB_WEBHOOK_SECRET=hushhushhush"}, nil, "GITHUB_PRIVATE_KEY_PATH: cannot read"},
		{"both keys", []string{"GITHUB_APP_ID=12", "GITHUB_PRIVATE_KEY=x", "GITHUB_PRIVATE_KEY_PATH=" + badKey}, nil, "not both"},
		{"id not a number", []string{"GITHUB_APP_ID=twelve"}, nil, "GITHUB_APP_ID must be"},
		{"flag of the same name", nil, []string{"--GITHUB_APP_ID=abc"}, "GITHUB_APP_ID must be"},
		{"kebab flag", nil, []string{"--github-app-id", "-3"}, "GITHUB_APP_ID must be"},
		{"bad API URL", []string{"GITHUB_APP_ID=12", "GITHUB_PRIVATE_KEY_PATH=" + badKey, "GITHUB_WEBHOOK_SECRET=hushhushhush", "GITHUB_API_URL=ghe.example.com"}, nil, "GITHUB_API_URL must be"},
		{"bad duration", []string{"JOB_TIMEOUT=soon"}, nil, "JOB_TIMEOUT must be a duration"},
		{"setup without a path", []string{"SETUP_ENABLED=true"}, nil, "SETUP_OUTPUT_PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"serve"}, tt.args...)...)
			cmd.Env = append(append(os.Environ(), base...), tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr, cmd.Stdout = &stderr, io.Discard
			err := cmd.Run()
			var ee *exec.ExitError
			if !asExit(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want status 2\n%s", err, stderr.String())
			}
			out := stderr.String()
			if strings.Count(strings.TrimRight(out, "\n"), "\n") != 0 || !strings.Contains(out, tt.want) {
				t.Errorf("stderr %q, want one line with %q", out, tt.want)
			}
			if strings.Contains(out, "TOPSECRET") || strings.Contains(out, "hushhush") {
				t.Errorf("a secret on stderr: %q", out)
			}
		})
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// TestServeSettingsDocumented: every setting has its row in docs/serve.md.
func TestServeSettingsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "serve.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range serveSettings {
		row := fmt.Sprintf("| `%s` / `--%s` |", s.env, flagName(s.env))
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/serve.md has no row %s", row)
		}
	}
}

// TestServeFlagsWhereServeIsReached: the command tree leaves serve's flags
// out only when the command line names another command first; every way
// of reaching serve (its help, help through cobra's help command,
// completion) still sees all of them.
func TestServeFlagsWhereServeIsReached(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--help"},
		{"help", "serve"},
		{"__complete", "serve", "--"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			root := newRootCommand(args)
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(args)
			if err := root.Execute(); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			for _, s := range serveSettings {
				if name := "--" + flagName(s.env); !strings.Contains(out.String(), name) {
					t.Errorf("%s is not offered:\n%s", name, out.String())
				}
			}
		})
	}
	// Another command first: serve's flags are not built, and the
	// command runs as before.
	root := newRootCommand([]string{"version"})
	for _, c := range root.Commands() {
		if c.Name() == "serve" && c.Flags().HasFlags() {
			t.Error("serve's flags were built for a command line naming version")
		}
	}
}
