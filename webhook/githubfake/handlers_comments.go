package githubfake

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() {
	for id, h := range map[string]handler{
		"issues/list-comments":                    listIssueComments,
		"issues/create-comment":                   createIssueComment,
		"issues/get-comment":                      getIssueComment,
		"issues/update-comment":                   updateIssueComment,
		"issues/delete-comment":                   deleteIssueComment,
		"pulls/create-review":                     createReview,
		"pulls/list-reviews":                      listReviews,
		"pulls/list-review-comments":              listReviewComments,
		"pulls/create-review-comment":             createReviewComment,
		"pulls/get-review-comment":                getReviewComment,
		"pulls/update-review-comment":             updateReviewComment,
		"pulls/delete-review-comment":             deleteReviewComment,
		"pulls/create-reply-for-review-comment":   replyToReviewComment,
		"repos/get-collaborator-permission-level": getCollaboratorPermission,
		"teams/get-membership-for-user-in-org":    getTeamMembership,
	} {
		handlers[id] = h
	}
}

// actor is who a write is attributed to: the App's bot user for
// installation tokens, as GitHub shows App-created content.
func (c *call) actor() (*User, *App) {
	if app := c.callerApp(); app != nil {
		return app.Bot, app
	}
	return nil, nil
}

func (c *call) issueNumber() (int, bool) {
	n, err := strconv.Atoi(c.params["issue_number"])
	if err != nil {
		return 0, false
	}
	_, found := c.f.prs[prKey{c.repo.ID, n}]
	return n, found
}

func (c *call) since() (time.Time, bool) {
	t, ok := parseTime(c.query.Get("since"))
	if !ok {
		return time.Time{}, false
	}
	return *t, true
}

func listIssueComments(c *call) reply {
	n, found := c.issueNumber()
	if !found {
		return c.notFound()
	}
	list := c.f.commentsOf(c.repo, n)
	if since, ok := c.since(); ok {
		kept := list[:0]
		for _, cm := range list {
			if !cm.UpdatedAt.Before(since) {
				kept = append(kept, cm)
			}
		}
		list = kept
	}
	lo, hi := c.page(len(list))
	out := []any{}
	for _, cm := range list[lo:hi] {
		out = append(out, c.f.renderIssueComment(cm))
	}
	return ok(out)
}

func createIssueComment(c *call) reply {
	n, found := c.issueNumber()
	if !found {
		return c.notFound()
	}
	user, app := c.actor()
	if user == nil {
		return c.fail(http.StatusForbidden, msgNotAccessible)
	}
	now := c.f.now()
	cm := &IssueComment{ID: c.f.id(), Repo: c.repo, Number: n, Author: user, App: app, Body: c.str("body"), CreatedAt: now, UpdatedAt: now}
	c.f.comments[cm.ID] = cm
	c.f.echo(c.f.issueCommentDelivery(cm, "created", user, ""))
	return created(c.f.renderIssueComment(cm), cm.ID)
}

func (c *call) issueComment() (*IssueComment, bool) {
	cm, found := c.f.comments[c.intParam("comment_id")]
	if !found || cm.Repo != c.repo {
		return nil, false
	}
	return cm, true
}

func getIssueComment(c *call) reply {
	cm, found := c.issueComment()
	if !found {
		return c.notFound()
	}
	return ok(c.f.renderIssueComment(cm))
}

func updateIssueComment(c *call) reply {
	cm, found := c.issueComment()
	if !found {
		return c.notFound()
	}
	user, _ := c.actor()
	if user == nil {
		return c.fail(http.StatusForbidden, msgNotAccessible)
	}
	// An installation with issues or pull_requests write access may edit
	// any comment, not only its own, just as a user with write access can.
	from := cm.Body
	c.f.editComment(cm, user, c.str("body"))
	c.f.echo(c.f.issueCommentDelivery(cm, "edited", user, from))
	return reply{status: http.StatusOK, body: c.f.renderIssueComment(cm), objectID: cm.ID}
}

func deleteIssueComment(c *call) reply {
	cm, found := c.issueComment()
	if !found {
		return c.notFound()
	}
	if user, _ := c.actor(); user != nil {
		c.f.echo(c.f.issueCommentDelivery(cm, "deleted", user, ""))
	}
	delete(c.f.comments, cm.ID)
	return reply{status: http.StatusNoContent, objectID: cm.ID}
}

