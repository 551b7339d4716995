// Package demo runs `claude-bottle demo`: a real bottle with the test agent
// and local fake upstreams (an HTTPS API that checks the injected token, a
// fake Messages API that checks the model credential, and an ssh git
// server), six checks of what the bottle lets out and what it stops, a
// report, and a teardown that runs on success, failure and Ctrl-C.
//
// Everything stays on this machine: the upstreams run as a container on a
// network the demo creates, and only the bottle's sidecars (pipelock and
// git-gate) are connected to it; the agent never is.
package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/claude-bottle/claude-bottle/internal/composecli"
	"github.com/claude-bottle/claude-bottle/internal/demo/upstream"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// Host names the fake upstream answers to (network aliases; .test is
// reserved, so nothing off the machine can ever answer).
const (
	APIHost     = "api.demo.test"
	BlockedHost = "evil.demo.test"
	GitHost     = "git.demo.test"
	AgentName   = "demo"
	// fakeAWSKey is a made-up AWS access key id gitleaks recognises.
	fakeAWSKey = "AKIA" + "Z7Q3XJ4KPLM2VN5R"
)

// Options tune a demo run.
type Options struct {
	// Bundle selects the single-sidecar shape.
	Bundle bool
	// Slug names the bottle; empty means "demo-<5 random>".
	Slug string
	// Progress receives a line per step and the long steps' output.
	Progress io.Writer
	// Root is the claude-bottle source tree the images are built from
	// (empty: found from the working directory).
	Root string
	// Keep leaves the throwaway home on disk (for debugging).
	Keep bool
}

// Check is one line of the report.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Report is what a run found.
type Report struct {
	Slug   string
	Shape  string
	Checks []Check
}

// NumChecks is how many checks a complete run makes.
const NumChecks = 6

