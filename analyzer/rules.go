package analyzer

import "sort"

// Rule describes one kind of finding. The registry below is the single source
// for findings, the `rules` and `explain` commands and docs/rules/.
type Rule struct {
	ID       string
	Question Question
	// Severity is the usual severity. A finding can be milder than its rule
	// when the object was created earlier in the same change (it is new and
	// empty, so nothing is lost or blocked).
	Severity Severity
	Title    string
	// Why explains the hazard for people who will decide on it.
	Why string
	// Example is a statement the rule reports; Safe is the safe way for it.
	Example string
	Safe    string
}

var registry = map[string]Rule{}

func register(r Rule) Rule {
	if _, dup := registry[r.ID]; dup {
		panic("analyzer: rule registered twice: " + r.ID)
	}
	registry[r.ID] = r
	return r
}

// Rules lists every rule, by question and then by id.
func Rules() []Rule {
	out := make([]Rule, 0, len(registry))
	for _, r := range registry {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Question != out[j].Question {
			return out[i].Question < out[j].Question
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// milderWhenNew are the rules whose findings turn info when the object
// was created earlier in the same change (newNote): a rule page says so
// only of them. Dropping a schema, a database or a sequence, SQL built at
// run time, COPY ... PROGRAM and the like are as dangerous on a new object.
var milderWhenNew = map[string]bool{
	"drop-table": true, "drop-view": true, "drop-index": true, "drop-type": true, "drop-column": true, "drop-constraint": true,
	"truncate": true, "delete-without-where": true, "update-without-where": true, "merge-matched": true, "copy-from": true,
	"rename-table": true, "rename-column": true, "rename-schema": true, "rename-type": true, "rename-constraint": true,
	"rename-enum-value": true, "domain-constraint": true, "drop-sequence": true,
}

// MilderWhenNew says whether the rule's findings are info when the object
// was created earlier in the same change.
func (r Rule) MilderWhenNew() bool { return milderWhenNew[r.ID] }

// RuleByID finds a rule.
func RuleByID(id string) (Rule, bool) {
	r, ok := registry[id]
	return r, ok
}

// finding starts a finding of rule r with its usual severity.
func (r Rule) finding(message string) Finding {
	return Finding{Rule: r.ID, Question: r.Question, Severity: r.Severity, Message: message, Why: r.Why}
}
