package cmd

import (
	"io"

	"github.com/spf13/cobra"
)

// bashFallback defines, where the bash-completion package is not loaded,
// the one function of it that cobra's bash completion calls
// (_get_comp_words_by_ref), so that completion works on a minimal server
// too: without it every TAB printed "command not found". With the package
// loaded, its own definition stays.
const bashFallback = `# hotfix: a stand-in for bash-completion's _get_comp_words_by_ref, for
# systems without that package (it keeps its own where it is loaded).
if ! declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
_get_comp_words_by_ref() {
    while [ $# -gt 0 ]; do
        case $1 in
        -n) shift 2 ;;
        cur) cur=${COMP_WORDS[COMP_CWORD]}; shift ;;
        prev) prev=${COMP_WORDS[COMP_CWORD-1]}; shift ;;
        words) words=("${COMP_WORDS[@]}"); shift ;;
        cword) cword=$COMP_CWORD; shift ;;
        *) shift ;;
        esac
    done
}
fi

`

// genBashCompletion writes the bash completion script: the fallback, then
// cobra's.
func genBashCompletion(root *cobra.Command, w io.Writer, descriptions bool) error {
	if _, err := io.WriteString(w, bashFallback); err != nil {
		return err
	}
	return root.GenBashCompletionV2(w, descriptions)
}

// useOwnBashCompletion makes "hotfix completion bash" print
// genBashCompletion's script instead of cobra's alone.
func useOwnBashCompletion(root *cobra.Command) {
	c, _, err := root.Find([]string{"completion", "bash"})
	if err != nil || c.Name() != "bash" {
		return
	}
	c.RunE = func(c *cobra.Command, _ []string) error {
		noDesc, _ := c.Flags().GetBool("no-descriptions")
		return genBashCompletion(root, c.OutOrStdout(), !noDesc)
	}
	c.Run = nil
}
