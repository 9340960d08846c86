package webhook

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/migration-guard/migration-guard/checklist"
)

// routed is what the intake learned from a delivery, for its log line and
// its answer.
type routed struct {
	action string
	repo   string
	number int
	head   string
	// ignore says why the delivery needs no job; "" means it has jobs.
	ignore string
}

func prKey(inst int64, owner, repo string, number int) string {
	return fmt.Sprintf("%d/%s/%s#%d", inst, strings.ToLower(owner), strings.ToLower(repo), number)
}

// payload holds the fields of a delivery the App routes by. Decoding only
// these, rather than GitHub's whole payload into full types, keeps the
// answer to GitHub fast; GitHub's payloads run to tens of kilobytes.
type payload struct {
	Action       string       `json:"action"`
	Number       int          `json:"number"`
	Before       string       `json:"before"`
	Installation *account     `json:"installation"`
	Repository   *repository  `json:"repository"`
	PullRequest  *pullRequest `json:"pull_request"`
	Changes      *struct {
		Base *json.RawMessage `json:"base"`
		Body *struct {
			From *string `json:"from"`
		} `json:"body"`
	} `json:"changes"`
	Comment *struct {
		ID      int64   `json:"id"`
		Body    string  `json:"body"`
		HTMLURL string  `json:"html_url"`
		User    *ghUser `json:"user"`
	} `json:"comment"`
	Issue *struct {
		Number      int              `json:"number"`
		PullRequest *json.RawMessage `json:"pull_request"`
	} `json:"issue"`
	Sender   *ghUser `json:"sender"`
	CheckRun *struct {
		Name         string        `json:"name"`
		HeadSHA      string        `json:"head_sha"`
		App          *account      `json:"app"`
		PullRequests []pullRequest `json:"pull_requests"`
	} `json:"check_run"`
	CheckSuite *struct {
		HeadSHA      string        `json:"head_sha"`
		PullRequests []pullRequest `json:"pull_requests"`
	} `json:"check_suite"`
	MergeGroup *struct {
		HeadSHA string `json:"head_sha"`
		BaseSHA string `json:"base_sha"`
		HeadRef string `json:"head_ref"`
		BaseRef string `json:"base_ref"`
	} `json:"merge_group"`
	Repositories        []repository `json:"repositories"`
	RepositoriesAdded   []repository `json:"repositories_added"`
	RepositoriesRemoved []repository `json:"repositories_removed"`
}

// ghUser is a GitHub account as payloads carry it.
type ghUser struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

type account struct {
	ID      int64 `json:"id"`
	Account *struct {
		Login string `json:"login"`
	} `json:"account"`
}

type repository struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	FullName string `json:"full_name"`
	Owner    *struct {
		Login string `json:"login"`
	} `json:"owner"`
}

func (r *repository) owner() string {
	if r == nil || r.Owner == nil {
		// Short repository objects (in check runs' pull requests) have no
		// owner; the full name has it.
		if r != nil {
			o, _, _ := strings.Cut(r.FullName, "/")
			return o
		}
		return ""
	}
	return r.Owner.Login
}

type pullRequest struct {
	Number int `json:"number"`
	Head   struct {
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		Repo *repository `json:"repo"`
	} `json:"base"`
}

func fullNames(rs []repository) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.FullName)
	}
	return out
}

