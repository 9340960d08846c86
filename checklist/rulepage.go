package checklist

import (
	"fmt"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer"
)

// RulePage is a rule's documentation page in Markdown: docs/rules/<id>.md
// and `migration-guard explain <id>` print the same text.
func RulePage(r analyzer.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", r.ID)
	fmt.Fprintf(&b, "**%s** · question %d, %s · severity `%s`", r.Title, r.Question, r.Question.Short(), r.Severity)
	if r.Severity == analyzer.Danger {
		b.WriteString(" (requires a human's approval)")
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "> %s\n\n", r.Question.Title())
	fmt.Fprintf(&b, "## Why it matters\n\n%s\n\n", r.Why)
	if r.Severity != analyzer.Info && r.MilderWhenNew() {
		b.WriteString("When the object was created earlier in the same change, it is new and empty: the finding is `info` and needs no approval.\n\n")
	}
	fmt.Fprintf(&b, "## Reported\n\n```sql\n%s\n```\n\n", r.Example)
	fmt.Fprintf(&b, "## The safe way\n\n```sql\n%s\n```\n\n", r.Safe)
	if adviceOnly(r.Safe) {
		b.WriteString("In a report, the safe way is written for the statement itself: SQL with its real names where the rule has a rewrite for it, advice where it has none.\n")
	} else {
		b.WriteString("In a report, the safe way is written with the statement's real names.\n")
	}
	if when := r.WhenNoSafeSQL(); when != "" {
		fmt.Fprintf(&b, "\n## When no safe SQL is printed\n\n%s\n", when)
	}
	return b.String()
}

// adviceOnly says whether a safe way is comments only: the page shows what
// a person does, and a report may print advice alone, with no SQL to fill
// with the statement's names.
func adviceOnly(safe string) bool {
	for _, line := range strings.Split(safe, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
			return false
		}
	}
	return true
}
