package githubfake

import (
	"crypto/rsa"
	"fmt"
	"sort"
	"strings"
	"time"
)

// User is a GitHub account: a person ("User"), a bot ("Bot") or an
// organization ("Organization").
type User struct {
	ID    int64
	Login string
	Type  string
	Name  string
	Email string
}

// App is a GitHub App. The fake's own App (Fake.App) holds a private key;
// other Apps exist so tests can give a commit check runs the App under test
// must not touch.
type App struct {
	ID            int64
	Slug          string
	Name          string
	ClientID      string
	ClientSecret  string
	WebhookSecret string
	HookID        int64
	Owner         *User
	// Bot is the "<slug>[bot]" user that authors everything the App writes.
	Bot         *User
	Permissions map[string]string
	Events      []string
	key         *rsa.PrivateKey
}

// Installation is the App installed on an account, for all of the
// account's repositories or for selected ones.
type Installation struct {
	ID          int64
	Account     *User
	App         *App
	AllRepos    bool
	Permissions map[string]string
	Events      []string
	repos       map[int64]*Repo
}

// Role is a repository role as GitHub reports it: RoleName is one of
// read, triage, write, maintain, admin or a custom role's name; Base is the
// built-in role a custom role inherits from (equal to RoleName otherwise).
type Role struct {
	RoleName string
	Base     string
}

// Repo is a repository with its git objects, branches and collaborators.
type Repo struct {
	ID            int64
	Owner         *User
	Name          string
	Private       bool
	DefaultBranch string
	// Fork says the repository is a fork (Fake.Fork).
	Fork bool

	f        *Fake
	commits  map[string]*Commit
	trees    map[string][]treeEntry
	blobs    map[string]string
	branches map[string]string
	roles    map[string]Role
}

// FullName is "owner/name".
func (r *Repo) FullName() string { return r.Owner.Login + "/" + r.Name }

// Commit is a git commit; Files maps every path in its tree to a blob id.
type Commit struct {
	SHA       string
	Tree      string
	Parents   []string
	Message   string
	Author    Signature
	Committer Signature
	Files     map[string]string
}

