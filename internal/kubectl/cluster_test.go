package kubectl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/k8stest"
)

// TestAgainstAPIServer runs the runner against the local cluster's real
// API server: server-side apply under the field manager (twice: a no-op),
// Get of a present and a missing object, List by label across namespaces,
// Delete (twice: gone is not an error), and a refused request said as
// Forbidden with the pointer to the RBAC doc.
func TestAgainstAPIServer(t *testing.T) {
	c := k8stest.Require(t, k8stest.TierAPI)
	ns := c.Namespace(t, "kubectl")
	k := &Client{Program: c.Kubectl, Kubeconfig: c.Kubeconfig}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if v, err := k.Version(ctx); err != nil || !strings.HasPrefix(v, "v1.") {
		t.Fatalf("Version = %q, %v", v, err)
	}
	doc := []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: probe
  namespace: ` + ns + `
  labels: {dev.claude-bottle.managed: "true", dev.claude-bottle.slug: probe-ab12c}
data: {a: "1"}
`)
	var progress strings.Builder
	if err := k.Apply(ctx, doc, &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "configmap/probe serverside-applied") {
		t.Errorf("apply progress = %q", progress.String())
	}
	var m Meta
	if found, err := k.Get(ctx, ns, "configmap", "probe", &m); err != nil || !found || m.Metadata.UID == "" || m.Kind != "ConfigMap" {
		t.Fatalf("Get = %v, %v, %+v", found, err, m)
	}
	uid := m.Metadata.UID
	if err := k.Apply(ctx, doc, nil); err != nil {
		t.Fatal(err)
	}
	var fields struct {
		Metadata struct {
			ManagedFields []struct {
				Manager string `json:"manager"`
			} `json:"managedFields"`
		} `json:"metadata"`
	}
	out, err := k.Output(ctx, nil, "-n", ns, "get", "configmap", "probe", "-o", "json", "--show-managed-fields")
	if err != nil {
		t.Fatal(err)
	}
	if err := jsonUnmarshalString(out, &fields); err != nil || len(fields.Metadata.ManagedFields) == 0 || fields.Metadata.ManagedFields[0].Manager != FieldManager {
		t.Errorf("managed fields: %v %+v", err, fields)
	}
	if found, err := k.Get(ctx, ns, "configmap", "probe", &m); err != nil || !found || m.Metadata.UID != uid {
		t.Errorf("a second apply replaced the object: %v %v %s", found, err, m.Metadata.UID)
	}
	if found, err := k.Get(ctx, ns, "configmap", "nope", &m); err != nil || found {
		t.Errorf("missing object: found=%v err=%v", found, err)
	}
	items, err := k.List(ctx, "", "configmaps", "dev.claude-bottle.slug=probe-ab12c")
	if err != nil || len(items) != 1 || items[0].Metadata.Namespace != ns {
		t.Errorf("List = %+v, %v", items, err)
	}
	for range 2 {
		if err := k.Delete(ctx, ns, "configmap", "probe", true); err != nil {
			t.Errorf("Delete: %v", err)
		}
	}
	// An unknown resource is kubectl's own error, not an unreachable
	// cluster nor a missing object.
	_, err = k.Output(ctx, nil, "get", "nosuchkind")
	var e *Error
	if !errors.As(err, &e) || e.Unreachable || e.NotFound || !strings.Contains(e.Msg, "nosuchkind") {
		t.Errorf("unknown resource: %#v", err)
	}
}

func jsonUnmarshalString(s string, v any) error { return json.Unmarshal([]byte(s), v) }
