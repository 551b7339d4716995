// Package cli is the claude-bottle command line. Each command lives in its
// own file; cmd/claude-bottle only calls Execute.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/dashboard"
	"github.com/claude-bottle/claude-bottle/internal/engine"
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// NewRoot builds the command tree: every command is listed here, once
// (cobra sorts them for help).
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "claude-bottle",
		Short: "Run an AI coding agent with full permissions inside a Docker bottle",
		Long: `claude-bottle runs an AI coding agent (Claude Code first) inside a Docker
"bottle" whose only ways out are sidecars the agent cannot touch: an egress
proxy that injects credentials, a firewall that enforces a host allowlist and
blocks secret exfiltration, a git gate that scans and forwards pushes, and an
approval queue the operator answers.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		// Bottles: bring up, work in, look at, take down.
		startCmd(), runCmd(), attachCmd(), resumeCmd(), execCmd(), listCmd(), infoCmd(), stopCmd(), cleanupCmd(),
		// The operator's decisions on the agents' requests.
		dashboard.Command(),
		// Manifests and images.
		initCmd(), editCmd(), renderCmd(), buildCmd(),
		demoCmd(), versionCmd(),
	)
	return root
}

// Execute runs the CLI and returns the process exit code.
func Execute() int {
	root := NewRoot()
	ctx, stop := signal.NotifyContext(rootContext(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			if ee.Err != nil {
				fmt.Fprintln(os.Stderr, "claude-bottle:", ee.Err)
			}
			return ee.Code
		}
		fmt.Fprintln(os.Stderr, "claude-bottle:", err)
		return 1
	}
	return 0
}

// ExitError carries a specific exit code (e.g. from exec).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func warn(w io.Writer, msgs []string) {
	for _, m := range msgs {
		fmt.Fprintln(w, "warning:", m)
	}
}

// exitCode passes the status of a command run in a container through as
// the CLI's own (its output already reached the terminal); a call that did
// not get that far (the engine down) stays an error.
func exitCode(err error) error {
	var e *engine.Error
	if errors.As(err, &e) && !e.Unreachable && e.ExitCode > 0 {
		return &ExitError{Code: e.ExitCode}
	}
	return err
}
