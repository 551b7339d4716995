package kuberender

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plantest"
)

var everything = plantest.Combo{Git: true, Routes: true, Supervise: true, Bundle: true}

// TestInputs: what each input changes, and the errors for bad ones.
func TestInputs(t *testing.T) {
	p := plantest.Plan(t, everything)
	started := startedInputs(t, p)
	for _, tc := range []struct {
		name    string
		in      Inputs
		wantErr []string
		check   func(t *testing.T, objs []Object)
	}{
		{name: "root owns every namespaced object", in: started, check: func(t *testing.T, objs []Object) {
			for _, o := range objs {
				kind := o.GetObjectKind().GroupVersionKind().Kind
				refs := o.GetOwnerReferences()
				switch {
				case kind == "Namespace" || o.GetName() == RootName && kind == "ConfigMap":
					if len(refs) != 0 {
						t.Errorf("%s %s is owned: %v", kind, o.GetName(), refs)
					}
				case len(refs) != 1 || refs[0].Kind != "ConfigMap" || refs[0].Name != RootName || refs[0].UID != started.RootUID || refs[0].APIVersion != "v1":
					t.Errorf("%s %s owner references %v", kind, o.GetName(), refs)
				}
			}
		}},
		{name: "no root uid, no owners", in: Inputs{}, check: func(t *testing.T, objs []Object) {
			for _, o := range objs {
				if len(o.GetOwnerReferences()) != 0 {
					t.Errorf("%s is owned before the root exists", o.GetName())
				}
			}
		}},
		{name: "values filled, no annotation", in: started, check: func(t *testing.T, objs []Object) {
			for _, o := range objs {
				if o.GetAnnotations()[AnnotationValues] != "" {
					t.Errorf("%s %s still says %q", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), FilledAtStart)
				}
				if s, ok := o.(*corev1.Secret); ok {
					for k, v := range s.Data {
						if len(v) == 0 {
							t.Errorf("Secret %s key %s is empty", s.Name, k)
						}
					}
				}
			}
		}},
		{name: "render leaves values empty", in: Inputs{}, check: func(t *testing.T, objs []Object) {
			n := 0
			for _, o := range objs {
				switch x := o.(type) {
				case *corev1.Secret:
					n++
					if x.Annotations[AnnotationValues] != FilledAtStart {
						t.Errorf("Secret %s is not annotated", x.Name)
					}
					for k, v := range x.Data {
						if len(v) != 0 {
							t.Errorf("Secret %s key %s has a value", x.Name, k)
						}
					}
				case *corev1.ConfigMap:
					n++
					if x.Annotations[AnnotationValues] != FilledAtStart {
						t.Errorf("ConfigMap %s is not annotated", x.Name)
					}
				}
			}
			if n < 8 {
				t.Errorf("only %d ConfigMaps and Secrets", n)
			}
		}},
		{name: "sidecars ip", in: Inputs{SidecarsIP: "fd00::7"}, check: func(t *testing.T, objs []Object) {
			_, ag := pods(objs)
			if len(ag.Spec.HostAliases) != 1 || ag.Spec.HostAliases[0].IP != "fd00::7" || !slices.Contains(ag.Spec.HostAliases[0].Hostnames, "egress") {
				t.Errorf("agent hostAliases %v", ag.Spec.HostAliases)
			}
		}},
		{name: "no sidecars ip, no agent hostAliases", in: Inputs{}, check: func(t *testing.T, objs []Object) {
			if _, ag := pods(objs); len(ag.Spec.HostAliases) != 0 {
				t.Errorf("agent hostAliases %v", ag.Spec.HostAliases)
			}
		}},
		{name: "operator's namespace", in: Inputs{Namespace: "team-a"}, check: func(t *testing.T, objs []Object) {
			for _, o := range objs {
				if o.GetObjectKind().GroupVersionKind().Kind == "Namespace" {
					t.Error("the operator's namespace is rendered")
				}
				if o.GetNamespace() != "team-a" {
					t.Errorf("%s in namespace %q", o.GetName(), o.GetNamespace())
				}
			}
		}},
		{name: "own namespace named", in: Inputs{Namespace: "claude-bottle-demo-abc12"}, check: func(t *testing.T, objs []Object) {
			if objs[0].GetObjectKind().GroupVersionKind().Kind != "Namespace" {
				t.Error("the bottle's own namespace, named explicitly, is not rendered")
			}
		}},
		{name: "cluster cidrs", in: Inputs{ClusterCIDRs: []string{"10.96.0.0/12", "198.18.0.0/15", "fd10::/64", "2001:db8::/32", "198.18.0.1/15"}}, check: func(t *testing.T, objs []Object) {
			eg := policies(objs)[PolicySidecarsEgress].Spec.Egress[0].To
			if got := eg[0].IPBlock.Except; !slices.Contains(got, "198.18.0.0/15") || slices.Contains(got, "10.96.0.0/12") || strings.Count(strings.Join(got, ","), "198.18.0.0/15") != 1 {
				t.Errorf("v4 except %v: want 198.18.0.0/15 once, 10.96/12 already inside 10/8", got)
			}
			if got := eg[1].IPBlock.Except; !slices.Contains(got, "2001:db8::/32") || slices.Contains(got, "fd10::/64") {
				t.Errorf("v6 except %v", got)
			}
		}},
		{name: "bad sidecars ip", in: Inputs{SidecarsIP: "10.244.0"}, wantErr: []string{`"10.244.0"`, "sidecars Pod IP"}},
		{name: "bad cluster cidr", in: Inputs{ClusterCIDRs: []string{"10.0.0.0"}}, wantErr: []string{`"10.0.0.0"`, "cluster CIDR"}},
		{name: "git host inside the cluster", in: Inputs{ClusterCIDRs: []string{"10.0.0.0/16"}}, wantErr: []string{"demo.md", "git[0].extra_hosts", "git.example.com", "10.0.0.5", "inside the cluster"}},
		{name: "bad namespace", in: Inputs{Namespace: "Team_A"}, wantErr: []string{`"Team_A"`, "DNS label"}},
		{name: "missing state file", in: Inputs{Files: map[string][]byte{}}, wantErr: []string{MetadataKey, "StateFiles"}},
		{name: "missing secret env", in: func() Inputs { in := started; in.SecretEnv = map[string]string{"EGRESS_TOKEN_0": "x"}; return in }(),
			wantErr: []string{"PIPELOCK_SECRET_0", SidecarsEnvSecret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Render(p, tc.in)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, objs)
		})
	}
}