// PullRequest is a pull request between two branches of one repository.
type PullRequest struct {
	ID      int64
	Number  int
	Repo    *Repo
	Author  *User
	Title   string
	Body    string
	BaseRef string
	HeadRef string
	BaseSHA string
	HeadSHA string
	// HeadRepo is the fork the head branch lives in; nil when it is a
	// branch of Repo.
	HeadRepo       *Repo
	Draft          bool
	State          string // "open" or "closed"
	Merged         bool
	Mergeable      *bool
	MergeableState string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// IssueComment is a comment in a pull request's conversation.
type IssueComment struct {
	ID        int64
	Repo      *Repo
	Number    int
	Author    *User
	Body      string
	App       *App // set when an App wrote it (performed_via_github_app)
	CreatedAt time.Time
	UpdatedAt time.Time
	Edits     []CommentEdit
}

// CommentEdit is one entry of a comment's edit history.
type CommentEdit struct {
	Editor *User
	From   string
	To     string
	At     time.Time
}

// Review is a pull request review.
type Review struct {
	ID          int64
	Repo        *Repo
	Number      int
	User        *User
	Body        string
	State       string // APPROVED, CHANGES_REQUESTED, COMMENTED, PENDING
	CommitID    string
	SubmittedAt time.Time
	App         *App
}

// ReviewComment is an inline comment on a pull request's diff.
type ReviewComment struct {
	ID               int64
	ReviewID         int64
	Repo             *Repo
	Number           int
	User             *User
	App              *App
	Body             string
	Path             string
	Line             int
	Side             string
	StartLine        int
	StartSide        string
	Position         int
	CommitID         string
	OriginalCommitID string
	DiffHunk         string
	InReplyTo        int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// CheckSuite groups an App's check runs for one head SHA.
type CheckSuite struct {
	ID         int64
	Repo       *Repo
	App        *App
	HeadSHA    string
	HeadBranch string
	Status     string
	Conclusion string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// CheckRun is a check run with every field an App can write.
type CheckRun struct {
	ID          int64
	Repo        *Repo
	App         *App
	Suite       *CheckSuite
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	StartedAt   *time.Time
	CompletedAt *time.Time
	ExternalID  string
	DetailsURL  string
	Output      CheckOutput
	Actions     []CheckAction
}

// CheckOutput is a check run's output. Annotations accumulate across
// updates, as on GitHub.
type CheckOutput struct {
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
}

// Annotation is one check run annotation.
type Annotation struct {
	Path        string
	StartLine   int
	EndLine     int
	StartColumn *int
	EndColumn   *int
	Level       string
	Message     string
	Title       string
	RawDetails  string
}

// CheckAction is a requested-action button on a check run.
type CheckAction struct {
	Label       string
	Description string
	Identifier  string
}

// Team is an organization team.
type Team struct {
	ID      int64
	Org     *User
	Slug    string
	members map[string]TeamMembership
}

// TeamMembership is a user's membership of a team.
type TeamMembership struct {
	Role  string // member or maintainer
	State string // active or pending
}

// AppCredentials is what POST /app-manifests/{code}/conversions returns.
type AppCredentials struct {
	ID            int64
	Slug          string
	ClientID      string
	ClientSecret  string
	WebhookSecret string
	PEM           string
}

// Deleted, as a value in a files map, removes the path in that commit.
const Deleted = "\x00githubfake:deleted\x00"

// CommitOptions describes a commit for Repo.CommitWith.
type CommitOptions struct {
	// Branch is moved to the new commit and, unless Parent is set, supplies
	// the parent. A missing branch starts from the default branch's tip.
	// Empty means: move no branch (Parent then is the only parent).
	Branch string
	// Parent overrides the parent; "" with no Branch makes a root commit.
	Parent string
	// Files are written over the parent's tree; Deleted removes a path.
	Files     map[string]string
	Message   string
	Author    *User
	Committer *User
}

// Commit commits files onto the default branch and returns the new SHA.
func (r *Repo) Commit(files map[string]string) string {
	return r.CommitWith(CommitOptions{Branch: r.DefaultBranch, Files: files})
}

// CommitOn commits files onto branch, creating the branch from the
// default branch if needed, and returns the new SHA.
func (r *Repo) CommitOn(branch string, files map[string]string) string {
	return r.CommitWith(CommitOptions{Branch: branch, Files: files})
}

// CommitWith records a commit as described by opts and returns its SHA.
func (r *Repo) CommitWith(opts CommitOptions) string {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	parent := opts.Parent
	if parent == "" && opts.Branch != "" {
		parent = r.branches[opts.Branch]
		if parent == "" {
			parent = r.branches[r.DefaultBranch]
		}
	}
	files := map[string]string{}
	var parents []string
	if parent != "" {
		pc, ok := r.commits[parent]
		if !ok {
			f.t.Helper()
			f.t.Errorf("githubfake: commit on %s: parent %s does not exist", r.FullName(), parent)
			return ""
		}
		for p, sha := range pc.Files {
			files[p] = sha
		}
		parents = []string{parent}
	}
	for p, content := range opts.Files {
		p = strings.Trim(p, "/")
		if content == Deleted {
			delete(files, p)
			continue
		}
		sha := blobID(content)
		r.blobs[sha] = content
		files[p] = sha
	}
	tree := buildTrees(files, r.trees)
	f.clockTick++
	when := f.now().Add(time.Duration(f.clockTick) * time.Second).UTC().Truncate(time.Second)
	author := opts.Author
	if author == nil {
		author = r.Owner
	}
	committer := opts.Committer
	if committer == nil {
		committer = author
	}
	msg := opts.Message
	if msg == "" {
		msg = fmt.Sprintf("Change %d", f.clockTick)
	}
	c := &Commit{
		Tree:      tree,
		Parents:   parents,
		Message:   msg,
		Author:    signatureOf(author, when),
		Committer: signatureOf(committer, when),
		Files:     files,
	}
	c.SHA = commitID(tree, parents, c.Author, c.Committer, msg)
	r.commits[c.SHA] = c
	if opts.Branch != "" {
		r.branches[opts.Branch] = c.SHA
	}
	return c.SHA
}

func signatureOf(u *User, when time.Time) Signature {
	name := u.Name
	if name == "" {
		name = u.Login
	}
	email := u.Email
	if email == "" {
		email = fmt.Sprintf("%d+%s@users.noreply.github.com", u.ID, u.Login)
	}
	return Signature{Name: name, Email: email, Login: u.Login, Date: when}
}

// Branch returns the SHA branch points at, or "" if it does not exist.
func (r *Repo) Branch(name string) string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.branches[name]
}

// SetBranch points branch at sha (a force-push when it is not a
// descendant).
func (r *Repo) SetBranch(name, sha string) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.branches[name] = sha
}

// DeleteBranch removes a branch; its commits stay reachable by SHA.
func (r *Repo) DeleteBranch(name string) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	delete(r.branches, name)
}

