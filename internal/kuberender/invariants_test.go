package kuberender

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/plantest"
)

// bottles are the renders every invariant is checked on: each golden
// bottle with no inputs (render), with every input a start gives, and
// with a test upstream.
func bottles(t *testing.T) map[string][]Object {
	t.Helper()
	out := map[string][]Object{}
	for _, c := range plantest.FeatureCombos() {
		p := plantest.Plan(t, c)
		out[c.Features()], _ = render(t, p, Inputs{})
		out[c.Features()+"/started"], _ = render(t, p, startedInputs(t, p))
		tp := plantest.Plan(t, c)
		tp.TestUpstream = &plan.TestUpstream{CAFile: "/tmp/up/ca.crt", AllowPrivate: []string{"10.244.0.0/24"}}
		out[c.Features()+"/test-upstream"], _ = render(t, tp, Inputs{})
	}
	return out
}

// startedInputs is what a launcher passes: every file and env value, the
// root's UID and the sidecars Pod's IP.
func startedInputs(t *testing.T, p *plan.Plan) Inputs {
	t.Helper()
	in := Inputs{RootUID: "3f1c8a2e-0000-4000-8000-000000000001", SidecarsIP: "10.244.0.7", Files: map[string][]byte{}, SecretEnv: map[string]string{}}
	for _, f := range StateFiles(p) {
		in.Files[f] = []byte("content of " + f)
	}
	for _, s := range p.TokenSlots {
		in.SecretEnv[s.Slot] = "token-" + s.Slot
	}
	for _, s := range p.SecretSlots {
		in.SecretEnv[s.Slot] = "secret-" + s.Slot
	}
	for _, e := range p.AgentEnv {
		if e.FromProcess {
			in.SecretEnv[e.Key] = "agent-" + e.Key
		}
	}
	return in
}

func pods(objs []Object) (sidecars, agent *corev1.Pod) {
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			if p.Labels[layout.LabelRole] == RoleAgent {
				agent = p
			} else {
				sidecars = p
			}
		}
	}
	return sidecars, agent
}

func policies(objs []Object) map[string]*networkingv1.NetworkPolicy {
	out := map[string]*networkingv1.NetworkPolicy{}
	for _, o := range objs {
		if np, ok := o.(*networkingv1.NetworkPolicy); ok {
			out[np.Name] = np
		}
	}
	return out
}

// walk calls fn for every key and value of v's JSON form, with its path.
func walk(t *testing.T, v any, fn func(path []string, key string, val any)) {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	var rec func(path []string, v any)
	rec = func(path []string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				fn(path, k, val)
				rec(append(slices.Clone(path), k), val)
			}
		case []any:
			for i, val := range x {
				rec(append(slices.Clone(path), fmt.Sprint(i)), val)
			}
		}
	}
	rec(nil, m)
}

