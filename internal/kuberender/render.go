// Package kuberender turns a bottle plan into Kubernetes objects: a pure
// function, plan and inputs in, typed k8s.io/api objects out, marshalled
// as multi-document YAML by sigs.k8s.io/yaml (no hand-written YAML).
//
// The objects carry the same facts as the compose renderer's bundle shape
// (internal/compose): one sidecars Pod running the bundle's init and the
// daemons CLAUDE_BOTTLE_SIDECAR_DAEMONS names, with the same env, the same
// config dirs at the same paths and every legacy and per-slug name; and an
// agent Pod with the same env, no resolver and the same hardening. The
// sidecars are their own Pod because NetworkPolicy is per pod: a sidecar
// in the agent's Pod would have the agent's network rights.
//
// Kubernetes has no legacy shape: every bottle renders as the bundle,
// whatever plan.Plan.Bundle says.
package kuberender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// Object is one rendered object: a typed k8s.io/api value with its
// apiVersion and kind set.
type Object interface {
	runtime.Object
	metav1.Object
}

// Inputs are what the plan does not hold. The zero value is what `render`
// uses: no cluster, no secrets.
type Inputs struct {
	// Namespace overrides the bottle's own "claude-bottle-<slug>". An
	// overridden namespace is the operator's: it is not rendered (nor
	// labelled, nor deleted with the bottle).
	Namespace string
	// RootUID is the UID of the root ConfigMap once the launcher has
	// created it; when set, every other namespaced object names the root
	// as its owner, so deleting the root deletes the bottle.
	RootUID types.UID
	// SidecarsIP is the sidecars Pod's address; when set, the agent Pod's
	// hostAliases map every sidecar name to it (the agent has no resolver).
	SidecarsIP string
	// Files holds the state dir's files (StateFiles lists the paths the
	// objects carry, slash-separated and relative to the state dir). nil
	// renders every ConfigMap and Secret with its keys but empty values,
	// annotated AnnotationValues: FilledAtStart.
	Files map[string][]byte
	// SecretEnv maps the names launch.ProcessEnv sets (token slots, secret
	// slots, the agent's secret env keys) to their values; nil renders the
	// env Secrets' keys with empty values, as Files does.
	SecretEnv map[string]string
	// TestUpstreamCA is the content of plan.TestUpstream.CAFile (a host
	// file outside the state dir); nil renders the key empty.
	TestUpstreamCA []byte
	// ClusterCIDRs are the cluster's own ranges (pods, services, nodes)
	// the sidecars must never reach, on top of the private, loopback,
	// link-local and CGNAT ranges they never reach anyway.
	ClusterCIDRs []string
}

// Object names inside the bottle's namespace (K8S.md fixes them).
const (
	// RootName is the root ConfigMap: the bottle's metadata, and the
	// owner of every other namespaced object.
	RootName = "claude-bottle"

	AgentServiceAccount    = "agent"
	SidecarsServiceAccount = "sidecars"

	// AgentEnvSecret holds the agent's secret env (env valueFrom), the
	// only Secret the agent Pod references.
	AgentEnvSecret = "agent-env"
	// SidecarsEnvSecret holds the token and known-secret slots.
	SidecarsEnvSecret = "sidecars-env"

	TestUpstreamCAConfigMap = "test-upstream-ca"
	// TestUpstreamCAKey is its one key.
	TestUpstreamCAKey = "ca.crt"

	PolicyDefaultDeny     = "default-deny"
	PolicyAgentEgress     = "agent-egress"
	PolicySidecarsIngress = "sidecars-ingress"
	PolicySidecarsEgress  = "sidecars-egress"

	// Container names.
	SidecarsContainer  = "sidecars"
	AgentContainer     = "agent"
	TrustInitContainer = "trust"

	// RoleSidecars labels the sidecars Pod and everything only it uses;
	// RoleAgent the agent Pod and its own objects.
	RoleSidecars = "sidecars"
	RoleAgent    = "agent"
	// RoleTestUpstream labels the demo's and escape suite's fake
	// upstream pods, which the sidecars may reach when the plan has a
	// TestUpstream.
	RoleTestUpstream = "test-upstream"

	// AnnotationValues marks an object whose values the launcher fills.
	AnnotationValues = "dev.claude-bottle.values"
	FilledAtStart    = "filled at start"

	// MetadataKey is the root ConfigMap's copy of the state dir's
	// metadata.json.
	MetadataKey = "metadata.json"
)

// SidecarUID and AgentUID are the users of the project's images
// (Dockerfile.sidecars' 10001, Dockerfile.agent's and
// Dockerfile.agent-test's 1000). Both images name their user by name or
// number; runAsNonRoot can only check a number, so the Pods say it. On
// Docker the sidecars run as the host user who owns the 0600 keys; here
// the keys come from Secrets made readable to SidecarUID through fsGroup.
const (
	SidecarUID int64 = 10001
	AgentUID   int64 = 1000
)

