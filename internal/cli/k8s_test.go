package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/claude-bottle/claude-bottle/internal/dashboard"
	"github.com/claude-bottle/claude-bottle/internal/demo/upstream"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/k8stest"
	"github.com/claude-bottle/claude-bottle/internal/kubectl"
	"github.com/claude-bottle/claude-bottle/internal/kuberender"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/testca"
)

// k8sSetup is dockerSetup for the cluster tests: the node tier runs, the
// images are built on the engine and imported into the cluster's
// containerd, and the CLI's kubectl and kubeconfig are the cluster's.
func k8sSetup(t *testing.T, tier string, timeout time.Duration, extra ...string) (*k8stest.Cluster, context.Context) {
	t.Helper()
	c := k8stest.Require(t, tier)
	imgs := append([]string{images.Sidecars, images.AgentTest}, extra...)
	ctx := dockerSetup(t, timeout, imgs...)
	c.ImportImages(t, imgs...)
	t.Setenv(kubectl.EnvKubectl, c.Kubectl)
	t.Setenv("KUBECONFIG", c.Kubeconfig)
	t.Setenv("CLAUDE_BOTTLE_BACKEND", "k8s")
	return c, ctx
}

// k8sBottleNamespace is the namespace of the bottle slug, stopped and
// deleted when the test ends, whatever the test left of it.
func k8sBottleNamespace(t *testing.T, c *k8stest.Cluster, slug string) string {
	ns := layout.ProjectName(slug)
	t.Cleanup(func() {
		_, _, _ = run(t, "stop", slug)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, _ = c.Run(ctx, nil, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
	})
	return ns
}

// TestBottleLifecycleK8s is the user's path on a real cluster: start
// --detach, exec (as the agent user, status passed on, the firewall the
// only way out), run -p with the Claude stand-in, logs showing the blocked
// request live and after stop, list, and stop leaving nothing labelled
// behind.
func TestBottleLifecycleK8s(t *testing.T) {
	c, ctx := k8sSetup(t, k8stest.TierNode, 15*time.Minute)
	bottleHome(t, "kprobe", "image: "+images.AgentTest+"\nenv:\n  FAKE_CLAUDE_NO_MODEL: \"1\"\n  PROBE_SECRET: ${PROBE_SECRET}\negress:\n  allowlist: [allowed.invalid]\n", "You are a probe.\n")
	t.Setenv("PROBE_SECRET", "probe-secret-value-0123456789")
	slug := testSlug("kprobe")
	ns := k8sBottleNamespace(t, c, slug)

	out, errOut, err := run(t, "start", "--detach", "kprobe", "--slug", slug)
	if err != nil {
		t.Fatalf("start --detach: %v\n%s", err, errOut)
	}
	if strings.TrimSpace(out) != slug {
		t.Fatalf("start printed %q, want the slug %q", out, slug)
	}
	for _, step := range []string{"creating the bottle's root object", "waiting for the sidecars Pod", "applying the agent Pod", "provisioning the agent", "checking the agent trusts the bottle's CA"} {
		if !strings.Contains(errOut, step) {
			t.Errorf("start's progress lacks %q:\n%s", step, errOut)
		}
	}
	// The agent runs as its own user, never root.
	if uid, _, err := run(t, "exec", slug, "--", "id", "-u"); err != nil || strings.TrimSpace(uid) != "1000" {
		t.Errorf("exec id -u = %q, %v", uid, err)
	}
	// exec passes the command's status on.
	if _, _, err := run(t, "exec", slug, "--", "sh", "-c", "exit 7"); err == nil || commandExitOf(err) != 7 {
		t.Errorf("exit status not passed on: %v", err)
	}
	// The firewall answers a host off the allowlist (nothing leaves the
	// machine: a .invalid name), over TLS too: the trust init container
	// put the bottle's CA into the bundle curl uses.
	if code, _, _ := run(t, "exec", slug, "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://not-allowed.invalid/"); strings.TrimSpace(code) != "403" {
		t.Errorf("blocked host: code %q", code)
	}
	if code, e, _ := run(t, "exec", slug, "--", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "https://not-allowed.invalid/"); strings.TrimSpace(code) != "403" && strings.TrimSpace(code) != "000" {
		t.Errorf("https blocked host: code %q (%s)", code, e)
	}
	// The bundle curl and git use holds the bottle's CA (the trust init
	// container's work; there is no root to append it).
	if _, e, err := run(t, "exec", slug, "--", "sh", "-c", `grep -q "$(sed -n 2p /etc/claude-bottle/trust/bottle-ca.crt)" "$SSL_CERT_FILE" && [ "$GIT_SSL_CAINFO" = "$SSL_CERT_FILE" ]`); err != nil {
		t.Errorf("the agent's CA bundle lacks the bottle's CA: %v\n%s", err, e)
	}
	// The secret reached the agent's env (from the agent-env Secret).
	if v, _, _ := run(t, "exec", slug, "--", "printenv", "PROBE_SECRET"); strings.TrimSpace(v) != "probe-secret-value-0123456789" {
		t.Errorf("PROBE_SECRET in the agent = %q", v)
	}
	// No service-account token in the agent.
	if _, _, err := run(t, "exec", slug, "--", "test", "-e", "/var/run/secrets/kubernetes.io/serviceaccount/token"); err == nil {
		t.Error("the agent Pod has a service-account token")
	}
	// logs shows the blocked request from the running sidecars Pod.
	if lg, e, err := run(t, "logs", "--blocked", slug); err != nil || !strings.Contains(lg, "not-allowed.invalid") {
		t.Errorf("logs --blocked while running: %v\n%s\n%s", err, lg, e)
	}
	// list reads the cluster.
	var rows []bottleRow
	if l, _, err := run(t, "list", "--json"); err != nil || json.Unmarshal([]byte(l), &rows) != nil || len(rows) != 1 || rows[0].Status != "running" || rows[0].Shape != "k8s" {
		t.Errorf("list --json: %v\n%s", err, l)
	}
	if info, _, err := run(t, "info", "--json", slug); err != nil || !strings.Contains(info, `"health": "healthy"`) {
		t.Errorf("info --json: %v\n%s", err, info)
	}
	if _, e, err := run(t, "stop", slug); err != nil {
		t.Fatalf("stop: %v\n%s", err, e)
	}
	if got, _ := c.Run(ctx, nil, "get", "namespace", ns, "--ignore-not-found", "-o", "name"); strings.TrimSpace(got) != "" {
		t.Errorf("namespace %s is still there after stop: %q", ns, got)
	}
	// The saved logs keep the block for logs after stop.
	if lg, e, err := run(t, "logs", "--blocked", slug); err != nil || !strings.Contains(lg, "not-allowed.invalid") {
		t.Errorf("logs --blocked after stop: %v\n%s\n%s", err, lg, e)
	}
	if l, _, err := run(t, "list", "--json"); err != nil || json.Unmarshal([]byte(l), &rows) != nil || len(rows) != 1 || rows[0].Status != "stopped" {
		t.Errorf("list --json after stop: %v\n%s", err, l)
	}

	// run -p: up, the stand-in claude as the agent user, its exit code
	// passed on, down.
	out, errOut, err = run(t, "run", "kprobe", "-p", "say hi then exit:3", "--slug", slug+"r")
	t.Cleanup(func() {
		_, _ = c.Run(context.Background(), nil, "delete", "namespace", ns+"r", "--ignore-not-found", "--wait=false")
	})
	if commandExitOf(err) != 3 {
		t.Errorf("run -p exit:3: %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(out, "fake-claude") {
		t.Errorf("run -p printed no stand-in output:\n%s\n%s", out, errOut)
	}
	if got, _ := c.Run(ctx, nil, "get", "namespace", ns+"r", "--ignore-not-found", "-o", "name"); strings.TrimSpace(got) != "" {
		t.Errorf("namespace %sr is still there after run: %q", ns, got)
	}
}

// commandExitOf is the exit code an *ExitError carries (-1 for none).
func commandExitOf(err error) int {
	if e, ok := err.(*ExitError); ok {
		return e.Code
	}
	return -1
}

// TestMissingImageNamesImport: an agent image the cluster's containerd
// does not have fails the start at the agent Pod, with the command that
// imports it, and leaves nothing behind.
func TestMissingImageNamesImportK8s(t *testing.T) {
	c, ctx := k8sSetup(t, k8stest.TierNode, 10*time.Minute)
	const missing = "claude-bottle-not-imported:v0"
	bottleHome(t, "noimg", "image: "+missing+"\n", "")
	slug := testSlug("noimg")
	_, errOut, err := run(t, "start", "--detach", "noimg", "--slug", slug)
	if err == nil || !strings.Contains(err.Error(), "scripts/k8s-cluster.sh import "+missing) {
		t.Fatalf("start with an image the cluster lacks: %v\n%s", err, errOut)
	}
	if got, _ := c.Run(ctx, nil, "get", "namespace", layout.ProjectName(slug), "--ignore-not-found", "-o", "name"); strings.TrimSpace(got) != "" {
		t.Errorf("the failed start left %q", got)
	}
}

// targetPod is a test pod listening on TCP 8080 (the test agent image's
// nc), non-root like every pod here.
func targetPod(name, role string) []byte {
	return []byte(`apiVersion: v1
kind: Pod
metadata: {name: ` + name + `, labels: {app: ` + role + `}}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 1000}
  containers:
  - name: main
    image: ` + images.AgentTest + `
    imagePullPolicy: Never
    command: ["sh", "-c", "while true; do nc -l -p 8080 </dev/null; done"]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`)
}

// Names the k8s test upstream answers to: one on the bottle's allowlist,
// one not (it resolves in the sidecars Pod too, so only the allowlist
// stops it), and the token its API wants.
const (
	upAllowed = "up.allowed.test"
	upBlocked = "up.blocked.test"
	upToken   = "k8s-upstream-token-qwertyuiop"
	upPort    = "8443" // a non-root pod cannot bind 443 on containerd 1.6
)

// startUpstream runs the demo's fake upstream (claude-bottle-testupstream)
// in its own namespace, labelled as the test upstream the sidecars-egress
// policy admits, serving HTTPS for upAllowed and upBlocked with a leaf of
// a fresh internal/testca CA. It returns the Pod's IP and the CA file.
func startUpstream(t *testing.T, ctx context.Context, c *k8stest.Cluster) (ns, ip, caFile string) {
	t.Helper()
	ns = c.Namespace(t, "escape-upstream")
	c.Must(t, ctx, nil, "label", "namespace", ns, layout.LabelRole+"="+kuberender.RoleTestUpstream)
	ca := testca.New(t, "claude-bottle k8s test upstream")
	leaf, key := ca.LeafPEM(t, upAllowed, upBlocked)
	hostKey, authorized := sshKeyPair(t), sshKeyPair(t)
	secret, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "upstream"},
		"data": map[string][]byte{
			upstream.TLSCert: leaf, upstream.TLSKey: key,
			upstream.HostKey: hostKey.priv, upstream.AuthorizedKey: authorized.pub,
		},
	})
	c.Apply(t, ctx, ns, secret)
	c.Apply(t, ctx, ns, []byte(`apiVersion: v1
kind: Pod
metadata: {name: upstream, labels: {`+layout.LabelRole+`: `+kuberender.RoleTestUpstream+`}}
spec:
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext: {runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}
  containers:
  - name: main
    image: `+images.UpstreamTest+`
    imagePullPolicy: Never
    command: [/usr/local/bin/claude-bottle-testupstream, -https, ":`+upPort+`", -ssh, ":2222", -repos, /srv/repos]
    env: [{name: `+upstream.TokenEnv+`, value: `+upToken+`}]
    readinessProbe: {tcpSocket: {port: `+upPort+`}, periodSeconds: 2}
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
    volumeMounts:
    - {name: keys, mountPath: /etc/demo-upstream, readOnly: true}
    - {name: repos, mountPath: /srv/repos}
  volumes:
  - {name: keys, secret: {secretName: upstream, defaultMode: 0440}}
  - {name: repos, emptyDir: {}}
`))
	ip = c.WaitReady(t, ns, "upstream", 2*time.Minute)
	return ns, ip, ca.WriteCert(t, filepath.Join(t.TempDir(), "upstream-ca.crt"))
}

