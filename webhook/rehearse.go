package webhook

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/analyzer"
)

// Rehearser applies a pull request's migrations to a throwaway PostgreSQL
// and marks the report with what the server did (internal/rehearse); the
// binary builds it from MIGRATION_GUARD_REHEARSAL_DB or local binaries.
type Rehearser func(ctx context.Context, req analyzer.Request, rep *analyzer.Report) error

// isFork says whether the pull request's head is outside the repository.
// A head repository GitHub does not show (a deleted fork) counts as one.
func isFork(pr *github.PullRequest, owner, repo string) bool {
	full := pr.GetHead().GetRepo().GetFullName()
	return full == "" || !strings.EqualFold(full, owner+"/"+repo)
}

// rehearse runs the rehearsal when the base configuration opts in, and
// says in a note why it did not otherwise. A rehearsal the configuration
// asks for and the App cannot give fails closed: each file gets a
// not-rehearsed finding, which needs approval.
func (r *jobRun) rehearse(ctx context.Context, req analyzer.Request, rep *analyzer.Report) error {
	rc := req.Config.Rehearsal
	if !rc.Enabled || len(rep.Files) == 0 {
		return nil
	}
	if r.fork && !rc.Forks {
		rep.Notes = append(rep.Notes, "not rehearsed: the pull request comes from a fork, and rehearsal.forks is not set in the base configuration")
		return nil
	}
	if r.j.Kind == KindMergeGroup && !rc.Forks {
		// A merge queue's commit can hold any queued pull request's SQL,
		// a fork's among them: it runs only where forks may.
		rep.Notes = append(rep.Notes, "not rehearsed: a merge queue's commit may hold a fork's pull request, and rehearsal.forks is not set in the base configuration")
		return nil
	}
	if r.s.p.Rehearse == nil {
		notRehearsed(rep, "not rehearsed: rehearsal.enabled is set, but this App has no rehearsal server (MIGRATION_GUARD_REHEARSAL_DB or REHEARSAL_LOCAL_CLUSTER)")
		return nil
	}
	if err := r.s.p.Rehearse(ctx, req, rep); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("rehearsing: %w", err)
		}
		r.log.Warn("rehearsal failed", "error", err.Error())
		notRehearsed(rep, "not rehearsed: the rehearsal could not run: "+err.Error())
	}
	return nil
}

func notRehearsed(rep *analyzer.Report, msg string) {
	rule := analyzer.RuleNotRehearsed
	for i := range rep.Files {
		rep.Files[i].Findings = append(rep.Files[i].Findings, analyzer.Finding{Rule: rule.ID, Question: rule.Question, Severity: rule.Severity,
			RequiresApproval: true, Message: msg, Why: rule.Why})
	}
}
