package githubfake

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

// In the default env, migrations/001_users.sql gains line 5 (the index)
// after four context lines, and 002_orders.sql is a new one-line file.
func TestReviewCommentsMustBeInTheDiff(t *testing.T) {
	tests := []struct {
		name    string
		comment github.PullRequestComment
		wantErr string
	}{
		{"added line", github.PullRequestComment{Path: github.String("migrations/001_users.sql"), Line: github.Int(5), Side: github.String("RIGHT")}, ""},
		{"context line", github.PullRequestComment{Path: github.String("migrations/001_users.sql"), Line: github.Int(2), Side: github.String("RIGHT")}, ""},
		{"line of a new file", github.PullRequestComment{Path: github.String("migrations/002_orders.sql"), Line: github.Int(1)}, ""},
		{"multi-line", github.PullRequestComment{Path: github.String("migrations/001_users.sql"), StartLine: github.Int(3), Line: github.Int(5), Side: github.String("RIGHT")}, ""},
		{"by position", github.PullRequestComment{Path: github.String("migrations/001_users.sql"), Position: github.Int(4)}, ""},
		{"file-level", github.PullRequestComment{Path: github.String("migrations/001_users.sql"), SubjectType: github.String("file")}, ""},
		{"line outside the hunk", github.PullRequestComment{Path: github.String("migrations/001_users.sql"), Line: github.Int(1), Side: github.String("RIGHT")}, diffLineError},
		{"past the end of the file", github.PullRequestComment{Path: github.String("migrations/002_orders.sql"), Line: github.Int(2)}, diffLineError},
		{"left side of an added file", github.PullRequestComment{Path: github.String("migrations/002_orders.sql"), Line: github.Int(1), Side: github.String("LEFT")}, diffLineError},
		{"unchanged file", github.PullRequestComment{Path: github.String("README.md"), Line: github.Int(1)}, "Path could not be resolved"},
		{"start after end", github.PullRequestComment{Path: github.String("migrations/001_users.sql"), StartLine: github.Int(5), Line: github.Int(3), Side: github.String("RIGHT")}, "must precede the end line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c := tt.comment
			c.Body = github.String("finding")
			c.CommitID = github.String(e.pr.HeadSHA)
			got, resp, err := e.gh.PullRequests.CreateComment(e.ctx, "acme", "billing", e.pr.Number, &c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.GetUser().GetLogin() != "migration-guard[bot]" || got.GetCommitID() != e.pr.HeadSHA || (c.SubjectType == nil && got.GetDiffHunk() == "") {
					t.Fatalf("comment = %+v", got)
				}
				return
			}
			var er *github.ErrorResponse
			if !errors.As(err, &er) || resp.StatusCode != http.StatusUnprocessableEntity || len(er.Errors) != 1 || !strings.Contains(er.Errors[0].Message, tt.wantErr) {
				t.Fatalf("err = %v, want 422 with %q", err, tt.wantErr)
			}
			if n := len(e.f.ReviewComments(e.pr)); n != 0 {
				t.Fatalf("a rejected comment was stored")
			}
		})
	}
}

