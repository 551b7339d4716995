// Package kubelaunch brings bottles up and down on a Kubernetes cluster,
// as internal/launch does on the Docker Engine: the same state dir
// (launch.Prepare), the objects internal/kuberender makes of the plan,
// applied through internal/kubectl in the order K8S.md fixes, and the same
// provisioning of the agent (as the agent user: nothing runs as root).
package kubelaunch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/claude-bottle/claude-bottle/internal/kubectl"
	"github.com/claude-bottle/claude-bottle/internal/kuberender"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// DefaultReadyTimeout bounds the wait for each Pod to be Ready when
// Launcher.ReadyTimeout is 0.
const DefaultReadyTimeout = 2 * time.Minute

// Launcher brings bottles up and down on one cluster.
type Launcher struct {
	Kube *kubectl.Client
	// Namespace overrides the bottle's own claude-bottle-<slug>: that
	// namespace is the operator's, only the bottle's objects are made and
	// deleted in it.
	Namespace string
	// Progress receives one line per step.
	Progress io.Writer
	// UserHome expands ~ in manifests (identity files, skills).
	UserHome string
	// ReadyTimeout bounds the wait for each Pod (0: DefaultReadyTimeout).
	ReadyTimeout time.Duration
}

func (l *Launcher) step(format string, a ...any) {
	if l.Progress != nil {
		fmt.Fprintf(l.Progress, "==> "+format+"\n", a...)
	}
}

// NamespaceOf is the namespace a bottle runs in.
func (l *Launcher) NamespaceOf(p *plan.Plan) string {
	return kuberender.Namespace(p, kuberender.Inputs{Namespace: l.Namespace})
}

// ownNamespace reports whether the bottle's namespace is its own (made and
// deleted with it) rather than the operator's.
func ownNamespace(slug, ns string) bool { return ns == layout.ProjectName(slug) }

// Preflight checks the cluster before anything is written: it answers,
// and no bottle of the same slug is there already.
func (l *Launcher) Preflight(ctx context.Context, p *plan.Plan) error {
	if _, err := l.Kube.Version(ctx); err != nil {
		return err
	}
	ns := l.NamespaceOf(p)
	var meta kubectl.Meta
	resource, name, where := "configmap", kuberender.RootName, " in namespace "+ns
	if ownNamespace(p.Slug, ns) {
		resource, name, where = "namespace", ns, ""
	}
	found, err := l.Kube.Get(ctx, nsIf(resource != "namespace", ns), resource, name, &meta)
	if err != nil {
		return err
	}
	if found {
		return fmt.Errorf("%s %s already exists%s (slug %s is in use or was left behind); run `claude-bottle cleanup --backend k8s` or `claude-bottle stop %s`", resource, name, where, p.Slug, p.Slug)
	}
	return nil
}

func nsIf(ok bool, ns string) string {
	if ok {
		return ns
	}
	return ""
}

// Up prepares the state dir, applies the bottle's objects, waits for the
// sidecars Pod and then the agent Pod, and provisions the agent. On any
// failure (ctx cancelled included) it tears down what it started.
func (l *Launcher) Up(ctx context.Context, p *plan.Plan, s *launch.Secrets) (err error) {
	ns := l.NamespaceOf(p)
	base := kuberender.Inputs{Namespace: l.Namespace}
	if tu := p.TestUpstream; tu != nil && tu.CAFile != "" {
		if base.TestUpstreamCA, err = os.ReadFile(tu.CAFile); err != nil {
			return fmt.Errorf("the test upstream's CA: %w", err)
		}
	}
	// The objects without values, for the state dir (info, post-mortems).
	objs, err := kuberender.Render(p, base)
	if err != nil {
		return err
	}
	manifest, err := kuberender.Marshal(objs)
	if err != nil {
		return err
	}
	l.step("preparing state dir %s", p.StateDir)
	if err := launch.Prepare(launch.PrepareInput{Plan: p, Secrets: s, Kube: &state.Kube{Namespace: ns, Kubeconfig: l.Kube.Kubeconfig}, Manifest: manifest, HomeDir: l.UserHome, Now: time.Now()}); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if terr := l.teardown(tctx, p.Slug, ns, p.StateDir); terr != nil {
				err = errors.Join(err, fmt.Errorf("tearing down after the failure: %w", terr))
			}
		}
	}()
	in := base
	if in.Files, err = readStateFiles(p); err != nil {
		return err
	}
	in.SecretEnv = secretEnv(p, s)
	if in.ClusterCIDRs, err = ClusterCIDRs(ctx, l.Kube); err != nil {
		return err
	}

	l.step("creating the bottle's root object in namespace %s", ns)
	if err := l.apply(ctx, p, in, func(k, n string) bool { return k == "Namespace" || isRoot(k, n) }); err != nil {
		return err
	}
	var root kubectl.Meta
	if found, err := l.Kube.Get(ctx, ns, "configmap", kuberender.RootName, &root); err != nil {
		return err
	} else if !found || root.Metadata.UID == "" {
		return fmt.Errorf("configmap %s in %s is not there right after it was applied", kuberender.RootName, ns)
	}
	in.RootUID = types.UID(root.Metadata.UID)

	sidecars, agent := layout.SidecarContainer("sidecars", p.Slug), layout.AgentContainer(p.Slug)
	l.step("applying the policies, configs, secrets, services and the sidecars Pod")
	if err := l.apply(ctx, p, in, func(k, n string) bool {
		return k != "Namespace" && !isRoot(k, n) && !(k == "Pod" && n == agent)
	}); err != nil {
		return err
	}
	l.step("waiting for the sidecars Pod to be Ready")
	st, err := l.waitReady(ctx, ns, sidecars, func(st kubectl.PodStatus) bool {
		// The readiness probe's own command, run now (the kubelet's
		// first probe may come a whole period late).
		if !st.Running() {
			return false
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := l.Kube.ExecOutput(pctx, kubectl.ExecSpec{Namespace: ns, Pod: sidecars, Container: kuberender.SidecarsContainer}, plan.SidecarInitBinary, "health")
		return err == nil
	})
	if err != nil {
		return err
	}
	if st.IP == "" {
		return fmt.Errorf("pod %s is Ready but has no IP", sidecars)
	}
	in.SidecarsIP = st.IP
	l.step("applying the agent Pod (sidecar names → %s)", st.IP)
	if err := l.apply(ctx, p, in, func(k, n string) bool { return k == "Pod" && n == agent }); err != nil {
		return err
	}
	l.step("waiting for the agent Pod to be Ready")
	if _, err := l.waitReady(ctx, ns, agent, nil); err != nil {
		return err
	}
	l.step("provisioning the agent")
	if err := launch.ProvisionAgent(ctx, AgentOf(l.Kube, ns, p.Slug), p, l.UserHome, l.Progress); err != nil {
		return fmt.Errorf("provisioning the agent: %w", err)
	}
	return nil
}

