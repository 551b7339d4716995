package cli

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
)

// Shell completion of the names commands take: bottle slugs (from the
// state dirs), agent names (home and the current repo) and bottle names.
// Completion never asks the Docker Engine: it must answer at once.

func completeSlugs(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	return withPrefix(slugNames(), prefix), cobra.ShellCompDirectiveNoFileComp
}

func completeAgents(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return withPrefix(agentNames(), prefix), cobra.ShellCompDirectiveNoFileComp
}

// completeSlugsOrAgents serves `info`, which takes either.
func completeSlugsOrAgents(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return withPrefix(append(slugNames(), agentNames()...), prefix), cobra.ShellCompDirectiveNoFileComp
}

// completeManifests serves `edit`: bottles and agents in the home.
func completeManifests(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	home, err := layout.Home()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	f := manifest.Finder{Home: home}
	b, _ := f.ListBottles()
	a, _ := f.ListAgents()
	return withPrefix(append(b, a...), prefix), cobra.ShellCompDirectiveNoFileComp
}

func slugNames() []string {
	ps, err := paths()
	if err != nil {
		return nil
	}
	entries, _ := os.ReadDir(ps.StateRoot())
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

func agentNames() []string {
	home, err := layout.Home()
	if err != nil {
		return nil
	}
	cwd, _ := os.Getwd()
	names, _ := manifest.Finder{Home: home, Cwd: cwd}.ListAgents()
	return names
}

func withPrefix(names []string, prefix string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
