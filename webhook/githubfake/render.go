package githubfake

import (
	"encoding/base64"
	"fmt"
	"time"
)

// Renderers produce GitHub's JSON shapes from the state. They set the
// fields that carry state; fill completes the rest from the schema.

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("0%d:%s%d", len(kind), kind, id)))
}

func (f *Fake) renderUser(u *User) map[string]any {
	if u == nil {
		return nil
	}
	kind := "users"
	return map[string]any{
		"login":               u.Login,
		"id":                  u.ID,
		"node_id":             nodeID(u.Type, u.ID),
		"avatar_url":          fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", u.ID),
		"gravatar_id":         "",
		"url":                 f.apiURL("%s/%s", kind, u.Login),
		"html_url":            htmlURL("%s", u.Login),
		"followers_url":       f.apiURL("users/%s/followers", u.Login),
		"following_url":       f.apiURL("users/%s/following{/other_user}", u.Login),
		"gists_url":           f.apiURL("users/%s/gists{/gist_id}", u.Login),
		"starred_url":         f.apiURL("users/%s/starred{/owner}{/repo}", u.Login),
		"subscriptions_url":   f.apiURL("users/%s/subscriptions", u.Login),
		"organizations_url":   f.apiURL("users/%s/orgs", u.Login),
		"repos_url":           f.apiURL("users/%s/repos", u.Login),
		"events_url":          f.apiURL("users/%s/events{/privacy}", u.Login),
		"received_events_url": f.apiURL("users/%s/received_events", u.Login),
		"type":                u.Type,
		"site_admin":          false,
		"user_view_type":      "public",
	}
}

func (f *Fake) renderApp(a *App) map[string]any {
	if a == nil {
		return nil
	}
	perms := map[string]any{}
	for k, v := range a.Permissions {
		perms[k] = v
	}
	return map[string]any{
		"id":           a.ID,
		"slug":         a.Slug,
		"node_id":      nodeID("Integration", a.ID),
		"client_id":    a.ClientID,
		"owner":        f.renderUser(a.Owner),
		"name":         a.Name,
		"description":  "",
		"external_url": "https://migration-guard.invalid",
		"html_url":     htmlURL("apps/%s", a.Slug),
		"created_at":   placeholderTime,
		"updated_at":   placeholderTime,
		"permissions":  perms,
		"events":       a.Events,
	}
}

func (f *Fake) renderRepo(r *Repo) map[string]any {
	visibility := "public"
	if r.Private {
		visibility = "private"
	}
	full := r.FullName()
	return map[string]any{
		"id":                r.ID,
		"node_id":           nodeID("Repository", r.ID),
		"name":              r.Name,
		"full_name":         full,
		"owner":             f.renderUser(r.Owner),
		"private":           r.Private,
		"visibility":        visibility,
		"html_url":          htmlURL("%s", full),
		"url":               f.apiURL("repos/%s", full),
		"default_branch":    r.DefaultBranch,
		"fork":              r.Fork,
		"archived":          false,
		"disabled":          false,
		"is_template":       false,
		"clone_url":         htmlURL("%s.git", full),
		"git_url":           "git://github.com/" + full + ".git",
		"ssh_url":           "git@github.com:" + full + ".git",
		"pulls_url":         f.apiURL("repos/%s/pulls{/number}", full),
		"issues_url":        f.apiURL("repos/%s/issues{/number}", full),
		"contents_url":      f.apiURL("repos/%s/contents/{+path}", full),
		"commits_url":       f.apiURL("repos/%s/commits{/sha}", full),
		"git_commits_url":   f.apiURL("repos/%s/git/commits{/sha}", full),
		"trees_url":         f.apiURL("repos/%s/git/trees{/sha}", full),
		"blobs_url":         f.apiURL("repos/%s/git/blobs{/sha}", full),
		"compare_url":       f.apiURL("repos/%s/compare/{base}...{head}", full),
		"collaborators_url": f.apiURL("repos/%s/collaborators{/collaborator}", full),
	}
}

// renderMinimalRepo is the short form inside check runs' pull_requests.
func (f *Fake) renderMinimalRepo(r *Repo) map[string]any {
	return map[string]any{"id": r.ID, "url": f.apiURL("repos/%s", r.FullName()), "name": r.Name}
}

