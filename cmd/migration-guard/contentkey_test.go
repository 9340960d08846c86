package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keyRepo is a goose history committed on main, and one new migration in
// the working tree.
func keyRepo(t *testing.T, initArgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, append([]string{"init", "-q", "-b", "main"}, initArgs...)...)
	writeFiles(t, dir, map[string]string{
		"db/migrations/00001_users.sql":  "-- +goose Up\nCREATE TABLE users (id int PRIMARY KEY, email text, legacy text);\n-- +goose Down\nDROP TABLE users;\n",
		"db/migrations/00002_orders.sql": "-- +goose Up\nCREATE TABLE orders (id bigint PRIMARY KEY, user_id int REFERENCES users, total numeric);\n-- +goose Down\nDROP TABLE orders;\n",
		"db/migrations/00003_index.sql":  "-- +goose Up\nCREATE INDEX users_email_idx ON users (email);\n-- +goose Down\nDROP INDEX users_email_idx;\n",
		"README.md":                      "# app\n",
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	writeFiles(t, dir, map[string]string{
		"db/migrations/00010_change.sql": "-- +goose Up\nALTER TABLE orders ALTER COLUMN total TYPE int;\n-- +goose Down\nSELECT 1;\n",
	})
	return dir
}

// sameAsUncached runs check --base main with the cache (twice: the second
// run may be answered from it) and without, and fails unless all three
// print the same bytes with the same status.
func sameAsUncached(t *testing.T, dir, cache, what string) result {
	t.Helper()
	args := []string{"check", "--base", "main", "--format", "json"}
	want := runBinary(t, dir, []string{"NO_COLOR=1"}, append(args, "--no-cache")...)
	if want.stdout == "" {
		t.Fatalf("%s: no output, status %d\n%s", what, want.status, want.stderr)
	}
	for _, pass := range []string{"first", "second"} {
		got := runBinary(t, dir, []string{"NO_COLOR=1"}, append(args, "--cache-dir", cache)...)
		if got.stdout != want.stdout || got.status != want.status || got.stderr != want.stderr {
			t.Fatalf("%s, %s cached run: status %d (want %d), output:\n%s\nwant:\n%s\nstderr %q, want %q", what, pass, got.status, want.status, got.stdout, want.stdout, got.stderr, want.stderr)
		}
	}
	return want
}

// TestContentKeySameOutput changes a checkout in every way the content key
// must notice, one after the other over one cache: after each, a cached
// run must answer what a run without the cache answers.
func TestContentKeySameOutput(t *testing.T) {
	dir := keyRepo(t)
	cache := filepath.Join(t.TempDir(), "cache")
	first := sameAsUncached(t, dir, cache, "the change")
	commit := func() { git(t, dir, "commit", "-q", "-a", "-m", "base moves") }
	steps := []struct {
		name string
		do   func(t *testing.T)
		// differs: the answer must not be the first one.
		differs bool
	}{
		{"an edit of the same size and modification time to a base file", func(t *testing.T) {
			p := filepath.Join(dir, "db/migrations/00003_index.sql")
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			edited := strings.Replace(string(b), "CREATE INDEX users_email_idx ON users (email);", "ALTER TABLE users DROP COLUMN email;          ", 1)
			if len(edited) != len(b) || edited == string(b) {
				t.Fatal("the edit must keep the size")
			}
			if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"the edit undone", func(t *testing.T) { git(t, dir, "checkout", "-q", "--", "db/migrations/00003_index.sql") }, false},
		{"a new base commit changing an old migration", func(t *testing.T) {
			writeFiles(t, dir, map[string]string{"db/migrations/00002_orders.sql": "-- +goose Up\nCREATE TABLE payments (id bigint PRIMARY KEY);\n-- +goose Down\nDROP TABLE payments;\n"})
			commit()
		}, true},
		{"a new base commit changing no migration", func(t *testing.T) {
			writeFiles(t, dir, map[string]string{"README.md": "# app, moved on\n"})
			commit()
		}, false},
		{"a replacement object of the same size for a base blob", func(t *testing.T) {
			// git replace makes every reader that honours replacements see
			// other bytes under the blob id the base commit lists, which is
			// what the caches key the base's files by (and ls-tree --long
			// then shows the same size).
			name := "db/migrations/00001_users.sql"
			blob := strings.TrimSpace(gitOutput(t, dir, "rev-parse", "HEAD:"+name))
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			swapped := strings.Replace(string(b), "users (id int PRIMARY KEY, email text, legacy text)", "orders (id int PRIMARY KEY, email text, total text)", 1)
			if swapped == string(b) || len(swapped) != len(b) {
				t.Fatalf("the replacement must keep the size: %q", b)
			}
			other := filepath.Join(t.TempDir(), "other.sql")
			if err := os.WriteFile(other, []byte(swapped), 0o644); err != nil {
				t.Fatal(err)
			}
			git(t, dir, "replace", blob, strings.TrimSpace(gitOutput(t, dir, "hash-object", "-w", other)))
		}, false},
		{"an untracked new file", func(t *testing.T) {
			writeFiles(t, dir, map[string]string{"db/migrations/00005_more.sql": "-- +goose Up\nCREATE TABLE audit (id int);\n-- +goose Down\nSELECT 1;\n"})
		}, true},
		{"a deleted file", func(t *testing.T) {
			if err := os.Remove(filepath.Join(dir, "db/migrations/00002_orders.sql")); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"the file back", func(t *testing.T) { git(t, dir, "checkout", "-q", "--", "db/migrations/00002_orders.sql") }, false},
		{"an ignored migration", func(t *testing.T) {
			writeFiles(t, dir, map[string]string{
				".gitignore":                      "00006_ignored.sql\n",
				"db/migrations/00006_ignored.sql": "-- +goose Up\nCREATE TABLE orders (id bigint PRIMARY KEY, total numeric);\n-- +goose Down\nSELECT 1;\n",
			})
		}, true},
		{"the configuration changed at the base", func(t *testing.T) {
			writeFiles(t, dir, map[string]string{".github/migration-guard.yml": "postgres_version: 11\n"})
			git(t, dir, "add", ".github")
			commit()
		}, true},
		{"the configuration changed in the working tree", func(t *testing.T) {
			writeFiles(t, dir, map[string]string{".github/migration-guard.yml": "postgres_version: 16\n"})
		}, true},
		{"a file marked assume-unchanged, then edited", func(t *testing.T) {
			git(t, dir, "update-index", "--assume-unchanged", "db/migrations/00003_index.sql")
			writeFiles(t, dir, map[string]string{"db/migrations/00003_index.sql": "-- +goose Up\nDROP TABLE users;\n-- +goose Down\nSELECT 1;\n"})
		}, true},
		{"core.autocrlf and a checkout with CRLF", func(t *testing.T) {
			git(t, dir, "update-index", "--no-assume-unchanged", "db/migrations/00003_index.sql")
			git(t, dir, "checkout", "-q", "--", "db/migrations/00003_index.sql")
			git(t, dir, "config", "core.autocrlf", "true")
			p := filepath.Join(dir, "db/migrations/00001_users.sql")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			git(t, dir, "checkout", "-q", "--", "db/migrations/00001_users.sql")
			if b, _ := os.ReadFile(p); !strings.Contains(string(b), "\r\n") {
				t.Fatalf("no CRLF in the checkout: %q", b)
			}
		}, true},
		{"core.autocrlf off again", func(t *testing.T) {
			git(t, dir, "config", "core.autocrlf", "false")
			for _, p := range []string{"db/migrations/00001_users.sql", "db/migrations/00002_orders.sql", "db/migrations/00003_index.sql"} {
				recheckout(t, dir, p)
			}
		}, false},
		{"a filter from info/attributes that rewrites a file at checkout", func(t *testing.T) {
			// ROT13 both ways, as LFS gives back on clean what it replaced
			// on checkout: git sees no change, the file keeps the blob's
			// size, and nothing the key walks changed but its bytes. Only
			// its attribute says git cannot vouch for it.
			git(t, dir, "config", "filter.rot13.smudge", "tr a-zA-Z n-za-mN-ZA-M")
			git(t, dir, "config", "filter.rot13.clean", "tr a-zA-Z n-za-mN-ZA-M")
			writeFiles(t, dir, map[string]string{".git/info/attributes": "db/migrations/00002_orders.sql filter=rot13\n"})
			recheckout(t, dir, "db/migrations/00002_orders.sql")
		}, true},
		{"the filter from a .gitattributes only in the working tree", func(t *testing.T) {
			if err := os.Remove(filepath.Join(dir, ".git/info/attributes")); err != nil {
				t.Fatal(err)
			}
			recheckout(t, dir, "db/migrations/00002_orders.sql")
			writeFiles(t, dir, map[string]string{".gitattributes": "db/migrations/00003_index.sql filter=rot13\n"})
			recheckout(t, dir, "db/migrations/00003_index.sql")
		}, true},
		{"a symbolic link", func(t *testing.T) {
			if err := os.Remove(filepath.Join(dir, ".gitattributes")); err != nil {
				t.Fatal(err)
			}
			recheckout(t, dir, "db/migrations/00003_index.sql")
			if err := os.Symlink("00003_index.sql", filepath.Join(dir, "db/migrations/00007_link.sql")); err != nil {
				t.Fatal(err)
			}
			git(t, dir, "add", "db/migrations/00007_link.sql")
			commit()
		}, true},
		{"a submodule entry", func(t *testing.T) {
			git(t, dir, "rm", "-q", "db/migrations/00007_link.sql")
			git(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("1", 40)+",db/vendored")
			commit()
		}, true},
	}
	prev := first
	for _, s := range steps {
		s.do(t)
		got := sameAsUncached(t, dir, cache, s.name)
		if s.differs && got.stdout == prev.stdout {
			t.Errorf("%s: the answer did not change; the step tests nothing", s.name)
		}
		prev = got
	}
}

// recheckout writes a tracked file again from the index, through
// whatever conversion git now applies, and says what it wrote.
func recheckout(t *testing.T, dir, p string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, p)); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "checkout", "-q", "--", p)
	b, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s checked out as %q", p, b)
}