// ForgetCommit makes sha unknown, as after a force-push and garbage
// collection: every endpoint then answers as GitHub does for a SHA it does
// not have.
func (r *Repo) ForgetCommit(sha string) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	delete(r.commits, sha)
}

// File returns the content of path at commit sha.
func (r *Repo) File(sha, path string) (string, bool) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	c, ok := r.commits[sha]
	if !ok {
		return "", false
	}
	blob, ok := c.Files[path]
	if !ok {
		return "", false
	}
	return r.blobs[blob], true
}

// SetPrivate changes the repository's visibility.
func (r *Repo) SetPrivate(private bool) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.Private = private
}

// resolve turns a branch name, "refs/heads/x", or a full or abbreviated
// SHA into a commit.
func (r *Repo) resolve(ref string) (*Commit, bool) {
	ref = strings.TrimPrefix(ref, "refs/heads/")
	if sha, ok := r.branches[ref]; ok {
		c, ok := r.commits[sha]
		return c, ok
	}
	if c, ok := r.commits[ref]; ok {
		return c, true
	}
	if len(ref) >= 7 && len(ref) < 40 && isHex(ref) {
		var found *Commit
		for sha, c := range r.commits {
			if strings.HasPrefix(sha, ref) {
				if found != nil {
					return nil, false
				}
				found = c
			}
		}
		return found, found != nil
	}
	return nil, false
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ancestors returns sha and every commit reachable from it.
func (r *Repo) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{sha}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[s] {
			continue
		}
		c, ok := r.commits[s]
		if !ok {
			continue
		}
		seen[s] = true
		stack = append(stack, c.Parents...)
	}
	return seen
}

// commitsBetween lists commits reachable from head but not from base,
// oldest first, as GitHub lists a pull request's commits.
func (r *Repo) commitsBetween(base, head string) []*Commit {
	exclude := r.ancestors(base)
	var out []*Commit
	for sha := range r.ancestors(head) {
		if !exclude[sha] {
			out = append(out, r.commits[sha])
		}
	}
	// Parents before children; ties (unrelated commits) by date then SHA.
	depth := map[string]int{}
	var depthOf func(sha string) int
	depthOf = func(sha string) int {
		if d, ok := depth[sha]; ok {
			return d
		}
		depth[sha] = 0
		d := 0
		if c, ok := r.commits[sha]; ok {
			for _, p := range c.Parents {
				if pd := depthOf(p) + 1; pd > d {
					d = pd
				}
			}
		}
		depth[sha] = d
		return d
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := depthOf(out[i].SHA), depthOf(out[j].SHA)
		if di != dj {
			return di < dj
		}
		return out[i].SHA < out[j].SHA
	})
	return out
}

// mergeBase returns the nearest common ancestor of a and b.
func (r *Repo) mergeBase(a, b string) string {
	inA := r.ancestors(a)
	queue := []string{b}
	seen := map[string]bool{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s] {
			continue
		}
		seen[s] = true
		if inA[s] {
			return s
		}
		if c, ok := r.commits[s]; ok {
			queue = append(queue, c.Parents...)
		}
	}
	return ""
}
