package githubfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v62/github"
)

type received struct {
	header http.Header
	body   []byte
}

// receiver is a stand-in for the App's webhook endpoint.
type receiver struct {
	mu   sync.Mutex
	got  []received
	srv  *httptest.Server
	code int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{code: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		code := r.code
		r.mu.Unlock()
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) last() received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

// hmacHex is computed here independently of the fake's Sign.
func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestWebhookDeliveries sends every event the App handles and checks the
// signature (independently), the headers, that go-github parses the
// payload, and that the payload was rewritten to the fake's state.
func TestWebhookDeliveries(t *testing.T) {
	rcv := newReceiver(t)
	e := newEnv(t, WithWebhook(rcv.srv.URL, "topsecret"))
	f := e.f
	reviewer := f.AddUser("bob")
	f.SetRole(e.repo, reviewer, "maintain")
	checklist, _, err := e.gh.Issues.CreateComment(e.ctx, "acme", "billing", e.pr.Number, &github.IssueComment{Body: github.String("- [ ] approved")})
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA})
	if err != nil {
		t.Fatal(err)
	}
	must := func(d *Delivery, err error) *Delivery {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	oldHead := e.pr.HeadSHA
	oldBase := e.pr.BaseSHA
	e.repo.CommitOn("release", nil)
	other := f.AddRepo("acme/ledger")
	mergeSHA := e.repo.CommitWith(CommitOptions{Parent: e.repo.Branch("main"), Files: map[string]string{"migrations/002_orders.sql": "x\n"}})

	tests := []struct {
		name   string
		build  func() *Delivery
		event  string
		action string
		want   map[string]any // dotted path -> value
	}{
		{"pull_request opened", func() *Delivery { return f.PullRequestEvent(e.pr, "opened", e.author) }, "pull_request", "opened",
			map[string]any{"number": 1.0, "pull_request.head.sha": oldHead, "pull_request.base.sha": oldBase, "pull_request.head.ref": "feature", "pull_request.user.login": "alice"}},
		{"pull_request synchronize", func() *Delivery {
			return f.Push(e.pr, e.repo.CommitOn("feature", map[string]string{"migrations/003.sql": "SELECT 3;\n"}))
		}, "pull_request", "synchronize", map[string]any{"before": oldHead, "pull_request.head.sha": "$head"}},
		{"pull_request reopened", func() *Delivery { f.ClosePR(e.pr); return f.ReopenPR(e.pr) }, "pull_request", "reopened", map[string]any{"pull_request.state": "open"}},
		{"pull_request ready_for_review", func() *Delivery { f.SetDraft(e.pr, true); return f.SetDraft(e.pr, false) }, "pull_request", "ready_for_review", map[string]any{"pull_request.draft": false}},
		{"pull_request edited base", func() *Delivery { return f.EditPR(e.pr, reviewer, PREdit{Base: "release"}) }, "pull_request", "edited",
			map[string]any{"changes.base.ref.from": "main", "changes.base.sha.from": oldBase, "pull_request.base.ref": "release", "sender.login": "bob"}},
		{"issue_comment created", func() *Delivery { _, d := f.Comment(reviewer, e.pr, "LGTM"); return d }, "issue_comment", "created",
			map[string]any{"comment.body": "LGTM", "issue.number": 1.0, "sender.login": "bob"}},
		{"issue_comment edited by another user", func() *Delivery {
			return must(f.EditComment(reviewer, checklist.GetID(), "- [x] approved"))
		}, "issue_comment", "edited",
			map[string]any{"comment.id": float64(checklist.GetID()), "comment.body": "- [x] approved", "changes.body.from": "- [ ] approved", "sender.login": "bob", "comment.user.login": "migration-guard[bot]", "comment.user.type": "Bot", "comment.performed_via_github_app.slug": "migration-guard"}},
		{"check_run rerequested", func() *Delivery { return must(f.CheckRunEvent(run.GetID(), "rerequested", reviewer)) }, "check_run", "rerequested",
			map[string]any{"check_run.id": float64(run.GetID()), "check_run.name": "migration-guard", "check_run.head_sha": oldHead, "check_run.app.id": float64(f.App().ID)}},
		{"check_suite rerequested", func() *Delivery { return must(f.CheckSuiteEvent(run.GetCheckSuite().GetID(), "rerequested", reviewer)) }, "check_suite", "rerequested",
			map[string]any{"check_suite.id": float64(run.GetCheckSuite().GetID()), "check_suite.head_sha": oldHead}},
		{"merge_group checks_requested", func() *Delivery { return must(f.MergeGroupEvent(e.pr, mergeSHA, reviewer)) }, "merge_group", "checks_requested",
			map[string]any{"merge_group.head_sha": mergeSHA, "merge_group.base_ref": "refs/heads/release", "merge_group.head_commit.id": mergeSHA}},
		{"installation created", func() *Delivery { return f.InstallationEvent(e.inst, "created", e.author) }, "installation", "created",
			map[string]any{"installation.account.login": "acme", "installation.app_id": float64(f.App().ID)}},
		{"installation_repositories added", func() *Delivery {
			f.AddRepos(e.inst, other)
			return f.InstallationRepositoriesEvent(e.inst, []*Repo{other}, e.author)
		}, "installation_repositories", "added", map[string]any{"repository_selection": "selected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.build()
			status, err := f.Deliver(d)
			if err != nil || status != http.StatusOK {
				t.Fatalf("deliver: %d %v", status, err)
			}
			got := rcv.last()
			h := got.header
			if sig := h.Get("X-Hub-Signature-256"); sig != "sha256="+hmacHex("topsecret", got.body) {
				t.Fatalf("signature %q does not match an independent HMAC of the body", sig)
			}
			if h.Get("X-GitHub-Event") != tt.event || !guidPattern.MatchString(h.Get("X-GitHub-Delivery")) ||
				!strings.HasPrefix(h.Get("User-Agent"), "GitHub-Hookshot/") || h.Get("X-GitHub-Hook-ID") == "" ||
				h.Get("X-GitHub-Hook-Installation-Target-Type") != "integration" ||
				h.Get("X-GitHub-Hook-Installation-Target-ID") != strconv.FormatInt(f.App().ID, 10) ||
				h.Get("Content-Type") != "application/json" {
				t.Fatalf("headers = %v", h)
			}
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(got.body)))
			req.Header = h
			payload, err := github.ValidatePayload(req, []byte("topsecret"))
			if err != nil {
				t.Fatalf("go-github rejects the delivery: %v", err)
			}
			if _, err := github.ParseWebHook(tt.event, payload); err != nil {
				t.Fatalf("go-github cannot parse the %s payload: %v", tt.event, err)
			}
			var p map[string]any
			if err := json.Unmarshal(got.body, &p); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"action": tt.action, "installation.id": float64(e.inst.ID)}
			if tt.event != "installation" && tt.event != "installation_repositories" {
				want["repository.full_name"] = "acme/billing"
				want["repository.private"] = true
				want["organization.login"] = "acme"
			}
			for k, v := range tt.want {
				if v == "$head" {
					v = e.pr.HeadSHA
				}
				want[k] = v
			}
			if _, ok := tt.want["sender.login"]; !ok && tt.event != "pull_request" {
				want["sender.login"] = lookup(p, "sender.login")
			}
			for k, v := range want {
				if got := lookup(p, k); got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			if strings.Contains(string(got.body), "Codertocat/Hello-World") || strings.Contains(string(got.body), "https://api.github.com/") {
				t.Errorf("payload still points at the example repository or api.github.com")
			}
		})
	}
}

