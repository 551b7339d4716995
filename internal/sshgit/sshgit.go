// Package sshgit is a small ssh git server for the demo's fake upstream and
// the escape suite's listener: real ssh (x/crypto/ssh) with one authorized
// client key, and the real git-upload-pack / git-receive-pack on bare
// repositories under a root. It is a test upstream, not a hardened server.
package sshgit

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Server serves git over ssh.
type Server struct {
	Root   string // bare repositories live under it
	Config *ssh.ServerConfig
	Log    *slog.Logger
	// OnExec, if set, sees every exec request before it is checked (the
	// escape suite logs what the gate sent).
	OnExec func(remote, command string)
}

// Config is an ssh server config with hostKeyFile as its host key that
// accepts only the public key in authorizedKeyFile (authorized_keys
// format, first key). onRefused, if set, sees every refused attempt.
func Config(hostKeyFile, authorizedKeyFile string, onRefused func(ssh.ConnMetadata)) (*ssh.ServerConfig, error) {
	hostKeyPEM, err := os.ReadFile(hostKeyFile)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(hostKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hostKeyFile, err)
	}
	authData, err := os.ReadFile(authorizedKeyFile)
	if err != nil {
		return nil, err
	}
	authorized, _, _, _, err := ssh.ParseAuthorizedKey(authData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", authorizedKeyFile, err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if subtle.ConstantTimeCompare(key.Marshal(), authorized.Marshal()) == 1 {
				return &ssh.Permissions{}, nil
			}
			if onRefused != nil {
				onRefused(meta)
			}
			return nil, errors.New("key not authorized")
		},
	}
	cfg.AddHostKey(signer)
	return cfg, nil
}

// Serve accepts connections on ln until ctx ends (nil) or ln fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go s.conn(conn)
	}
}

func (s *Server) conn(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Minute))
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.Config)
	if err != nil {
		s.Log.Warn("ssh handshake", "remote", conn.RemoteAddr().String(), "err", err.Error())
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
			return
		}
		go s.session(ch, creqs, conn.RemoteAddr().String())
	}
}

// session runs one git command for a client.
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request, remote string) {
	defer ch.Close()
	var env []string
	var once sync.Once
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL" {
				env = append(env, "GIT_PROTOCOL="+kv.Value)
			}
			_ = req.Reply(true, nil)
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				_ = req.Reply(false, nil)
				return
			}
			if s.OnExec != nil {
				s.OnExec(remote, p.Command)
			}
			verb, repo, err := ParseGitCommand(p.Command, s.Root)
			if err != nil {
				_ = req.Reply(true, nil)
				fmt.Fprintln(ch.Stderr(), err)
				exit(ch, 1)
				return
			}
			_ = req.Reply(true, nil)
			once.Do(func() {
				cmd := exec.Command(verb, repo)
				cmd.Env = append(os.Environ(), env...)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				code := 0
				if err := cmd.Run(); err != nil {
					code = 1
					var ee *exec.ExitError
					if errors.As(err, &ee) {
						code = ee.ExitCode()
					}
				}
				s.Log.Info("git", "command", verb, "repo", repo, "exit", code)
				exit(ch, code)
			})
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

func exit(ch ssh.Channel, code int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	_, _ = ch.SendRequest("exit-status", false, b[:])
}

// ParseGitCommand parses the command an ssh git client sends:
// "git-upload-pack '/path'" or "git-receive-pack '/path'" (the quotes are
// optional). The path must be a clean absolute path under root.
func ParseGitCommand(cmd, root string) (verb, repo string, err error) {
	verb, arg, ok := strings.Cut(cmd, " ")
	if !ok {
		return "", "", fmt.Errorf("ssh command %q: want git-upload-pack or git-receive-pack and a path", cmd)
	}
	switch verb {
	case "git-upload-pack", "git-receive-pack":
	default:
		return "", "", fmt.Errorf("ssh command %q: only git-upload-pack and git-receive-pack are served", verb)
	}
	arg = strings.TrimSpace(arg)
	if len(arg) >= 2 && arg[0] == '\'' && arg[len(arg)-1] == '\'' {
		arg = arg[1 : len(arg)-1]
	}
	if strings.ContainsAny(arg, "'\\\x00\n\r") || !strings.HasPrefix(arg, "/") {
		return "", "", fmt.Errorf("ssh command %q: the path must be absolute and unquoted-safe", cmd)
	}
	clean := filepath.Clean(arg)
	if clean != arg || !strings.HasPrefix(clean, strings.TrimSuffix(root, "/")+"/") {
		return "", "", fmt.Errorf("ssh command %q: %q is not a repository under %s", cmd, arg, root)
	}
	return verb, clean, nil
}
