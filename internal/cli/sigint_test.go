package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// TestSIGINTMidStartDocker: Ctrl-C while a bottle comes up tears it down
// (no container, network or state dir left, nothing listed) and the CLI
// exits 130.
func TestSIGINTMidStartDocker(t *testing.T) {
	ctx := dockerSetup(t, 10*time.Minute)
	bin := buildCLI(t, ctx)
	home := probeHome(t)
	slug := "sigint-" + dockertest.RunID()[1:6]
	project := layout.ProjectName(slug)
	t.Cleanup(func() { dockertest.CleanupProject(t, project) })

	cmd := exec.Command(bin, "start", "--detach", "probe", "--slug", slug)
	cmd.Env = os.Environ()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	for sent := false; ; {
		select {
		case err = <-exited:
		case <-ctx.Done():
			t.Fatal("timed out")
		case <-time.After(50 * time.Millisecond):
			if !sent && len(projectContainers(ctx, project)) > 0 {
				if err := cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
				sent = true
			}
			continue
		}
		if !sent {
			t.Fatalf("the start finished (%v) before the test saw its containers:\n%s", err, out.String())
		}
		break
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitInterrupted {
		t.Errorf("exit %v, want %d; output:\n%s", err, ExitInterrupted, out.String())
	}
	if strings.Contains(out.String(), "goroutine ") || strings.Contains(out.String(), "Traceback") {
		t.Errorf("not a clean exit:\n%s", out.String())
	}
	if c := projectContainers(ctx, project); len(c) > 0 {
		t.Errorf("containers left after Ctrl-C: %v", c)
	}
	rs, _ := engine.ListResources(ctx)
	for _, r := range rs {
		if r.Project == project || strings.Contains(r.Name, slug) {
			t.Errorf("left after Ctrl-C: %s %s", r.Kind, r.Name)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(home, "state", "*"+slug+"*")); len(left) > 0 {
		t.Errorf("state dir left after Ctrl-C: %v", left)
	}
	list, _, _ := run(t, "list")
	if strings.Contains(list, slug) {
		t.Errorf("list still shows the interrupted bottle:\n%s", list)
	}
}
