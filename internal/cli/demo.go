package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/examples"
	"github.com/claude-bottle/claude-bottle/internal/compose"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

func demoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Plan and render the embedded demo bottle (no set-up needed)",
		Long: `Run claude-bottle on its embedded demo bottle and agent, in a throwaway home:
resolve the manifests, build the bottle plan and render its compose project
in the shape CLAUDE_BOTTLE_SIDECAR_BUNDLE selects. Nothing in your
~/.claude-bottle is read or written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := os.MkdirTemp("", "claude-bottle-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(home)
			if err := installExamples(home); err != nil {
				return err
			}
			r, err := manifest.Finder{Home: home}.Resolve("demo")
			if err != nil {
				return fmt.Errorf("embedded demo: %w", err)
			}
			opt := plan.Options{Home: home, SidecarUser: sidecarUser()}
			opt.ApplyEnv(nil)
			p, err := plan.New(r.Agent, r.Bottle, opt)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			p.Describe(out)
			doc, err := compose.Render(p)
			if err != nil {
				return err
			}
			y, err := compose.Marshal(doc)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\nCompose project %s (%d services):\n\n%s", p.Project, doc.Services.Len(), y)
			fmt.Fprintf(out, "\nThe demo bottle was planned and rendered. To make it yours, copy examples/bottles/demo.md to ~/.claude-bottle/bottles/ and examples/agents/demo.md to ~/.claude-bottle/agents/.\n")
			return nil
		},
	}
}

// installExamples copies the embedded bottles and agents into home.
func installExamples(home string) error {
	return fs.WalkDir(examples.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == "." {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(home, path), 0o755)
		}
		if filepath.Ext(path) != ".md" {
			return nil
		}
		data, err := fs.ReadFile(examples.FS, path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(home, path), data, 0o644)
	})
}
