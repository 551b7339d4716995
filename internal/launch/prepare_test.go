package launch

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/agentcontract"
	"github.com/claude-bottle/claude-bottle/internal/compose"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/state"
	"github.com/claude-bottle/claude-bottle/internal/supervise"
)

const (
	tokenValue  = "ghp_TOKENVALUEdoNotLeak0123456789abcdefAB"
	secretValue = "hunter2-SECRET-value-xyz"
)

func testPlan(t *testing.T, home string, bundle bool) *plan.Plan {
	t.Helper()
	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	src := `---
env:
  NAME: plain
  API_KEY: ${TEST_API_KEY}
git:
  - name: demo
    upstream: ssh://git@127.0.0.1:2222/demo.git
    identity_file: ` + key + `
    known_host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPjd5LkDLWFjX/+oZP0RFL68PeZTVxCKlgPRJhwijTM"
egress:
  routes:
    - host: api.example.com
      auth: { scheme: Bearer, token_ref: TEST_TOKEN }
supervise: true
---
`
	b, err := manifest.ParseBottle("b", filepath.Join(home, "bottles", "b.md"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.New(&manifest.Agent{Name: "a", File: "a.md", Bottle: "b"}, b, plan.Options{Slug: "a-test1", Home: home, Bundle: bundle, SidecarUser: "1000:1000"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func prepare(t *testing.T, p *plan.Plan) *Secrets {
	t.Helper()
	s, err := CollectSecrets(p, lookup(map[string]string{"TEST_TOKEN": tokenValue, "TEST_API_KEY": secretValue}), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := compose.Render(p)
	if err != nil {
		t.Fatal(err)
	}
	y, err := compose.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(PrepareInput{Plan: p, Secrets: s, ComposeFile: y, HomeDir: "/nonexistent", SidecarUID: "1000", SidecarGID: "1000", Now: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPrepareStateDir(t *testing.T) {
	home := t.TempDir()
	p := testPlan(t, home, false)
	s := prepare(t, p)
	sd := p.StateDir

	// Key files 0600, their folders 0700 (DESIGN.md §8.5).
	for _, f := range []string{
		filepath.Join(sd.EgressCA(), "ca.key"), filepath.Join(sd.PipelockCA(), "ca.key"),
		filepath.Join(sd.GitGate(), "keys", "demo"),
	} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
		dst, _ := os.Stat(filepath.Dir(f))
		if dst.Mode().Perm() != 0o700 {
			t.Errorf("%s mode %v, want 0700", filepath.Dir(f), dst.Mode().Perm())
		}
	}
	// trust/ has public certificates only.
	entries, _ := os.ReadDir(sd.Trust())
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(sd.Trust(), e.Name()))
		if strings.Contains(string(data), "PRIVATE KEY") {
			t.Errorf("trust/%s holds a private key", e.Name())
		}
	}
	if len(entries) != 3 {
		t.Errorf("trust/ has %d files, want 3", len(entries))
	}

	// The live configs load with the daemons' own loaders.
	if _, err := sidecarconfig.LoadRoutes(sd.RoutesFile()); err != nil {
		t.Error(err)
	}
	pl, err := sidecarconfig.LoadPipelock(sd.PipelockFile())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("Bearer " + tokenValue))
	if len(pl.InjectedCredentials) != 1 || pl.InjectedCredentials[0].SHA256 != hex.EncodeToString(sum[:]) || pl.InjectedCredentials[0].Host != "api.example.com" {
		t.Errorf("injected credentials = %+v", pl.InjectedCredentials)
	}
	if _, err := sidecarconfig.LoadGate(sd.GateFile()); err != nil {
		t.Error(err)
	}
	m, err := state.Read(sd)
	if err != nil {
		t.Fatal(err)
	}
	if m.Containers["egress"] != "claude-bottle-egress-a-test1" || m.TokenRefs["EGRESS_TOKEN_0"] != "TEST_TOKEN" {
		t.Errorf("metadata = %+v", m)
	}
	if st, err := os.Stat(p.QueueDir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("queue dir: %v", err)
	}
	// No secret value anywhere under the state dir (DESIGN.md §2.3).
	filepath.WalkDir(string(sd), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		for _, v := range []string{tokenValue, secretValue} {
			if strings.Contains(string(data), v) {
				t.Errorf("%s contains a secret value", path)
			}
		}
		return nil
	})
	// The values travel in the compose process env only.
	env := strings.Join(ProcessEnv(p, s, nil), "\n")
	for _, want := range []string{"EGRESS_TOKEN_0=" + tokenValue, "PIPELOCK_SECRET_0=" + secretValue, "API_KEY=" + secretValue} {
		if !strings.Contains(env, want) {
			t.Errorf("process env lacks %s", want)
		}
	}
}

func TestPrepareRefusesExistingSlug(t *testing.T) {
	home := t.TempDir()
	p := testPlan(t, home, true)
	prepare(t, p)
	marker := filepath.Join(string(p.StateDir), "marker")
	os.WriteFile(marker, []byte("x"), 0o600)
	s, _ := CollectSecrets(p, lookup(map[string]string{"TEST_TOKEN": "t", "TEST_API_KEY": "k"}), nil)
	err := Prepare(PrepareInput{Plan: p, Secrets: s, ComposeFile: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "cleanup") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("the existing state dir was touched")
	}
}

func TestPrepareFailureLeavesNothing(t *testing.T) {
	home := t.TempDir()
	p := testPlan(t, home, false)
	p.Bottle.Git[0].IdentityFile = "/nonexistent/key"
	s, _ := CollectSecrets(p, lookup(map[string]string{"TEST_TOKEN": "t", "TEST_API_KEY": "k"}), nil)
	err := Prepare(PrepareInput{Plan: p, Secrets: s, ComposeFile: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "git[0].identity_file") || !strings.Contains(err.Error(), "/nonexistent/key") {
		t.Fatalf("err = %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(home, "state"))
	if len(entries) != 0 {
		t.Errorf("state/ holds %d entries after a failure", len(entries))
	}
}

func TestCollectSecretsMissing(t *testing.T) {
	p := testPlan(t, t.TempDir(), false)
	_, err := CollectSecrets(p, lookup(map[string]string{"TEST_API_KEY": "k"}), nil)
	if err == nil || !strings.Contains(err.Error(), "TEST_TOKEN") {
		t.Fatalf("err = %v", err)
	}
	s, err := CollectSecrets(p, lookup(map[string]string{"TEST_TOKEN": "t", "TEST_API_KEY": "short"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ShortSecrets(p, s); len(got) != 1 || got[0] != "API_KEY" {
		t.Errorf("short = %v", got)
	}
	found := false
	for _, kv := range ProcessEnv(p, s, nil) {
		if strings.HasPrefix(kv, "PIPELOCK_SECRET_0=") {
			found = true
			// Pipelock refuses an empty known_secret_env variable; it
			// skips a short one with a warning (pipelock TestBuildPolicyErrors).
			if kv != "PIPELOCK_SECRET_0=short" {
				t.Errorf("the short secret did not reach pipelock as it is: %s", kv)
			}
		}
	}
	if !found {
		t.Error("PIPELOCK_SECRET_0 missing from the process env")
	}
}

// TestMCPToolTimeoutMatchesSupervise: the agent must wait at least as long
// as the supervise daemon holds a call.
func TestMCPToolTimeoutMatchesSupervise(t *testing.T) {
	p := testPlan(t, t.TempDir(), false)
	want := agentcontract.MCPToolTimeout(supervise.DefaultHold)
	for _, e := range p.AgentEnv {
		if e.Key == "MCP_TOOL_TIMEOUT" {
			if e.Value != want {
				t.Errorf("plan MCP_TOOL_TIMEOUT = %s, supervise wants %s", e.Value, want)
			}
			return
		}
	}
	t.Error("no MCP_TOOL_TIMEOUT in a supervised bottle's agent env")
}