// Passed reports whether every check passed (and all of them ran).
func (r *Report) Passed() bool {
	if r == nil || len(r.Checks) != NumChecks {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Print writes the report.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nclaude-bottle demo — bottle %s, %s shape\n\n", r.Slug, r.Shape)
	n := 0
	for i, c := range r.Checks {
		mark := "FAIL"
		if c.OK {
			mark = "PASS"
			n++
		}
		fmt.Fprintf(w, "  %s  %d. %s\n        %s\n", mark, i+1, c.Name, c.Detail)
	}
	fmt.Fprintf(w, "\ndemo: %d of %d checks passed\n", n, len(r.Checks))
}

type runner struct {
	opt    Options
	home   string
	slug   string
	token  string
	secret string
	// modelToken is the bottle's real model credential; modelKind the
	// claude.auth.kind it is declared as.
	modelToken, modelKind string
	network               string
	upstream              string
	subnet                string
	agent                 string
	agentU                string
}

func (r *runner) step(format string, a ...any) {
	if r.opt.Progress != nil {
		fmt.Fprintf(r.opt.Progress, "==> "+format+"\n", a...)
	}
}

// Run brings the demo bottle up, runs the checks and tears everything
// down. The error is about the run itself (an image that cannot be built,
// a bottle that does not come up); failed checks are in the report.
func Run(ctx context.Context, opt Options) (rep *Report, err error) {
	r := &runner{opt: opt, slug: opt.Slug}
	defer func() {
		// Interrupted (Ctrl-C): say so rather than which docker call died.
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("demo interrupted; its bottle, upstreams and temp home were removed (%w)", err)
		}
	}()
	if r.slug == "" {
		if r.slug, err = plan.NewSlug(AgentName, nil); err != nil {
			return nil, err
		}
	} else if err := plan.ValidateSlug(r.slug); err != nil {
		return nil, err
	}
	r.network = layout.ProjectPrefix + "-upstream-" + r.slug
	r.upstream = r.network
	r.token = "demo-token-" + randHex(16)
	r.modelToken = "demo-model-credential-" + randHex(16)
	// The two shapes exercise the two credential kinds.
	r.modelKind = manifest.ClaudeAPIKey
	if opt.Bundle {
		r.modelKind = manifest.ClaudeOAuth
	}
	r.secret = "demo-secret-" + randHex(16)

	r.step("making sure the images exist (%s, %s, %s)", images.Sidecars, images.AgentTest, images.UpstreamTest)
	if err := images.Ensure(ctx, images.Options{Root: opt.Root, Progress: opt.Progress}, images.Sidecars, images.AgentTest, images.UpstreamTest); err != nil {
		// Outside the source tree the images cannot be (re)built; ones
		// that are already there will do.
		for _, img := range []string{images.Sidecars, images.AgentTest, images.UpstreamTest} {
			if _, ierr := engine.Docker(ctx, "image", "inspect", "--format", "{{.Id}}", img); ierr != nil {
				return nil, err
			}
		}
		r.step("warning: using the images on the engine as they are: %v", err)
	}

	if r.home, err = os.MkdirTemp("", "claude-bottle-demo-"); err != nil {
		return nil, err
	}
	// Everything below is undone in reverse, with fresh contexts: ctx may
	// be cancelled (Ctrl-C) by the time these run.
	defer func() {
		if !opt.Keep {
			if rerr := os.RemoveAll(r.home); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}()
	r.step("writing the demo bottle, keys and certificates to %s", r.home)
	files, err := writeHome(r.home)
	if err != nil {
		return nil, err
	}

	r.step("starting the fake upstreams (%s, %s) on network %s", APIHost, GitHost, r.network)
	defer func() {
		if rerr := r.removeUpstream(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	if err := r.startUpstream(ctx, files); err != nil {
		return nil, err
	}

	if err := writeBottle(r.home, files, r.modelKind); err != nil {
		return nil, err
	}
	shape := "legacy"
	if opt.Bundle {
		shape = "bundle"
	}
	rf, err := manifest.Finder{Home: r.home}.Resolve(AgentName)
	if err != nil {
		return nil, fmt.Errorf("the demo's own bottle: %w", err)
	}
	popt := plan.Options{Slug: r.slug, Home: r.home, Bundle: opt.Bundle, SidecarUser: sidecarUser(),
		TestUpstream: &plan.TestUpstream{CAFile: files.caCert, AllowPrivate: []string{r.subnet}}}
	p, err := plan.New(rf.Agent, rf.Bottle, popt)
	if err != nil {
		return nil, err
	}
	lookup := func(k string) (string, bool) {
		switch k {
		case upstream.TokenEnv:
			return r.token, true
		case "DEMO_SECRET":
			return r.secret, true
		case upstream.ModelTokenEnv:
			return r.modelToken, true
		}
		return "", false
	}
	secrets, err := launch.CollectSecrets(p, lookup, nil)
	if err != nil {
		return nil, err
	}
	comp, err := composecli.Detect(ctx)
	if err != nil {
		return nil, err
	}
	// A loaded machine runs the healthchecks late; the demo would rather
	// wait than fail.
	l := &launch.Launcher{Compose: comp, Progress: opt.Progress, UserHome: r.home, Env: os.Environ(), HealthTimeout: 5 * time.Minute}
	if u, err := user.Current(); err == nil {
		l.SidecarUID, l.SidecarGID = u.Uid, u.Gid
	}
	warnings, err := launch.Preflight(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		r.step("warning: %s", w)
	}
	r.step("bringing the bottle %s up (%s shape)", r.slug, shape)
	if err := l.Up(ctx, p, secrets); err != nil {
		return nil, err
	}
	defer func() {
		tctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		r.step("tearing the bottle %s down", r.slug)
		if terr := l.Teardown(tctx, p.Project, p.StateDir); terr != nil {
			err = errors.Join(err, terr)
		}
	}()
	// Only the sidecars that dial upstreams join the upstream network.
	var dialers []string
	if p.Bundle {
		dialers = []string{layout.SidecarContainer("sidecars", p.Slug)}
	} else {
		dialers = []string{p.PipelockHost(), p.GitGateHost()}
	}
	for _, c := range dialers {
		if _, err := engine.Docker(ctx, "network", "connect", r.network, c); err != nil {
			return nil, fmt.Errorf("connecting %s to the upstream network: %w", c, err)
		}
	}
	r.agent = layout.AgentContainer(p.Slug)
	u, err := launch.LookupAgentUser(ctx, r.agent)
	if err != nil {
		return nil, err
	}
	r.agentU = u.Name

	rep = &Report{Slug: r.slug, Shape: shape}
	for i, c := range []func(context.Context) Check{r.checkInjected, r.checkBlockedHost, r.checkSecretPost, r.checkSecretPush, r.checkCleanPush, r.checkModel} {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		r.step("check %d of %d", i+1, NumChecks)
		rep.Checks = append(rep.Checks, c(ctx))
	}
	return rep, nil
}

// files are the host paths writeHome made.
type files struct {
	upstreamDir string // mounted into the upstream: tls.*, ssh_host_key, authorized_key
	caCert      string // the demo CA pipelock trusts
	identity    string // the gate's ssh key for the upstream
	hostKeyPub  string // the upstream's host key, "ssh-ed25519 AAAA..."
}

func writeHome(home string) (*files, error) {
	f := &files{upstreamDir: filepath.Join(home, "upstream"), caCert: filepath.Join(home, "demo-ca", "ca.crt"), identity: filepath.Join(home, "keys", "id_ed25519_demo")}
	for _, d := range []string{f.upstreamDir, filepath.Dir(f.caCert), filepath.Dir(f.identity), filepath.Join(home, "bottles"), filepath.Join(home, "agents")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	caPEM, leafPEM, leafKey, err := NewCA([]string{APIHost, BlockedHost, upstream.ModelHost})
	if err != nil {
		return nil, err
	}
	hostPub, hostPEM, err := newSSHKey("demo upstream host key")
	if err != nil {
		return nil, err
	}
	idPub, idPEM, err := newSSHKey("demo gate identity")
	if err != nil {
		return nil, err
	}
	f.hostKeyPub = strings.TrimSpace(hostPub)
	writes := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{f.caCert, caPEM, 0o644},
		{filepath.Join(f.upstreamDir, upstream.TLSCert), leafPEM, 0o644},
		{filepath.Join(f.upstreamDir, upstream.TLSKey), leafKey, 0o600},
		{filepath.Join(f.upstreamDir, upstream.HostKey), hostPEM, 0o600},
		{filepath.Join(f.upstreamDir, upstream.AuthorizedKey), []byte(idPub), 0o644},
		{f.identity, idPEM, 0o600},
	}
	for _, w := range writes {
		if err := os.WriteFile(w.path, w.data, w.mode); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// writeBottle writes the demo bottle and agent: one credentialed API route,
// one git remote behind the gate, a secret in the agent's env, and the
// model credential (of kind modelKind) for the fake Messages API.
func writeBottle(home string, f *files, modelKind string) error {
	bottle := fmt.Sprintf(`---
# Written by claude-bottle demo; thrown away after the run.
image: %s
env:
  GIT_AUTHOR_NAME: Demo Agent
  GIT_AUTHOR_EMAIL: demo-agent@demo.test
  GIT_COMMITTER_NAME: Demo Agent
  GIT_COMMITTER_EMAIL: demo-agent@demo.test
  DEMO_SECRET: ${DEMO_SECRET}
git:
  - name: demo
    upstream: ssh://git@%s/srv/git/demo.git
    identity_file: %s
    known_host_key: %q
    push_branches: ["agent/*"]
egress:
  routes:
    - host: %s
      auth: { scheme: Bearer, token_ref: %s }
claude:
  auth: { kind: %s, token_ref: %s }
  base_url: https://%s
---
The bottle claude-bottle demo runs against its local fake upstreams.
`, images.AgentTest, GitHost, f.identity, f.hostKeyPub, APIHost, upstream.TokenEnv, modelKind, upstream.ModelTokenEnv, upstream.ModelHost)
	agent := "---\nbottle: demo\ndescription: The claude-bottle demo agent.\n---\nYou are the demo agent.\n"
	if err := os.WriteFile(filepath.Join(home, "bottles", "demo.md"), []byte(bottle), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(home, "agents", "demo.md"), []byte(agent), 0o644)
}

func (r *runner) startUpstream(ctx context.Context, f *files) error {
	if _, err := engine.Docker(ctx, "network", "create", "--label", layout.LabelManaged+"=true", r.network); err != nil {
		return err
	}
	subnet, err := engine.Docker(ctx, "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", r.network)
	if err != nil {
		return err
	}
	r.subnet = strings.Fields(subnet + " ")[0]
	if r.subnet == "" {
		return fmt.Errorf("network %s has no IPv4 subnet", r.network)
	}
	// The token reaches the upstream through this process's env only
	// (-e NAME without a value), never the command line.
	env := append(os.Environ(), upstream.TokenEnv+"="+r.token, upstream.ModelTokenEnv+"="+r.modelToken)
	if err := engine.Run(ctx, engine.Stdio{Env: env}, "run", "-d", "--name", r.upstream,
		"--label", layout.LabelManaged+"=true",
		"--network", r.network,
		"--network-alias", APIHost, "--network-alias", BlockedHost, "--network-alias", GitHost, "--network-alias", upstream.ModelHost,
		"-e", upstream.TokenEnv, "-e", upstream.ModelTokenEnv,
		"-v", f.upstreamDir+":/etc/demo-upstream:ro",
		images.UpstreamTest); err != nil {
		return err
	}
	// Ready when it logged so (it seeds the repository first).
	deadline := time.Now().Add(60 * time.Second)
	for {
		logs, _ := engine.Logs(ctx, r.upstream)
		if strings.Contains(logs, "upstream ready") {
			return nil
		}
		if strings.Contains(logs, "upstream stopped") || time.Now().After(deadline) {
			return fmt.Errorf("the fake upstream did not start: %s", strings.TrimSpace(logs))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *runner) removeUpstream() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	if _, ok, _ := engine.Inspect(ctx, r.upstream); ok {
		if _, err := engine.Docker(ctx, "rm", "-f", "-v", r.upstream); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := engine.Docker(ctx, "network", "inspect", r.network); err == nil {
		if _, err := engine.Docker(ctx, "network", "rm", r.network); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// inAgent runs a shell script in the agent container as the agent user.
func (r *runner) inAgent(ctx context.Context, script string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return engine.ExecOutput(ctx, r.agent, r.agentU, nil, "sh", "-c", script)
}

func (r *runner) upstreamLogs(ctx context.Context) string {
	out, _ := engine.Logs(ctx, r.upstream)
	return out
}

func (r *runner) upstreamRef(ctx context.Context, ref string) string {
	out, _ := engine.Docker(ctx, "exec", r.upstream, "git", "--git-dir", upstream.RepoPath, "rev-parse", "--verify", "--quiet", ref)
	return out
}

// 1. The API route: egress injects the token; the agent never holds it.
func (r *runner) checkInjected(ctx context.Context) Check {
	c := Check{Name: "an allowed call with an injected credential succeeds"}
	out, err := r.inAgent(ctx, `curl -sS -w '\n%{http_code}' https://`+APIHost+`/v1/whoami`)
	env, _ := r.inAgent(ctx, "env")
	switch {
	case err != nil || !strings.HasSuffix(out, "\n200") || !strings.Contains(out, `"authorized":true`):
		c.Detail = fmt.Sprintf("GET https://%s/v1/whoami: want 200 and authorized, got %q (%v)", APIHost, out, err)
	case strings.Contains(env, r.token):
		c.Detail = "the call worked, but the token is in the agent's environment"
	default:
		c.OK = true
		c.Detail = fmt.Sprintf("GET https://%s/v1/whoami -> 200 authorized; the token was added by egress and is not in the agent's env", APIHost)
	}
	return c
}

// 2. A host off the allowlist (but reachable and answering) is blocked.
func (r *runner) checkBlockedHost(ctx context.Context) Check {
	c := Check{Name: "a host off the allowlist is blocked"}
	out, _ := r.inAgent(ctx, `curl -s -o /dev/null -w '%{http_code} %{http_connect}' https://`+BlockedHost+`/v1/whoami`)
	reached := strings.Contains(r.upstreamLogs(ctx), `"host":"`+BlockedHost)
	f := strings.Fields(out)
	blocked := len(f) == 2 && f[0] != "200" && (f[0] == "403" || f[1] == "403")
	if blocked && !reached {
		c.OK = true
		c.Detail = fmt.Sprintf("https://%s (served by the fake upstream) -> 403 from the firewall; nothing reached the upstream", BlockedHost)
	} else {
		c.Detail = fmt.Sprintf("https://%s: curl said %q, reached upstream: %v", BlockedHost, out, reached)
	}
	return c
}

// 3. The agent's secret in a POST to the allowed host is stopped, while the
// same POST without it goes through.
func (r *runner) checkSecretPost(ctx context.Context) Check {
	c := Check{Name: "a secret in a POST to an allowed host is blocked"}
	clean, _ := r.inAgent(ctx, `curl -s -o /dev/null -w '%{http_code}' --data-binary 'note=hello' https://`+APIHost+`/v1/notes`)
	leak, _ := r.inAgent(ctx, `curl -s -o /dev/null -w '%{http_code}' --data-binary "note=$DEMO_SECRET" https://`+APIHost+`/v1/notes`)
	arrived := strings.Contains(r.upstreamLogs(ctx), r.secret)
	if clean == "201" && leak != "201" && leak != "200" && !arrived {
		c.OK = true
		c.Detail = fmt.Sprintf("POST https://%s/v1/notes: clean body -> 201; body with $DEMO_SECRET -> %s, never reached the upstream", APIHost, leak)
	} else {
		c.Detail = fmt.Sprintf("POST https://%s/v1/notes: clean -> %q (want 201), with the secret -> %q (want a block), secret reached the upstream: %v", APIHost, clean, leak, arrived)
	}
	return c
}

const cloneScript = `set -e
cd /tmp && rm -rf demo && git clone -q ssh://git@` + GitHost + `/srv/git/demo.git demo && cd demo
`

// 4. A push carrying a secret is refused by the gate.
func (r *runner) checkSecretPush(ctx context.Context) Check {
	c := Check{Name: "a push carrying a secret is rejected"}
	out, err := r.inAgent(ctx, cloneScript+`git checkout -q -b agent/leak
printf 'REGION=eu-west-1\nAWS_ACCESS_KEY_ID=%s\n' '`+fakeAWSKey+`' > config.env
git add config.env && git commit -qm 'add config'
git push -q origin agent/leak`)
	landed := r.upstreamRef(ctx, "refs/heads/agent/leak")
	if err != nil && landed == "" && !strings.Contains(out, "fatal: could not read") {
		c.OK = true
		c.Detail = "git push of agent/leak (an AWS key in config.env) was refused by git-gate; the branch is not upstream: " + lastLine(out)
	} else {
		c.Detail = fmt.Sprintf("git push of agent/leak: err %v, upstream ref %q, output: %s", err, landed, out)
	}
	return c
}

// 5. A clean push lands upstream, commit for commit.
func (r *runner) checkCleanPush(ctx context.Context) Check {
	c := Check{Name: "a clean push lands upstream"}
	out, err := r.inAgent(ctx, cloneScript+`git checkout -q -b agent/hello
echo 'hello from the bottle' > hello.txt
git add hello.txt && git commit -qm 'say hello'
git push -q origin agent/hello
git rev-parse HEAD`)
	head := lastLine(out)
	landed := r.upstreamRef(ctx, "refs/heads/agent/hello")
	if err == nil && landed != "" && landed == head {
		c.OK = true
		c.Detail = fmt.Sprintf("git push of agent/hello went through git-gate over ssh; upstream agent/hello = %.12s", landed)
	} else {
		c.Detail = fmt.Sprintf("git push of agent/hello: err %v, agent HEAD %q, upstream %q, output: %s", err, head, landed, out)
	}
	return c
}

// 6. Claude Code (the test image's stand-in: Node, its own TLS, the real
// CLI's credential variables) reaches the model API through the bottle:
// the fake API saw the real credential in the header of its kind, and the
// agent holds only the placeholder, in its env, any process's environ,
// any file, and docker inspect.
func (r *runner) checkModel(ctx context.Context) Check {
	c := Check{Name: "Claude Code reaches its model with a credential it never holds"}
	envVar, header, placeholder := "ANTHROPIC_API_KEY", "x-api-key", plan.APIKeyPlaceholder
	if r.modelKind == manifest.ClaudeOAuth {
		envVar, header, placeholder = "CLAUDE_CODE_OAUTH_TOKEN", "authorization", plan.OAuthPlaceholder
	}
	before := strings.Count(r.upstreamLogs(ctx), `"msg":"model request"`)
	out, err := r.inAgent(ctx, `claude --dangerously-skip-permissions --output-format json -p 'Say hello from the bottle' 2>&1`)
	logs := r.upstreamLogs(ctx)
	var seen []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"msg":"model request"`) {
			seen = append(seen, l)
		}
	}
	seen = seen[min(before, len(seen)):]
	real := len(seen) == 1 && strings.Contains(seen[0], `"credential":"real"`) && strings.Contains(seen[0], `"credential_header":"`+header+`"`)
	if err != nil || !strings.Contains(out, `"result":"fake-model:`) || !real {
		c.Detail = fmt.Sprintf("claude -p in the agent: err %v, output %q; the model API saw %q (want one request with the real credential in %s)", err, lastLine(out), seen, header)
		return c
	}
	if where := r.tokenInAgent(ctx); where != "" {
		c.Detail = "the model answered, but the real credential is readable in the agent: " + where
		return c
	}
	if v, _ := r.inAgent(ctx, `printf %s "$`+envVar+`"`); v != placeholder {
		c.Detail = fmt.Sprintf("the agent's %s is %q, not the placeholder", envVar, v)
		return c
	}
	c.OK = true
	c.Detail = fmt.Sprintf("claude -p (Node, through HTTPS_PROXY) got its answer from https://%s; egress injected the %s credential as %s; the agent's %s holds only the placeholder, and the credential is in no env, /proc/*/environ, file or docker inspect of the agent", upstream.ModelHost, r.modelKind, header, envVar)
	return c
}

// tokenInAgent says where in the agent the model credential can be read
// ("" when nowhere): env, every process's environ and cmdline, every file,
// and docker inspect. The pattern travels base64-encoded into /dev/shm, so
// neither this script's nor grep's command line holds it.
func (r *runner) tokenInAgent(ctx context.Context) string {
	pat := base64.StdEncoding.EncodeToString([]byte(r.modelToken + "\n"))
	out, _ := engine.ExecOutput(ctx, r.agent, "root", nil, "sh", "-c", `echo "$1" | base64 -d > /dev/shm/cb-pat
env | grep -qF -f /dev/shm/cb-pat && echo "the env of docker exec"
grep -lsF -f /dev/shm/cb-pat /proc/[0-9]*/environ /proc/[0-9]*/cmdline
grep -rlsF --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -f /dev/shm/cb-pat / 
rm -f /dev/shm/cb-pat`, "sh", pat)
	var where []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "/proc/self/") && !strings.HasPrefix(l, "/proc/thread-self/") {
			where = append(where, l)
		}
	}
	if insp, err := engine.Docker(ctx, "inspect", r.agent); err != nil || strings.Contains(insp, r.modelToken) {
		where = append(where, fmt.Sprintf("docker inspect (err %v)", err))
	}
	return strings.Join(where, ", ")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newSSHKey makes an ed25519 key: the public half in authorized_keys form
// and the private half as an OpenSSH PEM block.
func newSSHKey(comment string) (pub string, privPEM []byte, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	sp, err := ssh.NewPublicKey(pk)
	if err != nil {
		return "", nil, err
	}
	blk, err := ssh.MarshalPrivateKey(sk, comment)
	if err != nil {
		return "", nil, err
	}
	return string(ssh.MarshalAuthorizedKey(sp)), pemEncode(blk), nil
}

func sidecarUser() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	return u.Uid + ":" + u.Gid
}