// reviewTarget is where an inline comment lands after checking it against
// the diff.
type reviewTarget struct {
	path            string
	line, startLine int
	side, startSide string
	position        int
	diffHunk        string
	commitID        string
	fileLevel       bool
}

// diffLineError is GitHub's complaint about a line outside the diff.
const diffLineError = "pull_request_review_thread.line must be part of the diff"

// locate checks an inline comment request against the pull request's diff
// at commitID, as GitHub does: the path must be a changed file and the
// line (or position) must be in one of its hunks, on the given side.
func (c *call) locate(pr *PullRequest, commitID string, req map[string]any) (reviewTarget, string, string) {
	t := reviewTarget{commitID: commitID}
	t.path, _ = req["path"].(string)
	files := c.f.changedFiles(c.repo, c.f.diffBase(pr, commitID), commitID)
	cf, found := findChangedFile(files, t.path)
	if !found {
		return t, "pull_request_review_thread.path", "Path could not be resolved"
	}
	if st, _ := req["subject_type"].(string); st == "file" {
		t.fileLevel = true
		return t, "", ""
	}
	if cf.Patch == nil {
		return t, "pull_request_review_thread.line", diffLineError
	}
	line, hasLine := jsonInt(req["line"])
	pos, hasPos := jsonInt(req["position"])
	var at patchLine
	switch {
	case hasLine:
		t.side, _ = req["side"].(string)
		if t.side == "" {
			t.side = "RIGHT"
		}
		pl, found := cf.Patch.lineAt(t.side, line)
		if !found {
			return t, "pull_request_review_thread.line", diffLineError
		}
		at, t.line = pl, line
	case hasPos:
		pl, found := cf.Patch.atPosition(pos)
		if !found {
			return t, "pull_request_review_thread.position", "Position could not be resolved"
		}
		at = pl
		if pl.kind == '-' {
			t.side, t.line = "LEFT", pl.oldLine
		} else {
			t.side, t.line = "RIGHT", pl.newLine
		}
	default:
		return t, "pull_request_review_thread.line", "line or position is required"
	}
	t.position = at.position
	if start, ok := jsonInt(req["start_line"]); ok {
		t.startSide, _ = req["start_side"].(string)
		if t.startSide == "" {
			t.startSide = t.side
		}
		sl, found := cf.Patch.lineAt(t.startSide, start)
		if !found {
			return t, "pull_request_review_thread.start_line", "pull_request_review_thread.start_line must be part of the diff"
		}
		if sl.hunk != at.hunk {
			return t, "pull_request_review_thread.start_line", "pull_request_review_thread.start_line must be part of the same hunk as the line."
		}
		if sl.position >= at.position {
			return t, "pull_request_review_thread.start_line", "pull_request_review_thread.start_line must precede the end line."
		}
		t.startLine = start
	}
	t.diffHunk = cf.Patch.hunkUpTo(at)
	return t, "", ""
}

// commitOf checks commit_id belongs to the pull request (its head or one
// of its commits); "" means the head.
func (c *call) commitOf(pr *PullRequest, commitID string) (string, bool) {
	if commitID == "" || commitID == pr.HeadSHA {
		return pr.HeadSHA, true
	}
	for _, cm := range c.repo.commitsBetween(pr.BaseSHA, pr.HeadSHA) {
		if cm.SHA == commitID {
			return commitID, true
		}
	}
	return "", false
}

func (f *Fake) newReviewComment(pr *PullRequest, user *User, app *App, reviewID int64, body string, t reviewTarget) *ReviewComment {
	now := f.now()
	rc := &ReviewComment{
		ID: f.id(), ReviewID: reviewID, Repo: pr.Repo, Number: pr.Number, User: user, App: app, Body: body,
		Path: t.path, Line: t.line, Side: t.side, StartLine: t.startLine, StartSide: t.startSide,
		Position: t.position, CommitID: t.commitID, OriginalCommitID: t.commitID, DiffHunk: t.diffHunk,
		CreatedAt: now, UpdatedAt: now,
	}
	f.rcomments[rc.ID] = rc
	return rc
}