// TestPodHardening: both Pods, every container (init ones too): no
// ServiceAccount token, non-root, every capability dropped, no privilege
// escalation, no host namespace, seccomp on.
func TestPodHardening(t *testing.T) {
	for name, objs := range bottles(t) {
		sc, ag := pods(objs)
		if sc == nil || ag == nil {
			t.Fatalf("%s: the sidecars Pod or the agent Pod is missing", name)
		}
		for _, pod := range []*corev1.Pod{sc, ag} {
			s := pod.Spec
			where := name + ": Pod " + pod.Name
			if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
				t.Errorf("%s: automountServiceAccountToken is not false", where)
			}
			if s.ServiceAccountName == "" || s.ServiceAccountName == "default" {
				t.Errorf("%s: serviceAccountName %q (no controller-manager means no default ServiceAccount)", where, s.ServiceAccountName)
			}
			if s.HostNetwork || s.HostPID || s.HostIPC || (s.HostUsers != nil && *s.HostUsers) {
				t.Errorf("%s: shares a host namespace", where)
			}
			if s.EnableServiceLinks == nil || *s.EnableServiceLinks {
				t.Errorf("%s: service links would put every Service's address in the env", where)
			}
			psc := s.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
				t.Errorf("%s: the Pod is not runAsNonRoot with a non-zero runAsUser: %+v", where, psc)
			}
			if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: no RuntimeDefault seccomp profile", where)
			}
			for _, c := range append(slices.Clone(s.InitContainers), s.Containers...) {
				csc := c.SecurityContext
				if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
					t.Errorf("%s container %s: allowPrivilegeEscalation is not false", where, c.Name)
				}
				if csc == nil || csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(csc.Capabilities.Add) > 0 {
					t.Errorf("%s container %s: capabilities are not drop [ALL], add none", where, c.Name)
				}
				if csc == nil || csc.Privileged == nil || *csc.Privileged {
					t.Errorf("%s container %s: privileged is not false", where, c.Name)
				}
				if csc != nil && csc.RunAsUser != nil && *csc.RunAsUser == 0 {
					t.Errorf("%s container %s: runs as root", where, c.Name)
				}
				if c.ImagePullPolicy != corev1.PullNever {
					t.Errorf("%s container %s: imagePullPolicy %q, want Never", where, c.Name, c.ImagePullPolicy)
				}
				if len(c.Ports) > 0 && pod == ag {
					t.Errorf("%s container %s: the agent listens on nothing", where, c.Name)
				}
				for _, p := range c.Ports {
					if p.HostPort != 0 || p.HostIP != "" {
						t.Errorf("%s container %s: host port %+v", where, c.Name, p)
					}
				}
			}
		}
		if c := sc.Spec.Containers[0].SecurityContext; c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
			t.Errorf("%s: the sidecars' root filesystem is writable (compose: read_only)", name)
		}
		if ag.Spec.DNSPolicy != corev1.DNSNone || ag.Spec.DNSConfig == nil || !slices.Equal(ag.Spec.DNSConfig.Nameservers, []string{"127.0.0.1"}) || len(ag.Spec.DNSConfig.Searches) > 0 {
			t.Errorf("%s: the agent has a resolver: dnsPolicy %q, %+v", name, ag.Spec.DNSPolicy, ag.Spec.DNSConfig)
		}
	}
}

// TestNoHostPath: no object mounts or names a host path, anywhere.
func TestNoHostPath(t *testing.T) {
	for name, objs := range bottles(t) {
		for _, o := range objs {
			walk(t, o, func(path []string, key string, _ any) {
				if key == "hostPath" || key == "hostNetwork" || key == "hostPID" || key == "hostIPC" || key == "hostPort" {
					t.Errorf("%s: %s %s has %s at %s", name, o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), key, strings.Join(path, "."))
				}
			})
		}
	}
}

// sidecarSecrets are the Secrets only the sidecars Pod may reference.
var sidecarSecrets = []string{SidecarsEnvSecret, EgressCASecret, PipelockCASecret, GitGateKeysSecret}

// TestAgentReferencesNoSidecarSecret walks the whole agent Pod: every
// Secret it names (volumes, projections, env, envFrom) is agent-env, and
// no sidecar Secret's name appears in it at all.
func TestAgentReferencesNoSidecarSecret(t *testing.T) {
	for name, objs := range bottles(t) {
		sc, ag := pods(objs)
		var refs []string
		walk(t, ag, func(path []string, key string, val any) {
			parent := ""
			if len(path) > 0 {
				parent = path[len(path)-1]
			}
			switch {
			case key == "secretName":
				refs = append(refs, val.(string))
			case key == "name" && (parent == "secretKeyRef" || parent == "secretRef" || parent == "secret"):
				refs = append(refs, val.(string))
			case key == "secret" || key == "secretKeyRef" || key == "secretRef":
				if _, ok := val.(map[string]any); !ok {
					t.Errorf("%s: agent Pod %s.%s is not an object", name, strings.Join(path, "."), key)
				}
			}
		})
		for _, r := range refs {
			if r != AgentEnvSecret {
				t.Errorf("%s: the agent Pod references Secret %q", name, r)
			}
		}
		j, _ := json.Marshal(ag)
		for _, s := range sidecarSecrets {
			if strings.Contains(string(j), `"`+s+`"`) {
				t.Errorf("%s: the agent Pod names the sidecars' Secret %s", name, s)
			}
		}
		// The walk finds what it looks for: the sidecars Pod references
		// its Secrets by the same fields.
		var scRefs int
		walk(t, sc, func(path []string, key string, val any) {
			if key == "secretName" || (key == "name" && len(path) > 0 && (path[len(path)-1] == "secretKeyRef" || path[len(path)-1] == "secret")) {
				scRefs++
			}
		})
		if scRefs == 0 {
			t.Errorf("%s: the walk found no Secret reference in the sidecars Pod either; it checks nothing", name)
		}
	}
}

