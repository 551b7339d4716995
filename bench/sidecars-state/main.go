// Command sidecars-state writes a minimal valid bottle state dir for
// bench/sidecars.sh, with the same packages the CLI uses (internal/ca,
// internal/sidecarconfig): CAs, routes.json, pipelock.json, gate.json, a
// passwd naming the current uid, and an empty queue dir.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sidecars-state DIR")
		os.Exit(2)
	}
	if err := write(layout.StateDir(os.Args[1])); err != nil {
		fmt.Fprintln(os.Stderr, "sidecars-state:", err)
		os.Exit(1)
	}
}

func write(sd layout.StateDir) error {
	for _, d := range []string{sd.Egress(), sd.Pipelock(), sd.Trust(), sd.GitGate(), sd.GitGateData(), filepath.Join(string(sd), "queue")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := ca.WriteNew(sd.EgressCA(), "bench egress CA", 24*time.Hour); err != nil {
		return err
	}
	if err := ca.WriteNew(sd.PipelockCA(), "bench pipelock CA", 24*time.Hour); err != nil {
		return err
	}
	for src, dst := range map[string]string{
		filepath.Join(sd.PipelockCA(), layout.CACertFileName): filepath.Join(sd.Trust(), "pipelock-ca.crt"),
		filepath.Join(sd.EgressCA(), layout.CACertFileName):   filepath.Join(sd.Trust(), "egress-ca.crt"),
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	if err := fileio.WriteJSON(sd.RoutesFile(), sidecarconfig.Routes{Routes: []sidecarconfig.Route{{
		Host: "api.example.com", Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"},
	}}}, 0o644); err != nil {
		return err
	}
	if err := fileio.WriteJSON(sd.PipelockFile(), sidecarconfig.Pipelock{Allowlist: []string{"api.example.com"}}, 0o644); err != nil {
		return err
	}
	if err := fileio.WriteJSON(sd.GateFile(), sidecarconfig.Gate{Remotes: []sidecarconfig.GateRemote{}}, 0o644); err != nil {
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/usr/sbin/nologin\nsidecar:x:%d:%d:sidecar:/tmp:/usr/sbin/nologin\n", os.Getuid(), os.Getgid())
	return os.WriteFile(sd.Passwd(), []byte(passwd), 0o644)
}
