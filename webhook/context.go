package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/internal/pgstats"
)

// errNoFile is a file missing at the ref.
var errNoFile = errors.New("no such file")

// readFileAt reads one file of the repository at a commit through the
// contents API (falling back to the blob for files over 1 MB).
func (r *jobRun) readFileAt(ctx context.Context, path, ref string) ([]byte, error) {
	fc, _, _, err := r.gh.Repositories.GetContents(ctx, r.j.Owner, r.j.Repo, path, &github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		if isNotFound(err) {
			return nil, errNoFile
		}
		return nil, fmt.Errorf("reading %s at %s: %w", path, short(ref), err)
	}
	if fc == nil {
		return nil, errors.New("it is a folder, not a file")
	}
	if fc.GetEncoding() == "none" {
		return r.blob(ctx, fc.GetSHA())
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("decoding %s at %s: %w", path, short(ref), err)
	}
	return []byte(s), nil
}

// productionContext loads what question 6 and the data probes need, both
// decided by the base branch's configuration: the statistics file at the
// base, and a probe connection from the App's own environment. Neither
// stops the review when missing: the report says what was not used.
func (r *jobRun) productionContext(ctx context.Context, cfg analyzer.Config) (stats *prodstats.File, probe analyzer.DataProbe, done func(), notes []string) {
	done = func() {}
	if cfg.StatsFile != "" {
		data, err := r.readFileAt(ctx, cfg.StatsFile, r.base)
		if err == nil {
			stats, err = prodstats.Load(bytes.NewReader(data))
		}
		if err != nil {
			stats = nil
			notes = append(notes, fmt.Sprintf("statistics file %s not used (%v): table sizes are unknown", cfg.StatsFile, err))
		}
	}
	if cfg.ProbeDatabaseEnv != "" {
		want := analyzer.ProbeEnvName(r.j.Owner, r.j.Repo)
		url := os.Getenv(want)
		switch {
		case cfg.ProbeDatabaseEnv != want:
			// Any other name could reach another repository's database or
			// the App's own secrets: refuse, naming only what is allowed.
			notes = append(notes, fmt.Sprintf("data probes off: probe_database_env must be %s for this repository", want))
		case url == "":
			notes = append(notes, fmt.Sprintf("data probes off: %s is not set in the App's environment", want))
		default:
			p, err := pgstats.NewProber(ctx, url, pgstats.ProbeOptions{})
			if err != nil {
				// pgstats scrubs passwords from its errors.
				notes = append(notes, fmt.Sprintf("data probes off: cannot connect with %s (%v)", want, err))
				r.log.Warn("data probe connection failed", "variable", want, "error", err.Error())
				break
			}
			probe, done = p.AnalyzerProbe(), func() { p.Close() }
		}
	}
	return stats, probe, done, notes
}
