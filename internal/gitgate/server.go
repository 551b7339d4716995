package gitgate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// Bounds on the gate's work per connection.
const (
	requestTimeout  = 30 * time.Second // to send the request pkt-line
	fetchTimeout    = 5 * time.Minute  // one fetch from the upstream
	sessionTimeout  = 2 * time.Hour    // one upload-pack / receive-pack
	maxConnections  = 64
	uploadPackIdleS = "600" // git upload-pack --timeout (seconds of inactivity)
)

// Gate serves the declared remotes over git:// and keeps each one's bare
// mirror in step with its upstream.
type Gate struct {
	dataDir string
	exe     string // this binary, for the hooks
	log     *slog.Logger
	remotes map[string]*remote
	// ctlDir holds the ssh control sockets: a short private dir of its own,
	// since a socket path must fit in 108 bytes.
	ctlDir string
	sem    chan struct{}
	wg     sync.WaitGroup
}

type remote struct {
	cfg        sidecarconfig.GateRemote
	repo       string // bare mirror
	sshCommand string
	ctlPath    string
	hookEnv    string // GITGATE_HOOK_CONFIG=...
	// mu serialises the mirror's ref writers: fetches and pushes. A push
	// holds it for its whole receive-pack, so a fetch never races the ref
	// update that follows an accepted forward.
	mu sync.Mutex
}

// NewGate prepares the data dir: per remote a 0700 secrets dir with the
// pinned known_hosts and, if needed, a 0600 copy of the key; a bare mirror
// with the upstream as its remote and our pre-receive hook. Nothing is
// fetched yet: every client request fetches first.
func NewGate(cfg *sidecarconfig.Gate, cfgPath, dataDir, exe string, log *slog.Logger) (_ *Gate, err error) {
	g := &Gate{dataDir: dataDir, exe: exe, log: log, remotes: map[string]*remote{}, sem: make(chan struct{}, maxConnections)}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", dataDir, err)
	}
	secrets := filepath.Join(dataDir, ".gate")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", dataDir, err)
	}
	if err := os.Chmod(secrets, 0o700); err != nil {
		return nil, err
	}
	// ssh control sockets: in $TMPDIR (short paths); if that is not
	// writable (a read-only root), in the data dir if the path fits;
	// otherwise no multiplexing.
	ctl, err := os.MkdirTemp("", "gitgate-ssh-")
	if err != nil {
		ctl = filepath.Join(secrets, "ctl")
		if len(ctl) > 90 || os.MkdirAll(ctl, 0o700) != nil {
			log.Warn("no directory for ssh control sockets; each fetch and push opens its own ssh connection", "err", err.Error())
			ctl = ""
		}
	}
	g.ctlDir = ctl
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	for i, rc := range cfg.Remotes {
		key := fmt.Sprintf("%s: remotes[%d]", cfgPath, i)
		if _, err := parseSSHUpstream(rc.Upstream); err != nil {
			return nil, fmt.Errorf("%s.upstream: %w", key, err)
		}
		for j, p := range rc.PushBranches {
			if err := ValidatePattern(p); err != nil {
				return nil, fmt.Errorf("%s.push_branches[%d]: %w", key, j, err)
			}
		}
		if rc.IdentityFile == "" {
			return nil, fmt.Errorf("%s.identity_file: must be set (the key the gate uses for %s)", key, rc.Upstream)
		}
		alias := "git-gate-" + rc.Name
		kh, err := knownHostsLines(alias, rc.KnownHostKey)
		if err != nil {
			return nil, fmt.Errorf("%s.known_host_key: %w", key, err)
		}
		rdir := filepath.Join(secrets, rc.Name)
		if err := os.MkdirAll(rdir, 0o700); err != nil {
			return nil, err
		}
		khPath := filepath.Join(rdir, "known_hosts")
		if err := fileio.WriteFileAtomic(khPath, []byte(kh), 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", khPath, err)
		}
		idPath, err := prepareIdentity(rc.IdentityFile, rdir, "identity")
		if err != nil {
			return nil, fmt.Errorf("%s.identity_file: %w", key, err)
		}
		r := &remote{cfg: rc, repo: filepath.Join(dataDir, rc.Name+".git")}
		if ctl != "" {
			r.ctlPath = filepath.Join(ctl, fmt.Sprintf("r%d", i))
		}
		r.sshCommand = sshCommand(idPath, khPath, alias, r.ctlPath)
		hc, _ := json.Marshal(hookConfig{
			Name: rc.Name, Upstream: rc.Upstream, SSHCommand: r.sshCommand,
			Policy: Policy{PushBranches: rc.PushBranches, AllowForcePush: rc.AllowForcePush, AllowDelete: rc.AllowDelete},
		})
		r.hookEnv = hookEnvVar + "=" + string(hc)
		if err := g.initMirror(r); err != nil {
			return nil, fmt.Errorf("%s: preparing mirror %s: %w", key, r.repo, err)
		}
		g.remotes[rc.Name] = r
	}
	return g, nil
}

