// Command extract-openapi cuts GitHub's REST API description down to the
// operations migration-guard calls (internal/ghops) plus every component
// they reference, so tests validate against the official contract without
// loading the 10 MB description or reaching the network.
//
// Usage:
//
//	extract-openapi -in api.github.com.json[.gz] -sha256 HEX -source NAME@VERSION -out subset.json.gz
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/migration-guard/migration-guard/webhook/githubfake/internal/ghops"
	"github.com/migration-guard/migration-guard/webhook/githubfake/internal/subset"
)

func main() {
	in := flag.String("in", "", "GitHub's api.github.com.json, plain or gzipped")
	want := flag.String("sha256", "", "expected sha256 of the uncompressed description")
	source := flag.String("source", "", "package the description came from, recorded in the subset")
	file := flag.String("file", "generated/api.github.com.json", "path of the description inside the package, recorded in the subset")
	out := flag.String("out", "", "gzipped JSON subset to write")
	flag.Parse()
	if *in == "" || *out == "" || *want == "" || *source == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *want, *source, *file, *out); err != nil {
		fmt.Fprintln(os.Stderr, "extract-openapi:", err)
		os.Exit(1)
	}
}

func run(in, want, source, file, out string) error {
	raw, err := readMaybeGzip(in)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	got := hex.EncodeToString(sum[:])
	if got != want {
		return fmt.Errorf("checksum of %s is %s, want %s: refusing to extract from an unexpected description", in, got, want)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("decoding %s: %w", in, err)
	}
	sub, err := subset.Extract(doc, ghops.Operations, subset.Source{Package: source, File: file, SHA256: got})
	if err != nil {
		return fmt.Errorf("extracting operations: %w", err)
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(sub); err != nil {
		return fmt.Errorf("encoding subset: %w", err)
	}
	// A zero gzip header (no name, no mtime) keeps the committed file
	// byte-identical across runs, so a re-run shows no diff.
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("creating gzip writer: %w", err)
	}
	if _, err := zw.Write(body.Bytes()); err != nil {
		return fmt.Errorf("compressing subset: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compressing subset: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating output directory: %w", err)
	}
	if err := os.WriteFile(out, gz.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	fmt.Printf("wrote %s: %d operations, %d bytes uncompressed, %d bytes gzipped\n", out, len(ghops.Operations), body.Len(), gz.Len())
	return nil
}

func readMaybeGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening description: %w", err)
	}
	defer f.Close()
	var magic [2]byte
	n, _ := io.ReadFull(f, magic[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewinding %s: %w", path, err)
	}
	var r io.Reader = f
	if n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("opening gzip stream of %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return raw, nil
}
