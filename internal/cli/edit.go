package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
)

func editCmd() *cobra.Command {
	var asBottle, asAgent bool
	c := &cobra.Command{
		Use:   "edit <name>",
		Short: "Open a bottle or agent file in $EDITOR, then check it",
		Long: `Open ~/.claude-bottle/bottles/<name>.md or agents/<name>.md in $VISUAL or
$EDITOR (vi when neither is set), then parse it again and report any error
with its file and key. When both a bottle and an agent have the name, say
which with --bottle or --agent.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if !manifest.ValidName(name) {
				return fmt.Errorf("%q is not a bottle or agent name (lower-case letters, digits and '-')", name)
			}
			home, err := layout.Home()
			if err != nil {
				return err
			}
			bottle := filepath.Join(home, "bottles", name+".md")
			agent := filepath.Join(home, "agents", name+".md")
			hasB, hasA := exists(bottle), exists(agent)
			var file string
			isAgent := false
			switch {
			case asBottle && asAgent:
				return errors.New("--bottle and --agent exclude each other")
			case asBottle:
				file = bottle
			case asAgent:
				file, isAgent = agent, true
			case hasB && hasA:
				return fmt.Errorf("both %s and %s exist; say which with --bottle or --agent", bottle, agent)
			case hasB:
				file = bottle
			case hasA:
				file, isAgent = agent, true
			default:
				return fmt.Errorf("no bottle or agent named %q: neither %s nor %s exists (create one with --bottle or --agent, or run `claude-bottle init`)", name, bottle, agent)
			}
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				return err
			}
			if err := runEditor(file); err != nil {
				return err
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if isAgent {
				a, err := manifest.ParseAgent(name, file, data)
				if err != nil {
					return err
				}
				// The agent must still resolve to its bottle.
				if _, err := (manifest.Finder{Home: home}).Resolve(a.Name); err != nil {
					return err
				}
				fmt.Fprintf(out, "%s is valid (agent %s, bottle %s)\n", file, a.Name, a.Bottle)
				return nil
			}
			if _, err := manifest.ParseBottle(name, file, data); err != nil {
				return err
			}
			fmt.Fprintf(out, "%s is valid (bottle %s)\n", file, name)
			return nil
		},
	}
	c.Flags().BoolVar(&asBottle, "bottle", false, "edit bottles/<name>.md")
	c.Flags().BoolVar(&asAgent, "agent", false, "edit agents/<name>.md")
	return c
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}

// runEditor runs $VISUAL or $EDITOR (which may carry arguments, e.g.
// "code --wait") on file, on the terminal.
func runEditor(file string) error {
	ed := os.Getenv("VISUAL")
	if ed == "" {
		ed = os.Getenv("EDITOR")
	}
	if ed == "" {
		ed = "vi"
	}
	c := exec.Command("sh", "-c", ed+` "$1"`, "editor", file)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("editor %q on %s: %w (set $EDITOR to your editor)", ed, file, err)
	}
	return nil
}