type sshKey struct{ pub, priv []byte }

func sshKeyPair(t *testing.T) sshKey {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(sk, "k8s test upstream")
	if err != nil {
		t.Fatal(err)
	}
	return sshKey{pub: ssh.MarshalAuthorizedKey(sp), priv: pem.EncodeToMemory(blk)}
}

// TestEscapeK8s is the escape suite's network and credential attacks
// against a bottle on the local cluster with NetworkPolicy enforced: the
// agent's only way anywhere is its sidecars Pod's ports.
func TestEscapeK8s(t *testing.T) {
	c, ctx := k8sSetup(t, k8stest.TierNetpol, 15*time.Minute, images.UpstreamTest)
	bottleHome(t, "esc", "image: "+images.AgentTest+"\nenv:\n  FAKE_CLAUDE_NO_MODEL: \"1\"\n  ESC_SECRET: ${ESC_SECRET}\negress:\n  allowlist: [allowed.invalid, "+upAllowed+"]\n", "")
	t.Setenv("ESC_SECRET", "escape-secret-value-0123456789")

	// Another tenant's pod, and a client beside it that proves it listens.
	other := c.Namespace(t, "escape-other")
	c.Apply(t, ctx, other, targetPod("target", "target"))
	c.Apply(t, ctx, other, targetPod("client", "client"))
	targetIP := c.WaitReady(t, other, "target", 2*time.Minute)
	c.WaitReady(t, other, "client", 2*time.Minute)
	if out, err := c.Run(ctx, nil, "-n", other, "exec", "client", "--", "nc", "-z", "-w", "5", targetIP, "8080"); err != nil {
		t.Fatalf("control: the target does not answer its neighbour: %v\n%s", err, out)
	}

	// The test upstream, and the control: a pod outside any bottle
	// reaches it directly, so only the bottle's policy stops the agent.
	upNS, upIP, upCA := startUpstream(t, ctx, c)
	whoami := "curl -sS -m 20 -H 'Authorization: Bearer " + upToken + "' https://"
	if out, err := c.Run(ctx, nil, "-n", other, "exec", "client", "--", "sh", "-c", whoami+upIP+":"+upPort+"/v1/whoami -k"); err != nil || !strings.Contains(out, `"user":"demo-agent"`) {
		t.Fatalf("control: the upstream does not answer a pod beside the bottle: %v\n%s", err, out)
	}
	// The CLI's start, with the upstream wired in as the Docker escape
	// suite wires its own (plan.Options.TestUpstream): pipelock trusts
	// its CA, may dial its one address, resolves its names to it.
	testUpstream = &plan.TestUpstream{CAFile: upCA, AllowPrivate: []string{upIP + "/32"},
		Hosts: map[string]string{upAllowed: upIP, upBlocked: upIP}}
	t.Cleanup(func() { testUpstream = nil })

	slug := testSlug("esc")
	ns := k8sBottleNamespace(t, c, slug)
	if _, e, err := run(t, "start", "--detach", "esc", "--slug", slug); err != nil {
		t.Fatalf("start: %v\n%s", err, e)
	}
	// The way out that must work: the firewall answers.
	if code, _, _ := run(t, "exec", slug, "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://not-allowed.invalid/"); strings.TrimSpace(code) != "403" {
		t.Fatalf("the agent does not reach its firewall: %q", code)
	}
	// The allowed host through the sidecars: the upstream's own answer.
	if out, e, err := run(t, "exec", slug, "--", "sh", "-c", whoami+upAllowed+":"+upPort+"/v1/whoami"); err != nil || !strings.Contains(out, `"user":"demo-agent"`) {
		t.Errorf("the allowed upstream through the proxy: %v\n%s\n%s", err, out, e)
	}
	// The host off the allowlist through the sidecars: refused, and
	// logs shows it, though it resolves to the same upstream.
	if code, _, _ := run(t, "exec", slug, "--", "curl", "-s", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", "https://"+upBlocked+":"+upPort+"/v1/whoami"); strings.TrimSpace(code) != "403" && strings.TrimSpace(code) != "000" {
		t.Errorf("%s through the proxy: HTTP %s", upBlocked, code)
	}
	if lg, e, err := run(t, "logs", "--blocked", slug); err != nil || !strings.Contains(lg, upBlocked) {
		t.Errorf("logs --blocked lacks %s: %v\n%s\n%s", upBlocked, err, lg, e)
	}
	fails := []struct{ name, cmd string }{
		{"the test upstream by its Pod IP, past the proxy", whoami + upIP + ":" + upPort + "/v1/whoami -k --noproxy '*' -m 5"},
		{"the test upstream by its name, past the proxy", whoami + upAllowed + ":" + upPort + "/v1/whoami -k --noproxy '*' -m 5"},
		{"direct egress to a public address", "curl --noproxy '*' -sS -m 5 http://93.184.216.34/"},
		{"another namespace's pod", "nc -z -w 5 " + targetIP + " 8080"},
		{"the node's kubelet 10.250.0.2:10250", "nc -z -w 5 10.250.0.2 10250"},
		{"the API server 10.250.0.1:6443", "curl --noproxy '*' -sk -m 5 https://10.250.0.1:6443/version"},
		{"any resolver: the node's", "dig +time=2 +tries=1 @10.250.0.2 example.com"},
		{"any resolver: a public one", "dig +time=2 +tries=1 @8.8.8.8 example.com"},
		{"the agent's own resolver", "getent hosts example.com"},
		{"the cloud DNS name of the metadata server", "getent hosts metadata.google.internal"},
		{"a service-account token", "test -e /var/run/secrets/kubernetes.io/serviceaccount/token"},
		{"the CA keys", "ls /etc/claude-bottle/pipelock-ca/ca.key /etc/claude-bottle/egress-ca/ca.key"},
		{"a key in the trust folder", "grep -rl 'PRIVATE KEY' /etc/claude-bottle/trust"},
		{"the sidecars' slots in the env", "env | grep -E '^(EGRESS_TOKEN|PIPELOCK_SECRET)_'"},
	}
	for _, f := range fails {
		if out, _, err := run(t, "exec", slug, "--", "sh", "-c", f.cmd); err == nil {
			t.Errorf("%s: `%s` succeeded from the agent:\n%s", f.name, f.cmd, out)
		}
	}
	// Through the proxy: the metadata address and the API server are
	// refused by the firewall itself.
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/computeMetadata/v1/", "https://10.250.0.1:6443/version"} {
		if code, _, _ := run(t, "exec", slug, "--", "curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", u); strings.TrimSpace(code) != "403" && strings.TrimSpace(code) != "000" {
			t.Errorf("%s through the proxy: HTTP %s", u, code)
		}
	}
	if lg, _, _ := run(t, "logs", "--blocked", slug); !strings.Contains(lg, "169.254.169.254") {
		t.Errorf("the metadata request is not in logs --blocked:\n%s", lg)
	}
	// The upstream saw the allowed request (from the sidecars Pod: the
	// only one its namespace admits from the bottle) and nothing for the
	// refused name.
	if lg := c.Must(t, ctx, nil, "-n", upNS, "logs", "upstream"); !strings.Contains(lg, `"host":"`+upAllowed) || strings.Contains(lg, upBlocked) {
		t.Errorf("the upstream's log:\n%s", lg)
	}
	// The secret reached the agent (from its own Secret) and no sidecar
	// Secret is referenced by the agent Pod.
	spec := c.Must(t, ctx, nil, "-n", ns, "get", "pod", layout.AgentContainer(slug), "-o", "json")
	for _, s := range []string{"sidecars-env", "pipelock-ca", "egress-ca", "git-gate-keys"} {
		if strings.Contains(spec, `"`+s+`"`) {
			t.Errorf("the agent Pod references %s", s)
		}
	}
}

