package githubfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Deliveries start from GitHub's own example payloads so that the App is
// tested against every field GitHub really sends, not just the ones a
// test author thought of; the fake then rewrites the fields that must
// agree with its state.
//
//go:embed testdata/webhooks/*.json
var webhookExamples embed.FS

// Delivery is one webhook delivery: built by an event constructor, then
// sent with Fake.Deliver. Sending the same Delivery twice repeats its GUID
// (a duplicate delivery, as GitHub's retries and redeliveries produce).
type Delivery struct {
	ID             int64 // set when sent; each attempt gets its own
	GUID           string
	Event          string
	Action         string
	Payload        []byte
	InstallationID int64
	RepositoryID   int64
	Redelivery     bool

	// Results of the last attempt.
	DeliveredAt    time.Time
	Duration       time.Duration
	StatusCode     int
	ResponseBody   string
	RequestHeader  http.Header
	ResponseHeader http.Header
}

func newGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("githubfake: reading random bytes: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func loadExample(name string) map[string]any {
	raw, err := webhookExamples.ReadFile("testdata/webhooks/" + name + ".json")
	if err != nil {
		panic(fmt.Sprintf("githubfake: webhook example %s: %v", name, err))
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(fmt.Sprintf("githubfake: decoding webhook example %s: %v", name, err))
	}
	return m
}

// rebase replaces the example's repository, owner and API host in every
// string, so URLs the fake does not set itself still point at the fake's
// repository rather than at Codertocat/Hello-World.
func (f *Fake) rebase(v any, repo *Repo, oldFull string) any {
	oldOwner, _, _ := strings.Cut(oldFull, "/")
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			if repo != nil && oldFull != "" {
				x = strings.ReplaceAll(x, oldFull, repo.FullName())
				x = strings.ReplaceAll(x, "/"+oldOwner+"/", "/"+repo.Owner.Login+"/")
			}
			return strings.ReplaceAll(x, "https://api.github.com/", f.server.URL+"/")
		}
		return v
	}
	return walk(v)
}

// overlay writes src over dst, merging nested objects.
func overlay(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				overlay(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
}

func (f *Fake) installationFor(repo *Repo) *Installation {
	var best *Installation
	for _, inst := range f.installs {
		if inst.App == f.app && inst.covers(f, repo) && (best == nil || inst.ID < best.ID) {
			best = inst
		}
	}
	return best
}

// payload starts a delivery from an example: it rebases the example onto
// repo and sets repository, sender, installation and organization.
func (f *Fake) payload(example string, repo *Repo, sender *User, inst *Installation) map[string]any {
	p := loadExample(example)
	oldFull := ""
	if r, ok := p["repository"].(map[string]any); ok {
		oldFull, _ = r["full_name"].(string)
	}
	f.rebase(p, repo, oldFull)
	if repo != nil {
		if r, ok := p["repository"].(map[string]any); ok {
			overlay(r, f.renderRepo(repo))
		} else {
			p["repository"] = f.renderRepo(repo)
		}
		if repo.Owner.Type == "Organization" {
			p["organization"] = f.renderOrg(repo.Owner)
		} else {
			delete(p, "organization")
		}
		if inst == nil {
			inst = f.installationFor(repo)
		}
	}
	if inst != nil {
		if i, ok := p["installation"].(map[string]any); ok && len(i) > 2 {
			overlay(i, f.renderInstallation(inst))
		} else {
			p["installation"] = map[string]any{"id": inst.ID, "node_id": nodeID("Installation", inst.ID)}
		}
	}
	if sender != nil {
		p["sender"] = f.renderUser(sender)
	}
	return p
}

func (f *Fake) renderOrg(u *User) map[string]any {
	return map[string]any{
		"login":              u.Login,
		"id":                 u.ID,
		"node_id":            nodeID("Organization", u.ID),
		"url":                f.apiURL("orgs/%s", u.Login),
		"repos_url":          f.apiURL("orgs/%s/repos", u.Login),
		"events_url":         f.apiURL("orgs/%s/events", u.Login),
		"hooks_url":          f.apiURL("orgs/%s/hooks", u.Login),
		"issues_url":         f.apiURL("orgs/%s/issues", u.Login),
		"members_url":        f.apiURL("orgs/%s/members{/member}", u.Login),
		"public_members_url": f.apiURL("orgs/%s/public_members{/member}", u.Login),
		"avatar_url":         fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", u.ID),
		"description":        nil,
	}
}

func (f *Fake) newDelivery(event, action string, p map[string]any) *Delivery {
	p["action"] = action
	raw, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("githubfake: encoding %s payload: %v", event, err))
	}
	d := &Delivery{GUID: newGUID(), Event: event, Action: action, Payload: raw}
	if i, ok := p["installation"].(map[string]any); ok {
		id, _ := jsonInt(toFloat(i["id"]))
		d.InstallationID = int64(id)
	}
	if r, ok := p["repository"].(map[string]any); ok {
		id, _ := jsonInt(toFloat(r["id"]))
		d.RepositoryID = int64(id)
	}
	return d
}