func (f *Fake) renderInstallation(inst *Installation) map[string]any {
	selection := "selected"
	if inst.AllRepos {
		selection = "all"
	}
	perms := map[string]any{}
	for k, v := range inst.Permissions {
		perms[k] = v
	}
	return map[string]any{
		"id":                   inst.ID,
		"account":              f.renderUser(inst.Account),
		"app_id":               inst.App.ID,
		"app_slug":             inst.App.Slug,
		"client_id":            inst.App.ClientID,
		"target_id":            inst.Account.ID,
		"target_type":          inst.Account.Type,
		"repository_selection": selection,
		"permissions":          perms,
		"events":               inst.Events,
		"access_tokens_url":    f.apiURL("app/installations/%d/access_tokens", inst.ID),
		"repositories_url":     f.apiURL("installation/repositories"),
		"html_url":             htmlURL("organizations/%s/settings/installations/%d", inst.Account.Login, inst.ID),
		"created_at":           placeholderTime,
		"updated_at":           placeholderTime,
		"single_file_name":     nil,
		"suspended_at":         nil,
		"suspended_by":         nil,
	}
}

func (f *Fake) authorAssociation(repo *Repo, u *User) string {
	if u == nil {
		return "NONE"
	}
	if u == repo.Owner {
		return "OWNER"
	}
	if _, ok := repo.roles[lower(u.Login)]; ok {
		return "COLLABORATOR"
	}
	return "NONE"
}

func (f *Fake) renderPRBranch(repo *Repo, ref, sha string) map[string]any {
	return map[string]any{
		"label": repo.Owner.Login + ":" + ref,
		"ref":   ref,
		"sha":   sha,
		"user":  f.renderUser(repo.Owner),
		"repo":  f.renderRepo(repo),
	}
}

// headRepo is the repository the pull request's head branch lives in.
func (pr *PullRequest) headRepo() *Repo {
	if pr.HeadRepo != nil {
		return pr.HeadRepo
	}
	return pr.Repo
}

func (f *Fake) renderPR(pr *PullRequest, full bool) map[string]any {
	base := fmt.Sprintf("repos/%s/pulls/%d", pr.Repo.FullName(), pr.Number)
	issue := fmt.Sprintf("repos/%s/issues/%d", pr.Repo.FullName(), pr.Number)
	html := htmlURL("%s/pull/%d", pr.Repo.FullName(), pr.Number)
	link := func(u string) map[string]any { return map[string]any{"href": u} }
	out := map[string]any{
		"url":                 f.apiURL("%s", base),
		"id":                  pr.ID,
		"node_id":             nodeID("PullRequest", pr.ID),
		"html_url":            html,
		"diff_url":            html + ".diff",
		"patch_url":           html + ".patch",
		"issue_url":           f.apiURL("%s", issue),
		"commits_url":         f.apiURL("%s/commits", base),
		"review_comments_url": f.apiURL("%s/comments", base),
		"review_comment_url":  f.apiURL("repos/%s/pulls/comments{/number}", pr.Repo.FullName()),
		"comments_url":        f.apiURL("%s/comments", issue),
		"statuses_url":        f.apiURL("repos/%s/statuses/%s", pr.Repo.FullName(), pr.HeadSHA),
		"number":              pr.Number,
		"state":               pr.State,
		"locked":              false,
		"title":               pr.Title,
		"user":                f.renderUser(pr.Author),
		"body":                pr.Body,
		"labels":              []any{},
		"milestone":           nil,
		"active_lock_reason":  nil,
		"created_at":          ts(pr.CreatedAt),
		"updated_at":          ts(pr.UpdatedAt),
		"closed_at":           nil,
		"merged_at":           nil,
		"merge_commit_sha":    nil,
		"assignee":            nil,
		"assignees":           []any{},
		"requested_reviewers": []any{},
		"requested_teams":     []any{},
		"head":                f.renderPRBranch(pr.headRepo(), pr.HeadRef, pr.HeadSHA),
		"base":                f.renderPRBranch(pr.Repo, pr.BaseRef, pr.BaseSHA),
		"author_association":  f.authorAssociation(pr.Repo, pr.Author),
		"auto_merge":          nil,
		"draft":               pr.Draft,
		"_links": map[string]any{
			"self":            link(f.apiURL("%s", base)),
			"html":            link(html),
			"issue":           link(f.apiURL("%s", issue)),
			"comments":        link(f.apiURL("%s/comments", issue)),
			"review_comments": link(f.apiURL("%s/comments", base)),
			"review_comment":  link(f.apiURL("repos/%s/pulls/comments{/number}", pr.Repo.FullName())),
			"commits":         link(f.apiURL("%s/commits", base)),
			"statuses":        link(f.apiURL("repos/%s/statuses/%s", pr.Repo.FullName(), pr.HeadSHA)),
		},
	}
	if pr.State == "closed" {
		out["closed_at"] = ts(pr.UpdatedAt)
	}
	if !full {
		return out
	}
	files := f.changedFiles(pr.Repo, pr.BaseSHA, pr.HeadSHA)
	adds, dels := 0, 0
	for _, cf := range files {
		adds += cf.additions()
		dels += cf.deletions()
	}
	var mergeable any
	if pr.Mergeable != nil {
		mergeable = *pr.Mergeable
	}
	out["merged"] = pr.Merged
	out["mergeable"] = mergeable
	out["rebaseable"] = mergeable
	out["mergeable_state"] = pr.MergeableState
	out["merged_by"] = nil
	out["comments"] = len(f.commentsOf(pr.Repo, pr.Number))
	out["review_comments"] = len(f.reviewCommentsOf(pr.Repo, pr.Number))
	out["maintainer_can_modify"] = false
	out["commits"] = len(pr.Repo.commitsBetween(pr.BaseSHA, pr.HeadSHA))
	out["additions"] = adds
	out["deletions"] = dels
	out["changed_files"] = len(files)
	return out
}

