package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
)

// TestBuildIsolatedDocker: issue 15, hole 5. An approved Dockerfile once
// built with the operator's bottles folder as context (a COPY read another
// bottle's secrets) on the default bridge (its RUN reached the network
// outside every sidecar), and not at all when its tag existed. Here the
// context holds the Dockerfile only, RUN sees no interface but lo, and a
// second build under the same tag replaces the first.
func TestBuildIsolatedDocker(t *testing.T) {
	dockertest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := images.Ensure(ctx, images.Options{}, images.AgentTest); err != nil {
		t.Fatal(err)
	}
	tag := "cb-buildiso-" + dockertest.RunID()[1:7] + ":t"
	t.Cleanup(func() { _, _ = engine.Docker(context.Background(), "rmi", "-f", tag) })
	// A file where the old build context (the cwd, the bottles folder)
	// would have had it.
	t.Chdir(t.TempDir())
	if err := os.WriteFile(filepath.Join(".", "other-bottle.md"), []byte("env: {TOKEN: literal-secret}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	df := "FROM " + images.AgentTest + "\n" +
		"COPY . /ctx\n" +
		// Only the loopback interface: no route anywhere, not even to the
		// host (nothing is sent: the interface list is read).
		"RUN test \"$(ls /sys/class/net)\" = lo\n" +
		"LABEL cb.which=first\n"
	var out strings.Builder
	if err := engine.BuildIsolated(ctx, &out, tag, []byte(df)); err != nil {
		t.Fatalf("isolated build: %v\n%s", err, out.String())
	}
	if got, err := engine.Docker(ctx, "run", "--rm", "--network", "none", "--label", dockertest.Label(), tag, "ls", "-A", "/ctx"); err != nil || strings.TrimSpace(got) != "Dockerfile" {
		t.Fatalf("the build context held %q (err %v), want the Dockerfile only", got, err)
	}
	// The same tag again, another Dockerfile: built, not skipped.
	if err := engine.BuildIsolated(ctx, &out, tag, []byte(strings.Replace(df, "first", "second", 1))); err != nil {
		t.Fatalf("second build: %v\n%s", err, out.String())
	}
	if got, err := engine.ImageField(ctx, tag, `{{index .Config.Labels "cb.which"}}`); err != nil || got != "second" {
		t.Fatalf("tag %s carries label %q (err %v) after the second build, want second", tag, got, err)
	}
}
