package webhook

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/webhook/githubfake"
)

func TestApplyPatch(t *testing.T) {
	tests := []struct {
		name, old, patch, want string
		bad                    bool
	}{
		{name: "added", patch: "@@ -0,0 +1,2 @@\n+a\n+b", want: "a\nb\n"},
		{name: "added, one line", patch: "@@ -0,0 +1 @@\n+a", want: "a\n"},
		{name: "added without final newline", patch: "@@ -0,0 +1,2 @@\n+a\n+b\n\\ No newline at end of file", want: "a\nb"},
		{name: "added with CRLF", patch: "@@ -0,0 +1,2 @@\n+a\r\n+b\r", want: "a\r\nb\r\n"},
		{name: "modified in the middle", old: "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			patch: "@@ -3,5 +3,5 @@\n 3\n 4\n-5\n+five\n 6\n 7", want: "1\n2\n3\n4\nfive\n6\n7\n8\n9\n"},
		{name: "two hunks", old: "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n",
			patch: "@@ -1,2 +1,2 @@\n-a\n+A\n b\n@@ -11,2 +11,3 @@\n k\n l\n+m", want: "A\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"},
		{name: "final newline added", old: "a\nb", patch: "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b", want: "a\nb\n"},
		{name: "insert after a line", old: "a\nb\n", patch: "@@ -1,0 +2 @@\n+x", want: "a\nx\nb\n"},
		{name: "context does not match", old: "a\nb\n", patch: "@@ -1,2 +1,2 @@\n a\n-c\n+d", bad: true},
		{name: "hunk past the end", old: "a\n", patch: "@@ -5,1 +5,1 @@\n-a\n+b", bad: true},
		{name: "garbage", old: "a\n", patch: "nonsense", bad: true},
	}
	for _, tt := range tests {
		got, err := applyPatch(tt.old, tt.patch)
		switch {
		case tt.bad && err == nil:
			t.Errorf("%s: applied, got %q", tt.name, got)
		case !tt.bad && (err != nil || got != tt.want):
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestPatchSourceVerifies: content rebuilt from a patch is used only when
// its blob id is the head's; a lying or stale patch is fetched instead.
func TestPatchSourceVerifies(t *testing.T) {
	content := "CREATE TABLE a (id int);\n"
	id := gitBlobID([]byte(content))
	ps := newPatchSource(map[string]*github.CommitFile{
		"ok.sql":   {Filename: github.String("ok.sql"), SHA: github.String(id), Status: github.String("added"), Patch: github.String("@@ -0,0 +1 @@\n+CREATE TABLE a (id int);")},
		"lies.sql": {Filename: github.String("lies.sql"), SHA: github.String(gitBlobID([]byte("DROP TABLE a;\n"))), Status: github.String("added"), Patch: github.String("@@ -0,0 +1 @@\n+SELECT 1;")},
		"ren.sql":  {Filename: github.String("ren.sql"), SHA: github.String(gitBlobID([]byte("x\n"))), Status: github.String("renamed"), Patch: github.String("@@ -0,0 +1 @@\n+x")},
	}, func(string) ([]byte, error) { return nil, fmt.Errorf("no base") })
	if got, ok := ps.rebuild(id); !ok || string(got) != content {
		t.Errorf("verified patch: %q, %v", got, ok)
	}
	if _, ok := ps.rebuild(gitBlobID([]byte("DROP TABLE a;\n"))); ok {
		t.Error("a patch whose content is not the blob was used")
	}
	if _, ok := ps.rebuild(gitBlobID([]byte("x\n"))); ok {
		t.Error("a renamed file was rebuilt")
	}
}

// TestPushOfManyFilesCostsFewRequests: a push adding 1,000 migrations is
// read from the file listing's patches, not blob by blob; an edited
// migration is rebuilt from its base; the verdict is the same.
func TestPushOfManyFilesCostsFewRequests(t *testing.T) {
	e := newEnv(t, nil)
	files := map[string]string{}
	for i := range 1000 {
		files[fmt.Sprintf("db/migrations/%04d_step.sql", i+2)] = fmt.Sprintf("CREATE TABLE t%d (id int);\n", i)
	}
	files["db/migrations/0999_step.sql"] = "ALTER TABLE users DROP COLUMN legacy;\n"
	pr, d := e.openPR("big", files)
	before := e.f.Counts()
	e.deliver(d, http.StatusAccepted)
	e.wait()
	total, blobs := 0, e.f.Count("git/get-blob")-before["git/get-blob"]
	for op, n := range e.f.Counts() {
		total += n - before[op]
	}
	run := e.onlyRun(pr.HeadSHA)
	if run.Conclusion != "action_required" || !strings.Contains(run.Output.Text, "DROP COLUMN legacy") {
		t.Fatalf("check %s:\n%s", run.Conclusion, run.Output.Text)
	}
	// The base's one migration is a blob; the 1,000 come from the patches.
	if blobs != 1 || total > 30 {
		t.Errorf("%d requests, %d of them blobs; want at most 30 and 1", total, blobs)
	}
	t.Logf("push of 1,000 added migrations: %d requests (%d blobs)", total, blobs)

	// An edit of an existing migration is rebuilt from the base blob and
	// the patch: no blob of the head is fetched.
	e.repo.CommitOn("edit", map[string]string{"db/migrations/001_users.sql": usersTable + "ALTER TABLE users DROP COLUMN email;\n"})
	pr2, d2 := e.f.OpenPR(e.repo, githubfake.PROptions{Author: e.author, Head: "edit"})
	before = e.f.Counts()
	e.deliver(d2, http.StatusAccepted)
	e.wait()
	if run := e.onlyRun(pr2.HeadSHA); !strings.Contains(run.Output.Text, "DROP COLUMN email") {
		t.Errorf("edited migration not judged:\n%s", run.Output.Text)
	}
	if n := e.f.Count("git/get-blob") - before["git/get-blob"]; n > 1 {
		t.Errorf("%d blobs fetched for an edited migration, want at most the base's", n)
	}
}
