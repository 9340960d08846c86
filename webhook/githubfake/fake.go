// Package githubfake is a stateful fake of the parts of GitHub that
// migration-guard talks to: the REST endpoints it calls, validated against
// GitHub's official OpenAPI description, and the webhooks it receives,
// built from GitHub's own example payloads.
//
// A test creates a Fake, sets up state through the Go API (users, repos,
// commits, pull requests, roles), points the App's GitHub client at
// Fake.URL and the fake's webhooks at the App, and then asserts on the
// state and on the recorded requests and mutations. Every request the App
// makes is checked against the contract; a violation fails the test.
//
//	f := githubfake.New(t, githubfake.WithWebhook(app.URL+"/webhook", secret))
//	repo := f.AddRepo("acme/billing")
//	inst := f.Install("acme", repo)
//	repo.Commit(map[string]string{"db/001.sql": "CREATE TABLE t (id int);\n"})
//	repo.CommitOn("feature", map[string]string{"db/002.sql": "ALTER TABLE t ADD c int;\n"})
//	pr, opened := f.OpenPR(repo, githubfake.PROptions{Author: f.AddUser("alice"), Head: "feature"})
//	status, err := f.Deliver(opened)
//	// ... then f.CheckRuns(repo, pr.HeadSHA), f.IssueComments(pr), f.Mutations()
//
// The App under test gets f.App().ID, f.PrivateKeyPEM() and inst.ID, and
// uses f.URL() as both ghinstallation's BaseURL and go-github's base URL
// (directly or through WithEnterpriseURLs: the /api/v3 prefix is served).
//
// The OpenAPI subset under testdata/openapi is cut from @octokit/openapi
// by scripts/extract-openapi.sh from the list in internal/ghops; an
// operation missing from that list is answered 404 and reported.
package githubfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// TB is the part of testing.TB the fake reports violations through. A
// test that expects violations can pass its own implementation.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

type config struct {
	appID            int64
	slug             string
	key              *rsa.PrivateKey
	webhookURL       string
	webhookSecret    string
	tokenTTL         time.Duration
	rateLimit        int
	validateResponse bool
	expectViolations bool
	echo             bool
	now              func() time.Time
}

// Option configures New.
type Option func(*config)

// WithApp sets the App's id and slug (defaults 1001, "migration-guard").
func WithApp(id int64, slug string) Option {
	return func(c *config) { c.appID, c.slug = id, slug }
}

// WithPrivateKey uses key as the App's private key instead of a generated one.
func WithPrivateKey(key *rsa.PrivateKey) Option { return func(c *config) { c.key = key } }

// WithWebhook sets where deliveries go and the secret they are signed with.
func WithWebhook(url, secret string) Option {
	return func(c *config) { c.webhookURL, c.webhookSecret = url, secret }
}

// WithTokenTTL sets installation token lifetime (GitHub: one hour).
func WithTokenTTL(d time.Duration) Option { return func(c *config) { c.tokenTTL = d } }

// WithRateLimit sets the primary rate limit per credential and hour
// (GitHub: 5,000 for installations).
func WithRateLimit(n int) Option { return func(c *config) { c.rateLimit = n } }

// WithResponseValidation validates every response the fake sends against
// the description too, which catches the fake drifting from GitHub.
func WithResponseValidation() Option { return func(c *config) { c.validateResponse = true } }

// ExpectViolations records contract violations without failing the test,
// for tests that assert on Violations.
func ExpectViolations() Option { return func(c *config) { c.expectViolations = true } }

// WithEchoWebhooks makes the App's own REST writes produce the webhooks
// GitHub sends for them (issue_comment created, edited and deleted with
// the App's bot as sender; check_run rerequested), delivered
// asynchronously like redeliveries (see Wait). Apps that react to comment
// edits must ignore their own; this is how a test catches a loop.
func WithEchoWebhooks() Option { return func(c *config) { c.echo = true } }