// route decodes a delivery into the jobs it asks for.
func (s *Server) route(event string, body []byte) ([]*Job, routed, error) {
	var info routed
	switch event {
	case "pull_request", "check_run", "check_suite", "merge_group", "installation", "installation_repositories", "issue_comment":
	case "ping":
		info.ignore = "ping"
		return nil, info, nil
	default:
		info.ignore = "event " + metricEvent(event) + " is not handled"
		return nil, info, nil
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, info, fmt.Errorf("decoding the %s payload: %w", event, err)
	}
	info.action = p.Action
	if p.Repository != nil {
		info.repo = p.Repository.FullName
	}
	var inst int64
	if p.Installation != nil {
		inst = p.Installation.ID
	}
	if s.p.workflowToken != "" {
		// A workflow's event names no installation: its token is the one
		// client every job uses.
		inst = workflowInstallation
	}
	switch event {
	case "pull_request":
		return s.routePullRequest(&p, inst, info)
	case "issue_comment":
		return s.routeComment(&p, inst, info)
	case "check_run":
		run := p.CheckRun
		if run == nil {
			return nil, info, fmt.Errorf("check_run payload without check_run")
		}
		info.head = run.HeadSHA
		switch {
		case info.action != "rerequested":
			info.ignore = "check_run action " + info.action
		case run.App != nil && run.App.ID != 0 && run.App.ID != s.p.AppID:
			info.ignore = "another App's check run"
		case run.Name != checklist.CheckRunName:
			info.ignore = "not the " + checklist.CheckRunName + " check run"
		}
		if info.ignore != "" {
			return nil, info, nil
		}
		return s.rerunJobs(inst, p.Repository, run.PullRequests, run.HeadSHA, &info)
	case "check_suite":
		suite := p.CheckSuite
		if suite == nil {
			return nil, info, fmt.Errorf("check_suite payload without check_suite")
		}
		info.head = suite.HeadSHA
		if info.action != "rerequested" {
			info.ignore = "check_suite action " + info.action
			return nil, info, nil
		}
		return s.rerunJobs(inst, p.Repository, suite.PullRequests, suite.HeadSHA, &info)
	case "merge_group":
		mg := p.MergeGroup
		if mg != nil {
			info.head = mg.HeadSHA
		}
		if info.action != "checks_requested" {
			info.ignore = "merge_group action " + info.action
			return nil, info, nil
		}
		if inst == 0 || p.Repository == nil || p.Repository.Name == "" || mg == nil || mg.HeadSHA == "" || mg.BaseSHA == "" {
			return nil, info, fmt.Errorf("merge_group payload without installation, repository or SHAs")
		}
		owner, name := p.Repository.owner(), p.Repository.Name
		return []*Job{{
			Key:  fmt.Sprintf("%d/%s/%s@%s", inst, strings.ToLower(owner), strings.ToLower(name), mg.HeadSHA),
			Kind: KindMergeGroup, InstallationID: inst, Owner: owner, Repo: name,
			HeadSHA: mg.HeadSHA, BaseSHA: mg.BaseSHA, HeadRef: mg.HeadRef, BaseRef: mg.BaseRef,
		}}, info, nil
	case "installation":
		login := ""
		if p.Installation != nil && p.Installation.Account != nil {
			login = p.Installation.Account.Login
		}
		s.log.Info("installation", "action", info.action, "installation", inst, "account", login, "repositories", fullNames(p.Repositories))
		if info.action == "deleted" || info.action == "suspend" {
			s.clients.Forget(inst)
		}
		info.ignore = "logged"
		return nil, info, nil
	default: // installation_repositories
		s.log.Info("installation repositories", "action", info.action, "installation", inst,
			"added", fullNames(p.RepositoriesAdded), "removed", fullNames(p.RepositoriesRemoved))
		info.ignore = "logged"
		return nil, info, nil
	}
}

func (s *Server) routePullRequest(p *payload, inst int64, info routed) ([]*Job, routed, error) {
	info.number = p.Number
	if p.PullRequest != nil {
		info.head = p.PullRequest.Head.SHA
		if info.number == 0 {
			info.number = p.PullRequest.Number
		}
	}
	switch info.action {
	case "opened", "synchronize", "reopened", "ready_for_review":
	case "closed":
		// Its head commit may be the head of other open pull requests,
		// whose conclusion it no longer takes part in.
	case "edited":
		// A new title or body changes nothing checked; a new base changes
		// the schema the migrations run against.
		if p.Changes == nil || p.Changes.Base == nil {
			info.ignore = "edited without a base change"
			return nil, info, nil
		}
	default:
		info.ignore = "pull_request action " + info.action
		return nil, info, nil
	}
	if inst == 0 || p.Repository == nil || p.Repository.Name == "" || info.number == 0 {
		return nil, info, fmt.Errorf("pull_request payload without installation, repository or number")
	}
	owner, name := p.Repository.owner(), p.Repository.Name
	j := &Job{
		Key: prKey(inst, owner, name, info.number), Kind: KindPullRequest, InstallationID: inst,
		Owner: owner, Repo: name, Number: info.number, HeadSHA: info.head,
	}
	if info.action == "synchronize" && p.Before != "" && p.Before != info.head {
		j.Before = p.Before
	}
	return []*Job{j}, info, nil
}

