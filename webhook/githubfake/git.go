package githubfake

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Object ids are computed exactly as git computes them so that SHAs the App
// sees (and may log, compare or cache) look and behave like real ones:
// identical content always yields the identical id, across repositories.

func gitObjectID(kind string, body []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func blobID(content string) string { return gitObjectID("blob", []byte(content)) }

// treeEntry is one line of a git tree object.
type treeEntry struct {
	Name string
	Mode string // "100644" for files, "40000" for trees
	SHA  string
}

func (e treeEntry) isTree() bool { return e.Mode == "40000" }

// sortKey is git's tree ordering: a directory sorts as if its name ended
// in "/", so "a.sql" comes before directory "a" but "a-b" after it.
func (e treeEntry) sortKey() string {
	if e.isTree() {
		return e.Name + "/"
	}
	return e.Name
}

func treeID(entries []treeEntry) string {
	var b strings.Builder
	for _, e := range entries {
		raw, _ := hex.DecodeString(e.SHA)
		b.WriteString(e.Mode)
		b.WriteByte(' ')
		b.WriteString(e.Name)
		b.WriteByte(0)
		b.Write(raw)
	}
	return gitObjectID("tree", []byte(b.String()))
}

// buildTrees stores the trees for a flat path->blob map in trees and
// returns the root tree id. modes holds the paths whose mode is not a
// regular file's 100644 (a symbolic link's 120000, an executable's 100755).
func buildTrees(files, modes map[string]string, trees map[string][]treeEntry) string {
	type file struct{ sha, mode string }
	type dir struct {
		files map[string]file
		dirs  map[string]*dir
	}
	newDir := func() *dir { return &dir{files: map[string]file{}, dirs: map[string]*dir{}} }
	root := newDir()
	for p, sha := range files {
		parts := strings.Split(p, "/")
		d := root
		for _, part := range parts[:len(parts)-1] {
			sub, ok := d.dirs[part]
			if !ok {
				sub = newDir()
				d.dirs[part] = sub
			}
			d = sub
		}
		mode := modes[p]
		if mode == "" {
			mode = "100644"
		}
		d.files[parts[len(parts)-1]] = file{sha, mode}
	}
	var write func(d *dir) string
	write = func(d *dir) string {
		entries := make([]treeEntry, 0, len(d.files)+len(d.dirs))
		for name, f := range d.files {
			entries = append(entries, treeEntry{Name: name, Mode: f.mode, SHA: f.sha})
		}
		for name, sub := range d.dirs {
			entries = append(entries, treeEntry{Name: name, Mode: "40000", SHA: write(sub)})
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].sortKey() < entries[j].sortKey() })
		id := treeID(entries)
		trees[id] = entries
		return id
	}
	return write(root)
}

// Signature is a git author or committer. Login links it to a GitHub
// user, as GitHub does when the email belongs to an account.
type Signature struct {
	Name  string
	Email string
	Login string
	Date  time.Time
}

func (s Signature) gitLine() string {
	_, off := s.Date.Zone()
	sign := '+'
	if off < 0 {
		sign = '-'
		off = -off
	}
	return fmt.Sprintf("%s <%s> %d %c%02d%02d", s.Name, s.Email, s.Date.Unix(), sign, off/3600, (off%3600)/60)
}

func commitID(tree string, parents []string, author, committer Signature, message string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tree %s\n", tree)
	for _, p := range parents {
		fmt.Fprintf(&b, "parent %s\n", p)
	}
	fmt.Fprintf(&b, "author %s\n", author.gitLine())
	fmt.Fprintf(&b, "committer %s\n", committer.gitLine())
	b.WriteString("\n")
	b.WriteString(message)
	return gitObjectID("commit", []byte(b.String()))
}
