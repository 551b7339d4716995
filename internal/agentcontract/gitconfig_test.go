package agentcontract

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

func TestAgentGitConfigRender(t *testing.T) {
	got, err := AgentGitConfig("claude-bottle-git-gate-demo-abc12", []sidecarconfig.GateRemote{
		{Name: "web", Upstream: "git@github.com:org/web.git"},
		{Name: "demo", Upstream: "ssh://git@git.example.com:22/org/demo.git"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `# Written by claude-bottle: every declared upstream goes through the git-gate.
[url "git://claude-bottle-git-gate-demo-abc12/demo.git"]
	insteadOf = "ssh://git@git.example.com:22/org/demo.git"
[url "git://claude-bottle-git-gate-demo-abc12/web.git"]
	insteadOf = "git@github.com:org/web.git"
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestAgentGitConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		remotes []sidecarconfig.GateRemote
		wantErr string
	}{
		{"bad host", "gate:9418", []sidecarconfig.GateRemote{{Name: "a", Upstream: "x:y"}}, "git-gate host"},
		{"bad name", "gate", []sidecarconfig.GateRemote{{Name: "A", Upstream: "x:y"}}, `git[0].name: "A"`},
		{"empty upstream", "gate", []sidecarconfig.GateRemote{{Name: "a"}}, "git[0].upstream (a): must be set"},
		{"newline in upstream", "gate", []sidecarconfig.GateRemote{{Name: "a", Upstream: "x:y\n[core]\n\tsshCommand = evil"}}, "control characters"},
		{"duplicate upstream", "gate", []sidecarconfig.GateRemote{{Name: "a", Upstream: "x:y"}, {Name: "b", Upstream: "x:y"}}, `also the upstream of "a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AgentGitConfig(tc.host, tc.remotes)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestAgentGitConfigWithGit hands the rendered file to real git: every
// upstream (including one with quotes and backslashes) is rewritten to the
// gate for fetch and push, and nothing else is.
func TestAgentGitConfigWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is required under CI: %v", err)
		}
		t.Skipf("git not installed: %v", err)
	}
	dir := t.TempDir()
	remotes := []sidecarconfig.GateRemote{
		{Name: "demo", Upstream: "ssh://git@git.example.com:22/org/demo.git"},
		{Name: "scp", Upstream: "git@github.com:org/scp.git"},
		{Name: "odd", Upstream: `ssh://h/we"ird\path #x;y.git`},
	}
	conf, err := AgentGitConfig("gate", remotes)
	if err != nil {
		t.Fatal(err)
	}
	gc := filepath.Join(dir, "gitconfig")
	if err := os.WriteFile(gc, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+dir, "GIT_CONFIG_GLOBAL="+gc, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	repo := filepath.Join(dir, "r")
	mustGit(t, env, dir, "init", "--quiet", repo)
	for _, r := range append(remotes, sidecarconfig.GateRemote{Name: "unrelated", Upstream: "ssh://elsewhere/x.git"}) {
		mustGit(t, env, repo, "remote", "add", r.Name, r.Upstream)
		want := "git://gate/" + r.Name + ".git"
		if r.Name == "unrelated" {
			want = r.Upstream
		}
		for _, args := range [][]string{{"remote", "get-url", r.Name}, {"remote", "get-url", "--push", r.Name}} {
			if got := mustGit(t, env, repo, args...); got != want {
				t.Errorf("git %v = %q, want %q", args, got, want)
			}
		}
	}
}

func mustGit(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return strings.TrimSpace(string(out))
}
