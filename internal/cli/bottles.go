package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/claude-bottle/claude-bottle/internal/backend"
	"github.com/claude-bottle/claude-bottle/internal/compose"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

func paths() (layout.Paths, error) {
	home, err := layout.Home()
	return layout.Paths{Root: home}, err
}

// loadBottle reads a bottle's metadata by slug.
func loadBottle(slug string) (*state.Metadata, layout.StateDir, error) {
	ps, err := paths()
	if err != nil {
		return nil, "", err
	}
	sd := layout.StateDir(ps.StateDir(slug))
	m, err := state.Read(sd)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, sd, fmt.Errorf("no bottle %q: %s does not exist (see `claude-bottle list`)", slug, sd.Metadata())
	}
	return m, sd, err
}

func stopCmd() *cobra.Command {
	var which func() (backend.Kind, error)
	c := &cobra.Command{
		Use:               "stop <slug>",
		Short:             "Tear a bottle down (its logs are saved to compose.log first)",
		Example:           "  claude-bottle stop fixer-ab12c",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeSlugs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, sd, err := loadBottle(args[0])
			if err != nil {
				return err
			}
			if err := checkBackend(which, cmd, m); err != nil {
				return err
			}
			if m.Kube != nil {
				return kubeStop(cmd.Context(), m, sd, cmd.ErrOrStderr())
			}
			// Without the engine the Compose tool would fail with its
			// own traceback; say it in one line and change nothing.
			if _, err := engine.ServerVersion(cmd.Context()); err != nil {
				return fmt.Errorf("cannot stop %s: %w", m.Slug, err)
			}
			l, err := newLauncher(cmd.Context(), cmd.ErrOrStderr(), nil)
			if err != nil {
				return err
			}
			return l.Teardown(cmd.Context(), m.Project, sd)
		},
	}
	which = backendFlag(c)
	return c
}

func execCmd() *cobra.Command {
	var noTTY bool
	c := &cobra.Command{
		Use:   "exec <slug> [-- <command...>]",
		Short: "Run a command (or a shell) in the agent container as the agent user; exits with its status",
		Long: `Run a command in the bottle's agent container as the agent user and exit
with its status. With no command, open a shell there (bash when the image
has it). A terminal is allocated when standard input and output are
terminals (--no-tty to never allocate one).`,
		Example: `  claude-bottle exec fixer-ab12c                 # a shell in the agent container
  claude-bottle exec fixer-ab12c -- git -C /workspace log -1
  claude-bottle exec fixer-ab12c -- claude        # attach claude again`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeSlugs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, _, err := loadBottle(args[0])
			if err != nil {
				return err
			}
			a, err := agentOf(m)
			if err != nil {
				return err
			}
			u, err := launch.LookupUser(cmd.Context(), a)
			if err != nil {
				return err
			}
			command := args[1:]
			if len(command) == 0 {
				command = []string{"sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l"}
			}
			spec := engine.ExecSpec{User: u.Name, Stdio: engine.Stdio{Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()}}
			spec.TTY = !noTTY && isTerminal(cmd.InOrStdin()) && isTerminal(cmd.OutOrStdout())
			return exitCode(agentExec(cmd.Context(), a, spec, command))
		},
	}
	c.Flags().BoolVar(&noTTY, "no-tty", false, "never allocate a terminal")
	return c
}

// isTerminal reports whether a command's stream is a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bottleRow is one line of `list`.
type bottleRow struct {
	Slug    string `json:"slug"`
	Agent   string `json:"agent"`
	Bottle  string `json:"bottle"`
	Shape   string `json:"shape"`
	Running bool   `json:"running"`
	// Status is running, stopped, or unknown (the engine did not answer;
	// Why says what it said).
	Status  string `json:"status"`
	Why     string `json:"why,omitempty"`
	Created string `json:"created"`
	State   string `json:"state_dir"`
	// Activity is what the agent does: "task running", "attached", "idle",
	// "exited with code N".
	Activity string `json:"activity"`
}

