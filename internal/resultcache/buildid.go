package resultcache

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// goBuildIDPrefix starts the build ID the Go linker writes near the start
// of the text of a non-ELF binary (what `go tool buildid` reads); ELF
// binaries hold it in a note section. It changes whenever anything that
// went into the binary changes.
var goBuildIDPrefix = []byte("\xff Go build ID: \"")

// BuildID identifies the running binary, for the cache's namespace: an
// entry written by one build is never read by another, even one built
// from a modified checkout under the same version string.
func BuildID() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the running binary: %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("reading the running binary: %w", err)
	}
	defer f.Close()
	if ef, err := elf.NewFile(f); err == nil {
		// ELF: the note section .note.go.buildid holds it (namesz, descsz,
		// type, "Go\x00\x00", the ID).
		if sec := ef.Section(".note.go.buildid"); sec != nil {
			if data, err := sec.Data(); err == nil && len(data) > 16 && string(data[12:16]) == "Go\x00\x00" {
				n := ef.ByteOrder.Uint32(data[4:8])
				if id := data[16:]; uint32(len(id)) >= n && n > 0 {
					return string(id[:n]), nil
				}
			}
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("reading the running binary: %w", err)
	}
	head := make([]byte, 32<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", fmt.Errorf("reading the running binary: %w", err)
	}
	head = head[:n]
	if i := bytes.Index(head, goBuildIDPrefix); i >= 0 {
		rest := head[i+len(goBuildIDPrefix):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			return string(rest[:j]), nil
		}
	}
	// No build ID where Go puts it: the binary's whole content then.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("reading the running binary: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading the running binary: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
