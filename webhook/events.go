package webhook

import (
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

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

// route decodes a delivery into the jobs it asks for.
func (s *Server) route(event string, body []byte) ([]*Job, routed, error) {
	var info routed
	switch event {
	case "pull_request", "check_run", "check_suite", "merge_group", "installation", "installation_repositories":
	case "ping":
		info.ignore = "ping"
		return nil, info, nil
	default:
		info.ignore = "event " + metricEvent(event) + " is not handled"
		return nil, info, nil
	}
	payload, err := github.ParseWebHook(event, body)
	if err != nil {
		return nil, info, fmt.Errorf("decoding the %s payload: %w", event, err)
	}
	switch e := payload.(type) {
	case *github.PullRequestEvent:
		return s.routePullRequest(e)
	case *github.CheckRunEvent:
		info.action, info.repo = e.GetAction(), e.GetRepo().GetFullName()
		run := e.GetCheckRun()
		info.head = run.GetHeadSHA()
		switch {
		case info.action != "rerequested":
			info.ignore = "check_run action " + info.action
		case run.GetApp().GetID() != 0 && run.GetApp().GetID() != s.p.AppID:
			info.ignore = "another App's check run"
		case run.GetName() != checklist.CheckRunName:
			info.ignore = "not the " + checklist.CheckRunName + " check run"
		}
		if info.ignore != "" {
			return nil, info, nil
		}
		return s.rerunJobs(e.GetInstallation().GetID(), e.GetRepo(), run.PullRequests, run.GetHeadSHA(), &info)
	case *github.CheckSuiteEvent:
		info.action, info.repo = e.GetAction(), e.GetRepo().GetFullName()
		suite := e.GetCheckSuite()
		info.head = suite.GetHeadSHA()
		if info.action != "rerequested" {
			info.ignore = "check_suite action " + info.action
			return nil, info, nil
		}
		return s.rerunJobs(e.GetInstallation().GetID(), e.GetRepo(), suite.PullRequests, suite.GetHeadSHA(), &info)
	case *github.MergeGroupEvent:
		info.action, info.repo = e.GetAction(), e.GetRepo().GetFullName()
		mg := e.GetMergeGroup()
		info.head = mg.GetHeadSHA()
		if info.action != "checks_requested" {
			info.ignore = "merge_group action " + info.action
			return nil, info, nil
		}
		inst, repo := e.GetInstallation().GetID(), e.GetRepo()
		if inst == 0 || repo.GetName() == "" || mg.GetHeadSHA() == "" || mg.GetBaseSHA() == "" {
			return nil, info, fmt.Errorf("merge_group payload without installation, repository or SHAs")
		}
		owner := repo.GetOwner().GetLogin()
		return []*Job{{
			Key:  fmt.Sprintf("%d/%s/%s@%s", inst, strings.ToLower(owner), strings.ToLower(repo.GetName()), mg.GetHeadSHA()),
			Kind: KindMergeGroup, InstallationID: inst, Owner: owner, Repo: repo.GetName(),
			HeadSHA: mg.GetHeadSHA(), BaseSHA: mg.GetBaseSHA(),
		}}, info, nil
	case *github.InstallationEvent:
		info.action = e.GetAction()
		inst := e.GetInstallation()
		var repos []string
		for _, r := range e.Repositories {
			repos = append(repos, r.GetFullName())
		}
		s.log.Info("installation", "action", info.action, "installation", inst.GetID(), "account", inst.GetAccount().GetLogin(), "repositories", repos)
		if info.action == "deleted" || info.action == "suspend" {
			s.clients.Forget(inst.GetID())
		}
		info.ignore = "logged"
		return nil, info, nil
	case *github.InstallationRepositoriesEvent:
		info.action = e.GetAction()
		var added, removed []string
		for _, r := range e.RepositoriesAdded {
			added = append(added, r.GetFullName())
		}
		for _, r := range e.RepositoriesRemoved {
			removed = append(removed, r.GetFullName())
		}
		s.log.Info("installation repositories", "action", info.action, "installation", e.GetInstallation().GetID(), "added", added, "removed", removed)
		info.ignore = "logged"
		return nil, info, nil
	}
	info.ignore = "unexpected payload"
	return nil, info, nil
}

func (s *Server) routePullRequest(e *github.PullRequestEvent) ([]*Job, routed, error) {
	pr := e.GetPullRequest()
	info := routed{action: e.GetAction(), repo: e.GetRepo().GetFullName(), number: e.GetNumber(), head: pr.GetHead().GetSHA()}
	if info.number == 0 {
		info.number = pr.GetNumber()
	}
	switch info.action {
	case "opened", "synchronize", "reopened", "ready_for_review":
	case "edited":
		// A new title or body changes nothing checked; a new base changes
		// the schema the migrations run against.
		if e.GetChanges().GetBase() == nil {
			info.ignore = "edited without a base change"
			return nil, info, nil
		}
	default:
		info.ignore = "pull_request action " + info.action
		return nil, info, nil
	}
	inst, repo := e.GetInstallation().GetID(), e.GetRepo()
	if inst == 0 || repo.GetName() == "" || info.number == 0 {
		return nil, info, fmt.Errorf("pull_request payload without installation, repository or number")
	}
	owner := repo.GetOwner().GetLogin()
	return []*Job{{
		Key: prKey(inst, owner, repo.GetName(), info.number), Kind: KindPullRequest, InstallationID: inst,
		Owner: owner, Repo: repo.GetName(), Number: info.number, HeadSHA: info.head,
	}}, info, nil
}

// rerunJobs answers a re-run request: a forced job for every pull request
// whose head is the SHA.
func (s *Server) rerunJobs(inst int64, repo *github.Repository, prs []*github.PullRequest, head string, info *routed) ([]*Job, routed, error) {
	if inst == 0 || repo.GetName() == "" {
		return nil, *info, fmt.Errorf("%s payload without installation or repository", info.action)
	}
	owner := repo.GetOwner().GetLogin()
	var jobs []*Job
	for _, pr := range prs {
		if pr.GetNumber() == 0 {
			continue
		}
		// GitHub lists pull requests of other repositories (forks) whose
		// head is the same commit; only this repository's are ours.
		if base := pr.GetBase().GetRepo(); base != nil && base.GetID() != 0 && repo.GetID() != 0 && base.GetID() != repo.GetID() {
			continue
		}
		info.number = pr.GetNumber()
		jobs = append(jobs, &Job{
			Key: prKey(inst, owner, repo.GetName(), pr.GetNumber()), Kind: KindPullRequest, InstallationID: inst,
			Owner: owner, Repo: repo.GetName(), Number: pr.GetNumber(), HeadSHA: head, Force: true,
		})
	}
	if len(jobs) == 0 {
		info.ignore = "no open pull request has this head"
	}
	return jobs, *info, nil
}