// TestContentKeySHA256 runs the same in a SHA-256 repository (64-hex ids),
// where the local git can make one.
func TestContentKeySHA256(t *testing.T) {
	probe := exec.Command("git", "init", "-q", "--object-format=sha256", t.TempDir())
	if out, err := probe.CombinedOutput(); err != nil {
		t.Fatalf("this git cannot make a SHA-256 repository: %v\n%s", err, out)
	}
	dir := keyRepo(t, "--object-format=sha256")
	cache := filepath.Join(t.TempDir(), "cache")
	first := sameAsUncached(t, dir, cache, "the change")
	k, ch := keyOf(t, dir)
	if a := k.addr["db/migrations/00001_users.sql"]; !strings.HasPrefix(a, "git ") || len(a) != 4+64 {
		t.Errorf("address of an unchanged file: %q", a)
	}
	if len(ch.entries) == 0 || len(ch.entries[0].ID) != 64 {
		t.Errorf("base entries: %+v", ch.entries)
	}
	writeFiles(t, dir, map[string]string{"db/migrations/00002_orders.sql": "-- +goose Up\nDROP TABLE users;\n-- +goose Down\nSELECT 1;\n"})
	if got := sameAsUncached(t, dir, cache, "an edited base file"); got.stdout == first.stdout {
		t.Error("the edit changed nothing")
	}
}