// Close stops the ssh masters and removes their sockets.
func (g *Gate) Close() {
	if g.ctlDir == "" {
		return
	}
	for _, r := range g.remotes {
		if r.ctlPath == "" {
			continue
		}
		if _, err := os.Stat(r.ctlPath); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = exec.CommandContext(ctx, "ssh", "-F", "/dev/null", "-o", "ControlPath="+r.ctlPath, "-O", "exit", "git-gate-"+r.cfg.Name).Run()
		cancel()
	}
	_ = os.RemoveAll(g.ctlDir)
}

// baseEnv is the environment of every git the gate runs: nothing from the
// user's or system's git config (an insteadOf there could redirect the
// upstream), no prompts, ssh only.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || k == hookEnvVar || k == decisionEnvVar {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ALLOW_PROTOCOL=ssh",
	)
}

func (r *remote) gitEnv() []string {
	return append(baseEnv(), "GIT_SSH_COMMAND="+r.sshCommand, "GIT_SSH_VARIANT=ssh")
}

func (g *Gate) initMirror(r *remote) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := baseEnv()
	if _, err := os.Stat(filepath.Join(r.repo, "HEAD")); err != nil {
		if _, err := runGit(ctx, env, "", "init", "--bare", "--quiet", r.repo); err != nil {
			return err
		}
	}
	// Rewritten on every start so a changed gate.json takes effect.
	sets := [][]string{
		{"remote.upstream.url", r.cfg.Upstream},
		{"remote.upstream.tagOpt", "--no-tags"},
		{"receive.fsckObjects", "true"},
		{"receive.denyDeleteCurrent", "false"},
		{"core.hooksPath", filepath.Join(r.repo, "hooks")},
		{"gc.auto", "0"}, // no background gc racing a push
		{"uploadpack.allowFilter", "true"},
	}
	for _, kv := range sets {
		if _, err := runGit(ctx, env, r.repo, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	if _, err := runGit(ctx, env, r.repo, "config", "--replace-all", "remote.upstream.fetch", "+refs/heads/*:refs/heads/*"); err != nil {
		return err
	}
	if _, err := runGit(ctx, env, r.repo, "config", "--add", "remote.upstream.fetch", "+refs/tags/*:refs/tags/*"); err != nil {
		return err
	}
	hooks := filepath.Join(r.repo, "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		return err
	}
	// Drop git's samples so the hooks dir says exactly what runs.
	if ents, err := os.ReadDir(hooks); err == nil {
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".sample") {
				_ = os.Remove(filepath.Join(hooks, e.Name()))
			}
		}
	}
	script := "#!/bin/sh\n# Installed by git-gate: the push policy, secret scan and forward.\nexec " + shellQuote(g.exe) + " hook pre-receive \"$@\"\n"
	return fileio.WriteFileAtomic(filepath.Join(hooks, "pre-receive"), []byte(script), 0o755)
}

