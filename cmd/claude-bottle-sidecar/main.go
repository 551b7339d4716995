// Command claude-bottle-sidecar is the one static binary behind every sidecar:
// each daemon is a subcommand, and "init" is PID 1 of the bundled service.
package main

import (
	"fmt"
	"os"

	"github.com/claude-bottle/claude-bottle/internal/egress"
	"github.com/claude-bottle/claude-bottle/internal/gitgate"
	"github.com/claude-bottle/claude-bottle/internal/pipelock"
	"github.com/claude-bottle/claude-bottle/internal/sidecarinit"
	"github.com/claude-bottle/claude-bottle/internal/supervise"
)

var commands = map[string]func(args []string) int{
	"egress":    egress.Main,
	"pipelock":  pipelock.Main,
	"git-gate":  gitgate.Main,
	"supervise": supervise.Main,
	"init":      sidecarinit.Main,
	"health":    sidecarinit.HealthMain,
	"hook":      gitgate.HookMain,
}

const usage = `usage: claude-bottle-sidecar <command> [flags]

commands:
  egress     credential-injecting TLS-intercepting proxy (:9099)
  pipelock   allowlist / DLP / SSRF firewall proxy (:8888)
  git-gate   the agent's only git remote (git:// :9418)
  supervise  MCP server that queues the agent's requests (:9100)
  init       PID 1 of the bundled sidecars service
  health     healthcheck for the daemons named in CLAUDE_BOTTLE_SIDECAR_DAEMONS
  hook       git hooks run by git-gate

Run "claude-bottle-sidecar <command> --help" for a command's flags and config.
`

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	run, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "claude-bottle-sidecar: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	os.Exit(run(os.Args[2:]))
}
