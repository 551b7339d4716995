// Command claude-bottle-testupstream is the demo's fake upstream (HTTPS
// API, fake Messages API, ssh git server), run in the claude-bottle-upstream-test image.
// Test and demo use only: it serves on the bottle's private upstream
// network and never reaches off the machine.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/claude-bottle/claude-bottle/internal/demo/upstream"
)

func main() {
	dir := flag.String("dir", "/etc/demo-upstream", "folder with tls.crt, tls.key, ssh_host_key, authorized_key")
	https := flag.String("https", ":443", "HTTPS listen address")
	sshAddr := flag.String("ssh", ":22", "ssh listen address")
	root := flag.String("repos", upstream.RepoRoot, "folder of bare repositories")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := upstream.Run(ctx, upstream.Config{Dir: *dir, Token: os.Getenv(upstream.TokenEnv), ModelToken: os.Getenv(upstream.ModelTokenEnv), RepoRoot: *root, HTTPS: *https, SSH: *sshAddr, Log: log})
	if err != nil {
		log.Error("upstream stopped", "err", err.Error())
		os.Exit(1)
	}
}
