package webhook

import (
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/checklist"
)

// inlineWorthy says whether a finding gets an inline comment: a statement's
// danger or warning that was not suppressed (a suppression never silences
// what needs approval). Info findings and findings about whole files go to
// the annotations and the summary only.
func inlineWorthy(f checklist.Fingerprinted) bool {
	if f.Statement == nil {
		return false
	}
	fd := f.Finding
	if fd.Suppressed != nil && !fd.RequiresApproval {
		return false
	}
	return fd.Severity == analyzer.Danger || fd.Severity == analyzer.Warning
}

// diffLines is the set of new-side lines a patch shows (added and
// context lines): the only lines GitHub accepts a comment on.
func diffLines(patch string) map[int]bool {
	lines := map[int]bool{}
	next := 0
	for _, l := range strings.Split(patch, "\n") {
		switch {
		case strings.HasPrefix(l, "@@"):
			// @@ -a,b +c,d @@
			next = 0
			for _, field := range strings.Fields(l) {
				if rest, ok := strings.CutPrefix(field, "+"); ok {
					start, _, _ := strings.Cut(rest, ",")
					if n, err := strconv.Atoi(start); err == nil {
						next = n
					}
					break
				}
			}
		case next == 0:
		case strings.HasPrefix(l, "+"), strings.HasPrefix(l, " "):
			lines[next] = true
			next++
		}
	}
	return lines
}

// botComment is an inline comment the App wrote, by its marker.
type botComment struct {
	c      *github.PullRequestComment
	marker checklist.FindingMarker
}

func (r *jobRun) isBot(u *github.User) bool {
	return u != nil && strings.EqualFold(u.GetLogin(), r.ident.BotLogin)
}

func (r *jobRun) botReviewComments(ctx context.Context) (map[string]botComment, error) {
	out := map[string]botComment{}
	opts := &github.PullRequestListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := r.gh.PullRequests.ListComments(ctx, r.j.Owner, r.j.Repo, r.j.Number, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the review comments of #%d: %w", r.j.Number, err)
		}
		for _, c := range page {
			if c.GetInReplyTo() != 0 || !r.isBot(c.GetUser()) {
				continue
			}
			m, ok := checklist.ParseFindingMarker(c.GetBody())
			if !ok {
				continue
			}
			if _, dup := out[m.Fingerprint]; !dup {
				out[m.Fingerprint] = botComment{c: c, marker: m}
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// syncReview posts the findings not commented on yet, in reviews of at
// most CommentsPerReview comments, and resolves the App's comments whose
// finding went away. Resolving edits the comment ("Resolved in <sha>")
// rather than deleting it, so that replies under it keep their context;
// a finding that comes back reopens its comment.
func (r *jobRun) syncReview(ctx context.Context, pr *github.PullRequest, rep *analyzer.Report, files map[string]*github.CommitFile, snap *snapshot) error {
	existing, err := r.botReviewComments(ctx)
	if err != nil {
		return err
	}
	current := map[string]bool{}
	var drafts []*github.DraftReviewComment
	diffs := map[string]map[int]bool{}
	for _, f := range checklist.Fingerprints(rep) {
		if !inlineWorthy(f) {
			continue
		}
		current[f.Fingerprint] = true
		if old, ok := existing[f.Fingerprint]; ok {
			if old.marker.Resolved {
				body := checklist.InlineComment(f, r.suggestible(f, snap))
				if _, _, err := r.gh.PullRequests.EditComment(ctx, r.j.Owner, r.j.Repo, old.c.GetID(), &github.PullRequestComment{Body: &body}); err != nil {
					return fmt.Errorf("reopening review comment %d: %w", old.c.GetID(), err)
				}
			}
			continue
		}
		st := f.Statement
		file := files[st.Path]
		if file == nil || file.GetPatch() == "" {
			continue
		}
		lines, ok := diffs[st.Path]
		if !ok {
			lines = diffLines(file.GetPatch())
			diffs[st.Path] = lines
		}
		if !lines[st.Start.Line] {
			// GitHub refuses comments outside the diff; the annotation
			// and the summary carry this finding.
			continue
		}
		drafts = append(drafts, &github.DraftReviewComment{
			Path: github.String(st.Path), Line: github.Int(st.Start.Line), Side: github.String("RIGHT"),
			Body: github.String(checklist.InlineComment(f, r.suggestible(f, snap))),
		})
	}
	for i := 0; i < len(drafts); i += checklist.CommentsPerReview {
		batch := drafts[i:min(i+checklist.CommentsPerReview, len(drafts))]
		body := checklist.ReviewBody(len(drafts), i/checklist.CommentsPerReview+1, (len(drafts)+checklist.CommentsPerReview-1)/checklist.CommentsPerReview)
		_, _, err := r.gh.PullRequests.CreateReview(ctx, r.j.Owner, r.j.Repo, r.j.Number, &github.PullRequestReviewRequest{
			CommitID: github.String(r.head), Body: github.String(body), Event: github.String("COMMENT"), Comments: batch,
		})
		if err != nil {
			if statusOf(err) == 422 {
				// A push between the head check and this review makes
				// GitHub refuse the commit or the lines.
				if herr := r.requireHead(ctx); herr != nil {
					return herr
				}
			}
			return fmt.Errorf("posting a review with %d comments on #%d: %w", len(batch), r.j.Number, err)
		}
	}
	for fp, old := range existing {
		if current[fp] || old.marker.Resolved {
			continue
		}
		body := checklist.ResolvedInlineComment(old.c.GetBody(), r.head)
		if _, _, err := r.gh.PullRequests.EditComment(ctx, r.j.Owner, r.j.Repo, old.c.GetID(), &github.PullRequestComment{Body: &body}); err != nil {
			return fmt.Errorf("marking review comment %d resolved: %w", old.c.GetID(), err)
		}
	}
	if len(drafts) > 0 {
		r.log.Info("review posted", "comments", len(drafts))
	}
	return nil
}

// suggestible says whether a GitHub suggestion (which replaces the
// commented line) would replace exactly the statement: the statement is
// alone on its one line.
func (r *jobRun) suggestible(f checklist.Fingerprinted, snap *snapshot) bool {
	st := f.Statement
	if snap == nil || st.Start.Line != st.End.Line || f.Finding.SafeAlternative == "" {
		return false
	}
	content, err := fs.ReadFile(snap.head, st.Path)
	if err != nil {
		return false
	}
	lines := strings.Split(string(content), "\n")
	if st.Start.Line < 1 || st.Start.Line > len(lines) {
		return false
	}
	return strings.TrimSpace(lines[st.Start.Line-1]) == strings.TrimSpace(st.SQL)
}
