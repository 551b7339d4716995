package kuberender

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// NeverReached are the ranges the sidecars Pod never reaches, whatever the
// bottle says: private networks (where clusters, nodes and other tenants
// live), loopback, link-local (cloud metadata), CGNAT and "this network".
// Inputs.ClusterCIDRs adds the cluster's own.
var NeverReached = struct{ V4, V6 []string }{
	V4: []string{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"},
	// Loopback, NAT64 (it leads back to the IPv4 ranges above),
	// unique-local and link-local. IPv4-mapped addresses need no entry: a
	// connection to one leaves as IPv4 and meets the IPv4 rule.
	V6: []string{"::1/128", "64:ff9b::/96", "fc00::/7", "fe80::/10"},
}

// policies: default deny for the namespace; the agent may reach only the
// sidecars Pod's daemon ports; the sidecars Pod takes connections only
// from the agent on those ports and reaches the internet, the gate's
// declared hosts and cluster DNS, never the private or cluster ranges.
//
// No policy writes `ingress: []` or `egress: []`: the server drops an
// empty list, so every identical server-side apply would count as a change
// (metadata.generation churn). A policy type with no rules is written by
// listing the type and omitting the key.
func (r *renderer) policies() ([]Object, error) {
	ports := r.daemonPorts()
	agent := metav1.LabelSelector{MatchLabels: r.selector(RoleAgent)}
	sidecars := metav1.LabelSelector{MatchLabels: r.selector(RoleSidecars)}
	sidecarsEgress, err := r.sidecarsEgress()
	if err != nil {
		return nil, err
	}
	pol := func(name, role string, spec networkingv1.NetworkPolicySpec) Object {
		return &networkingv1.NetworkPolicy{TypeMeta: tmNetworkPolicy, ObjectMeta: r.meta(name, role), Spec: spec}
	}
	return []Object{
		pol(PolicyDefaultDeny, "", networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		}),
		pol(PolicyAgentEgress, RoleAgent, networkingv1.NetworkPolicySpec{
			PodSelector: agent,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &sidecars}}, Ports: ports}},
		}),
		pol(PolicySidecarsIngress, RoleSidecars, networkingv1.NetworkPolicySpec{
			PodSelector: sidecars,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &agent}}, Ports: ports}},
		}),
		pol(PolicySidecarsEgress, RoleSidecars, networkingv1.NetworkPolicySpec{
			PodSelector: sidecars,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      sidecarsEgress,
		}),
	}, nil
}

// daemonPorts are the bottle's daemons' ports, in daemon order.
func (r *renderer) daemonPorts() []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for _, d := range r.p.Daemons {
		out = append(out, tcp(daemonPort(d)))
	}
	return out
}

func tcp(port int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(port))}
}

// sidecarsEgress: the internet on any port (routes, model gateways and
// git upstreams use their own), minus NeverReached and the cluster's
// ranges; cluster DNS; each git extra_hosts address that falls inside an
// excluded range, on its upstream's port (the bottle declared it); and
// the test upstream pods when the plan has one.
func (r *renderer) sidecarsEgress() ([]networkingv1.NetworkPolicyEgressRule, error) {
	v4, v6 := r.except()
	rules := []networkingv1.NetworkPolicyEgressRule{
		{To: []networkingv1.NetworkPolicyPeer{
			{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: v4}},
			{IPBlock: &networkingv1.IPBlock{CIDR: "::/0", Except: v6}},
		}},
		// Cluster DNS: the daemons resolve the hosts they dial. The
		// agent has no resolver and no such rule.
		{
			To: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
			}},
			Ports: []networkingv1.NetworkPolicyPort{
				{Protocol: ptr(corev1.ProtocolUDP), Port: ptr(intstr.FromInt32(53))},
				tcp(53),
			},
		},
	}
	hosts, err := r.gitHosts()
	if err != nil {
		return nil, err
	}
	rules = append(rules, hosts...)
	if r.p.TestUpstream != nil {
		rules = append(rules, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{layout.LabelRole: RoleTestUpstream}},
		}}})
	}
	return rules, nil
}

// except lists NeverReached and the cluster CIDRs not already inside it.
func (r *renderer) except() (v4, v6 []string) {
	v4 = append(v4, NeverReached.V4...)
	v6 = append(v6, NeverReached.V6...)
	for _, c := range r.clusterCIDRs {
		if c.Addr().Is4() {
			if !covered(c, NeverReached.V4) && !contains(v4, c.String()) {
				v4 = append(v4, c.String())
			}
		} else if !covered(c, NeverReached.V6) && !contains(v6, c.String()) {
			v6 = append(v6, c.String())
		}
	}
	return v4, v6
}

// covered reports whether c lies inside one of the ranges.
func covered(c netip.Prefix, ranges []string) bool {
	for _, s := range ranges {
		pr := netip.MustParsePrefix(s)
		if pr.Bits() <= c.Bits() && pr.Contains(c.Addr()) {
			return true
		}
	}
	return false
}

// gitHosts allows what a git remote's extra_hosts pins to a private
// address (a self-hosted git server on the operator's network), on the
// upstream's ssh port. Loopback, link-local and the cluster's own ranges
// are refused: on Kubernetes they are the node, the cloud's metadata
// service or the cluster, never a git server.
func (r *renderer) gitHosts() ([]networkingv1.NetworkPolicyEgressRule, error) {
	if !r.p.Has(layout.DaemonGitGate) {
		return nil, nil
	}
	var out []networkingv1.NetworkPolicyEgressRule
	seen := map[string]bool{}
	for i, g := range r.p.Bottle.Git {
		port := upstreamPort(g.Upstream)
		for _, h := range g.ExtraHosts {
			addr, err := netip.ParseAddr(h.IP)
			if err != nil {
				return nil, fmt.Errorf("%s: key git[%d].extra_hosts: %s: %q is not an IP address", r.p.Bottle.File, i, h.Host, h.IP)
			}
			addr = addr.Unmap()
			if addr.IsLoopback() || addr.IsLinkLocalUnicast() || addr.IsUnspecified() || r.inCluster(addr) {
				return nil, fmt.Errorf("%s: key git[%d].extra_hosts: %s: %s is loopback, link-local or inside the cluster; a bottle on Kubernetes never reaches it (give the git server's own address)", r.p.Bottle.File, i, h.Host, h.IP)
			}
			ranges := NeverReached.V6
			bits := 128
			if addr.Is4() {
				ranges, bits = NeverReached.V4, 32
			}
			pfx := netip.PrefixFrom(addr, bits)
			key := pfx.String() + ":" + strconv.Itoa(int(port))
			if !covered(pfx, ranges) || seen[key] {
				continue // the internet rule already lets it through
			}
			seen[key] = true
			out = append(out, networkingv1.NetworkPolicyEgressRule{
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: pfx.String()}}},
				Ports: []networkingv1.NetworkPolicyPort{tcp(port)},
			})
		}
	}
	return out, nil
}

func (r *renderer) inCluster(a netip.Addr) bool {
	for _, c := range r.clusterCIDRs {
		if c.Contains(a) {
			return true
		}
	}
	return false
}

// upstreamPort is the ssh port of an upstream (ssh://host:port/path, or
// 22 for ssh:// without a port and for user@host:path).
func upstreamPort(upstream string) int32 {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "ssh" || u.Port() == "" {
		return 22
	}
	n, err := strconv.Atoi(u.Port())
	if err != nil || n < 1 || n > 65535 {
		return 22
	}
	return int32(n)
}
