// Command build-images makes the project's container images on the local
// engine (what scripts/build-images.sh runs). Usage:
//
//	go run ./internal/images/cmd/build-images [--force] [image...]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/claude-bottle/claude-bottle/internal/images"
)

func main() {
	force := flag.Bool("force", false, "rebuild even when the inputs hash matches")
	root := flag.String("root", "", "source tree (default: found from the working directory)")
	bin := flag.String("bin-dir", "", "folder with prebuilt static claude-bottle-sidecar and claude-bottle-sidecar-init (default: go build them)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: build-images [--force] [--root DIR] [--bin-dir DIR] [image...]\n\nimages: %s (default: all)\n\n",
			strings.Join(images.Names(), ", "))
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := images.Ensure(ctx, images.Options{Root: *root, BinDir: *bin, Progress: os.Stdout, Force: *force}, flag.Args()...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