// Namespace is the bottle's namespace: in.Namespace, else
// "claude-bottle-<slug>".
func Namespace(p *plan.Plan, in Inputs) string {
	if in.Namespace != "" {
		return in.Namespace
	}
	return layout.ProjectName(p.Slug)
}

// Render turns a plan into the bottle's objects, in the order they are
// applied: the namespace, the root, the ServiceAccounts, the
// NetworkPolicies (default deny before any Pod exists), the ConfigMaps and
// Secrets, the Services, the sidecars Pod, and last the agent Pod (which
// needs the sidecars Pod's IP). Render is pure and deterministic.
func Render(p *plan.Plan, in Inputs) ([]Object, error) {
	r, err := newRenderer(p, in)
	if err != nil {
		return nil, err
	}
	var objs []Object
	if in.Namespace == "" || in.Namespace == layout.ProjectName(p.Slug) {
		objs = append(objs, r.namespace())
	}
	root, err := r.root()
	if err != nil {
		return nil, err
	}
	objs = append(objs, root, r.serviceAccount(AgentServiceAccount, RoleAgent), r.serviceAccount(SidecarsServiceAccount, RoleSidecars))
	pols, err := r.policies()
	if err != nil {
		return nil, err
	}
	objs = append(objs, pols...)
	stores, err := r.stores()
	if err != nil {
		return nil, err
	}
	objs = append(objs, stores...)
	envs, err := r.envSecrets()
	if err != nil {
		return nil, err
	}
	objs = append(objs, envs...)
	objs = append(objs, r.services()...)
	objs = append(objs, r.sidecarsPod(), r.agentPod())
	return objs, nil
}

// Marshal renders objects as multi-document YAML, each document starting
// "---". The status (the server's to fill) is left out.
func Marshal(objs []Object) ([]byte, error) {
	var buf bytes.Buffer
	for _, o := range objs {
		j, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("marshalling %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
		var m map[string]any
		if err := json.Unmarshal(j, &m); err != nil {
			return nil, err
		}
		delete(m, "status")
		y, err := yaml.Marshal(m)
		if err != nil {
			return nil, err
		}
		buf.WriteString("---\n")
		buf.Write(y)
	}
	return buf.Bytes(), nil
}

// renderer holds what every object needs.
type renderer struct {
	p  *plan.Plan
	in Inputs
	ns string
	// clusterCIDRs parsed from in.ClusterCIDRs.
	clusterCIDRs []netip.Prefix
}

func newRenderer(p *plan.Plan, in Inputs) (*renderer, error) {
	r := &renderer{p: p, in: in, ns: Namespace(p, in)}
	if errs := validateDNSLabel(r.ns); errs != "" {
		return nil, fmt.Errorf("namespace %q: %s; pick a --namespace (or --slug) that is a DNS label", r.ns, errs)
	}
	// Every name the agent reaches a sidecar by is a Service name: a DNS
	// label of at most 63 characters.
	for _, n := range sidecarNames(p) {
		if errs := validateDNSLabel(n.name); errs != "" {
			return nil, fmt.Errorf("slug %q: Service name %q: %s; use a --slug of at most %d characters", p.Slug, n.name, errs, 63-(len(n.name)-len(p.Slug)))
		}
	}
	if in.SidecarsIP != "" {
		if _, err := netip.ParseAddr(in.SidecarsIP); err != nil {
			return nil, fmt.Errorf("kuberender: sidecars Pod IP %q: %v", in.SidecarsIP, err)
		}
	}
	for _, c := range in.ClusterCIDRs {
		pfx, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("kuberender: cluster CIDR %q: %v; give ranges like 10.244.0.0/16", c, err)
		}
		if pfx.Addr().Is4In6() {
			if pfx.Bits() < 96 {
				return nil, fmt.Errorf("kuberender: cluster CIDR %q: an IPv4-mapped range needs at least 96 bits", c)
			}
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		if pfx.Bits() == 0 {
			return nil, fmt.Errorf("kuberender: cluster CIDR %q is the whole address space; give the cluster's own ranges", c)
		}
		r.clusterCIDRs = append(r.clusterCIDRs, pfx.Masked())
	}
	return r, nil
}

// validateDNSLabel says what is wrong with s as an RFC 1123 label (""
// when nothing is). Slugs are [a-z][a-z0-9-]*, so length is what fails.
func validateDNSLabel(s string) string {
	if len(s) == 0 || len(s) > 63 {
		return fmt.Sprintf("%d characters, a Kubernetes name has 1 to 63", len(s))
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(s)-1
		if !ok {
			return fmt.Sprintf("character %q at %d is not allowed (lower-case letters, digits and inner '-' only)", c, i)
		}
	}
	return ""
}

// labels are the bottle's labels (layout's keys, the same as Docker's),
// with role when it is not empty.
func (r *renderer) labels(role string) map[string]string {
	l := map[string]string{
		layout.LabelManaged: "true",
		layout.LabelSlug:    r.p.Slug,
		layout.LabelAgent:   r.p.Agent.Name,
		layout.LabelBottle:  r.p.Bottle.Name,
	}
	if role != "" {
		l[layout.LabelRole] = role
	}
	return l
}

// selector picks the bottle's Pod of a role.
func (r *renderer) selector(role string) map[string]string {
	return map[string]string{layout.LabelSlug: r.p.Slug, layout.LabelRole: role}
}

// meta is a namespaced object's metadata, owned by the root once its UID
// is known.
func (r *renderer) meta(name, role string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Namespace: r.ns, Labels: r.labels(role)}
	if r.in.RootUID != "" {
		m.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "ConfigMap", Name: RootName, UID: r.in.RootUID,
		}}
	}
	return m
}

