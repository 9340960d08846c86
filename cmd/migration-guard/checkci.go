package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/proposal"
)

// validFailOn checks --fail-on.
func validFailOn(level string) error {
	switch level {
	case "", string(analyzer.Danger), string(analyzer.Warning):
		return nil
	}
	return fail("unknown --fail-on %q (want danger or warning)", level)
}

// failing is true when the check must exit 1: whatever requires approval
// always fails; --fail-on adds every finding at least that severe, except
// one suppressed with a reason (a reviewed exception) that no longer
// requires approval. --fail-on only ever adds failures.
func failing(rep *analyzer.Report, level string) bool {
	if rep.RequiresApproval() {
		return true
	}
	if level == "" {
		return false
	}
	threshold := analyzer.Severity(level).Rank()
	for _, l := range rep.AllFindings() {
		f := l.Finding
		if f.Suppressed == nil && f.Severity.Rank() >= threshold {
			return true
		}
	}
	return false
}

func containsStdin(args []string) bool {
	for _, a := range args {
		if a == "-" {
			return true
		}
	}
	return false
}

// stdinMaxBytes bounds what standard input may hold; the analyzer's own
// limit (max_file_bytes) then judges a file that is too large.
const stdinMaxBytes = 64 << 20

// stdinProposal is SQL from standard input, judged as the next migration
// at a path of the current folder.
type stdinProposal struct {
	req     analyzer.Request
	root    fs.FS
	path    string
	content []byte
}

func (s *stdinProposal) analyze(ctx context.Context, req analyzer.Request) (*analyzer.Report, error) {
	return proposal.Analyze(ctx, s.root, s.path, s.content, req)
}

// stdinRequest reads `check -`: standard input is the content of the file
// --stdin-filename, which need not exist.
func stdinRequest(opt checkOptions, args []string) (*stdinProposal, fs.FS, error) {
	if len(args) != 1 {
		return nil, nil, fail("- (standard input) must be the only PATH")
	}
	if opt.base != "" {
		return nil, nil, fail("- (standard input) and --base cannot be combined")
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, nil, fail("finding the current folder: %v", err)
	}
	name := opt.stdinName
	if name == "" {
		name = "stdin.sql"
	}
	if filepath.IsAbs(name) {
		rel, err := filepath.Rel(cwd, name)
		if err != nil {
			return nil, nil, fail("--stdin-filename %s is outside the current folder %s", name, cwd)
		}
		name = rel
	}
	p, err := proposal.CleanPath(filepath.ToSlash(name))
	if err != nil {
		return nil, nil, fail("--stdin-filename: %v", err)
	}
	content, err := io.ReadAll(io.LimitReader(os.Stdin, stdinMaxBytes+1))
	if err != nil {
		return nil, nil, fail("reading standard input: %v", err)
	}
	if len(content) > stdinMaxBytes {
		return nil, nil, fail("standard input holds more than %d bytes", stdinMaxBytes)
	}
	root := os.DirFS(cwd)
	cfg, err := loadConfig(opt, root)
	if err != nil {
		return nil, nil, err
	}
	return &stdinProposal{req: analyzer.Request{Config: cfg}, root: root, path: p, content: content}, root, nil
}