// fetch brings the mirror to the upstream's current branches and tags
// (pruning what the upstream deleted). Caller holds r.mu.
func (g *Gate) fetch(ctx context.Context, r *remote) error {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	start := time.Now()
	env := r.gitEnv()
	if _, err := runGit(ctx, env, r.repo, "fetch", "--quiet", "--prune", "--no-write-fetch-head", "upstream"); err != nil {
		g.log.Warn("fetch failed", "remote", r.cfg.Name, "upstream", r.cfg.Upstream, "err", err.Error())
		return err
	}
	// Point HEAD at the upstream's default branch the first time (or when
	// the old target vanished), so a clone checks out what upstream would.
	if _, err := runGit(ctx, env, r.repo, "rev-parse", "--verify", "--quiet", "HEAD"); err != nil {
		out, err := runGit(ctx, env, r.repo, "ls-remote", "--symref", "upstream", "HEAD")
		if err == nil {
			for _, l := range strings.Split(string(out), "\n") {
				if t, ok := strings.CutPrefix(l, "ref: "); ok {
					target, _, _ := strings.Cut(t, "\t")
					if CheckRefName(target) == nil {
						_, _ = runGit(ctx, env, r.repo, "symbolic-ref", "HEAD", target)
					}
				}
			}
		}
	}
	g.log.Info("fetched", "remote", r.cfg.Name, "ms", time.Since(start).Milliseconds())
	return nil
}

// Serve accepts git:// connections until ctx ends, then lets the sessions
// in flight finish for up to 8 s before killing them: a push whose hook is
// forwarding upstream should complete, so the mirror's ref follows.
func (g *Gate) Serve(ctx context.Context, ln net.Listener) error {
	sessCtx, sessCancel := context.WithCancel(context.Background())
	defer sessCancel()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		select {
		case g.sem <- struct{}{}:
		default:
			_, _ = c.Write(errPkt("git-gate: too many connections; try again"))
			c.Close()
			continue
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			defer func() { <-g.sem }()
			defer func() {
				// One bad session must not take the other clients down.
				if p := recover(); p != nil {
					g.log.Error("session panicked", "peer", c.RemoteAddr().String(), "panic", fmt.Sprint(p))
					c.Close()
				}
			}()
			g.handle(sessCtx, c)
		}()
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(8 * time.Second):
		g.log.Warn("shutdown: sessions still running after 8s; stopping them")
		sessCancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	return nil
}

func (g *Gate) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	peer := c.RemoteAddr().String()
	_ = c.SetReadDeadline(time.Now().Add(requestTimeout))
	req, err := ReadRequest(c)
	if errors.Is(err, io.EOF) {
		// A port probe (healthcheck, readiness wait): nothing was sent.
		g.log.Debug("connection closed before a request", "peer", peer)
		return
	}
	if err != nil {
		g.log.Warn("bad request", "peer", peer, "err", err.Error())
		_, _ = c.Write(errPkt("git-gate: " + err.Error()))
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	name, ok := RepoName(req.Path)
	r := g.remotes[name]
	if !ok || r == nil {
		g.log.Warn("unknown repository", "peer", peer, "path", req.Path)
		_, _ = c.Write(errPkt(fmt.Sprintf("git-gate: no repository %q here; this gate serves %s", clip(req.Path), g.repoList())))
		return
	}
	log := g.log.With("peer", peer, "remote", name, "service", req.Service)
	start := time.Now()

	r.mu.Lock()
	locked := true
	unlock := func() {
		if locked {
			r.mu.Unlock()
			locked = false
		}
	}
	defer unlock()
	if err := g.fetch(ctx, r); err != nil {
		log.Warn("refused: upstream fetch failed", "err", err.Error())
		_, _ = c.Write(errPkt(fmt.Sprintf("git-gate: cannot reach the upstream of %q (%s) to bring the mirror up to date, so it is not served (no stale data): %s", name, r.cfg.Upstream, upstreamErrSummary(err.Error()))))
		return
	}
	args := []string{"receive-pack", r.repo}
	if req.Service == "git-upload-pack" {
		// A reader needs no lock once the mirror is fresh.
		unlock()
		args = []string{"upload-pack", "--strict", "--timeout=" + uploadPackIdleS, r.repo}
	}
	var decision string
	if req.Service == "git-receive-pack" {
		// The hook writes what it decided here; the gate logs it (the
		// hook's stderr goes to the agent, not to the gate's log).
		if f, ferr := os.CreateTemp("", "git-gate-push-*.json"); ferr == nil {
			decision = f.Name()
			f.Close()
			defer os.Remove(decision)
		}
	}
	err = g.runSession(ctx, c, r, req, args, decision)
	log.Info("session done", "ms", time.Since(start).Milliseconds(), "ok", err == nil, "err", errString(err))
	if decision != "" {
		logPush(log, decision, err)
	}
}

