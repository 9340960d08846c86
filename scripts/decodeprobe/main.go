// Command decodeprobe times, in a process of its own, how long reading
// pg_query's parse trees takes: the C parser over every .sql file of a
// folder, then two passes that decode all its output, either with
// proto.Unmarshal (whose first pass pays protobuf-go's per-type set-up)
// or with the decoder generated in analyzer/pgtree.
//
//	go run ./scripts/decodeprobe -decoder proto /work/corpus/hatchet
//	go run ./scripts/decodeprobe -decoder generated /work/corpus/hatchet
//
// Run each decoder in its own process: the set-up is per process.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
	"google.golang.org/protobuf/proto"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

func main() {
	decoder := flag.String("decoder", "generated", "proto or generated")
	flag.Parse()
	if flag.NArg() != 1 || (*decoder != "proto" && *decoder != "generated") {
		fmt.Fprintln(os.Stderr, "usage: decodeprobe -decoder proto|generated FOLDER")
		os.Exit(2)
	}
	if err := run(*decoder, flag.Arg(0)); err != nil {
		slog.Error("decodeprobe", "err", err)
		os.Exit(1)
	}
}

func run(decoder, dir string) error {
	var texts []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".sql") {
			return err
		}
		b, err := os.ReadFile(p)
		texts = append(texts, string(b))
		return err
	})
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	start := time.Now()
	var trees [][]byte
	for _, t := range texts {
		if b, err := parser.ParseToProtobuf(t); err == nil {
			trees = append(trees, b)
		}
	}
	parse := time.Since(start)
	decode := proto.Unmarshal
	if decoder == "generated" {
		decode = pgtree.Unmarshal
	}
	var passes [2]time.Duration
	for i := range passes {
		start := time.Now()
		for _, b := range trees {
			if err := decode(b, &pg_query.ParseResult{}); err != nil {
				return fmt.Errorf("decoding a tree: %w", err)
			}
		}
		passes[i] = time.Since(start)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("%s\t%s\tfiles %d (parsed %d)\tC parse %.2f ms\tfirst pass %.2f ms\tsecond pass %.2f ms\n",
		filepath.Base(dir), decoder, len(texts), len(trees), ms(parse), ms(passes[0]), ms(passes[1]))
	return nil
}