// TestLongSlug: every sidecar name is a Service name, so a slug that
// makes one longer than 63 characters is refused, saying how long a slug
// may be; the longest such slug renders.
func TestLongSlug(t *testing.T) {
	p := plantest.Plan(t, everything)
	// claude-bottle-supervise-<slug> is the longest name: 24 + slug.
	p.Slug = "demo-" + strings.Repeat("a", 63-24-5)
	if _, err := Render(p, Inputs{}); err != nil {
		t.Fatalf("a %d-character slug: %v", len(p.Slug), err)
	}
	p.Slug += "b"
	_, err := Render(p, Inputs{})
	if err == nil || !strings.Contains(err.Error(), p.Slug) || !strings.Contains(err.Error(), "at most 39 characters") {
		t.Errorf("a %d-character slug: %v", len(p.Slug), err)
	}
}

// TestGitHostPorts: a pinned private git host is reachable on its
// upstream's ssh port only; a public one needs no rule; a link-local one
// is refused.
func TestGitHostPorts(t *testing.T) {
	for _, tc := range []struct {
		upstream, ip string
		wantCIDR     string
		wantPort     int32
		wantErr      string
	}{
		{upstream: "ssh://git@git.example.com:2222/org/demo.git", ip: "192.168.1.10", wantCIDR: "192.168.1.10/32", wantPort: 2222},
		{upstream: "ssh://git@git.example.com/org/demo.git", ip: "172.16.5.5", wantCIDR: "172.16.5.5/32", wantPort: 22},
		{upstream: "git@git.example.com:org/demo.git", ip: "fd00::5", wantCIDR: "fd00::5/128", wantPort: 22},
		{upstream: "git@git.example.com:org/demo.git", ip: "::ffff:10.1.2.3", wantCIDR: "10.1.2.3/32", wantPort: 22},
		{upstream: "git@git.example.com:org/demo.git", ip: "203.0.113.9"},
		{upstream: "git@git.example.com:org/demo.git", ip: "169.254.169.254", wantErr: "link-local"},
		{upstream: "git@git.example.com:org/demo.git", ip: "127.0.0.1", wantErr: "loopback"},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			p := plantest.Plan(t, everything)
			p.Bottle.Git[0].Upstream = tc.upstream
			p.Bottle.Git[0].ExtraHosts = []manifest.HostIP{{Host: "git.example.com", IP: tc.ip}}
			objs, err := Render(p, Inputs{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.ip) {
					t.Fatalf("err = %v, want one naming %s as %s", err, tc.ip, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var pinned []string
			for _, r := range policies(objs)[PolicySidecarsEgress].Spec.Egress {
				if b := r.To[0].IPBlock; b != nil && netip.MustParsePrefix(b.CIDR).Bits() != 0 {
					pinned = append(pinned, b.CIDR)
					if len(r.Ports) != 1 || r.Ports[0].Port.IntVal != tc.wantPort {
						t.Errorf("%s on ports %v, want %d", b.CIDR, policyPorts(r.Ports), tc.wantPort)
					}
				}
			}
			want := []string(nil)
			if tc.wantCIDR != "" {
				want = []string{tc.wantCIDR}
			}
			if !slices.Equal(pinned, want) {
				t.Errorf("pinned rules %v, want %v", pinned, want)
			}
			sp, _ := pods(objs)
			if h := sp.Spec.HostAliases[len(sp.Spec.HostAliases)-1]; h.IP != tc.ip || !slices.Equal(h.Hostnames, []string{"git.example.com"}) {
				t.Errorf("sidecars hostAliases %v", sp.Spec.HostAliases)
			}
		})
	}
}

// TestStateFilesOrder: StateFiles lists metadata first and only paths
// under the state dir's subfolders layout names.
func TestStateFilesOrder(t *testing.T) {
	p := plantest.Plan(t, everything)
	files := StateFiles(p)
	if files[0] != MetadataKey {
		t.Errorf("first state file %s", files[0])
	}
	sd := layout.StateDir("/s")
	for _, f := range files[1:] {
		ok := false
		for _, d := range []string{sd.Egress(), sd.EgressCA(), sd.Pipelock(), sd.PipelockCA(), sd.Trust(), sd.GitGate()} {
			if strings.HasPrefix("/s/"+f, d+"/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("state file %s is outside the mounted folders", f)
		}
	}
}

// FuzzInputs: whatever the cluster CIDRs and sidecars IP, Render either
// refuses them or emits ipBlocks the API server takes: every except inside
// its cidr, of the same family, and parseable.
func FuzzInputs(f *testing.F) {
	for _, s := range []string{"10.244.0.0/16", "fd00::/8", "::ffff:10.0.0.0/104", "0.0.0.0/0", "1.2.3.4/32", "x", ""} {
		f.Add(s, "10.244.0.9")
	}
	p := plantest.Plan(f, everything)
	f.Fuzz(func(t *testing.T, cidr, ip string) {
		objs, err := Render(p, Inputs{ClusterCIDRs: []string{cidr}, SidecarsIP: ip})
		if err != nil {
			return
		}
		for _, r := range policies(objs)[PolicySidecarsEgress].Spec.Egress {
			for _, to := range r.To {
				if to.IPBlock == nil {
					continue
				}
				outer, err := netip.ParsePrefix(to.IPBlock.CIDR)
				if err != nil {
					t.Fatalf("cidr %q: %v", to.IPBlock.CIDR, err)
				}
				for _, e := range to.IPBlock.Except {
					in, err := netip.ParsePrefix(e)
					if err != nil || in.Addr().Is4() != outer.Addr().Is4() || !outer.Contains(in.Addr()) || in.Bits() <= outer.Bits() || in.Addr().Is4In6() {
						t.Fatalf("except %q does not lie strictly inside %s (from cluster CIDR %q)", e, outer, cidr)
					}
				}
			}
		}
	})
}
