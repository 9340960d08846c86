// Package ghops lists the GitHub REST operations migration-guard calls. The
// list is the single source for both the OpenAPI subset that
// scripts/extract-openapi.sh writes and the fake's routing table, so an
// operation added here without a handler, or a handler without an entry
// here, shows up in the fake's own tests.
package ghops

// Operations are GitHub operation ids (the "operationId" field of
// GitHub's OpenAPI description), grouped by the App feature that needs
// them.
var Operations = []string{
	// App authentication and installation discovery.
	"apps/get-authenticated",
	"apps/get-installation",
	"apps/list-installations",
	"apps/get-repo-installation",
	"apps/create-installation-access-token",
	"apps/list-repos-accessible-to-installation",
	"apps/create-from-manifest",

	// Webhook delivery inspection and redelivery.
	"apps/list-webhook-deliveries",
	"apps/get-webhook-delivery",
	"apps/redeliver-webhook-delivery",

	// Pull requests and the diff being analyzed.
	"pulls/get",
	"pulls/list",
	"pulls/list-files",
	"pulls/list-commits",
	"repos/get",
	"repos/get-branch",
	"repos/get-content",
	"repos/get-commit",
	"repos/compare-commits-with-basehead",
	"git/get-tree",
	"git/get-blob",

	// The "migration-guard" check run.
	"checks/create",
	"checks/update",
	"checks/get",
	"checks/list-for-ref",
	"checks/get-suite",
	"checks/rerequest-run",

	// The sticky checklist comment.
	"issues/list-comments",
	"issues/create-comment",
	"issues/get-comment",
	"issues/update-comment",
	"issues/delete-comment",

	// Inline findings.
	"pulls/create-review",
	"pulls/list-reviews",
	"pulls/list-review-comments",
	"pulls/create-review-comment",
	"pulls/get-review-comment",
	"pulls/update-review-comment",
	"pulls/delete-review-comment",
	"pulls/create-reply-for-review-comment",

	// Who may tick the approval box.
	"repos/get-collaborator-permission-level",
	"teams/get-membership-for-user-in-org",
}
