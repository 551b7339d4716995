package supervise

import (
	"fmt"

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
