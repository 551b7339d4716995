// Package k8stest holds the helpers tests use on the local Kubernetes cluster
// that scripts/k8s-cluster.sh brings up (no mocks: a real etcd, kube-apiserver
// and, from the node tier on, a real kubelet and NetworkPolicy enforcer).
//
// A test asks for the tier it needs with Require. When the cluster is not up
// at that tier the test is skipped, naming the command that brings it up,
// except under CI=true, where it fails: CI must not go green by running
// nothing (scripts/test.sh brings the cluster up before go test). The cluster
// is shared by every test and package; k8stest never brings it up or down.
// Everything a test makes lives in a Namespace labelled with the run's test
// label, deleted in t.Cleanup.
package k8stest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
)

// Tiers, each including the ones before it.
const (
	TierAPI    = "api"    // etcd + kube-apiserver: objects, validation, admission
	TierNode   = "node"   // + scheduler, controller-manager, containerd, kubelet: pods run
	TierNetpol = "netpol" // + kube-router's firewall: NetworkPolicy is enforced
)

// DefaultRoot is where scripts/k8s-cluster.sh keeps the cluster, unless
// CLAUDE_BOTTLE_K8S_ROOT says otherwise.
const DefaultRoot = "/var/lib/claude-bottle-k8s"

// Script is the cluster script, relative to the module root.
const Script = "scripts/k8s-cluster.sh"

// Root returns the cluster's directory ($CLAUDE_BOTTLE_K8S_ROOT or DefaultRoot).
func Root() string {
	if r := os.Getenv("CLAUDE_BOTTLE_K8S_ROOT"); r != "" {
		return r
	}
	return DefaultRoot
}

// Cluster is the running local cluster, as a test sees it.
type Cluster struct {
	Kubeconfig string // the admin's kubeconfig ($ROOT/pki/admin.kubeconfig)
	Kubectl    string // the kubectl built with the cluster ($ROOT/bin/kubectl)
	Tier       string // the running tier: api, node or netpol
	script     string // absolute path of scripts/k8s-cluster.sh
}

// rank orders the tiers; 0 means none or unknown.
func rank(tier string) int {
	switch tier {
	case TierAPI:
		return 1
	case TierNode:
		return 2
	case TierNetpol:
		return 3
	}
	return 0
}

// verdict decides what Require does when the cluster runs tier have (""
// when down) and the test needs want: ok, or the message to skip or fail with.
func verdict(have, want string) (ok bool, msg string) {
	if rank(have) >= rank(want) {
		return true, ""
	}
	up := fmt.Sprintf("run %s up %s", Script, want)
	if want != TierAPI {
		up += " (as root)"
	}
	if have == "" {
		return false, fmt.Sprintf("the local Kubernetes cluster is not up (need tier %s): %s", want, up)
	}
	return false, fmt.Sprintf("the local Kubernetes cluster runs tier %s, the test needs %s: %s", have, want, up)
}

// Require returns the running cluster if it is up at tier want or above.
// Otherwise it skips the test with the command that brings the tier up, or
// fails it under CI=true.
func Require(t testing.TB, want string) *Cluster {
	t.Helper()
	if rank(want) == 0 {
		t.Fatalf("k8stest.Require: unknown tier %q (want %s, %s or %s)", want, TierAPI, TierNode, TierNetpol)
	}
	script, err := findScript()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", script, "status").Output()
	if err != nil {
		t.Fatalf("%s status: %v", script, err)
	}
	have := strings.TrimSpace(string(out))
	if ok, msg := verdict(have, want); !ok {
		dockertest.Unavailable(t, "%s", msg)
	}
	c := &Cluster{
		Kubeconfig: filepath.Join(Root(), "pki", "admin.kubeconfig"),
		Kubectl:    filepath.Join(Root(), "bin", "kubectl"),
		Tier:       have,
		script:     script,
	}
	// The daemons run; make sure the API server answers before the test leans on it.
	if out, err := c.Run(ctx, nil, "get", "--raw", "/readyz"); err != nil {
		t.Fatalf("the local cluster (tier %s) runs but kube-apiserver is not ready: %v\n%s\nlogs: %s/logs/kube-apiserver.log", have, err, out, Root())
	}
	sweepOnce.Do(func() { c.sweepStale(ctx) })
	return c
}

var sweepOnce sync.Once