func createReview(c *call) reply {
	pr, found := c.pull()
	if !found {
		return c.notFound()
	}
	user, app := c.actor()
	if user == nil {
		return c.fail(http.StatusForbidden, msgNotAccessible)
	}
	commitID, good := c.commitOf(pr, c.str("commit_id"))
	if !good {
		return c.invalid("PullRequestReview", "commit_id", "custom", "commit_id is not part of the pull request")
	}
	var targets []reviewTarget
	var bodies []string
	comments, _ := c.body["comments"].([]any)
	var problems []any
	for _, raw := range comments {
		req, _ := raw.(map[string]any)
		t, _, msg := c.locate(pr, commitID, req)
		if msg != "" {
			problems = append(problems, msg)
			continue
		}
		body, _ := req["body"].(string)
		targets, bodies = append(targets, t), append(bodies, body)
	}
	if len(problems) > 0 {
		// The reviews endpoint reports plain strings, unlike the single
		// comment endpoint's Validation Failed objects.
		return reply{status: http.StatusUnprocessableEntity, body: errorBody(http.StatusUnprocessableEntity, "Unprocessable Entity", c.docURL(), problems), isError: true}
	}
	state := map[string]string{"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", "": "PENDING"}[c.str("event")]
	if (state == "CHANGES_REQUESTED" || state == "COMMENTED") && c.str("body") == "" && len(targets) == 0 {
		return reply{status: http.StatusUnprocessableEntity, body: errorBody(http.StatusUnprocessableEntity, "Unprocessable Entity", c.docURL(), []any{"Review body is required for " + c.str("event") + " events"}), isError: true}
	}
	if state == "APPROVED" || state == "CHANGES_REQUESTED" {
		if user == pr.Author {
			return reply{status: http.StatusUnprocessableEntity, body: errorBody(http.StatusUnprocessableEntity, "Unprocessable Entity", c.docURL(), []any{"Can not approve or request changes on your own pull request"}), isError: true}
		}
	}
	rv := &Review{ID: c.f.id(), Repo: c.repo, Number: pr.Number, User: user, App: app, Body: c.str("body"), State: state, CommitID: commitID, SubmittedAt: c.f.now()}
	c.f.reviews[rv.ID] = rv
	for i, t := range targets {
		c.f.newReviewComment(pr, user, app, rv.ID, bodies[i], t)
	}
	return reply{status: http.StatusOK, body: c.f.renderReview(rv), objectID: rv.ID}
}

