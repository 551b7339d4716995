// Package upstream is the demo's fake upstream: an HTTPS API that checks
// the bearer token egress injects, a fake Anthropic Messages API (on the
// host ModelHost) that checks the model credential, and an ssh git server (real ssh from
// x/crypto/ssh, real git-upload-pack/git-receive-pack) holding one bare
// repository. It runs in the claude-bottle-upstream-test image, on a
// network only the bottle's sidecars join, and never talks to anything
// off the machine.
package upstream

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/sshgit"
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

// ModelHost is the name the fake Messages API answers to (the demo
// bottle's claude.base_url host).
const ModelHost = "model.demo.test"

// Config is where the upstream finds its keys and what it serves.
type Config struct {
	Dir   string // TLSCert, TLSKey, HostKey, AuthorizedKey
	Token string
	// ModelToken is the credential the fake Messages API accepts; empty
	// serves no model API.
	ModelToken string
	RepoRoot   string
	HTTPS      string // listen address, e.g. ":443"
	SSH        string // listen address, e.g. ":22"
	Log        *slog.Logger
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
	sshCfg, err := sshgit.Config(filepath.Join(c.Dir, HostKey), filepath.Join(c.Dir, AuthorizedKey), nil)
	if err != nil {
		return err
	}
	sshLn, err := net.Listen("tcp", c.SSH)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: c.HTTPS, Handler: hostMux(c), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() {
		errc <- srv.ListenAndServeTLS(filepath.Join(c.Dir, TLSCert), filepath.Join(c.Dir, TLSKey))
	}()
	git := &sshgit.Server{Root: c.RepoRoot, Config: sshCfg, Log: c.Log}
	go func() { errc <- git.Serve(ctx, sshLn) }()
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

// hostMux sends requests for ModelHost to the model API and the rest to
// the demo API.
func hostMux(c Config) http.Handler {
	api := apiHandler(c.Token, c.Log)
	if c.ModelToken == "" {
		return api
	}
	model := ModelHandler(c.ModelToken, c.Log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if strings.EqualFold(host, ModelHost) {
			model.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
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
