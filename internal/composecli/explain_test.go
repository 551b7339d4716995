package composecli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/engine"
)

// TestFailureIsOneLine: a Compose tool that prints docker-compose 1.x's
// 100-line traceback for an engine that does not answer fails with one
// line that says so, naming the command (the traceback once reached the
// user as is).
func TestFailureIsOneLine(t *testing.T) {
	trace, err := os.ReadFile("../engine/testdata/compose-v1-unreachable.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "trace.txt"), trace, 0o644); err != nil {
		t.Fatal(err)
	}
	tool := filepath.Join(dir, "docker-compose")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\ncat \"$(dirname \"$0\")/trace.txt\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Argv: []string{tool}, V1: true, Version: "1.29.2"}
	ctx := context.Background()
	for name, err := range map[string]error{
		"down": r.Down(ctx, "claude-bottle-x-ab12c", "f.yml", nil, nil),
		"up":   r.Up(ctx, "claude-bottle-x-ab12c", "f.yml", nil, nil),
		"logs": r.Logs(ctx, "claude-bottle-x-ab12c", "f.yml", nil, &strings.Builder{}),
	} {
		if !errors.Is(err, engine.ErrUnreachable) {
			t.Errorf("%s: %v is not ErrUnreachable", name, err)
		}
		if msg := err.Error(); strings.Contains(msg, "Traceback") || strings.Contains(msg, "\n") || !strings.Contains(msg, "-p claude-bottle-x-ab12c") {
			t.Errorf("%s: %q", name, msg)
		}
	}
}
