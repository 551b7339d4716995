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
which with --bottle or --agent. A new name (with --bottle or --agent)
starts from a commented template of every key.`,
		Example: `  claude-bottle edit work                 # the bottle or agent named work
  claude-bottle edit --bottle scratch     # a new bottle, from a template
  claude-bottle edit --agent reviewer     # a new agent, from a template`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeManifests,
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
			if !exists(file) {
				tmpl := bottleTemplate
				if isAgent {
					b := "CHANGE-ME"
					if names, _ := (manifest.Finder{Home: home}).ListBottles(); len(names) > 0 {
						b = names[0]
					}
					tmpl = fmt.Sprintf(agentTemplate, b, name)
				}
				if err := os.WriteFile(file, []byte(tmpl), 0o644); err != nil {
					return err
				}
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

// bottleTemplate is a new bottle: every key, commented out. As written it
// is a valid bottle that grants nothing.
const bottleTemplate = `---
# A bottle: what an agent running in it may reach. Uncomment what it needs.
# Bottles live only in your home (~/.claude-bottle/bottles); a repository
# can never grant itself hosts or credentials.
#
# env:                              # the agent's environment
#   GIT_AUTHOR_NAME: Agent          #   a literal value
#   API_KEY: ${MY_API_KEY}          #   a host variable, read at start
#   PASSWORD: "?Password for X"     #   asked at start (hidden input)
#
# git:                              # remotes the git gate mirrors and pushes to
#   - name: app                     #   the agent sees git://<gate>/app.git
#     upstream: ssh://git@git.example.com/org/app.git
#     identity_file: ~/.ssh/id_ed25519_app      # mode 0600, no passphrase
#     known_host_key: "ssh-ed25519 AAAA..."     # required: ssh-keyscan the host
#     push_branches: ["agent/*"]                # optional branch policy (globs)
#
# egress:
#   allowlist: [pypi.org]           # host names the firewall lets through
#   allow_ip_literals: []           # public IP addresses the agent may use directly
#   routes:                         # hosts egress injects a credential for
#     - host: api.github.com
#       path_allowlist: [/repos/org/app]        # path prefixes; absent = any
#       auth: { scheme: Bearer, token_ref: GH_PAT }   # token from a host variable
#
# supervise: true                   # the agent may ask for more (claude-bottle dashboard)
# image: my-agent:latest            # a prebuilt agent image instead of Claude Code's
# dockerfile: ./Dockerfile          # or build the agent image from this file
---
`

// agentTemplate is a new agent (%s: a bottle, %s: its name).
const agentTemplate = `---
bottle: %s                  # the bottle it runs in (~/.claude-bottle/bottles/<name>.md)
# description: What this agent does.
# skills: [my-skill]         # copied from ~/.claude/skills/<name>/
# model: sonnet              # Claude Code's own subagent keys pass through
---
You are %s. Describe the agent's task here: this text is its system prompt.
`
