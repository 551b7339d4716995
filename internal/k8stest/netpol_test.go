package k8stest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// netpolPods: the target runs the project's real supervise daemon from the
// sidecars image; two clients from the same image, one labelled allowed.
const netpolPods = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: probe}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Pod
metadata: {name: target, labels: {app: target}}
spec:
  serviceAccountName: probe
  terminationGracePeriodSeconds: 1
  containers:
  - name: supervise
    image: %[1]s
    imagePullPolicy: Never
    command: [/usr/local/bin/claude-bottle-sidecar, supervise]
    env: [{name: SUPERVISE_QUEUE_DIR, value: /tmp/queue}, {name: SUPERVISE_PORT, value: "%[2]d"}]
    readinessProbe: {tcpSocket: {port: %[2]d}, periodSeconds: 1}
    securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Pod
metadata: {name: allowed, labels: {role: allowed}}
spec:
  serviceAccountName: probe
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: %[1]s, imagePullPolicy: Never, command: [sleep, infinity],
     securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: denied, labels: {role: denied}}
spec:
  serviceAccountName: probe
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: %[1]s, imagePullPolicy: Never, command: [sleep, infinity],
     securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}
`

const defaultDeny = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`

const allowToTarget = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allowed-egress}
spec:
  podSelector: {matchLabels: {role: allowed}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: target}}}]
    ports: [{protocol: TCP, port: %[1]d}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: target-ingress}
spec:
  podSelector: {matchLabels: {app: target}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: allowed}}}]
    ports: [{protocol: TCP, port: %[1]d}]
`

// TestNetworkPolicyEnforced: on the netpol tier, pod-to-pod traffic flows
// without policies, a default-deny policy stops it (and the API server is
// out of reach too), and an allow policy opens exactly the allowed pair.
func TestNetworkPolicyEnforced(t *testing.T) {
	c := Require(t, TierNetpol)
	dockertest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := images.Ensure(ctx, images.Options{Progress: testWriter{t}}, images.Sidecars); err != nil {
		t.Fatal(err)
	}
	c.ImportImages(t, images.Sidecars)
	ns := c.Namespace(t, "k8stest-netpol")
	port := layout.SupervisePort

	c.Apply(t, ctx, ns, fmt.Appendf(nil, netpolPods, images.Sidecars, port))
	ip := c.WaitReady(t, ns, "target", 2*time.Minute)
	c.WaitReady(t, ns, "allowed", time.Minute)
	c.WaitReady(t, ns, "denied", time.Minute)
	target := net.JoinHostPort(ip, fmt.Sprint(port))
	apiserver := "10.250.0.1:6443"

	// connects reports whether pod can open a TCP connection to addr.
	connects := func(pod, addr string) bool {
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Run(ctx, nil, "-n", ns, "exec", pod, "--", "timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/"+host+"/"+p)
		return err == nil
	}
	// eventually polls until every probe has its wanted result: a new
	// policy takes about a second to reach kube-router's rules.
	eventually := func(step string, want map[[2]string]bool) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for {
			var wrong []string
			for k, w := range want {
				if got := connects(k[0], k[1]); got != w {
					wrong = append(wrong, fmt.Sprintf("%s -> %s connects=%v, want %v", k[0], k[1], got, w))
				}
			}
			if len(wrong) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: after 45s still %v", step, wrong)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	eventually("no policy", map[[2]string]bool{{"allowed", target}: true, {"denied", target}: true})

	c.Apply(t, ctx, ns, []byte(defaultDeny))
	eventually("default-deny", map[[2]string]bool{
		{"allowed", target}: false, {"denied", target}: false,
		{"allowed", apiserver}: false,
	})

	c.Apply(t, ctx, ns, fmt.Appendf(nil, allowToTarget, port))
	eventually("allow policy", map[[2]string]bool{{"allowed", target}: true, {"denied", target}: false})
	// the allow policy opens that one port to that one pod, nothing more
	eventually("allow policy, elsewhere", map[[2]string]bool{{"allowed", apiserver}: false})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
