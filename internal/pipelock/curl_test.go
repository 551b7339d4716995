package pipelock

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
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

// TestCurlStreamedUpload: curl (which sends "Expect: 100-continue" for
// bodies this large) uploads 8 MiB with no cap set: a clean body reaches
// the origin whole; one with a credential 5 MiB in gets pipelock's 403
// naming the rule, and the origin's read of it fails.
func TestCurlStreamedUpload(t *testing.T) {
	curl := dockertest.Tool(t, "curl")
	r := newRig(t, rigOpts{})
	gh := secrettest.Kinds()[1].Make(secrettest.New(65))
	for i, c := range []struct{ body, want string }{
		{text(8 << 20), " 200"},
		{text(5<<20) + gh + "\n" + text(3<<20), "(rule: dlp.github)"},
	} {
		data := filepath.Join(t.TempDir(), "upload.txt")
		if err := os.WriteFile(data, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{r.httpsURL(fmt.Sprintf("/curl/%d", i)), r.httpURL(fmt.Sprintf("/curl/%d", i))} {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			out, err := exec.CommandContext(ctx, curl, "-sS", "-i", "--http1.1", "--max-time", "60", "--proxy", r.proxy.URL,
				"--cacert", r.caPath, "--data-binary", "@"+data, u).CombinedOutput()
			cancel()
			if err != nil || !strings.Contains(string(out), c.want) {
				t.Fatalf("curl %s: %v\n%.1500s", u, err, out)
			}
		}
		for _, g := range r.origin.waitFor(t, fmt.Sprintf("/curl/%d", i)) {
			if complete := g.BodyErr == nil && g.Body == c.body; complete != (c.want == " 200") {
				t.Fatalf("origin got %d of %d bytes (read error %v)", len(g.Body), len(c.body), g.BodyErr)
			}
		}
	}
}
