package githubfake

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

func annotations(n int) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, n)
	for i := range out {
		out[i] = &github.CheckRunAnnotation{Path: github.String("migrations/001_users.sql"), StartLine: github.Int(5), EndLine: github.Int(5), AnnotationLevel: github.String("warning"), Message: github.String(fmt.Sprintf("finding %d", i))}
	}
	return out
}

// TestCheckRunLimits: GitHub rejects a summary over 65,535 characters and
// more than 50 annotations in one request with 422; the App must split
// annotations across updates, where they accumulate.
func TestCheckRunLimits(t *testing.T) {
	tests := []struct {
		name        string
		summary     string
		annotations int
		wantStatus  int
	}{
		{"summary at the limit", strings.Repeat("é", 65535), 0, http.StatusCreated},
		{"summary over the limit", strings.Repeat("x", 65536), 0, http.StatusUnprocessableEntity},
		{"50 annotations", "s", 50, http.StatusCreated},
		{"51 annotations", "s", 51, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, ExpectViolations())
			_, resp, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{
				Name: "migration-guard", HeadSHA: e.pr.HeadSHA, Conclusion: github.String("failure"),
				Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(tt.summary), Annotations: annotations(tt.annotations)},
			})
			if resp == nil || resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %v (%v), want %d", resp, err, tt.wantStatus)
			}
			vs := e.f.Violations()
			if tt.wantStatus == http.StatusCreated {
				if len(vs) != 0 || len(e.f.CheckRuns(e.repo, "")) != 1 {
					t.Fatalf("violations %+v", vs)
				}
				return
			}
			if len(vs) == 0 || vs[0].OperationID != "checks/create" {
				t.Fatalf("violations = %+v, want one for checks/create", vs)
			}
			if len(e.f.CheckRuns(e.repo, "")) != 0 {
				t.Fatal("a rejected check run was stored")
			}
		})
	}
}

func TestAnnotationsAccumulateAcrossUpdates(t *testing.T) {
	e := newEnv(t)
	run, _, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA, Status: github.String("in_progress"),
		Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(50)}})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := e.gh.Checks.UpdateCheckRun(e.ctx, "acme", "billing", run.GetID(), github.UpdateCheckRunOptions{Name: "migration-guard", Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("t2"), Summary: github.String("s2"), Annotations: annotations(30)}})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetOutput().GetAnnotationsCount() != 80 || got.GetStatus() != "completed" || got.GetCompletedAt().IsZero() || got.GetOutput().GetTitle() != "t2" {
		t.Fatalf("run = status %s count %d completed %v title %s", got.GetStatus(), got.GetOutput().GetAnnotationsCount(), got.GetCompletedAt(), got.GetOutput().GetTitle())
	}
	stored := e.f.CheckRuns(e.repo, e.pr.HeadSHA)
	if len(stored) != 1 || len(stored[0].Output.Annotations) != 80 || stored[0].Conclusion != "failure" {
		t.Fatalf("stored = %+v", stored)
	}
}

func TestCompletedNeedsConclusion(t *testing.T) {
	e := newEnv(t)
	_, resp, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA, Status: github.String("completed")})
	if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("completed without conclusion: %v", err)
	}
}

// TestOnlyTheAppUpdatesItsCheckRuns and TestPushKeepsOldCheckRuns cover
// two GitHub behaviours bots get wrong.
func TestOnlyTheAppUpdatesItsCheckRuns(t *testing.T) {
	e := newEnv(t)
	ci := e.f.AddApp(42, "ci")
	foreign := e.f.AddCheckRun(ci, e.repo, e.pr.HeadSHA, "migration-guard", "success")
	_, resp, err := e.gh.Checks.UpdateCheckRun(e.ctx, "acme", "billing", foreign.ID, github.UpdateCheckRunOptions{Name: "migration-guard", Conclusion: github.String("failure")})
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("updating another App's run: %v", err)
	}
	if got := e.f.CheckRuns(e.repo, e.pr.HeadSHA)[0]; got.Conclusion != "success" {
		t.Fatalf("foreign run changed to %s", got.Conclusion)
	}
	// The App sees both runs but can filter to its own.
	mine, _, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA})
	if err != nil {
		t.Fatal(err)
	}
	all, _, err := e.gh.Checks.ListCheckRunsForRef(e.ctx, "acme", "billing", e.pr.HeadSHA, &github.ListCheckRunsOptions{CheckName: github.String("migration-guard")})
	if err != nil || all.GetTotal() != 2 {
		t.Fatalf("runs named migration-guard = %d, %v", all.GetTotal(), err)
	}
	own, _, err := e.gh.Checks.ListCheckRunsForRef(e.ctx, "acme", "billing", e.pr.HeadSHA, &github.ListCheckRunsOptions{CheckName: github.String("migration-guard"), AppID: github.Int64(e.f.App().ID)})
	if err != nil || own.GetTotal() != 1 || own.CheckRuns[0].GetID() != mine.GetID() || own.CheckRuns[0].GetApp().GetSlug() != "migration-guard" {
		t.Fatalf("own runs = %+v, %v", own, err)
	}
}

func TestPushKeepsOldCheckRuns(t *testing.T) {
	e := newEnv(t)
	old := e.pr.HeadSHA
	run, _, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: old, Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s")}})
	if err != nil {
		t.Fatal(err)
	}
	d := e.f.Push(e.pr, e.repo.CommitOn("feature", map[string]string{"migrations/002_orders.sql": "SELECT 1;\n"}))
	if d.Action != "synchronize" || !strings.Contains(string(d.Payload), old) {
		t.Fatalf("push delivery %s lacks before=%s", d.Action, old)
	}
	newRuns, _, err := e.gh.Checks.ListCheckRunsForRef(e.ctx, "acme", "billing", e.pr.HeadSHA, nil)
	if err != nil || newRuns.GetTotal() != 0 {
		t.Fatalf("new head has %d runs, want 0 (%v)", newRuns.GetTotal(), err)
	}
	oldRuns, _, err := e.gh.Checks.ListCheckRunsForRef(e.ctx, "acme", "billing", old, nil)
	if err != nil || oldRuns.GetTotal() != 1 || oldRuns.CheckRuns[0].GetID() != run.GetID() || oldRuns.CheckRuns[0].GetConclusion() != "failure" {
		t.Fatalf("old head runs = %+v, %v", oldRuns, err)
	}
	// pull_requests on the old run no longer lists the PR: its head moved.
	got, _, err := e.gh.Checks.GetCheckRun(e.ctx, "acme", "billing", run.GetID())
	if err != nil || len(got.PullRequests) != 0 {
		t.Fatalf("old run pull_requests = %v, %v", got.PullRequests, err)
	}
}

func TestCheckRunNotFoundElsewhere(t *testing.T) {
	e := newEnv(t)
	other := e.f.AddRepo("acme/other")
	e.f.AddRepos(e.inst, other)
	run, _, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.gh.Checks.GetCheckRun(e.ctx, "acme", "other", run.GetID())
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusNotFound {
		t.Fatalf("run looked up in another repository: %v", err)
	}
}
