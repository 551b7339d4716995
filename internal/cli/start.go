package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func startCmd() *cobra.Command {
	var (
		dryRun bool
		slug   string
	)
	c := &cobra.Command{
		Use:   "start [agent]",
		Short: "Resolve the agent's bottle, show the plan, bring the bottle up and attach the agent",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			p, err := resolvePlan(name, slug, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			p.Describe(cmd.OutOrStdout())
			// A missing token or host variable is an error before anything
			// starts, dry run or not.
			if err := p.MissingHostEnv(nil); err != nil {
				return err
			}
			if dryRun {
				return nil
			}
			return errors.New("starting a bottle needs the docker backend, which this build does not have yet; use --dry-run")
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and check the host environment; start nothing (no Docker needed)")
	c.Flags().StringVar(&slug, "slug", "", "use this slug instead of a random <agent>-<5 chars>")
	return c
}
