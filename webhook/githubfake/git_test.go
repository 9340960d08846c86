package githubfake

import (
	"testing"
)

// Object ids must be git's own, so SHAs can be checked with git itself.
func TestGitObjectIDs(t *testing.T) {
	// Values from `git hash-object` and `git mktree`.
	if got := blobID("hello\n"); got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Errorf("blob id = %s", got)
	}
	if got := blobID(""); got != "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" {
		t.Errorf("empty blob id = %s", got)
	}
	if got := buildTrees(map[string]string{}, nil, map[string][]treeEntry{}); got != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" {
		t.Errorf("empty tree id = %s", got)
	}
	// printf 'hello\n' > a.txt; git add a.txt; git write-tree
	if got := buildTrees(map[string]string{"a.txt": blobID("hello\n")}, nil, map[string][]treeEntry{}); got != "2e81171448eb9f2ee3821e3d447aa6b2fe3ddba1" {
		t.Errorf("tree id = %s", got)
	}
	// ... and ln -s a.txt l: a symbolic link is a blob of its target, mode 120000.
	if got := buildTrees(map[string]string{"a.txt": blobID("hello\n"), "l": blobID("a.txt")}, map[string]string{"l": "120000"}, map[string][]treeEntry{}); got != "47167045d7bf091b1058a2373b90cedb8959a72b" {
		t.Errorf("tree id with a link = %s", got)
	}
}

// Git sorts a directory as if its name ended in "/".
func TestTreeOrder(t *testing.T) {
	trees := map[string][]treeEntry{}
	root := buildTrees(map[string]string{"a.sql": blobID("1"), "a/b.sql": blobID("2"), "a-b.sql": blobID("3")}, nil, trees)
	var names []string
	for _, e := range trees[root] {
		names = append(names, e.Name)
	}
	if want := []string{"a-b.sql", "a.sql", "a"}; len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Fatalf("order = %v, want %v", names, want)
	}
}

func TestCommitGraph(t *testing.T) {
	f := New(t)
	r := f.AddRepo("acme/graph")
	base := r.Branch("main")
	a := r.CommitOn("topic", map[string]string{"x.sql": "1\n"})
	b := r.CommitOn("topic", map[string]string{"x.sql": "2\n", "README.md": Deleted})
	if c := r.commits[b]; len(c.Parents) != 1 || c.Parents[0] != a {
		t.Fatalf("parents of %s = %v", b, c.Parents)
	}
	if _, ok := r.File(b, "README.md"); ok {
		t.Fatal("Deleted did not remove the file")
	}
	if got := r.commitsBetween(base, b); len(got) != 2 || got[0].SHA != a || got[1].SHA != b {
		t.Fatalf("commits between = %v", got)
	}
	main2 := r.Commit(map[string]string{"y.sql": "y\n"})
	if mb := r.mergeBase(main2, b); mb != base {
		t.Fatalf("merge base = %s, want %s", mb, base)
	}
}
