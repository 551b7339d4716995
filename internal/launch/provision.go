package launch

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/agentcontract"
	"github.com/claude-bottle/claude-bottle/internal/claudecode"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// Workspace is where --cwd copies the work tree in the agent container.
const Workspace = claudecode.Workspace

// AgentUser is who the agent runs as and where its home is.
type AgentUser struct{ Name, Home string }

// execIn runs a command in a container. stdin may be nil.
func execIn(ctx context.Context, container, user string, stdin io.Reader, argv ...string) (string, error) {
	return engine.ExecOutput(ctx, container, user, stdin, argv...)
}

// LookupAgentUser asks the container who its default user is.
func LookupAgentUser(ctx context.Context, container string) (AgentUser, error) {
	out, err := execIn(ctx, container, "", nil, "sh", "-c", `printf '%s\n%s\n' "$(id -un)" "$HOME"`)
	if err != nil {
		return AgentUser{}, err
	}
	parts := strings.SplitN(out, "\n", 2)
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return AgentUser{}, fmt.Errorf("in %s: cannot tell the agent user and home from %q", container, out)
	}
	return AgentUser{Name: parts[0], Home: parts[1]}, nil
}

// SystemPromptPath is where provisioning writes the agent's system prompt.
func SystemPromptPath(u AgentUser) string { return u.Home + "/.claude-bottle/system-prompt.md" }

// Provision makes the agent container ready: the first hop's CA in the
// system store, the gitconfig rewrite to the gate, the system prompt, the
// skills and the MCP registration.
func Provision(ctx context.Context, p *plan.Plan, userHome string, progress io.Writer) error {
	c := layout.AgentContainer(p.Slug)
	say := func(format string, a ...any) {
		if progress != nil {
			fmt.Fprintf(progress, "  "+format+"\n", a...)
		}
	}
	u, err := LookupAgentUser(ctx, c)
	if err != nil {
		return err
	}

	say("trusting the bottle's CA (%s)", p.AgentCA)
	// Append to the bundle SSL_CERT_FILE and friends point at, and keep a
	// copy where update-ca-certificates would find it later. Running
	// update-ca-certificates itself rehashes every root and takes seconds
	// to minutes on a busy machine.
	installCA := `set -e
ca="$1"
bundle=/etc/ssl/certs/ca-certificates.crt
mkdir -p /etc/ssl/certs
if ! grep -q "$(sed -n 2p "$ca")" "$bundle" 2>/dev/null; then
  cat "$ca" >> "$bundle"
fi
if [ -d /usr/local/share/ca-certificates ]; then
  cp "$ca" /usr/local/share/ca-certificates/claude-bottle.crt
fi
grep -q "$(sed -n 2p "$ca")" "$bundle"`
	if _, err := execIn(ctx, c, "root", nil, "sh", "-c", installCA, "sh", p.AgentCA); err != nil {
		return fmt.Errorf("installing the CA: %w", err)
	}

	if len(p.Gate.Remotes) > 0 {
		say("pointing git at the gate")
		cfg, err := agentcontract.AgentGitConfig(p.GitGateHost(), p.Gate.Remotes)
		if err != nil {
			return err
		}
		if _, err := execIn(ctx, c, u.Name, strings.NewReader(cfg), "sh", "-c", `cat >> "$HOME/.gitconfig"`); err != nil {
			return fmt.Errorf("writing ~/.gitconfig: %w", err)
		}
	}

	if p.Agent.Prompt != "" {
		say("writing the system prompt")
		if _, err := execIn(ctx, c, u.Name, strings.NewReader(p.Agent.Prompt+"\n"), "sh", "-c", `mkdir -p "$(dirname "$1")" && cat > "$1"`, "sh", SystemPromptPath(u)); err != nil {
			return fmt.Errorf("writing the system prompt: %w", err)
		}
	}

	for i, skill := range p.Agent.Skills {
		src := filepath.Join(userHome, ".claude", "skills", skill)
		if st, err := os.Stat(src); err != nil || !st.IsDir() {
			return fmt.Errorf("%s: key skills[%d]: no folder %s to copy; create the skill there or remove it from the agent", p.Agent.File, i, src)
		}
		say("copying skill %s", skill)
		dst := u.Home + "/.claude/skills/" + skill
		if _, err := copyTree(ctx, c, u, src, dst, nil); err != nil {
			return fmt.Errorf("copying skill %s: %w", skill, err)
		}
	}

	say("writing Claude Code's first-run state (~/.claude.json)")
	if err := writeFirstRun(ctx, c, u, p); err != nil {
		return err
	}

	if p.Has(layout.DaemonSupervise) {
		if _, err := execIn(ctx, c, u.Name, nil, "sh", "-c", "command -v claude"); err == nil {
			say("registering the supervise MCP server")
			if _, err := execIn(ctx, c, u.Name, nil, agentcontract.MCPRegisterCommand()...); err != nil {
				return fmt.Errorf("registering the MCP server: %w", err)
			}
		} else {
			say("no claude CLI in the image; skipping MCP registration")
		}
	}
	return nil
}
