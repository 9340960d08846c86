package githubfake

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// GitHub's limits on what one check run request may carry.
const (
	maxOutputChars           = 65535
	maxAnnotationsPerRequest = 50
	maxActions               = 3
)

func init() {
	for id, h := range map[string]handler{
		"checks/create":        createCheckRun,
		"checks/update":        updateCheckRun,
		"checks/get":           getCheckRun,
		"checks/list-for-ref":  listCheckRunsForRef,
		"checks/get-suite":     getCheckSuite,
		"checks/rerequest-run": rerequestCheckRun,
	} {
		handlers[id] = h
	}
}

func (c *call) callerApp() *App {
	if c.cred != nil && c.cred.kind == "installation" {
		return c.cred.token.inst.App
	}
	return nil
}

func parseTime(v any) (*time.Time, bool) {
	s, isString := v.(string)
	if !isString {
		return nil, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, false
	}
	t = t.UTC()
	return &t, true
}

// applyCheckRun writes the request's fields onto run, enforcing GitHub's
// rules beyond the schema: output length, 50 annotations per request,
// three actions, and a conclusion whenever the run is completed.
func (c *call) applyCheckRun(run *CheckRun) (reply, bool) {
	if c.has("name") {
		run.Name = c.str("name")
	}
	if c.has("details_url") {
		run.DetailsURL = c.str("details_url")
	}
	if c.has("external_id") {
		run.ExternalID = c.str("external_id")
	}
	if t, ok := parseTime(c.body["started_at"]); ok {
		run.StartedAt = t
	}
	if c.has("status") {
		run.Status = c.str("status")
	}
	if c.has("conclusion") {
		conclusion := c.str("conclusion")
		if conclusion == "stale" {
			return c.fail(http.StatusUnprocessableEntity, "Invalid request.\n\nConclusion cannot be set to stale."), false
		}
		// Providing a conclusion completes the run.
		run.Conclusion = conclusion
		run.Status = "completed"
	}
	if t, ok := parseTime(c.body["completed_at"]); ok {
		run.CompletedAt = t
		if run.Conclusion == "" {
			return c.fail(http.StatusUnprocessableEntity, "Invalid request.\n\n\"conclusion\" wasn't supplied."), false
		}
		run.Status = "completed"
	}
	if run.Status == "completed" {
		if run.Conclusion == "" {
			return c.fail(http.StatusUnprocessableEntity, "Invalid request.\n\n\"conclusion\" wasn't supplied."), false
		}
		if run.CompletedAt == nil {
			now := c.f.now().Truncate(time.Second)
			run.CompletedAt = &now
		}
	}
	if run.Status == "in_progress" && run.StartedAt == nil {
		now := c.f.now().Truncate(time.Second)
		run.StartedAt = &now
	}
	if out, isMap := c.body["output"].(map[string]any); isMap {
		for _, field := range []string{"summary", "text"} {
			if s, _ := out[field].(string); utf8.RuneCountInString(s) > maxOutputChars {
				return c.fail(http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\nOnly %d characters are allowed in output.%s; %d were supplied.", maxOutputChars, field, utf8.RuneCountInString(s))), false
			}
		}
		anns, _ := out["annotations"].([]any)
		if len(anns) > maxAnnotationsPerRequest {
			return c.fail(http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\nOnly %d annotations are allowed per request; %d were supplied.", maxAnnotationsPerRequest, len(anns))), false
		}
		var parsed []Annotation
		for _, raw := range anns {
			a, _ := raw.(map[string]any)
			ann := Annotation{}
			ann.Path, _ = a["path"].(string)
			ann.StartLine, _ = jsonInt(a["start_line"])
			ann.EndLine, _ = jsonInt(a["end_line"])
			ann.Level, _ = a["annotation_level"].(string)
			ann.Message, _ = a["message"].(string)
			ann.Title, _ = a["title"].(string)
			ann.RawDetails, _ = a["raw_details"].(string)
			if v, ok := jsonInt(a["start_column"]); ok {
				ann.StartColumn = &v
			}
			if v, ok := jsonInt(a["end_column"]); ok {
				ann.EndColumn = &v
			}
			if ann.EndLine < ann.StartLine {
				return c.fail(http.StatusUnprocessableEntity, "Invalid request.\n\nAnnotation end_line must not precede start_line."), false
			}
			if (ann.StartColumn != nil || ann.EndColumn != nil) && ann.StartLine != ann.EndLine {
				return c.fail(http.StatusUnprocessableEntity, "Invalid request.\n\nstart_column and end_column are only allowed when start_line equals end_line."), false
			}
			parsed = append(parsed, ann)
		}
		run.Output.Title, _ = out["title"].(string)
		run.Output.Summary, _ = out["summary"].(string)
		if t, isString := out["text"].(string); isString {
			run.Output.Text = t
		}
		// Annotations accumulate across requests: that is how more than 50
		// get onto one run.
		run.Output.Annotations = append(run.Output.Annotations, parsed...)
	}
	if acts, isList := c.body["actions"].([]any); isList {
		if len(acts) > maxActions {
			return c.fail(http.StatusUnprocessableEntity, "Invalid request.\n\nOnly 3 actions are allowed."), false
		}
		run.Actions = nil
		for _, raw := range acts {
			a, _ := raw.(map[string]any)
			act := CheckAction{}
			act.Label, _ = a["label"].(string)
			act.Description, _ = a["description"].(string)
			act.Identifier, _ = a["identifier"].(string)
			run.Actions = append(run.Actions, act)
		}
	}
	return reply{}, true
}

func (f *Fake) updateSuiteStatus(s *CheckSuite) {
	status, conclusion := "completed", "success"
	for _, r := range f.runs {
		if r.Suite != s {
			continue
		}
		if r.Status != "completed" {
			status, conclusion = r.Status, ""
			continue
		}
		if status == "completed" && r.Conclusion != "success" && r.Conclusion != "neutral" && r.Conclusion != "skipped" {
			conclusion = r.Conclusion
		}
	}
	s.Status, s.Conclusion, s.UpdatedAt = status, conclusion, f.now()
}

func createCheckRun(c *call) reply {
	app := c.callerApp()
	if app == nil {
		return c.fail(http.StatusForbidden, msgNotAccessible)
	}
	sha := c.str("head_sha")
	cm, found := c.repo.commits[sha]
	if !found {
		return c.fail(http.StatusUnprocessableEntity, "No commit found for SHA: "+sha)
	}
	run := &CheckRun{Repo: c.repo, App: app, HeadSHA: cm.SHA, Status: "queued"}
	if rep, good := c.applyCheckRun(run); !good {
		return rep
	}
	run.ID = c.f.id()
	run.Suite = c.f.suiteFor(c.repo, app, cm.SHA)
	c.f.runs[run.ID] = run
	c.f.updateSuiteStatus(run.Suite)
	return created(c.f.renderCheckRun(run), run.ID)
}

func (c *call) checkRun() (*CheckRun, bool) {
	run, found := c.f.runs[c.intParam("check_run_id")]
	if !found || run.Repo != c.repo {
		return nil, false
	}
	return run, true
}

func updateCheckRun(c *call) reply {
	run, found := c.checkRun()
	if !found {
		return c.notFound()
	}
	// Only the App that created a check run may change it.
	if app := c.callerApp(); app == nil || app != run.App {
		return c.fail(http.StatusForbidden, msgNotAccessible)
	}
	updated := *run
	updated.Output.Annotations = append([]Annotation(nil), run.Output.Annotations...)
	if rep, good := c.applyCheckRun(&updated); !good {
		return rep
	}
	*run = updated
	c.f.updateSuiteStatus(run.Suite)
	return reply{status: http.StatusOK, body: c.f.renderCheckRun(run), objectID: run.ID}
}

func getCheckRun(c *call) reply {
	run, found := c.checkRun()
	if !found {
		return c.notFound()
	}
	return ok(c.f.renderCheckRun(run))
}

func listCheckRunsForRef(c *call) reply {
	ref := c.params["ref"]
	cm, found := c.repo.resolve(ref)
	if !found {
		return c.noCommit(ref)
	}
	var runs []*CheckRun
	for _, r := range c.f.runs {
		if r.Repo != c.repo || r.HeadSHA != cm.SHA {
			continue
		}
		if name := c.query.Get("check_name"); name != "" && r.Name != name {
			continue
		}
		if st := c.query.Get("status"); st != "" && r.Status != st {
			continue
		}
		if id := c.query.Get("app_id"); id != "" && strconv.FormatInt(r.App.ID, 10) != id {
			continue
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID > runs[j].ID })
	if c.query.Get("filter") != "all" {
		// "latest" (the default) keeps the most recent run per name and App.
		seen := map[string]bool{}
		latest := runs[:0]
		for _, r := range runs {
			key := strconv.FormatInt(r.App.ID, 10) + "/" + r.Name
			if !seen[key] {
				seen[key] = true
				latest = append(latest, r)
			}
		}
		runs = latest
	}
	lo, hi := c.page(len(runs))
	out := []any{}
	for _, r := range runs[lo:hi] {
		out = append(out, c.f.renderCheckRun(r))
	}
	return ok(map[string]any{"total_count": len(runs), "check_runs": out})
}

func getCheckSuite(c *call) reply {
	s, found := c.f.suites[c.intParam("check_suite_id")]
	if !found || s.Repo != c.repo {
		return c.notFound()
	}
	return ok(c.f.renderSuite(s))
}

func rerequestCheckRun(c *call) reply {
	run, found := c.checkRun()
	if !found {
		return c.notFound()
	}
	app := c.callerApp()
	if app == nil || app != run.App {
		return c.fail(http.StatusForbidden, msgNotAccessible)
	}
	if c.f.cfg.echo {
		c.f.echo(c.f.checkRunDelivery(run, "rerequested", app.Bot))
	}
	return reply{status: http.StatusCreated, body: map[string]any{}, objectID: run.ID}
}
