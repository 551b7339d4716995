package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/activity"
	"github.com/claude-bottle/claude-bottle/internal/backend"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/kubectl"
	"github.com/claude-bottle/claude-bottle/internal/kubelaunch"
	"github.com/claude-bottle/claude-bottle/internal/kuberender"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// kubeOpts are the cluster flags of the commands that start bottles or
// find them (--kubeconfig, and --namespace for start and run).
type kubeOpts struct {
	kubeconfig, namespace string
}

func (o *kubeOpts) addKubeconfig(c *cobra.Command) {
	c.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "with --backend k8s: the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
}

func (o *kubeOpts) add(c *cobra.Command) {
	o.addKubeconfig(c)
	c.Flags().StringVar(&o.namespace, "namespace", "", "with --backend k8s: run in this existing namespace instead of a new claude-bottle-<slug> (one bottle per namespace)")
}

// client is the kubectl runner for these flags. A kubeconfig from
// $KUBECONFIG is made absolute and kept: later commands (exec, stop) run
// from elsewhere and must reach the same cluster.
func (o *kubeOpts) client() (*kubectl.Client, error) {
	cfg := o.kubeconfig
	if cfg == "" {
		if v := os.Getenv("KUBECONFIG"); v != "" && filepath.SplitList(v)[0] == v {
			cfg = v
		}
	}
	if cfg != "" {
		abs, err := filepath.Abs(cfg)
		if err != nil {
			return nil, err
		}
		cfg = abs
	}
	return kubectl.New(cfg)
}

// kubeClientOf is the runner for a bottle's recorded cluster.
func kubeClientOf(m *state.Metadata) (*kubectl.Client, error) {
	if m.Kube == nil {
		return nil, fmt.Errorf("bottle %s runs on Docker, not on Kubernetes", m.Slug)
	}
	return kubectl.New(m.Kube.Kubeconfig)
}

// checkBackend refuses a --backend that is not the one the bottle runs on
// (a bottle's metadata says where it is; the flag is for symmetry).
func checkBackend(which func() (backend.Kind, error), cmd *cobra.Command, m *state.Metadata) error {
	if !cmd.Flags().Changed(backend.FlagName) && os.Getenv(backend.Env) == "" {
		return nil
	}
	k, err := which()
	if err != nil {
		return err
	}
	on := backend.Docker
	if m.Kube != nil {
		on = backend.K8s
	}
	if k != on {
		return usageError{fmt.Errorf("bottle %s runs on %s, not %s", m.Slug, on, k)}
	}
	return nil
}

// agentOf is how commands reach a bottle's agent: docker exec on the
// engine, kubectl exec on a cluster.
func agentOf(m *state.Metadata) (launch.Agent, error) {
	if m.Kube == nil {
		return launch.DockerAgent(m.Containers["agent"]), nil
	}
	k, err := kubeClientOf(m)
	if err != nil {
		return nil, err
	}
	return kubelaunch.AgentOf(k, m.Kube.Namespace, m.Slug), nil
}

// agentExec runs a process in the agent with a working directory and
// maybe a terminal; a non-zero exit is an error carrying its code.
func agentExec(ctx context.Context, a launch.Agent, s engine.ExecSpec, argv []string) error {
	if ka, ok := a.(*kubelaunch.Agent); ok {
		c := *ka
		c.Dir, c.TTY = s.Dir, s.TTY
		return c.Exec(ctx, "", s.Stdio, argv...)
	}
	s.Container = a.Name()
	return engine.Exec(ctx, s, argv...)
}

// commandExit is the exit code of the command a docker or kubectl exec
// ran (0 when err is nil, -1 when the call itself failed).
func commandExit(err error) int {
	if err == nil {
		return 0
	}
	var e *engine.Error
	if errors.As(err, &e) && !e.Unreachable && e.ExitCode > 0 {
		return e.ExitCode
	}
	var k *kubectl.Error
	if errors.As(err, &k) && k.Remote && k.ExitCode > 0 {
		return k.ExitCode
	}
	return -1
}

// kubeLauncher is the launcher for a bottle on a cluster.
func kubeLauncher(k *kubectl.Client, namespace string, progress io.Writer) (*kubelaunch.Launcher, error) {
	home, _ := os.UserHomeDir()
	l := &kubelaunch.Launcher{Kube: k, Namespace: namespace, Progress: progress, UserHome: home}
	if v := os.Getenv("CLAUDE_BOTTLE_HEALTH_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("CLAUDE_BOTTLE_HEALTH_TIMEOUT=%q: give a positive Go duration such as 5m", v)
		}
		l.ReadyTimeout = d
	}
	return l, nil
}