// sweepStale deletes namespaces of other test runs older than
// dockertest.StaleAfter: a run killed by a test timeout skips its cleanups,
// and its pods would hold the shared node. Best effort.
func (c *Cluster) sweepStale(ctx context.Context) {
	out, err := c.Run(ctx, nil, "get", "namespaces", "-l", dockertest.LabelTest, "-o",
		`jsonpath={range .items[*]}{.metadata.name}{"\t"}{.metadata.creationTimestamp}{"\t"}{.metadata.labels.dev\.claude-bottle\.test}{"\t"}{.status.phase}{"\n"}{end}`)
	if err != nil {
		return
	}
	for _, name := range staleNamespaces(out, dockertest.RunID(), time.Now()) {
		_, _ = c.Run(ctx, nil, "delete", "namespace", name, "--wait=false", "--ignore-not-found")
	}
}

// staleNamespaces picks from "name<TAB>created<TAB>run<TAB>phase" lines the
// active namespaces of other runs created more than StaleAfter before now.
func staleNamespaces(lines, run string, now time.Time) []string {
	var stale []string
	for _, line := range strings.Split(lines, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || f[2] == run || f[3] != "Active" {
			continue
		}
		created, err := time.Parse(time.RFC3339, f[1])
		if err == nil && now.Sub(created) > dockertest.StaleAfter {
			stale = append(stale, f[0])
		}
	}
	return stale
}

// findScript walks up from the working directory (a package directory under
// go test) to the module root holding scripts/k8s-cluster.sh.
func findScript() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, Script)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("k8stest: no %s in %s or above; run the tests from the claude-bottle source tree", Script, wd)
		}
	}
}

// Run runs kubectl against the cluster with stdin (may be nil) and returns
// its combined output.
func (c *Cluster) Run(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig, "--request-timeout=30s"}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Must runs kubectl and fails the test on error, with kubectl's output.
func (c *Cluster) Must(t testing.TB, ctx context.Context, stdin []byte, args ...string) string {
	t.Helper()
	out, err := c.Run(ctx, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Apply server-side applies objects (YAML or JSON, several documents allowed).
func (c *Cluster) Apply(t testing.TB, ctx context.Context, namespace string, objects []byte) {
	t.Helper()
	args := []string{"apply", "--server-side", "--field-manager=k8stest", "-f", "-"}
	if namespace != "" {
		args = append(args, "-n", namespace)
	}
	c.Must(t, ctx, objects, args...)
}

// Namespace creates a namespace named prefix-<random> carrying this run's
// test label and deletes it in t.Cleanup (without waiting: at the api tier
// no controller-manager finalizes namespaces, and a waiting delete would hang).
func (c *Cluster) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := prefix + "-" + hex.EncodeToString(b[:])
	ns, err := json.Marshal(map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata": map[string]any{
			"name":   name,
			"labels": map[string]string{dockertest.LabelTest: dockertest.RunID()},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.Apply(t, ctx, "", ns)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := c.Run(ctx, nil, "delete", "namespace", name, "--wait=false", "--ignore-not-found"); err != nil {
			t.Errorf("cleanup: kubectl delete namespace %s: %v\n%s", name, err, out)
		}
	})
	return name
}

// ImportImages moves Docker images into the node's containerd (docker save |
// ctr import; the script skips an image whose ID it imported before). Pods
// use them with imagePullPolicy: Never. Needs the node tier; the images must
// exist in Docker (images.Ensure makes the project's own).
func (c *Cluster) ImportImages(t testing.TB, refs ...string) {
	t.Helper()
	if rank(c.Tier) < rank(TierNode) {
		t.Fatalf("k8stest: ImportImages needs the node tier; the cluster runs %s (call Require(t, %q) first)", c.Tier, TierNode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", append([]string{c.script, "import"}, refs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s import %s: %v\n%s", Script, strings.Join(refs, " "), err, out)
	}
}

// WaitReady waits, bounded by timeout, until the pod is Ready, and returns
// its IP. On failure the pod's description goes into the error.
func (c *Cluster) WaitReady(t testing.TB, namespace, pod string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	if out, err := c.Run(ctx, nil, "-n", namespace, "wait", "--for=condition=Ready", "pod/"+pod, "--timeout="+timeout.String()); err != nil {
		desc, _ := c.Run(ctx, nil, "-n", namespace, "describe", "pod", pod)
		t.Fatalf("pod %s/%s not Ready after %s: %v\n%s\n%s", namespace, pod, timeout, err, out, desc)
	}
	return c.Must(t, ctx, nil, "-n", namespace, "get", "pod", pod, "-o", "jsonpath={.status.podIP}")
}
