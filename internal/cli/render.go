package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/backend"
	"github.com/claude-bottle/claude-bottle/internal/compose"
	"github.com/claude-bottle/claude-bottle/internal/kuberender"
)

func renderCmd() *cobra.Command {
	var slug, namespace string
	var v1 bool
	var whichBackend func() (backend.Kind, error)
	c := &cobra.Command{
		Use:   "render <agent>",
		Short: "Print the bottle's compose file or Kubernetes objects (no engine or cluster needed)",
		Long: `Print the compose file the agent's bottle would run with, or with --backend k8s
(or CLAUDE_BOTTLE_BACKEND=k8s) the Kubernetes objects, as YAML. The compose
shape follows CLAUDE_BOTTLE_SIDECAR_BUNDLE (bundle when set to a true value);
Kubernetes always gets the bundle shape: one sidecars Pod and the agent Pod.
The sidecar image is CLAUDE_BOTTLE_SIDECAR_IMAGE. Token values are never
printed: token slots appear by name only, and the Kubernetes ConfigMaps and
Secrets list their keys with empty values ("filled at start").`,
		Example: `  claude-bottle render fixer
  claude-bottle render --compose-v1 --slug fixer-ab12c fixer > docker-compose.yml
  claude-bottle render --backend k8s --slug fixer-ab12c fixer`,
		ValidArgsFunction: completeAgents,
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			be, err := whichBackend()
			if err != nil {
				return err
			}
			if be != backend.K8s && namespace != "" {
				return usageError{fmt.Errorf("render: --namespace is for --backend k8s")}
			}
			if be == backend.K8s && v1 {
				return usageError{fmt.Errorf("render: --compose-v1 is for the docker backend, not k8s")}
			}
			p, err := resolvePlan(args[0], slug, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			var out []byte
			if be == backend.K8s {
				objs, err := kuberender.Render(p, kuberender.Inputs{Namespace: namespace})
				if err != nil {
					return err
				}
				if out, err = kuberender.Marshal(objs); err != nil {
					return err
				}
			} else {
				doc, err := compose.Render(p)
				if err != nil {
					return err
				}
				if v1 {
					doc = compose.ForComposeV1(doc)
				}
				if out, err = compose.Marshal(doc); err != nil {
					return err
				}
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	whichBackend = backendFlag(c)
	c.Flags().StringVar(&slug, "slug", "", "use this slug instead of a random <agent>-<5 chars>")
	c.Flags().BoolVar(&v1, "compose-v1", false, "print the file as docker-compose 1.x takes it (no top-level name:; pass -p <project>)")
	c.Flags().StringVar(&namespace, "namespace", "", "with --backend k8s: put the objects in this existing namespace instead of their own claude-bottle-<slug>")
	return c
}