// kubeStop tears a bottle on a cluster down.
func kubeStop(ctx context.Context, m *state.Metadata, sd layout.StateDir, progress io.Writer) error {
	k, err := kubeClientOf(m)
	if err != nil {
		return err
	}
	l, err := kubeLauncher(k, "", progress)
	if err != nil {
		return err
	}
	return l.Teardown(ctx, m, sd)
}

// targetFlags are where start and run bring a bottle up: --backend and,
// for k8s, the cluster flags.
type targetFlags struct {
	which func() (backend.Kind, error)
	kubeOpts
}

func (t *targetFlags) add(c *cobra.Command) {
	t.which = backendFlag(c)
	t.kubeOpts.add(c)
}

// target is a resolved targetFlags: kube is nil on Docker.
type target struct {
	kube      *kubectl.Client
	namespace string
}

func (t *targetFlags) target() (target, error) {
	k, err := t.which()
	if err != nil {
		return target{}, err
	}
	if k != backend.K8s {
		if t.kubeconfig != "" || t.namespace != "" {
			return target{}, usageError{errors.New("--kubeconfig and --namespace are for --backend k8s")}
		}
		return target{}, nil
	}
	c, err := t.client()
	if err != nil {
		return target{}, err
	}
	return target{kube: c, namespace: t.namespace}, nil
}

// upKube is bottle.up on a cluster: preflight, kubelaunch.Up (which tears
// down what it started on failure), then the session record.
func (b *bottle) upKube(ctx context.Context, secrets *launch.Secrets, withCwd bool, stderr io.Writer) (teardownFunc, *state.Session, error) {
	p := b.plan
	l, err := kubeLauncher(b.kube, b.namespace, stderr)
	if err != nil {
		return nil, nil, err
	}
	if err := l.Preflight(ctx, p); err != nil {
		return nil, nil, err
	}
	if b.runtime != "" {
		fmt.Fprintf(stderr, "==> using RuntimeClass %s for the agent\n", b.runtime)
	}
	if err := l.Up(ctx, p, secrets); err != nil {
		if ctx.Err() != nil {
			forgetBottle(p, stderr)
		}
		return nil, nil, err
	}
	ns := l.NamespaceOf(p)
	b.agent = kubelaunch.AgentOf(b.kube, ns, p.Slug)
	m := &state.Metadata{Slug: p.Slug, Kube: &state.Kube{Namespace: ns, Kubeconfig: b.kube.Kubeconfig}}
	down := func(ctx context.Context) error { return l.Teardown(ctx, m, p.StateDir) }
	sess, err := b.session(ctx, withCwd, stderr)
	if err != nil {
		tearDown(down, stderr)
		return nil, nil, err
	}
	return down, sess, nil
}

// kubeLogSource is logSource for a bottle on a cluster: its sidecars Pod
// while it exists, through kubectl logs.
func kubeLogSource(ctx context.Context, m *state.Metadata, sd layout.StateDir) (activity.Source, error) {
	src := activity.Source{Slug: m.Slug, StateDir: sd}
	k, err := kubeClientOf(m)
	if err != nil {
		return src, err
	}
	ns := m.Kube.Namespace
	src.Logs = func(ctx context.Context, pod string, follow bool, w io.Writer) error {
		err := k.Logs(ctx, ns, pod, "", kubectl.LogOptions{Follow: follow, Timestamps: true}, w)
		var e *kubectl.Error
		if err != nil && (ctx.Err() != nil || errors.As(err, &e) && e.NotFound) {
			return nil // gone: stopped while followed
		}
		return err
	}
	pod := m.Containers["sidecars"]
	var meta kubectl.Meta
	found, err := k.Get(ctx, ns, "pod", pod, &meta)
	if err != nil {
		return src, fmt.Errorf("%v: only the logs saved in %s are shown", err, sd.ComposeLog())
	}
	if found && meta.Metadata.DeletionTimestamp == nil {
		src.Sidecars = []string{pod}
	}
	return src, nil
}

