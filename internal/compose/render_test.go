package compose

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/google/go-cmp/cmp"

	"github.com/claude-bottle/claude-bottle/internal/composecli"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/plantest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

type combo = plantest.Combo

func allCombos() []combo { return plantest.AllCombos() }

func planFor(t testing.TB, c combo) *plan.Plan {
	t.Helper()
	return plantest.Plan(t, c)
}

func render(t testing.TB, p *plan.Plan) (*Document, []byte) {
	t.Helper()
	d, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return d, out
}

func TestGoldenMatrix(t *testing.T) {
	for _, c := range allCombos() {
		t.Run(c.Name(), func(t *testing.T) {
			_, got := render(t, planFor(t, c))
			file := filepath.Join("testdata", c.Name()+".yml")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/compose -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs from the render (-golden +render); run with -update if the change is intended:\n%s", file, diff)
			}
		})
	}
}

// TestDesignSample checks the bundle golden against DESIGN.md §2.2's target
// output field by field (flag on, everything on, slug demo-abc12).
func TestDesignSample(t *testing.T) {
	d, _ := render(t, planFor(t, combo{Git: true, Routes: true, Supervise: true, Bundle: true}))
	if d.Name != "claude-bottle-demo-abc12" {
		t.Errorf("name = %q", d.Name)
	}
	if got := d.Services.Keys(); !slices.Equal(got, []string{"sidecars", "agent"}) {
		t.Fatalf("services = %v", got)
	}
	s, _ := d.Services.Get("sidecars")
	if s.Image != "claude-bottle-sidecars:latest" || s.Build == nil || s.Build.Dockerfile != "Dockerfile.sidecars" || s.ContainerName != "claude-bottle-sidecars-demo-abc12" {
		t.Errorf("sidecars = %+v", s)
	}
	in, _ := s.Networks.Get(NetInternal)
	wantAliases := []string{"claude-bottle-pipelock-demo-abc12", "egress", "claude-bottle-egress-demo-abc12", "claude-bottle-git-gate-demo-abc12", "supervise", "claude-bottle-supervise-demo-abc12"}
	if in == nil || !sameSet(in.Aliases, wantAliases) {
		t.Errorf("internal aliases = %v, want %v", in, wantAliases)
	}
	if eg, ok := s.Networks.Get(NetEgress); !ok || eg != nil {
		t.Errorf("egress network = %v, %v; want null", eg, ok)
	}
	wantEnv := []string{
		"CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock,git-gate,supervise",
		"EGRESS_UPSTREAM_PROXY=http://claude-bottle-pipelock-demo-abc12:8888",
		"EGRESS_UPSTREAM_CA=/etc/claude-bottle/trust/pipelock-ca.crt",
		"EGRESS_TOKEN_0",
		"PIPELOCK_SECRET_0",
		"PIPELOCK_SECRET_1", // the route token, a known secret of pipelock (docs/DESIGN.md "Trust split")
		"SUPERVISE_BOTTLE_SLUG=demo-abc12",
		"SUPERVISE_QUEUE_DIR=/run/supervise/queue",
		"SUPERVISE_PORT=9100",
	}
	if diff := cmp.Diff(wantEnv, s.Environment); diff != "" {
		t.Errorf("sidecars environment (-want +got):\n%s", diff)
	}
	a, _ := d.Services.Get("agent")
	if !slices.Equal(a.DependsOn, []string{"sidecars"}) {
		t.Errorf("agent depends_on = %v", a.DependsOn)
	}
}

