package pipelock

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// TestCurlRefusedLargeUpload: curl uploading 8 MiB over the body cap, inside
// an intercepted tunnel and as a plain-http proxy request, with curl's own
// "Expect: 100-continue" and without it, gets pipelock's 403 saying why,
// not a reset or an empty reply.
func TestCurlRefusedLargeUpload(t *testing.T) {
	curl := dockertest.Tool(t, "curl")
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{MaxBodyBytes: 1 << 20}})
	data := filepath.Join(t.TempDir(), "upload.bin")
	if err := os.WriteFile(data, bytes.Repeat([]byte("x"), 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{r.httpsURL("/upload"), r.httpURL("/upload")} {
		for _, expect := range []string{"", "Expect:"} {
			args := []string{"-sS", "-i", "--http1.1", "--max-time", "60", "--proxy", r.proxy.URL,
				"--cacert", r.caPath, "--data-binary", "@" + data}
			if expect != "" {
				args = append(args, "-H", expect) // no 100-continue: the body is sent at once
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			out, err := exec.CommandContext(ctx, curl, append(args, u)...).CombinedOutput()
			cancel()
			if err != nil || !strings.Contains(string(out), " 403") || !strings.Contains(string(out), "blocked: ") ||
				!strings.Contains(string(out), RuleBodyTooLarge) {
				t.Errorf("curl %s (header %q): %v\n%.1500s", u, expect, err, out)
			}
		}
	}
}