// kubeLive names the slugs of the bottles whose root object is on the
// cluster of each kubeconfig the rows name ("" is kubectl's default), and
// not being deleted. A cluster that does not answer is an error for its
// rows only.
func kubeLive(ctx context.Context, kubeconfigs []string) (live map[string]bool, errs map[string]error) {
	live, errs = map[string]bool{}, map[string]error{}
	for _, cfg := range kubeconfigs {
		k, err := kubectl.New(cfg)
		if err != nil {
			errs[cfg] = err
			continue
		}
		items, err := k.List(ctx, "", "configmaps", layout.LabelManaged+"=true")
		if err != nil {
			errs[cfg] = err
			continue
		}
		for _, it := range items {
			if it.Metadata.Name == kuberender.RootName && it.Metadata.DeletionTimestamp == nil {
				live[cfg+"\x00"+it.Metadata.Labels[layout.LabelSlug]] = true
			}
		}
	}
	return live, errs
}

// kubeCleanup finds what claude-bottle left on a cluster by label, in
// every namespace: the bottles' own namespaces, and root objects in the
// operator's namespaces (deleting a root deletes what it owns). Bottles
// are stopped through their teardown first when their state dir is here
// (logs saved, keys removed); state dirs of bottles on Kubernetes with
// nothing left on the cluster go too, unless preserved.
func kubeCleanup(cmd *cobra.Command, k *kubectl.Client, slugs []string, yes bool) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	items, err := k.List(ctx, "", "namespaces,configmaps", layout.LabelManaged+"=true")
	if err != nil {
		return err
	}
	type leftover struct{ kind, ns, name, slug string }
	var left []leftover
	live := map[string]bool{}
	for _, it := range items {
		slug := it.Metadata.Labels[layout.LabelSlug]
		if len(slugs) > 0 && !slices.Contains(slugs, slug) {
			continue
		}
		switch {
		case it.Kind == "Namespace" && strings.HasPrefix(it.Metadata.Name, layout.ProjectPrefix+"-"):
			left = append(left, leftover{"namespace", "", it.Metadata.Name, slug})
			live[slug] = true
		case it.Kind == "ConfigMap" && it.Metadata.Name == kuberender.RootName && it.Metadata.Namespace != layout.ProjectName(slug):
			left = append(left, leftover{"configmap", it.Metadata.Namespace, it.Metadata.Name, slug})
			live[slug] = true
		}
	}
	ps, err := paths()
	if err != nil {
		return err
	}
	var dead []layout.StateDir
	entries, _ := os.ReadDir(ps.StateRoot())
	for _, e := range entries {
		sd := layout.StateDir(ps.StateDir(e.Name()))
		m, err := state.Read(sd)
		if err != nil || m.Kube == nil || (len(slugs) > 0 && !slices.Contains(slugs, m.Slug)) {
			continue
		}
		if _, err := os.Stat(sd.Preserve()); err == nil {
			continue
		}
		dead = append(dead, sd)
	}
	if len(left) == 0 && len(dead) == 0 {
		if len(slugs) > 0 {
			return fmt.Errorf("nothing to clean up on the cluster for %s", strings.Join(slugs, ", "))
		}
		fmt.Fprintln(out, "nothing to clean up")
		return nil
	}
	var found, deadDirs []string
	for _, l := range left {
		if l.ns != "" {
			found = append(found, fmt.Sprintf("%s %s/%s (bottle %s)", l.kind, l.ns, l.name, l.slug))
		} else {
			found = append(found, fmt.Sprintf("%s %s (bottle %s)", l.kind, l.name, l.slug))
		}
	}
	for _, d := range dead {
		deadDirs = append(deadDirs, string(d))
	}
	if err := confirmCleanup(cmd, found, deadDirs, yes); err != nil {
		return err
	}
	var errs []error
	stopped := map[string]bool{}
	l, err := kubeLauncher(k, "", cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	for _, sd := range dead {
		m, err := state.Read(sd)
		if err == nil && live[m.Slug] && m.Kube.Kubeconfig == k.Kubeconfig {
			if err := l.Teardown(ctx, m, sd); err != nil {
				errs = append(errs, err)
			}
			stopped[m.Slug] = true
		}
	}
	for _, lo := range left {
		if stopped[lo.slug] {
			continue
		}
		if lo.kind == "namespace" {
			errs = append(errs, k.Delete(ctx, "", "namespace", lo.name, true))
		} else {
			_, err := k.Output(ctx, nil, "-n", lo.ns, "delete", "configmap", lo.name, "--ignore-not-found", "--cascade=foreground", "--wait=true")
			errs = append(errs, err)
		}
	}
	for _, sd := range dead {
		errs = append(errs, os.RemoveAll(string(sd)), os.RemoveAll(ps.QueueDir(filepath.Base(string(sd)))))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(out, "removed %d cluster objects and %d state dirs\n", len(left), len(dead))
	return nil
}
