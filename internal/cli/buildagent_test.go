package cli

import (
	"net"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// TestBuildAgentWithoutRegistry: where the npm registry cannot be reached
// (here: a closed loopback port standing in for it), `build --agent` says
// so at once, names the registry and what to do, and builds nothing.
func TestBuildAgentWithoutRegistry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := "http://" + ln.Addr().String() + "/"
	ln.Close()
	t.Setenv("NPM_CONFIG_REGISTRY", reg)
	_, _, err = run(t, "build", "--agent")
	if err == nil {
		t.Fatal("build --agent succeeded with no registry")
	}
	for _, want := range []string{"npm registry", reg, "cannot be reached", images.ClaudeCodePackage, "image:", images.AgentTest} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, _, err := run(t, "build", "--agent", images.Sidecars); err == nil || !strings.Contains(err.Error(), "--agent builds "+images.Agent+" only") {
		t.Errorf("build --agent with an image name: %v", err)
	}
}

// The image build --agent makes is the one bottles use by default.
func TestAgentImageIsPlanDefault(t *testing.T) {
	if images.Agent != plan.DefaultAgentImage {
		t.Fatalf("images.Agent %q != plan.DefaultAgentImage %q", images.Agent, plan.DefaultAgentImage)
	}
}