func listBottles(cmd *cobra.Command, only backend.Kind) ([]bottleRow, error) {
	ps, err := paths()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(ps.StateRoot())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	type found struct {
		sd layout.StateDir
		m  *state.Metadata
	}
	var bottles []found
	var kubeconfigs []string
	docker := false
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sd := layout.StateDir(ps.StateDir(e.Name()))
		m, err := state.Read(sd)
		if err != nil {
			continue
		}
		if only != "" && (m.Kube != nil) != (only == backend.K8s) {
			continue
		}
		bottles = append(bottles, found{sd, m})
		if m.Kube == nil {
			docker = true
		} else if !slices.Contains(kubeconfigs, m.Kube.Kubeconfig) {
			kubeconfigs = append(kubeconfigs, m.Kube.Kubeconfig)
		}
	}
	var live map[string]bool
	var lerr error
	if docker {
		live, lerr = engine.LiveProjects(cmd.Context())
		if lerr != nil {
			warn(cmd.ErrOrStderr(), []string{"cannot tell which bottles run: " + lerr.Error()})
		}
	}
	kubeLiveSet, kerrs := kubeLive(cmd.Context(), kubeconfigs)
	for _, cfg := range kubeconfigs {
		if err := kerrs[cfg]; err != nil {
			warn(cmd.ErrOrStderr(), []string{"cannot tell which bottles run on the cluster: " + err.Error()})
		}
	}
	var rows []bottleRow
	for _, b := range bottles {
		m, sd := b.m, b.sd
		shape := "legacy"
		if m.Bundle {
			shape = "bundle"
		}
		running, why := live[m.Project], lerr
		if m.Kube != nil {
			shape = "k8s"
			running, why = kubeLiveSet[m.Kube.Kubeconfig+"\x00"+m.Slug], kerrs[m.Kube.Kubeconfig]
		}
		act, _ := state.ReadActivity(sd)
		row := bottleRow{Slug: m.Slug, Agent: m.Agent, Bottle: m.Bottle, Shape: shape, Running: running, Status: "stopped", Created: m.CreatedAt.Format("2006-01-02 15:04:05Z"), State: string(sd), Activity: act.Describe(running)}
		switch {
		case why != nil:
			row.Status, row.Why = "unknown", why.Error()
			row.Activity = "unknown"
		case row.Running:
			row.Status = "running"
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Created < rows[j].Created })
	return rows, nil
}

