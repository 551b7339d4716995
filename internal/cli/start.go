package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/claude-bottle/claude-bottle/internal/composecli"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

func startCmd() *cobra.Command {
	var (
		dryRun, yes, detach, withCwd bool
		slug                         string
		where                        targetFlags
	)
	c := &cobra.Command{
		Use:   "start [agent]",
		Short: "Resolve the agent's bottle, show the plan, bring the bottle up and attach the agent",
		Long: `Resolve the agent and its bottle, print the plan and ask y/N, then bring the
bottle up, attach claude interactively and tear everything down when it exits
(Ctrl-C at any step tears down too).

With --detach the bottle is brought up, its slug printed, and the command
returns; "claude-bottle attach <slug>" attaches claude (again and again),
"claude-bottle stop <slug>" tears it down. For one unattended task see
"claude-bottle run". Without --detach, standard input must be a terminal
(checked before anything starts).

--dry-run prints the plan and runs every check start runs before it
creates anything: the host variables are set, each git identity_file is a
readable private key (mode 0600, no passphrase), every env value fits in a
container's environment, and the images are on the engine or can be built
(checked when the engine answers). Allowlist entries that can never pass
(IP literals, localhost) and path_allowlist entries that can never match
(".." segments, globs) are errors in the bottle file itself.`,
		Example: `  claude-bottle start --dry-run fixer
  claude-bottle start fixer
  claude-bottle start --cwd fixer            # with a copy of this work tree in /workspace
  slug=$(claude-bottle start --detach fixer) && claude-bottle attach "$slug"`,
		ValidArgsFunction: completeAgents,
		Args:              cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if detach && name == "" {
				return usageError{errors.New("start --detach needs the agent's name")}
			}
			// Attaching needs a terminal: say so before anything starts.
			if !detach && !dryRun {
				if err := needTerminal(cmd, "start"); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			planOut := stdout
			if detach {
				planOut = stderr
			}
			tgt, err := where.target()
			if err != nil {
				return err
			}
			b, err := prepareBottle(ctx, name, slug, dryRun, planOut, stderr, tgt)
			if err != nil {
				return err
			}
			if dryRun {
				return nil
			}
			if !yes && !detach {
				ok, err := confirm(cmd.InOrStdin(), stderr, "Start this bottle?")
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("not started")
				}
			}
			down, sess, err := b.up(ctx, withCwd, stderr)
			if err != nil {
				return err
			}
			p := b.plan
			if detach {
				fmt.Fprintln(stdout, p.Slug)
				return nil
			}
			defer tearDown(down, stderr)
			return attachSession(ctx, b.agent, p.StateDir, sess, false, cmd.InOrStdin(), stdout, stderr)
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and check the host environment; start nothing (no Docker needed)")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask y/N")
	c.Flags().BoolVar(&detach, "detach", false, "bring the bottle up, print its slug and return")
	c.Flags().BoolVar(&withCwd, "cwd", false, "copy the current work tree (with its .git) into the agent at "+launch.Workspace)
	c.Flags().StringVar(&slug, "slug", "", "use this slug instead of a random <agent>-<5 chars>")
	where.add(c)
	return c
}

// forgetBottle removes the state and queue dirs of a bottle whose start
// was interrupted (after its teardown).
func forgetBottle(p *plan.Plan, stderr io.Writer) {
	ps, err := paths()
	if err != nil {
		return
	}
	for _, d := range []string{string(p.StateDir), ps.QueueDir(p.Slug)} {
		if err := os.RemoveAll(d); err != nil {
			warn(stderr, []string{fmt.Sprintf("could not remove %s: %v", d, err)})
		}
	}
}

// detectCompose starts looking for the Compose tool in the background and
// returns a function that waits for the answer.
func detectCompose(ctx context.Context) func() (*composecli.Runner, error) {
	type result struct {
		r   *composecli.Runner
		err error
	}
	ch := make(chan result, 1)
	go func() {
		cache := ""
		if ps, err := paths(); err == nil {
			cache = ps.ComposeCache()
		}
		r, err := composecli.DetectCached(ctx, cache)
		ch <- result{r, err}
	}()
	var once sync.Once
	var res result
	return func() (*composecli.Runner, error) {
		once.Do(func() { res = <-ch })
		return res.r, res.err
	}
}

