// Package plantest builds the golden bottles that the renderers' tests
// share (internal/compose, internal/kuberender): one bottle per
// combination of git remotes, routes and supervise, written as manifest
// text so the goldens cover the path from manifest to rendered objects.
// Only tests import it (internal/deptest checks that no program links it).
package plantest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

const (
	// Home is the golden bottles' claude-bottle home.
	Home = "/home/user/.claude-bottle"
	// Slug is the golden bottles' slug.
	Slug = "demo-abc12"
	// HostKey is the git remote's pinned host key.
	HostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPjd5LkDLWFjX/+oZP0RFL68PeZTVxCKlgPRJhwijTM"
	// SidecarUser is the golden plans' sidecar uid:gid.
	SidecarUser = "1000:1000"
)

// Combo is one golden bottle: which features it declares, and the shape
// (compose's bundle flag).
type Combo struct{ Git, Routes, Supervise, Bundle bool }

// Name is the golden file's base name, e.g. "bundle-git1-routes0-supervise1".
func (c Combo) Name() string {
	shape := "legacy"
	if c.Bundle {
		shape = "bundle"
	}
	return shape + "-" + c.Features()
}

// Features names the features alone, e.g. "git1-routes0-supervise1".
func (c Combo) Features() string {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	return fmt.Sprintf("git%d-routes%d-supervise%d", b(c.Git), b(c.Routes), b(c.Supervise))
}

// AllCombos lists the 16 combinations, legacy shape first.
func AllCombos() []Combo {
	var out []Combo
	for i := 0; i < 16; i++ {
		out = append(out, Combo{Git: i&1 != 0, Routes: i&2 != 0, Supervise: i&4 != 0, Bundle: i&8 != 0})
	}
	return out
}

// FeatureCombos lists the 8 feature combinations in the bundle shape (the
// only shape a backend without a legacy form renders).
func FeatureCombos() []Combo {
	var out []Combo
	for _, c := range AllCombos() {
		if c.Bundle {
			out = append(out, c)
		}
	}
	return out
}

// BottleSource is the combination's bottle file, as a user would write it.
func BottleSource(c Combo) string {
	var b strings.Builder
	b.WriteString("---\nenv:\n  GIT_AUTHOR_NAME: Demo\n  API_KEY: ${DEMO_API_KEY}\n")
	if c.Git {
		b.WriteString("git:\n  - name: demo\n    upstream: ssh://git@git.example.com:22/org/demo.git\n    identity_file: ~/.ssh/id_ed25519_demo\n")
		b.WriteString("    known_host_key: \"" + HostKey + "\"\n    push_branches: [\"agent/*\"]\n    extra_hosts: { git.example.com: 10.0.0.5 }\n")
	}
	b.WriteString("egress:\n  allowlist: [pypi.org, files.pythonhosted.org]\n")
	if c.Routes {
		b.WriteString("  routes:\n    - host: api.github.com\n      path_allowlist: [/repos/org/demo]\n      auth: { scheme: Bearer, token_ref: GH_PAT }\n")
		b.WriteString("    - host: uploads.github.com\n      auth: { scheme: Bearer, token_ref: GH_PAT }\n")
	}
	if c.Supervise {
		b.WriteString("supervise: true\n")
	}
	b.WriteString("---\n")
	return b.String()
}

// Plan is the combination's plan, in the golden home with the golden slug.
func Plan(t testing.TB, c Combo) *plan.Plan {
	t.Helper()
	return PlanIn(t, c, Home)
}

// PlanIn is Plan with another claude-bottle home (a test that prepares a
// real state dir needs one of its own).
func PlanIn(t testing.TB, c Combo, home string) *plan.Plan {
	t.Helper()
	b, err := manifest.ParseBottle("demo", home+"/bottles/demo.md", []byte(BottleSource(c)))
	if err != nil {
		t.Fatal(err)
	}
	a := &manifest.Agent{Name: "demo", File: home + "/agents/demo.md", Bottle: "demo"}
	p, err := plan.New(a, b, plan.Options{Slug: Slug, Bundle: c.Bundle, Home: home, SidecarUser: SidecarUser})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