// TestSuperviseQueueK8s: an agent's proposal through the supervise MCP
// server in the sidecars Pod reaches the host queue the dashboard reads
// (through kubectl exec), the operator's approval reaches the Pod (the
// agent's wait-for-decision says approved), and the live change is in
// force: the host the firewall refused passes it afterwards.
func TestSuperviseQueueK8s(t *testing.T) {
	c, ctx := k8sSetup(t, k8stest.TierNode, 15*time.Minute)
	home := bottleHome(t, "sup", "image: "+images.AgentTest+"\nenv:\n  FAKE_CLAUDE_NO_MODEL: \"1\"\nsupervise: true\negress:\n  allowlist: [allowed.invalid]\n", "")
	slug := testSlug("sup")
	k8sBottleNamespace(t, c, slug)
	if _, e, err := run(t, "start", "--detach", "sup", "--slug", slug); err != nil {
		t.Fatalf("start: %v\n%s", err, e)
	}
	const host = "newly-approved.invalid"
	blocked := func() string {
		code, _, _ := run(t, "exec", slug, "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://"+host+"/")
		return strings.TrimSpace(code)
	}
	if code := blocked(); code != "403" {
		t.Fatalf("before the approval: HTTP %s, want the firewall's 403", code)
	}
	call := func(tool, args string) string {
		script := `printf '%s' "$1" > /tmp/call.json; curl -s --noproxy '*' --max-time 5 -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' --data-binary @/tmp/call.json http://supervise:9100/; true`
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `}}`
		out, _, _ := run(t, "exec", slug, "--", "sh", "-c", script, "sh", body)
		return out
	}
	call("pipelock-block", `{"hosts":["`+host+`"],"justification":"test: curl was blocked: host not allowed"}`)

	b := dashboard.NewFileBackend(layout.Paths{Root: home})
	var item *dashboard.Item
	for deadline := time.Now().Add(time.Minute); item == nil; {
		items, _, err := b.Load()
		if err != nil {
			t.Fatal(err)
		}
		if b.SyncErr != nil {
			t.Fatalf("sync: %v", b.SyncErr)
		}
		for i := range items {
			if items[i].Entry.Slug == slug {
				item = &items[i]
			}
		}
		if item == nil && time.Now().After(deadline) {
			t.Fatal("the agent's proposal never reached the host queue")
		}
		if item == nil {
			time.Sleep(time.Second)
		}
	}
	if _, err := b.Approve(ctx, *item); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if _, _, err := b.Load(); err != nil || b.SyncErr != nil {
		t.Fatalf("the sync after the approval: %v %v", err, b.SyncErr)
	}
	id := item.Entry.Proposal.ID
	if out := call("wait-for-decision", `{"id":"`+id+`"}`); !strings.Contains(out, "approved") {
		t.Errorf("the agent's wait-for-decision: %s", out)
	}
	if code := blocked(); code == "403" {
		t.Errorf("after the approval the firewall still refuses %s", host)
	}
}

