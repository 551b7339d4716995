package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
)

// TestWaitHealthyRunsTheHealthcheckDocker: WaitHealthy does not wait for
// Docker's first probe (one interval after the start, here 10 minutes): it
// runs the container's own healthcheck itself. A passing one ends the wait
// while Docker still says "starting"; a failing one does not end it.
func TestWaitHealthyRunsTheHealthcheckDocker(t *testing.T) {
	dockertest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := images.Ensure(ctx, images.Options{}, images.AgentTest); err != nil {
		t.Fatal(err)
	}
	run := func(name, healthCmd string) string {
		t.Helper()
		name += "-" + dockertest.RunID()[1:7]
		if _, err := engine.Docker(ctx, "run", "-d", "--name", name, "--label", dockertest.Label(),
			"--health-cmd", healthCmd, "--health-interval", "10m", "--health-start-period", "10m",
			images.AgentTest); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = engine.Docker(context.Background(), "rm", "-f", name) })
		return name
	}
	health := func(name string) string {
		out, err := engine.Docker(ctx, "inspect", "-f", "{{.State.Health.Status}}", name)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	good := run("cb-health-good", "test -d /home/agent")
	var progress strings.Builder
	if err := engine.WaitHealthy(ctx, []string{good}, &progress); err != nil {
		t.Fatalf("a passing healthcheck: %v\n%s", err, progress.String())
	}
	if h := health(good); h != "starting" {
		t.Fatalf("Docker already says %q: the test did not show the wait ended before Docker's first probe", h)
	}
	if !strings.Contains(progress.String(), "its healthcheck, run now") {
		t.Errorf("progress does not say the healthcheck was run: %q", progress.String())
	}

	bad := run("cb-health-bad", "test -d /nonexistent")
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
	defer wcancel()
	err := engine.WaitHealthy(wctx, []string{bad}, nil)
	if err == nil || !strings.Contains(err.Error(), "still waiting for "+bad) {
		t.Fatalf("a failing healthcheck: got %v; want the wait to time out still waiting for %s", err, bad)
	}
}