func keyOf(t *testing.T, dir string) (*contentKey, *gitChange) {
	t.Helper()
	ctx := context.Background()
	repo, commit, err := openAt(ctx, dir, "main")
	if err != nil {
		t.Fatal(err)
	}
	ks := startContentKey(ctx, repo.root)
	ch, err := repo.readChange(ctx, commit, startIndexList(ctx, dir))
	if err != nil {
		t.Fatal(err)
	}
	k, err := newContentKey(ctx, repo, ch, keyInputs{opt: checkOptions{base: "main", format: "json"}, root: repo.root, cwd: ".", commit: commit}, ks)
	if err != nil {
		t.Fatal(err)
	}
	return k, ch
}

// TestContentKeyAddresses: which working-tree files the key names by their
// blob id, and which it reads.
func TestContentKeyAddresses(t *testing.T) {
	users, orders, index := "db/migrations/00001_users.sql", "db/migrations/00002_orders.sql", "db/migrations/00003_index.sql"
	for _, tc := range []struct {
		name string
		do   func(t *testing.T, dir string)
		// read are the files the key must read; every other committed
		// migration is named by its blob id.
		read []string
		// none: no key at all.
		none bool
	}{
		{"nothing else", func(*testing.T, string) {}, nil, false},
		{"same size, modification time put back", func(t *testing.T, dir string) {
			p := filepath.Join(dir, index)
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, []byte(strings.Replace(string(b), "email", "EMAIL", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, []string{index}, false},
		{"same, with core.trustctime off", func(t *testing.T, dir string) {
			git(t, dir, "config", "core.trustctime", "false")
			git(t, dir, "config", "core.checkstat", "minimal")
			// The file an hour older than the index written next, so that
			// its entry is not racily clean: git trusts its stat data.
			p := filepath.Join(dir, index)
			past := time.Now().Add(-time.Hour).Truncate(time.Second)
			if err := os.Chtimes(p, past, past); err != nil {
				t.Fatal(err)
			}
			git(t, dir, "update-index", "--refresh")
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, []byte(strings.Replace(string(b), "email", "EMAIL", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, past, past); err != nil {
				t.Fatal(err)
			}
		}, []string{index}, false},
		{"assume-unchanged", func(t *testing.T, dir string) {
			git(t, dir, "update-index", "--assume-unchanged", orders)
		}, []string{orders}, false},
		{"skip-worktree", func(t *testing.T, dir string) {
			git(t, dir, "update-index", "--skip-worktree", orders)
		}, []string{orders}, false},
		{"CRLF checkout", func(t *testing.T, dir string) {
			git(t, dir, "config", "core.autocrlf", "true")
			os.Remove(filepath.Join(dir, users))
			git(t, dir, "checkout", "-q", "--", users)
		}, []string{users}, false},
		{"a filter attribute", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{".git/info/attributes": "00002_orders.sql filter=upper\n"})
		}, []string{orders}, false},
		{"a working-tree-encoding attribute", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{".gitattributes": "00003_index.sql working-tree-encoding=UTF-16\n"})
		}, []string{index}, false},
		{"staged", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{users: "-- +goose Up\nSELECT 2;\n"})
			git(t, dir, "add", users)
		}, []string{users}, false},
		{"a symbolic link in the working tree", func(t *testing.T, dir string) {
			if err := os.Symlink("00001_users.sql", filepath.Join(dir, "db/migrations/00009_link.sql")); err != nil {
				t.Fatal(err)
			}
		}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := keyRepo(t)
			before, _ := keyOf(t, dir)
			tc.do(t, dir)
			ctx := context.Background()
			repo, commit, err := openAt(ctx, dir, "main")
			if err != nil {
				t.Fatal(err)
			}
			ks := startContentKey(ctx, repo.root)
			ch, err := repo.readChange(ctx, commit, startIndexList(ctx, dir))
			if err != nil {
				t.Fatal(err)
			}
			k, err := newContentKey(ctx, repo, ch, keyInputs{opt: checkOptions{base: "main", format: "json"}, root: repo.root, cwd: ".", commit: commit}, ks)
			if tc.none {
				if err == nil {
					t.Fatal("a key, want none")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{users, orders, index} {
				read := false
				for _, r := range tc.read {
					read = read || r == p
				}
				a := k.addr[p]
				if read != strings.HasPrefix(a, "sha256 ") || !read && !strings.HasPrefix(a, "git ") {
					t.Errorf("%s: address %q, read %v", p, a, read)
				}
			}
			if new := k.addr["db/migrations/00010_change.sql"]; !strings.HasPrefix(new, "sha256 ") {
				t.Errorf("the untracked file: address %q", new)
			}
			if len(tc.read) > 0 && k.key == before.key {
				t.Error("the key did not change")
			}
		})
	}
}