func toFloat(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return v
}

var prExamples = map[string]string{
	"opened":             "pull_request.opened.0",
	"synchronize":        "pull_request.synchronize.22",
	"reopened":           "pull_request.reopened.18",
	"ready_for_review":   "pull_request.ready_for_review.15",
	"converted_to_draft": "pull_request.converted_to_draft.5",
	"closed":             "pull_request.closed.3",
	// No example exists for edited; opened has the same shape apart from
	// "changes", which the caller adds.
	"edited": "pull_request.opened.0",
}

func (f *Fake) pullRequestDelivery(pr *PullRequest, action string, sender *User, extra map[string]any) *Delivery {
	example, ok := prExamples[action]
	if !ok {
		panic(fmt.Sprintf("githubfake: no pull_request example for action %q", action))
	}
	p := f.payload(example, pr.Repo, sender, nil)
	p["number"] = pr.Number
	overlay(p["pull_request"].(map[string]any), f.renderPR(pr, true))
	for k, v := range extra {
		p[k] = v
	}
	return f.newDelivery("pull_request", action, p)
}

// PullRequestEvent builds a pull_request delivery for action (opened,
// synchronize, reopened, ready_for_review, converted_to_draft, closed,
// edited) from the pull request's current state.
func (f *Fake) PullRequestEvent(pr *PullRequest, action string, sender *User) *Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	extra := map[string]any{}
	switch action {
	case "synchronize":
		before := pr.HeadSHA
		if c, ok := pr.Repo.commits[pr.HeadSHA]; ok && len(c.Parents) > 0 {
			before = c.Parents[0]
		}
		extra["before"], extra["after"] = before, pr.HeadSHA
	case "edited":
		extra["changes"] = map[string]any{}
	}
	return f.pullRequestDelivery(pr, action, sender, extra)
}

func (f *Fake) issueCommentDelivery(c *IssueComment, action string, sender *User, previousBody string) *Delivery {
	example := map[string]string{"edited": "issue_comment.edited.7", "deleted": "issue_comment.deleted.5"}[action]
	if example == "" {
		example = "issue_comment.created.0"
	}
	p := f.payload(example, c.Repo, sender, nil)
	overlay(p["comment"].(map[string]any), f.renderIssueComment(c))
	if pr, ok := f.prs[prKey{c.Repo.ID, c.Number}]; ok {
		issue := p["issue"].(map[string]any)
		full := c.Repo.FullName()
		html := htmlURL("%s/pull/%d", full, pr.Number)
		overlay(issue, map[string]any{
			"id":                 pr.ID,
			"node_id":            nodeID("PullRequest", pr.ID),
			"number":             pr.Number,
			"title":              pr.Title,
			"body":               pr.Body,
			"state":              pr.State,
			"user":               f.renderUser(pr.Author),
			"html_url":           html,
			"url":                f.apiURL("repos/%s/issues/%d", full, pr.Number),
			"repository_url":     f.apiURL("repos/%s", full),
			"comments_url":       f.apiURL("repos/%s/issues/%d/comments", full, pr.Number),
			"comments":           len(f.commentsOf(c.Repo, c.Number)),
			"draft":              pr.Draft,
			"author_association": f.authorAssociation(pr.Repo, pr.Author),
			"created_at":         ts(pr.CreatedAt),
			"updated_at":         ts(pr.UpdatedAt),
			"pull_request": map[string]any{
				"url":       f.apiURL("repos/%s/pulls/%d", full, pr.Number),
				"html_url":  html,
				"diff_url":  html + ".diff",
				"patch_url": html + ".patch",
				"merged_at": nil,
			},
		})
	}
	if action == "edited" {
		p["changes"] = map[string]any{"body": map[string]any{"from": previousBody}}
	} else {
		delete(p, "changes")
	}
	return f.newDelivery("issue_comment", action, p)
}