// WithClock replaces time.Now for timestamps, token expiry and JWT checks.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Fake is the fake GitHub. All methods are safe for concurrent use.
type Fake struct {
	t      TB
	cfg    config
	spec   *Spec
	server *httptest.Server

	mu sync.Mutex
	// seq orders requests' arrivals and answers (see Mutation).
	seq       uint64
	nextID    int64
	clockTick int64
	app       *App
	apps      map[int64]*App
	users     map[string]*User
	repos     map[string]*Repo
	installs  map[int64]*Installation
	tokens    map[string]*token
	prs       map[prKey]*PullRequest
	numbers   map[int64]int
	comments  map[int64]*IssueComment
	reviews   map[int64]*Review
	rcomments map[int64]*ReviewComment
	runs      map[int64]*CheckRun
	suites    map[int64]*CheckSuite
	teams     map[string]*Team
	manifests map[string]AppCredentials
	diffCache map[diffKey][]changedFile
	rate      map[string]*rateWindow
	faults    []*faultRule

	deliveries []*Delivery
	requests   []Request
	mutations  []Mutation
	violations []Violation
	pending    sync.WaitGroup
}

type prKey struct {
	repo   int64
	number int
}

var (
	defaultKeyOnce sync.Once
	defaultKey     *rsa.PrivateKey
	errDefaultKey  error
)

// New starts a fake GitHub on a loopback port. It is closed when the test
// ends if t has a Cleanup method (testing.TB does).
func New(t TB, opts ...Option) *Fake {
	t.Helper()
	cfg := config{
		appID:         1001,
		slug:          "migration-guard",
		webhookSecret: "githubfake-webhook-secret",
		tokenTTL:      time.Hour,
		rateLimit:     5000,
		now:           time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	spec, err := LoadSpec()
	if err != nil {
		panic(fmt.Sprintf("githubfake: %v", err))
	}
	if cfg.key == nil {
		// RSA key generation takes long enough on a small machine to
		// matter across hundreds of tests; one key per process suffices.
		defaultKeyOnce.Do(func() { defaultKey, errDefaultKey = rsa.GenerateKey(rand.Reader, 2048) })
		if errDefaultKey != nil {
			panic(fmt.Sprintf("githubfake: generating App key: %v", errDefaultKey))
		}
		cfg.key = defaultKey
	}
	f := &Fake{
		t:         t,
		cfg:       cfg,
		spec:      spec,
		nextID:    5000,
		apps:      map[int64]*App{},
		users:     map[string]*User{},
		repos:     map[string]*Repo{},
		installs:  map[int64]*Installation{},
		tokens:    map[string]*token{},
		prs:       map[prKey]*PullRequest{},
		numbers:   map[int64]int{},
		comments:  map[int64]*IssueComment{},
		reviews:   map[int64]*Review{},
		rcomments: map[int64]*ReviewComment{},
		runs:      map[int64]*CheckRun{},
		suites:    map[int64]*CheckSuite{},
		teams:     map[string]*Team{},
		manifests: map[string]AppCredentials{},
		diffCache: map[diffKey][]changedFile{},
		rate:      map[string]*rateWindow{},
	}
	f.app = f.newApp(cfg.appID, cfg.slug, cfg.key)
	f.app.WebhookSecret = cfg.webhookSecret
	f.server = httptest.NewServer(f)
	if c, ok := t.(interface{ Cleanup(func()) }); ok {
		c.Cleanup(f.Close)
	}
	return f
}

func (f *Fake) newApp(id int64, slug string, key *rsa.PrivateKey) *App {
	owner := f.ensureUser(slug+"-owner", "Organization")
	a := &App{
		ID:           id,
		Slug:         slug,
		Name:         slug,
		ClientID:     fmt.Sprintf("Iv1.%016x", id),
		ClientSecret: fmt.Sprintf("secret-%d", id),
		HookID:       f.id(),
		Owner:        owner,
		Bot:          f.ensureUser(slug+"[bot]", "Bot"),
		Permissions:  defaultPermissions(),
		Events:       []string{"check_run", "check_suite", "issue_comment", "merge_group", "pull_request"},
		key:          key,
	}
	f.apps[id] = a
	return a
}

func defaultPermissions() map[string]string {
	return map[string]string{
		"checks":        "write",
		"contents":      "read",
		"issues":        "write",
		"members":       "read",
		"metadata":      "read",
		"pull_requests": "write",
	}
}

// Close stops the server after pending redeliveries finish.
func (f *Fake) Close() {
	f.pending.Wait()
	f.server.Close()
}

// Wait blocks until redeliveries started by the App have been sent.
func (f *Fake) Wait() { f.pending.Wait() }

// URL is the API base URL with a trailing slash, for go-github's BaseURL
// and ghinstallation's BaseURL.
func (f *Fake) URL() string { return f.server.URL + "/" }

// Handler returns the fake's HTTP handler, for serving it some other way.
func (f *Fake) Handler() http.Handler { return f }

// Spec returns the OpenAPI subset the fake validates against.
func (f *Fake) Spec() *Spec { return f.spec }

// App returns the App under test.
func (f *Fake) App() *App { return f.app }

// PrivateKeyPEM is the App's private key in PKCS#1 PEM, as GitHub hands
// it out.
func (f *Fake) PrivateKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(f.app.key)})
}