// TestContentCheck: a file that is not what the key saw when the run reads
// it, a file the key never saw and a folder whose entries changed each stop
// the output from being kept under the key.
func TestContentCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(t *testing.T, dir string, c *contentCheck)
		bad  bool
	}{
		{"as the key saw it", func(t *testing.T, dir string, c *contentCheck) {
			for _, p := range []string{"db/migrations/00001_users.sql", "db/migrations/00010_change.sql"} {
				if _, err := c.ReadFile(p); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.ReadDir("db/migrations"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ReadFile("db/migrations/00011_none.sql"); err == nil {
				t.Fatal("a missing file read")
			}
		}, false},
		{"a file edited since", func(t *testing.T, dir string, c *contentCheck) {
			writeFiles(t, dir, map[string]string{"db/migrations/00001_users.sql": "-- +goose Up\nSELECT 1;\n"})
			if _, err := c.ReadFile("db/migrations/00001_users.sql"); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"an untracked file edited since", func(t *testing.T, dir string, c *contentCheck) {
			writeFiles(t, dir, map[string]string{"db/migrations/00010_change.sql": "-- +goose Up\nSELECT 1;\n"})
			if _, err := c.ReadFile("db/migrations/00010_change.sql"); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a file added since: the folder as the key saw it", func(t *testing.T, dir string, c *contentCheck) {
			writeFiles(t, dir, map[string]string{"db/migrations/00011_new.sql": "SELECT 1;\n"})
			es, err := c.ReadDir("db/migrations")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if e.Name() == "00011_new.sql" {
					t.Error("a file the key did not see is listed")
				}
			}
		}, false},
		{"a folder the key did not see", func(t *testing.T, dir string, c *contentCheck) {
			writeFiles(t, dir, map[string]string{"db/more/1.sql": "SELECT 1;\n"})
			if _, err := c.ReadDir("db/more"); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a file removed since", func(t *testing.T, dir string, c *contentCheck) {
			if err := os.Remove(filepath.Join(dir, "db/migrations/00002_orders.sql")); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ReadFile("db/migrations/00002_orders.sql"); err == nil {
				t.Fatal("a removed file read")
			}
		}, true},
		{"a file read through Open", func(t *testing.T, dir string, c *contentCheck) {
			f, err := c.Open("README.md")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Read(make([]byte, 4)); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := keyRepo(t)
			k, _ := keyOf(t, dir)
			c := &contentCheck{FS: newCheckoutFS(dir), key: k}
			tc.do(t, dir, c)
			if got := c.mismatch() != ""; got != tc.bad {
				t.Errorf("mismatch %q, want one: %v", c.mismatch(), tc.bad)
			}
		})
	}
}

// TestWalkCheckout: the walk skips what discovery skips, unless a
// configured location lies inside it, and stops at a symbolic link.
func TestWalkCheckout(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"db/1.sql":                   "SELECT 1;",
		".db/migrations/1.sql":       "SELECT 1;",
		"node_modules/pkg/x.sql":     "SELECT 1;",
		"vendor/db/migrations/1.sql": "SELECT 1;",
		".git/HEAD":                  "ref: refs/heads/main\n",
	})
	for _, tc := range []struct {
		locs []string
		want []string
	}{
		{nil, []string{"db/1.sql"}},
		{[]string{".db/migrations"}, []string{"db/1.sql", ".db/migrations/1.sql"}},
		{[]string{"vendor/db/migrations", "db"}, []string{"db/1.sql", "vendor/db/migrations/1.sql"}},
	} {
		w, err := walkCheckout(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.extend(dir, tc.locs); err != nil {
			t.Fatal(err)
		}
		if strings.Join(w.files, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%v: files %v, want %v", tc.locs, w.files, tc.want)
		}
		for _, p := range w.files {
			if w.info[p] == nil {
				t.Errorf("%s: no lstat", p)
			}
		}
	}
	w, _ := walkCheckout(dir)
	if err := w.extend(dir, []string{".git/x"}); err == nil {
		t.Error("a location inside .git walked")
	}
	if err := os.Symlink("db/1.sql", filepath.Join(dir, "link.sql")); err != nil {
		t.Fatal(err)
	}
	if _, err := walkCheckout(dir); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symbolic link: %v", err)
	}
}

