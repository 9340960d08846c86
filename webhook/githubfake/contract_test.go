package githubfake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-github/v62/github"
	"github.com/migration-guard/migration-guard/webhook/githubfake/internal/ghops"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestContractViolations proves that a correct go-github call passes and
// that each kind of wrong call is reported with its operation id and the
// schema's complaint, and answered as GitHub would.
func TestContractViolations(t *testing.T) {
	annotation := func(level *string) *github.CheckRunAnnotation {
		return &github.CheckRunAnnotation{Path: github.String("migrations/002_orders.sql"), StartLine: github.Int(1), EndLine: github.Int(1), AnnotationLevel: level, Message: github.String("locks the table")}
	}
	tests := []struct {
		name       string
		call       func(e *env) (*github.Response, error)
		wantStatus int
		wantOp     string
		wantInMsg  string
	}{
		{
			name: "correct create check run",
			call: func(e *env) (*github.Response, error) {
				_, resp, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{
					Name: "migration-guard", HeadSHA: e.pr.HeadSHA, Status: github.String("completed"), Conclusion: github.String("failure"),
					Output: &github.CheckRunOutput{Title: github.String("1 finding"), Summary: github.String("s"), Annotations: []*github.CheckRunAnnotation{annotation(github.String("failure"))}},
				})
				return resp, err
			},
			wantStatus: http.StatusCreated,
		},
		{
			name: "bad conclusion",
			call: func(e *env) (*github.Response, error) {
				_, resp, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA, Conclusion: github.String("passed")})
				return resp, err
			},
			wantStatus: http.StatusUnprocessableEntity,
			wantOp:     "checks/create",
			wantInMsg:  "conclusion",
		},
		{
			name: "missing required output summary",
			call: func(e *env) (*github.Response, error) {
				_, resp, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA, Output: &github.CheckRunOutput{Title: github.String("t")}})
				return resp, err
			},
			wantStatus: http.StatusUnprocessableEntity,
			wantOp:     "checks/create",
			wantInMsg:  `property "summary" is missing`,
		},
		{
			name: "unknown query parameter",
			call: func(e *env) (*github.Response, error) {
				req, err := e.gh.NewRequest(http.MethodGet, "repos/acme/billing/pulls/1/files?include_binary=true", nil)
				if err != nil {
					return nil, err
				}
				return e.gh.Do(e.ctx, req, nil)
			},
			// GitHub ignores parameters it does not know; the App relying
			// on one is still a bug.
			wantStatus: http.StatusOK,
			wantOp:     "pulls/list-files",
			wantInMsg:  `unknown query parameter "include_binary"`,
		},
		{
			name: "annotation without annotation_level",
			call: func(e *env) (*github.Response, error) {
				run, _, err := e.gh.Checks.CreateCheckRun(e.ctx, "acme", "billing", github.CreateCheckRunOptions{Name: "migration-guard", HeadSHA: e.pr.HeadSHA})
				if err != nil {
					return nil, err
				}
				_, resp, err := e.gh.Checks.UpdateCheckRun(e.ctx, "acme", "billing", run.GetID(), github.UpdateCheckRunOptions{
					Name:   "migration-guard",
					Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: []*github.CheckRunAnnotation{annotation(nil)}},
				})
				return resp, err
			},
			wantStatus: http.StatusUnprocessableEntity,
			wantOp:     "checks/update",
			wantInMsg:  `property "annotation_level" is missing`,
		},
		{
			name: "malformed path parameter",
			call: func(e *env) (*github.Response, error) {
				req, err := e.gh.NewRequest(http.MethodGet, "repos/acme/billing/pulls/one", nil)
				if err != nil {
					return nil, err
				}
				return e.gh.Do(e.ctx, req, nil)
			},
			wantStatus: http.StatusNotFound,
			wantOp:     "pulls/get",
			wantInMsg:  "pull_number",
		},
		{
			name: "operation outside the subset",
			call: func(e *env) (*github.Response, error) {
				_, resp, err := e.gh.Repositories.ListHooks(e.ctx, "acme", "billing", nil)
				return resp, err
			},
			wantStatus: http.StatusNotFound,
			wantInMsg:  "no operation in the OpenAPI subset",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, ExpectViolations())
			resp, err := tt.call(e)
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%v), want %d", resp.StatusCode, err, tt.wantStatus)
			}
			vs := e.f.Violations()
			if tt.wantInMsg == "" {
				if len(vs) != 0 {
					t.Fatalf("correct call reported violations: %+v", vs)
				}
				return
			}
			if len(vs) == 0 {
				t.Fatalf("no violation recorded")
			}
			found := false
			for _, v := range vs {
				if v.OperationID == tt.wantOp && strings.Contains(v.Message, tt.wantInMsg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("violations %+v lack op %q with %q", vs, tt.wantOp, tt.wantInMsg)
			}
			if tt.wantStatus == http.StatusUnprocessableEntity {
				var ge *github.ErrorResponse
				if !errors.As(err, &ge) || !strings.HasPrefix(ge.Message, "Invalid request.") {
					t.Fatalf("error = %v, want GitHub's 422 Invalid request", err)
				}
			}
		})
	}
}