// WebhookSecret is the secret deliveries are signed with.
func (f *Fake) WebhookSecret() string { return f.app.WebhookSecret }

// SetWebhookURL sets where deliveries are sent.
func (f *Fake) SetWebhookURL(u string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg.webhookURL = u
}

func (f *Fake) now() time.Time { return f.cfg.now().UTC() }

func (f *Fake) id() int64 {
	f.nextID++
	return f.nextID
}

func (f *Fake) ensureUser(login, typ string) *User {
	if u, ok := f.users[strings.ToLower(login)]; ok {
		return u
	}
	u := &User{ID: f.id(), Login: login, Type: typ}
	f.users[strings.ToLower(login)] = u
	return u
}

// AddUser returns the user login, creating it as a person if needed.
func (f *Fake) AddUser(login string) *User {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ensureUser(login, "User")
}

// AddBot returns the bot user login (conventionally "name[bot]").
func (f *Fake) AddBot(login string) *User {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ensureUser(login, "Bot")
}

// AddOrg returns the organization login, creating it if needed.
func (f *Fake) AddOrg(login string) *User {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ensureUser(login, "Organization")
}

// AddApp adds another GitHub App (no key; it cannot call the fake) whose
// check runs the App under test must leave alone.
func (f *Fake) AddApp(id int64, slug string) *App {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newApp(id, slug, nil)
}

// AddRepo creates the private repository "owner/name" with an initial
// commit (a README) on "main". An owner not yet known becomes an
// organization.
func (f *Fake) AddRepo(fullName string) *Repo {
	f.mu.Lock()
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok {
		f.mu.Unlock()
		panic(fmt.Sprintf("githubfake: AddRepo(%q): want owner/name", fullName))
	}
	r := &Repo{
		ID:            f.id(),
		Owner:         f.ensureUser(owner, "Organization"),
		Name:          name,
		Private:       true,
		DefaultBranch: "main",
		f:             f,
		commits:       map[string]*Commit{},
		trees:         map[string][]treeEntry{},
		blobs:         map[string]string{},
		branches:      map[string]string{},
		roles:         map[string]Role{},
	}
	f.repos[strings.ToLower(fullName)] = r
	f.mu.Unlock()
	r.CommitWith(CommitOptions{Branch: "main", Files: map[string]string{"README.md": "# " + name + "\n"}, Message: "Initial commit"})
	return r
}

// Install installs the App on account for the given repositories (all of
// the account's repositories, present and future, when none are given),
// with read/write permissions for checks, contents (read), issues,
// members (read), metadata (read) and pull requests.
func (f *Fake) Install(account string, repos ...*Repo) *Installation {
	f.mu.Lock()
	defer f.mu.Unlock()
	acct, ok := f.users[strings.ToLower(account)]
	if !ok {
		acct = f.ensureUser(account, "Organization")
	}
	inst := &Installation{
		ID:          f.id(),
		Account:     acct,
		App:         f.app,
		AllRepos:    len(repos) == 0,
		Permissions: defaultPermissions(),
		Events:      append([]string(nil), f.app.Events...),
		repos:       map[int64]*Repo{},
	}
	for _, r := range repos {
		inst.repos[r.ID] = r
	}
	f.installs[inst.ID] = inst
	return inst
}

