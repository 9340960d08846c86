package githubfake

import (
	"encoding/base64"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
)

// maxPRFiles is where GitHub's list-PR-files endpoint stops.
const maxPRFiles = 3000

func init() {
	for id, h := range map[string]handler{
		"repos/get":                           getRepo,
		"repos/get-branch":                    getBranch,
		"pulls/get":                           getPull,
		"pulls/list":                          listPulls,
		"pulls/list-files":                    listPullFiles,
		"pulls/list-commits":                  listPullCommits,
		"repos/get-content":                   getContent,
		"repos/get-commit":                    getCommit,
		"repos/compare-commits-with-basehead": compareCommits,
		"git/get-tree":                        getTree,
		"git/get-blob":                        getBlob,
	} {
		handlers[id] = h
	}
}

func getRepo(c *call) reply { return ok(c.f.renderRepo(c.repo)) }

func getBranch(c *call) reply {
	name := c.params["branch"]
	sha, found := c.repo.branches[name]
	if !found {
		return c.fail(http.StatusNotFound, "Branch not found")
	}
	full := c.repo.FullName()
	self := c.f.apiURL("repos/%s/branches/%s", full, name)
	return ok(map[string]any{
		"name":           name,
		"commit":         c.f.renderCommit(c.repo, c.repo.commits[sha], nil),
		"_links":         map[string]any{"self": self, "html": htmlURL("%s/tree/%s", full, name)},
		"protected":      false,
		"protection":     map[string]any{"enabled": false, "required_status_checks": map[string]any{"enforcement_level": "off", "contexts": []any{}, "checks": []any{}}},
		"protection_url": self + "/protection",
	})
}

func (c *call) pull() (*PullRequest, bool) {
	n, err := strconv.Atoi(c.params["pull_number"])
	if err != nil {
		return nil, false
	}
	pr, found := c.f.prs[prKey{c.repo.ID, n}]
	return pr, found
}

// diffBase is the commit a pull request's diff starts from: the merge base
// of its base and head, as GitHub's three-dot diff.
func (f *Fake) diffBase(pr *PullRequest, head string) string {
	if mb := pr.Repo.mergeBase(pr.BaseSHA, head); mb != "" {
		return mb
	}
	return pr.BaseSHA
}

func wantsMedia(c *call, kind string) bool {
	accept := c.r.Header.Get("Accept")
	return strings.Contains(accept, "vnd.github.v3."+kind) || strings.Contains(accept, "vnd.github."+kind)
}

func getPull(c *call) reply {
	pr, found := c.pull()
	if !found {
		return c.notFound()
	}
	if wantsMedia(c, "diff") {
		var b strings.Builder
		for _, cf := range c.f.changedFiles(c.repo, c.f.diffBase(pr, pr.HeadSHA), pr.HeadSHA) {
			old := cf.Filename
			if cf.PreviousFilename != "" {
				old = cf.PreviousFilename
			}
			b.WriteString("diff --git a/" + old + " b/" + cf.Filename + "\n")
			if cf.Patch != nil {
				b.WriteString("--- a/" + old + "\n+++ b/" + cf.Filename + "\n" + cf.Patch.text + "\n")
			}
		}
		return reply{status: http.StatusOK, raw: []byte(b.String()), contentType: "application/vnd.github.v3.diff; charset=utf-8"}
	}
	return ok(c.f.renderPR(pr, true))
}

func listPulls(c *call) reply {
	state := c.query.Get("state")
	if state == "" {
		state = "open"
	}
	var list []*PullRequest
	for n := 1; n <= c.f.numbers[c.repo.ID]; n++ {
		pr, found := c.f.prs[prKey{c.repo.ID, n}]
		if !found || (state != "all" && pr.State != state) {
			continue
		}
		if head := c.query.Get("head"); head != "" && head != pr.Repo.Owner.Login+":"+pr.HeadRef {
			continue
		}
		if base := c.query.Get("base"); base != "" && base != pr.BaseRef {
			continue
		}
		list = append(list, pr)
	}
	asc := c.query.Get("direction") == "asc"
	sort.SliceStable(list, func(i, j int) bool {
		if asc {
			return list[i].Number < list[j].Number
		}
		return list[i].Number > list[j].Number
	})
	lo, hi := c.page(len(list))
	out := []any{}
	for _, pr := range list[lo:hi] {
		out = append(out, c.f.renderPR(pr, false))
	}
	return ok(out)
}

func listPullFiles(c *call) reply {
	pr, found := c.pull()
	if !found {
		return c.notFound()
	}
	files := c.f.changedFiles(c.repo, c.f.diffBase(pr, pr.HeadSHA), pr.HeadSHA)
	if len(files) > maxPRFiles {
		files = files[:maxPRFiles]
	}
	lo, hi := c.page(len(files))
	out := []any{}
	for _, cf := range files[lo:hi] {
		out = append(out, c.f.renderFile(c.repo, cf, pr.HeadSHA))
	}
	return ok(out)
}

