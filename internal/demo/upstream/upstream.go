// Package upstream is the demo's fake upstream: an HTTPS API that checks
// the bearer token egress injects, and an ssh git server (real ssh from
// x/crypto/ssh, real git-upload-pack/git-receive-pack) holding one bare
// repository. It runs in the claude-bottle-upstream-test image, on a
// network only the bottle's sidecars join, and never talks to anything
// off the machine.
package upstream

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Files the upstream reads from its config folder.
const (
	TLSCert       = "tls.crt"
	TLSKey        = "tls.key"
	HostKey       = "ssh_host_key"
	AuthorizedKey = "authorized_key"
)

// RepoRoot holds the bare repositories; RepoPath is the demo's.
const (
	RepoRoot = "/srv/git"
	RepoPath = RepoRoot + "/demo.git"
)

// TokenEnv names the variable holding the token the API accepts.
const TokenEnv = "DEMO_API_TOKEN"

// Config is where the upstream finds its keys and what it serves.
type Config struct {
	Dir      string // TLSCert, TLSKey, HostKey, AuthorizedKey
	Token    string
	RepoRoot string
	HTTPS    string // listen address, e.g. ":443"
	SSH      string // listen address, e.g. ":22"
	Log      *slog.Logger
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

// Seed makes the bare repository with one commit on main, unless it exists.
func Seed(repo string) error {
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); err == nil {
		return nil
	}
	work, err := os.MkdirTemp("", "seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("# demo\n\nThe claude-bottle demo repository.\n"), 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "GIT_AUTHOR_NAME=upstream", "GIT_AUTHOR_EMAIL=upstream@demo.test",
		"GIT_COMMITTER_NAME=upstream", "GIT_COMMITTER_EMAIL=upstream@demo.test")
	steps := [][]string{
		{"init", "--quiet", "--bare", "-b", "main", repo},
		{"-C", work, "init", "--quiet", "-b", "main"},
		{"-C", work, "add", "README.md"},
		{"-C", work, "commit", "--quiet", "-m", "initial commit"},
		{"-C", work, "push", "--quiet", repo, "main"},
	}
	for _, s := range steps {
		c := exec.Command("git", s...)
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	return nil
}

// Run serves HTTPS and ssh until ctx ends.
func Run(ctx context.Context, c Config) error {
	if c.Token == "" {
		return fmt.Errorf("%s is empty: the API needs the token it accepts", TokenEnv)
	}
	if err := Seed(filepath.Join(c.RepoRoot, "demo.git")); err != nil {
		return err
	}
	hostKeyPEM, err := os.ReadFile(filepath.Join(c.Dir, HostKey))
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(hostKeyPEM)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(c.Dir, HostKey), err)
	}
	authData, err := os.ReadFile(filepath.Join(c.Dir, AuthorizedKey))
	if err != nil {
		return err
	}
	authorized, _, _, _, err := ssh.ParseAuthorizedKey(authData)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(c.Dir, AuthorizedKey), err)
	}
	sshCfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if subtle.ConstantTimeCompare(key.Marshal(), authorized.Marshal()) == 1 {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	sshCfg.AddHostKey(signer)

	sshLn, err := net.Listen("tcp", c.SSH)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: c.HTTPS, Handler: apiHandler(c.Token, c.Log), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() {
		errc <- srv.ListenAndServeTLS(filepath.Join(c.Dir, TLSCert), filepath.Join(c.Dir, TLSKey))
	}()
	go func() { errc <- serveSSH(ctx, sshLn, sshCfg, c.RepoRoot, c.Log) }()
	c.Log.Info("upstream ready", "https", c.HTTPS, "ssh", c.SSH)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sshLn.Close()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	return err
}

// apiHandler: GET /v1/whoami answers 200 only with the right bearer token;
// POST /v1/notes logs what it received (the demo checks a secret never
// arrives). Every request is logged.
func apiHandler(token string, log *slog.Logger) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authorized := subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) == 1
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		log.Info("request", "method", r.Method, "host", r.Host, "path", r.URL.Path, "authorized", authorized, "body", string(body))
		switch {
		case r.URL.Path == "/v1/whoami" && r.Method == http.MethodGet:
			if !authorized {
				http.Error(w, `{"authorized":false}`, http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"authorized":true,"user":"demo-agent"}`)
		case r.URL.Path == "/v1/notes" && r.Method == http.MethodPost:
			if !authorized {
				http.Error(w, `{"authorized":false}`, http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"stored":%d}`+"\n", len(body))
		default:
			http.NotFound(w, r)
		}
	})
}

func serveSSH(ctx context.Context, ln net.Listener, cfg *ssh.ServerConfig, root string, log *slog.Logger) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Minute))
			sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
			if err != nil {
				log.Warn("ssh handshake", "remote", conn.RemoteAddr().String(), "err", err.Error())
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
				go session(ch, creqs, root, log)
			}
		}()
	}
}

// session runs one git command for a client.
func session(ch ssh.Channel, reqs <-chan *ssh.Request, root string, log *slog.Logger) {
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
			verb, repo, err := ParseGitCommand(p.Command, root)
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
				log.Info("git", "command", verb, "repo", repo, "exit", code)
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