// AddRepos adds repositories to a selected-repositories installation.
func (f *Fake) AddRepos(inst *Installation, repos ...*Repo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range repos {
		inst.repos[r.ID] = r
	}
}

// SetPermission changes one installation permission ("" removes it);
// tokens issued afterwards carry the change.
func (f *Fake) SetPermission(inst *Installation, name, level string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if level == "" {
		delete(inst.Permissions, name)
		return
	}
	inst.Permissions[name] = level
}

// Repositories lists what the installation can reach.
func (inst *Installation) repositories(f *Fake) []*Repo {
	var out []*Repo
	if inst.AllRepos {
		for _, r := range f.repos {
			if r.Owner == inst.Account {
				out = append(out, r)
			}
		}
	} else {
		for _, r := range inst.repos {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (inst *Installation) covers(f *Fake, r *Repo) bool {
	if inst.AllRepos {
		return r.Owner == inst.Account
	}
	_, ok := inst.repos[r.ID]
	return ok
}

// SetRole makes user a collaborator of repo with a built-in role: read,
// triage, write, maintain or admin ("" removes the user).
func (f *Fake) SetRole(repo *Repo, user *User, role string) {
	f.SetCustomRole(repo, user, role, role)
}

// SetCustomRole gives user an organization custom role named name that
// inherits from the built-in role base.
func (f *Fake) SetCustomRole(repo *Repo, user *User, name, base string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "" {
		delete(repo.roles, strings.ToLower(user.Login))
		return
	}
	switch base {
	case "read", "triage", "write", "maintain", "admin":
	default:
		panic(fmt.Sprintf("githubfake: role %q has unknown base role %q", name, base))
	}
	repo.roles[strings.ToLower(user.Login)] = Role{RoleName: name, Base: base}
}

// roleOf returns the user's role; owners of user-owned repositories are
// admins, as on GitHub.
func (f *Fake) roleOf(repo *Repo, user *User) (Role, bool) {
	if user == repo.Owner {
		return Role{RoleName: "admin", Base: "admin"}, true
	}
	r, ok := repo.roles[strings.ToLower(user.Login)]
	return r, ok
}

func roleRank(base string) int {
	return map[string]int{"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}[base]
}

// AddTeamMember puts user on org's team (created if needed) with role
// "member" or "maintainer"; pending makes the membership an unaccepted
// invitation.
func (f *Fake) AddTeamMember(org, teamSlug string, user *User, role string, pending bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.ToLower(org + "/" + teamSlug)
	team, ok := f.teams[key]
	if !ok {
		team = &Team{ID: f.id(), Org: f.ensureUser(org, "Organization"), Slug: teamSlug, members: map[string]TeamMembership{}}
		f.teams[key] = team
	}
	state := "active"
	if pending {
		state = "pending"
	}
	team.members[strings.ToLower(user.Login)] = TeamMembership{Role: role, State: state}
}

// AddManifestCode registers a manifest code that
// POST /app-manifests/{code}/conversions turns into new App credentials
// (once, as GitHub codes are single-use).
func (f *Fake) AddManifestCode(code string) AppCredentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.id()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("githubfake: generating manifest App key: %v", err))
	}
	creds := AppCredentials{
		ID:            id,
		Slug:          fmt.Sprintf("manifest-app-%d", id),
		ClientID:      fmt.Sprintf("Iv1.%016x", id),
		ClientSecret:  fmt.Sprintf("client-secret-%d", id),
		WebhookSecret: fmt.Sprintf("webhook-secret-%d", id),
		PEM:           string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
	}
	f.manifests[code] = creds
	return creds
}

// PROptions describes a pull request for OpenPR.
type PROptions struct {
	Author *User
	Base   string // default: the repository's default branch
	Head   string // required: a branch of the same repository
	// HeadRepo makes it a pull request from a fork: the head branch is
	// shown as the fork's (head.repo, head.label), while its commits are
	// read from the repository, as GitHub does with refs/pull/N/head.
	HeadRepo *Repo
	Title    string
	Body     string
	Draft    bool
}

// Fork creates a fork of repo owned by owner: a repository of its own,
// marked as a fork, for pull requests whose head lives outside repo.
func (f *Fake) Fork(repo *Repo, owner string) *Repo {
	r := f.AddRepo(owner + "/" + repo.Name)
	f.mu.Lock()
	r.Fork = true
	f.mu.Unlock()
	return r
}

// OpenPR opens a pull request from the head branch's current tip and
// returns it with the pull_request.opened delivery GitHub would send.
func (f *Fake) OpenPR(repo *Repo, opts PROptions) (*PullRequest, *Delivery) {
	f.mu.Lock()
	if opts.Base == "" {
		opts.Base = repo.DefaultBranch
	}
	headSHA, ok := repo.branches[opts.Head]
	baseSHA := repo.branches[opts.Base]
	if !ok || baseSHA == "" {
		f.mu.Unlock()
		panic(fmt.Sprintf("githubfake: OpenPR: branches %q and %q must exist in %s", opts.Base, opts.Head, repo.FullName()))
	}
	for _, other := range f.prs {
		// GitHub refuses a second open pull request between the same
		// branches ("A pull request already exists"); the same head into
		// another base is allowed, and shares its head commit.
		if other.Repo == repo && other.State == "open" && other.HeadRef == opts.Head && other.BaseRef == opts.Base {
			f.mu.Unlock()
			panic(fmt.Sprintf("githubfake: OpenPR: #%d from %s into %s is open already", other.Number, opts.Head, opts.Base))
		}
	}
	if opts.Author == nil {
		opts.Author = repo.Owner
	}
	if opts.Title == "" {
		opts.Title = "Update " + opts.Head
	}
	f.numbers[repo.ID]++
	now := f.now()
	pr := &PullRequest{
		ID:             f.id(),
		Number:         f.numbers[repo.ID],
		Repo:           repo,
		Author:         opts.Author,
		Title:          opts.Title,
		Body:           opts.Body,
		BaseRef:        opts.Base,
		HeadRef:        opts.Head,
		HeadRepo:       opts.HeadRepo,
		BaseSHA:        baseSHA,
		HeadSHA:        headSHA,
		Draft:          opts.Draft,
		State:          "open",
		MergeableState: "unknown",
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	f.prs[prKey{repo.ID, pr.Number}] = pr
	d := f.pullRequestDelivery(pr, "opened", opts.Author, nil)
	f.mu.Unlock()
	return pr, d
}

// Push moves the pull request's head branch to sha (a force-push if sha
// does not descend from the old head) and returns the
// pull_request.synchronize delivery. Check runs of the old head SHA are
// left as they are, as on GitHub.
func (f *Fake) Push(pr *PullRequest, sha string) *Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	before := pr.HeadSHA
	pr.HeadSHA = sha
	pr.Repo.branches[pr.HeadRef] = sha
	for _, other := range f.prs {
		// Other open pull requests from the same branch move with it
		// (their deliveries: PushBranch).
		if other != pr && other.Repo == pr.Repo && other.State == "open" && other.HeadRef == pr.HeadRef {
			other.HeadSHA = sha
		}
	}
	pr.UpdatedAt = f.now()
	pr.Mergeable, pr.MergeableState = nil, "unknown"
	return f.pullRequestDelivery(pr, "synchronize", pr.Author, map[string]any{"before": before, "after": sha})
}

// PushBranch moves branch to sha, as a push does, and returns the
// synchronize delivery of every open pull request whose head is that
// branch, in number order: several pull requests from one branch (into
// different bases) share their head commit and each gets its event.
func (f *Fake) PushBranch(repo *Repo, branch, sha string) []*Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	repo.branches[branch] = sha
	var prs []*PullRequest
	for _, pr := range f.prs {
		if pr.Repo == repo && pr.State == "open" && pr.HeadRef == branch {
			prs = append(prs, pr)
		}
	}
	sort.Slice(prs, func(i, j int) bool { return prs[i].Number < prs[j].Number })
	var out []*Delivery
	for _, pr := range prs {
		before := pr.HeadSHA
		pr.HeadSHA = sha
		pr.UpdatedAt = f.now()
		pr.Mergeable, pr.MergeableState = nil, "unknown"
		out = append(out, f.pullRequestDelivery(pr, "synchronize", pr.Author, map[string]any{"before": before, "after": sha}))
	}
	return out
}