func (f *Fake) userByLogin(login string) *User { return f.users[lower(login)] }

func (f *Fake) renderSignature(s Signature) map[string]any {
	return map[string]any{"name": s.Name, "email": s.Email, "date": ts(s.Date)}
}

func (f *Fake) renderCommit(r *Repo, c *Commit, files []changedFile) map[string]any {
	full := r.FullName()
	parents := []any{}
	for _, p := range c.Parents {
		parents = append(parents, map[string]any{"sha": p, "url": f.apiURL("repos/%s/commits/%s", full, p), "html_url": htmlURL("%s/commit/%s", full, p)})
	}
	var author, committer any
	if u := f.userByLogin(c.Author.Login); u != nil {
		author = f.renderUser(u)
	}
	if u := f.userByLogin(c.Committer.Login); u != nil {
		committer = f.renderUser(u)
	}
	out := map[string]any{
		"url":          f.apiURL("repos/%s/commits/%s", full, c.SHA),
		"sha":          c.SHA,
		"node_id":      nodeID("Commit", int64(len(c.SHA))),
		"html_url":     htmlURL("%s/commit/%s", full, c.SHA),
		"comments_url": f.apiURL("repos/%s/commits/%s/comments", full, c.SHA),
		"commit": map[string]any{
			"url":           f.apiURL("repos/%s/git/commits/%s", full, c.SHA),
			"author":        f.renderSignature(c.Author),
			"committer":     f.renderSignature(c.Committer),
			"message":       c.Message,
			"tree":          map[string]any{"sha": c.Tree, "url": f.apiURL("repos/%s/git/trees/%s", full, c.Tree)},
			"comment_count": 0,
			"verification":  map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil},
		},
		"author":    author,
		"committer": committer,
		"parents":   parents,
	}
	if files != nil {
		adds, dels := 0, 0
		list := []any{}
		for _, cf := range files {
			adds += cf.additions()
			dels += cf.deletions()
			list = append(list, f.renderFile(r, cf, c.SHA))
		}
		out["stats"] = map[string]any{"additions": adds, "deletions": dels, "total": adds + dels}
		out["files"] = list
	}
	return out
}

func (f *Fake) renderFile(r *Repo, cf changedFile, ref string) map[string]any {
	full := r.FullName()
	out := map[string]any{
		"sha":          cf.SHA,
		"filename":     cf.Filename,
		"status":       cf.Status,
		"additions":    cf.additions(),
		"deletions":    cf.deletions(),
		"changes":      cf.additions() + cf.deletions(),
		"blob_url":     htmlURL("%s/blob/%s/%s", full, ref, escapePath(cf.Filename)),
		"raw_url":      htmlURL("%s/raw/%s/%s", full, ref, escapePath(cf.Filename)),
		"contents_url": f.apiURL("repos/%s/contents/%s?ref=%s", full, escapePath(cf.Filename), ref),
	}
	if cf.Patch != nil {
		out["patch"] = cf.Patch.text
	}
	if cf.PreviousFilename != "" {
		out["previous_filename"] = cf.PreviousFilename
	}
	return out
}