func listPullCommits(c *call) reply {
	pr, found := c.pull()
	if !found {
		return c.notFound()
	}
	commits := c.repo.commitsBetween(pr.BaseSHA, pr.HeadSHA)
	if len(commits) > 250 {
		commits = commits[:250]
	}
	lo, hi := c.page(len(commits))
	out := []any{}
	for _, cm := range commits[lo:hi] {
		out = append(out, c.f.renderCommit(c.repo, cm, nil))
	}
	return ok(out)
}

// lookup finds path in commit's tree: a blob entry, or a tree entry for a
// directory.
func (r *Repo) lookup(cm *Commit, p string) (treeEntry, bool) {
	entry := treeEntry{Name: "", Mode: "40000", SHA: cm.Tree}
	if p == "" {
		return entry, true
	}
	for _, part := range strings.Split(p, "/") {
		if !entry.isTree() {
			return treeEntry{}, false
		}
		found := false
		for _, e := range r.trees[entry.SHA] {
			if e.Name == part {
				entry, found = e, true
				break
			}
		}
		if !found {
			return treeEntry{}, false
		}
	}
	return entry, true
}

// base64Lines encodes as GitHub does in contents and blobs: standard
// base64 with a newline after every 60 characters.
func base64Lines(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60])
		b.WriteByte('\n')
		enc = enc[60:]
	}
	b.WriteString(enc)
	b.WriteByte('\n')
	return b.String()
}

func (c *call) resolveRef(ref string) (*Commit, bool) {
	if ref == "" {
		ref = c.repo.DefaultBranch
	}
	return c.repo.resolve(ref)
}

func (c *call) contentEntry(p, ref string, e treeEntry) map[string]any {
	full := c.repo.FullName()
	typ := "file"
	gitURL := c.f.apiURL("repos/%s/git/blobs/%s", full, e.SHA)
	size := 0
	var download any
	if e.isTree() {
		typ = "dir"
		gitURL = c.f.apiURL("repos/%s/git/trees/%s", full, e.SHA)
	} else {
		size = len(c.repo.blobs[e.SHA])
		download = "https://raw.githubusercontent.com/" + full + "/" + ref + "/" + escapePath(p)
	}
	self := c.f.apiURL("repos/%s/contents/%s?ref=%s", full, escapePath(p), ref)
	html := htmlURL("%s/blob/%s/%s", full, ref, escapePath(p))
	return map[string]any{
		"type":         typ,
		"size":         size,
		"name":         path.Base(p),
		"path":         p,
		"sha":          e.SHA,
		"url":          self,
		"git_url":      gitURL,
		"html_url":     html,
		"download_url": download,
		"_links":       map[string]any{"self": self, "git": gitURL, "html": html},
	}
}

func getContent(c *call) reply {
	ref := c.query.Get("ref")
	cm, found := c.resolveRef(ref)
	if !found {
		return c.fail(http.StatusNotFound, "No commit found for the ref "+ref)
	}
	if ref == "" {
		ref = c.repo.DefaultBranch
	}
	p := strings.Trim(c.params["path"], "/")
	e, found := c.repo.lookup(cm, p)
	if !found {
		return c.notFound()
	}
	if e.isTree() {
		list := []any{}
		for _, child := range c.repo.trees[e.SHA] {
			list = append(list, c.contentEntry(strings.TrimPrefix(p+"/"+child.Name, "/"), ref, child))
		}
		return ok(list)
	}
	content := c.repo.blobs[e.SHA]
	if wantsMedia(c, "raw") {
		return reply{status: http.StatusOK, raw: []byte(content), contentType: "application/vnd.github.raw; charset=utf-8"}
	}
	out := c.contentEntry(p, ref, e)
	// Between 1 and 100 MB GitHub returns the metadata with an empty
	// content and encoding "none"; Apps must then fetch the blob.
	if len(content) > 1<<20 {
		out["encoding"], out["content"] = "none", ""
	} else {
		out["encoding"], out["content"] = "base64", base64Lines(content)
	}
	return ok(out)
}

func (c *call) noCommit(ref string) reply {
	if isHex(ref) && len(ref) >= 7 {
		return c.fail(http.StatusUnprocessableEntity, "No commit found for SHA: "+ref)
	}
	return c.notFound()
}

