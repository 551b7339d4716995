package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/claude-bottle/claude-bottle/internal/composecli"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

func startCmd() *cobra.Command {
	var (
		dryRun, yes, detach, withCwd bool
		slug                         string
	)
	c := &cobra.Command{
		Use:   "start [agent]",
		Short: "Resolve the agent's bottle, show the plan, bring the bottle up and attach the agent",
		Long: `Resolve the agent and its bottle, print the plan and ask y/N, then bring the
bottle up, attach claude interactively and tear everything down when it exits
(Ctrl-C at any step tears down too).

With --detach the bottle is brought up, its slug printed, and the command
returns; "claude-bottle stop <slug>" tears it down.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if detach && name == "" {
				return errors.New("start --detach needs the agent's name")
			}
			ctx := cmd.Context()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			runtime := ""
			var detect func() (*composecli.Runner, error)
			if !dryRun {
				// A Python docker-compose takes ~0.5 s to print its
				// version: find the tool while the checks below run.
				detect = detectCompose(ctx)
				runtime = launch.GVisorRuntime(ctx)
			}
			p, err := resolvePlanWith(name, slug, stderr, func(o *plan.Options) { o.Runtime = runtime })
			if err != nil {
				return err
			}
			progress := stderr
			if !detach {
				p.Describe(stdout)
			} else {
				p.Describe(stderr)
			}
			// A missing token or host variable is an error before anything
			// starts, dry run or not.
			if err := p.MissingHostEnv(nil); err != nil {
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
			secrets, err := collectSecrets(p, stderr)
			if err != nil {
				return err
			}
			for _, k := range launch.ShortSecrets(p, secrets) {
				warn(stderr, []string{fmt.Sprintf("env.%s is shorter than %d characters: pipelock cannot match it exactly without false alarms, so it is not watched", k, launch.MinKnownSecretLen)})
			}
			warnings, err := launch.Preflight(ctx, p)
			if err != nil {
				return err
			}
			warn(stderr, warnings)
			if runtime != "" {
				fmt.Fprintf(stderr, "==> using the %s runtime for the agent\n", runtime)
			}
			// No Compose tool: say so before building any image.
			l, err := newLauncher(ctx, progress, detect)
			if err != nil {
				return err
			}
			if err := ensureImages(ctx, p, progress); err != nil {
				return err
			}
			if err := l.Up(ctx, p, secrets); err != nil {
				return err
			}
			if withCwd {
				wd, _ := os.Getwd()
				if err := launch.CopyWorkTree(ctx, p, wd, progress); err != nil {
					tearDown(l, p, stderr)
					return err
				}
			}
			if detach {
				fmt.Fprintln(stdout, p.Slug)
				return nil
			}
			defer tearDown(l, p, stderr)
			return attach(ctx, p, withCwd)
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and check the host environment; start nothing (no Docker needed)")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask y/N")
	c.Flags().BoolVar(&detach, "detach", false, "bring the bottle up, print its slug and return")
	c.Flags().BoolVar(&withCwd, "cwd", false, "copy the current work tree (with its .git) into the agent at "+launch.Workspace)
	c.Flags().StringVar(&slug, "slug", "", "use this slug instead of a random <agent>-<5 chars>")
	return c
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
	if u, err := user.Current(); err == nil {
		l.SidecarUID, l.SidecarGID = u.Uid, u.Gid
	}
	return l, nil
}

// ensureImages makes sure the sidecar and agent images exist: the project's
// own images are built from the source tree when it is at hand, a bottle's
// Dockerfile is built, and anything else must already be there.
func ensureImages(ctx context.Context, p *plan.Plan, progress io.Writer) error {
	var ours []string
	for _, img := range []string{p.SidecarImage, p.AgentImage} {
		if ok, err := engine.ImageExists(ctx, img); err != nil {
			return err
		} else if ok {
			continue
		}
		switch img {
		case images.Sidecars, images.AgentTest:
			ours = append(ours, img)
		default:
			if p.AgentBuild != nil && img == p.AgentImage {
				fmt.Fprintf(progress, "==> building %s from %s\n", img, p.AgentBuild.Dockerfile)
				if err := engine.Build(ctx, progress, "-t", img, "-f", p.AgentBuild.Context+"/"+p.AgentBuild.Dockerfile, p.AgentBuild.Context); err != nil {
					return fmt.Errorf("building %s from %s/%s: %w", img, p.AgentBuild.Context, p.AgentBuild.Dockerfile, err)
				}
				continue
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

// attach runs claude in the agent container, interactively.
func attach(ctx context.Context, p *plan.Plan, inWorkspace bool) error {
	c := layout.AgentContainer(p.Slug)
	u, err := launch.LookupAgentUser(ctx, c)
	if err != nil {
		return err
	}
	spec := engine.ExecSpec{Container: c, User: u.Name, TTY: true, Stdio: engine.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}}
	if inWorkspace {
		spec.Dir = launch.Workspace
	}
	argv := []string{"claude"}
	if p.Agent.Prompt != "" {
		argv = append(argv, "--append-system-prompt-file", launch.SystemPromptPath(u))
	}
	return exitCode(engine.Exec(ctx, spec, argv...))
}

// tearDown runs the teardown with its own context: the command's may be
// cancelled (Ctrl-C) by now.
func tearDown(l *launch.Launcher, p *plan.Plan, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := l.Teardown(ctx, p.Project, p.StateDir); err != nil {
		fmt.Fprintln(stderr, "claude-bottle: teardown:", err)
	}
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
