package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/demo"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

func demoCmd() *cobra.Command {
	var keep bool
	var slug string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Bring up a bottle against local fake upstreams and show what it lets out and what it stops",
		Long: `Bring up a real bottle with the test agent and local fake upstreams (an
HTTPS API that checks the injected token, a fake model API, an ssh git
server), then check:

  1. an allowed call with an injected credential succeeds
  2. a host off the allowlist is blocked
  3. a secret in a POST to an allowed host is blocked
  4. a push carrying a secret is rejected
  5. a clean push lands upstream
  6. Claude Code (the test image's stand-in) reaches its model with a
     credential it never holds (legacy shape: an API key; bundle: an
     OAuth token)

and print a report. Everything is torn down afterwards (also on Ctrl-C or
failure); nothing in your ~/.claude-bottle is read or written, and nothing
leaves this machine. Exits 1 if a check fails. The images are built from the
source tree when missing (run it from a claude-bottle checkout the first
time). CLAUDE_BOTTLE_SIDECAR_BUNDLE selects the shape.`,
		Example: `  claude-bottle demo
  CLAUDE_BOTTLE_SIDECAR_BUNDLE=1 claude-bottle demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var opt plan.Options
			opt.ApplyEnv(nil)
			rep, err := demo.Run(cmd.Context(), demo.Options{Bundle: opt.Bundle, Slug: slug, Progress: cmd.ErrOrStderr(), Keep: keep})
			if rep != nil {
				rep.Print(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if !rep.Passed() {
				return &ExitError{Code: 1, Err: errors.New("demo: a check failed (see the report above)")}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&keep, "keep-home", false, "keep the throwaway home (keys, state dir, logs) for debugging")
	c.Flags().StringVar(&slug, "slug", "", "use this slug instead of demo-<5 chars>")
	return c
}
