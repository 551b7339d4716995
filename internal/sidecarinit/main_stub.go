package sidecarinit

import (
	"fmt"
	"os"
)

// Main is a placeholder until the daemon lands; the helper building this
// package replaces this file.
func Main(args []string) int {
	fmt.Fprintln(os.Stderr, "sidecarinit: not built yet")
	return 2
}

// HealthMain is a placeholder; see Main.
func HealthMain(args []string) int { return Main(args) }
