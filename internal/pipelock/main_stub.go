package pipelock

import (
	"fmt"
	"os"
)

// Main is a placeholder until the daemon lands; the helper building this
// package replaces this file.
func Main(args []string) int {
	fmt.Fprintln(os.Stderr, "pipelock: not built yet")
	return 2
}