// TestBundleIsUnionOfLegacy: for every combination, the bundle carries
// exactly the legacy services' env (minus nothing, plus the daemon CSV),
// volumes at the same in-container paths, and every alias and name.
func TestBundleIsUnionOfLegacy(t *testing.T) {
	for _, c := range allCombos() {
		if c.Bundle {
			continue
		}
		legacy, _ := render(t, planFor(t, c))
		bc := c
		bc.Bundle = true
		bundle, _ := render(t, planFor(t, bc))
		s, _ := bundle.Services.Get(BundleService)

		var env, vols, names []string
		var daemons []string
		for _, k := range legacy.Services.Keys() {
			if k == "agent" {
				continue
			}
			daemons = append(daemons, k)
			ls, _ := legacy.Services.Get(k)
			env = append(env, ls.Environment...)
			for _, v := range ls.Volumes {
				if !slices.Contains(vols, v) {
					vols = append(vols, v)
				}
			}
			names = append(names, ls.ContainerName)
			in, _ := ls.Networks.Get(NetInternal)
			names = append(names, in.Aliases...)
		}
		wantEnv := []string{"CLAUDE_BOTTLE_SIDECAR_DAEMONS=" + strings.Join(daemons, ",")}
		for _, e := range env {
			if !slices.Contains(wantEnv, e) {
				wantEnv = append(wantEnv, e)
			}
		}
		if diff := cmp.Diff(wantEnv, s.Environment); diff != "" {
			t.Errorf("%s: bundle env (-want +got):\n%s", c.Name(), diff)
		}
		if !sameSet(vols, s.Volumes) {
			t.Errorf("%s: bundle volumes %v, legacy union %v", c.Name(), s.Volumes, vols)
		}
		in, _ := s.Networks.Get(NetInternal)
		for _, n := range names {
			if !slices.Contains(in.Aliases, n) {
				t.Errorf("%s: bundle lacks internal name %s", c.Name(), n)
			}
		}
		for _, e := range s.Environment {
			k, _, _ := strings.Cut(e, "=")
			switch strings.ToUpper(k) {
			case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY":
				t.Errorf("%s: bundle env carries %s", c.Name(), e)
			}
		}
		la, _ := legacy.Services.Get("agent")
		ba, _ := bundle.Services.Get("agent")
		if diff := cmp.Diff(la.Environment, ba.Environment); diff != "" {
			t.Errorf("%s: the agent's env differs between shapes:\n%s", c.Name(), diff)
		}
	}
}

