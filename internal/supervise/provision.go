package supervise

import (
	"fmt"
	"strconv"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// ServerName is the name the agent knows the MCP server by.
const ServerName = "supervise"

// URL is the MCP endpoint as the agent reaches it inside the bottle: the
// "supervise" alias on the internal network (both shapes), which is in the
// agent's NO_PROXY (DESIGN §2.4).
func URL() string { return fmt.Sprintf("http://supervise:%d/", layout.SupervisePort) }

// RegisterCommand is the command provisioning runs in the agent container
// (as the agent user) to register the server with Claude Code. User scope,
// so it applies whatever directory the agent works in.
func RegisterCommand() []string {
	return []string{"claude", "mcp", "add", "--scope", "user", "--transport", "http", ServerName, URL()}
}

// AgentEnv is environment provisioning should give the agent so that Claude
// Code's own MCP tool timeout (MCP_TOOL_TIMEOUT, milliseconds) never cuts a
// call shorter than the daemon's hold: the call then always ends with the
// decision or with "pending" and an id, never with a client-side error.
// hold is the daemon's --hold (0 means the default 45 s).
func AgentEnv(hold time.Duration) map[string]string {
	if hold <= 0 {
		hold = DefaultHold
	}
	return map[string]string{"MCP_TOOL_TIMEOUT": strconv.FormatInt((hold + 75*time.Second).Milliseconds(), 10)}
}