func isRoot(kind, name string) bool { return kind == "ConfigMap" && name == kuberender.RootName }

// apply renders the plan with in and applies the objects keep selects.
func (l *Launcher) apply(ctx context.Context, p *plan.Plan, in kuberender.Inputs, keep func(kind, name string) bool) error {
	objs, err := kuberender.Render(p, in)
	if err != nil {
		return err
	}
	var sel []kuberender.Object
	for _, o := range objs {
		if keep(o.GetObjectKind().GroupVersionKind().Kind, o.GetName()) {
			sel = append(sel, o)
		}
	}
	if len(sel) == 0 {
		return errors.New("kubelaunch: no object to apply (the renderer's object names changed?)")
	}
	doc, err := kuberender.Marshal(sel)
	if err != nil {
		return err
	}
	return l.Kube.Apply(ctx, doc, l.Progress)
}

func (l *Launcher) waitReady(ctx context.Context, ns, pod string, ready func(kubectl.PodStatus) bool) (kubectl.PodStatus, error) {
	timeout := l.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return l.Kube.WaitPod(wctx, ns, pod, l.Progress, ready)
}

// readStateFiles reads the state dir files the objects carry.
func readStateFiles(p *plan.Plan) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, rel := range kuberender.StateFiles(p) {
		b, err := os.ReadFile(filepath.Join(string(p.StateDir), filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("reading the state file the cluster needs: %w", err)
		}
		files[rel] = b
	}
	return files, nil
}

// secretEnv is what launch.ProcessEnv hands the Compose tool, as a map:
// the token and secret slots and the agent's secret env.
func secretEnv(p *plan.Plan, s *launch.Secrets) map[string]string {
	m := map[string]string{}
	for _, kv := range launch.ProcessEnv(p, s, nil) {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// ClusterCIDRs are the cluster's own ranges the sidecars must never reach
// beyond the private ranges they never reach anyway: every node's pod
// range and address, and the API server's addresses (a cluster on public
// addresses has them outside 10/8).
func ClusterCIDRs(ctx context.Context, k *kubectl.Client) ([]string, error) {
	var nodes struct {
		Items []struct {
			Spec struct {
				PodCIDRs []string `json:"podCIDRs"`
			} `json:"spec"`
			Status struct {
				Addresses []struct {
					Type    string `json:"type"`
					Address string `json:"address"`
				} `json:"addresses"`
			} `json:"status"`
		} `json:"items"`
	}
	out, err := k.Output(ctx, nil, "get", "nodes", "-o", "json")
	if err != nil {
		return nil, err
	}
	if err := jsonUnmarshal(out, &nodes); err != nil {
		return nil, fmt.Errorf("kubectl get nodes: %v", err)
	}
	seen := map[string]bool{}
	var cidrs []string
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			cidrs = append(cidrs, c)
		}
	}
	for _, n := range nodes.Items {
		for _, c := range n.Spec.PodCIDRs {
			add(c)
		}
		for _, a := range n.Status.Addresses {
			if a.Type == "InternalIP" || a.Type == "ExternalIP" {
				add(hostPrefix(a.Address))
			}
		}
	}
	var eps struct {
		Subsets []struct {
			Addresses []struct {
				IP string `json:"ip"`
			} `json:"addresses"`
		} `json:"subsets"`
	}
	if found, err := k.Get(ctx, "default", "endpoints", "kubernetes", &eps); err == nil && found {
		for _, s := range eps.Subsets {
			for _, a := range s.Addresses {
				add(hostPrefix(a.IP))
			}
		}
	}
	return cidrs, nil
}

func hostPrefix(ip string) string {
	if ip == "" {
		return ""
	}
	if strings.Contains(ip, ":") {
		return ip + "/128"
	}
	return ip + "/32"
}

// GVisorRuntimeClass names the cluster's RuntimeClass whose handler is
// gVisor's runsc, or "" (none, or the cluster does not say): the agent Pod
// then runs under it, as the agent container runs under runsc on a Docker
// Engine that has it.
func GVisorRuntimeClass(ctx context.Context, k *kubectl.Client) string {
	var l struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Handler string `json:"handler"`
		} `json:"items"`
	}
	out, err := k.Output(ctx, nil, "get", "runtimeclasses", "-o", "json")
	if err != nil || jsonUnmarshal(out, &l) != nil {
		return ""
	}
	for _, rc := range l.Items {
		if rc.Handler == "runsc" {
			return rc.Metadata.Name
		}
	}
	return ""
}
