package images

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/engine"
)

// Agent is the default Claude Code agent image (plan.DefaultAgentImage),
// built from Dockerfile.agent. It is not in Names: its build installs
// @anthropic-ai/claude-code from the npm registry, which CI and the
// development machines cannot reach.
const Agent = "claude-bottle-agent:latest"

// DefaultNPMRegistry is where npm installs from unless NPM_CONFIG_REGISTRY
// names another (a mirror).
const DefaultNPMRegistry = "https://registry.npmjs.org/"

// ClaudeCodePackage is the npm package Dockerfile.agent installs.
const ClaudeCodePackage = "@anthropic-ai/claude-code"

// ErrNoRegistry is returned (wrapped) by BuildAgent when the npm registry
// cannot be reached from this machine.
var ErrNoRegistry = errors.New("the npm registry is not reachable")

// BuildAgent builds Agent from Dockerfile.agent. It first asks the npm
// registry (registry, "" = DefaultNPMRegistry) for the Claude Code package
// from this machine, with the machine's proxy settings: without it the
// build would fail several minutes in, deep in npm's output. The registry
// and the host's proxy variables are passed to the build.
func BuildAgent(ctx context.Context, opt Options, registry string) error {
	if registry == "" {
		registry = DefaultNPMRegistry
	}
	if err := probeRegistry(ctx, registry); err != nil {
		return fmt.Errorf("%w: %s needs %s from the npm registry, and %s cannot be reached from this machine (%v). Build it on a machine that reaches the registry (claude-bottle build --agent there, or `docker build -f Dockerfile.agent -t %s .`), set NPM_CONFIG_REGISTRY to a mirror you can reach, or name another agent image in the bottle's image: key (tests use %s)",
			ErrNoRegistry, Agent, ClaudeCodePackage, registry, err, Agent, AgentTest)
	}
	root, p, unlock, err := begin(ctx, opt)
	if err != nil {
		return err
	}
	defer unlock()
	args := []string{"build", "-f", filepath.Join(root, "Dockerfile.agent"), "-t", Agent,
		"--build-arg", "NPM_CONFIG_REGISTRY=" + registry}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"} {
		if _, ok := os.LookupEnv(k); ok {
			// A predefined build arg: the value comes from this env.
			args = append(args, "--build-arg", k)
		}
	}
	// The context is an empty folder: Dockerfile.agent copies nothing.
	ctxDir, err := os.MkdirTemp("", "claude-bottle-agent-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	p.printf("building %s from Dockerfile.agent (npm registry %s)", Agent, registry)
	// Through engine.Run, as every docker call: one path to the engine.
	lw := &lineWriter{p: p.sub(Agent)}
	err = engine.Run(ctx, engine.Stdio{Dir: root, Stdout: lw, Stderr: lw}, append(args, ctxDir)...)
	lw.flush()
	if err != nil {
		return fmt.Errorf("images: docker build of %s from %s failed (output above): %w", Agent, filepath.Join(root, "Dockerfile.agent"), err)
	}
	p.printf("built %s", Agent)
	return nil
}

// probeRegistry asks the registry for the package's metadata, as npm
// would, within 15 s.
func probeRegistry(ctx context.Context, registry string) error {
	u, err := url.Parse(registry)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", registry)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	pkg := strings.TrimSuffix(registry, "/") + "/" + url.PathEscape(ClaudeCodePackage)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, pkg, nil)
	if err != nil {
		return err
	}
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("HEAD %s answered %s", pkg, resp.Status)
	}
	return nil
}
