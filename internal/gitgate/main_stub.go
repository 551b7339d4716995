package gitgate

import (
	"fmt"
	"os"
)

// Main is a placeholder until the daemon lands; the helper building this
// package replaces this file.
func Main(args []string) int {
	fmt.Fprintln(os.Stderr, "gitgate: not built yet")
	return 2
}

// HookMain is a placeholder; see Main.
func HookMain(args []string) int { return Main(args) }
