package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// TestStartFailureShowsTheCauseDocker: a sidecar that dies while the
// bottle starts is removed by the teardown, so start's error must carry
// the container's own last output (not a "see docker logs" hint that
// points at a removed container).
func TestStartFailureShowsTheCauseDocker(t *testing.T) {
	ctx := dockerSetup(t, 10*time.Minute)
	probeHome(t)
	t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", "")
	img := "claude-bottle-test-crash:" + dockertest.RunID()
	df := "FROM " + images.Sidecars + "\nUSER root\nRUN printf '#!/bin/sh\\necho \"pipelock: cannot load its config: cause-7f3a\" >&2\\nexit 3\\n' > /usr/local/bin/claude-bottle-sidecar && chmod 755 /usr/local/bin/claude-bottle-sidecar\nUSER 10001:10001\n"
	var out bytes.Buffer
	if err := engine.Run(ctx, engine.Stdio{Stdin: strings.NewReader(df), Stdout: &out, Stderr: &out}, "build", "--label", dockertest.Label(), "-t", img, "-"); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Cleanup(func() { _, _ = engine.Docker(context.Background(), "rmi", "-f", img) })
	t.Setenv("CLAUDE_BOTTLE_SIDECAR_IMAGE", img)
	slug := "crash-" + dockertest.RunID()[1:6]
	t.Cleanup(func() { dockertest.CleanupProject(t, layout.ProjectName(slug)) })
	_, errOut, err := run(t, "start", "--detach", "probe", "--slug", slug)
	if err == nil {
		t.Fatal("start succeeded with a crashing firewall")
	}
	if !strings.Contains(err.Error(), "cause-7f3a") {
		t.Errorf("start's error lacks the container's own output:\n%v\n%s", err, errOut)
	}
	if strings.Contains(err.Error(), "docker logs") {
		t.Errorf("start's error points at docker logs of a removed container: %v", err)
	}
	if c := projectContainers(ctx, layout.ProjectName(slug)); len(c) > 0 {
		t.Errorf("containers left after the failed start: %v", c)
	}
}
