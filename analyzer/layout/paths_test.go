package layout

import (
	"path"
	"testing"
)

// joinNameDirs and joinNameNames cover the folders and names the tree walk
// gives (clean folders, plain names) and the ones it never gives, which
// joinName must hand to path.Join: a shortcut that skipped a check would
// differ from path.Join on one of them.
var (
	joinNameDirs = []string{
		".", "", "/", "a", "a/b", "db/migrations", "..", "../a", "a/..", "a/.",
		"./a", "a//b", "a/", "/a", "/a/b/", "a/./b", "a/../b", "...", "a/...", ".a", "a/.b",
	}
	joinNameNames = []string{
		"x.sql", "001_init.up.sql", "", ".", "..", "...", ".hidden", "a/b", "/x", "x/",
		"../x", "./x", "migration.sql",
	}
)

// TestJoinName holds joinName to path.Join over every folder and name of
// the table.
func TestJoinName(t *testing.T) {
	for _, dir := range joinNameDirs {
		for _, name := range joinNameNames {
			if got, want := joinName(dir, name), path.Join(dir, name); got != want {
				t.Errorf("joinName(%q, %q) = %q, path.Join gives %q", dir, name, got, want)
			}
		}
	}
}

// FuzzJoinName holds joinName to path.Join for any folder and name.
func FuzzJoinName(f *testing.F) {
	for _, dir := range joinNameDirs {
		for _, name := range joinNameNames {
			f.Add(dir, name)
		}
	}
	f.Fuzz(func(t *testing.T, dir, name string) {
		if got, want := joinName(dir, name), path.Join(dir, name); got != want {
			t.Errorf("joinName(%q, %q) = %q, path.Join gives %q", dir, name, got, want)
		}
	})
}
