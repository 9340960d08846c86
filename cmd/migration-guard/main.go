// Command migration-guard reviews PostgreSQL migrations: as a GitHub App
// (serve) and on a checkout or in CI (check).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit statuses of every command.
const (
	exitOK       = 0
	exitApproval = 1 // something requires a human's approval
	exitError    = 2 // usage, I/O or git error
)

// exitError carries an exit status through cobra.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// fail wraps an error with the usage/I-O exit status.
func fail(format string, args ...any) error {
	return &statusError{status: exitError, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the process's exit status, so
// that tests can drive the whole CLI in-process.
func run(args []string) int {
	root := newRootCommand(args)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var se *statusError
	if errors.As(err, &se) {
		if se.err != nil && se.err != errApprovalNeeded {
			fmt.Fprintf(os.Stderr, "migration-guard: %v\n", se.err)
		}
		return se.status
	}
	// Cobra's own errors (unknown flag, wrong arguments) are usage errors.
	fmt.Fprintf(os.Stderr, "migration-guard: %v\n", err)
	return exitError
}

var errApprovalNeeded = errors.New("approval needed")

// newRootCommand builds the command tree for the command line args. The
// flags of serve are left out when args name another command first: no
// other command reads them, not even for its help, and building them is
// most of the tree's cost for every short run of check.
func newRootCommand(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "migration-guard",
		Short: "Keeps dangerous PostgreSQL migrations from merging unreviewed",
		Long: `migration-guard reads PostgreSQL migrations with PostgreSQL's own parser, knows the
schema the earlier migrations built, and answers six questions for every changed
statement: drops, type changes, constraints that can fail, renames, transactions,
and locks on production data.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	serve, addServeFlags := newServeCommand()
	root.AddCommand(newVersionCommand(), newCheckCommand(), newRehearseCommand(), newRulesCommand(), newExplainCommand(), serve, newStatsCommand(), newCalibrateCommand(), newMCPCommand(), newReviewCommand(), newTrySafeWaysCommand())
	if len(args) == 0 || !namesOtherCommand(root, serve, args[0]) {
		addServeFlags()
	}
	return root
}

// namesOtherCommand reports whether arg is the name or an alias of one of
// root's commands other than except. Cobra's own help and completion
// commands are added when the tree runs, after this, so that "help serve"
// still finds serve's flags.
func namesOtherCommand(root, except *cobra.Command, arg string) bool {
	for _, c := range root.Commands() {
		if c != except && (c.Name() == arg || c.HasAlias(arg)) {
			return true
		}
	}
	return false
}
