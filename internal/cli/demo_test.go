package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/approve"
	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// TestDemoDocker runs `claude-bottle demo` on the real engine in both
// shapes: every one of the six checks must pass, and nothing (container,
// network, throwaway home) may be left behind.
func TestDemoDocker(t *testing.T) {
	ctx := dockerSetup(t, 20*time.Minute, images.Sidecars, images.AgentTest, images.UpstreamTest)
	// The demo must never touch the user's home.
	userHome := t.TempDir()
	t.Setenv("CLAUDE_BOTTLE_HOME", userHome)
	for _, shape := range []string{"legacy", "bundle"} {
		t.Run(shape, func(t *testing.T) {
			if shape == "bundle" {
				t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", "1")
			} else {
				t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", "")
			}
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			slug := "demo-" + shape[:1] + dockertest.RunID()[1:7]
			t.Cleanup(func() {
				dockertest.CleanupProject(t, layout.ProjectName(slug))
				exec := func(args ...string) { _, _ = engine.Docker(context.Background(), args...) }
				exec("rm", "-f", "claude-bottle-upstream-"+slug)
				exec("network", "rm", "claude-bottle-upstream-"+slug)
			})
			out, errOut, err := run(t, "demo", "--slug", slug)
			if err != nil {
				t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
			}
			for _, want := range []string{"PASS  1.", "PASS  2.", "PASS  3.", "PASS  4.", "PASS  5.", "PASS  6.", "demo: 6 of 6 checks passed", shape + " shape"} {
				if !strings.Contains(out, want) {
					t.Errorf("report lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "FAIL") {
				t.Errorf("a check failed:\n%s", out)
			}
			rs, err := engine.ListResources(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if strings.Contains(r.Name, slug) {
					t.Errorf("left behind: %s %s", r.Kind, r.Name)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "claude-bottle-demo-*")); len(left) > 0 {
				t.Errorf("the throwaway home is still there: %v", left)
			}
			if left, _ := os.ReadDir(userHome); len(left) > 0 {
				t.Errorf("the demo wrote into the user's home: %v", left)
			}
		})
	}
}

func TestInitNeverOverwrites(t *testing.T) {
	home := t.TempDir()
	t.Setenv("CLAUDE_BOTTLE_HOME", home)
	mine := filepath.Join(home, "bottles", "demo.md")
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "init")
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(mine); string(data) != "mine\n" {
		t.Errorf("init overwrote %s: %q", mine, data)
	}
	if !strings.Contains(out, "kept    "+mine) {
		t.Errorf("init did not report the kept file:\n%s", out)
	}
	for _, f := range []string{"agents/demo.md", "agents/minimal.md", "bottles/minimal.md"} {
		if _, err := os.Stat(filepath.Join(home, f)); err != nil {
			t.Errorf("init did not create %s: %v", f, err)
		}
	}
	// The minimal agent resolves right away.
	if _, _, err := run(t, "render", "minimal", "--slug", "minimal-abc12"); err != nil {
		t.Errorf("render after init: %v", err)
	}
	// A second run creates nothing.
	out, _, err = run(t, "init")
	if err != nil || strings.Contains(out, "created ") {
		t.Errorf("second init: %v\n%s", err, out)
	}
}

func TestEditChecksTheFile(t *testing.T) {
	home := setupHome(t)
	dir := t.TempDir()
	// The "editor" is a script that replaces the file with $NEW_CONTENT.
	script := filepath.Join(dir, "ed.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$NEW_CONTENT\" > \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VISUAL", "")
	t.Setenv("EDITOR", script)
	for _, tc := range []struct {
		name, args, content, wantErr, wantOut string
	}{
		{"valid bottle", "--bottle minimal", "---\nimage: x:latest\n---\n", "", "is valid (bottle minimal)"},
		{"unknown key", "--bottle minimal", "---\nimage: x:latest\nbogus: 1\n---\n", "bogus", ""},
		{"agent, missing bottle", "--agent demo", "---\nbottle: nowhere\n---\nhi\n", "nowhere", ""},
		{"no such name", "nobody", "", "no bottle or agent named", ""},
		{"ambiguous", "demo", "", "--bottle or --agent", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NEW_CONTENT", tc.content)
			out, _, err := run(t, append([]string{"edit"}, strings.Fields(tc.args)...)...)
			if tc.wantErr == "" {
				if err != nil || !strings.Contains(out, tc.wantOut) {
					t.Errorf("edit %s: %v\n%s", tc.args, err, out)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("edit %s: err %v, want one mentioning %q", tc.args, err, tc.wantErr)
			}
		})
	}
	_ = home
}

// TestResumePlanFoldsPendingRoutes: resume re-reads the files named in
// the metadata, keeps slug and shape, and folds in pending-restart routes.
func TestResumePlanFoldsPendingRoutes(t *testing.T) {
	home := setupHome(t)
	t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", "") // the metadata's shape wins
	sd := layout.StateDir(filepath.Join(home, "state", "demo-abc12"))
	if err := os.MkdirAll(string(sd), 0o700); err != nil {
		t.Fatal(err)
	}
	m := &state.Metadata{Slug: "demo-abc12", Agent: "demo", Bottle: "demo", Project: layout.ProjectName("demo-abc12"),
		BottleFile: filepath.Join(home, "bottles", "demo.md"), AgentFile: filepath.Join(home, "agents", "demo.md"), Bundle: true}
	if err := state.Write(sd, m); err != nil {
		t.Fatal(err)
	}
	pending := `{"routes":[{"host":"api.example.com","auth":{"scheme":"Bearer","token_ref":"EXAMPLE_TOKEN"},"proposal_id":"p1"},{"host":"api.github.com","path_allowlist":["/repos/org/other"],"proposal_id":"p2"}]}`
	if err := os.WriteFile(approve.PendingRestartFile(sd), []byte(pending), 0o644); err != nil {
		t.Fatal(err)
	}
	p, folded, err := resumePlan(m, sd)
	if err != nil {
		t.Fatal(err)
	}
	if p.Slug != "demo-abc12" || !p.Bundle || len(folded) != 2 {
		t.Fatalf("slug %q bundle %v folded %d", p.Slug, p.Bundle, len(folded))
	}
	hosts := map[string]manifest.Route{}
	for _, r := range p.Bottle.Routes {
		hosts[r.Host] = r
	}
	if r, ok := hosts["api.example.com"]; !ok || r.Auth == nil || r.Auth.TokenRef != "EXAMPLE_TOKEN" {
		t.Errorf("pending credentialed route not folded in: %+v", p.Bottle.Routes)
	}
	if r := hosts["api.github.com"]; len(r.PathAllowlist) != 1 || r.PathAllowlist[0] != "/repos/org/other" || len(p.Bottle.Routes) != 2 {
		t.Errorf("the approved route for an existing host should replace it: %+v", p.Bottle.Routes)
	}
	refs := strings.Join(p.TokenRefs(), ",")
	if !strings.Contains(refs, "EXAMPLE_TOKEN") {
		t.Errorf("token refs %q lack the folded route's", refs)
	}
	// A bad pending file is an error naming it.
	if err := os.WriteFile(approve.PendingRestartFile(sd), []byte(`{"routes":[{"hots":"x"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := resumePlan(m, sd); err == nil || !strings.Contains(err.Error(), "pending-restart.json") {
		t.Errorf("bad pending file: %v", err)
	}
	// A missing agent file is an error that says what to do.
	m.AgentFile = filepath.Join(home, "agents", "gone.md")
	if _, _, err := resumePlan(m, sd); err == nil || !strings.Contains(err.Error(), "claude-bottle start") {
		t.Errorf("missing agent file: %v", err)
	}
}

// TestEditNewNameStartsFromTemplate: a new bottle or agent opens on a
// commented template, which is valid as it stands.
func TestEditNewNameStartsFromTemplate(t *testing.T) {
	home := setupHome(t)
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	// The "editor" keeps what it was given, and a copy to look at.
	script := filepath.Join(dir, "ed.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncp \"$1\" "+seen+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VISUAL", script)
	for _, tc := range []struct{ flag, name, want string }{
		{"--bottle", "scratch", "# egress:"},
		{"--agent", "reviewer", "bottle: "},
	} {
		out, _, err := run(t, "edit", tc.flag, tc.name)
		if err != nil || !strings.Contains(out, "is valid") {
			t.Errorf("edit %s %s: %v\n%s", tc.flag, tc.name, err, out)
		}
		data, _ := os.ReadFile(seen)
		if !strings.Contains(string(data), tc.want) || !strings.Contains(string(data), "#") {
			t.Errorf("edit %s %s did not open a commented template:\n%s", tc.flag, tc.name, data)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "bottles", "scratch.md")); err != nil {
		t.Error(err)
	}
}
