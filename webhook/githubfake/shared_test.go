package githubfake

import (
	"encoding/json"
	"testing"

	"github.com/google/go-github/v62/github"
)

// TestPullRequestsSharingAHead: two open pull requests from one branch
// into different bases share their head commit; the list of open pull
// requests shows both with that head, a push to the branch moves both and
// gives each its synchronize event, and a second pull request between the
// same two branches is refused as on GitHub.
func TestPullRequestsSharingAHead(t *testing.T) {
	e := newEnv(t)
	e.repo.CommitOn("release", map[string]string{"README.md": "# release\n"})
	second, _ := e.f.OpenPR(e.repo, PROptions{Author: e.author, Head: "feature", Base: "release"})
	if second.HeadSHA != e.pr.HeadSHA {
		t.Fatalf("heads differ: %s %s", second.HeadSHA, e.pr.HeadSHA)
	}
	list, _, err := e.gh.PullRequests.List(e.ctx, "acme", "billing", &github.PullRequestListOptions{State: "open"})
	if err != nil {
		t.Fatal(err)
	}
	byHead := map[int]string{}
	for _, pr := range list {
		byHead[pr.GetNumber()] = pr.GetHead().GetSHA() + " into " + pr.GetBase().GetRef()
	}
	if byHead[e.pr.Number] != e.pr.HeadSHA+" into main" || byHead[second.Number] != e.pr.HeadSHA+" into release" {
		t.Errorf("listed: %v", byHead)
	}

	// changed_files counts the pull request's own files, from the merge
	// base, as its file list does: not the commit release gained since.
	got, _, err := e.gh.PullRequests.Get(e.ctx, "acme", "billing", second.Number)
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := e.gh.PullRequests.ListFiles(e.ctx, "acme", "billing", second.Number, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetChangedFiles() != 2 || len(files) != 2 {
		t.Errorf("changed_files %d, listed %d, want 2 each", got.GetChangedFiles(), len(files))
	}

	sha := e.repo.CommitWith(CommitOptions{Parent: e.pr.HeadSHA, Files: map[string]string{"x.sql": "SELECT 1;\n"}})
	ds := e.f.PushBranch(e.repo, "feature", sha)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries", len(ds))
	}
	for i, pr := range []*PullRequest{e.pr, second} {
		var p struct {
			Action, Before, After string
			Number                int
		}
		if err := json.Unmarshal(ds[i].Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.Action != "synchronize" || p.Number != pr.Number || p.After != sha || e.f.PR(pr).HeadSHA != sha {
			t.Errorf("delivery %d: %+v, head %s", i, p, e.f.PR(pr).HeadSHA)
		}
	}

	defer func() {
		if recover() == nil {
			t.Error("a second pull request between the same branches was opened")
		}
	}()
	e.f.OpenPR(e.repo, PROptions{Author: e.author, Head: "feature", Base: "release"})
}
