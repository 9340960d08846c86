package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/checklist"
)

func newRulesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rules",
		Short: "List every rule with its question and severity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printRules(cmd.OutOrStdout())
		},
	}
}

// printRules writes the rule table: id, question, severity and title.
func printRules(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "RULE\tQUESTION\tSEVERITY\tTITLE")
	for _, r := range analyzer.Rules() {
		fmt.Fprintf(w, "%s\t%d %s\t%s\t%s\n", r.ID, r.Question, r.Question.Short(), r.Severity, r.Title)
	}
	return w.Flush()
}

func newExplainCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "explain [RULE]",
		Short: "Print a rule's page: why it matters and the safe way",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				// No rule named: show what can be named instead of a usage error.
				fmt.Fprintln(cmd.ErrOrStderr(), "explain takes a rule id; the rules are:")
				return printRules(cmd.OutOrStdout())
			}
			r, ok := analyzer.RuleByID(args[0])
			if !ok {
				var ids []string
				for _, r := range analyzer.Rules() {
					ids = append(ids, r.ID)
				}
				return fail("unknown rule %q; `migration-guard rules` lists them (%s)", args[0], strings.Join(ids, ", "))
			}
			_, err := fmt.Fprint(cmd.OutOrStdout(), checklist.RulePage(r))
			return err
		},
	}
}