// SetDraft converts the pull request to or from a draft and returns the
// converted_to_draft or ready_for_review delivery.
func (f *Fake) SetDraft(pr *PullRequest, draft bool) *Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	pr.Draft = draft
	pr.UpdatedAt = f.now()
	action := "ready_for_review"
	if draft {
		action = "converted_to_draft"
	}
	return f.pullRequestDelivery(pr, action, pr.Author, nil)
}

// ClosePR closes the pull request and returns the closed delivery.
func (f *Fake) ClosePR(pr *PullRequest) *Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	pr.State = "closed"
	pr.UpdatedAt = f.now()
	return f.pullRequestDelivery(pr, "closed", pr.Author, nil)
}

// ReopenPR reopens a closed pull request and returns the reopened delivery.
func (f *Fake) ReopenPR(pr *PullRequest) *Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	pr.State = "open"
	pr.UpdatedAt = f.now()
	return f.pullRequestDelivery(pr, "reopened", pr.Author, nil)
}

// PREdit changes a pull request's title, body or base branch; empty
// fields are left alone.
type PREdit struct {
	Title string
	Body  string
	Base  string
}

// EditPR applies e as editor and returns the pull_request.edited delivery,
// whose changes carry the previous values (for a base change:
// changes.base.ref.from and changes.base.sha.from).
func (f *Fake) EditPR(pr *PullRequest, editor *User, e PREdit) *Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	changes := map[string]any{}
	if e.Title != "" && e.Title != pr.Title {
		changes["title"] = map[string]any{"from": pr.Title}
		pr.Title = e.Title
	}
	if e.Body != "" && e.Body != pr.Body {
		changes["body"] = map[string]any{"from": pr.Body}
		pr.Body = e.Body
	}
	if e.Base != "" && e.Base != pr.BaseRef {
		changes["base"] = map[string]any{
			"ref": map[string]any{"from": pr.BaseRef},
			"sha": map[string]any{"from": pr.BaseSHA},
		}
		pr.BaseRef = e.Base
		pr.BaseSHA = pr.Repo.branches[e.Base]
	}
	pr.UpdatedAt = f.now()
	return f.pullRequestDelivery(pr, "edited", editor, map[string]any{"changes": changes})
}

