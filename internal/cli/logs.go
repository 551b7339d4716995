package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/activity"
	"github.com/claude-bottle/claude-bottle/internal/backend"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

func logsCmd() *cobra.Command {
	var follow, asJSON, blocked bool
	var which func() (backend.Kind, error)
	c := &cobra.Command{
		Use:   "logs <slug>",
		Short: "What the bottle's sidecars decided: requests allowed and blocked, credentials injected, pushes, proposals, restarts",
		Long: `One time-ordered stream of what the sidecars decided: every request allowed
or blocked (with the rule and reason), the credential slot egress injected
(the slot's name, never its value), pushes accepted or refused, proposals
and the operator's answers, daemon starts and restarts. It reads the running
sidecars and the logs saved by earlier runs (compose.log, kept across
resume), so it works after stop as well.

Only known fields are shown; a request's path is not (it may carry the very
secret that was blocked), and the host of a request blocked by a DLP rule is
cut to its last two labels. Bytes the agent or an upstream controls are
escaped in the human form.`,
		Example: `  claude-bottle logs fixer-ab12c
  claude-bottle logs -f --blocked fixer-ab12c
  claude-bottle logs --json fixer-ab12c | jq 'select(.kind=="push")'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeSlugs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, sd, err := loadBottle(args[0])
			if err != nil {
				return err
			}
			if err := checkBackend(which, cmd, m); err != nil {
				return err
			}
			src, err := logSource(cmd.Context(), m, sd)
			if err != nil {
				// The saved logs are still worth showing.
				warn(cmd.ErrOrStderr(), []string{err.Error()})
			}
			out := cmd.OutOrStdout()
			emit := func(e activity.Event) error { return activity.Human(out, e) }
			if asJSON {
				emit = func(e activity.Event) error { return activity.JSON(out, e) }
			}
			var keep activity.Filter
			if blocked {
				keep = activity.Event.Blocked
			}
			if follow {
				if len(src.Sidecars) == 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "bottle %s is not running: its saved logs, then answers as they come\n", m.Slug)
				}
				return activity.Follow(cmd.Context(), src, keep, emit)
			}
			evs, err := activity.History(cmd.Context(), src)
			if err != nil {
				return err
			}
			for _, e := range evs {
				if keep != nil && !keep(e) {
					continue
				}
				if err := emit(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing events as they happen")
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	c.Flags().BoolVar(&blocked, "blocked", false, "only refusals: blocked requests, refused pushes and fetches, rejected proposals")
	which = backendFlag(c)
	return c
}

// logSource names the bottle's running sidecar containers (none when the
// engine says the project is not up).
func logSource(ctx context.Context, m *state.Metadata, sd layout.StateDir) (activity.Source, error) {
	if m.Kube != nil {
		return kubeLogSource(ctx, m, sd)
	}
	src := activity.Source{Slug: m.Slug, StateDir: sd, Logs: engine.StreamLogs}
	live, err := engine.LiveProjects(ctx)
	if err != nil {
		return src, fmt.Errorf("%v: only the logs saved in %s are shown", err, sd.ComposeLog())
	}
	if !live[m.Project] {
		return src, nil
	}
	for _, role := range slices.Sorted(maps.Keys(m.Containers)) {
		if role != "agent" {
			src.Sidecars = append(src.Sidecars, m.Containers[role])
		}
	}
	return src, nil
}
