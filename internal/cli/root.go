// Package cli is the claude-bottle command line. Each command lives in its
// own file; cmd/claude-bottle only calls Execute.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/dashboard"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/kubectl"
)

// Version overrides the version read from the build info; set it at build
// time with -ldflags "-X github.com/claude-bottle/claude-bottle/internal/cli.Version=...".
var Version = ""

// Exit codes (listed in every --help and in README.md).
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitEngine      = 3
	ExitInterrupted = 130 // SIGINT (Ctrl-C), after a clean teardown
	ExitTerminated  = 143 // SIGTERM, after a clean teardown
)

const exitCodesHelp = `Exit codes:
  0    success
  1    failure (the message says what failed and what to do)
  2    usage error (unknown command or flag, wrong arguments)
  3    the Docker Engine (or, with --backend k8s, the cluster) does not answer
  130  interrupted by Ctrl-C (SIGINT), after tearing down what was started
  143  terminated (SIGTERM), after tearing down what was started
  exec, and start/resume while attached, exit with the agent command's status.
`

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
		Example: `  claude-bottle init                      # example bottles and agents in ~/.claude-bottle
  claude-bottle start --dry-run fixer     # the plan and every check, nothing started
  claude-bottle start fixer               # bring it up, attach claude, tear down at the end
  claude-bottle logs -f fixer-ab12c       # what its sidecars allow and block, live`,
		Version:       BuildInfo().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("claude-bottle {{.Version}}\n")
	root.AddCommand(
		// Bottles: bring up, work in, look at, take down.
		startCmd(), runCmd(), attachCmd(), resumeCmd(), execCmd(), listCmd(), infoCmd(), logsCmd(), stopCmd(), cleanupCmd(),
		// The operator's decisions on the agents' requests.
		dashboard.Command(),
		// Manifests and images.
		initCmd(), editCmd(), renderCmd(), buildCmd(),
		demoCmd(), versionCmd(),
	)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	markUsage(root)
	return root
}

// usageError is a command line the commands do not take (exit 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// markUsage makes argument-count errors usage errors, and puts the exit
// codes at the end of every command's help.
func markUsage(c *cobra.Command) {
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usageError{fmt.Errorf("%s: %w (see `%s --help`)", cmd.CommandPath(), err, cmd.CommandPath())}
			}
			return nil
		}
	}
	c.SetUsageTemplate(c.UsageTemplate() + "\n" + exitCodesHelp)
	for _, sub := range c.Commands() {
		markUsage(sub)
	}
}

// Execute runs the CLI and returns the process exit code. SIGINT and
// SIGTERM cancel the command's context: what it started is torn down
// (teardowns run on their own context) and the exit code says which
// signal it was.
func Execute() int {
	root := NewRoot()
	ctx, cancel := context.WithCancelCause(rootContext())
	defer cancel(nil)
	var got atomic.Value
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			if got.Load() == nil {
				got.Store(s)
				cancel(fmt.Errorf("interrupted by %v", s))
				continue
			}
			fmt.Fprintln(os.Stderr, "claude-bottle: still tearing down; it finishes in a moment")
		}
	}()
	err := root.ExecuteContext(ctx)
	if s, ok := got.Load().(os.Signal); ok {
		if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "claude-bottle:", err)
		}
		fmt.Fprintf(os.Stderr, "claude-bottle: interrupted (%v)\n", s)
		if s == syscall.SIGTERM {
			return ExitTerminated
		}
		return ExitInterrupted
	}
	return processExit(os.Stderr, err)
}

// processExit prints err (if any) and maps it to the process exit code.
func processExit(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "claude-bottle:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "claude-bottle:", err)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, engine.ErrUnreachable), errors.Is(err, kubectl.ErrUnreachable):
		return ExitEngine
	}
	return ExitFailure
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
	if code := commandExit(err); code > 0 {
		return &ExitError{Code: code}
	}
	return err
}