// SetMergeable sets what GitHub has computed about merging the pull
// request (nil: not computed yet) and its mergeable_state.
func (f *Fake) SetMergeable(pr *PullRequest, mergeable *bool, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pr.Mergeable, pr.MergeableState = mergeable, state
}

// Comment posts an issue comment on the pull request as user and returns
// it with the issue_comment.created delivery.
func (f *Fake) Comment(user *User, pr *PullRequest, body string) (*IssueComment, *Delivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	c := &IssueComment{ID: f.id(), Repo: pr.Repo, Number: pr.Number, Author: user, Body: body, CreatedAt: now, UpdatedAt: now}
	f.comments[c.ID] = c
	return c, f.issueCommentDelivery(c, "created", user, "")
}

// EditComment edits comment id as editor, enforcing GitHub's rule: the
// author, or anyone with write access or more, may edit any comment
// (including the App's). It returns the issue_comment.edited delivery,
// whose sender is the editor and whose changes.body.from is the previous
// body.
func (f *Fake) EditComment(editor *User, id int64, body string) (*Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.comments[id]
	if !ok {
		return nil, fmt.Errorf("editing comment %d: no such comment", id)
	}
	if editor != c.Author {
		role, ok := f.roleOf(c.Repo, editor)
		if !ok || roleRank(role.Base) < roleRank("write") {
			return nil, fmt.Errorf("editing comment %d as %s: needs write access to %s", id, editor.Login, c.Repo.FullName())
		}
	}
	from := c.Body
	f.editComment(c, editor, body)
	return f.issueCommentDelivery(c, "edited", editor, from), nil
}

// AgeComment makes comment id's last edit (or its creation) d older, as
// if it had been made d earlier: for tests about edits made while the
// service was down.
func (f *Fake) AgeComment(id int64, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.comments[id]
	if !ok {
		f.t.Errorf("githubfake: AgeComment: no comment %d", id)
		return
	}
	c.UpdatedAt = c.UpdatedAt.Add(-d)
	if c.CreatedAt.After(c.UpdatedAt) {
		c.CreatedAt = c.UpdatedAt
	}
	if n := len(c.Edits); n > 0 {
		c.Edits[n-1].At = c.UpdatedAt
	}
}

