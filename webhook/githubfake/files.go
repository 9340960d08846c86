package githubfake

import (
	"sort"
	"strings"
)

// changedFile is one entry of a pull request's or comparison's file list.
type changedFile struct {
	Filename         string
	PreviousFilename string
	Status           string // added, modified, removed, renamed
	SHA              string
	Binary           bool
	Patch            *filePatch // nil for binary files, pure renames and large diffs
	// adds and dels count lines when a large diff has no patch.
	adds, dels int
}

func (c changedFile) additions() int {
	if c.Patch == nil {
		return c.adds
	}
	return c.Patch.additions
}

func (c changedFile) deletions() int {
	if c.Patch == nil {
		return c.dels
	}
	return c.Patch.deletions
}

// maxPatchBytes is where the fake, like GitHub, leaves a file's patch out
// of the file list: GitHub omits the patch of large diffs (and review
// comments cannot be placed on them).
const maxPatchBytes = 1 << 20

// patchOf diffs two texts, or counts lines without a patch when either is
// too large to diff.
func patchOf(cf *changedFile, oldText, newText string) {
	if len(oldText) > maxPatchBytes || len(newText) > maxPatchBytes {
		cf.dels, cf.adds = len(splitLines(oldText)), len(splitLines(newText))
		return
	}
	cf.Patch = unifiedDiff(oldText, newText)
}

func isBinary(content string) bool { return strings.IndexByte(content, 0) >= 0 }

type diffKey struct {
	repo       int64
	base, head string
}

// changedFiles lists the differences between two commits' trees, sorted by
// path as GitHub sorts them. Results are cached: a 3,000-file pull request
// is listed page by page, and every page needs the same diff.
func (f *Fake) changedFiles(r *Repo, baseSHA, headSHA string) []changedFile {
	key := diffKey{r.ID, baseSHA, headSHA}
	if cached, ok := f.diffCache[key]; ok {
		return cached
	}
	var baseFiles, headFiles map[string]string
	if c, ok := r.commits[baseSHA]; ok {
		baseFiles = c.Files
	}
	if c, ok := r.commits[headSHA]; ok {
		headFiles = c.Files
	}
	var out []changedFile
	removedByBlob := map[string][]string{}
	for p, sha := range baseFiles {
		if _, ok := headFiles[p]; !ok {
			removedByBlob[sha] = append(removedByBlob[sha], p)
		}
	}
	for _, paths := range removedByBlob {
		sort.Strings(paths)
	}
	renamedFrom := map[string]bool{}
	var added []string
	for p := range headFiles {
		if _, ok := baseFiles[p]; !ok {
			added = append(added, p)
		}
	}
	sort.Strings(added)
	for _, p := range added {
		sha := headFiles[p]
		content := r.blobs[sha]
		cf := changedFile{Filename: p, SHA: sha, Status: "added", Binary: isBinary(content)}
		// GitHub reports a removed and an added file with identical content
		// as a rename without a patch.
		if olds := removedByBlob[sha]; len(olds) > 0 {
			cf.Status, cf.PreviousFilename = "renamed", olds[0]
			removedByBlob[sha] = olds[1:]
			renamedFrom[olds[0]] = true
		} else if !cf.Binary {
			patchOf(&cf, "", content)
		}
		out = append(out, cf)
	}
	for p, oldSHA := range baseFiles {
		newSHA, ok := headFiles[p]
		switch {
		case !ok && !renamedFrom[p]:
			content := r.blobs[oldSHA]
			cf := changedFile{Filename: p, SHA: oldSHA, Status: "removed", Binary: isBinary(content)}
			if !cf.Binary {
				patchOf(&cf, content, "")
			}
			out = append(out, cf)
		case ok && newSHA != oldSHA:
			oldContent, newContent := r.blobs[oldSHA], r.blobs[newSHA]
			cf := changedFile{Filename: p, SHA: newSHA, Status: "modified", Binary: isBinary(oldContent) || isBinary(newContent)}
			if !cf.Binary {
				patchOf(&cf, oldContent, newContent)
			}
			out = append(out, cf)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	f.diffCache[key] = out
	return out
}

func findChangedFile(files []changedFile, path string) (changedFile, bool) {
	i := sort.Search(len(files), func(i int) bool { return files[i].Filename >= path })
	if i < len(files) && files[i].Filename == path {
		return files[i], true
	}
	return changedFile{}, false
}
