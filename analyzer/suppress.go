package analyzer

import (
	"fmt"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// suppressionPrefix starts a suppression comment:
//
//	-- migration-guard:ignore drop-column reason="moved to archive.users in #123"
const suppressionPrefix = "migration-guard:ignore"

var (
	ruleSuppressionWithoutReason = register(Rule{
		ID: "suppression-without-reason", Question: QTransaction, Severity: Warning,
		Title: "Suppression without a reason",
		Why: "A suppression is a reviewed exception; without a reason the next reader cannot tell whether it was reviewed or just silenced. " +
			"It suppresses nothing until it says why.",
		Example: "-- migration-guard:ignore drop-column\nALTER TABLE users DROP COLUMN legacy;",
		Safe:    "-- migration-guard:ignore drop-column reason=\"copied to archive.users_legacy in #812\"\nALTER TABLE users DROP COLUMN legacy;",
	})
	ruleUnusedSuppression = register(Rule{
		ID: "unused-suppression", Question: QTransaction, Severity: Warning,
		Title: "Suppression that suppresses nothing",
		Why: "The statement after it has no finding of that rule (or the rule does not exist): the comment is stale or misspelt, " +
			"and a later change could hide behind it.",
		Example: "-- migration-guard:ignore drop-colum reason=\"typo\"\nALTER TABLE users DROP COLUMN legacy;",
		Safe:    "-- migration-guard:ignore drop-column reason=\"copied to archive.users_legacy in #812\"\nALTER TABLE users DROP COLUMN legacy;",
	})
)

// suppression is one parsed ignore comment.
type suppression struct {
	rules  []string
	reason string
	line   int
	used   map[string]bool
}

// parseSuppressions reads the ignore comments written right before a
// statement. The directive is migration-guard's own small syntax inside a
// SQL comment, so it is read with string functions; the comment itself was
// found by PostgreSQL's scanner.
func parseSuppressions(comments []sqlscript.Comment, lines *sqlscript.Lines) []*suppression {
	var out []*suppression
	for _, c := range comments {
		text := strings.TrimSpace(c.Text)
		switch {
		case strings.HasPrefix(text, "--"):
			text = strings.TrimSpace(strings.TrimPrefix(text, "--"))
		case strings.HasPrefix(text, "/*"):
			text = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(text, "/*"), "*/"))
		}
		if !strings.HasPrefix(text, suppressionPrefix) {
			continue
		}
		rest := strings.TrimSpace(strings.TrimPrefix(text, suppressionPrefix))
		s := &suppression{used: map[string]bool{}}
		s.line, _ = lines.Position(c.Start)
		if i := strings.Index(rest, "reason="); i >= 0 {
			s.reason = strings.TrimSpace(rest[i+len("reason="):])
			if len(s.reason) >= 2 && (s.reason[0] == '"' || s.reason[0] == '\'') {
				if end := strings.IndexByte(s.reason[1:], s.reason[0]); end >= 0 {
					s.reason = s.reason[1 : end+1]
				}
			}
			s.reason = strings.TrimSpace(s.reason)
			rest = rest[:i]
		}
		s.rules = strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		out = append(out, s)
	}
	return out
}

// applySuppressions marks the statement's findings that a reasoned
// suppression names, and reports suppressions that are unreasoned or unused.
// A suppression never lifts the approval a danger finding needs: the author
// writes the comment, and the approval must come from someone else.
func applySuppressions(c *stmtContext, sups []*suppression) {
	for _, s := range sups {
		if s.reason == "" {
			fd := ruleSuppressionWithoutReason.finding(fmt.Sprintf("the suppression of %s on line %d gives no reason=\"...\", so it suppresses nothing", strings.Join(s.rules, ", "), s.line))
			fd.Marker = Position{Line: s.line, Column: 1}
			c.report(fd)
			continue
		}
		for i := range c.stmt.Findings {
			f := &c.stmt.Findings[i]
			for _, id := range s.rules {
				if f.Rule == id && f.Suppressed == nil {
					f.Suppressed = &Suppression{Reason: s.reason, Line: s.line}
					if f.Severity != Danger {
						f.RequiresApproval = false
					}
					s.used[id] = true
				}
			}
		}
		for _, id := range s.rules {
			if s.used[id] {
				continue
			}
			msg := fmt.Sprintf("the suppression of %s on line %d matches no finding of this statement", id, s.line)
			if _, ok := RuleByID(id); !ok {
				msg = fmt.Sprintf("the suppression on line %d names %q, which is not a rule (`migration-guard rules` lists them)", s.line, id)
			}
			fd := ruleUnusedSuppression.finding(msg)
			fd.Marker = Position{Line: s.line, Column: 1}
			c.report(fd)
		}
		if len(s.rules) == 0 {
			fd := ruleUnusedSuppression.finding(fmt.Sprintf("the suppression on line %d names no rule", s.line))
			fd.Marker = Position{Line: s.line, Column: 1}
			c.report(fd)
		}
	}
}
