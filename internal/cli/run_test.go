package cli

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// runnerHome is a claude-bottle home with one agent, "runner", whose own
// keys become claude's flags, in a bottle on the test image.
func runnerHome(t *testing.T) string {
	t.Helper()
	home := probeHome(t)
	agent := "---\nbottle: probe\nmodel: opus\ntools: Read, Grep\ndisallowedTools: [WebFetch]\ncolor: blue\n---\nYou run tasks.\n"
	if err := os.WriteFile(filepath.Join(home, "agents", "runner.md"), []byte(agent), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

func TestRunDryRunListsAgentKeys(t *testing.T) {
	runnerHome(t)
	out, errOut, err := run(t, "start", "--dry-run", "runner")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, want := range []string{
		"claude --append-system-prompt-file ~/.claude-bottle/system-prompt.md --dangerously-skip-permissions --model opus --allowedTools Read,Grep --disallowedTools WebFetch",
		"passed to claude: model, tools, disallowedTools; ignored: color",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run does not say %q:\n%s", want, out)
		}
	}
	os.WriteFile(filepath.Join(os.Getenv("CLAUDE_BOTTLE_HOME"), "agents", "bad.md"), []byte("---\nbottle: probe\nmodel: --evil\n---\n"), 0o644)
	if _, _, err := run(t, "start", "--dry-run", "bad"); err == nil || !strings.Contains(err.Error(), "bad.md: key model") {
		t.Errorf("a flag as the model: err = %v", err)
	}
	for _, args := range [][]string{{"run", "runner"}, {"run", "runner", "-p", "x", "--prompt-file", "f"}, {"run", "runner", "-p", "  "}} {
		if _, _, err := run(t, args...); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// bigTree makes a ~50 MB work tree with a .git, an executable, a link
// inside it and a link to a file outside it.
func bigTree(t *testing.T) (dir, outside string) {
	t.Helper()
	base := t.TempDir()
	dir = filepath.Join(base, "repo")
	outside = filepath.Join(base, "outside-secret.txt")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(outside, []byte("OUTSIDE-THE-TREE-never-copied"), 0o600)
	chunk := make([]byte, 1<<20)
	for i := 0; i < 50; i++ {
		rand.Read(chunk)
		if err := os.WriteFile(filepath.Join(dir, "data", "blob"+string(rune('a'+i%26))+string(rune('a'+i/26))), chunk, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho ran\n"), 0o755)
	os.Symlink("run.sh", filepath.Join(dir, "inside-link"))
	os.Symlink(outside, filepath.Join(dir, "escape"))
	if out, err := exec.Command("git", "-C", dir, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	return dir, outside
}

// TestRunCwdKeepDocker runs one task in a bottle with a ~50 MB work tree,
// keeps the bottle and looks inside: the tree is the agent's, the links
// are links, nothing outside the tree came in, Claude Code's first-run
// state is there, and list says how the task ended.
func TestRunCwdKeepDocker(t *testing.T) {
	dockerSetup(t, 10*time.Minute)
	home := runnerHome(t)
	// A skill, copied the same way as the tree (as the agent, links as
	// links): ~/.claude/skills/lint of the user running the CLI.
	userHome := t.TempDir()
	t.Setenv("HOME", userHome)
	skill := filepath.Join(userHome, ".claude", "skills", "lint")
	os.MkdirAll(skill, 0o755)
	os.WriteFile(filepath.Join(skill, "SKILL.md"), []byte("lint things\n"), 0o644)
	os.Symlink("/etc/hostname", filepath.Join(skill, "host-link"))
	agent := "---\nbottle: probe\nskills: [lint]\nmodel: opus\ntools: Read, Grep\ndisallowedTools: [WebFetch]\ncolor: blue\n---\nYou run tasks.\n"
	os.WriteFile(filepath.Join(home, "agents", "runner.md"), []byte(agent), 0o644)
	dir, _ := bigTree(t)
	t.Chdir(dir)
	slug := "runkeep-" + dockertest.RunID()[1:7]
	dockertest.CleanupProject(t, layout.ProjectName(slug))

	out, errOut, err := run(t, "run", "runner", "--cwd", "--keep", "--json", "--slug", slug, "-p", "list the files")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	var res runResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	if res.ExitCode != 0 || res.Slug != slug || !res.Kept {
		t.Errorf("result = %+v", res)
	}
	for _, want := range []string{
		"fake-claude: args: --append-system-prompt-file /home/agent/.claude-bottle/system-prompt.md --dangerously-skip-permissions --model opus --allowedTools Read,Grep --disallowedTools WebFetch -p list the files",
		"fake-claude: no terminal",
		"fake-claude: user agent in /workspace",
	} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("claude's output lacks %q:\n%s", want, res.Output)
		}
	}
	if !strings.Contains(errOut, "100%") {
		t.Errorf("no progress for a 50 MB tree:\n%s", errOut)
	}
	sh := func(script string) (string, error) {
		t.Helper()
		o, e, err := run(t, "exec", slug, "--", "sh", "-c", script)
		return strings.TrimSpace(o), errors.Join(err, errors.New(e))
	}
	for script, want := range map[string]string{
		// Every file is the agent's, /workspace included.
		`find /workspace ! -user agent | head -n 5`:                                                   "",
		`stat -c %U /workspace`:                                                                       "agent",
		`cat /workspace/data/* | wc -c`:                                                               "52428800",
		`readlink /workspace/escape`:                                                                  filepath.Join(filepath.Dir(dir), "outside-secret.txt"),
		`test -L /workspace/escape && test ! -e /workspace/escape && echo dangling`:                   "dangling",
		`grep -rl OUTSIDE-THE-TREE /workspace /home/agent 2>/dev/null | head -n 1`:                    "",
		`/workspace/inside-link`:                                                                      "ran",
		`cd /workspace && git status --short | head -n 1 | cut -c1-2`:                                 "??",
		`printenv DISABLE_AUTOUPDATER CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC | tr '\n' ' '`:         "1 1",
		`grep -c '"skipDangerousModePermissionPrompt": true' ~/.claude/settings.json`:                 "1",
		`cat ~/.claude/skills/lint/SKILL.md; stat -c %U ~/.claude/skills/lint/SKILL.md | tr '\n' ' '`: "lint things\nagent",
		`readlink ~/.claude/skills/lint/host-link`:                                                    "/etc/hostname",
		`stat -c %a ~/.claude.json`:                                                                   "600",
	} {
		got, err := sh(script)
		if got != want {
			t.Errorf("%s: %q, want %q (%v)", script, got, want, err)
		}
	}
	cfg, _ := sh(`cat ~/.claude.json`)
	var state struct {
		Onboarding bool                       `json:"hasCompletedOnboarding"`
		Bypass     bool                       `json:"bypassPermissionsModeAccepted"`
		Projects   map[string]map[string]bool `json:"projects"`
	}
	if err := json.Unmarshal([]byte(cfg), &state); err != nil || !state.Onboarding || !state.Bypass || !state.Projects["/workspace"]["hasTrustDialogAccepted"] {
		t.Errorf("~/.claude.json = %s (%v)", cfg, err)
	}
	list, _, err := run(t, "list")
	if err != nil || !strings.Contains(lineWith(list, slug), "exited with code 0") {
		t.Errorf("list does not show the finished task: %v\n%s", err, list)
	}
	if _, errOut, err := run(t, "stop", slug); err != nil {
		t.Fatalf("stop: %v\n%s", err, errOut)
	}
}

func lineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestRunExitCodesInParallelDocker starts two runs at once from one
// "shell" (the built CLI, side by side), one whose claude exits 0 and one
// whose claude exits 5: each passes its code on and leaves nothing behind.
func TestRunExitCodesInParallelDocker(t *testing.T) {
	ctx := dockerSetup(t, 10*time.Minute)
	bin := buildCLI(t, ctx)
	runnerHome(t)
	id := dockertest.RunID()[1:7]
	cases := []struct {
		slug, task string
		code       int
	}{{"runok-" + id, "all good", 0}, {"runfail-" + id, "fail: exit 5", 5}}
	var wg sync.WaitGroup
	codes := make([]int, len(cases))
	outs := make([]string, len(cases))
	for i, c := range cases {
		dockertest.CleanupProject(t, layout.ProjectName(c.slug))
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, bin, "run", "runner", "--slug", c.slug, "-p", c.task)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			codes[i], outs[i] = cmd.ProcessState.ExitCode(), out.String()
			if err != nil && codes[i] <= 0 {
				outs[i] += "\n" + err.Error()
			}
		}()
	}
	wg.Wait()
	for i, c := range cases {
		if codes[i] != c.code {
			t.Errorf("run %q exited %d, want claude's %d:\n%s", c.task, codes[i], c.code, outs[i])
		}
		if !strings.Contains(outs[i], "fake-claude: exiting with ") {
			t.Errorf("claude's output was not streamed:\n%s", outs[i])
		}
		if left := projectContainers(ctx, layout.ProjectName(c.slug)); len(left) > 0 {
			t.Errorf("run %s left containers: %v", c.slug, left)
		}
	}
}

// TestAttachAfterDetachDocker brings a bottle up with --detach and
// attaches claude twice: first fresh, then, once the agent has a
// conversation, with --continue; each exit code is passed on.
func TestAttachAfterDetachDocker(t *testing.T) {
	dockerSetup(t, 10*time.Minute)
	runnerHome(t)
	slug := "attachd-" + dockertest.RunID()[1:7]
	dockertest.CleanupProject(t, layout.ProjectName(slug))
	if _, errOut, err := run(t, "start", "--detach", "runner", "--slug", slug); err != nil {
		t.Fatalf("start --detach: %v\n%s", err, errOut)
	}
	t.Cleanup(func() { run(t, "stop", slug) })
	if list, _, _ := run(t, "list"); !strings.Contains(lineWith(list, slug), "idle") {
		t.Errorf("list does not show the bottle idle:\n%s", list)
	}
	attach := func(code string) (string, error) {
		root := NewRoot()
		var out strings.Builder
		root.SetIn(strings.NewReader(code + "\n"))
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs([]string{"attach", slug})
		err := root.Execute()
		return out.String(), err
	}
	out, err := attach("4")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 4 {
		t.Errorf("attach: err %v, want claude's exit code 4\n%s", err, out)
	}
	if !strings.Contains(out, "--dangerously-skip-permissions --model opus") || strings.Contains(out, "--continue") {
		t.Errorf("first attach args:\n%s", out)
	}
	// A conversation in the agent's working directory, where Claude Code
	// keeps one.
	if _, e, err := run(t, "exec", slug, "--", "sh", "-c", `mkdir -p ~/.claude/projects/-home-agent && echo '{}' > ~/.claude/projects/-home-agent/s1.jsonl`); err != nil {
		t.Fatal(err, e)
	}
	out, err = attach("0")
	if err != nil || !strings.Contains(out, "--continue") {
		t.Errorf("second attach: %v, want --continue:\n%s", err, out)
	}
	if list, _, _ := run(t, "list"); !strings.Contains(lineWith(list, slug), "exited with code 0") {
		t.Errorf("list after attach:\n%s", list)
	}
}

// TestRunCtrlCTearsDownDocker interrupts a run while claude works, as
// Ctrl-C in a terminal does (SIGINT to the process group): the CLI exits
// 130 and the bottle is gone.
func TestRunCtrlCTearsDownDocker(t *testing.T) {
	ctx := dockerSetup(t, 10*time.Minute)
	bin := buildCLI(t, ctx)
	home := runnerHome(t)
	slug := "runint-" + dockertest.RunID()[1:7]
	project := layout.ProjectName(slug)
	dockertest.CleanupProject(t, project)
	cmd := exec.Command(bin, "run", "runner", "--slug", slug, "-p", "work for a while: sleep 300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	activity := filepath.Join(home, "state", slug, "activity.json")
	for {
		if data, _ := os.ReadFile(activity); strings.Contains(string(data), "task running") {
			break
		}
		select {
		case <-ctx.Done():
			cmd.Process.Kill()
			t.Fatalf("the task never started:\n%s", out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != ExitInterrupted {
		t.Errorf("an interrupted run exited %d, want %d:\n%s", code, ExitInterrupted, out.String())
	}
	if left := projectContainers(ctx, project); len(left) > 0 {
		t.Errorf("containers left after Ctrl-C: %v\n%s", left, out.String())
	}
}
