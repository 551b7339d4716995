package launch

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/composecli"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// TestTeardownEngineDown: with the engine not answering, teardown says so
// in one line and keeps the keys (nothing was stopped); the Compose tool
// is never run (it would print a 100-line traceback).
func TestTeardownEngineDown(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI")
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	sd := layout.StateDir(t.TempDir())
	if err := os.WriteFile(sd.ComposeFile(), []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(sd.PipelockCA(), "ca.key")
	if err := os.MkdirAll(sd.PipelockCA(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	ran := filepath.Join(t.TempDir(), "ran")
	tool := filepath.Join(t.TempDir(), "compose")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &Launcher{Compose: &composecli.Runner{Argv: []string{tool}, Version: "test"}}
	err := l.Teardown(context.Background(), "claude-bottle-x-ab12c", sd)
	if !errors.Is(err, engine.ErrUnreachable) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "was not stopped") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(key); err != nil {
		t.Errorf("the key went although nothing was stopped: %v", err)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the Compose tool ran")
	}
}