func (f *Fake) renderPRRef(pr *PullRequest) map[string]any {
	return map[string]any{
		"url":    f.apiURL("repos/%s/pulls/%d", pr.Repo.FullName(), pr.Number),
		"id":     pr.ID,
		"number": pr.Number,
		"head":   map[string]any{"ref": pr.HeadRef, "sha": pr.HeadSHA, "repo": f.renderMinimalRepo(pr.headRepo())},
		"base":   map[string]any{"ref": pr.BaseRef, "sha": pr.BaseSHA, "repo": f.renderMinimalRepo(pr.Repo)},
	}
}

// openPRsWithHead lists open pull requests whose head is sha, which is
// what GitHub puts in check runs' and suites' pull_requests.
func (f *Fake) openPRsWithHead(r *Repo, sha string) []any {
	out := []any{}
	for n := 1; n <= f.numbers[r.ID]; n++ {
		pr, ok := f.prs[prKey{r.ID, n}]
		if ok && pr.State == "open" && pr.HeadSHA == sha {
			out = append(out, f.renderPRRef(pr))
		}
	}
	return out
}

func (f *Fake) renderCheckRun(run *CheckRun) map[string]any {
	full := run.Repo.FullName()
	var conclusion any
	if run.Conclusion != "" {
		conclusion = run.Conclusion
	}
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	actions := []any{}
	for _, a := range run.Actions {
		actions = append(actions, map[string]any{"label": a.Label, "description": a.Description, "identifier": a.Identifier})
	}
	out := map[string]any{
		"id":           run.ID,
		"head_sha":     run.HeadSHA,
		"node_id":      nodeID("CheckRun", run.ID),
		"external_id":  nullable(run.ExternalID),
		"url":          f.apiURL("repos/%s/check-runs/%d", full, run.ID),
		"html_url":     htmlURL("%s/runs/%d", full, run.ID),
		"details_url":  nullable(run.DetailsURL),
		"status":       run.Status,
		"conclusion":   conclusion,
		"started_at":   tsPtr(run.StartedAt),
		"completed_at": tsPtr(run.CompletedAt),
		"name":         run.Name,
		"output": map[string]any{
			"title":             nullable(run.Output.Title),
			"summary":           nullable(run.Output.Summary),
			"text":              nullable(run.Output.Text),
			"annotations_count": len(run.Output.Annotations),
			"annotations_url":   f.apiURL("repos/%s/check-runs/%d/annotations", full, run.ID),
		},
		"check_suite":   map[string]any{"id": run.Suite.ID},
		"app":           f.renderApp(run.App),
		"pull_requests": f.openPRsWithHead(run.Repo, run.HeadSHA),
		"actions":       actions,
	}
	return out
}

func (f *Fake) renderSuite(s *CheckSuite) map[string]any {
	full := s.Repo.FullName()
	var conclusion, branch any
	if s.Conclusion != "" {
		conclusion = s.Conclusion
	}
	if s.HeadBranch != "" {
		branch = s.HeadBranch
	}
	runs := 0
	for _, r := range f.runs {
		if r.Suite == s {
			runs++
		}
	}
	var headCommit any
	if c, ok := s.Repo.commits[s.HeadSHA]; ok {
		headCommit = map[string]any{
			"id":        c.SHA,
			"tree_id":   c.Tree,
			"message":   c.Message,
			"timestamp": ts(c.Committer.Date),
			"author":    map[string]any{"name": c.Author.Name, "email": c.Author.Email},
			"committer": map[string]any{"name": c.Committer.Name, "email": c.Committer.Email},
		}
	}
	return map[string]any{
		"id":                      s.ID,
		"node_id":                 nodeID("CheckSuite", s.ID),
		"head_branch":             branch,
		"head_sha":                s.HeadSHA,
		"status":                  s.Status,
		"conclusion":              conclusion,
		"url":                     f.apiURL("repos/%s/check-suites/%d", full, s.ID),
		"before":                  nil,
		"after":                   s.HeadSHA,
		"pull_requests":           f.openPRsWithHead(s.Repo, s.HeadSHA),
		"app":                     f.renderApp(s.App),
		"repository":              f.renderRepo(s.Repo),
		"created_at":              ts(s.CreatedAt),
		"updated_at":              ts(s.UpdatedAt),
		"head_commit":             headCommit,
		"latest_check_runs_count": runs,
		"check_runs_url":          f.apiURL("repos/%s/check-suites/%d/check-runs", full, s.ID),
		"rerequestable":           true,
		"runs_rerequestable":      true,
	}
}