// IssueCommentEvent builds an issue_comment delivery (created, edited,
// deleted) for comment id; previousBody fills changes.body.from for edited.
func (f *Fake) IssueCommentEvent(id int64, action string, sender *User, previousBody string) (*Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.comments[id]
	if !ok {
		return nil, fmt.Errorf("issue_comment event: no comment %d", id)
	}
	return f.issueCommentDelivery(c, action, sender, previousBody), nil
}

// CheckRunEvent builds a check_run delivery (e.g. rerequested) for run id.
func (f *Fake) CheckRunEvent(id int64, action string, sender *User) (*Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	run, ok := f.runs[id]
	if !ok {
		return nil, fmt.Errorf("check_run event: no check run %d", id)
	}
	return f.checkRunDelivery(run, action, sender), nil
}

func (f *Fake) checkRunDelivery(run *CheckRun, action string, sender *User) *Delivery {
	p := f.payload("check_run.rerequested.7", run.Repo, sender, nil)
	cr := p["check_run"].(map[string]any)
	overlay(cr, f.renderCheckRun(run))
	suite := f.renderSuite(run.Suite)
	delete(suite, "repository")
	cr["check_suite"] = suite
	return f.newDelivery("check_run", action, p)
}

// CheckSuiteEvent builds a check_suite delivery (e.g. rerequested) for
// suite id.
func (f *Fake) CheckSuiteEvent(id int64, action string, sender *User) (*Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.suites[id]
	if !ok {
		return nil, fmt.Errorf("check_suite event: no check suite %d", id)
	}
	p := f.payload("check_suite.rerequested.7", s.Repo, sender, nil)
	suite := f.renderSuite(s)
	delete(suite, "repository")
	overlay(p["check_suite"].(map[string]any), suite)
	return f.newDelivery("check_suite", action, p), nil
}

// MergeGroupEvent builds merge_group.checks_requested for pr entering the
// merge queue, with headSHA the queue's merge commit. No example payload
// exists; the shape follows GitHub's webhook documentation.
func (f *Fake) MergeGroupEvent(pr *PullRequest, headSHA string, sender *User) (*Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	repo := pr.Repo
	c, ok := repo.commits[headSHA]
	if !ok {
		return nil, fmt.Errorf("merge_group event: no commit %s in %s", headSHA, repo.FullName())
	}
	baseSHA := repo.branches[pr.BaseRef]
	p := map[string]any{
		"merge_group": map[string]any{
			"head_sha": headSHA,
			"head_ref": fmt.Sprintf("refs/heads/gh-readonly-queue/%s/pr-%d-%s", pr.BaseRef, pr.Number, baseSHA),
			"base_sha": baseSHA,
			"base_ref": "refs/heads/" + pr.BaseRef,
			"head_commit": map[string]any{
				"id":        c.SHA,
				"tree_id":   c.Tree,
				"message":   c.Message,
				"timestamp": ts(c.Committer.Date),
				"author":    map[string]any{"name": c.Author.Name, "email": c.Author.Email},
				"committer": map[string]any{"name": c.Committer.Name, "email": c.Committer.Email},
			},
		},
		"repository": f.renderRepo(repo),
		"sender":     f.renderUser(sender),
	}
	if repo.Owner.Type == "Organization" {
		p["organization"] = f.renderOrg(repo.Owner)
	}
	if inst := f.installationFor(repo); inst != nil {
		p["installation"] = map[string]any{"id": inst.ID, "node_id": nodeID("Installation", inst.ID)}
	}
	return f.newDelivery("merge_group", "checks_requested", p), nil
}

