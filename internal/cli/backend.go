package cli

import (
	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/backend"
)

// backendFlag adds --backend to c and returns what resolves it when the
// command runs: the flag, else $CLAUDE_BOTTLE_BACKEND, else docker. A bad
// value is a usage error (exit 2) naming the value and the valid ones.
// Every command that runs or finds bottles takes the flag through here.
func backendFlag(c *cobra.Command) func() (backend.Kind, error) {
	var v string
	c.Flags().StringVar(&v, backend.FlagName, "", backend.Usage)
	_ = c.RegisterFlagCompletionFunc(backend.FlagName, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		names := make([]string, len(backend.All))
		for i, k := range backend.All {
			names[i] = string(k)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return func() (backend.Kind, error) {
		k, err := backend.Resolve(v, nil)
		if err != nil {
			return "", usageError{err}
		}
		return k, nil
	}
}