// TestSecretsStayWithTheSidecars: every Secret but agent-env is the
// sidecars' (role label), and the agent's Secret holds only the agent's
// own env.
func TestSecretsStayWithTheSidecars(t *testing.T) {
	for name, objs := range bottles(t) {
		for _, o := range objs {
			s, ok := o.(*corev1.Secret)
			if !ok {
				continue
			}
			want := RoleSidecars
			if s.Name == AgentEnvSecret {
				want = RoleAgent
				for k := range s.Data {
					if strings.HasPrefix(k, "EGRESS_TOKEN_") || strings.HasPrefix(k, "PIPELOCK_SECRET_") {
						t.Errorf("%s: agent-env holds the sidecars' slot %s", name, k)
					}
				}
			}
			if s.Labels[layout.LabelRole] != want {
				t.Errorf("%s: Secret %s has role %q, want %q", name, s.Name, s.Labels[layout.LabelRole], want)
			}
		}
	}
}

// TestNetworkPolicies: default deny for the whole namespace; the agent
// may reach the sidecars Pod on the daemons' ports and nothing else and
// takes no connection; the sidecars Pod takes connections only from the
// agent on those ports and never reaches the private, loopback,
// link-local or CGNAT ranges.
func TestNetworkPolicies(t *testing.T) {
	for name, objs := range bottles(t) {
		sc, ag := pods(objs)
		pols := policies(objs)
		dd := pols[PolicyDefaultDeny]
		if dd == nil || len(dd.Spec.PodSelector.MatchLabels)+len(dd.Spec.PodSelector.MatchExpressions) != 0 ||
			!slices.Equal(dd.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) ||
			dd.Spec.Ingress != nil || dd.Spec.Egress != nil {
			t.Fatalf("%s: no default-deny for every Pod, both directions, no rules: %+v", name, dd)
		}
		var ports []int32
		for _, c := range sc.Spec.Containers[0].Ports {
			ports = append(ports, c.ContainerPort)
		}
		if len(ports) == 0 {
			t.Fatalf("%s: the sidecars container lists no ports", name)
		}
		for pname, np := range pols {
			selects := func(pod *corev1.Pod) bool {
				for k, v := range np.Spec.PodSelector.MatchLabels {
					if pod.Labels[k] != v {
						return false
					}
				}
				return true
			}
			if selects(ag) {
				if len(np.Spec.Ingress) > 0 {
					t.Errorf("%s: %s lets connections into the agent", name, pname)
				}
				for _, r := range np.Spec.Egress {
					for _, to := range r.To {
						if to.IPBlock != nil || to.NamespaceSelector != nil || to.PodSelector == nil || !matches(to.PodSelector.MatchLabels, sc) || matches(to.PodSelector.MatchLabels, ag) {
							t.Errorf("%s: %s lets the agent reach %+v, not only the sidecars Pod", name, pname, to)
						}
					}
					if len(r.To) == 0 {
						t.Errorf("%s: %s lets the agent reach everything", name, pname)
					}
					if got := policyPorts(r.Ports); !slices.Equal(got, ports) {
						t.Errorf("%s: %s gives the agent ports %v, want the daemons' %v", name, pname, got, ports)
					}
				}
			}
			if selects(sc) {
				for _, r := range np.Spec.Ingress {
					if len(r.From) != 1 || r.From[0].PodSelector == nil || !matches(r.From[0].PodSelector.MatchLabels, ag) || matches(r.From[0].PodSelector.MatchLabels, sc) || r.From[0].NamespaceSelector != nil {
						t.Errorf("%s: %s lets %+v into the sidecars Pod, not only the agent", name, pname, r.From)
					}
					if got := policyPorts(r.Ports); !slices.Equal(got, ports) {
						t.Errorf("%s: %s opens ports %v of the sidecars, want %v", name, pname, got, ports)
					}
				}
				checkSidecarsEgress(t, name+": "+pname, np.Spec.Egress)
			}
		}
		if pols[PolicyAgentEgress] == nil || pols[PolicySidecarsIngress] == nil || pols[PolicySidecarsEgress] == nil {
			t.Errorf("%s: policies %v, want default-deny, agent-egress, sidecars-ingress and sidecars-egress", name, keys(pols))
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func matches(sel map[string]string, pod *corev1.Pod) bool {
	if len(sel) == 0 {
		return true
	}
	for k, v := range sel {
		if pod.Labels[k] != v {
			return false
		}
	}
	return true
}

func policyPorts(ps []networkingv1.NetworkPolicyPort) []int32 {
	var out []int32
	for _, p := range ps {
		if p.Port == nil || p.EndPort != nil {
			out = append(out, -1) // any port, or a range
			continue
		}
		out = append(out, p.Port.IntVal)
	}
	return out
}

// The ranges K8S.md says the sidecars never reach (the cluster's own are
// inside 10/8 on the local cluster), written out here rather than taken
// from NeverReached so the test checks the renderer against the contract.
var (
	mustExceptV4 = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8"}
	mustExceptV6 = []string{"::1/128", "fe80::/10", "fc00::/7"}
)

// checkSidecarsEgress: every address the rules let the sidecars reach lies
// outside NeverReached, except a git host the bottle pinned (one address,
// one port); pod peers are cluster DNS and the test upstreams only.
func checkSidecarsEgress(t *testing.T, where string, rules []networkingv1.NetworkPolicyEgressRule) {
	t.Helper()
	for _, r := range rules {
		if len(r.To) == 0 {
			t.Errorf("%s: a rule with no peer lets the sidecars reach everything, the cluster too", where)
		}
		for _, to := range r.To {
			switch {
			case to.IPBlock != nil:
				cidr := netip.MustParsePrefix(to.IPBlock.CIDR)
				if cidr.Bits() == 0 {
					ranges := mustExceptV4
					if cidr.Addr().Is6() {
						ranges = mustExceptV6
					}
					for _, n := range ranges {
						if !covered(netip.MustParsePrefix(n), to.IPBlock.Except) {
							t.Errorf("%s: %s does not except %s", where, to.IPBlock.CIDR, n)
						}
					}
					if len(r.Ports) != 0 {
						t.Errorf("%s: the internet rule is limited to ports %v", where, policyPorts(r.Ports))
					}
					continue
				}
				// A pinned git host: one address, one port.
				if cidr.Bits() != cidr.Addr().BitLen() || len(r.Ports) != 1 {
					t.Errorf("%s: ipBlock %s with ports %v is neither the internet nor one pinned git host", where, to.IPBlock.CIDR, policyPorts(r.Ports))
				}
				if a := cidr.Addr(); a.IsLoopback() || a.IsLinkLocalUnicast() {
					t.Errorf("%s: the sidecars may reach %s", where, a)
				}
			case to.PodSelector != nil && to.PodSelector.MatchLabels["k8s-app"] == "kube-dns":
				if got := policyPorts(r.Ports); !slices.Equal(got, []int32{53, 53}) {
					t.Errorf("%s: cluster DNS on ports %v", where, got)
				}
			case to.PodSelector != nil && to.PodSelector.MatchLabels[layout.LabelRole] == RoleTestUpstream:
			default:
				t.Errorf("%s: the sidecars may reach %+v", where, to)
			}
		}
	}
}

// TestNoEmptyRuleLists: no document holds `ingress: []` or `egress: []`
// (or any empty list): the server drops them, and every identical apply
// would then count as a change.
func TestNoEmptyRuleLists(t *testing.T) {
	for name, objs := range bottles(t) {
		out, err := Marshal(objs)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), "[]") {
			t.Errorf("%s: the YAML holds an empty list:\n%s", name, out)
		}
		for _, doc := range strings.Split(string(out), "---\n")[1:] {
			var m any
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				t.Fatal(err)
			}
			walk(t, m, func(path []string, key string, val any) {
				if l, ok := val.([]any); ok && len(l) == 0 {
					t.Errorf("%s: empty list at %s.%s", name, strings.Join(path, "."), key)
				}
			})
		}
	}
}