// TestViolationFailsTheTest proves a violation reaches the TB given to
// New (which, for a *testing.T, fails the test that caused it).
func TestViolationFailsTheTest(t *testing.T) {
	rec := &violationRecorder{}
	f := New(rec)
	defer f.Close()
	repo := f.AddRepo("acme/api")
	inst := f.Install("acme", repo)
	gh := tokenClient(t, f, f.InstallationToken(inst))
	_, _, err := gh.Checks.CreateCheckRun(context.Background(), "acme", "api", github.CreateCheckRunOptions{Name: "x", HeadSHA: repo.Branch("main"), Status: github.String("done")})
	if err == nil {
		t.Fatal("bad status accepted")
	}
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "checks/create") || !strings.Contains(rec.errors[0], "status") {
		t.Fatalf("reported %q, want one error naming checks/create and the status field", rec.errors)
	}
}

// TestSubsetMatchesOperationList proves the committed subset holds exactly
// the operations in internal/ghops, that each has a handler, and that it
// records where it came from.
func TestSubsetMatchesOperationList(t *testing.T) {
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string(nil), ghops.Operations...)
	sort.Strings(want)
	got := spec.Operations()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("subset operations\n%v\nwant (internal/ghops; rerun scripts/extract-openapi.sh)\n%v", got, want)
	}
	for _, id := range got {
		if handlers[id] == nil {
			t.Errorf("operation %s has no handler", id)
		}
	}
	// Examples are documentation (and were dropped); everything else in
	// the subset must be an OpenAPI document kin-openapi fully accepts.
	if err := spec.Doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("subset is not a valid OpenAPI document: %v", err)
	}
	if spec.Source != "@octokit/openapi@23.0.2" || spec.SHA256 != "829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a" {
		t.Fatalf("subset source = %q %q", spec.Source, spec.SHA256)
	}
}

func TestRouting(t *testing.T) {
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, op string
		params           map[string]string
	}{
		{"GET", "/repos/o/r/contents/db/migrations/001.sql", "repos/get-content", map[string]string{"path": "db/migrations/001.sql"}},
		{"GET", "/repos/o/r/compare/main...feature/x", "repos/compare-commits-with-basehead", map[string]string{"basehead": "main...feature/x"}},
		{"GET", "/repos/o/r/commits/feature/x/check-runs", "checks/list-for-ref", map[string]string{"ref": "feature/x"}},
		{"GET", "/repos/o/r/commits/abc123", "repos/get-commit", map[string]string{"ref": "abc123"}},
		{"GET", "/repos/o/r/pulls/comments/7", "pulls/get-review-comment", map[string]string{"comment_id": "7"}},
		{"GET", "/repos/o/r/pulls/7", "pulls/get", map[string]string{"pull_number": "7"}},
		{"GET", "/repos/o/r/branches/feature%2Fx", "repos/get-branch", map[string]string{"branch": "feature/x"}},
	}
	for _, tt := range tests {
		rt, params, _ := spec.find(tt.method, tt.path)
		if rt == nil || rt.id != tt.op {
			t.Errorf("%s %s routed to %v, want %s", tt.method, tt.path, rt, tt.op)
			continue
		}
		for k, v := range tt.params {
			if params[k] != v {
				t.Errorf("%s: param %s = %q, want %q", tt.path, k, params[k], v)
			}
		}
	}
}

// go-github pointed at the fake by BaseURL, without the /api/v3 prefix
// WithEnterpriseURLs adds, reaches the same operations.
func TestPlainBaseURL(t *testing.T) {
	e := newEnv(t)
	gh := github.NewClient(nil).WithAuthToken(e.f.InstallationToken(e.inst))
	u, err := url.Parse(e.f.URL())
	if err != nil {
		t.Fatal(err)
	}
	gh.BaseURL = u
	pr, _, err := gh.PullRequests.Get(e.ctx, "acme", "billing", e.pr.Number)
	if err != nil || pr.GetHead().GetSHA() != e.pr.HeadSHA {
		t.Fatalf("pull request via BaseURL: %v %v", pr, err)
	}
	if reqs := e.f.Requests(); reqs[len(reqs)-1].Path != "/repos/acme/billing/pulls/1" {
		t.Fatalf("last request path = %s", reqs[len(reqs)-1].Path)
	}
}
