package githubfake

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-github/v62/github"
	"github.com/migration-guard/migration-guard/webhook/githubfake/internal/ghops"
)

// TestEveryOperationConformsToTheDescription calls every operation in the
// subset through go-github, the way the App does, with the fake's own
// responses validated against GitHub's description. It fails if any
// request or response breaks the contract, or if an operation is missed.
func TestEveryOperationConformsToTheDescription(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	defer hook.Close()
	e := newEnv(t, WithWebhook(hook.URL, "s3cret"))
	f, gh, ctx := e.f, e.gh, e.ctx
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	org := f.AddOrg("acme")
	_ = org
	f.AddTeamMember("acme", "dba", e.author, "maintainer", false)

	// App-level operations, authenticated with the App's JWT.
	app := jwtClient(t, f)
	_, _, err := app.Apps.Get(ctx, "")
	must("get app", err)
	_, _, err = app.Apps.GetInstallation(ctx, e.inst.ID)
	must("get installation", err)
	_, _, err = app.Apps.ListInstallations(ctx, nil)
	must("list installations", err)
	_, _, err = app.Apps.FindRepositoryInstallation(ctx, "acme", "billing")
	must("find repo installation", err)
	_, _, err = app.Apps.CreateInstallationToken(ctx, e.inst.ID, &github.InstallationTokenOptions{Repositories: []string{"billing"}, Permissions: &github.InstallationPermissions{Checks: github.String("write")}})
	must("create token", err)
	d, _ := f.PullRequestEvent(e.pr, "opened", e.author), 0
	_, err = f.Deliver(d)
	must("deliver", err)
	deliveries, _, err := app.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 10})
	must("list deliveries", err)
	if len(deliveries) != 1 {
		t.Fatalf("deliveries = %d", len(deliveries))
	}
	_, _, err = app.Apps.GetHookDelivery(ctx, deliveries[0].GetID())
	must("get delivery", err)
	// GitHub answers 202, which go-github reports as an AcceptedError.
	_, _, err = app.Apps.RedeliverHookDelivery(ctx, deliveries[0].GetID())
	var accepted *github.AcceptedError
	if !errors.As(err, &accepted) {
		t.Fatalf("redeliver: %v, want 202 Accepted", err)
	}
	code := "manifest-code"
	f.AddManifestCode(code)
	anon, err := github.NewClient(nil).WithEnterpriseURLs(f.URL(), f.URL())
	must("anonymous client", err)
	_, _, err = anon.Apps.CompleteAppManifest(ctx, code)
	must("manifest conversion", err)

	// Installation-token operations.
	_, _, err = gh.Apps.ListRepos(ctx, nil)
	must("list installation repos", err)
	_, _, err = gh.Repositories.Get(ctx, "acme", "billing")
	must("get repo", err)
	_, _, err = gh.Repositories.GetBranch(ctx, "acme", "billing", "feature", 0)
	must("get branch", err)
	_, _, err = gh.PullRequests.Get(ctx, "acme", "billing", e.pr.Number)
	must("get pr", err)
	_, _, err = gh.PullRequests.List(ctx, "acme", "billing", &github.PullRequestListOptions{State: "open"})
	must("list prs", err)
	files, _, err := gh.PullRequests.ListFiles(ctx, "acme", "billing", e.pr.Number, nil)
	must("list files", err)
	commits, _, err := gh.PullRequests.ListCommits(ctx, "acme", "billing", e.pr.Number, nil)
	must("list commits", err)
	_, _, _, err = gh.Repositories.GetContents(ctx, "acme", "billing", "migrations/002_orders.sql", &github.RepositoryContentGetOptions{Ref: e.pr.HeadSHA})
	must("get file content", err)
	_, _, _, err = gh.Repositories.GetContents(ctx, "acme", "billing", "migrations", &github.RepositoryContentGetOptions{Ref: "feature"})
	must("get directory content", err)
	_, _, err = gh.Repositories.GetCommit(ctx, "acme", "billing", commits[0].GetSHA(), nil)
	must("get commit", err)
	_, _, err = gh.Repositories.CompareCommits(ctx, "acme", "billing", "main", "feature", nil)
	must("compare", err)
	tree, _, err := gh.Git.GetTree(ctx, "acme", "billing", e.pr.HeadSHA, true)
	must("get tree", err)
	_, _, err = gh.Git.GetBlob(ctx, "acme", "billing", files[0].GetSHA())
	must("get blob", err)
	if len(tree.Entries) == 0 {
		t.Fatal("empty tree")
	}

	run, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA, Status: github.String("in_progress"), ExternalID: github.String("job-1"), DetailsURL: github.String("https://guard.example/runs/1")})
	must("create check run", err)
	_, _, err = gh.Checks.UpdateCheckRun(ctx, "acme", "billing", run.GetID(), github.UpdateCheckRunOptions{
		Name: "migration-guard", Conclusion: github.String("action_required"),
		Output:  &github.CheckRunOutput{Title: github.String("Needs approval"), Summary: github.String("One risky migration"), Text: github.String("details")},
		Actions: []*github.CheckRunAction{{Label: "Approve", Description: "Approve the migration", Identifier: "approve"}},
	})
	must("update check run", err)
	_, _, err = gh.Checks.GetCheckRun(ctx, "acme", "billing", run.GetID())
	must("get check run", err)
	_, _, err = gh.Checks.ListCheckRunsForRef(ctx, "acme", "billing", e.pr.HeadSHA, &github.ListCheckRunsOptions{CheckName: github.String("migration-guard"), AppID: github.Int64(f.App().ID)})
	must("list check runs", err)
	_, _, err = gh.Checks.GetCheckSuite(ctx, "acme", "billing", run.GetCheckSuite().GetID())
	must("get check suite", err)
	resp, err := gh.Checks.ReRequestCheckRun(ctx, "acme", "billing", run.GetID())
	must("rerequest check run", err)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("rerequest status = %d", resp.StatusCode)
	}

	c, _, err := gh.Issues.CreateComment(ctx, "acme", "billing", e.pr.Number, &github.IssueComment{Body: github.String("- [ ] approve")})
	must("create comment", err)
	_, _, err = gh.Issues.ListComments(ctx, "acme", "billing", e.pr.Number, nil)
	must("list comments", err)
	_, _, err = gh.Issues.GetComment(ctx, "acme", "billing", c.GetID())
	must("get comment", err)
	_, _, err = gh.Issues.EditComment(ctx, "acme", "billing", c.GetID(), &github.IssueComment{Body: github.String("- [x] approve")})
	must("edit comment", err)
	_, err = gh.Issues.DeleteComment(ctx, "acme", "billing", c.GetID())
	must("delete comment", err)

	_, _, err = gh.PullRequests.CreateReview(ctx, "acme", "billing", e.pr.Number, &github.PullRequestReviewRequest{
		CommitID: github.String(e.pr.HeadSHA), Event: github.String("COMMENT"), Body: github.String("findings"),
		Comments: []*github.DraftReviewComment{{Path: github.String("migrations/002_orders.sql"), Line: github.Int(1), Side: github.String("RIGHT"), Body: github.String("needs a lock timeout")}},
	})
	must("create review", err)
	_, _, err = gh.PullRequests.ListReviews(ctx, "acme", "billing", e.pr.Number, nil)
	must("list reviews", err)
	rc, _, err := gh.PullRequests.CreateComment(ctx, "acme", "billing", e.pr.Number, &github.PullRequestComment{CommitID: github.String(e.pr.HeadSHA), Path: github.String("migrations/001_users.sql"), Line: github.Int(5), Side: github.String("RIGHT"), Body: github.String("index concurrently")})
	must("create review comment", err)
	_, _, err = gh.PullRequests.ListComments(ctx, "acme", "billing", e.pr.Number, nil)
	must("list review comments", err)
	_, _, err = gh.PullRequests.GetComment(ctx, "acme", "billing", rc.GetID())
	must("get review comment", err)
	_, _, err = gh.PullRequests.EditComment(ctx, "acme", "billing", rc.GetID(), &github.PullRequestComment{Body: github.String("use CREATE INDEX CONCURRENTLY")})
	must("edit review comment", err)
	// go-github's CreateCommentInReplyTo posts {body, in_reply_to} to
	// .../comments, which the description rejects (commit_id and path are
	// required there); the replies endpoint is the conforming way.
	req, err := gh.NewRequest(http.MethodPost, sprintf("repos/acme/billing/pulls/%d/comments/%d/replies", e.pr.Number, rc.GetID()), map[string]string{"body": "resolved"})
	must("reply request", err)
	reply := new(github.PullRequestComment)
	_, err = gh.Do(ctx, req, reply)
	must("reply to review comment", err)
	if reply.GetInReplyTo() != rc.GetID() || reply.GetPath() != rc.GetPath() {
		t.Fatalf("reply = %+v", reply)
	}
	_, err = gh.PullRequests.DeleteComment(ctx, "acme", "billing", rc.GetID())
	must("delete review comment", err)

	_, _, err = gh.Repositories.GetPermissionLevel(ctx, "acme", "billing", "alice")
	must("collaborator permission", err)
	_, _, err = gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "dba", "alice")
	must("team membership", err)

	f.Wait()
	counts := f.Counts()
	for _, op := range ghops.Operations {
		if counts[op] == 0 {
			t.Errorf("operation %s was not exercised", op)
		}
	}
	if vs := f.Violations(); len(vs) != 0 {
		t.Fatalf("violations: %+v", vs)
	}
	if got := len(f.Deliveries()); got != 2 {
		t.Fatalf("deliveries after redelivery = %d, want 2", got)
	}
	_ = context.Background
}
