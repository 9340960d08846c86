// Package mcpserver is migration-guard as a Model Context Protocol server,
// for coding agents: they ask before they write a migration (check_sql),
// review what they changed (check_change), and read the rules. It shapes the
// analyzer's report for a model's context: what needs approval first, every
// text capped, and a plain statement of what was left out.
//
// It knows nothing of GitHub; git is reached through Options.Change, which
// the command supplies.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/internal/proposal"
)

// Options configure the server.
type Options struct {
	Version string
	// Change builds the analysis request for what changed in the git
	// checkout at repo since base (as `check --base`); nil disables
	// check_change, which then says so.
	Change func(ctx context.Context, repo, base string) (analyzer.Request, error)
	// Stats finds production statistics for a configuration read from
	// fsys; nil means none. The string is a note when a file is unusable.
	Stats func(cfg analyzer.Config, fsys fs.FS) (*prodstats.File, string)
	// MaxChars bounds a result's findings and notes, in characters of
	// their text; zero means DefaultMaxChars.
	MaxChars int
}

// DefaultMaxChars keeps a result to a few thousand tokens.
const DefaultMaxChars = 16000

// Per-field caps, so that one long safe way cannot crowd out the rest.
const (
	maxMessage = 600
	maxSafeWay = 1500
	maxNote    = 400
	maxNotes   = 10
)

// Finding is one finding, as a model needs it to act.
type Finding struct {
	Rule             string `json:"rule" jsonschema:"rule id; explain_rule tells more"`
	Severity         string `json:"severity" jsonschema:"danger, warning or info"`
	Question         int    `json:"question" jsonschema:"checklist question 1-6"`
	Topic            string `json:"topic" jsonschema:"the question's name: Drops, Type changes, Constraints, Renames, Transaction, Locks"`
	RequiresApproval bool   `json:"requires_approval" jsonschema:"a human must approve this before it merges"`
	Path             string `json:"path"`
	Line             int    `json:"line"`
	Message          string `json:"message"`
	SafeWay          string `json:"safe_way,omitempty" jsonschema:"the safe way, as SQL with the statement's names"`
	Suppressed       string `json:"suppressed,omitempty" jsonschema:"the reason of a migration-guard:ignore comment"`
}

// Result is the answer of check_sql and check_change.
type Result struct {
	RequiresApproval bool      `json:"requires_approval" jsonschema:"true when any finding needs a human's approval"`
	Verdict          string    `json:"verdict" jsonschema:"one line for the user"`
	Files            []string  `json:"files" jsonschema:"the migrations judged"`
	Findings         []Finding `json:"findings" jsonschema:"what needs approval first, then by severity"`
	TotalFindings    int       `json:"total_findings"`
	Truncated        bool      `json:"truncated" jsonschema:"true when findings or texts were cut to fit; run migration-guard check for everything"`
	Notes            []string  `json:"notes,omitempty" jsonschema:"what to know about the analysis itself"`
}

// CheckSQLInput asks about a migration not written yet.
type CheckSQLInput struct {
	Repository string `json:"repository,omitempty" jsonschema:"path of the repository's root (default: the server's working directory)"`
	Path       string `json:"path" jsonschema:"where the migration file would be written, relative to the repository's root, e.g. db/migrations/00042_add_index.sql"`
	Content    string `json:"content" jsonschema:"the whole file as it would be written, with the migration tool's annotations"`
}

// CheckChangeInput asks about a checkout's pending change.
type CheckChangeInput struct {
	Repository string `json:"repository,omitempty" jsonschema:"path of the git checkout (default: the server's working directory)"`
	Base       string `json:"base" jsonschema:"git ref the change is compared with, e.g. origin/main"`
}

// RuleInput names a rule.
type RuleInput struct {
	Rule string `json:"rule" jsonschema:"rule id, e.g. drop-column"`
}

// RuleSummary is one line of list_rules.
type RuleSummary struct {
	ID       string `json:"id"`
	Question int    `json:"question"`
	Topic    string `json:"topic"`
	Severity string `json:"severity"`
	Title    string `json:"title"`
}

// RuleList is the answer of list_rules.
type RuleList struct {
	Rules []RuleSummary `json:"rules"`
}

// RuleDetail is the answer of explain_rule.
type RuleDetail struct {
	RuleSummary
	Why     string `json:"why"`
	Example string `json:"example"`
	SafeWay string `json:"safe_way"`
}

