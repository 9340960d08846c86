package githubfake

import (
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

// Symbolic links are tree entries of mode 120000 whose blob is the target;
// large diffs come without a patch; a tree limit truncates listings.
func TestSymlinksLargeBlobsAndTruncatedTrees(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("-- a long line of padding for a large file\n", maxPatchBytes/40)
	head := e.repo.CommitOn("feature", map[string]string{
		"migrations/003_link.sql": Symlink("../shared/drop.sql"),
		"migrations/004_big.sql":  big,
	})
	e.f.Push(e.pr, head)
	tr, _, err := e.gh.Git.GetTree(e.ctx, "acme", "billing", head, true)
	if err != nil {
		t.Fatal(err)
	}
	var link *github.TreeEntry
	for _, en := range tr.Entries {
		if en.GetPath() == "migrations/003_link.sql" {
			link = en
		}
	}
	if link == nil || link.GetMode() != "120000" || link.GetType() != "blob" || link.GetSize() != len("../shared/drop.sql") {
		t.Fatalf("link entry %+v", link)
	}
	blob, _, err := e.gh.Git.GetBlob(e.ctx, "acme", "billing", link.GetSHA())
	if err != nil || link.GetSHA() != blobID("../shared/drop.sql") {
		t.Fatalf("link blob %v %v", blob, err)
	}
	files, _, err := e.gh.PullRequests.ListFiles(e.ctx, "acme", "billing", e.pr.Number, &github.ListOptions{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.GetFilename() == "migrations/004_big.sql" && (f.Patch != nil || f.GetAdditions() != strings.Count(big, "\n")) {
			t.Errorf("large file: patch %v (%d bytes), additions %d", f.Patch != nil, len(f.GetPatch()), f.GetAdditions())
		}
	}
	// Replacing the link by a file makes it a regular file again.
	again := e.repo.CommitOn("feature", map[string]string{"migrations/003_link.sql": "SELECT 1;\n"})
	tr, _, err = e.gh.Git.GetTree(e.ctx, "acme", "billing", again, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range tr.Entries {
		if en.GetPath() == "migrations/003_link.sql" && en.GetMode() != "100644" {
			t.Errorf("mode after replacing the link: %s", en.GetMode())
		}
	}
	e.repo.SetTreeLimit(2)
	tr, _, err = e.gh.Git.GetTree(e.ctx, "acme", "billing", again, true)
	if err != nil || !tr.GetTruncated() || len(tr.Entries) != 2 {
		t.Errorf("limited listing: truncated %v, %d entries, %v", tr.GetTruncated(), len(tr.Entries), err)
	}
}

func TestSubmoduleEntries(t *testing.T) {
	e := newEnv(t)
	commit := strings.Repeat("ab", 20)
	head := e.repo.CommitOn("feature", map[string]string{"vendor/lib": Submodule(commit)})
	tr, _, err := e.gh.Git.GetTree(e.ctx, "acme", "billing", head, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range tr.Entries {
		if en.GetPath() == "vendor/lib" {
			if en.GetType() != "commit" || en.GetMode() != "160000" || en.GetSHA() != commit || en.Size != nil {
				t.Errorf("submodule entry %+v", en)
			}
			return
		}
	}
	t.Error("no submodule entry")
}
