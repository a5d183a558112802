package cmd

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// answerFlags are the --yes and --assumeno of the commands that change the
// root (install, rollback), as in dnf: on a terminal they ask unless told.
type answerFlags struct {
	Yes bool
	No  bool
}

func (a *answerFlags) register(c *cobra.Command) {
	c.Flags().BoolVarP(&a.Yes, "yes", "y", false, "do not ask for confirmation")
	c.Flags().BoolVar(&a.No, "assumeno", false, "show what would be done and answer no: nothing changes (exit 0)")
}

// check refuses --yes with --assumeno: one of them is a mistake.
func (a *answerFlags) check(cmd string) error {
	if a.Yes && a.No {
		return usagef("%s: --yes and --assumeno contradict each other: give one", cmd)
	}
	return nil
}

// mustAsk reports whether the command shows its plan and waits for an
// answer: on a terminal unless --yes, and always with --assumeno (which
// answers itself). Runs from scripts and schedules are never asked.
func (a *answerFlags) mustAsk(g *globalOptions) bool {
	return a.No || (!a.Yes && g.isTerminal(g.stdin))
}

// ask asks whether to go on, after the plan was shown. A declined
// question is an error (exit 1: the administrator stopped the command);
// --assumeno is an answer given ahead, a preview, so it is not.
func (a *answerFlags) ask(g *globalOptions, what string) (bool, error) {
	if a.No {
		fmt.Fprintf(g.stdout, "Proceed? [y/N] no (--assumeno): nothing was %s\n", what)
		return false, nil
	}
	fmt.Fprint(g.stdout, "Proceed? [y/N] ")
	// No answer (end of input, a read error) is no.
	answer, _ := bufio.NewReader(g.stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return false, fmt.Errorf("cancelled: nothing was %s", what)
	}
	return true, nil
}