func getCommit(c *call) reply {
	ref := c.params["ref"]
	cm, found := c.repo.resolve(ref)
	if !found {
		return c.noCommit(ref)
	}
	parent := ""
	if len(cm.Parents) > 0 {
		parent = cm.Parents[0]
	}
	files := c.f.changedFiles(c.repo, parent, cm.SHA)
	if c.query.Has("page") || c.query.Has("per_page") {
		lo, hi := c.page(len(files))
		files = files[lo:hi]
	} else if len(files) > 300 {
		files = files[:300]
	}
	if files == nil {
		files = []changedFile{}
	}
	return ok(c.f.renderCommit(c.repo, cm, files))
}

func compareCommits(c *call) reply {
	spec := c.params["basehead"]
	sep := "..."
	baseRef, headRef, found := strings.Cut(spec, sep)
	if !found {
		sep = ".."
		baseRef, headRef, found = strings.Cut(spec, sep)
	}
	if !found {
		return c.notFound()
	}
	base, okBase := c.repo.resolve(baseRef)
	head, okHead := c.repo.resolve(headRef)
	if !okBase || !okHead {
		return c.notFound()
	}
	mb := c.repo.mergeBase(base.SHA, head.SHA)
	from := mb
	if sep == ".." {
		from = base.SHA
	}
	ahead := c.repo.commitsBetween(base.SHA, head.SHA)
	behind := c.repo.commitsBetween(head.SHA, base.SHA)
	status := "diverged"
	switch {
	case len(ahead) == 0 && len(behind) == 0:
		status = "identical"
	case len(behind) == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	full := c.repo.FullName()
	lo, hi := c.page(len(ahead))
	commits := []any{}
	for _, cm := range ahead[lo:hi] {
		commits = append(commits, c.f.renderCommit(c.repo, cm, nil))
	}
	files := []any{}
	for _, cf := range c.f.changedFiles(c.repo, from, head.SHA) {
		files = append(files, c.f.renderFile(c.repo, cf, head.SHA))
	}
	var mergeBase any
	if mbc, ok := c.repo.commits[mb]; ok {
		mergeBase = c.f.renderCommit(c.repo, mbc, nil)
	}
	html := htmlURL("%s/compare/%s", full, spec)
	return ok(map[string]any{
		"url":               c.f.apiURL("repos/%s/compare/%s", full, spec),
		"html_url":          html,
		"permalink_url":     htmlURL("%s/compare/%s%s%s", full, base.SHA, sep, head.SHA),
		"diff_url":          html + ".diff",
		"patch_url":         html + ".patch",
		"base_commit":       c.f.renderCommit(c.repo, base, nil),
		"merge_base_commit": mergeBase,
		"status":            status,
		"ahead_by":          len(ahead),
		"behind_by":         len(behind),
		"total_commits":     len(ahead),
		"commits":           commits,
		"files":             files,
	})
}

func getTree(c *call) reply {
	ref := c.params["tree_sha"]
	sha := ref
	if _, isTree := c.repo.trees[ref]; !isTree {
		cm, found := c.repo.resolve(ref)
		if !found {
			return c.notFound()
		}
		sha = cm.Tree
	}
	full := c.repo.FullName()
	entries := []any{}
	var walk func(prefix, tree string, recurse bool)
	walk = func(prefix, tree string, recurse bool) {
		for _, e := range c.repo.trees[tree] {
			p := prefix + e.Name
			item := map[string]any{"path": p, "mode": e.Mode, "sha": e.SHA}
			if e.isTree() {
				item["type"] = "tree"
				item["url"] = c.f.apiURL("repos/%s/git/trees/%s", full, e.SHA)
			} else if e.Mode == "160000" {
				item["type"] = "commit"
			} else {
				item["type"] = "blob"
				item["size"] = len(c.repo.blobs[e.SHA])
				item["url"] = c.f.apiURL("repos/%s/git/blobs/%s", full, e.SHA)
			}
			entries = append(entries, item)
			if e.isTree() && recurse {
				walk(p+"/", e.SHA, true)
			}
		}
	}
	// GitHub recurses for any value of "recursive", even "false"; only its
	// absence means one level.
	walk("", sha, c.query.Has("recursive"))
	truncated := false
	if n := c.repo.treeLimit; n > 0 && len(entries) > n {
		entries, truncated = entries[:n], true
	}
	return ok(map[string]any{"sha": sha, "url": c.f.apiURL("repos/%s/git/trees/%s", full, sha), "tree": entries, "truncated": truncated})
}

func getBlob(c *call) reply {
	sha := c.params["file_sha"]
	content, found := c.repo.blobs[sha]
	if !found {
		return c.notFound()
	}
	return ok(map[string]any{
		"sha":      sha,
		"node_id":  nodeID("Blob", int64(len(sha))),
		"size":     len(content),
		"url":      c.f.apiURL("repos/%s/git/blobs/%s", c.repo.FullName(), sha),
		"content":  base64Lines(content),
		"encoding": "base64",
	})
}
