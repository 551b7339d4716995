// Package fakeclaude holds the test agent image's stand-in for Claude
// Code: claude.js, a Node program that behaves like the real CLI on what
// claude-bottle relies on (credential variables, ANTHROPIC_BASE_URL, the
// Messages API through HTTPS_PROXY with Node's TLS and
// NODE_EXTRA_CA_CERTS, the permission flags and the first-run state).
// internal/images copies it into the claude-bottle-agent-test build as
// dist/claude. docs/CLAUDE-CODE.md says what it checks and why.
package fakeclaude

import _ "embed"

// Script is claude.js.
//
//go:embed claude.js
var Script []byte

// ContextPath is where the agent-test Dockerfile expects the script in its
// build context.
const ContextPath = "dist/claude"