func TestWebhookSignatureFaults(t *testing.T) {
	rcv := newReceiver(t)
	e := newEnv(t, WithWebhook(rcv.srv.URL, "topsecret"))
	d := e.f.PullRequestEvent(e.pr, "opened", e.author)

	if _, err := e.f.Deliver(d, WrongSignature()); err != nil {
		t.Fatal(err)
	}
	got := rcv.last()
	sig := got.header.Get("X-Hub-Signature-256")
	if sig == "" || sig == "sha256="+hmacHex("topsecret", got.body) {
		t.Fatalf("WrongSignature sent %q, which is empty or correct", sig)
	}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(got.body)))
	req.Header = got.header
	if _, err := github.ValidatePayload(req, []byte("topsecret")); err == nil {
		t.Fatal("go-github accepted the wrong signature")
	}

	if _, err := e.f.Deliver(d, MissingSignature()); err != nil {
		t.Fatal(err)
	}
	if h := rcv.last().header; h.Get("X-Hub-Signature-256") != "" || h.Get("X-Hub-Signature") != "" {
		t.Fatalf("MissingSignature sent %v", h)
	}
}

func TestDuplicateAndReplayedDeliveries(t *testing.T) {
	rcv := newReceiver(t)
	e := newEnv(t, WithWebhook(rcv.srv.URL, "topsecret"))
	d := e.f.PullRequestEvent(e.pr, "opened", e.author)
	for i := 0; i < 2; i++ {
		if _, err := e.f.Deliver(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.f.Deliver(e.f.PullRequestEvent(e.pr, "opened", e.author), WithGUID("11111111-2222-4333-8444-555555555555")); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	g0, g1, g2 := rcv.got[0].header.Get("X-GitHub-Delivery"), rcv.got[1].header.Get("X-GitHub-Delivery"), rcv.got[2].header.Get("X-GitHub-Delivery")
	rcv.mu.Unlock()
	if g0 != g1 || g2 != "11111111-2222-4333-8444-555555555555" {
		t.Fatalf("GUIDs %s %s %s: a resent delivery must repeat its GUID, WithGUID must set it", g0, g1, g2)
	}
	if ds := e.f.Deliveries(); len(ds) != 3 || ds[0].ID == ds[1].ID {
		t.Fatalf("recorded deliveries = %d", len(ds))
	}
}

// TestRedeliveryThroughTheAPI: POST /app/hook/deliveries/{id}/attempts
// re-sends the stored delivery, byte for byte, with the same GUID.
func TestRedeliveryThroughTheAPI(t *testing.T) {
	rcv := newReceiver(t)
	rcv.code = http.StatusInternalServerError
	e := newEnv(t, WithWebhook(rcv.srv.URL, "topsecret"))
	d := e.f.PullRequestEvent(e.pr, "opened", e.author)
	if status, _ := e.f.Deliver(d); status != http.StatusInternalServerError {
		t.Fatalf("first attempt = %d", status)
	}
	rcv.mu.Lock()
	rcv.code = http.StatusOK
	rcv.mu.Unlock()

	app := jwtClient(t, e.f)
	list, _, err := app.Apps.ListHookDeliveries(e.ctx, nil)
	if err != nil || len(list) != 1 || list[0].GetStatusCode() != 500 || list[0].GetGUID() != d.GUID {
		t.Fatalf("deliveries = %+v, %v", list, err)
	}
	detail, _, err := app.Apps.GetHookDelivery(e.ctx, list[0].GetID())
	if err != nil || detail.Request == nil || detail.Request.Headers["X-GitHub-Event"] != "pull_request" {
		t.Fatalf("delivery detail request = %v, %v", detail.GetRequest().Headers, err)
	}
	_, _, err = app.Apps.RedeliverHookDelivery(e.ctx, list[0].GetID())
	var accepted *github.AcceptedError
	if !errors.As(err, &accepted) {
		t.Fatalf("redeliver: %v", err)
	}
	e.f.Wait()
	rcv.mu.Lock()
	first, second := rcv.got[0], rcv.got[1]
	rcv.mu.Unlock()
	if string(first.body) != string(second.body) || second.header.Get("X-GitHub-Delivery") != d.GUID {
		t.Fatal("redelivery differs from the original")
	}
	list, _, err = app.Apps.ListHookDeliveries(e.ctx, nil)
	if err != nil || len(list) != 2 || !list[0].GetRedelivery() || list[0].GetStatusCode() != 200 {
		t.Fatalf("after redelivery: %+v, %v", list, err)
	}
	if _, _, err := app.Apps.RedeliverHookDelivery(e.ctx, 999999); err == nil {
		t.Fatal("redelivering an unknown id succeeded")
	}
}

// TestEchoWebhooks: with WithEchoWebhooks, the App's own comment writes
// come back as webhooks whose sender is the App's bot, as on GitHub.
func TestEchoWebhooks(t *testing.T) {
	rcv := newReceiver(t)
	e := newEnv(t, WithWebhook(rcv.srv.URL, "topsecret"), WithEchoWebhooks())
	c, _, err := e.gh.Issues.CreateComment(e.ctx, "acme", "billing", e.pr.Number, &github.IssueComment{Body: github.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.gh.Issues.EditComment(e.ctx, "acme", "billing", c.GetID(), &github.IssueComment{Body: github.String("v2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.gh.Issues.DeleteComment(e.ctx, "acme", "billing", c.GetID()); err != nil {
		t.Fatal(err)
	}
	e.f.Wait()
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	actions := map[string]map[string]any{}
	for _, r := range rcv.got {
		var p map[string]any
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		if r.header.Get("X-GitHub-Event") != "issue_comment" {
			t.Fatalf("event %s", r.header.Get("X-GitHub-Event"))
		}
		actions[p["action"].(string)] = p
	}
	if len(actions) != 3 || actions["created"] == nil || actions["edited"] == nil || actions["deleted"] == nil {
		t.Fatalf("echoed actions = %v", len(actions))
	}
	for action, p := range actions {
		if lookup(p, "sender.login") != "migration-guard[bot]" || lookup(p, "sender.type") != "Bot" {
			t.Errorf("%s sender = %v", action, p["sender"])
		}
	}
	if lookup(actions["edited"], "changes.body.from") != "v1" || lookup(actions["edited"], "comment.body") != "v2" {
		t.Errorf("edited payload changes = %v", actions["edited"]["changes"])
	}
}
