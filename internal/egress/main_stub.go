package egress

import (
	"fmt"
	"os"
)

// Main is a placeholder until the daemon lands; the helper building this
// package replaces this file.
func Main(args []string) int {
	fmt.Fprintln(os.Stderr, "egress: not built yet")
	return 2
}
