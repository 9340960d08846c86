package analyzer

import (
	"fmt"
	"time"

	"github.com/migration-guard/migration-guard/analyzer/layout"
)

// A finding a reviewer must read twice is noise: what one statement does
// is said once, by the most specific finding.

// foldRewriteIntoTypeChange reports the rewrite of a type change through
// the type finding already made on the statement: it takes the rewrite's
// size and estimate, and the lock finding's severity when that is worse.
// It says whether there was one to fold into.
func (c *stmtContext) foldRewriteIntoTypeChange(est *Estimate, size sizeNote) bool {
	for i := range c.stmt.Findings {
		f := &c.stmt.Findings[i]
		if f.Rule != ruleTypeRewrite.ID && f.Rule != ruleTypeNarrowing.ID {
			continue
		}
		f.Message += "; " + size.text
		if sev := lockSeverity(c, ruleTableRewrite, est, size); c.part != "down" && sev.Rank() > f.Severity.Rank() {
			f.Severity = sev
			f.RequiresApproval = c.cfg.NeedsApproval(sev)
		}
		return true
	}
	return false
}

// lockSeverity is the severity of lock work: the rule's, unless a known
// size gives an estimate under the threshold.
func lockSeverity(c *stmtContext, r Rule, est *Estimate, size sizeNote) Severity {
	if size.known && est != nil {
		switch high := time.Duration(est.HighMS) * time.Millisecond; {
		case high < c.cfg.Threshold()/10:
			return Info
		case high < c.cfg.Threshold():
			return Warning
		}
	}
	return r.Severity
}

// downHabit tells whether the project writes down migrations at all. A
// project whose migrations at the base never have one has decided not to
// roll back that way: asking for one on every new file would be noise.
type downHabit struct {
	// could counts the base migrations whose tool supports a down part;
	// with counts those that have one.
	could, with int
	// skipped counts the missing-down findings left out for that reason.
	skipped int
}

// neverWritesDown needs a few migrations to go by: one or two files
// without a down part are not yet a habit.
const neverWritesDown = 3

func (h *downHabit) count(m layout.Migration) {
	if !m.SupportsDown || m.Repeatable {
		return
	}
	h.could++
	if m.Down != nil || m.DownPath != "" {
		h.with++
	}
}

// skipMissingDown says whether missing-down is off for this project, and
// counts the finding it leaves out.
func (s *session) skipMissingDown() bool {
	h := &s.downParts
	if h.could >= neverWritesDown && h.with == 0 {
		h.skipped++
		return true
	}
	return false
}

// note says once why missing-down was not reported.
func (h *downHabit) note() string {
	if h.skipped == 0 {
		return ""
	}
	return fmt.Sprintf("missing-down is off: none of the %d migrations at the base has a down part, so this project does not write them (%s left out)",
		h.could, plural(h.skipped, "file", "files"))
}