// TestCleanupK8s: cleanup --backend k8s finds a bottle's namespace by
// label, stops it through its teardown (logs saved) and removes its state
// dir; a second cleanup finds nothing.
func TestCleanupK8s(t *testing.T) {
	c, ctx := k8sSetup(t, k8stest.TierNode, 10*time.Minute)
	home := bottleHome(t, "cl", "image: "+images.AgentTest+"\n", "")
	slug := testSlug("cl")
	ns := k8sBottleNamespace(t, c, slug)
	if _, e, err := run(t, "start", "--detach", "cl", "--slug", slug); err != nil {
		t.Fatalf("start: %v\n%s", err, e)
	}
	out, e, err := run(t, "cleanup", "--yes", slug)
	if err != nil || !strings.Contains(out, "namespace "+ns) || !strings.Contains(out, "removed 1 cluster objects and 1 state dirs") {
		t.Fatalf("cleanup: %v\n%s\n%s", err, out, e)
	}
	if got, _ := c.Run(ctx, nil, "get", "namespace", ns, "--ignore-not-found", "-o", "name"); strings.TrimSpace(got) != "" {
		t.Errorf("namespace %s is still there after cleanup", ns)
	}
	if _, err := os.Stat(filepath.Join(home, "state", slug)); !os.IsNotExist(err) {
		t.Errorf("the state dir is still there: %v", err)
	}
	if _, _, err := run(t, "cleanup", "--yes", slug); err == nil || !strings.Contains(err.Error(), "nothing to clean up") {
		t.Errorf("a second cleanup: %v", err)
	}
}
