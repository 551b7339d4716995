// Command claude-bottle runs AI coding agents inside Docker bottles.
package main

import (
	"os"

	"github.com/claude-bottle/claude-bottle/internal/cli"
)

func main() { os.Exit(cli.Execute()) }
