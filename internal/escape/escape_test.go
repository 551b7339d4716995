package escape

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/images"
)

// TestEscape brings one bottle up per shape and runs every attack against
// it from inside the agent container. Each attack must fail for the
// expected reason; one that gets anything out fails with what got out.
func TestEscape(t *testing.T) {
	dockertest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	if err := images.Ensure(ctx, images.Options{Progress: testWriter{t}}, images.Sidecars, images.AgentTest); err != nil {
		t.Fatal(err)
	}
	w := setupWorld(t, ctx)
	shapes := []string{"legacy", "bundle"}
	if s := os.Getenv("ESCAPE_SHAPES"); s != "" { // for working on one shape
		shapes = strings.Split(s, ",")
	}
	// The shapes run side by side: each has its own bottle, outside
	// listener and host listeners; the echo and git upstreams are shared
	// (echo hits are told apart by the bottle's pipelock address, pushes
	// go to per-shape branches).
	t.Run("shapes", func(t *testing.T) {
		for _, shape := range shapes {
			t.Run(shape, func(t *testing.T) {
				t.Parallel()
				b := startBottle(t, ctx, w, shape, w.gitYAML())
				b.toolsPresent(t)
				t.Run("1-offAllowlist", b.attackOffAllowlist)
				t.Run("2-addresses", b.attackAddresses)
				t.Run("3-secretExfil", b.attackSecretExfil)
				t.Run("3-transforms", b.attackTransforms)
				t.Run("4-dnsExfil", b.attackDNSExfil)
				t.Run("5-git", b.attackGit)
				t.Run("5-gitHidden", b.attackGitHidden)
				t.Run("8-superviseFlood", b.attackSuperviseFlood)
				t.Run("6-network", b.attackNetwork)
				t.Run("6-bypasses", b.attackBypasses)
				t.Run("6-sidecarSecrets", b.attackSidecarSecrets)
				t.Run("6-capabilities", b.attackCapabilities)
				t.Run("7-injectedCredential", b.attackInjectedCredential)
				t.Run("7-injectedHeader", b.attackInjectedHeader)
				t.Run("15-2-statusLine", b.attackStatusLine)
				t.Run("15-2-injectedAsSecret", b.attackInjectedAsSecret)
				t.Run("15-3-method", b.attackMethod)
				t.Run("15-6-modelHost", b.attackModelHost)
				t.Run("15-7-pathAllowlistDirect", b.attackPathAllowlistDirect)
				t.Run("15-8-routePort", b.attackRoutePort)
				t.Run("15-9-logEscape", b.attackLogEscape)
			})
		}
	})
}

// toolsPresent: an attack that fails because a tool is missing proves
// nothing, so the tools are checked first.
func (b *bottle) toolsPresent(t *testing.T) {
	out, _, code := b.run(t, `for c in curl git dig ssh nc getent openssl iconv; do command -v $c >/dev/null || echo "missing $c"; done`)
	if code != 0 || out != "" {
		t.Fatalf("the agent image lacks tools the attacks need: %s (exit %d)", out, code)
	}
}
