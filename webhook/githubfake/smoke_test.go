package githubfake

import (
	"fmt"
	"testing"

	"github.com/google/go-github/v62/github"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func TestSmoke(t *testing.T) {
	e := newEnv(t)
	pr, _, err := e.gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(pr.GetHead().GetSHA(), pr.GetChangedFiles())
	files, _, err := e.gh.PullRequests.ListFiles(e.ctx, "acme", "billing", e.pr.Number, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Log(f.GetFilename(), f.GetStatus(), f.GetPatch())
	}
	run, _, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA, Status: github.String("in_progress")})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(run.GetID(), run.GetStatus())
	c, _, err := e.gh.Issues.CreateComment(e.ctx, "acme", "billing", e.pr.Number, &github.IssueComment{Body: github.String("hi")})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(c.GetUser().GetLogin(), c.GetAuthorAssociation())
	content, _, _, err := e.gh.Repositories.GetContents(e.ctx, "acme", "billing", "migrations/002_orders.sql", &github.RepositoryContentGetOptions{Ref: e.pr.HeadSHA})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := content.GetContent()
	t.Log(s)
}