func (f *Fake) renderIssueComment(c *IssueComment) map[string]any {
	full := c.Repo.FullName()
	return map[string]any{
		"id":                       c.ID,
		"node_id":                  nodeID("IssueComment", c.ID),
		"url":                      f.apiURL("repos/%s/issues/comments/%d", full, c.ID),
		"html_url":                 htmlURL("%s/pull/%d#issuecomment-%d", full, c.Number, c.ID),
		"issue_url":                f.apiURL("repos/%s/issues/%d", full, c.Number),
		"body":                     c.Body,
		"user":                     f.renderUser(c.Author),
		"created_at":               ts(c.CreatedAt),
		"updated_at":               ts(c.UpdatedAt),
		"author_association":       f.authorAssociation(c.Repo, c.Author),
		"performed_via_github_app": f.renderApp(c.App),
	}
}

func (f *Fake) renderReview(r *Review) map[string]any {
	full := r.Repo.FullName()
	html := htmlURL("%s/pull/%d#pullrequestreview-%d", full, r.Number, r.ID)
	prURL := f.apiURL("repos/%s/pulls/%d", full, r.Number)
	out := map[string]any{
		"id":                 r.ID,
		"node_id":            nodeID("PullRequestReview", r.ID),
		"user":               f.renderUser(r.User),
		"body":               r.Body,
		"state":              r.State,
		"html_url":           html,
		"pull_request_url":   prURL,
		"_links":             map[string]any{"html": map[string]any{"href": html}, "pull_request": map[string]any{"href": prURL}},
		"commit_id":          r.CommitID,
		"author_association": f.authorAssociation(r.Repo, r.User),
	}
	if r.State != "PENDING" {
		out["submitted_at"] = ts(r.SubmittedAt)
	}
	return out
}

func (f *Fake) renderReviewComment(c *ReviewComment) map[string]any {
	full := c.Repo.FullName()
	self := f.apiURL("repos/%s/pulls/comments/%d", full, c.ID)
	html := htmlURL("%s/pull/%d#discussion_r%d", full, c.Number, c.ID)
	prURL := f.apiURL("repos/%s/pulls/%d", full, c.Number)
	var startLine, startSide, inReplyTo any
	if c.StartLine != 0 {
		startLine, startSide = c.StartLine, c.StartSide
	}
	if c.InReplyTo != 0 {
		inReplyTo = c.InReplyTo
	}
	out := map[string]any{
		"url":                      self,
		"pull_request_review_id":   c.ReviewID,
		"id":                       c.ID,
		"node_id":                  nodeID("PullRequestReviewComment", c.ID),
		"diff_hunk":                c.DiffHunk,
		"path":                     c.Path,
		"position":                 c.Position,
		"original_position":        c.Position,
		"commit_id":                c.CommitID,
		"original_commit_id":       c.OriginalCommitID,
		"user":                     f.renderUser(c.User),
		"body":                     c.Body,
		"created_at":               ts(c.CreatedAt),
		"updated_at":               ts(c.UpdatedAt),
		"html_url":                 html,
		"pull_request_url":         prURL,
		"author_association":       f.authorAssociation(c.Repo, c.User),
		"_links":                   map[string]any{"self": map[string]any{"href": self}, "html": map[string]any{"href": html}, "pull_request": map[string]any{"href": prURL}},
		"line":                     c.Line,
		"original_line":            c.Line,
		"side":                     c.Side,
		"start_line":               startLine,
		"original_start_line":      startLine,
		"start_side":               startSide,
		"subject_type":             "line",
		"performed_via_github_app": f.renderApp(c.App),
	}
	if inReplyTo != nil {
		out["in_reply_to_id"] = inReplyTo
	}
	if c.Line == 0 {
		// A file-level comment has no line, side or position.
		for _, k := range []string{"line", "original_line", "side", "position", "original_position", "start_line", "original_start_line", "start_side"} {
			delete(out, k)
		}
		out["subject_type"] = "file"
	}
	return out
}
