package k8stest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
)

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		ok         bool
		msg        string // a substring of the message when not ok
	}{
		{"api", "api", true, ""},
		{"node", "api", true, ""},
		{"netpol", "api", true, ""},
		{"netpol", "netpol", true, ""},
		{"node", "node", true, ""},
		{"", "api", false, "not up (need tier api): run scripts/k8s-cluster.sh up api"},
		{"", "netpol", false, "run scripts/k8s-cluster.sh up netpol (as root)"},
		{"api", "node", false, "runs tier api, the test needs node: run scripts/k8s-cluster.sh up node (as root)"},
		{"node", "netpol", false, "runs tier node, the test needs netpol"},
		{"bogus", "api", false, "runs tier bogus"},
	} {
		ok, msg := verdict(tc.have, tc.want)
		if ok != tc.ok || !strings.Contains(msg, tc.msg) || (tc.ok && msg != "") {
			t.Errorf("verdict(%q, %q) = %v, %q; want %v and a message containing %q", tc.have, tc.want, ok, msg, tc.ok, tc.msg)
		}
	}
}

func TestStaleNamespaces(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	lines := strings.Join([]string{
		"old-other\t2026-12-02T10:00:00Z\ttaaaa\tActive",      // stale: another run, 2 h old
		"old-mine\t2026-12-02T10:00:00Z\ttmine\tActive",       // this run's own: never
		"new-other\t2026-12-02T11:30:00Z\ttaaaa\tActive",      // 30 min: still maybe running
		"old-going\t2026-12-02T10:00:00Z\ttaaaa\tTerminating", // already being deleted
		"bad-time\tyesterday\ttaaaa\tActive",                  // unparsable: left alone
		"short\t2026-12-02T10:00:00Z",                         // malformed line
		"",
	}, "\n")
	got := staleNamespaces(lines, "tmine", now)
	if len(got) != 1 || got[0] != "old-other" {
		t.Errorf("staleNamespaces = %q, want [old-other]", got)
	}
}

// TestNamespaceRoundTrip: a labelled namespace made by Namespace is on the
// real API server, holds an object applied server-side, and is being
// deleted once its test's cleanups ran.
func TestNamespaceRoundTrip(t *testing.T) {
	c := Require(t, TierAPI)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var ns string
	t.Run("inside", func(t *testing.T) {
		ns = c.Namespace(t, "k8stest")
		if got := c.Must(t, ctx, nil, "get", "namespace", ns, "-o", "jsonpath={.metadata.labels."+strings.ReplaceAll(dockertest.LabelTest, ".", `\.`)+"}"); got != dockertest.RunID() {
			t.Errorf("namespace %s label %s = %q, want %q", ns, dockertest.LabelTest, got, dockertest.RunID())
		}
		c.Apply(t, ctx, ns, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe}\ndata: {k: v}\n"))
		if got := c.Must(t, ctx, nil, "-n", ns, "get", "configmap", "probe", "-o", "jsonpath={.data.k}"); got != "v" {
			t.Errorf("configmap probe data.k = %q, want v", got)
		}
		// The server validates: an invalid name is refused, not stored.
		if out, err := c.Run(ctx, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n"), "apply", "--server-side", "-n", ns, "-f", "-"); err == nil || !strings.Contains(out, "RFC 1123") {
			t.Errorf("apply of ConfigMap Bad_Name: err %v, output %q; want a refusal naming RFC 1123", err, out)
		}
	})
	if ns == "" {
		t.Fatal("the subtest made no namespace")
	}
	// Without a controller-manager (api tier) the namespace stays Terminating;
	// with one it may already be gone. Either way it is no longer active.
	out, err := c.Run(ctx, nil, "get", "namespace", ns, "-o", "jsonpath={.status.phase}")
	switch {
	case err != nil && strings.Contains(out, "NotFound"):
	case err == nil && out == "Terminating":
	default:
		t.Errorf("after cleanup, namespace %s: phase %q, err %v; want Terminating or NotFound", ns, out, err)
	}
}
