package kuberender

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/claude-bottle/claude-bottle/internal/k8stest"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plantest"
)

// fieldManager is the manager the CLI applies with.
const fieldManager = "--field-manager=claude-bottle"

// goldenDocs reads a golden file and moves its objects into namespace ns
// (the test's own: a namespace is never really deleted at the api tier,
// where no controller-manager finalizes it, so every run needs a new
// one). The rendered Namespace object is returned apart, and the
// ServiceAccounts again on their own.
func goldenDocs(t *testing.T, c plantest.Combo, ns string) (namespace, rest, accounts []byte, names []string) {
	t.Helper()
	golden, err := os.ReadFile(goldenFile(c))
	if err != nil {
		t.Fatal(err)
	}
	var out, sas []string
	for _, doc := range strings.Split(string(golden), "---\n")[1:] {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("%s: %v", goldenFile(c), err)
		}
		meta := m["metadata"].(map[string]any)
		if m["kind"] == "Namespace" {
			namespace = []byte(doc)
			continue
		}
		meta["namespace"] = ns
		names = append(names, fmt.Sprintf("%s/%s", strings.ToLower(m["kind"].(string)), meta["name"]))
		y, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(y))
		if m["kind"] == "ServiceAccount" {
			sas = append(sas, string(y))
		}
	}
	if namespace == nil {
		t.Fatalf("%s renders no Namespace", goldenFile(c))
	}
	return namespace, []byte("---\n" + strings.Join(out, "---\n")), []byte("---\n" + strings.Join(sas, "---\n")), names
}

// restricted labels the test namespace as the bottle's own is labelled:
// Pod Security admission enforces the restricted profile on its Pods.
func restricted(t *testing.T, ctx context.Context, c *k8stest.Cluster, ns string) {
	t.Helper()
	c.Must(t, ctx, nil, "label", "--overwrite", "namespace", ns,
		"pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/enforce-version=latest")
}

// TestServerAcceptsGoldens: the real kube-apiserver takes every golden
// file (server-side apply, dry run: validation, defaulting, the
// ServiceAccount and Pod Security admission), as `claude-bottle render
// --backend k8s` prints it.
func TestServerAcceptsGoldens(t *testing.T) {
	c := k8stest.Require(t, k8stest.TierAPI)
	for _, combo := range plantest.FeatureCombos() {
		t.Run(combo.Features(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ns := c.Namespace(t, "kr-"+combo.Features())
			restricted(t, ctx, c, ns)
			nsDoc, rest, accounts, names := goldenDocs(t, combo, ns)
			// A dry run creates nothing, and the ServiceAccount admission
			// looks the Pods' accounts up: they exist for real first.
			c.Must(t, ctx, accounts, "apply", "--server-side", fieldManager, "-f", "-")
			out := c.Must(t, ctx, nsDoc, "apply", "--server-side", "--dry-run=server", fieldManager, "-f", "-")
			if !strings.Contains(out, "namespace/"+layout.ProjectName(plantest.Slug)+" serverside-applied (server dry run)") {
				t.Errorf("the Namespace was not applied:\n%s", out)
			}
			out = c.Must(t, ctx, rest, "apply", "--server-side", "--dry-run=server", fieldManager, "-f", "-")
			for _, n := range names {
				// kubectl prints kinds with their group: networkpolicy.networking.k8s.io/x.
				kind, name, _ := strings.Cut(n, "/")
				if !strings.Contains(out, kind+"/"+name+" serverside-applied (server dry run)") &&
					!strings.Contains(out, kind+".networking.k8s.io/"+name+" serverside-applied (server dry run)") {
					t.Errorf("%s was not applied:\n%s", n, out)
				}
			}
			if got := strings.Count(out, "serverside-applied (server dry run)"); got != len(names) {
				t.Errorf("%d objects applied, the golden has %d:\n%s", got, len(names), out)
			}
		})
	}
}

// versions reads every bottle object's generation and resourceVersion.
func versions(t *testing.T, ctx context.Context, c *k8stest.Cluster, ns string) map[string][2]string {
	t.Helper()
	out := c.Must(t, ctx, nil, "-n", ns, "get", "configmaps,secrets,serviceaccounts,services,pods,networkpolicies",
		"-l", layout.LabelManaged+"=true", "-o", "json")
	var list struct {
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name            string `json:"name"`
				Generation      int64  `json:"generation"`
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("kubectl get -o json: %v\n%s", err, out)
	}
	v := map[string][2]string{}
	for _, it := range list.Items {
		v[it.Kind+"/"+it.Metadata.Name] = [2]string{fmt.Sprint(it.Metadata.Generation), it.Metadata.ResourceVersion}
	}
	return v
}

// TestReapplyIsNoop: applying the same objects a second time changes
// nothing on the server: no object gets a new generation or resource
// version (an `ingress: []` would: the server drops the empty list, so
// every apply differs from what it stored). A control policy written with
// `ingress: []` shows the check sees that churn.
func TestReapplyIsNoop(t *testing.T) {
	c := k8stest.Require(t, k8stest.TierAPI)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	combo := plantest.Combo{Git: true, Routes: true, Supervise: true, Bundle: true}
	ns := c.Namespace(t, "kr-reapply")
	restricted(t, ctx, c, ns)
	_, rest, _, names := goldenDocs(t, combo, ns)
	control := fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: churn-control
  namespace: %s
  labels: {%s: "true"}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: []
`, ns, layout.LabelManaged)
	t.Cleanup(func() {
		// Before the namespace goes: nothing at the api tier would ever
		// remove what is in it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := c.Run(ctx, append(append([]byte(nil), rest...), "---\n"+control...), "delete", "--wait=false", "--ignore-not-found", "-f", "-"); err != nil {
			t.Errorf("cleanup: kubectl delete: %v\n%s", err, out)
		}
	})
	c.Must(t, ctx, rest, "apply", "--server-side", fieldManager, "-f", "-")
	first := versions(t, ctx, c, ns)
	if len(first) != len(names) {
		t.Fatalf("%d objects on the server after apply, the golden has %d: %v", len(first), len(names), first)
	}
	c.Must(t, ctx, rest, "apply", "--server-side", fieldManager, "-f", "-")
	second := versions(t, ctx, c, ns)
	for k, v := range first {
		w := second[k]
		if strings.HasPrefix(k, "Pod/") {
			// On a cluster with a node the kubelet writes each Pod's
			// status between the two applies, which moves its
			// resourceVersion; only a spec change moves its generation.
			v[1], w[1] = "", ""
		}
		if w != v {
			t.Errorf("%s changed on an identical apply: generation/resourceVersion %v -> %v", k, v, w)
		}
	}

	// The control: the same default-deny, with the empty list.
	gen := func() string {
		return c.Must(t, ctx, nil, "-n", ns, "get", "networkpolicy", "churn-control", "-o", "jsonpath={.metadata.generation}")
	}
	c.Must(t, ctx, []byte(control), "apply", "--server-side", fieldManager, "-f", "-")
	g1 := gen()
	c.Must(t, ctx, []byte(control), "apply", "--server-side", fieldManager, "-f", "-")
	if g2 := gen(); g2 == g1 {
		t.Errorf("a policy with ingress: [] kept generation %s over a second apply: the server no longer churns on it, and this check proves nothing", g1)
	}
}
