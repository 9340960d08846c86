package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/internal/resultcache"
)

// openCache opens the on-disk cache for check, or returns nil (run
// uncached) when --no-cache is given or the folder cannot be used; the
// reason is logged at debug level only: a cache never fails a check.
func openCache(opt checkOptions) *resultcache.Dir {
	if opt.noCache {
		return nil
	}
	dir := opt.cacheDir
	if dir == "" {
		d, err := resultcache.DefaultDir()
		if err != nil {
			slog.Debug("cache: off", "err", err)
			return nil
		}
		dir = d
	}
	id, err := resultcache.BuildID()
	if err != nil {
		slog.Debug("cache: off", "err", err)
		return nil
	}
	c, err := resultcache.OpenDir(dir, id, 0, slog.Default())
	if err != nil {
		slog.Debug("cache: off", "err", err)
		return nil
	}
	return c
}

// outputKey is the key of check's whole output: the request's fingerprint
// and everything check adds to the report or changes in how it is
// written. It returns "" when the output cannot be cached.
func outputKey(found *analyzer.Discovered, opt checkOptions, color bool, settings []analyzer.File, notes []string) string {
	fp, err := found.Fingerprint()
	if err != nil {
		slog.Debug("cache: not keeping the output", "err", err)
		return ""
	}
	parts, err := json.Marshal(struct {
		Fingerprint, Format, FailOn, Version string
		Color                                bool
		Settings                             []analyzer.File
		Notes                                []string
	}{fp, opt.format, opt.failOn, version, color, settings, notes})
	if err != nil {
		slog.Debug("cache: not keeping the output", "err", err)
		return ""
	}
	sum := sha256.Sum256(append([]byte("check output 1\x00"), parts...))
	return hex.EncodeToString(sum[:])
}

// An output entry is one status byte (0: nothing requires approval, 1:
// something does) and the output's bytes.
//
// writeCachedOutput copies the output kept under key to out and says
// whether it required approval; ok is false when there is none (nothing
// was written then). The entry is copied as it is read, never held whole:
// the output of a long history is megabytes. An error comes only after
// some of it was written: the entry changed on disk as it was read, or
// out failed.
func writeCachedOutput(c *resultcache.Dir, key string, out io.Writer) (failing, ok bool, err error) {
	e, ok := c.Open(key)
	if !ok {
		return false, false, nil
	}
	defer e.Close()
	var status [1]byte
	if _, err := io.ReadFull(e, status[:]); err != nil || status[0] > 1 {
		return false, false, nil
	}
	if _, err := io.Copy(out, e); err != nil {
		return false, true, err
	}
	return status[0] == 1, true, nil
}

func keepOutput(c analyzer.Cache, key string, out []byte, failing bool) {
	status := byte(0)
	if failing {
		status = 1
	}
	c.Put(key, append([]byte{status}, out...))
}

// teeBuffer writes to w and keeps a copy.
type teeBuffer struct {
	w   io.Writer
	buf bytes.Buffer
}

func (t *teeBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	return t.w.Write(p)
}

// answerByContent writes the output kept under a content key, and what the
// run that made it wrote to standard error; done is false when there is
// none.
func answerByContent(c analyzer.Cache, key string, out io.Writer) (done bool, err error) {
	v, ok := c.Get(key)
	if !ok {
		return false, nil
	}
	failed, stderr, b, ok := decodeContentEntry(v)
	if !ok {
		return false, nil
	}
	if _, err := os.Stderr.Write(stderr); err != nil {
		return true, fail("writing the report: %v", err)
	}
	if _, err := out.Write(b); err != nil {
		return true, fail("writing the report: %v", err)
	}
	if failed {
		return true, &statusError{status: exitApproval, err: errApprovalNeeded}
	}
	return true, nil
}

// keepByContent keeps a --base run's output under its content key, when it
// has one and every file the run read was what the key saw. What the run
// wrote to standard error is kept with it: the notes, as loadStats and
// openProbe write them.
func keepByContent(c analyzer.Cache, bc *baseCheck, notes []string, out []byte, failing bool) {
	if bc == nil || bc.key == nil {
		return
	}
	if why := bc.check.mismatch(); why != "" {
		slog.Debug("cache: not keeping the output by content", "why", why)
		return
	}
	var stderr []byte
	for _, n := range notes {
		if n != "" {
			stderr = fmt.Appendf(stderr, "migration-guard: %s\n", n)
		}
	}
	c.Put(bc.key.key, encodeContentEntry(failing, stderr, out))
}