// TestContentKeyFromSubfolder: run from a folder below the root (the key's
// work then starts once rev-parse has found the root), and from the root
// with a PATH: the same answers as without the cache, and the two are kept
// apart.
func TestContentKeyFromSubfolder(t *testing.T) {
	dir := keyRepo(t)
	cache := filepath.Join(t.TempDir(), "cache")
	for _, run := range []struct {
		in   string
		args []string
	}{
		{"db", nil},
		{"db/migrations", nil},
		{".", []string{"README.md"}},
		{".", nil},
	} {
		args := append([]string{"check", "--base", "main", "--format", "json"}, run.args...)
		want := runBinary(t, filepath.Join(dir, run.in), nil, append(args, "--no-cache")...)
		for pass := 0; pass < 2; pass++ {
			got := runBinary(t, filepath.Join(dir, run.in), nil, append(args, "--cache-dir", cache)...)
			if got.stdout != want.stdout || got.status != want.status || got.stderr != want.stderr {
				t.Fatalf("from %s %v, pass %d: status %d (want %d)\n%s\nwant\n%s", run.in, run.args, pass, got.status, want.status, got.stdout, want.stdout)
			}
		}
	}
}

// TestWarmBaseReadsNoBlob: once a run has kept the base's migrations and
// schema, a run after an edit of the change (its output not in the cache)
// reads no file of the base: it starts no `git cat-file`. The run that
// fills the cache does, which shows that git's log below sees it.
func TestWarmBaseReadsNoBlob(t *testing.T) {
	dir := keyRepo(t)
	cache := filepath.Join(t.TempDir(), "cache")
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "git.log")
	script := "#!/bin/sh\necho \"$*\" >>'" + log + "'\nexec '" + realGit + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"NO_COLOR=1", "PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	args := []string{"check", "--base", "main", "--format", "json"}
	for _, run := range []struct {
		name      string
		edit      string
		readsBlob bool
	}{
		{"the run that fills the cache", "", true},
		{"a run after an edit of the change", "-- +goose Up\nALTER TABLE orders ALTER COLUMN total TYPE bigint;\n-- +goose Down\nSELECT 1;\n", false},
		{"a run after another edit", "-- +goose Up\nALTER TABLE orders DROP COLUMN total;\n-- +goose Down\nSELECT 1;\n", false},
	} {
		if run.edit != "" {
			writeFiles(t, dir, map[string]string{"db/migrations/00010_change.sql": run.edit})
		}
		want := runBinary(t, dir, nil, append(args, "--no-cache")...)
		if err := os.WriteFile(log, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		got := runBinary(t, dir, env, append(args, "--cache-dir", cache)...)
		if got.stdout != want.stdout || got.status != want.status {
			t.Fatalf("%s: status %d (want %d)\n%s\nwant\n%s", run.name, got.status, want.status, got.stdout, want.stdout)
		}
		calls, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(calls), "ls-tree") {
			t.Fatalf("%s: the log holds no git call:\n%s", run.name, calls)
		}
		if reads := strings.Contains(string(calls), "cat-file"); reads != run.readsBlob {
			t.Errorf("%s: git cat-file started: %v, want %v; git calls:\n%s", run.name, reads, run.readsBlob, calls)
		}
	}
}