// newLauncher fills the launcher with the Compose tool detect finds (nil:
// look now).
func newLauncher(ctx context.Context, progress io.Writer, detect func() (*composecli.Runner, error)) (*launch.Launcher, error) {
	if detect == nil {
		detect = detectCompose(ctx)
	}
	r, err := detect()
	if err != nil {
		return nil, err
	}
	home, _ := os.UserHomeDir()
	l := &launch.Launcher{Compose: r, Progress: progress, UserHome: home, Env: os.Environ()}
	if v := os.Getenv("CLAUDE_BOTTLE_HEALTH_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("CLAUDE_BOTTLE_HEALTH_TIMEOUT=%q: give a positive Go duration such as 5m", v)
		}
		l.HealthTimeout = d
	}
	if u, err := user.Current(); err == nil {
		l.SidecarUID, l.SidecarGID = u.Uid, u.Gid
	}
	return l, nil
}

// ensureImages makes sure the sidecar and agent images exist: the project's
// own images are built from the source tree when it is at hand, a bottle's
// Dockerfile is built every time (isolated: engine.BuildIsolated), and
// anything else must already be there.
func ensureImages(ctx context.Context, p *plan.Plan, progress io.Writer) error {
	if b := p.AgentBuild; b != nil {
		// Always built, even when the tag exists: the agent may have been
		// told its new Dockerfile was approved, and an old image under the
		// same tag is not that Dockerfile's.
		path := filepath.Join(b.Context, b.Dockerfile)
		df, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("bottle dockerfile %s: %w", path, err)
		}
		fmt.Fprintf(progress, "==> building %s from %s (empty context, no network)\n", p.AgentImage, path)
		if err := engine.BuildIsolated(ctx, progress, p.AgentImage, df); err != nil {
			return fmt.Errorf("building %s from %s: %w (the build sees only the Dockerfile and has no network: COPY/ADD of local files and downloads in RUN fail; base it on an image that has what it needs)", p.AgentImage, path, err)
		}
	}
	var ours []string
	for _, img := range []string{p.SidecarImage, p.AgentImage} {
		if p.AgentBuild != nil && img == p.AgentImage {
			continue
		}
		if ok, err := engine.ImageExists(ctx, img); err != nil {
			return err
		} else if ok {
			continue
		}
		switch img {
		case images.Sidecars, images.AgentTest:
			ours = append(ours, img)
		default:
			if img == images.Agent {
				return fmt.Errorf("image %s (Claude Code) is not on this engine; build it with `claude-bottle build --agent` where the npm registry is reachable, or name another agent image in the bottle's image key", img)
			}
			return fmt.Errorf("image %s is not on this engine and claude-bottle does not pull; build it (`claude-bottle build` for the project's images) or name another in the bottle's image key", img)
		}
	}
	if len(ours) > 0 {
		fmt.Fprintf(progress, "==> building %s\n", strings.Join(ours, ", "))
		if err := images.Ensure(ctx, images.Options{Progress: progress}, ours...); err != nil {
			return fmt.Errorf("%w (run `claude-bottle build` from the claude-bottle source tree)", err)
		}
	}
	return nil
}

// teardownFunc stops one bottle, wherever it runs.
type teardownFunc func(ctx context.Context) error

// dockerDown is the teardown of a bottle on the Docker Engine.
func dockerDown(l *launch.Launcher, p *plan.Plan) teardownFunc {
	return func(ctx context.Context) error { return l.Teardown(ctx, p.Project, p.StateDir) }
}

// tearDown runs the teardown with its own context: the command's may be
// cancelled (Ctrl-C) by now.
func tearDown(down teardownFunc, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := down(ctx); err != nil {
		fmt.Fprintln(stderr, "claude-bottle: teardown:", err)
	}
}

// needTerminal fails unless standard input is a terminal: the command
// attaches claude interactively.
func needTerminal(cmd *cobra.Command, what string) error {
	if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return usageError{fmt.Errorf("%s attaches claude interactively and needs a terminal on standard input; run it in a terminal, or use --detach and then `claude-bottle exec <slug>`", what)}
}

func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false, errors.New("no answer on standard input; pass --yes to start without asking")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// collectSecrets reads the bottle's host variables and, on a terminal, asks
// its "?prompt" entries.
func collectSecrets(p *plan.Plan, stderr io.Writer) (*launch.Secrets, error) {
	var ask launch.Prompter
	if term.IsTerminal(int(os.Stdin.Fd())) {
		ask = terminalPrompt(stderr)
	}
	return launch.CollectSecrets(p, nil, ask)
}

func terminalPrompt(out io.Writer) launch.Prompter {
	return func(text string) (string, error) {
		fmt.Fprintf(out, "%s: ", text)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(out)
		return string(b), err
	}
}
