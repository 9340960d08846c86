package webhook

import "strings"

// Manifest is a GitHub App manifest: what the App is and what it may do.
// deploy/github-app-manifest.json holds the same permissions and events
// (a test keeps the two in step).
type Manifest struct {
	Name               string            `json:"name"`
	URL                string            `json:"url"`
	Description        string            `json:"description"`
	HookAttributes     HookAttributes    `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	Public             bool              `json:"public"`
	DefaultPermissions map[string]string `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

// HookAttributes is where GitHub sends the App's webhooks.
type HookAttributes struct {
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// AppPermissions are what the App needs, and no more:
//   - checks write: the "migration-guard" check run;
//   - pull_requests write: the list of changed files, review comments;
//   - contents read: trees, blobs and the configuration file;
//   - metadata read: required of every App;
//   - issues write: the sticky comment lives on the pull request's issue;
//   - members read: team approvers (the approval gate).
var AppPermissions = map[string]string{
	"checks":        "write",
	"pull_requests": "write",
	"contents":      "read",
	"metadata":      "read",
	"issues":        "write",
	"members":       "read",
}

// AppEvents are the webhooks the App subscribes to. installation and
// installation_repositories, which the App also handles, are not listed:
// GitHub sends them to every App and does not let a manifest subscribe
// to them.
var AppEvents = []string{
	"pull_request",
	"check_run",
	"check_suite",
	"merge_group",
	"issue_comment",
}

// AppManifest is the manifest for a service reachable at publicURL.
func AppManifest(publicURL string) Manifest {
	base := strings.TrimSuffix(publicURL, "/")
	perms := make(map[string]string, len(AppPermissions))
	for k, v := range AppPermissions {
		perms[k] = v
	}
	return Manifest{
		Name:               "migration-guard",
		URL:                base,
		Description:        "Keeps dangerous PostgreSQL migrations from merging unreviewed: a six-question checklist for every changed migration.",
		HookAttributes:     HookAttributes{URL: base + "/webhook", Active: true},
		RedirectURL:        base + "/setup/callback",
		Public:             false,
		DefaultPermissions: perms,
		DefaultEvents:      append([]string(nil), AppEvents...),
	}
}