// New builds the server with its four tools.
func New(opt Options) *mcp.Server {
	if opt.MaxChars <= 0 {
		opt.MaxChars = DefaultMaxChars
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "migration-guard", Version: opt.Version}, &mcp.ServerOptions{
		Instructions: "Before writing a PostgreSQL migration, call check_sql with its path and content; " +
			"when requires_approval is true, prefer the safe_way or tell the user that a human must approve. " +
			"After changing migrations, check_change reviews them against a base ref.",
	})
	readOnly := &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(bool)}
	mcp.AddTool(s, &mcp.Tool{
		Name:        "check_sql",
		Description: "Judge SQL for a new migration file before it is written: path + content, as the next migration of that folder, against the schema every migration already in the repository builds. Nothing is written.",
		Annotations: readOnly,
	}, opt.checkSQL)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "check_change",
		Description: "Review the migrations added or modified in a git checkout since a base ref (like `migration-guard check --base REF`): working tree and untracked files included, configuration read from the base.",
		Annotations: readOnly,
	}, opt.checkChange)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "explain_rule",
		Description: "Why a rule matters and its safe way.",
		Annotations: readOnly,
	}, explainRule)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "list_rules",
		Description: "Every rule with its checklist question, severity and title.",
		Annotations: readOnly,
	}, listRules)
	return s
}

// repository resolves a repository argument to an existing folder.
func repository(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("repository %q: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("repository %q: %w", dir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("repository %q is not a folder", dir)
	}
	return abs, nil
}

func (o Options) checkSQL(ctx context.Context, _ *mcp.CallToolRequest, in CheckSQLInput) (*mcp.CallToolResult, Result, error) {
	root, err := repository(in.Repository)
	if err != nil {
		return nil, Result{}, err
	}
	p, err := proposal.CleanPath(in.Path)
	if err != nil {
		return nil, Result{}, err
	}
	fsys := os.DirFS(root)
	cfg, err := readConfig(fsys)
	if err != nil {
		return nil, Result{}, err
	}
	req := analyzer.Request{Config: cfg}
	var notes []string
	if o.Stats != nil {
		var note string
		req.Stats, note = o.Stats(cfg, fsys)
		notes = append(notes, note)
	}
	rep, err := proposal.Analyze(ctx, fsys, p, []byte(in.Content), req)
	if err != nil {
		return nil, Result{}, err
	}
	rep.Notes = append(rep.Notes, notes...)
	return nil, o.result(rep), nil
}

func (o Options) checkChange(ctx context.Context, _ *mcp.CallToolRequest, in CheckChangeInput) (*mcp.CallToolResult, Result, error) {
	if o.Change == nil {
		return nil, Result{}, errors.New("check_change is not available in this server")
	}
	if strings.TrimSpace(in.Base) == "" {
		return nil, Result{}, errors.New("base is required: the git ref to compare with, e.g. origin/main")
	}
	root, err := repository(in.Repository)
	if err != nil {
		return nil, Result{}, err
	}
	req, err := o.Change(ctx, root, in.Base)
	if err != nil {
		return nil, Result{}, err
	}
	var notes []string
	if o.Stats != nil && req.Base != nil {
		var note string
		req.Stats, note = o.Stats(req.Config, req.Base)
		notes = append(notes, note)
	}
	rep, err := analyzer.Analyze(ctx, req)
	if err != nil {
		return nil, Result{}, fmt.Errorf("analyzing the change since %s: %w", in.Base, err)
	}
	rep.Notes = append(rep.Notes, notes...)
	return nil, o.result(rep), nil
}

// readConfig reads the repository's configuration, or the defaults when it
// has none; a configuration that does not parse is an error, never ignored.
func readConfig(fsys fs.FS) (analyzer.Config, error) {
	data, err := fs.ReadFile(fsys, analyzer.ConfigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return analyzer.DefaultConfig(), nil
	}
	if err != nil {
		return analyzer.Config{}, fmt.Errorf("reading %s: %w", analyzer.ConfigPath, err)
	}
	cfg, err := analyzer.ParseConfig(data)
	if err != nil {
		return analyzer.Config{}, fmt.Errorf("reading %s: %w", analyzer.ConfigPath, err)
	}
	return cfg, nil
}

