// Command claude-bottle-sidecar-init is the bundle's init and the sidecars'
// healthcheck without the daemons linked in. Every process of the full
// claude-bottle-sidecar binary pays the DLP regex engine's package init
// (go-re2 compiles its wasm module: ~0.45 s CPU and ~33 MB RSS here), and a
// compose healthcheck starts one such process per interval. This binary
// links only internal/sidecarinit: ~3 MB RSS, a few ms per healthcheck.
//
//	claude-bottle-sidecar-init [init]        = claude-bottle-sidecar init
//	claude-bottle-sidecar-init health [d]    = claude-bottle-sidecar health [d]
//
// The daemons it starts are "<dir>/claude-bottle-sidecar <daemon>", next
// to this binary (or $CLAUDE_BOTTLE_SIDECAR_BIN).
package main

import (
	"os"

	"github.com/claude-bottle/claude-bottle/internal/sidecarinit"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "health" {
		os.Exit(sidecarinit.HealthMain(args[1:]))
	}
	if len(args) > 0 && args[0] == "init" {
		args = args[1:]
	}
	os.Exit(sidecarinit.Main(args))
}
