package kuberender

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/claude-bottle/claude-bottle/internal/compose"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/plantest"
)

// composeEnv writes k8s env the way compose does: K=V for a value, the
// bare name for a value the process env supplies (here: a Secret key of
// the same name).
func composeEnv(t *testing.T, env []corev1.EnvVar, secret string) []string {
	t.Helper()
	var out []string
	for _, e := range env {
		switch {
		case e.ValueFrom == nil:
			out = append(out, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == secret && e.ValueFrom.SecretKeyRef.Key == e.Name:
			out = append(out, e.Name)
		default:
			t.Errorf("env %s comes from %+v, not Secret %s key %s", e.Name, e.ValueFrom, secret, e.Name)
		}
	}
	return out
}

// TestSameFactsAsCompose: for every golden bottle (and one with a test
// upstream) the k8s objects carry what compose's bundle carries: the
// daemons, image, command, env, every in-container config path, every
// name the agent reaches the sidecars by, the gate's extra hosts, the
// labels, the hardening and the agent's env, image and resolver.
func TestSameFactsAsCompose(t *testing.T) {
	var plans []*plan.Plan
	for _, c := range plantest.FeatureCombos() {
		plans = append(plans, plantest.Plan(t, c))
	}
	tu := plantest.Plan(t, plantest.Combo{Routes: true, Bundle: true})
	tu.TestUpstream = &plan.TestUpstream{CAFile: "/tmp/up/ca.crt", AllowPrivate: []string{"172.30.0.0/16", "10.9.0.0/24"}}
	plans = append(plans, tu)
	for i, p := range plans {
		d, err := compose.Render(p)
		if err != nil {
			t.Fatal(err)
		}
		cs, _ := d.Services.Get(compose.BundleService)
		ca, _ := d.Services.Get("agent")
		objs, _ := render(t, p, Inputs{SidecarsIP: "10.244.0.9"})
		sp, ap := pods(objs)
		name := strings.Join(p.Daemons, ",")
		if i == len(plans)-1 {
			name += "+test-upstream"
		}
		c := sp.Spec.Containers[0]

		if c.Image != cs.Image || !slices.Equal(c.Command, append(slices.Clone(cs.Entrypoint), cs.Command...)) {
			t.Errorf("%s: sidecars run %s %v, compose %s %v %v", name, c.Image, c.Command, cs.Image, cs.Entrypoint, cs.Command)
		}
		if diff := cmp.Diff(cs.Environment, composeEnv(t, c.Env, SidecarsEnvSecret)); diff != "" {
			t.Errorf("%s: sidecars env (-compose +k8s):\n%s", name, diff)
		}
		// Compose's volumes by in-container path; the passwd file names the
		// host's uid for Docker, the image's own user runs here.
		var want, got []string
		for _, v := range cs.Volumes {
			f := strings.Split(v, ":")
			if f[1] != "/etc/passwd" {
				want = append(want, f[1])
			}
		}
		want = append(want, cs.Tmpfs...)
		for _, m := range c.VolumeMounts {
			got = append(got, m.MountPath)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: sidecars mounts (-compose +k8s):\n%s", name, diff)
		}
		for _, v := range cs.Volumes {
			f := strings.Split(v, ":")
			ro := len(f) == 3 && f[2] == "ro"
			for _, m := range c.VolumeMounts {
				if m.MountPath == f[1] && m.ReadOnly != ro {
					t.Errorf("%s: %s read-only %v, compose %v", name, m.MountPath, m.ReadOnly, ro)
				}
			}
		}
		in, _ := cs.Networks.Get(compose.NetInternal)
		if got := sp.Spec.HostAliases[0]; got.IP != "127.0.0.1" || !sameSet(got.Hostnames, in.Aliases) {
			t.Errorf("%s: the sidecars Pod names itself %v, compose's aliases are %v", name, got, in.Aliases)
		}
		if len(ap.Spec.HostAliases) != 1 || ap.Spec.HostAliases[0].IP != "10.244.0.9" || !sameSet(ap.Spec.HostAliases[0].Hostnames, in.Aliases) {
			t.Errorf("%s: the agent's hostAliases %v, want compose's aliases %v at the sidecars IP", name, ap.Spec.HostAliases, in.Aliases)
		}
		var svcs []string
		for _, o := range objs {
			if s, ok := o.(*corev1.Service); ok {
				svcs = append(svcs, s.Name)
			}
		}
		if !sameSet(svcs, in.Aliases) {
			t.Errorf("%s: Services %v, compose's aliases %v", name, svcs, in.Aliases)
		}
		var extra []string
		for _, h := range sp.Spec.HostAliases[1:] {
			for _, n := range h.Hostnames {
				extra = append(extra, n+":"+h.IP)
			}
		}
		if !sameSet(extra, cs.ExtraHosts) {
			t.Errorf("%s: sidecars extra hosts %v, compose %v", name, extra, cs.ExtraHosts)
		}
		for _, pair := range []struct {
			pod    *corev1.Pod
			labels compose.Ordered[string]
		}{{sp, cs.Labels}, {ap, ca.Labels}} {
			for _, k := range pair.labels.Keys() {
				v, _ := pair.labels.Get(k)
				if pair.pod.Labels[k] != v {
					t.Errorf("%s: Pod %s label %s = %q, compose %q", name, pair.pod.Name, k, pair.pod.Labels[k], v)
				}
			}
			if len(pair.pod.Labels) != pair.labels.Len() {
				t.Errorf("%s: Pod %s labels %v, compose %v", name, pair.pod.Name, pair.pod.Labels, pair.labels.Keys())
			}
		}
		if !cs.ReadOnly || !slices.Equal(cs.CapDrop, []string{"ALL"}) || !slices.Contains(cs.SecurityOpt, "no-new-privileges:true") {
			t.Fatalf("%s: compose's hardening changed; check this test", name)
		}
		if sp.Name != cs.ContainerName || ap.Name != ca.ContainerName || ap.Spec.Hostname != ca.Hostname {
			t.Errorf("%s: names %s %s %s, compose %s %s %s", name, sp.Name, ap.Name, ap.Spec.Hostname, cs.ContainerName, ca.ContainerName, ca.Hostname)
		}

		a := ap.Spec.Containers[0]
		if a.Image != ca.Image || !slices.Equal(a.Command, ca.Command) {
			t.Errorf("%s: agent runs %s %v, compose %s %v", name, a.Image, a.Command, ca.Image, ca.Command)
		}
		if diff := cmp.Diff(ca.Environment, composeEnv(t, a.Env, AgentEnvSecret)); diff != "" {
			t.Errorf("%s: agent env (-compose +k8s):\n%s", name, diff)
		}
		if !slices.Equal(ap.Spec.DNSConfig.Nameservers, ca.DNS) {
			t.Errorf("%s: agent nameservers %v, compose %v", name, ap.Spec.DNSConfig.Nameservers, ca.DNS)
		}
		if !slices.ContainsFunc(a.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == layout.TrustDir && m.ReadOnly }) {
			t.Errorf("%s: the agent does not mount the trust dir read-only", name)
		}
	}
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// TestTestUpstream: a plan with a test upstream gets pipelock's CA file,
// its env, and a way to the test upstream pods; real bottles none of it.
func TestTestUpstream(t *testing.T) {
	p := plantest.Plan(t, plantest.Combo{Routes: true, Bundle: true})
	p.TestUpstream = &plan.TestUpstream{CAFile: "/tmp/up/ca.crt", AllowPrivate: []string{"10.244.0.0/24"},
		Hosts: map[string]string{"c.up.test": "10.244.0.8", "b.up.test": "10.244.0.7", "a.up.test": "10.244.0.7"}}
	objs, out := render(t, p, Inputs{TestUpstreamCA: []byte("PEM")})
	sp, _ := pods(objs)
	c := sp.Spec.Containers[0]
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.MountPath == TestUpstreamCA && m.SubPath == TestUpstreamCAKey && m.ReadOnly
	}) {
		t.Errorf("no read-only mount of the test upstream CA at %s: %+v", TestUpstreamCA, c.VolumeMounts)
	}
	var cm *corev1.ConfigMap
	for _, o := range objs {
		if x, ok := o.(*corev1.ConfigMap); ok && x.Name == TestUpstreamCAConfigMap {
			cm = x
		}
	}
	if cm == nil || cm.Data[TestUpstreamCAKey] != "PEM" || cm.Annotations[AnnotationValues] != "" {
		t.Errorf("test upstream CA ConfigMap = %+v", cm)
	}
	eg := policies(objs)[PolicySidecarsEgress]
	if !slices.ContainsFunc(eg.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
		return len(r.To) == 1 && r.To[0].PodSelector != nil && r.To[0].PodSelector.MatchLabels[layout.LabelRole] == RoleTestUpstream &&
			r.To[0].NamespaceSelector != nil && len(r.To[0].NamespaceSelector.MatchLabels) == 0
	}) {
		t.Errorf("sidecars-egress has no rule to the test upstream pods: %+v", eg.Spec.Egress)
	}
	// The upstream's names resolve in the sidecars Pod only, grouped by
	// address and sorted by name; the agent gets none of them.
	if got := sp.Spec.HostAliases[1:]; len(got) != 2 || got[0].IP != "10.244.0.7" || !slices.Equal(got[0].Hostnames, []string{"a.up.test", "b.up.test"}) ||
		got[1].IP != "10.244.0.8" || !slices.Equal(got[1].Hostnames, []string{"c.up.test"}) {
		t.Errorf("sidecars hostAliases for the upstream: %+v", got)
	}
	objs, _ = render(t, p, Inputs{SidecarsIP: "10.244.0.9"})
	if _, ap := pods(objs); strings.Contains(fmt.Sprint(ap.Spec.HostAliases), "up.test") {
		t.Errorf("the agent Pod resolves the upstream: %+v", ap.Spec.HostAliases)
	}
	_, real := render(t, plantest.Plan(t, plantest.Combo{Routes: true, Bundle: true}), Inputs{})
	for _, s := range []string{"PIPELOCK_ALLOW_PRIVATE_UPSTREAM", TestUpstreamCA, RoleTestUpstream, "SSL_CERT_FILE=/etc/claude-bottle"} {
		if strings.Contains(string(real), s) {
			t.Errorf("a real bottle carries test upstream wiring %q", s)
		}
		if s != "SSL_CERT_FILE=/etc/claude-bottle" && !strings.Contains(string(out), s) {
			t.Errorf("the test upstream render lacks %q", s)
		}
	}
}
