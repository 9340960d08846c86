package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

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

// probeRefusal says why data probes must not run for this job, "" when
// they may. A probe's answer is production data made public in the check
// run, and the statement it probes is written by the pull request: so
// probes run only for a pull request from the repository itself (not a
// fork) whose author GitHub says has write access now. A merge queue
// commit may hold several pull requests' statements, from anyone: never.
func (r *jobRun) probeRefusal(ctx context.Context) string {
	if r.j.Kind == KindMergeGroup || r.j.Number <= 0 {
		return "they run only for pull requests, not for merge queue commits"
	}
	pr, _, err := r.gh.PullRequests.Get(ctx, r.j.Owner, r.j.Repo, r.j.Number)
	if err != nil {
		r.log.Warn("could not read the pull request to decide on data probes", "error", r.s.scrub(err.Error()))
		return "GitHub could not be asked who opened the pull request"
	}
	base, head := pr.GetBase().GetRepo(), pr.GetHead().GetRepo()
	if head == nil || head.GetID() == 0 || head.GetID() != base.GetID() || !strings.EqualFold(head.GetFullName(), base.GetFullName()) {
		return "the pull request comes from a fork; they run only for pull requests from the repository itself"
	}
	author := pr.GetUser()
	perm, err := r.permission(ctx, author.GetLogin())
	if err != nil {
		r.log.Warn("could not ask for the author's role to decide on data probes", "error", r.s.scrub(err.Error()))
		return fmt.Sprintf("GitHub could not be asked for @%s's role", author.GetLogin())
	}
	if perm.User.ID != author.GetID() || !canWrite(perm) {
		role := perm.RoleName
		if role == "" {
			role = "none"
		}
		return fmt.Sprintf("@%s, who opened the pull request, has the role %s; they run only for authors with write access", author.GetLogin(), role)
	}
	return ""
}

// canWrite says whether GitHub's answer grants write access: a built-in
// role from write up, or a custom role whose base is write or admin (its
// permission field).
func canWrite(p *collaboratorPermission) bool {
	if rank := analyzer.RoleRank(p.RoleName); rank > 0 {
		return rank >= analyzer.RoleRank("write")
	}
	return p.RoleName != "" && (p.Permission == "write" || p.Permission == "admin")
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
			if why := r.probeRefusal(ctx); why != "" {
				notes = append(notes, "data probes not run: "+why)
				r.log.Info("data probes not run", "reason", why)
				break
			}
			p, err := pgstats.NewProber(ctx, url, pgstats.ProbeOptions{})
			if err != nil {
				// The pull request learns why, never where: the host, user
				// and database stay in the service's log.
				notes = append(notes, fmt.Sprintf("data probes off: cannot connect with %s (%s)", want, pgstats.PublicReason(err)))
				r.log.Warn("data probe connection failed", "variable", want, "error", err.Error())
				break
			}
			probe, done = p.AnalyzerProbe(), func() { p.Close() }
		}
	}
	return stats, probe, done, notes
}