func TestReviewWithInlineComments(t *testing.T) {
	e := newEnv(t)
	good := &github.DraftReviewComment{Path: github.String("migrations/001_users.sql"), Line: github.Int(5), Side: github.String("RIGHT"), Body: github.String("use CONCURRENTLY")}
	bad := &github.DraftReviewComment{Path: github.String("migrations/001_users.sql"), Line: github.Int(1), Side: github.String("RIGHT"), Body: github.String("outside")}

	_, resp, err := e.gh.PullRequests.CreateReview(e.ctx, "acme", "billing", e.pr.Number, &github.PullRequestReviewRequest{CommitID: github.String(e.pr.HeadSHA), Event: github.String("COMMENT"), Body: github.String("2 findings"), Comments: []*github.DraftReviewComment{good, bad}})
	if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), diffLineError) {
		t.Fatalf("review with an out-of-diff comment: %v", err)
	}
	if len(e.f.Reviews(e.pr)) != 0 || len(e.f.ReviewComments(e.pr)) != 0 {
		t.Fatal("a rejected review left state behind")
	}

	review, _, err := e.gh.PullRequests.CreateReview(e.ctx, "acme", "billing", e.pr.Number, &github.PullRequestReviewRequest{CommitID: github.String(e.pr.HeadSHA), Event: github.String("COMMENT"), Body: github.String("1 finding"), Comments: []*github.DraftReviewComment{good}})
	if err != nil {
		t.Fatal(err)
	}
	if review.GetState() != "COMMENTED" || review.GetUser().GetType() != "Bot" {
		t.Fatalf("review = %+v", review)
	}
	rcs := e.f.ReviewComments(e.pr)
	if len(rcs) != 1 || rcs[0].ReviewID != review.GetID() || rcs[0].Line != 5 || rcs[0].Side != "RIGHT" || rcs[0].CommitID != e.pr.HeadSHA {
		t.Fatalf("stored comments = %+v", rcs)
	}

	// After a push, a comment on the old commit is placed against that
	// commit's diff, as GitHub does for outdated comments.
	old := e.pr.HeadSHA
	e.f.Push(e.pr, e.repo.CommitOn("feature", map[string]string{"migrations/003.sql": "SELECT 1;\n"}))
	c, _, err := e.gh.PullRequests.CreateComment(e.ctx, "acme", "billing", e.pr.Number, &github.PullRequestComment{CommitID: github.String(old), Path: github.String("migrations/002_orders.sql"), Line: github.Int(1), Body: github.String("x")})
	if err != nil || c.GetCommitID() != old {
		t.Fatalf("comment on the previous head: %v %+v", err, c)
	}
	_, _, err = e.gh.PullRequests.CreateComment(e.ctx, "acme", "billing", e.pr.Number, &github.PullRequestComment{CommitID: github.String(old), Path: github.String("migrations/003.sql"), Line: github.Int(1), Body: github.String("x")})
	if err == nil {
		t.Fatal("a file added after commit_id was accepted")
	}
	_, _, err = e.gh.PullRequests.CreateComment(e.ctx, "acme", "billing", e.pr.Number, &github.PullRequestComment{CommitID: github.String(e.repo.Branch("main")), Path: github.String("migrations/002_orders.sql"), Line: github.Int(1), Body: github.String("x")})
	if err == nil || !strings.Contains(err.Error(), "commit_id") {
		t.Fatalf("commit outside the pull request: %v", err)
	}
}

func TestBinaryAndRenamedFiles(t *testing.T) {
	e := newEnv(t)
	e.repo.CommitOn("assets", map[string]string{
		"docs/diagram.png":         "\x89PNG\r\n\x1a\n\x00\x00binary",
		"migrations/001_users.sql": Deleted,
		"db/001_users.sql":         baseMigration,
		"README.md":                Deleted,
	})
	pr, _ := e.f.OpenPR(e.repo, PROptions{Author: e.author, Head: "assets"})
	files, _, err := e.gh.PullRequests.ListFiles(e.ctx, "acme", "billing", pr.Number, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*github.CommitFile{}
	for _, f := range files {
		got[f.GetFilename()] = f
	}
	if f := got["docs/diagram.png"]; f == nil || f.GetStatus() != "added" || f.Patch != nil {
		t.Fatalf("binary file = %+v, want added without patch", f)
	}
	if f := got["db/001_users.sql"]; f == nil || f.GetStatus() != "renamed" || f.GetPreviousFilename() != "migrations/001_users.sql" {
		t.Fatalf("renamed file = %+v", f)
	}
	if f := got["README.md"]; f == nil || f.GetStatus() != "removed" || f.GetDeletions() != 1 {
		t.Fatalf("removed file = %+v", f)
	}
	if len(files) != 3 {
		t.Fatalf("files = %d, want 3", len(files))
	}
	_, _, err = e.gh.PullRequests.CreateComment(e.ctx, "acme", "billing", pr.Number, &github.PullRequestComment{CommitID: github.String(pr.HeadSHA), Path: github.String("docs/diagram.png"), Line: github.Int(1), Body: github.String("x")})
	if err == nil {
		t.Fatal("a line comment on a binary file was accepted")
	}
}
