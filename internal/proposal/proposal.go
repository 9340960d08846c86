// Package proposal judges SQL that is not written yet: the content of a
// migration file proposed at a path of a repository (from standard input, or
// from a coding agent), as the next migration of its folder, against the
// schema every migration already in the repository builds.
package proposal

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// CleanPath checks that p names a file inside the repository and returns it
// slash-separated and clean.
func CleanPath(p string) (string, error) {
	s := strings.ReplaceAll(p, "\\", "/")
	if s == "" || strings.HasPrefix(s, "/") {
		return "", fmt.Errorf("path %q must be relative to the repository's root", p)
	}
	s = path.Clean(s)
	if s == "." || s == ".." || strings.HasPrefix(s, "../") || !fs.ValidPath(s) {
		return "", fmt.Errorf("path %q is not a file inside the repository", p)
	}
	return s, nil
}

// Analyze judges content proposed at p (relative to repo) as the next
// migration of its folder. req carries the configuration, statistics and
// probe; its Base, Head, Changed and Migrations are set here. Whatever is at
// p in repo today is replaced, so that the proposal is judged as new.
//
// When p is in no migration folder the layouts recognize (or its name does
// not follow the folder's tool), the file is still judged, as a plain SQL
// file against the same schema, and a note says so: a proposal is never
// waved through because its path was unexpected.
func Analyze(ctx context.Context, repo fs.FS, p string, content []byte, req analyzer.Request) (*analyzer.Report, error) {
	p, err := CleanPath(p)
	if err != nil {
		return nil, err
	}
	if content == nil {
		content = []byte{}
	}
	req.Base = overlay{base: repo, path: p}
	req.Head = overlay{base: repo, path: p, content: content}
	req.Changed = []string{p}
	req.Migrations, req.Problems = nil, nil
	rep, err := analyzer.Analyze(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("judging %s: %w", p, err)
	}
	for _, f := range rep.Files {
		if f.Path == p || f.DownPath == p {
			return rep, nil
		}
	}
	kind := layout.DetectFile(p, content)
	up, down, problems := layout.Parts(kind, p, content)
	req.Head = nil
	req.Changed = nil
	req.Migrations = []layout.Migration{{
		Kind: kind, Path: p, Up: up, Down: down, Content: content, Problems: problems,
		SupportsDown: kind.SupportsDown() && down != nil,
	}}
	alone, err := analyzer.Analyze(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("judging %s: %w", p, err)
	}
	alone.Notes = append(alone.Notes, fmt.Sprintf("%s is in no migration folder that was recognized, or its name does not follow its folder's tool: it was judged as a plain SQL file after every migration found", p))
	return alone, nil
}
