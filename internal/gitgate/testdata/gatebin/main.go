// Command gatebin is a stand-in for cmd/claude-bottle-sidecar with only the
// git-gate commands, used by the integration tests when another package
// keeps the real binary from building (never under CI=true).
package main

import (
	"fmt"
	"os"

	"github.com/claude-bottle/claude-bottle/internal/gitgate"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gatebin git-gate|hook ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "git-gate":
		os.Exit(gitgate.Main(os.Args[2:]))
	case "hook":
		os.Exit(gitgate.HookMain(os.Args[2:]))
	}
	fmt.Fprintf(os.Stderr, "gatebin: unknown command %q\n", os.Args[1])
	os.Exit(2)
}
