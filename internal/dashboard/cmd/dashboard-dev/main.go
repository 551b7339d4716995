// Command dashboard-dev runs `dashboard` (the same cobra command the CLI
// registers) on its own, so the dashboard can be tested and tried before or
// without the full claude-bottle CLI: dashboard-dev dashboard [--once].
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/dashboard"
)

func main() {
	root := &cobra.Command{Use: "claude-bottle", SilenceUsage: true}
	root.AddCommand(dashboard.Command())
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}