// logPush writes the gate's "push" line: accepted or refused, the rule and
// reason, the refs, from the hook's decision file.
func logPush(log *slog.Logger, file string, sessionErr error) {
	var d pushDecision
	if data, err := os.ReadFile(file); err == nil && len(data) > 0 {
		_ = json.Unmarshal(data, &d)
	}
	if d.Decision == "" {
		// The hook never ran: receive-pack refused the push before it (a
		// bad pack, a ref locked by a concurrent push) or the client
		// sent no update. Nothing went upstream either way.
		d.Decision, d.Rule, d.Reason = pushRefused, ruleBadPush, "git receive-pack refused it before the gate's checks"
		if sessionErr != nil {
			d.Reason = errString(sessionErr)
		}
	}
	attrs := []any{daemonlog.KeyDecision, d.Decision, "refs", d.Refs}
	if d.Rule != "" {
		attrs = append(attrs, daemonlog.KeyRule, d.Rule, daemonlog.KeyReason, d.Reason)
	}
	log.Info("push", attrs...)
}

// runSession runs git upload-pack / receive-pack with the connection as its
// stdin and stdout (the socket's fd itself, as git daemon does: no copying).
func (g *Gate) runSession(ctx context.Context, c net.Conn, r *remote, req Request, args []string, decisionFile string) error {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	var stdio any = c
	if fc, ok := c.(interface{ File() (*os.File, error) }); ok {
		if f, err := fc.File(); err == nil {
			defer f.Close()
			stdio = f
		}
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = baseEnv()
	if req.Protocol != "" {
		cmd.Env = append(cmd.Env, "GIT_PROTOCOL="+req.Protocol)
	}
	if req.Service == "git-receive-pack" {
		cmd.Env = append(cmd.Env, r.hookEnv, "GIT_SSH_COMMAND="+r.sshCommand, "GIT_SSH_VARIANT=ssh")
		if decisionFile != "" {
			cmd.Env = append(cmd.Env, decisionEnvVar+"="+decisionFile)
		}
	}
	switch s := stdio.(type) {
	case *os.File:
		cmd.Stdin, cmd.Stdout = s, s
	case net.Conn:
		cmd.Stdin, cmd.Stdout = s, s
	}
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 16 << 10}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil && stderr.Len() > 0 {
		return fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 5))
	}
	return err
}

func (g *Gate) repoList() string {
	var names []string
	for n := range g.remotes {
		names = append(names, n+".git")
	}
	if len(names) == 0 {
		return "no repositories"
	}
	return strings.Join(slices.Sorted(slices.Values(names)), ", ")
}

func runGit(ctx context.Context, env []string, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = env
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 16 << 10}
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return out, fmt.Errorf("git %s: timed out: %s", args[0], strings.TrimSpace(stderr.String()))
		}
		return out, fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// upstreamErrSummary keeps the lines of git/ssh stderr that say what went
// wrong, without ssh's banners and git's generic advice.
func upstreamErrSummary(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "", strings.HasPrefix(l, "@@@"), strings.HasPrefix(l, "Please make sure you have"),
			l == "and the repository exists.":
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 3 {
		keep = keep[len(keep)-3:]
	}
	return strings.Join(keep, "; ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
