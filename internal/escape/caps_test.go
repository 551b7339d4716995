package escape

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/engine"
)

// attackCapabilities: even root in the agent container (docker exec -u
// root, what provisioning uses; a setuid binary the agent image ships)
// holds no capability, so it cannot chown, bind low ports, change the
// network (raw sockets, routes) or trace the sidecars' processes. Every
// process's effective, permitted and bounding sets must be empty.
func (b *bottle) attackCapabilities(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := engine.Exec(ctx, engine.ExecSpec{Container: b.agent, User: "root", Stdio: engine.Stdio{Stdout: &out, Stderr: &errOut}},
		"sh", "-c", `grep -E '^Cap(Eff|Prm|Bnd):' /proc/1/status /proc/self/status`)
	if err != nil {
		t.Fatalf("reading capabilities as root: %v: %s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("want 6 capability lines (3 sets, 2 processes), got:\n%s", out.String())
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 || strings.Trim(f[1], "0") != "" {
			t.Errorf("ESCAPE root in the agent holds capabilities: %s", l)
		}
	}
	// And a use of one: chown needs CAP_CHOWN.
	out.Reset()
	errOut.Reset()
	err = engine.Exec(ctx, engine.ExecSpec{Container: b.agent, User: "root", Stdio: engine.Stdio{Stdout: &out, Stderr: &errOut}},
		"sh", "-c", `f=$(mktemp) && chown 12345 "$f"; rc=$?; rm -f "$f"; exit $rc`)
	if err == nil {
		t.Errorf("ESCAPE root in the agent could chown a file (CAP_CHOWN held)")
	}
}
