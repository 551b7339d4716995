package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// probeHome writes a one-sidecar probe bottle and agent into a new home.
// The stand-in claude skips its model call (these tests are about the
// bottle, not the model; internal/fakeclaude).
func probeHome(t *testing.T) string {
	t.Helper()
	return bottleHome(t, "probe", "image: "+images.AgentTest+"\nenv:\n  FAKE_CLAUDE_NO_MODEL: \"1\"\negress:\n  allowlist: [allowed.invalid]\n", "You are a probe.\n")
}

// buildCLI builds the claude-bottle binary for tests that must kill it.
func buildCLI(t *testing.T, ctx context.Context) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "claude-bottle")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/claude-bottle/claude-bottle/cmd/claude-bottle")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// projectContainers lists a compose project's containers.
func projectContainers(ctx context.Context, project string) []string {
	out, _ := engine.Docker(ctx, "ps", "-aq", "--filter", "label=com.docker.compose.project="+project)
	return strings.Fields(out)
}

// TestKill9MidStartThenCleanupDocker kills the CLI with SIGKILL while its
// bottle is coming up (containers exist, the bottle is not ready), then
// checks that `cleanup <slug>` lists everything the crashed start left
// (containers, networks, state dir) and nothing of any other bottle, and
// that `cleanup --yes <slug>` leaves nothing. (Plain `cleanup --yes` would
// also remove other packages' test bottles running in parallel.)
func TestKill9MidStartThenCleanupDocker(t *testing.T) {
	ctx := dockerSetup(t, 10*time.Minute)
	bin := buildCLI(t, ctx) // before probeHome moves out of the module
	home := probeHome(t)
	slug := "crash-" + dockertest.RunID()[1:7]
	project := layout.ProjectName(slug)
	dockertest.CleanupProject(t, project)

	cmd := exec.Command(bin, "start", "--detach", "probe", "--slug", slug)
	cmd.Env = os.Environ()
	// Its own process group, so the test can wait for the compose tool it
	// orphans; only the CLI itself is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pgid := cmd.Process.Pid
	killed := false
	for !killed {
		select {
		case err := <-exited:
			t.Fatalf("the CLI finished (%v) before the test saw containers of %s; output:\n%s", err, project, out.String())
		case <-ctx.Done():
			t.Fatal("no container appeared")
		case <-time.After(50 * time.Millisecond):
		}
		if len(projectContainers(ctx, project)) > 0 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the CLI was not killed: %v", err)
	}
	// The orphaned compose tool finishes (or dies on its closed pipe).
	for syscall.Kill(-pgid, 0) == nil {
		select {
		case <-ctx.Done():
			t.Fatal("the orphaned compose tool did not finish")
		case <-time.After(200 * time.Millisecond):
		}
	}
	if len(projectContainers(ctx, project)) == 0 {
		t.Fatal("no container of the crashed bottle is left: the test did not crash a start")
	}

	// cleanup must list every leftover of the crashed bottle.
	rs, err := engine.ListResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mine []engine.Resource
	for _, r := range rs {
		if r.Project == project || strings.Contains(r.Name, slug) {
			mine = append(mine, r)
		}
	}
	root := cmdWithStdin(t, "n\n", "cleanup", slug)
	for _, line := range strings.Split(root, "\n") {
		if strings.HasPrefix(line, "  ") && !strings.Contains(line, slug) {
			t.Errorf("cleanup %s lists something of another bottle: %q", slug, line)
		}
	}
	for _, r := range mine {
		if !strings.Contains(root, r.Kind+" "+r.Name) {
			t.Errorf("cleanup does not list %s %s:\n%s", r.Kind, r.Name, root)
		}
	}
	stateDirs, _ := filepath.Glob(filepath.Join(home, "state", "*"+slug+"*"))
	hidden, _ := filepath.Glob(filepath.Join(home, "state", "."+slug+"*"))
	stateDirs = append(stateDirs, hidden...)
	if len(stateDirs) == 0 {
		t.Error("the crashed start left no state dir (expected one to clean up)")
	}
	for _, d := range stateDirs {
		if !strings.Contains(root, "state dir "+d) {
			t.Errorf("cleanup does not list state dir %s:\n%s", d, root)
		}
	}
	var kinds []string
	for _, r := range mine {
		kinds = append(kinds, r.Kind)
	}
	for _, want := range []string{"container", "network"} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Errorf("no %s of the crashed bottle found: %v", want, mine)
		}
	}

	if out := cmdWithStdin(t, "", "cleanup", "--yes", slug); !strings.Contains(out, "removed") {
		t.Fatalf("cleanup --yes %s: %s", slug, out)
	}
	for _, d := range stateDirs {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("state dir %s is still there after cleanup (%v)", d, err)
		}
	}
	rs, err = engine.ListResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Project == project || strings.Contains(r.Name, slug) {
			t.Errorf("left behind: %s %s", r.Kind, r.Name)
		}
	}
	if v, _ := engine.Docker(ctx, "volume", "ls", "-q", "--filter", "label=com.docker.compose.project="+project); strings.TrimSpace(v) != "" {
		t.Errorf("volumes left: %s", v)
	}
}

