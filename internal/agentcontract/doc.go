// Package agentcontract is what the agent container is told about the
// sidecars: the git-gate URL and the gitconfig that sends every declared
// upstream to it, the supervise MCP endpoint and its registration command,
// and how long a supervise call is held (and so how long Claude Code must
// wait for one).
//
// It is a leaf (layout and sidecarconfig only) so that the CLI, which
// provisions the agent, and the daemons, which serve it, agree on these
// values without the CLI linking any daemon.
package agentcontract