// result shapes a report for a model: what needs approval first, then by
// severity, until the budget is spent.
func (o Options) result(rep *analyzer.Report) Result {
	res := Result{RequiresApproval: rep.RequiresApproval(), Files: []string{}, Findings: []Finding{}}
	for _, f := range rep.Files {
		res.Files = append(res.Files, f.Path)
	}
	all := rep.AllFindings()
	res.TotalFindings = len(all)
	rank := func(f *analyzer.Finding) int {
		r := f.Severity.Rank()
		if f.Suppressed != nil {
			r = 0
		}
		if f.RequiresApproval {
			r += 10
		}
		return r
	}
	sort.SliceStable(all, func(i, j int) bool { return rank(all[i].Finding) > rank(all[j].Finding) })
	budget := o.MaxChars
	approvals := 0
	for _, l := range all {
		f := l.Finding
		if f.RequiresApproval {
			approvals++
		}
		path, line := l.File.Path, max(f.Marker.Line, 1)
		if l.Statement != nil {
			path, line = l.Statement.Path, l.Statement.Start.Line
			if f.Marker.Line > 0 {
				line = f.Marker.Line
			}
		}
		fd := Finding{
			Rule: f.Rule, Severity: string(f.Severity), Question: int(f.Question), Topic: f.Question.Short(),
			RequiresApproval: f.RequiresApproval, Path: path, Line: line,
		}
		var cut bool
		fd.Message, cut = clip(f.Message, maxMessage)
		res.Truncated = res.Truncated || cut
		fd.SafeWay, cut = clip(f.SafeAlternative, maxSafeWay)
		res.Truncated = res.Truncated || cut
		if f.Suppressed != nil {
			fd.Suppressed, _ = clip(f.Suppressed.Reason, maxNote)
		}
		size := len(fd.Rule) + len(fd.Path) + len(fd.Message) + len(fd.SafeWay) + len(fd.Suppressed) + 120
		if budget-size < 0 && len(res.Findings) > 0 {
			res.Truncated = true
			continue
		}
		budget -= size
		res.Findings = append(res.Findings, fd)
	}
	for i, n := range rep.Notes {
		if n == "" {
			continue
		}
		if i >= maxNotes || budget < len(n) {
			res.Truncated = true
			continue
		}
		c, cut := clip(n, maxNote)
		res.Truncated = res.Truncated || cut
		budget -= len(c)
		res.Notes = append(res.Notes, c)
	}
	if shown := len(res.Findings); shown < res.TotalFindings {
		res.Notes = append(res.Notes, fmt.Sprintf("%d of %d findings are shown (what needs approval first); run `migration-guard check` for all of them", shown, res.TotalFindings))
	}
	switch {
	case len(rep.Files) == 0:
		res.Verdict = "No changed migrations."
	case approvals > 0:
		res.Verdict = fmt.Sprintf("%d of %d findings need a human's approval before this merges.", approvals, res.TotalFindings)
	case res.TotalFindings > 0:
		res.Verdict = fmt.Sprintf("Nothing needs approval; %d findings to consider.", res.TotalFindings)
	default:
		res.Verdict = "Nothing found: nothing needs approval."
	}
	return res
}

// clip shortens s to at most n bytes at a character boundary.
func clip(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " … (cut)", true
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func summary(r analyzer.Rule) RuleSummary {
	return RuleSummary{ID: r.ID, Question: int(r.Question), Topic: r.Question.Short(), Severity: string(r.Severity), Title: r.Title}
}

func listRules(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, RuleList, error) {
	out := RuleList{Rules: []RuleSummary{}}
	for _, r := range analyzer.Rules() {
		out.Rules = append(out.Rules, summary(r))
	}
	return nil, out, nil
}

func explainRule(_ context.Context, _ *mcp.CallToolRequest, in RuleInput) (*mcp.CallToolResult, RuleDetail, error) {
	r, ok := analyzer.RuleByID(strings.TrimSpace(in.Rule))
	if !ok {
		var ids []string
		for _, r := range analyzer.Rules() {
			ids = append(ids, r.ID)
		}
		return nil, RuleDetail{}, fmt.Errorf("unknown rule %q; the rules are: %s", in.Rule, strings.Join(ids, ", "))
	}
	return nil, RuleDetail{RuleSummary: summary(r), Why: r.Why, Example: r.Example, SafeWay: r.Safe}, nil
}
