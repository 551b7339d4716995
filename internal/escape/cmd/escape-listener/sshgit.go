package main

import (
	"context"
	"net"

	"golang.org/x/crypto/ssh"

	"github.com/claude-bottle/claude-bottle/internal/sshgit"
)

// serveSSHGit is the ssh git upstream (internal/sshgit): one client key, the
// real git-receive-pack / git-upload-pack on bare repositories under root.
// Every exec and every refused key is logged, so a test sees what the gate
// sent.
func serveSSHGit(addr, hostKeyFile, authKeyFile, root string) {
	cfg, err := sshgit.Config(hostKeyFile, authKeyFile, func(c ssh.ConnMetadata) {
		log.Info("hit", "proto", "ssh-auth-refused", "from", c.RemoteAddr().String(), "data", c.User())
	})
	if err != nil {
		fatal("ssh config", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fatal("ssh listen", err)
	}
	s := &sshgit.Server{Root: root, Config: cfg, Log: log, OnExec: func(remote, command string) {
		log.Info("hit", "proto", "ssh-exec", "from", remote, "data", command)
	}}
	fatal("ssh serve", s.Serve(context.Background(), ln))
}