var (
	tmNamespace     = metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}
	tmConfigMap     = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
	tmSecret        = metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
	tmSA            = metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}
	tmService       = metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}
	tmPod           = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	tmNetworkPolicy = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
)

// namespace is the bottle's own namespace. Pod Security admission
// enforces the restricted profile in it: the API server itself refuses a
// Pod that runs as root, keeps a capability, may escalate, or mounts a
// host path.
func (r *renderer) namespace() *corev1.Namespace {
	l := r.labels("")
	l["pod-security.kubernetes.io/enforce"] = "restricted"
	l["pod-security.kubernetes.io/enforce-version"] = "latest"
	return &corev1.Namespace{TypeMeta: tmNamespace, ObjectMeta: metav1.ObjectMeta{Name: r.ns, Labels: l}}
}

// root is the bottle's root ConfigMap: what list and info show, and the
// owner of the rest. It is never owned itself.
func (r *renderer) root() (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{
		TypeMeta:   tmConfigMap,
		ObjectMeta: metav1.ObjectMeta{Name: RootName, Namespace: r.ns, Labels: r.labels("")},
		Data: map[string]string{
			"slug":    r.p.Slug,
			"agent":   r.p.Agent.Name,
			"bottle":  r.p.Bottle.Name,
			"daemons": strings.Join(r.p.Daemons, ","),
		},
	}
	v, err := r.file(MetadataKey)
	if err != nil {
		return nil, err
	}
	cm.Data[MetadataKey] = string(v)
	r.annotateUnfilled(&cm.ObjectMeta, r.in.Files == nil)
	return cm, nil
}

func (r *renderer) annotateUnfilled(m *metav1.ObjectMeta, unfilled bool) {
	if unfilled {
		m.Annotations = map[string]string{AnnotationValues: FilledAtStart}
	}
}

// serviceAccount: no kube-controller-manager means no "default"
// ServiceAccount, so the bottle brings its own; neither gets a token.
func (r *renderer) serviceAccount(name, role string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{TypeMeta: tmSA, ObjectMeta: r.meta(name, role), AutomountServiceAccountToken: ptr(false)}
}

// envSecrets are the sidecars' token and secret slots and the agent's
// secret env, each rendered only when it has keys.
func (r *renderer) envSecrets() ([]Object, error) {
	var sidecarKeys, agentKeys []string
	for _, t := range r.p.TokenSlots {
		sidecarKeys = append(sidecarKeys, t.Slot)
	}
	for _, s := range r.p.SecretSlots {
		sidecarKeys = append(sidecarKeys, s.Slot)
	}
	for _, e := range r.p.AgentEnv {
		if e.FromProcess {
			agentKeys = append(agentKeys, e.Key)
		}
	}
	var out []Object
	for _, s := range []struct {
		name, role string
		keys       []string
	}{{SidecarsEnvSecret, RoleSidecars, sidecarKeys}, {AgentEnvSecret, RoleAgent, agentKeys}} {
		if len(s.keys) == 0 {
			continue
		}
		sec := &corev1.Secret{TypeMeta: tmSecret, ObjectMeta: r.meta(s.name, s.role), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{}}
		for _, k := range s.keys {
			v := []byte{}
			if r.in.SecretEnv != nil {
				val, ok := r.in.SecretEnv[k]
				if !ok {
					return nil, fmt.Errorf("kuberender: no value for %s in the secret env (Secret %s); the launcher collects it with launch.CollectSecrets", k, s.name)
				}
				v = []byte(val)
			}
			sec.Data[k] = v
		}
		r.annotateUnfilled(&sec.ObjectMeta, r.in.SecretEnv == nil)
		out = append(out, sec)
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
