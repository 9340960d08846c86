package githubfake

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

// TestPRFilesPaginationStopsAt3000 builds a pull request touching 3,500
// files and pages through it with go-github, as the App must: GitHub
// stops listing at 3,000 files, and Link headers drive the paging.
func TestPRFilesPaginationStopsAt3000(t *testing.T) {
	e := newEnv(t)
	files := map[string]string{}
	for i := 0; i < 3500; i++ {
		files[fmt.Sprintf("migrations/%04d.sql", i)] = fmt.Sprintf("SELECT %d;\n", i)
	}
	sha := e.repo.CommitOn("big", files)
	pr, _ := e.f.OpenPR(e.repo, PROptions{Author: e.author, Head: "big"})
	if sha != pr.HeadSHA {
		t.Fatalf("head = %s, want %s", pr.HeadSHA, sha)
	}

	got, _, err := e.gh.PullRequests.Get(e.ctx, "acme", "billing", pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetChangedFiles() != 3500 {
		t.Fatalf("changed_files = %d, want 3500 (the count is not capped, the list is)", got.GetChangedFiles())
	}

	opts := &github.ListOptions{PerPage: 100}
	var names []string
	pages := 0
	for {
		page, resp, err := e.gh.PullRequests.ListFiles(e.ctx, "acme", "billing", pr.Number, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pages == 1 && (resp.LastPage != 30 || !strings.Contains(resp.Header.Get("Link"), `rel="next"`)) {
			t.Fatalf("first page: LastPage=%d Link=%q", resp.LastPage, resp.Header.Get("Link"))
		}
		for _, f := range page {
			names = append(names, f.GetFilename())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if pages != 30 || len(names) != 3000 {
		t.Fatalf("pages=%d files=%d, want 30 pages of 3000 files", pages, len(names))
	}
	if names[0] != "migrations/0000.sql" || names[2999] != "migrations/2999.sql" {
		t.Fatalf("files not in path order: first %s last %s", names[0], names[2999])
	}
	// Past the cap, pages are empty rather than an error.
	page, _, err := e.gh.PullRequests.ListFiles(e.ctx, "acme", "billing", pr.Number, &github.ListOptions{PerPage: 100, Page: 31})
	if err != nil || len(page) != 0 {
		t.Fatalf("page 31 = %d files, %v", len(page), err)
	}
}

func TestPaginationDefaultsAndLinks(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 35; i++ {
		e.f.Comment(e.author, e.pr, fmt.Sprintf("comment %d", i))
	}
	tests := []struct {
		perPage, page, wantLen           int
		wantNext, wantPrev, wantLastPage int
	}{
		{0, 0, 30, 2, 0, 2},   // GitHub's default page size is 30
		{10, 2, 10, 3, 1, 4},  // middle page links both ways
		{10, 4, 5, 0, 3, 0},   // last page has no next or last
		{500, 0, 35, 0, 0, 0}, // per_page is capped at 100
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("per_page=%d,page=%d", tt.perPage, tt.page), func(t *testing.T) {
			list, resp, err := e.gh.Issues.ListComments(e.ctx, "acme", "billing", e.pr.Number, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: tt.perPage, Page: tt.page}})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != tt.wantLen || resp.NextPage != tt.wantNext || resp.PrevPage != tt.wantPrev || resp.LastPage != tt.wantLastPage {
				t.Fatalf("len=%d next=%d prev=%d last=%d (Link %q)", len(list), resp.NextPage, resp.PrevPage, resp.LastPage, resp.Header.Get("Link"))
			}
		})
	}
}

// TestETagNotModified proves conditional requests: a repeated GET with
// the ETag gets 304 without a body and without spending rate limit, and a
// change to the resource changes the ETag.
func TestETagNotModified(t *testing.T) {
	e := newEnv(t)
	tok := e.f.InstallationToken(e.inst)
	get := func(etag string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.f.URL()+"repos/acme/billing/pulls/1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "token "+tok)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := get("")
	etag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || etag == "" {
		t.Fatalf("first: %d etag %q", first.StatusCode, etag)
	}
	second := get(etag)
	if second.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET = %d, want 304", second.StatusCode)
	}
	if first.Header.Get("X-RateLimit-Remaining") != second.Header.Get("X-RateLimit-Remaining") {
		t.Fatalf("304 spent rate limit: %s then %s", first.Header.Get("X-RateLimit-Remaining"), second.Header.Get("X-RateLimit-Remaining"))
	}
	e.f.Push(e.pr, e.repo.CommitOn("feature", map[string]string{"migrations/003.sql": "SELECT 3;\n"}))
	third := get(etag)
	if third.StatusCode != http.StatusOK || third.Header.Get("ETag") == etag {
		t.Fatalf("after a push: %d etag %q (old %q)", third.StatusCode, third.Header.Get("ETag"), etag)
	}
}
