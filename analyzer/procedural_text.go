package analyzer

import (
	"fmt"
)

// judgeTextCalls judges SQL text a statement hands, as a string constant,
// to a function that no migration read defines and that is not
// PostgreSQL's own: a project's run_migration(n, $$ ... $$) defined outside
// its migration folder runs what it is given, and a DROP inside would
// otherwise pass unseen. The text is judged as if it ran where it is
// written, like a DO block; strings that do not parse as statements are
// ordinary values and left alone.
func (s *session) judgeTextCalls(c *stmtContext, rules []statementRule, run procRun) []Statement {
	var out []Statement
	for _, tc := range c.cat.TextCalls(c.node, c.source()) {
		if remoteSQL[tc.Name[len(tc.Name)-1]] {
			continue
		}
		inner := run
		inner.depth++
		inner.prefix = run.prefix + fmt.Sprintf("passed as SQL text to %s(), which no migration read defines: judged as if it runs it: ", qualified(tc.Name...))
		out = append(out, s.judgeBody(c, tc.Body, rules, inner)...)
	}
	return out
}