func listReviews(c *call) reply {
	pr, found := c.pull()
	if !found {
		return c.notFound()
	}
	var list []*Review
	for _, rv := range c.f.reviews {
		if rv.Repo == c.repo && rv.Number == pr.Number {
			list = append(list, rv)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	lo, hi := c.page(len(list))
	out := []any{}
	for _, rv := range list[lo:hi] {
		out = append(out, c.f.renderReview(rv))
	}
	return ok(out)
}

func listReviewComments(c *call) reply {
	pr, found := c.pull()
	if !found {
		return c.notFound()
	}
	list := c.f.reviewCommentsOf(c.repo, pr.Number)
	if since, ok := c.since(); ok {
		kept := list[:0]
		for _, rc := range list {
			if !rc.UpdatedAt.Before(since) {
				kept = append(kept, rc)
			}
		}
		list = kept
	}
	if c.query.Get("direction") == "desc" {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	lo, hi := c.page(len(list))
	out := []any{}
	for _, rc := range list[lo:hi] {
		out = append(out, c.f.renderReviewComment(rc))
	}
	return ok(out)
}

func createReviewComment(c *call) reply {
	pr, found := c.pull()
	if !found {
		return c.notFound()
	}
	user, app := c.actor()
	if user == nil {
		return c.fail(http.StatusForbidden, msgNotAccessible)
	}
	if c.has("in_reply_to") {
		parentID, _ := jsonInt(c.body["in_reply_to"])
		return c.reply(pr, int64(parentID), user, app)
	}
	commitID, good := c.commitOf(pr, c.str("commit_id"))
	if !good {
		return c.invalid("PullRequestReviewComment", "commit_id", "custom", "commit_id is not part of the pull request")
	}
	t, field, msg := c.locate(pr, commitID, c.body)
	if msg != "" {
		return c.invalid("PullRequestReviewComment", field, "custom", msg)
	}
	rc := c.f.newReviewComment(pr, user, app, c.f.id(), c.str("body"), t)
	return created(c.f.renderReviewComment(rc), rc.ID)
}

func (c *call) reply(pr *PullRequest, parentID int64, user *User, app *App) reply {
	parent, found := c.f.rcomments[parentID]
	if !found || parent.Repo != c.repo || parent.Number != pr.Number {
		return c.notFound()
	}
	// Replies attach to the thread's first comment.
	for parent.InReplyTo != 0 {
		parent = c.f.rcomments[parent.InReplyTo]
	}
	t := reviewTarget{path: parent.Path, line: parent.Line, side: parent.Side, startLine: parent.StartLine, startSide: parent.StartSide, position: parent.Position, diffHunk: parent.DiffHunk, commitID: parent.CommitID}
	rc := c.f.newReviewComment(pr, user, app, parent.ReviewID, c.str("body"), t)
	rc.InReplyTo = parent.ID
	return created(c.f.renderReviewComment(rc), rc.ID)
}

func replyToReviewComment(c *call) reply {
	pr, found := c.pull()
	if !found {
		return c.notFound()
	}
	user, app := c.actor()
	if user == nil {
		return c.fail(http.StatusForbidden, msgNotAccessible)
	}
	return c.reply(pr, c.intParam("comment_id"), user, app)
}

func (c *call) reviewComment() (*ReviewComment, bool) {
	rc, found := c.f.rcomments[c.intParam("comment_id")]
	if !found || rc.Repo != c.repo {
		return nil, false
	}
	return rc, true
}

func getReviewComment(c *call) reply {
	rc, found := c.reviewComment()
	if !found {
		return c.notFound()
	}
	return ok(c.f.renderReviewComment(rc))
}

func updateReviewComment(c *call) reply {
	rc, found := c.reviewComment()
	if !found {
		return c.notFound()
	}
	rc.Body = c.str("body")
	rc.UpdatedAt = c.f.now()
	return reply{status: http.StatusOK, body: c.f.renderReviewComment(rc), objectID: rc.ID}
}

func deleteReviewComment(c *call) reply {
	rc, found := c.reviewComment()
	if !found {
		return c.notFound()
	}
	delete(c.f.rcomments, rc.ID)
	return reply{status: http.StatusNoContent, objectID: rc.ID}
}

// legacyPermission maps a role to the old admin/write/read/none scale
// GitHub still reports in "permission".
func legacyPermission(base string) string {
	switch base {
	case "admin":
		return "admin"
	case "maintain", "write":
		return "write"
	case "triage", "read":
		return "read"
	}
	return "none"
}

func getCollaboratorPermission(c *call) reply {
	user := c.f.userByLogin(c.params["username"])
	if user == nil || user.Type == "Organization" {
		return c.fail(http.StatusNotFound, fmt.Sprintf("%s is not a user", c.params["username"]))
	}
	role, found := c.f.roleOf(c.repo, user)
	if !found {
		role = Role{RoleName: "", Base: ""}
		if !c.repo.Private {
			role = Role{RoleName: "read", Base: "read"}
		}
	}
	rank := roleRank(role.Base)
	u := c.f.renderUser(user)
	u["permissions"] = map[string]any{
		"admin":    rank >= roleRank("admin"),
		"maintain": rank >= roleRank("maintain"),
		"push":     rank >= roleRank("write"),
		"triage":   rank >= roleRank("triage"),
		"pull":     rank >= roleRank("read"),
	}
	u["role_name"] = role.RoleName
	return ok(map[string]any{"permission": legacyPermission(role.Base), "role_name": role.RoleName, "user": u})
}

func getTeamMembership(c *call) reply {
	if c.cred.kind != "installation" {
		return c.notFound()
	}
	org := c.params["org"]
	if !strings.EqualFold(c.cred.token.inst.Account.Login, org) {
		return c.notFound()
	}
	if !c.cred.token.allows(c.rt.id) {
		return c.fail(http.StatusForbidden, msgNotAccessible)
	}
	team, found := c.f.teams[strings.ToLower(org+"/"+c.params["team_slug"])]
	if !found {
		return c.notFound()
	}
	m, found := team.members[strings.ToLower(c.params["username"])]
	if !found {
		return c.notFound()
	}
	return ok(map[string]any{
		"url":   c.f.apiURL("organizations/%d/team/%d/memberships/%s", team.Org.ID, team.ID, c.params["username"]),
		"role":  m.Role,
		"state": m.State,
	})
}