func (f *Fake) editComment(c *IssueComment, editor *User, body string) {
	now := f.now()
	c.Edits = append(c.Edits, CommentEdit{Editor: editor, From: c.Body, To: body, At: now})
	c.Body = body
	c.UpdatedAt = now
}

// AddCheckRun creates a completed check run by another App on sha.
func (f *Fake) AddCheckRun(app *App, repo *Repo, sha, name, conclusion string) *CheckRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	run := &CheckRun{ID: f.id(), Repo: repo, App: app, Name: name, HeadSHA: sha, Status: "completed", Conclusion: conclusion, StartedAt: &now, CompletedAt: &now}
	run.Suite = f.suiteFor(repo, app, sha)
	f.runs[run.ID] = run
	return run
}

func (f *Fake) suiteFor(repo *Repo, app *App, sha string) *CheckSuite {
	for _, s := range f.suites {
		if s.Repo == repo && s.App == app && s.HeadSHA == sha {
			return s
		}
	}
	branch := ""
	for name, tip := range repo.branches {
		if tip == sha {
			branch = name
		}
	}
	now := f.now()
	s := &CheckSuite{ID: f.id(), Repo: repo, App: app, HeadSHA: sha, HeadBranch: branch, Status: "queued", CreatedAt: now, UpdatedAt: now}
	f.suites[s.ID] = s
	return s
}

// Snapshots: copies taken under the lock, safe to read while the App runs.

// CheckRuns returns the check runs on repo for sha ("" for all), oldest first.
func (f *Fake) CheckRuns(repo *Repo, sha string) []CheckRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []CheckRun
	for _, r := range f.runs {
		if r.Repo == repo && (sha == "" || r.HeadSHA == sha) {
			cp := *r
			cp.Output.Annotations = append([]Annotation(nil), r.Output.Annotations...)
			cp.Actions = append([]CheckAction(nil), r.Actions...)
			out = append(out, cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// IssueComments returns the pull request's comments, oldest first.
func (f *Fake) IssueComments(pr *PullRequest) []IssueComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []IssueComment
	for _, c := range f.commentsOf(pr.Repo, pr.Number) {
		cp := *c
		cp.Edits = append([]CommentEdit(nil), c.Edits...)
		out = append(out, cp)
	}
	return out
}

func (f *Fake) commentsOf(repo *Repo, number int) []*IssueComment {
	var out []*IssueComment
	for _, c := range f.comments {
		if c.Repo == repo && c.Number == number {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Reviews returns the pull request's reviews, oldest first.
func (f *Fake) Reviews(pr *PullRequest) []Review {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Review
	for _, r := range f.reviews {
		if r.Repo == pr.Repo && r.Number == pr.Number {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ReviewComments returns the pull request's inline comments, oldest first.
func (f *Fake) ReviewComments(pr *PullRequest) []ReviewComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ReviewComment
	for _, c := range f.reviewCommentsOf(pr.Repo, pr.Number) {
		out = append(out, *c)
	}
	return out
}

func (f *Fake) reviewCommentsOf(repo *Repo, number int) []*ReviewComment {
	var out []*ReviewComment
	for _, c := range f.rcomments {
		if c.Repo == repo && c.Number == number {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PR returns a copy of the pull request's current state.
func (f *Fake) PR(pr *PullRequest) PullRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *pr
}

func (f *Fake) repoByName(owner, name string) (*Repo, bool) {
	r, ok := f.repos[strings.ToLower(owner+"/"+name)]
	return r, ok
}

func (f *Fake) apiURL(format string, args ...any) string {
	p := fmt.Sprintf(format, args...)
	return f.server.URL + "/" + strings.TrimPrefix(p, "/")
}

func htmlURL(format string, args ...any) string {
	return "https://github.com/" + strings.TrimPrefix(fmt.Sprintf(format, args...), "/")
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func lower(s string) string { return strings.ToLower(s) }
