package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/claude-bottle/claude-bottle/internal/claudecode"
	"github.com/claude-bottle/claude-bottle/internal/composecli"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/kubelaunch"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// maxTask bounds a task: it travels as one argument of claude, and Linux
// takes at most 128 KiB in one.
const maxTask = 100 << 10

func runCmd() *cobra.Command {
	var (
		withCwd, keep, asJSON bool
		slug, task, taskFile  string
		where                 targetFlags
	)
	c := &cobra.Command{
		Use:   "run <agent> (-p <task> | --prompt-file <file>)",
		Short: "Bring a bottle up, run Claude Code on one task unattended, pass its exit code on, tear down",
		Long: `Bring the agent's bottle up (no y/N: the plan goes to stderr), run
"claude -p <task>" in it with full permissions, stream its output live, and
exit with claude's exit code. The bottle is torn down at the end (Ctrl-C
included) unless --keep; "claude-bottle attach <slug>" then continues the
conversation. Several runs may go side by side from one shell: each has its
own slug, state dir and containers.

With --json claude's output streams to stderr and stdout gets one JSON
object: slug, agent, exit_code, kept, state_dir and output (claude's stdout).`,
		Example: `  claude-bottle run fixer -p "make the failing test in ./pkg/x pass"
  claude-bottle run --keep fixer --prompt-file task.md
  claude-bottle run --json fixer -p "summarise TODO.md" | jq .exit_code`,
		ValidArgsFunction: completeAgents,
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if (task == "") == (taskFile == "") {
				return errors.New("run needs exactly one of -p <task> and --prompt-file <file>")
			}
			if taskFile != "" {
				data, err := os.ReadFile(taskFile)
				if err != nil {
					return fmt.Errorf("--prompt-file: %w", err)
				}
				task = string(data)
			}
			if strings.TrimSpace(task) == "" {
				return errors.New("the task is empty; say what the agent should do with -p or --prompt-file")
			}
			if len(task) > maxTask {
				return fmt.Errorf("the task is %d bytes; at most %d fit in claude's command line: put the long part in a file of the work tree (--cwd) and point the task at it", len(task), maxTask)
			}
			tgt, err := where.target()
			if err != nil {
				return err
			}
			b, err := prepareBottle(ctx, args[0], slug, false, stderr, stderr, tgt)
			if err != nil {
				return err
			}
			down, sess, err := b.up(ctx, withCwd, stderr)
			if err != nil {
				return err
			}
			if !keep {
				defer tearDown(down, stderr)
			}
			out := stdout
			var captured bytes.Buffer
			if asJSON {
				out = io.MultiWriter(stderr, &limitWriter{w: &captured, n: 1 << 20})
			}
			start := time.Now()
			code, err := runTask(ctx, b.agent, b.plan, sess, task, out, stderr)
			if err != nil {
				return err
			}
			if keep {
				fmt.Fprintf(stderr, "==> kept %s: `claude-bottle attach %s` continues, `claude-bottle stop %s` tears it down\n", b.plan.Slug, b.plan.Slug, b.plan.Slug)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(runResult{Slug: b.plan.Slug, Agent: b.plan.Agent.Name, ExitCode: code, Kept: keep, StateDir: string(b.plan.StateDir), Seconds: time.Since(start).Seconds(), Output: captured.String()}); err != nil {
					return err
				}
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&task, "prompt", "p", "", "the task for claude")
	c.Flags().StringVar(&taskFile, "prompt-file", "", "read the task from this file")
	c.Flags().BoolVar(&withCwd, "cwd", false, "copy the current work tree (with its .git) into the agent at "+launch.Workspace+" and run there")
	c.Flags().BoolVar(&keep, "keep", false, "leave the bottle up after the task (attach, exec, stop)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON on stdout (claude's output goes to stderr)")
	c.Flags().StringVar(&slug, "slug", "", "use this slug instead of a random <agent>-<5 chars>")
	where.add(c)
	return c
}

type runResult struct {
	Slug     string  `json:"slug"`
	Agent    string  `json:"agent"`
	ExitCode int     `json:"exit_code"`
	Kept     bool    `json:"kept"`
	StateDir string  `json:"state_dir"`
	Seconds  float64 `json:"seconds"`
	Output   string  `json:"output"`
}

// limitWriter keeps the first n bytes and drops the rest.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// runTask runs claude -p in the bottle, streaming its output, and records
// what the agent does for `list`.
func runTask(ctx context.Context, a launch.Agent, p *plan.Plan, sess *state.Session, task string, stdout, stderr io.Writer) (int, error) {
	inv := claudecode.Invocation{Flags: sess.Flags}
	_ = state.WriteActivity(p.StateDir, state.TaskRunning, 0)
	code, err := execCode(ctx, a, engine.ExecSpec{
		User: sess.User, Dir: sess.Dir,
		Stdio: engine.Stdio{Stdout: stdout, Stderr: stderr},
	}, inv.Print(task))
	if err != nil {
		if ctx.Err() != nil {
			_ = state.WriteActivity(p.StateDir, state.Exited, 130)
		}
		return code, err
	}
	_ = state.WriteActivity(p.StateDir, state.Exited, code)
	return code, nil
}

func attachCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "attach <slug>",
		Short: "Attach an interactive claude to a running bottle (continuing its last conversation)",
		Long: `Run claude interactively in a bottle brought up with "start --detach" or
"run --keep", with the flags it started with. When the agent has a
conversation in its working directory, "claude --continue" picks it up.
Exits with claude's exit code; the bottle stays up ("claude-bottle stop").`,
		Example:           "  claude-bottle attach fixer-ab12c",
		ValidArgsFunction: completeSlugs,
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			m, sd, err := loadBottle(args[0])
			if err != nil {
				return err
			}
			c := m.Containers["agent"]
			if m.Kube == nil {
				if st, ok, err := engine.Inspect(ctx, c); err != nil {
					return err
				} else if !ok || st.Status != "running" {
					return fmt.Errorf("bottle %s is not running; `claude-bottle resume %s` brings it back", m.Slug, m.Slug)
				}
			}
			a, err := agentOf(m)
			if err != nil {
				return err
			}
			sess, err := state.ReadSession(sd)
			if err != nil {
				return fmt.Errorf("bottle %s has no session record (%v); run claude with `claude-bottle exec %s -- claude`", m.Slug, err, m.Slug)
			}
			cont := hasConversation(ctx, a, sess)
			return attachSession(ctx, a, sd, sess, cont, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

// attachSession runs an interactive claude, with a terminal when stdin is
// one, and passes its exit code on.
func attachSession(ctx context.Context, a launch.Agent, sd layout.StateDir, sess *state.Session, cont bool, stdin io.Reader, stdout, stderr io.Writer) error {
	tty := false
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
	}
	inv := claudecode.Invocation{Flags: sess.Flags}
	_ = state.WriteActivity(sd, state.Attached, 0)
	code, err := execCode(ctx, a, engine.ExecSpec{
		User: sess.User, Dir: sess.Dir, TTY: tty,
		Stdio: engine.Stdio{Stdin: stdin, Stdout: stdout, Stderr: stderr},
	}, inv.Interactive(cont))
	if err != nil {
		return err
	}
	_ = state.WriteActivity(sd, state.Exited, code)
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// execCode runs a process in the container and returns its exit code; err
// is for a process that could not run (or a cancelled ctx).
func execCode(ctx context.Context, a launch.Agent, s engine.ExecSpec, argv []string) (int, error) {
	err := agentExec(ctx, a, s, argv)
	if ctx.Err() != nil {
		return -1, context.Cause(ctx)
	}
	if code := commandExit(err); code >= 0 {
		return code, nil
	}
	return -1, err
}

// testUpstream is plan.Options.TestUpstream for every bottle this process
// starts. Only this package's cluster tests set it (the Docker escape
// suite sets the option through launch.Launcher instead): the binary has
// no flag for it, so a real bottle never trusts a test CA.
var testUpstream *plan.TestUpstream

var nonAlnum = regexp.MustCompile(`[^A-Za-z0-9]`)

// hasConversation reports whether claude keeps a transcript for the
// session's working directory (~/.claude/projects/<dir with every
// non-alphanumeric as "-">/*.jsonl), which is what --continue resumes.
func hasConversation(ctx context.Context, a launch.Agent, sess *state.Session) bool {
	dir := nonAlnum.ReplaceAllString(sess.Dir, "-")
	err := agentExec(ctx, a, engine.ExecSpec{User: sess.User}, []string{"sh", "-c", `ls "$HOME/.claude/projects/$1/"*.jsonl >/dev/null 2>&1`, "sh", dir})
	return err == nil
}

// bottle is a resolved plan on its way up.
type bottle struct {
	plan    *plan.Plan
	inv     claudecode.Invocation
	runtime string
	detect  func() (*composecli.Runner, error)
	target
	// agent reaches the agent container once the bottle is up.
	agent launch.Agent
}

// prepareBottle resolves the agent and its bottle, prints the plan and how
// claude will run to w (warnings to stderr), and checks the host environment. dryRun asks for
// no Docker at all.
func prepareBottle(ctx context.Context, name, slug string, dryRun bool, w, stderr io.Writer, tgt target) (*bottle, error) {
	b := &bottle{target: tgt}
	if tgt.kube != nil {
		if !dryRun {
			b.runtime = kubelaunch.GVisorRuntimeClass(ctx, tgt.kube)
		}
	} else if !dryRun {
		// A Python docker-compose takes ~0.5 s to print its version:
		// find the tool while the checks below run.
		b.detect = detectCompose(ctx)
		b.runtime = launch.GVisorRuntime(ctx)
	}
	p, err := resolvePlanWith(name, slug, stderr, func(o *plan.Options) {
		o.Runtime = b.runtime
		// A cluster always runs the sidecars as one Pod (kuberender).
		o.Bundle = o.Bundle || b.kube != nil
		o.TestUpstream = testUpstream
	})
	if err != nil {
		return nil, err
	}
	b.plan = p
	p.Describe(w)
	prompt := ""
	if p.Agent.Prompt != "" {
		prompt = "~/.claude-bottle/system-prompt.md"
	}
	if b.inv, err = claudecode.Build(p.Agent, prompt); err != nil {
		return nil, err
	}
	describeClaude(w, b.inv)
	// A missing token or host variable is an error before anything
	// starts, dry run or not.
	if err := p.MissingHostEnv(nil); err != nil {
		return nil, err
	}
	if b.kube != nil && p.AgentBuild != nil {
		return nil, fmt.Errorf("%s: key dockerfile: a bottle that builds its agent image cannot run on Kubernetes yet; build the image, import it into the cluster and name it in the image key", p.Bottle.File)
	}
	if dryRun {
		// Everything start checks before it creates anything.
		w, err := startChecks(ctx, p, nil, b.kube == nil)
		warn(stderr, w)
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(stderr, "==> dry run: every check passed; nothing was started")
	}
	return b, nil
}

func describeClaude(w io.Writer, inv claudecode.Invocation) {
	fmt.Fprintf(w, "  claude:       %s\n", strings.Join(inv.Interactive(false), " "))
	fmt.Fprintf(w, "  agent keys:   passed to claude: %s; ignored: %s\n", listOrNone(inv.Passed), listOrNone(inv.Ignored))
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// up brings the bottle up (secrets, preflight, images, compose, health,
// provisioning), copies the work tree in when asked, and records how
// claude runs in it. On failure nothing is left running.
func (b *bottle) up(ctx context.Context, withCwd bool, stderr io.Writer) (teardownFunc, *state.Session, error) {
	p := b.plan
	secrets, err := collectSecrets(p, stderr)
	if err != nil {
		return nil, nil, err
	}
	if w, err := startChecks(ctx, p, secrets, b.kube == nil); err != nil {
		return nil, nil, err
	} else {
		warn(stderr, w)
	}
	for _, k := range launch.ShortSecrets(p, secrets) {
		warn(stderr, []string{fmt.Sprintf("env.%s is shorter than %d characters: pipelock cannot match it exactly without false alarms, so it is not watched", k, launch.MinKnownSecretLen)})
	}
	if b.kube != nil {
		return b.upKube(ctx, secrets, withCwd, stderr)
	}
	warnings, err := launch.Preflight(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	warn(stderr, warnings)
	if b.runtime != "" {
		fmt.Fprintf(stderr, "==> using the %s runtime for the agent\n", b.runtime)
	}
	// No Compose tool: say so before building any image.
	l, err := newLauncher(ctx, stderr, b.detect)
	if err != nil {
		return nil, nil, err
	}
	if err := ensureImages(ctx, p, stderr); err != nil {
		return nil, nil, err
	}
	if err := l.Up(ctx, p, secrets); err != nil {
		// Up has torn down what it started. Interrupted, the bottle
		// never was: its state dir goes too, so list does not show a
		// "stopped" bottle nobody started. A failed start keeps it
		// (compose.log) for the post-mortem.
		if ctx.Err() != nil {
			forgetBottle(p, stderr)
		}
		return nil, nil, err
	}
	b.agent = launch.DockerAgent(layout.AgentContainer(p.Slug))
	down := dockerDown(l, p)
	sess, err := b.session(ctx, withCwd, stderr)
	if err != nil {
		tearDown(down, stderr)
		return nil, nil, err
	}
	return down, sess, nil
}

func (b *bottle) session(ctx context.Context, withCwd bool, stderr io.Writer) (*state.Session, error) {
	p := b.plan
	if b.agent == nil {
		b.agent = launch.DockerAgent(layout.AgentContainer(p.Slug))
	}
	u, err := launch.LookupUser(ctx, b.agent)
	if err != nil {
		return nil, err
	}
	dir := u.Home
	if withCwd {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(stderr, "==> copying the work tree in")
		if err := launch.CopyWorkTreeTo(ctx, b.agent, wd, stderr); err != nil {
			return nil, err
		}
		dir = launch.Workspace
	}
	prompt := ""
	if p.Agent.Prompt != "" {
		prompt = launch.SystemPromptPath(u)
	}
	inv, err := claudecode.Build(p.Agent, prompt)
	if err != nil {
		return nil, err
	}
	sess := &state.Session{User: u.Name, Dir: dir, Flags: inv.Flags}
	if err := state.WriteSession(p.StateDir, sess); err != nil {
		return nil, err
	}
	return sess, nil
}
