package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/migration-guard/migration-guard/webhook"
)

// reviewMaxEvent caps the event file read: GitHub caps payloads at 25 MB.
const reviewMaxEvent = webhook.DefaultMaxBodyBytes

func newReviewCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "review",
		Short: "Review a pull request from GitHub Actions with the workflow's token",
		Long: `Run one check of the GitHub App inside a GitHub Actions workflow, with the
workflow's token instead of an App: the same migration-guard check run, inline
review comments and summary comment, from the event the runner provides.

Environment: GITHUB_TOKEN, GITHUB_EVENT_NAME, GITHUB_EVENT_PATH,
GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_API_URL (set by the runner, except GITHUB_TOKEN), and
MIGRATION_GUARD_ACTIONS_APP_ID (the GitHub Actions App's id; action.yml sets it).

Exit status: 0 the check passed (or the event needs no check), 1 approval is
needed and not given (or the check failed), 2 usage or environment error.
This mode is weaker than the App as a gate: see docs/review.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneMemory(os.Getenv)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runReview(ctx, os.Getenv)
		},
	}
}

func runReview(ctx context.Context, getenv func(string) string) error {
	need := func(name, what string) (string, error) {
		v := getenv(name)
		if v == "" {
			return "", fail("%s is not set: %s", name, what)
		}
		return v, nil
	}
	token, err := need("GITHUB_TOKEN", "pass the workflow's token (env: GITHUB_TOKEN: ${{ github.token }})")
	if err != nil {
		return err
	}
	event, err := need("GITHUB_EVENT_NAME", "run inside a GitHub Actions workflow")
	if err != nil {
		return err
	}
	path, err := need("GITHUB_EVENT_PATH", "run inside a GitHub Actions workflow")
	if err != nil {
		return err
	}
	repo, err := need("GITHUB_REPOSITORY", "run inside a GitHub Actions workflow")
	if err != nil {
		return err
	}
	runID, err := need("GITHUB_RUN_ID", "run inside a GitHub Actions workflow")
	if err != nil {
		return err
	}
	apiURL := getenv("GITHUB_API_URL")
	if apiURL == "" {
		apiURL = webhook.DefaultAPIURL
	}
	rawID, err := need("MIGRATION_GUARD_ACTIONS_APP_ID", "the GitHub Actions App's id (GET /apps/github-actions; action.yml sets it)")
	if err != nil {
		return err
	}
	appID, perr := strconv.ParseInt(rawID, 10, 64)
	if perr != nil || appID <= 0 {
		return fail("MIGRATION_GUARD_ACTIONS_APP_ID must be a positive number, the GitHub Actions App's id")
	}
	body, err := readEventFile(path)
	if err != nil {
		return err
	}
	logger := slog.New(webhook.NewRedactingHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}), token))
	res, err := webhook.RunWorkflow(ctx, webhook.WorkflowConfig{
		APIURL: apiURL, Token: token, ActionsAppID: appID, Logger: logger, Version: version,
		// A workflow run is one delivery: a re-run of it (a new attempt)
		// is a redelivery, which finds its decision already recorded.
		Delivery:   "actions-run-" + runID,
		JobTimeout: 10 * time.Minute,
	}, event, body)
	if err != nil {
		return fail("review of %s: %v", repo, err)
	}
	out := os.Stdout
	switch {
	case res.Ignored != "":
		fmt.Fprintf(out, "migration-guard: nothing to check (%s)\n", res.Ignored)
		return nil
	case res.NeedsApproval():
		c := res.Conclusion
		if c == "" {
			c = "no completed check run (" + res.Outcome + ")"
		}
		fmt.Fprintf(out, "migration-guard: pull request #%d at %s: %s; see the %s check run\n", res.Number, shortSHA(res.HeadSHA), c, "migration-guard")
		return &statusError{status: exitApproval, err: errApprovalNeeded}
	}
	fmt.Fprintf(out, "migration-guard: pull request #%d at %s: %s\n", res.Number, shortSHA(res.HeadSHA), res.Conclusion)
	return nil
}

func readEventFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fail("reading the event file (GITHUB_EVENT_PATH): %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fail("reading the event file (GITHUB_EVENT_PATH): %v", err)
	}
	if st.Size() > reviewMaxEvent {
		return nil, fail("the event file (GITHUB_EVENT_PATH) is larger than %d bytes", reviewMaxEvent)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fail("reading the event file (GITHUB_EVENT_PATH): %v", err)
	}
	return b, nil
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}
