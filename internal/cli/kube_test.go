package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// kubeBottle writes the state dir of a bottle that ran on a cluster whose
// kubeconfig is cfg.
func kubeBottle(t *testing.T, home, slug, cfg string) {
	t.Helper()
	sd := layout.StateDir(filepath.Join(home, "state", slug))
	if err := os.MkdirAll(string(sd), 0o700); err != nil {
		t.Fatal(err)
	}
	m := &state.Metadata{Slug: slug, Agent: "demo", Bottle: "demo", Project: layout.ProjectName(slug), Bundle: true, CreatedAt: time.Now().UTC(),
		Containers: map[string]string{"agent": layout.AgentContainer(slug), "sidecars": layout.SidecarContainer("sidecars", slug)},
		Kube:       &state.Kube{Namespace: layout.ProjectName(slug), Kubeconfig: cfg}}
	if err := state.Write(sd, m); err != nil {
		t.Fatal(err)
	}
}

// unreachableKubeconfig names an API server nothing listens on.
func unreachableKubeconfig(t *testing.T) string {
	cfg := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(cfg, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600)
	return cfg
}

// TestKubeFlagsAndBackends: the cluster flags are refused without
// --backend k8s, a bottle's commands refuse a --backend it does not run
// on, and a bottle on a cluster that does not answer is one line, exit
// code 3, for stop and exec, and "unknown" in list (the machine's real
// kubectl against a closed port).
func TestKubeFlagsAndBackends(t *testing.T) {
	home := setupHome(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("CLAUDE_BOTTLE_BACKEND", "")
	if _, _, err := run(t, "start", "--detach", "--kubeconfig", "x", "demo"); processExit(&strings.Builder{}, err) != ExitUsage || !strings.Contains(err.Error(), "--backend k8s") {
		t.Errorf("--kubeconfig without --backend k8s: %v", err)
	}
	fakeBottle(t, home, "dock-ab12c")
	if _, _, err := run(t, "stop", "--backend", "k8s", "dock-ab12c"); processExit(&strings.Builder{}, err) != ExitUsage || !strings.Contains(err.Error(), "runs on docker, not k8s") {
		t.Errorf("stop --backend k8s of a Docker bottle: %v", err)
	}
	if _, err := os.Stat("/usr/bin/kubectl"); err != nil {
		t.Skip("no kubectl on this machine")
	}
	kubeBottle(t, home, "kube-ab12c", unreachableKubeconfig(t))
	for _, args := range [][]string{{"stop", "kube-ab12c"}, {"exec", "kube-ab12c", "--", "true"}} {
		_, _, err := run(t, args...)
		var b strings.Builder
		if code := processExit(&b, err); code != ExitEngine || strings.Count(strings.TrimSpace(b.String()), "\n") > 0 {
			t.Errorf("%v: exit %d, %q", args, code, b.String())
		}
	}
	if _, err := os.Stat(filepath.Join(home, "state", "kube-ab12c", "metadata.json")); err != nil {
		t.Errorf("a stop that reached no cluster removed the state: %v", err)
	}
	out, errOut, err := run(t, "list", "--backend", "k8s")
	if err != nil || !strings.Contains(out, "kube-ab12c") || strings.Contains(out, "dock-ab12c") || !strings.Contains(out, "unknown") || !strings.Contains(errOut, "cannot tell which bottles run on the cluster") {
		t.Errorf("list --backend k8s: %v\n%s\n%s", err, out, errOut)
	}
}
