package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// serveSSHGit is a small ssh git upstream: it accepts one client key and
// runs the real git-receive-pack / git-upload-pack on bare repositories
// under root. Every exec is logged, so a test sees what the gate sent.
func serveSSHGit(addr, hostKeyFile, authKeyFile, root string) {
	hk, err := os.ReadFile(hostKeyFile)
	if err != nil {
		fatal("ssh host key", err)
	}
	signer, err := ssh.ParsePrivateKey(hk)
	if err != nil {
		fatal("ssh host key", err)
	}
	ak, err := os.ReadFile(authKeyFile)
	if err != nil {
		fatal("ssh authorized key", err)
	}
	allowed, _, _, _, err := ssh.ParseAuthorizedKey(ak)
	if err != nil {
		fatal("ssh authorized key", err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(k.Marshal(), allowed.Marshal()) {
			return nil, nil
		}
		log.Info("hit", "proto", "ssh-auth-refused", "from", c.RemoteAddr().String(), "data", c.User())
		return nil, fmt.Errorf("unknown key")
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fatal("ssh listen", err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go sshConn(c, cfg, root)
	}
}

func sshConn(c net.Conn, cfg *ssh.ServerConfig, root string) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for r := range creqs {
				if r.Type != "exec" || len(r.Payload) < 4 {
					_ = r.Reply(false, nil)
					continue
				}
				cmdline := string(r.Payload[4:])
				log.Info("hit", "proto", "ssh-exec", "from", c.RemoteAddr().String(), "data", cmdline)
				prog, arg, _ := strings.Cut(cmdline, " ")
				if prog != "git-receive-pack" && prog != "git-upload-pack" {
					_ = r.Reply(false, nil)
					return
				}
				repo := filepath.Join(root, filepath.Clean("/"+strings.Trim(arg, `'"`)))
				_ = r.Reply(true, nil)
				cmd := exec.Command(prog, repo)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				status := 0
				if err := cmd.Run(); err != nil {
					status = 1
					if ee, ok := err.(*exec.ExitError); ok {
						status = ee.ExitCode()
					}
				}
				_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ S uint32 }{uint32(status)}))
				return
			}
		}()
	}
}
