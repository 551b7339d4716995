package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/claude-bottle/claude-bottle/examples"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// setupHome installs the examples as the user's claude-bottle home and
// moves into an empty work tree.
func setupHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	for _, kind := range []string{"bottles", "agents"} {
		entries, err := fs.ReadDir(examples.FS, kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(home, kind), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, _ := fs.ReadFile(examples.FS, kind+"/"+e.Name())
			if err := os.WriteFile(filepath.Join(home, kind, e.Name()), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("CLAUDE_BOTTLE_HOME", home)
	t.Chdir(t.TempDir())
	return home
}

// bottleHome makes a new claude-bottle home holding one bottle, name,
// whose frontmatter is front, and an agent of the same name in it whose
// prompt is prompt; the working directory is a new empty one.
func bottleHome(t *testing.T, name, front, prompt string) string {
	t.Helper()
	home := t.TempDir()
	for _, f := range []struct{ path, data string }{
		{"bottles/" + name + ".md", "---\n" + front + "---\n"},
		{"agents/" + name + ".md", "---\nbottle: " + name + "\n---\n" + prompt},
	} {
		p := filepath.Join(home, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("CLAUDE_BOTTLE_HOME", home)
	t.Chdir(t.TempDir())
	return home
}

// testSlug is a bottle slug no other run of the test uses.
func testSlug(prefix string) string {
	return fmt.Sprintf("%s-%05d", prefix, time.Now().UnixNano()%100000)
}

func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errb.String(), err
}

// TestRenderNeverPrintsTokens renders with every host variable set to a
// sentinel and searches the output in both shapes.
func TestRenderNeverPrintsTokens(t *testing.T) {
	setupHome(t)
	// The example bottles name claude-bottle-agent:latest, which needs npm to
	// build: with no engine the dry run skips the image check, which is what
	// this test is not about (TestDryRunMissingImageDocker covers it).
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	demoIdentity(t)
	const sentinel = "ghp_SENTINELtokenVALUE0123456789abcdef"
	const modelSentinel = "sk-ant-oat01-MODELSENTINEL0123456789"
	t.Setenv("GH_PAT", sentinel)
	t.Setenv("CLAUDE_CODE_OAUTH_TOKEN", modelSentinel)
	for _, bundle := range []string{"", "1"} {
		t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", bundle)
		for _, args := range [][]string{
			{"render", "demo", "--slug", "demo-abc12"},
			{"render", "demo", "--slug", "demo-abc12", "--compose-v1"},
			{"start", "--dry-run", "demo", "--slug", "demo-abc12"},
		} {
			out, errOut, err := run(t, args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", args, err, errOut)
			}
			if strings.Contains(out+errOut, sentinel) || strings.Contains(out+errOut, "SENTINEL") || strings.Contains(out+errOut, modelSentinel) {
				t.Fatalf("%v printed the token value", args)
			}
			if args[0] == "render" && (!strings.Contains(out, "EGRESS_TOKEN_0") || !strings.Contains(out, "EGRESS_TOKEN_1") || !strings.Contains(out, "CLAUDE_CODE_OAUTH_TOKEN="+plan.OAuthPlaceholder)) {
				t.Errorf("%v: token slots or the model placeholder missing from output:\n%s", args, out)
			}
		}
	}
}

func TestRenderShapes(t *testing.T) {
	setupHome(t)
	t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", " Off ")
	out, _, err := run(t, "render", "demo", "--slug", "demo-abc12")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "name: claude-bottle-demo-abc12\n") || strings.Contains(out, "\n  sidecars:\n") || !strings.Contains(out, "\n  egress:\n") {
		t.Errorf("flag off did not render the legacy shape:\n%s", out)
	}
	t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", "yes")
	t.Setenv("CLAUDE_BOTTLE_SIDECAR_IMAGE", "registry.local/sidecars:test")
	out, _, err = run(t, "render", "demo", "--slug", "demo-abc12", "--compose-v1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(out, "name:") || strings.Contains(out, "\nname:") || !strings.Contains(out, "\n  sidecars:\n") || !strings.Contains(out, "image: registry.local/sidecars:test") {
		t.Errorf("flag on did not render the bundle with the image override:\n%s", out)
	}
}

// demoIdentity gives the example demo bottle its identity_file
// (~/.ssh/id_ed25519_demo, in a HOME of the test's own).
func demoIdentity(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519_demo"), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestStartDryRunMissingToken(t *testing.T) {
	setupHome(t)
	// The example bottles name claude-bottle-agent:latest, which needs npm to
	// build: with no engine the dry run skips the image check, which is what
	// this test is not about (TestDryRunMissingImageDocker covers it).
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	os.Unsetenv("GH_PAT")
	out, _, err := run(t, "start", "--dry-run", "demo")
	if err == nil || !strings.Contains(err.Error(), "GH_PAT") || !strings.Contains(err.Error(), "demo.md") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(out, "Bottle plan") || !strings.Contains(out, "EGRESS_TOKEN_0") {
		t.Errorf("plan not printed:\n%s", out)
	}
	// The minimal bottle needs only the model credential from the host.
	os.Unsetenv("CLAUDE_CODE_OAUTH_TOKEN")
	if _, _, err := run(t, "start", "--dry-run", "minimal"); err == nil || !strings.Contains(err.Error(), "CLAUDE_CODE_OAUTH_TOKEN (claude.auth.token_ref") || !strings.Contains(err.Error(), "claude setup-token") {
		t.Errorf("minimal without the model credential: %v", err)
	}
	t.Setenv("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-x")
	out, _, err = run(t, "start", "--dry-run", "minimal")
	if err != nil {
		t.Errorf("minimal: %v", err)
	}
	if !strings.Contains(out, "model:        api.anthropic.com through egress") || !strings.Contains(out, "injected as Authorization: Bearer <real value>") || strings.Contains(out, "sk-ant-oat01-x") {
		t.Errorf("the plan does not say how the model is reached, or shows the token:\n%s", out)
	}
}

func TestCwdBottlesIgnoredWithWarning(t *testing.T) {
	setupHome(t)
	cwd, _ := os.Getwd()
	if err := os.MkdirAll(filepath.Join(cwd, ".claude-bottle", "bottles"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(cwd, ".claude-bottle", "bottles", "minimal.md"), []byte("---\negress:\n  allowlist: [evil.example]\n---\n"), 0o644)
	out, errOut, err := run(t, "render", "minimal", "--slug", "minimal-aaaaa")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "warning: ignoring") || strings.Contains(out, "evil.example") {
		t.Errorf("stderr=%q; evil host in output: %v", errOut, strings.Contains(out, "evil.example"))
	}
}

func TestUnknownAgent(t *testing.T) {
	setupHome(t)
	_, _, err := run(t, "render", "nobody")
	if err == nil || !strings.Contains(err.Error(), `agent "nobody" not found`) {
		t.Errorf("err = %v", err)
	}
}

// TestBackendFlag: a bad --backend or CLAUDE_BOTTLE_BACKEND is a usage
// error (exit 2) naming the value and the valid ones; the flag wins.
func TestBackendFlag(t *testing.T) {
	setupHome(t)
	for _, tc := range []struct {
		env  string
		args []string
		want string
	}{
		{args: []string{"--backend", "nomad"}, want: `--backend "nomad" is not a backend; use one of: docker, k8s`},
		{env: "podman", want: `CLAUDE_BOTTLE_BACKEND "podman" is not a backend; use one of: docker, k8s`},
	} {
		t.Setenv("CLAUDE_BOTTLE_BACKEND", tc.env)
		_, _, err := run(t, append([]string{"render", "minimal"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v env %q: err = %v, want %q", tc.args, tc.env, err, tc.want)
		}
		if code := processExit(io.Discard, err); code != ExitUsage {
			t.Errorf("%v env %q: exit %d, want %d", tc.args, tc.env, code, ExitUsage)
		}
	}
	t.Setenv("CLAUDE_BOTTLE_BACKEND", "podman")
	out, _, err := run(t, "render", "minimal", "--backend", "docker", "--slug", "minimal-abc12")
	if err != nil || !strings.HasPrefix(out, "name: claude-bottle-minimal-abc12") {
		t.Errorf("--backend docker over a bad env: %v\n%s", err, out)
	}
}

// TestRenderK8s: render --backend k8s (or the env) prints the Kubernetes
// objects with no cluster and no secrets, and never a token value.
func TestRenderK8s(t *testing.T) {
	setupHome(t)
	demoIdentity(t)
	const sentinel = "ghp_SENTINELtokenVALUE0123456789abcdef"
	t.Setenv("GH_PAT", sentinel)
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	for _, tc := range []struct {
		env  string
		args []string
		ns   string
	}{
		{args: []string{"--backend", "k8s"}, ns: "claude-bottle-demo-abc12"},
		{env: "k8s", ns: "claude-bottle-demo-abc12"},
		{env: "k8s", args: []string{"--namespace", "team-a"}, ns: "team-a"},
	} {
		t.Setenv("CLAUDE_BOTTLE_BACKEND", tc.env)
		out, errOut, err := run(t, append([]string{"render", "demo", "--slug", "demo-abc12"}, tc.args...)...)
		if err != nil {
			t.Fatalf("%v env %q: %v\n%s", tc.args, tc.env, err, errOut)
		}
		if strings.Contains(out+errOut, "SENTINEL") {
			t.Fatalf("%v printed the token value", tc.args)
		}
		for _, want := range []string{"kind: Pod\n", "name: claude-bottle-sidecars-demo-abc12\n", "namespace: " + tc.ns + "\n", "EGRESS_TOKEN_0: \"\"", "dnsPolicy: None"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v env %q: output lacks %q:\n%s", tc.args, tc.env, want, out)
			}
		}
		if (tc.ns == "team-a") == strings.Contains(out, "kind: Namespace\n") {
			t.Errorf("%v: a Namespace object is rendered only for the bottle's own namespace", tc.args)
		}
	}
	t.Setenv("CLAUDE_BOTTLE_BACKEND", "")
	for _, args := range [][]string{{"--namespace", "x"}, {"--backend", "k8s", "--compose-v1"}} {
		_, _, err := run(t, append([]string{"render", "demo"}, args...)...)
		if code := processExit(io.Discard, err); code != ExitUsage {
			t.Errorf("%v: exit %d (%v), want a usage error", args, code, err)
		}
	}
}