func shortRepo(r *Repo) map[string]any {
	return map[string]any{"id": r.ID, "node_id": nodeID("Repository", r.ID), "name": r.Name, "full_name": r.FullName(), "private": r.Private}
}

// InstallationEvent builds an installation delivery (e.g. created).
func (f *Fake) InstallationEvent(inst *Installation, action string, sender *User) *Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.payload("installation.created.1", nil, sender, inst)
	repos := []any{}
	for _, r := range inst.repositories(f) {
		repos = append(repos, shortRepo(r))
	}
	p["repositories"] = repos
	p["requester"] = nil
	return f.newDelivery("installation", action, p)
}

// InstallationRepositoriesEvent builds installation_repositories.added
// for repositories newly added to inst (add them with AddRepos first).
func (f *Fake) InstallationRepositoriesEvent(inst *Installation, added []*Repo, sender *User) *Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.payload("installation_repositories.added.0", nil, sender, inst)
	list := []any{}
	for _, r := range added {
		list = append(list, shortRepo(r))
	}
	selection := "selected"
	if inst.AllRepos {
		selection = "all"
	}
	p["repositories_added"] = list
	p["repositories_removed"] = []any{}
	p["repository_selection"] = selection
	p["requester"] = nil
	return f.newDelivery("installation_repositories", "added", p)
}

// DeliveryOption changes how one delivery is sent.
type DeliveryOption func(*sendOptions)

type sendOptions struct {
	signature string // "", "wrong", "missing"
	guid      string
}

// WrongSignature signs the delivery with a different secret.
func WrongSignature() DeliveryOption { return func(o *sendOptions) { o.signature = "wrong" } }

// MissingSignature sends no X-Hub-Signature-256 (nor X-Hub-Signature).
func MissingSignature() DeliveryOption { return func(o *sendOptions) { o.signature = "missing" } }

// WithGUID sends the delivery with a given X-GitHub-Delivery.
func WithGUID(guid string) DeliveryOption { return func(o *sendOptions) { o.guid = guid } }

// Sign returns the X-Hub-Signature-256 value GitHub sends for body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func signSHA1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// Deliver sends d to the webhook URL and returns the response status. The
// attempt is recorded for GET /app/hook/deliveries and redelivery.
func (f *Fake) Deliver(d *Delivery, opts ...DeliveryOption) (int, error) {
	var o sendOptions
	for _, opt := range opts {
		opt(&o)
	}
	return f.send(d, o)
}

func (f *Fake) redeliveryOf(d *Delivery) *Delivery {
	cp := *d
	cp.Redelivery = true
	return &cp
}

var hookClient = &http.Client{Timeout: 10 * time.Second}

// echo sends d in the background if the fake was built WithEchoWebhooks.
// Callers hold f.mu, which send takes, hence the goroutine.
func (f *Fake) echo(d *Delivery) {
	if !f.cfg.echo || f.cfg.webhookURL == "" {
		return
	}
	f.pending.Add(1)
	go func() {
		defer f.pending.Done()
		_, _ = f.send(d, sendOptions{})
	}()
}

