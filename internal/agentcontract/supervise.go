package agentcontract

import (
	"fmt"
	"strconv"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// SuperviseServerName is the name the agent knows the MCP server by.
const SuperviseServerName = "supervise"

// SuperviseURL is the MCP endpoint as the agent reaches it inside the
// bottle: the "supervise" alias on the internal network (both shapes),
// which is in the agent's NO_PROXY (DESIGN §2.4).
func SuperviseURL() string { return fmt.Sprintf("http://supervise:%d/", layout.SupervisePort) }

// MCPRegisterCommand is the command provisioning runs in the agent
// container (as the agent user) to register the server with Claude Code.
// User scope, so it applies whatever directory the agent works in.
func MCPRegisterCommand() []string {
	return []string{"claude", "mcp", "add", "--scope", "user", "--transport", "http", SuperviseServerName, SuperviseURL()}
}

// DefaultHold is how long supervise holds a tool call before it returns
// "pending": under the 60 s request timeout common to MCP clients.
const DefaultHold = 45 * time.Second

// MCPToolTimeoutEnv names the variable that sets Claude Code's own MCP tool
// timeout, in milliseconds.
const MCPToolTimeoutEnv = "MCP_TOOL_TIMEOUT"

// MCPToolTimeout is the value of MCPToolTimeoutEnv for a daemon holding
// calls for hold (0 means DefaultHold): long enough that Claude Code never
// cuts a call shorter than the hold, so a call always ends with the
// decision or with "pending" and an id, never with a client-side error.
func MCPToolTimeout(hold time.Duration) string {
	if hold <= 0 {
		hold = DefaultHold
	}
	return strconv.FormatInt((hold + 75*time.Second).Milliseconds(), 10)
}
