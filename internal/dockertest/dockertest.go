// Package dockertest holds the helpers tests use on the real Docker engine
// (no mocks: DESIGN.md's rules). Every resource a test makes carries the
// label dev.claude-bottle.test=<run id>, and a t.Cleanup removes everything
// with that label even when the test fails. Without an engine a test is
// skipped, except under CI=true, where it fails: CI must not go green by
// running nothing.
package dockertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// LabelTest marks every resource a test run creates.
const LabelTest = "dev.claude-bottle.test"

var (
	runIDOnce sync.Once
	runID     string
)

// RunID identifies this test process's resources: "t" + 10 hex digits.
func RunID() string {
	runIDOnce.Do(func() {
		var b [5]byte
		_, _ = rand.Read(b[:])
		runID = "t" + hex.EncodeToString(b[:])
	})
	return runID
}

// Label is the "key=value" of this run's label.
func Label() string { return LabelTest + "=" + RunID() }

// LabelArgs are the docker CLI flags that put this run's label on a
// container, network or volume.
func LabelArgs() []string { return []string{"--label", Label()} }

// InCI reports whether CI=true (missing tools fail instead of skipping).
func InCI() bool { return strings.EqualFold(os.Getenv("CI"), "true") }

// Unavailable skips the test, or fails it under CI=true.
func Unavailable(t testing.TB, format string, a ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, a...)
	if InCI() {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg)
}

// Tool returns the path of a program a test needs (tmux, curl, ...): a
// skip without it, a failure under CI=true (.ci/apt-packages installs it).
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s is not installed (apt-get install %s; CI installs .ci/apt-packages)", name, name)
	}
	return p
}

// Require checks that the docker CLI is installed and the engine answers,
// and registers the label cleanup for this test. Call it first.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		Unavailable(t, "the docker CLI is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		Unavailable(t, "the Docker engine does not answer: %v: %s", err, bytes.TrimSpace(out))
	}
	sweepStale(ctx)
	t.Cleanup(func() { Cleanup(t) })
}

// StaleAfter is the age after which another run's labelled containers are
// taken for leftovers (a run killed by a test timeout skips its cleanups).
const StaleAfter = time.Hour

// sweepStale removes containers with the test label, from other runs,
// older than StaleAfter. Best effort.
func sweepStale(ctx context.Context) {
	out, err := docker(ctx, "ps", "-a", "--filter", "label="+LabelTest, "--format",
		"{{.ID}}\t{{.CreatedAt}}\t{{.Label \""+LabelTest+"\"}}")
	if err != nil {
		return
	}
	var stale []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[2] == RunID() {
			continue
		}
		created, err := time.Parse("2006-01-02 15:04:05 -0700 MST", f[1])
		if err == nil && time.Since(created) > StaleAfter {
			stale = append(stale, f[0])
		}
	}
	if len(stale) > 0 {
		_, _ = docker(ctx, append([]string{"rm", "-f", "-v"}, stale...)...)
	}
}

// Cleanup removes every container, network and volume carrying this run's
// label. Errors are reported, not fatal: cleanup must run to the end.
func Cleanup(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	filter := "label=" + Label()
	if ids := lines(ctx, "ps", "-aq", "--filter", filter); len(ids) > 0 {
		if out, err := docker(ctx, append([]string{"rm", "-f", "-v"}, ids...)...); err != nil {
			t.Errorf("cleanup: docker rm: %v: %s", err, out)
		}
	}
	if ids := lines(ctx, "network", "ls", "-q", "--filter", filter); len(ids) > 0 {
		if out, err := docker(ctx, append([]string{"network", "rm"}, ids...)...); err != nil {
			t.Errorf("cleanup: docker network rm: %v: %s", err, out)
		}
	}
	if ids := lines(ctx, "volume", "ls", "-q", "--filter", filter); len(ids) > 0 {
		if out, err := docker(ctx, append([]string{"volume", "rm", "-f"}, ids...)...); err != nil {
			t.Errorf("cleanup: docker volume rm: %v: %s", err, out)
		}
	}
}

// CleanupProject registers removal of a compose project's containers,
// networks and volumes (by compose's own project label), for tests that
// bring a bottle up through compose.
func CleanupProject(t testing.TB, project string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		filter := "label=com.docker.compose.project=" + project
		if ids := lines(ctx, "ps", "-aq", "--filter", filter); len(ids) > 0 {
			_, _ = docker(ctx, append([]string{"rm", "-f", "-v"}, ids...)...)
		}
		if ids := lines(ctx, "network", "ls", "-q", "--filter", filter); len(ids) > 0 {
			_, _ = docker(ctx, append([]string{"network", "rm"}, ids...)...)
		}
		if ids := lines(ctx, "volume", "ls", "-q", "--filter", filter); len(ids) > 0 {
			_, _ = docker(ctx, append([]string{"volume", "rm", "-f"}, ids...)...)
		}
	})
}

// Docker runs the docker CLI and returns its combined output; the test
// fails on error.
func Docker(t testing.TB, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := docker(ctx, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// TryDocker runs the docker CLI and returns output and error.
func TryDocker(ctx context.Context, args ...string) (string, error) {
	out, err := docker(ctx, args...)
	return strings.TrimSpace(out), err
}

// Run starts a detached container with this run's label and returns its
// ID. args are everything after "docker run -d" (flags, image, command).
func Run(t testing.TB, ctx context.Context, args ...string) string {
	t.Helper()
	return Docker(t, ctx, append(append([]string{"run", "-d"}, LabelArgs()...), args...)...)
}

// Network creates a labelled bridge network and returns its name.
func Network(t testing.TB, ctx context.Context, name string, extra ...string) string {
	t.Helper()
	Docker(t, ctx, append(append(append([]string{"network", "create"}, LabelArgs()...), extra...), name)...)
	return name
}

// IP returns a container's address on its first (or only) network.
func IP(t testing.TB, ctx context.Context, container string) string {
	t.Helper()
	out := Docker(t, ctx, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container)
	f := strings.Fields(out)
	if len(f) == 0 || net.ParseIP(f[0]) == nil {
		t.Fatalf("container %s has no IP address (%q)", container, out)
	}
	return f[0]
}

// Logs returns a container's logs (stdout and stderr), for failure output.
func Logs(ctx context.Context, container string) string {
	out, _ := docker(ctx, "logs", "--tail", "200", container)
	return out
}

// WaitTCP waits until addr accepts a TCP connection, bounded by ctx.
// Only loopback and the project's own containers may be addressed.
func WaitTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error %v)", addr, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return string(out), err
}

func lines(ctx context.Context, args ...string) []string {
	out, err := docker(ctx, args...)
	if err != nil {
		return nil
	}
	return strings.Fields(out)
}
