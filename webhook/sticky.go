package webhook

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/checklist"
)

// syncSticky makes the App's one sticky comment hold body. The comment is
// found by its marker and author on every run, never remembered, so a
// restart finds it too; it is listed right before creating, and jobs of
// one pull request run one at a time, so a second one is never created.
// Should two exist anyway (from some older race), the newer ones are
// deleted. With create false, a missing comment stays missing.
func (r *jobRun) syncSticky(ctx context.Context, pr *github.PullRequest, body string, create bool) (*github.IssueComment, error) {
	mine, err := r.stickyComments(ctx)
	if err != nil {
		return nil, err
	}
	return r.putSticky(ctx, mine, body, create)
}

// stickyComments lists the App's sticky comments on the pull request,
// oldest first: the first is the one kept.
func (r *jobRun) stickyComments(ctx context.Context) ([]*github.IssueComment, error) {
	var mine []*github.IssueComment
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := r.gh.Issues.ListComments(ctx, r.j.Owner, r.j.Repo, r.j.Number, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the comments of #%d: %w", r.j.Number, err)
		}
		for _, c := range page {
			if r.isBot(c.GetUser()) && checklist.IsStickyComment(c.GetBody()) {
				mine = append(mine, c)
			}
		}
		if resp.NextPage == 0 {
			return mine, nil
		}
		opts.Page = resp.NextPage
	}
}

// putSticky writes body into the first of the listed sticky comments (or
// a new one), deleting the others.
func (r *jobRun) putSticky(ctx context.Context, mine []*github.IssueComment, body string, create bool) (*github.IssueComment, error) {
	if len(mine) == 0 {
		if !create {
			return nil, nil
		}
		c, _, err := r.gh.Issues.CreateComment(ctx, r.j.Owner, r.j.Repo, r.j.Number, &github.IssueComment{Body: &body})
		if err != nil {
			return nil, fmt.Errorf("creating the summary comment on #%d: %w", r.j.Number, err)
		}
		return c, nil
	}
	keep := mine[0]
	for _, extra := range mine[1:] {
		if _, err := r.gh.Issues.DeleteComment(ctx, r.j.Owner, r.j.Repo, extra.GetID()); err != nil && !isNotFound(err) {
			return nil, fmt.Errorf("deleting a duplicate summary comment %d: %w", extra.GetID(), err)
		}
		r.log.Warn("deleted a duplicate summary comment", "comment", extra.GetID())
	}
	if keep.GetBody() == body {
		return keep, nil
	}
	c, _, err := r.gh.Issues.EditComment(ctx, r.j.Owner, r.j.Repo, keep.GetID(), &github.IssueComment{Body: &body})
	if err != nil {
		return nil, fmt.Errorf("updating the summary comment %d: %w", keep.GetID(), err)
	}
	return c, nil
}
