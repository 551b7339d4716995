package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/examples"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

func initCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create ~/.claude-bottle with the example bottles and agents (never overwrites a file)",
		Long: `Create the claude-bottle home (~/.claude-bottle, or $CLAUDE_BOTTLE_HOME) with
bottles/ and agents/ holding the embedded examples. A file that already
exists is left as it is and reported; run "claude-bottle edit <name>" to
change one.`,
		Example: `  claude-bottle init
  CLAUDE_BOTTLE_HOME=/tmp/cb claude-bottle init`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := layout.Home()
			if err != nil {
				return err
			}
			created, kept, err := installExamples(home)
			out := cmd.OutOrStdout()
			for _, f := range created {
				fmt.Fprintf(out, "created %s\n", f)
			}
			for _, f := range kept {
				fmt.Fprintf(out, "kept    %s (already there)\n", f)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "claude-bottle home: %s — try `claude-bottle start --dry-run demo`\n", home)
			return nil
		},
	}
}

// installExamples copies the embedded bottles and agents into home,
// creating each file exclusively: an existing file is never overwritten.
func installExamples(home string) (created, kept []string, err error) {
	err = fs.WalkDir(examples.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == "." {
			return err
		}
		dst := filepath.Join(home, path)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if filepath.Ext(path) != ".md" {
			return nil
		}
		data, err := fs.ReadFile(examples.FS, path)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			kept = append(kept, dst)
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", dst, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		created = append(created, dst)
		return nil
	})
	return created, kept, err
}