// TestNetworkPlacement: the agent and supervise on internal only; every
// other sidecar on both (DESIGN.md §2).
func TestNetworkPlacement(t *testing.T) {
	d, _ := render(t, planFor(t, combo{Git: true, Routes: true, Supervise: true}))
	want := map[string][]string{
		"agent": {NetInternal}, "supervise": {NetInternal},
		"egress": {NetInternal, NetEgress}, "pipelock": {NetInternal, NetEgress}, "git-gate": {NetInternal, NetEgress},
	}
	for svc, nets := range want {
		s, ok := d.Services.Get(svc)
		if !ok {
			t.Fatalf("no service %s", svc)
		}
		if !slices.Equal(s.Networks.Keys(), nets) {
			t.Errorf("%s networks = %v, want %v", svc, s.Networks.Keys(), nets)
		}
	}
	in, _ := d.Networks.Get(NetInternal)
	if !in.Internal {
		t.Error("internal network is not internal: true")
	}
	a, _ := d.Services.Get("agent")
	if !slices.Equal(a.DNS, []string{"127.0.0.1"}) {
		t.Errorf("agent dns = %v", a.DNS)
	}
	for _, v := range a.Volumes {
		if strings.Contains(v, "-ca:") || strings.Contains(v, "git-gate") {
			t.Errorf("agent mounts a key folder: %s", v)
		}
	}
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// TestComposeGoAcceptsGoldens loads every golden with compose-go, which
// validates it against the Compose specification's schema.
func TestComposeGoAcceptsGoldens(t *testing.T) {
	for _, c := range allCombos() {
		t.Run(c.Name(), func(t *testing.T) {
			file, err := filepath.Abs(filepath.Join("testdata", c.Name()+".yml"))
			if err != nil {
				t.Fatal(err)
			}
			opts, err := cli.NewProjectOptions([]string{file}, cli.WithName("claude-bottle-demo-abc12"))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			proj, err := opts.LoadProject(ctx)
			if err != nil {
				t.Fatalf("compose-go rejects %s: %v", file, err)
			}
			if proj.Name != "claude-bottle-demo-abc12" {
				t.Errorf("project name = %q", proj.Name)
			}
			if _, ok := proj.Services["agent"]; !ok {
				t.Error("no agent service after load")
			}
		})
	}
}

// TestComposeCLIsAcceptGoldens runs the machine's Compose tools on every
// golden: docker-compose 1.x gets the v1 form with -p, Compose v2 the
// canonical file. Under CI=true a missing docker-compose is a failure.
func TestComposeCLIsAcceptGoldens(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tools := composecli.Installed(ctx)
	if !slices.ContainsFunc(tools, func(r *composecli.Runner) bool { return r.Argv[0] == "docker-compose" }) {
		if os.Getenv("CI") == "true" {
			t.Fatal("docker-compose not found; CI must have it (apt-get install docker-compose)")
		}
		t.Log("docker-compose not found; skipping the 1.x check")
	}
	if len(tools) == 0 {
		t.Skip("no Compose tool on this machine")
	}
	env := append(os.Environ(), "EGRESS_TOKEN_0=x", "PIPELOCK_SECRET_0=x", "API_KEY=x")
	dir := t.TempDir()
	// The control: each tool rejects a file with a key Compose does not
	// know, so a pass below is the tool's verdict, not a check that ran
	// nothing.
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("version: \"2.4\"\nservices:\n  x:\n    image: busybox\n    not_a_compose_key: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, r := range tools {
		if err := r.Config(ctx, "claude-bottle-bad", bad, env); err == nil || !strings.Contains(err.Error(), "not_a_compose_key") {
			t.Errorf("%s accepts a file with an unknown key (or says so without naming it): %v", r, err)
		}
	}
	for _, c := range allCombos() {
		t.Run(c.Name(), func(t *testing.T) {
			d, canonical := render(t, planFor(t, c))
			for _, r := range tools {
				doc, name := canonical, c.Name()+".yml"
				if r.V1 {
					v1doc, err := Marshal(ForComposeV1(d))
					if err != nil {
						t.Fatal(err)
					}
					if bytes.Contains(v1doc, []byte("\nname:")) || bytes.HasPrefix(v1doc, []byte("name:")) {
						t.Fatal("v1 form still has name:")
					}
					doc, name = v1doc, c.Name()+"-v1.yml"
				}
				f := filepath.Join(dir, name)
				if err := os.WriteFile(f, doc, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := r.Config(ctx, d.Name, f, env); err != nil {
					t.Errorf("%s rejects %s: %v", r, name, err)
				}
			}
		})
	}
}

func TestUserIsQuoted(t *testing.T) {
	// 1000:59 is a base-60 integer to PyYAML unless quoted.
	out, err := Marshal(&Document{Services: func() Ordered[*Service] {
		var o Ordered[*Service]
		o.Set("x", &Service{User: "1000:59"})
		return o
	}()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `user: "1000:59"`) {
		t.Errorf("user not quoted:\n%s", out)
	}
}

func TestTestUpstream(t *testing.T) {
	for _, bundle := range []bool{false, true} {
		p := planFor(t, combo{Routes: true, Bundle: bundle})
		p.TestUpstream = &plan.TestUpstream{CAFile: "/tmp/demo/ca.crt", AllowPrivate: []string{"172.30.0.0/16", "10.9.0.0/24"}}
		d, out := render(t, p)
		svc := "pipelock"
		if bundle {
			svc = BundleService
		}
		s, _ := d.Services.Get(svc)
		if !slices.Contains(s.Volumes, "/tmp/demo/ca.crt:"+TestUpstreamCA+":ro") || !slices.Contains(s.Environment, "SSL_CERT_FILE="+TestUpstreamCA) || !slices.Contains(s.Environment, "PIPELOCK_ALLOW_PRIVATE_UPSTREAM=172.30.0.0/16,10.9.0.0/24") {
			t.Errorf("bundle=%v: %s lacks the test upstream wiring: %+v", bundle, svc, s)
		}
		if !bundle {
			e, _ := d.Services.Get("egress")
			if slices.ContainsFunc(e.Environment, func(v string) bool { return strings.HasPrefix(v, "SSL_CERT_FILE") }) {
				t.Error("egress got the test upstream CA")
			}
		}
		_ = out
	}
	// Real bottles carry none of it.
	_, out := render(t, planFor(t, combo{Routes: true}))
	if strings.Contains(string(out), "PIPELOCK_ALLOW_PRIVATE_UPSTREAM") || strings.Contains(string(out), TestUpstreamCA) {
		t.Error("a real bottle carries test upstream wiring")
	}
}

// TestInternalNetworkHasNoHostAddress: the internal bridge gets no IPv4
// address on the host, so the agent cannot reach the host's sockets (H1).
func TestInternalNetworkHasNoHostAddress(t *testing.T) {
	for _, c := range allCombos() {
		d, _ := render(t, planFor(t, c))
		in, _ := d.Networks.Get(NetInternal)
		if v, ok := in.DriverOpts.Get("com.docker.network.bridge.inhibit_ipv4"); !ok || v != "true" {
			t.Errorf("%s: internal network driver_opts = %v", c.Name(), in.DriverOpts.Keys())
		}
		eg, _ := d.Networks.Get(NetEgress)
		if eg.DriverOpts.Len() != 0 {
			t.Errorf("%s: the egress network must keep its host address (it is the way out)", c.Name())
		}
	}
}
