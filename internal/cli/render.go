package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/backend"
	"github.com/claude-bottle/claude-bottle/internal/compose"
)

func renderCmd() *cobra.Command {
	var slug string
	var v1 bool
	var whichBackend func() (backend.Kind, error)
	c := &cobra.Command{
		Use:   "render <agent>",
		Short: "Print the bottle's compose file (no Docker needed)",
		Long: `Print the compose file the agent's bottle would run with. The shape follows
CLAUDE_BOTTLE_SIDECAR_BUNDLE (bundle when set to a true value), the sidecar
image CLAUDE_BOTTLE_SIDECAR_IMAGE. Token values are never printed: token slots
appear by name only.`,
		Example: `  claude-bottle render fixer
  claude-bottle render --compose-v1 --slug fixer-ab12c fixer > docker-compose.yml`,
		ValidArgsFunction: completeAgents,
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			be, err := whichBackend()
			if err != nil {
				return err
			}
			if be == backend.K8s {
				return fmt.Errorf("render --backend k8s is not built yet")
			}
			p, err := resolvePlan(args[0], slug, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			doc, err := compose.Render(p)
			if err != nil {
				return err
			}
			if v1 {
				doc = compose.ForComposeV1(doc)
			}
			out, err := compose.Marshal(doc)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	whichBackend = backendFlag(c)
	c.Flags().StringVar(&slug, "slug", "", "use this slug instead of a random <agent>-<5 chars>")
	c.Flags().BoolVar(&v1, "compose-v1", false, "print the file as docker-compose 1.x takes it (no top-level name:; pass -p <project>)")
	return c
}
