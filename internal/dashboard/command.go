package dashboard

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
)

// Command is `claude-bottle dashboard [--once] [--json]`; the CLI registers
// it on its root command.
func Command() *cobra.Command {
	var once, asJSON bool
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Review the agents' pending requests (hosts, credentials, images) and approve, edit or reject them",
		Long: `dashboard lists the supervise proposals of every bottle, oldest first,
each with the change approving it makes to the bottle's live config.

Keys: a approve · e edit in $EDITOR, then approve · r reject with a reason ·
j/k move · q quit. Approved routes and hosts take effect at once (the
sidecars reload); a new Dockerfile stops the bottle for a rebuild
(claude-bottle resume <slug>).

--once prints the pending proposals and exits (--json for JSON).`,
		Example: `  claude-bottle dashboard
  claude-bottle dashboard --once
  claude-bottle dashboard --once --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := layout.Home()
			if err != nil {
				return err
			}
			b := NewFileBackend(layout.Paths{Root: home})
			if once || asJSON {
				return PrintOnce(cmd.OutOrStdout(), b, asJSON)
			}
			p := tea.NewProgram(NewModel(b), tea.WithInput(cmd.InOrStdin()), tea.WithOutput(cmd.OutOrStdout()))
			_, err = p.Run()
			return err
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "print the pending proposals and exit")
	cmd.Flags().BoolVar(&asJSON, "json", false, "with --once: print JSON")
	return cmd
}

// OnceItem is one proposal in `dashboard --once --json`.
type OnceItem struct {
	Slug          string          `json:"slug"`
	ID            string          `json:"id"`
	Kind          string          `json:"kind"`
	CreatedAt     time.Time       `json:"created_at"`
	Summary       string          `json:"summary"`
	Justification string          `json:"justification"`
	Proposal      *queue.Proposal `json:"proposal"`
	Diff          string          `json:"diff,omitempty"`
	Warnings      []string        `json:"warnings,omitempty"`
	NeedsEdit     string          `json:"needs_edit,omitempty"`
}

// OnceOutput is the whole JSON document.
type OnceOutput struct {
	Pending  []OnceItem      `json:"pending"`
	Problems []queue.Problem `json:"problems,omitempty"`
}

// PrintOnce writes the pending proposals as text or JSON.
func PrintOnce(w io.Writer, b Backend, asJSON bool) error {
	items, probs, err := b.Load()
	if err != nil {
		return err
	}
	out := OnceOutput{Pending: []OnceItem{}, Problems: probs}
	for _, it := range items {
		p := it.Entry.Proposal
		out.Pending = append(out.Pending, OnceItem{Slug: it.Entry.Slug, ID: p.ID, Kind: p.Kind, CreatedAt: p.CreatedAt,
			Summary: Summary(p), Justification: p.Justification, Proposal: p, Diff: it.Diff, Warnings: it.Warnings, NeedsEdit: it.PlanErr})
	}
	if asJSON {
		data, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(jsonSafe(data), '\n'))
		return err
	}
	_, err = io.WriteString(w, FormatText(out))
	return err
}

// FormatText renders OnceOutput for a terminal or a log.
func FormatText(out OnceOutput) string {
	var sb strings.Builder
	if len(out.Pending) == 0 {
		sb.WriteString("no pending proposals\n")
	} else {
		fmt.Fprintf(&sb, "%d pending proposal(s), oldest first:\n", len(out.Pending))
	}
	for i, it := range out.Pending {
		fmt.Fprintf(&sb, "\n[%d] %s  bottle %s  %s  %s\n", i+1, it.ID, clean(it.Slug), it.Kind, it.CreatedAt.Local().Format("2006-01-02 15:04:05"))
		fmt.Fprintf(&sb, "    request: %s\n", clean(it.Summary))
		if r := it.Proposal.Route; r != nil && r.Auth != nil {
			fmt.Fprintf(&sb, "    credential requested: %s %s\n", clean(r.Auth.Scheme), clean(r.Auth.Description))
		}
		for _, w := range it.Warnings {
			fmt.Fprintf(&sb, "    WARNING: %s\n", clean(w))
		}
		if it.NeedsEdit != "" {
			fmt.Fprintf(&sb, "    cannot approve as is: %s\n", clean(it.NeedsEdit))
		}
		if it.Diff != "" {
			fmt.Fprintf(&sb, "    changes:\n      %s\n", indent(clean(it.Diff), "      "))
		}
		// The agent's words last, behind a gutter: they cannot pass for a
		// changes block of ours.
		fmt.Fprintf(&sb, "    why (the agent's words):\n      | %s\n", indent(clean(it.Justification), "      | "))
	}
	for _, p := range out.Problems {
		fmt.Fprintf(&sb, "unreadable: %s: %s\n", clean(p.Path), clean(p.Err))
	}
	return sb.String()
}
