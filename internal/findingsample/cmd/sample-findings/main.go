// Command sample-findings prints a seeded, rule-stratified sample of a corpus
// run's danger and warning findings as a Markdown table to judge by hand, and
// the findings per rule of an earlier run and this one side by side.
// scripts/sample-findings.sh runs it; docs/corpus.md says how it is used.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/migration-guard/migration-guard/internal/findingsample"
)

func main() {
	n := flag.Int("n", 50, "how many findings to draw")
	seed := flag.String("seed", "migration-guard", "the seed of the draw: the same seed draws the same findings")
	before := flag.String("before", "", "an earlier corpus output folder, whose findings per rule are printed beside this one's")
	maxChars := flag.Int("max", 600, "longest statement or safe way printed, in characters")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: sample-findings [-n 50] [-seed S] [-before DIR] DIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *before, *seed, *n, *maxChars); err != nil {
		fmt.Fprintln(os.Stderr, "sample-findings:", err)
		os.Exit(1)
	}
}

func run(dir, before, seed string, n, maxChars int) error {
	after, err := findingsample.Load(dir)
	if err != nil {
		return err
	}
	out := os.Stdout
	fmt.Fprintf(out, "# Findings of %s\n\n## Findings per rule\n\n", dir)
	if before != "" {
		earlier, err := findingsample.Load(before)
		if err != nil {
			return err
		}
		err = findingsample.WriteCounts(out, filepath.Base(before), findingsample.Counts(earlier), filepath.Base(dir), findingsample.Counts(after))
		if err != nil {
			return err
		}
	} else if err := findingsample.WriteCounts(out, "", nil, filepath.Base(dir), findingsample.Counts(after)); err != nil {
		return err
	}
	sample := findingsample.Sample(after, n, seed, "danger", "warning")
	fmt.Fprintf(out, "\n## Sample: %d danger and warning findings, stratified by rule (seed %q)\n\n"+
		"Verdicts: **TP** true positive, **noisy** correct but noisy, **wrong**.\n\n", len(sample), seed)
	return findingsample.WriteSample(out, sample, maxChars)
}