// TestBaseFromSubfolderRelativeDiff: from a folder below the root, with
// diff.relative set (git diff then prints paths from the current folder,
// and only below it), check --base judges what it judges from the root.
// The base file rewritten with CRLF line endings reads as the base's, so
// only git's list of changes has it judged.
func TestBaseFromSubfolderRelativeDiff(t *testing.T) {
	dir := keyRepo(t)
	orders := filepath.Join(dir, "db/migrations/00002_orders.sql")
	b, err := os.ReadFile(orders)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orders, []byte(strings.ReplaceAll(string(b), "\n", "\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"check", "--base", "main", "--format", "json"}
	want := runBinary(t, dir, nil, append(args, "--no-cache")...)
	if !strings.Contains(want.stdout, "00002_orders.sql") || !strings.Contains(want.stdout, "00010_change.sql") {
		t.Fatalf("the changed files are not judged:\n%s", want.stdout)
	}
	git(t, dir, "config", "diff.relative", "true")
	cache := filepath.Join(t.TempDir(), "cache")
	for _, in := range []string{"db/migrations", "db"} {
		for _, extra := range [][]string{{"--no-cache"}, {"--cache-dir", cache}, {"--cache-dir", cache}} {
			got := runBinary(t, filepath.Join(dir, in), nil, append(args, extra...)...)
			if got.stdout != want.stdout || got.status != want.status {
				t.Fatalf("from %s %v: status %d (want %d)\n%s\nwant\n%s", in, extra, got.status, want.status, got.stdout, want.stdout)
			}
		}
	}
}

// TestAttrQuery: paths sent ahead and paths asked with the question are
// answered together, each once, from the tree's and info/attributes.
func TestAttrQuery(t *testing.T) {
	dir := keyRepo(t)
	writeFiles(t, dir, map[string]string{
		".gitattributes":       "*.enc working-tree-encoding=UTF-16\n",
		".git/info/attributes": "db/x.sql filter=upper\n",
	})
	for _, tc := range []struct {
		name       string
		ahead, ask []string
	}{
		{"all asked at once", nil, []string{"db/x.sql", "b.enc", "c.sql"}},
		{"some sent ahead", []string{"c.sql", "db/x.sql"}, []string{"db/x.sql", "b.enc"}},
		{"all sent ahead, twice", []string{"db/x.sql", "b.enc", "c.sql", "c.sql"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := gitRepo{root: dir}.startAttrQuery(context.Background())
			q.send(tc.ahead)
			got, err := q.ask(tc.ask)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || !got["db/x.sql"] || !got["b.enc"] {
				t.Errorf("rewritten %v, want db/x.sql and b.enc", got)
			}
			if _, err := q.ask(nil); err == nil {
				t.Error("asked twice without an error")
			}
		})
	}
}