// routeComment turns an edit of the App's sticky comment into an approval
// job on the pull request's queue, so that it runs in order with the
// pushes. Everything the job decides on is checked again there; this only
// spares a job for the many edits that cannot matter.
func (s *Server) routeComment(p *payload, inst int64, info routed) ([]*Job, routed, error) {
	if p.Issue != nil {
		info.number = p.Issue.Number
	}
	c := p.Comment
	switch {
	case info.action != "edited":
		info.ignore = "issue_comment action " + info.action
	case p.Issue == nil || p.Issue.PullRequest == nil:
		info.ignore = "a comment on an issue, not on a pull request"
	case c == nil || c.User == nil || p.Sender == nil:
		return nil, info, fmt.Errorf("issue_comment payload without comment, author or sender")
	case c.User.Type != "Bot":
		info.ignore = "not the App's comment"
	case p.Changes == nil || p.Changes.Body == nil || p.Changes.Body.From == nil:
		info.ignore = "edited without a body change"
	case !checklist.IsStickyComment(c.Body) && !checklist.IsStickyComment(*p.Changes.Body.From):
		info.ignore = "not the App's summary comment"
	}
	if info.ignore != "" {
		return nil, info, nil
	}
	if id := s.identity.Load(); id != nil && !strings.EqualFold(c.User.Login, id.BotLogin) {
		info.ignore = "another App's comment"
		return nil, info, nil
	}
	if strings.EqualFold(p.Sender.Login, c.User.Login) {
		// The App's own writes come back as edits. One with the box
		// unticked can grant nothing; one with it ticked is checked
		// against the ledger, in case anything but the App wrote it.
		if _, box, ok := checklist.CanonicalSticky(c.Body); !ok || !box.Ticked {
			info.ignore = "the App's own edit"
			return nil, info, nil
		}
	}
	if inst == 0 || p.Repository == nil || p.Repository.Name == "" || info.number == 0 || c.ID == 0 {
		return nil, info, fmt.Errorf("issue_comment payload without installation, repository, number or comment id")
	}
	owner, name := p.Repository.owner(), p.Repository.Name
	return []*Job{{
		Key: prKey(inst, owner, name, info.number), Kind: KindApproval, InstallationID: inst,
		Owner: owner, Repo: name, Number: info.number,
		Edit: &CommentEdit{
			CommentID: c.ID, CommentURL: c.HTMLURL, Author: *c.User, Sender: *p.Sender,
			Old: *p.Changes.Body.From, New: c.Body,
		},
	}}, info, nil
}

// rerunJobs answers a re-run request: a forced job for every pull request
// whose head is the SHA.
func (s *Server) rerunJobs(inst int64, repo *repository, prs []pullRequest, head string, info *routed) ([]*Job, routed, error) {
	if inst == 0 || repo == nil || repo.Name == "" {
		return nil, *info, fmt.Errorf("%s payload without installation or repository", info.action)
	}
	owner := repo.owner()
	var jobs []*Job
	for _, pr := range prs {
		if pr.Number == 0 {
			continue
		}
		// GitHub lists pull requests of other repositories (forks) whose
		// head is the same commit; only this repository's are ours.
		if base := pr.Base.Repo; base != nil && base.ID != 0 && repo.ID != 0 && base.ID != repo.ID {
			continue
		}
		info.number = pr.Number
		jobs = append(jobs, &Job{
			Key: prKey(inst, owner, repo.Name, pr.Number), Kind: KindPullRequest, InstallationID: inst,
			Owner: owner, Repo: repo.Name, Number: pr.Number, HeadSHA: head, Force: true,
		})
	}
	if len(jobs) == 0 {
		info.ignore = "no open pull request has this head"
	}
	return jobs, *info, nil
}
