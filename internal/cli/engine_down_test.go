package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// fakeBottle writes the state dir of a bottle that once ran.
func fakeBottle(t *testing.T, home, slug string) layout.StateDir {
	t.Helper()
	sd := layout.StateDir(filepath.Join(home, "state", slug))
	if err := os.MkdirAll(string(sd), 0o700); err != nil {
		t.Fatal(err)
	}
	m := &state.Metadata{Slug: slug, Agent: "demo", Bottle: "demo", Project: layout.ProjectName(slug), CreatedAt: time.Now().UTC(),
		Containers: map[string]string{"agent": layout.AgentContainer(slug), "pipelock": layout.SidecarContainer("pipelock", slug)}}
	if err := state.Write(sd, m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sd.ComposeFile(), []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return sd
}

// TestEngineDown: with the Docker Engine unreachable, list says unknown
// and why, stop is one line and exit code 3 (no Compose traceback), and
// info still prints clean JSON with exit code 3.
func TestEngineDown(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI")
	}
	home := setupHome(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	const slug = "demo-dwn12"
	fakeBottle(t, home, slug)

	out, errOut, err := run(t, "list")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if !strings.Contains(out, "unknown") || strings.Contains(out, "stopped") {
		t.Errorf("list with the engine down:\n%s", out)
	}
	if !strings.Contains(errOut, "Docker Engine does not answer") {
		t.Errorf("list does not say why: %q", errOut)
	}
	js, _, _ := run(t, "list", "--json")
	var rows []bottleRow
	if err := json.Unmarshal([]byte(js), &rows); err != nil || len(rows) != 1 || rows[0].Status != "unknown" || rows[0].Why == "" {
		t.Errorf("list --json: %v %+v", err, rows)
	}

	_, errOut, err = run(t, "stop", slug)
	var buf bytes.Buffer
	if code := processExit(&buf, err); code != ExitEngine {
		t.Errorf("stop exit code %d, want %d (%v)", code, ExitEngine, err)
	}
	if msg := strings.TrimSpace(buf.String() + errOut); strings.Count(msg, "\n") > 0 || !strings.Contains(msg, "cannot stop "+slug) || strings.Contains(msg, "Traceback") {
		t.Errorf("stop with the engine down should say so in one line, said:\n%s", msg)
	}

	out, _, err = run(t, "info", "--json", slug)
	if code := processExit(&bytes.Buffer{}, err); code != ExitEngine {
		t.Errorf("info exit code %d, want %d", code, ExitEngine)
	}
	var info bottleInfo
	if jerr := json.Unmarshal([]byte(out), &info); jerr != nil {
		t.Fatalf("info --json is not clean JSON: %v\n%s", jerr, out)
	}
	if info.Status != "unknown" || info.Why == "" || len(info.Daemons) != 1 || info.Daemons[0].Health != "unknown" {
		t.Errorf("info --json: %+v", info)
	}
	if info.CLI.Go == "" {
		t.Error("info --json lacks the build info")
	}
}

// TestLogsSavedCompose reads a saved compose.log (no engine needed): a
// blocked request shows, in both forms, and --blocked keeps only blocks.
func TestLogsSavedCompose(t *testing.T) {
	home := setupHome(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	const slug = "demo-sav12"
	sd := fakeBottle(t, home, slug)
	lines := `claude-bottle-pipelock-demo-sav12 | 2026-12-01T10:00:00.1Z {"time":"2026-12-01T10:00:00.1Z","level":"INFO","msg":"pipelock listening","addr":":8888"}
claude-bottle-pipelock-demo-sav12 | 2026-12-01T10:00:01.1Z {"time":"2026-12-01T10:00:01.1Z","level":"INFO","msg":"decision","mode":"http","method":"GET","host":"evil.invalid","port":"80","decision":"block","rule":"allowlist","reason":"host not allowed: evil.invalid","status":403}
claude-bottle-pipelock-demo-sav12 | 2026-12-01T10:00:02.1Z {"time":"2026-12-01T10:00:02.1Z","level":"INFO","msg":"decision","mode":"http","method":"GET","host":"ok.invalid","port":"80","decision":"allow","status":200}
`
	os.WriteFile(sd.ComposeLog(), []byte(lines), 0o600)
	out, errOut, err := run(t, "logs", slug)
	if err != nil || !strings.Contains(errOut, sd.ComposeLog()) {
		t.Errorf("logs with the engine down should say it shows the saved log: %v %q", err, errOut)
	}
	if !strings.Contains(out, "BLOCK") || !strings.Contains(out, "evil.invalid") || !strings.Contains(out, "ALLOW") || !strings.Contains(out, "START") {
		t.Errorf("logs:\n%s", out)
	}
	if strings.Index(out, "evil.invalid") > strings.Index(out, "ok.invalid") {
		t.Errorf("not in time order:\n%s", out)
	}
	out, _, _ = run(t, "logs", "--blocked", "--json", slug)
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, `"rule":"allowlist"`) {
		t.Errorf("logs --blocked --json:\n%s", out)
	}
}