func listCmd() *cobra.Command {
	var asJSON bool
	var which func() (backend.Kind, error)
	c := &cobra.Command{
		Use:   "list",
		Short: "List bottles (running and stopped) with their state dirs",
		Long: `List every bottle with a state dir. STATUS is running, stopped, or unknown
when the Docker Engine does not answer (the warning says why). Bottles on
Kubernetes (SHAPE k8s) are running while their root object is on the
cluster they were started on. With --backend, only that backend's bottles.`,
		Example: `  claude-bottle list
  claude-bottle list --json | jq -r '.[] | select(.status=="running") | .slug'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var only backend.Kind
			if cmd.Flags().Changed(backend.FlagName) || os.Getenv(backend.Env) != "" {
				k, err := which()
				if err != nil {
					return err
				}
				only = k
			}
			rows, err := listBottles(cmd, only)
			if err != nil {
				return err
			}
			if asJSON {
				if rows == nil {
					rows = []bottleRow{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SLUG\tAGENT\tBOTTLE\tSHAPE\tSTATUS\tACTIVITY\tCREATED")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Slug, r.Agent, r.Bottle, r.Shape, r.Status, r.Activity, r.Created)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	which = backendFlag(c)
	return c
}

func cleanupCmd() *cobra.Command {
	var yes bool
	var which func() (backend.Kind, error)
	var kube kubeOpts
	c := &cobra.Command{
		Use:   "cleanup [slug...]",
		Short: "Remove claude-bottle projects, stray containers and networks, and dead state dirs",
		Long: `After one y/N: remove every compose project named claude-bottle-*, stray
claude-bottle-* containers and networks, and state dirs with no live project
and no .preserve file.

With slugs, only those bottles' containers, networks, volumes, state dirs
(unless preserved) and queues: other bottles keep running. A slug with
nothing to remove is named (and the exit code is 1 when none had any).

With --backend k8s: the namespaces and root objects labelled
dev.claude-bottle.managed=true in every namespace of the cluster
(--kubeconfig), and the state dirs of bottles on Kubernetes that have none.`,
		Example: `  claude-bottle cleanup                  # everything, after one y/N
  claude-bottle cleanup --yes fixer-ab12c
  touch ~/.claude-bottle/state/fixer-ab12c/.preserve   # keep a state dir through cleanup`,
		ValidArgsFunction: completeSlugs,
		RunE: func(cmd *cobra.Command, slugs []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			for _, s := range slugs {
				if plan.ValidateSlug(s) != nil {
					return fmt.Errorf("cleanup: %q is not a bottle slug (like fixer-ab12c; `claude-bottle list` shows them)", s)
				}
			}
			if be, err := which(); err != nil {
				return err
			} else if be == backend.K8s {
				k, err := kube.client()
				if err != nil {
					return err
				}
				return kubeCleanup(cmd, k, slugs, yes)
			}
			all, err := engine.ListResources(ctx)
			if err != nil {
				return err
			}
			var rs []engine.Resource
			for _, r := range all {
				if len(slugs) == 0 || slices.ContainsFunc(slugs, func(s string) bool { return belongsTo(r, s) }) {
					rs = append(rs, r)
				}
			}
			ps, err := paths()
			if err != nil {
				return err
			}
			var dead []string
			var selected []layout.StateDir
			entries, _ := os.ReadDir(ps.StateRoot())
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				if len(slugs) > 0 && !slices.ContainsFunc(slugs, func(s string) bool { return stateDirOf(e.Name(), s) }) {
					continue
				}
				sd := layout.StateDir(ps.StateDir(e.Name()))
				selected = append(selected, sd)
				if _, err := os.Stat(sd.Preserve()); err == nil {
					continue
				}
				// Every project selected goes, so every state dir of it
				// without .preserve goes too (temp dirs of an interrupted
				// prepare included).
				dead = append(dead, string(sd))
			}
			var missing []string
			for _, sl := range slugs {
				found := slices.ContainsFunc(rs, func(r engine.Resource) bool { return belongsTo(r, sl) }) ||
					slices.ContainsFunc(dead, func(d string) bool { return stateDirOf(filepath.Base(d), sl) })
				if !found {
					missing = append(missing, sl)
					fmt.Fprintf(cmd.ErrOrStderr(), "cleanup: nothing of bottle %s found: no container, network, volume or state dir without .preserve (`claude-bottle list` shows the bottles)\n", sl)
				}
			}
			if len(rs) == 0 && len(dead) == 0 {
				if len(missing) > 0 {
					return fmt.Errorf("nothing to clean up for %s", strings.Join(missing, ", "))
				}
				fmt.Fprintln(out, "nothing to clean up")
				return nil
			}
			var found []string
			for _, r := range rs {
				found = append(found, r.Kind+" "+r.Name)
			}
			if err := confirmCleanup(cmd, found, dead, yes); err != nil {
				return err
			}
			var errs []error
			removed := len(rs)
			if err := teardownFirst(ctx, cmd.ErrOrStderr(), selected, rs); err != nil {
				errs = append(errs, err)
			}
			// Whatever the teardown left (strays, a project it could not
			// stop) goes by force.
			if all, err := engine.ListResources(ctx); err == nil {
				rs = slices.DeleteFunc(rs, func(r engine.Resource) bool {
					return !slices.ContainsFunc(all, func(a engine.Resource) bool { return a.Kind == r.Kind && a.ID == r.ID })
				})
			}
			if err := engine.Remove(ctx, rs); err != nil {
				errs = append(errs, err)
			}
			for _, d := range dead {
				if err := os.RemoveAll(d); err != nil {
					errs = append(errs, err)
				}
				q := filepath.Join(ps.QueueRoot(), filepath.Base(d))
				if err := os.RemoveAll(q); err != nil {
					errs = append(errs, err)
				}
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			fmt.Fprintf(out, "removed %d Docker resources and %d state dirs\n", removed, len(dead))
			return nil
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask y/N")
	which = backendFlag(c)
	kube.addKubeconfig(c)
	return c
}

// teardownFirst stops each selected bottle whose compose project is still
// there through the one teardown (logs saved to compose.log, keys removed,
// the detected Compose tool) before cleanup removes what is left by force;
// a state dir kept with .preserve loses its keys too.
func teardownFirst(ctx context.Context, progress io.Writer, sds []layout.StateDir, rs []engine.Resource) error {
	live := map[string]bool{}
	for _, r := range rs {
		if r.Project != "" {
			live[r.Project] = true
		}
	}
	var l *launch.Launcher
	var errs []error
	for _, sd := range sds {
		if md, err := state.Read(sd); err == nil && live[md.Project] {
			if l == nil {
				var err error
				if l, err = newLauncher(ctx, progress, nil); err != nil {
					return err
				}
			}
			if err := l.Teardown(ctx, md.Project, sd); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := launch.RemoveKeys(sd); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// belongsTo reports whether r is part of the bottle with this slug: by its
// slug label, its compose project, or (a resource without labels) its exact
// name. Names are never matched by suffix: slug "b-ab12c" must not take
// "x-b-ab12c"'s containers.
func belongsTo(r engine.Resource, slug string) bool {
	project := layout.ProjectName(slug)
	if r.Slug == slug || r.Project == project {
		return true
	}
	if r.Slug != "" || r.Project != "" {
		return false
	}
	switch r.Kind {
	case "container":
		if r.Name == layout.AgentContainer(slug) || r.Name == layout.SidecarContainer(compose.BundleService, slug) {
			return true
		}
		for _, d := range layout.DaemonOrder {
			if r.Name == layout.SidecarContainer(d, slug) {
				return true
			}
		}
	case "network", "volume":
		return strings.HasPrefix(r.Name, project+"_")
	}
	return false
}

// stateDirOf reports whether the state dir entry name is the bottle's, or a
// temp dir of an interrupted prepare of it (".<slug>.tmp-*").
func stateDirOf(name, slug string) bool {
	return name == slug || strings.HasPrefix(name, "."+slug+".tmp-")
}

func buildCmd() *cobra.Command {
	var force, agent bool
	c := &cobra.Command{
		Use:   "build [image...]",
		Short: "Build the project's images (" + strings.Join(images.Names(), ", ") + ") from the source tree, without any registry",
		Long: `Build the project's images (` + strings.Join(images.Names(), ", ") + `) from the
source tree; none needs a registry (a missing debian:bookworm-slim is made
with debootstrap).

--agent builds the Claude Code image bottles use by default (` + images.Agent + `,
Dockerfile.agent) instead. That one installs ` + images.ClaudeCodePackage + `
from the npm registry (NPM_CONFIG_REGISTRY, default ` + images.DefaultNPMRegistry + `),
so it checks first that the registry answers from this machine and says so
when it does not.`,
		Example: "  claude-bottle build\n  claude-bottle build --force " + images.Sidecars + "\n  claude-bottle build --agent",
		RunE: func(cmd *cobra.Command, args []string) error {
			if agent {
				if len(args) > 0 {
					return fmt.Errorf("build --agent builds %s only; drop %s or run build without --agent", images.Agent, strings.Join(args, " "))
				}
				reg := os.Getenv("NPM_CONFIG_REGISTRY")
				if reg == "" {
					reg = os.Getenv("npm_config_registry")
				}
				return images.BuildAgent(cmd.Context(), images.Options{Progress: cmd.ErrOrStderr()}, reg)
			}
			return images.Ensure(cmd.Context(), images.Options{Progress: cmd.ErrOrStderr(), Force: force}, args...)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "rebuild even when the inputs did not change")
	c.Flags().BoolVar(&agent, "agent", false, "build the Claude Code agent image ("+images.Agent+"; needs the npm registry)")
	return c
}

// confirmCleanup lists what cleanup found (one line each, then the dead
// state dirs) and, unless yes, asks before anything is removed; either
// backend's cleanup asks the same way.
func confirmCleanup(cmd *cobra.Command, found, deadDirs []string, yes bool) error {
	out := cmd.OutOrStdout()
	for _, f := range found {
		fmt.Fprintf(out, "  %s\n", f)
	}
	for _, d := range deadDirs {
		fmt.Fprintf(out, "  state dir %s\n", d)
	}
	if yes {
		return nil
	}
	ok, err := confirm(cmd.InOrStdin(), cmd.ErrOrStderr(), "Remove all of the above?")
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("nothing removed")
	}
	return nil
}
