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

// Agent is how provisioning reaches a bottle's agent container: docker
// exec on the Docker Engine (DockerAgent), kubectl exec on a cluster
// (internal/kubelaunch), where nothing runs as root.
type Agent interface {
	// Name names the container in messages.
	Name() string
	// Exec runs argv as user ("" is the image's user) with the caller's
	// streams; a non-zero exit is an error.
	Exec(ctx context.Context, user string, s engine.Stdio, argv ...string) error
	// Output runs argv as user and returns its combined output, trimmed.
	// stdin may be nil.
	Output(ctx context.Context, user string, stdin io.Reader, argv ...string) (string, error)
	// Root reports whether commands may run as root in it.
	Root() bool
}

// DockerAgent is the agent container of a bottle on the Docker Engine.
type DockerAgent string

// Name implements Agent.
func (d DockerAgent) Name() string { return string(d) }

// Exec implements Agent.
func (d DockerAgent) Exec(ctx context.Context, user string, s engine.Stdio, argv ...string) error {
	return engine.Exec(ctx, engine.ExecSpec{Container: string(d), User: user, Stdio: s}, argv...)
}

// Output implements Agent.
func (d DockerAgent) Output(ctx context.Context, user string, stdin io.Reader, argv ...string) (string, error) {
	return engine.ExecOutput(ctx, string(d), user, stdin, argv...)
}

// Root implements Agent: docker exec -u root works in every container.
func (DockerAgent) Root() bool { return true }

// LookupAgentUser asks the container who its default user is.
func LookupAgentUser(ctx context.Context, container string) (AgentUser, error) {
	return LookupUser(ctx, DockerAgent(container))
}

// LookupUser asks the agent who its default user is.
func LookupUser(ctx context.Context, a Agent) (AgentUser, error) {
	out, err := a.Output(ctx, "", nil, "sh", "-c", `printf '%s\n%s\n' "$(id -un)" "$HOME"`)
	if err != nil {
		return AgentUser{}, err
	}
	parts := strings.SplitN(out, "\n", 2)
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return AgentUser{}, fmt.Errorf("in %s: cannot tell the agent user and home from %q", a.Name(), out)
	}
	return AgentUser{Name: parts[0], Home: parts[1]}, nil
}

// SystemPromptPath is where provisioning writes the agent's system prompt.
func SystemPromptPath(u AgentUser) string { return u.Home + "/.claude-bottle/system-prompt.md" }

// Provision makes the agent container ready: the first hop's CA in the
// system store, the gitconfig rewrite to the gate, the system prompt, the
// skills and the MCP registration.
func Provision(ctx context.Context, p *plan.Plan, userHome string, progress io.Writer) error {
	return ProvisionAgent(ctx, DockerAgent(layout.AgentContainer(p.Slug)), p, userHome, progress)
}

// ProvisionAgent is Provision through any Agent. Where nothing may run as
// root (Kubernetes), the CA is not added to the system bundle: it must be
// there already (the agent Pod builds its bundle at start), and this
// checks that it is.
func ProvisionAgent(ctx context.Context, c Agent, p *plan.Plan, userHome string, progress io.Writer) error {
	say := func(format string, a ...any) {
		if progress != nil {
			fmt.Fprintf(progress, "  "+format+"\n", a...)
		}
	}
	u, err := LookupUser(ctx, c)
	if err != nil {
		return err
	}

	if !c.Root() {
		say("checking the agent trusts the bottle's CA (%s)", p.AgentCA)
		if _, err := c.Output(ctx, u.Name, nil, "sh", "-c", trustedCA, "sh", p.AgentCA, SystemBundle); err != nil {
			return fmt.Errorf("the agent's CA bundle %s lacks the bottle's CA %s (the agent Pod builds that bundle when it starts): %w", SystemBundle, p.AgentCA, err)
		}
	} else if err := installCA(ctx, c, p, say); err != nil {
		return err
	}
	return provisionRest(ctx, c, u, p, userHome, say)
}

// SystemBundle is the CA bundle SSL_CERT_FILE, GIT_SSL_CAINFO and friends
// name in the agent (plan.AgentEnv).
const SystemBundle = "/etc/ssl/certs/ca-certificates.crt"

// trustedCA succeeds when the bundle $2 holds the certificate in $1 (its
// first base64 line is enough to tell).
const trustedCA = `grep -q "$(sed -n 2p "$1")" "$2"`

func installCA(ctx context.Context, c Agent, p *plan.Plan, say func(string, ...any)) error {
	say("trusting the bottle's CA (%s)", p.AgentCA)
	// Append to the bundle SSL_CERT_FILE and friends point at, and keep a
	// copy where update-ca-certificates would find it later. Running
	// update-ca-certificates itself rehashes every root and takes seconds
	// to minutes on a busy machine.
	script := `set -e
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
	if _, err := c.Output(ctx, "root", nil, "sh", "-c", script, "sh", p.AgentCA); err != nil {
		return fmt.Errorf("installing the CA: %w", err)
	}
	return nil
}

func provisionRest(ctx context.Context, c Agent, u AgentUser, p *plan.Plan, userHome string, say func(string, ...any)) error {

	if len(p.Gate.Remotes) > 0 {
		say("pointing git at the gate")
		cfg, err := agentcontract.AgentGitConfig(p.GitGateHost(), p.Gate.Remotes)
		if err != nil {
			return err
		}
		if _, err := c.Output(ctx, u.Name, strings.NewReader(cfg), "sh", "-c", `cat >> "$HOME/.gitconfig"`); err != nil {
			return fmt.Errorf("writing ~/.gitconfig: %w", err)
		}
	}

	if p.Agent.Prompt != "" {
		say("writing the system prompt")
		if _, err := c.Output(ctx, u.Name, strings.NewReader(p.Agent.Prompt+"\n"), "sh", "-c", `mkdir -p "$(dirname "$1")" && cat > "$1"`, "sh", SystemPromptPath(u)); err != nil {
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
		if _, err := c.Output(ctx, u.Name, nil, "sh", "-c", "command -v claude"); err == nil {
			say("registering the supervise MCP server")
			if _, err := c.Output(ctx, u.Name, nil, agentcontract.MCPRegisterCommand()...); err != nil {
				return fmt.Errorf("registering the MCP server: %w", err)
			}
		} else {
			say("no claude CLI in the image; skipping MCP registration")
		}
	}
	return nil
}
