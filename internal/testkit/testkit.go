// Package testkit holds what the tests of several packages share: a
// goroutine-safe output buffer and building this module's programs once per
// test binary. Only tests import it (internal/deptest checks that no
// program links it).
package testkit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Module is this module's path.
const Module = "github.com/claude-bottle/claude-bottle"

// SyncBuffer is a bytes.Buffer that a child process's stdout and stderr
// and the test can use at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bytes returns a copy of everything written so far.
func (s *SyncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Binary builds a main package of this module ("cmd/claude-bottle-sidecar")
// once per test binary and returns its path. The one -short rule: building
// takes seconds, so -short skips the test that needs it (CI never runs
// -short).
//
// The binary goes to a folder of the temp dir keyed by the calling
// package's directory, so each package's runs reuse (and overwrite) one
// copy instead of leaving one behind per run, and packages of other work
// trees never share it.
func Binary(t testing.TB, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("builds %s; skipped with -short", pkg)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(wd))
	dir := filepath.Join(os.TempDir(), "claude-bottle-testbin", hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, Module+"/"+strings.TrimPrefix(pkg, "./")).CombinedOutput()
	if err != nil {
		t.Fatal(fmt.Errorf("go build %s: %v\n%s", pkg, err, out))
	}
	built[pkg] = bin
	return bin
}
