package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/migration-guard/migration-guard/internal/treefs"
)

// fullStatCheck makes git compare a working-tree file with its index entry
// by all of its stat data whatever the user's settings: with
// core.trustctime off or core.checkStat minimal, a file rewritten to the
// same size with its modification time put back would pass for unchanged;
// a file-system monitor or the untracked cache would make git answer from
// what another process remembers instead of looking.
var fullStatCheck = []string{
	"-c", "core.trustctime=true",
	"-c", "core.checkstat=default",
	"-c", "core.fsmonitor=false",
	"-c", "core.untrackedcache=false",
}

// gitChange is what git says about a base commit and the working tree,
// each asked once: the base's files, how the working tree differs from
// it, and how git keeps each tracked file.
type gitChange struct {
	// listing is `git ls-tree -r --long` of the base as git printed it,
	// entries the same parsed.
	listing []byte
	entries []treefs.Entry
	// diff is `git diff --raw` from the base to the working tree; differs
	// holds every path it names, whatever the status.
	diff    []byte
	differs map[string]bool
	// special: a symbolic link or submodule on either side of the diff.
	special bool
	// index is `git ls-files -v --cached --others`; tags holds each
	// tracked path's tag ('H' for an ordinary one), untracked the others.
	index     []byte
	tags      map[string]byte
	untracked map[string]bool
	// changed is what check judges: added or modified since the base, then
	// untracked files, in git's order.
	changed []string
}

// listError is a git listing that failed: the base's tree (tree), or the
// changes or the index.
type listError struct {
	tree bool
	err  error
}

func (e *listError) Error() string { return e.err.Error() }
func (e *listError) Unwrap() error { return e.err }

// indexList is `git ls-files` of the whole checkout, started before the
// checkout's root is known: it needs no commit, so it runs while rev-parse
// resolves the base.
type indexList struct {
	out []byte
	err error
}

// startIndexList lists, from any folder of a checkout, every tracked file
// with its tag and every untracked one, by their paths from the root.
func startIndexList(ctx context.Context, dir string) <-chan indexList {
	ch := make(chan indexList, 1)
	go func() {
		out, err := gitRepo{root: dir}.run(ctx, append(append([]string{}, fullStatCheck...), "ls-files", "-z", "-v", "--cached", "--others", "--exclude-standard", "--full-name", "--", ":/")...)
		ch <- indexList{out, err}
	}()
	return ch
}

// changeRead is readChange's answer.
type changeRead struct {
	ch  *gitChange
	err error
}

// startChange runs readChange from any folder of a checkout, for a
// revision git resolves itself (REF^{commit}): it needs neither the root
// nor the commit id, so it runs while rev-parse finds them. Paths come
// back from the root all the same: ls-tree is asked for the full tree,
// and diff's paths are the root's unless diff.relative says otherwise,
// which --no-relative overrides.
func startChange(ctx context.Context, dir, rev string, idx <-chan indexList) <-chan changeRead {
	out := make(chan changeRead, 1)
	go func() {
		ch, err := gitRepo{root: dir}.readChange(ctx, rev, idx)
		out <- changeRead{ch, err}
	}()
	return out
}

// readChange asks git, with two processes at the same time, for the base's
// files and the changes since it, and takes the index from idx.
func (g gitRepo) readChange(ctx context.Context, commit string, idx <-chan indexList) (*gitChange, error) {
	c := &gitChange{differs: map[string]bool{}, tags: map[string]byte{}, untracked: map[string]bool{}}
	var diffErr, indexErr error
	done := make(chan struct{}, 1)
	go func() {
		defer func() { done <- struct{}{} }()
		c.diff, diffErr = g.run(ctx, append(append([]string{}, fullStatCheck...), "diff", "--raw", "-z", "--no-renames", "--no-abbrev", "--no-relative", commit, "--")...)
	}()
	var err error
	c.listing, c.entries, err = g.listTree(ctx, commit)
	<-done
	il := <-idx
	c.index, indexErr = il.out, il.err
	if err != nil {
		return nil, &listError{tree: true, err: err}
	}
	if diffErr != nil {
		return nil, &listError{err: diffErr}
	}
	if indexErr != nil {
		return nil, &listError{err: indexErr}
	}
	if err := c.parseDiff(); err != nil {
		return nil, &listError{err: err}
	}
	if err := c.parseIndex(); err != nil {
		return nil, &listError{err: err}
	}
	return c, nil
}

// parseDiff reads ":<mode> <mode> <id> <id> <status>\0<path>\0" records.
func (c *gitChange) parseDiff() error {
	recs := bytes.Split(c.diff, []byte{0})
	for i := 0; i+1 < len(recs); i += 2 {
		meta, p := recs[i], string(recs[i+1])
		fields := bytes.Fields(bytes.TrimPrefix(meta, []byte(":")))
		if len(meta) == 0 || meta[0] != ':' || len(fields) != 5 || len(fields[4]) == 0 || p == "" {
			return fmt.Errorf("git diff --raw: unexpected record %q", meta)
		}
		c.differs[p] = true
		for _, mode := range fields[:2] {
			if m := string(mode); m == "120000" || m == "160000" {
				c.special = true
			}
		}
		if s := fields[4][0]; s == 'A' || s == 'M' {
			c.changed = append(c.changed, p)
		}
	}
	return nil
}

// parseIndex reads "<tag> <path>\0" records.
func (c *gitChange) parseIndex() error {
	var untracked []string
	for _, rec := range bytes.Split(c.index, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		if len(rec) < 3 || rec[1] != ' ' {
			return fmt.Errorf("git ls-files -v: unexpected record %q", rec)
		}
		p := string(rec[2:])
		if rec[0] == '?' {
			untracked = append(untracked, p)
			c.untracked[p] = true
			continue
		}
		if t, seen := c.tags[p]; seen && t != rec[0] {
			rec[0] = 0 // an unmerged path listed more than once
		}
		c.tags[p] = rec[0]
	}
	c.changed = append(c.changed, untracked...)
	return nil
}
