package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// TestStartAttachInTmuxDocker runs `claude-bottle start probe --yes` in a
// terminal (tmux), as a person does: the bottle comes up, `claude` (the test
// image's stand-in, Dockerfile.agent-test) is attached with a terminal as
// the agent user and gets the system prompt, reads what is typed, and its
// exit code becomes the CLI's; then the bottle is torn down.
func TestStartAttachInTmuxDocker(t *testing.T) {
	ctx := dockerSetup(t, 8*time.Minute)
	dockertest.Tool(t, "tmux")
	bin := buildCLI(t, ctx) // before probeHome moves out of the module
	home := probeHome(t)
	slug := "attach-" + dockertest.RunID()[1:7]
	project := layout.ProjectName(slug)
	dockertest.CleanupProject(t, project)

	sock := "cbtest-" + slug // a tmux server of its own
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	exitFile := filepath.Join(t.TempDir(), "exit")
	tmux("new-session", "-d", "-s", "cb", "-x", "200", "-y", "50", "-e", "CLAUDE_BOTTLE_HOME="+home,
		"sh", "-c", bin+" start probe --yes --slug "+slug+"; echo $? > "+exitFile+"; sleep 600")
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", sock, "kill-server").Run() })

	screen := func() string { return tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "cb") }
	waitFor := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			select {
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s; screen:\n%s", what, screen())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	waitFor("the stand-in claude's prompt", func() bool { return strings.Contains(screen(), "fake-claude: exit code?") })
	s := screen()
	for _, want := range []string{
		"fake-claude: terminal",
		"fake-claude: user agent in /home/agent",
		"fake-claude: args: --append-system-prompt-file ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("attached claude did not show %q; screen:\n%s", want, s)
		}
	}
	if len(projectContainers(ctx, project)) == 0 {
		t.Fatalf("no container of %s while claude runs", project)
	}

	tmux("send-keys", "-t", "cb", "7", "Enter")
	waitFor("the CLI to exit", func() bool { _, err := os.Stat(exitFile); return err == nil })
	code, _ := os.ReadFile(exitFile)
	if got := strings.TrimSpace(string(code)); got != "7" {
		t.Errorf("claude-bottle start exited %s; want claude's 7; screen:\n%s", got, screen())
	}
	if left := projectContainers(ctx, project); len(left) > 0 {
		t.Errorf("containers of %s left after claude exited: %v", project, left)
	}
}