// cmdWithStdin runs the CLI in process with stdin and returns stdout and
// stderr together; an error is expected ("nothing removed").
func cmdWithStdin(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	root := NewRoot()
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	if err != nil && !strings.Contains(err.Error(), "nothing removed") {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// TestTwoBottlesOfOneAgentDocker starts two bottles of the same agent at
// once (two start commands running concurrently): different slugs, containers, networks and
// state dirs, each one working, and stopping one leaves the other up.
func TestTwoBottlesOfOneAgentDocker(t *testing.T) {
	ctx := dockerSetup(t, 10*time.Minute)
	home := probeHome(t)
	type result struct {
		slug string
		err  error
	}
	// A loaded machine runs healthchecks late; waiting longer is fine here.
	t.Setenv("CLAUDE_BOTTLE_HEALTH_TIMEOUT", "5m")
	results := make(chan result, 2)
	for i := 0; i < 2; i++ {
		go func() {
			out, errOut, err := run(t, "start", "--detach", "probe")
			if err != nil {
				err = fmt.Errorf("%v\n%s", err, errOut)
			}
			results <- result{strings.TrimSpace(out), err}
		}()
	}
	var slugs []string
	var errs []error
	for i := 0; i < 2; i++ {
		r := <-results
		if r.slug != "" {
			slugs = append(slugs, r.slug)
			dockertest.CleanupProject(t, layout.ProjectName(r.slug))
		}
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(slugs) != 2 || slugs[0] == slugs[1] || !strings.HasPrefix(slugs[0], "probe-") || !strings.HasPrefix(slugs[1], "probe-") {
		t.Fatalf("slugs %q", slugs)
	}
	for _, s := range slugs {
		if _, err := os.Stat(filepath.Join(home, "state", s, "metadata.json")); err != nil {
			t.Errorf("state dir of %s: %v", s, err)
		}
		out, _, err := run(t, "exec", s, "--", "printenv", "CLAUDE_BOTTLE_SLUG")
		if err != nil || strings.TrimSpace(out) != s {
			t.Errorf("exec in %s: %q %v", s, out, err)
		}
		code, _, _ := run(t, "exec", s, "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://not-allowed.invalid/")
		if strings.TrimSpace(code) != "403" {
			t.Errorf("%s: blocked host answered %q, want 403 from its firewall", s, code)
		}
	}
	if _, errOut, err := run(t, "stop", slugs[0]); err != nil {
		t.Fatalf("stop %s: %v\n%s", slugs[0], err, errOut)
	}
	if n := len(projectContainers(ctx, layout.ProjectName(slugs[1]))); n == 0 {
		t.Errorf("stopping %s took %s down too", slugs[0], slugs[1])
	}
	if out, _, err := run(t, "exec", slugs[1], "--", "true"); err != nil {
		t.Errorf("%s after the other stopped: %v %s", slugs[1], err, out)
	}
	if _, errOut, err := run(t, "stop", slugs[1]); err != nil {
		t.Fatalf("stop %s: %v\n%s", slugs[1], err, errOut)
	}
}

// TestStopThenResumeDocker stops a bottle, records a route approved while
// it ran (pending-restart.json), and resumes it: same slug, new CA, the
// route live (the bottle gains egress), the old state dir replaced.
func TestStopThenResumeDocker(t *testing.T) {
	dockerSetup(t, 10*time.Minute)
	home := probeHome(t)
	t.Setenv("CLAUDE_BOTTLE_HEALTH_TIMEOUT", "5m")
	slug := "resume-" + dockertest.RunID()[1:7]
	dockertest.CleanupProject(t, layout.ProjectName(slug))
	if _, errOut, err := run(t, "start", "--detach", "probe", "--slug", slug); err != nil {
		t.Fatalf("start: %v\n%s", err, errOut)
	}
	sd := filepath.Join(home, "state", slug)
	oldCA, _ := os.ReadFile(filepath.Join(sd, "trust", "pipelock-ca.crt"))
	if _, errOut, err := run(t, "stop", slug); err != nil {
		t.Fatalf("stop: %v\n%s", err, errOut)
	}
	pending := `{"routes":[{"host":"api.resume.invalid","path_allowlist":["/v1"],"proposal_id":"p1"}]}`
	if err := os.WriteFile(filepath.Join(sd, "pending-restart.json"), []byte(pending), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, "resume", "--detach", slug)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, errOut)
	}
	if strings.TrimSpace(out) != slug || !strings.Contains(errOut, "api.resume.invalid") {
		t.Errorf("resume printed %q; stderr:\n%s", out, errOut)
	}
	if got, _, err := run(t, "exec", slug, "--", "printenv", "CLAUDE_BOTTLE_SLUG"); err != nil || strings.TrimSpace(got) != slug {
		t.Errorf("exec after resume: %q %v", got, err)
	}
	newCA, _ := os.ReadFile(filepath.Join(sd, "trust", "pipelock-ca.crt"))
	if len(newCA) == 0 || string(newCA) == string(oldCA) {
		t.Error("resume kept the old CA")
	}
	routes, _ := os.ReadFile(filepath.Join(sd, "egress", "routes.json"))
	if !strings.Contains(string(routes), "api.resume.invalid") {
		t.Errorf("the pending route is not live: routes.json = %s", routes)
	}
	if _, err := os.Stat(filepath.Join(sd, "pending-restart.json")); err == nil {
		t.Error("pending-restart.json survived the resume that folded it in")
	}
	if data, _ := os.ReadFile(filepath.Join(sd, "compose.log")); pipelockStarts(string(data)) < 1 {
		t.Errorf("the first run's logs were not carried into the new state dir")
	}
	if left, _ := filepath.Glob(filepath.Join(home, "state", "."+slug+"*")); len(left) > 0 {
		t.Errorf("the old state dir was not removed: %v", left)
	}
	// Resuming a running bottle is refused.
	if _, _, err := run(t, "resume", "--detach", slug); err == nil || !strings.Contains(err.Error(), "is running") {
		t.Errorf("second resume: %v", err)
	}
	if _, errOut, err := run(t, "stop", slug); err != nil {
		t.Fatalf("stop: %v\n%s", err, errOut)
	}
	if data, _ := os.ReadFile(filepath.Join(sd, "compose.log")); pipelockStarts(string(data)) < 2 {
		t.Errorf("compose.log does not hold both runs' logs")
	}
}
