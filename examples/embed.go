// Package examples embeds the example bottles and agents: `claude-bottle
// init` copies them into ~/.claude-bottle, the demo uses them, and the
// tests load every one of them.
package examples

import "embed"

// FS holds bottles/*.md and agents/*.md.
//
//go:embed bottles/*.md agents/*.md
var FS embed.FS