func (f *Fake) send(d *Delivery, o sendOptions) (int, error) {
	f.mu.Lock()
	target := f.cfg.webhookURL
	secret := f.app.WebhookSecret
	hookID, appID := f.app.HookID, f.app.ID
	f.mu.Unlock()
	if target == "" {
		return 0, fmt.Errorf("delivering %s.%s: no webhook URL (use WithWebhook or SetWebhookURL)", d.Event, d.Action)
	}
	if o.guid != "" {
		d.GUID = o.guid
	}
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, fmt.Errorf("delivering %s.%s: %w", d.Event, d.Action, err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "*/*")
	h.Set("User-Agent", "GitHub-Hookshot/7e9ef4b")
	h.Set("X-GitHub-Event", d.Event)
	h.Set("X-GitHub-Delivery", d.GUID)
	h.Set("X-GitHub-Hook-ID", strconv.FormatInt(hookID, 10))
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(appID, 10))
	switch o.signature {
	case "missing":
	case "wrong":
		h.Set("X-Hub-Signature", signSHA1(secret+"-wrong", d.Payload))
		h.Set("X-Hub-Signature-256", Sign(secret+"-wrong", d.Payload))
	default:
		h.Set("X-Hub-Signature", signSHA1(secret, d.Payload))
		h.Set("X-Hub-Signature-256", Sign(secret, d.Payload))
	}
	start := time.Now()
	resp, err := hookClient.Do(req)
	rec := *d
	rec.RequestHeader = h.Clone()
	rec.DeliveredAt = f.now()
	if err == nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		rec.StatusCode = resp.StatusCode
		rec.ResponseBody = string(body)
		rec.ResponseHeader = resp.Header.Clone()
	}
	rec.Duration = time.Since(start)
	f.mu.Lock()
	rec.ID = f.id()
	f.deliveries = append(f.deliveries, &rec)
	f.mu.Unlock()
	d.ID, d.DeliveredAt, d.Duration, d.StatusCode = rec.ID, rec.DeliveredAt, rec.Duration, rec.StatusCode
	d.ResponseBody, d.RequestHeader, d.ResponseHeader = rec.ResponseBody, rec.RequestHeader, rec.ResponseHeader
	if err != nil {
		return 0, fmt.Errorf("delivering %s.%s to %s: %w", d.Event, d.Action, target, err)
	}
	return rec.StatusCode, nil
}

// Deliveries returns every delivery attempt so far, oldest first.
func (f *Fake) Deliveries() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Delivery, len(f.deliveries))
	for i, d := range f.deliveries {
		out[i] = *d
	}
	return out
}

func (d *Delivery) status() string {
	switch {
	case d.StatusCode == 0:
		return "failed to connect to host"
	case d.StatusCode < 300:
		return "OK"
	}
	return "Invalid HTTP Response: " + strconv.Itoa(d.StatusCode)
}

func (d *Delivery) summary() map[string]any {
	var action any
	if d.Action != "" {
		action = d.Action
	}
	var inst, repo any
	if d.InstallationID != 0 {
		inst = d.InstallationID
	}
	if d.RepositoryID != 0 {
		repo = d.RepositoryID
	}
	return map[string]any{
		"id":              d.ID,
		"guid":            d.GUID,
		"delivered_at":    ts(d.DeliveredAt),
		"redelivery":      d.Redelivery,
		"duration":        d.Duration.Seconds(),
		"status":          d.status(),
		"status_code":     d.StatusCode,
		"event":           d.Event,
		"action":          action,
		"installation_id": inst,
		"repository_id":   repo,
		"throttled_at":    nil,
	}
}

func flatHeader(h http.Header) map[string]any {
	out := map[string]any{}
	for k, vs := range h {
		// Go canonicalises "X-GitHub-Event" to "X-Github-Event"; GitHub
		// reports the names as it sent them.
		k = strings.Replace(k, "X-Github-", "X-GitHub-", 1)
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

func (d *Delivery) detail() map[string]any {
	out := d.summary()
	var payload any
	_ = json.Unmarshal(d.Payload, &payload)
	var respPayload any
	if d.ResponseBody != "" {
		respPayload = d.ResponseBody
	}
	out["request"] = map[string]any{"headers": flatHeader(d.RequestHeader), "payload": payload}
	out["response"] = map[string]any{"headers": flatHeader(d.ResponseHeader), "payload": respPayload}
	return out
}
