// Package plan turns an agent and its bottle into a backend-neutral bottle
// plan: the slug, which sidecars run, the token and secret slots, the live
// sidecar configs, the agent's environment and every name and path the
// backends need. It reads no environment and touches no Docker, so the same
// plan feeds the compose renderer, the launcher and a future second backend.
package plan

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/agentcontract"
	"github.com/claude-bottle/claude-bottle/internal/claudecode"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// DefaultSidecarImage is the image of every sidecar, in both shapes.
const DefaultSidecarImage = "claude-bottle-sidecars:latest"

// DefaultAgentImage is the Claude Code image built from Dockerfile.agent.
const DefaultAgentImage = "claude-bottle-agent:latest"

// SidecarBinary is the sidecar binary's path inside the sidecar image.
const SidecarBinary = "/usr/local/bin/claude-bottle-sidecar"

// SidecarInitBinary is the bundle's init and the healthcheck, without the
// daemons linked in: a healthcheck runs every second, and each start of the
// full binary pays the DLP engine's ~0.45 s CPU start-up.
const SidecarInitBinary = "/usr/local/bin/claude-bottle-sidecar-init"

// Options are the inputs that do not come from the manifests.
type Options struct {
	// Slug to use; empty means a new "<agent>-<5 base36>".
	Slug string
	// Bundle selects the single "sidecars" service (CLAUDE_BOTTLE_SIDECAR_BUNDLE).
	Bundle bool
	// SidecarImage overrides DefaultSidecarImage (CLAUDE_BOTTLE_SIDECAR_IMAGE).
	SidecarImage string
	// SidecarBuildContext is the folder holding Dockerfile.sidecars, for the
	// compose build: section; empty renders "." .
	SidecarBuildContext string
	// Home is the claude-bottle home whose state/ and queue/ the bottle uses.
	Home string
	// SidecarUser is "uid:gid" for the sidecar containers (the host user who
	// owns the 0600 keys); empty leaves the image's user.
	SidecarUser string
	// Runtime is the OCI runtime for the agent (e.g. "runsc"); empty is the default.
	Runtime string
	// Rand is the slug's randomness; nil means crypto/rand.
	Rand io.Reader
	// TestUpstream points pipelock at fake upstreams on the bottle's egress
	// side (the demo and the escape suite); nil for real bottles.
	TestUpstream *TestUpstream
}

// TestUpstream lets pipelock reach fake upstreams that run on the bottle's
// egress network: it trusts their CA and exempts their private addresses
// from the SSRF guard. Only the demo and tests set it; `render` shows it.
type TestUpstream struct {
	// CAFile is a host PEM file pipelock trusts for upstream TLS (it
	// replaces the system roots: SSL_CERT_FILE).
	CAFile string
	// AllowPrivate lists CIDRs exempt from pipelock's SSRF guard.
	AllowPrivate []string
	// Hosts maps upstream names to addresses for the sidecars to resolve
	// where there is no shared network to alias them on: on a cluster
	// they become the sidecars Pod's hostAliases. Docker gives the
	// upstream container network aliases instead and leaves this empty.
	Hosts map[string]string
}

// Plan is everything a backend needs to bring a bottle up.
type Plan struct {
	Slug    string
	Project string
	Agent   *manifest.Agent
	Bottle  *manifest.Bottle
	Bundle  bool

	SidecarImage        string
	SidecarBuildContext string
	SidecarUser         string
	Runtime             string
	TestUpstream        *TestUpstream

	AgentImage string
	// AgentBuild is set when the bottle builds its image from a Dockerfile.
	AgentBuild *Build

	// Daemons the bottle runs, in canonical order (pipelock always).
	Daemons []string

	TokenSlots  []TokenSlot
	SecretSlots []SecretSlot

	// Model is how Claude Code reaches its model (the bottle's claude:
	// key); nil when the bottle has none.
	Model *Model

	// Live sidecar configs, as the launcher will write them.
	Routes   sidecarconfig.Routes
	Pipelock sidecarconfig.Pipelock
	Gate     sidecarconfig.Gate

	// AgentEnv is the agent container's environment, in order.
	AgentEnv []EnvVar
	// ProxyURL is the agent's first hop.
	ProxyURL string
	// AgentCA is the in-container path of the CA bundle the agent must
	// trust (layout.TrustBundle).
	AgentCA string

	// Host paths.
	StateDir layout.StateDir
	QueueDir string
}

// Build is an image built from a Dockerfile.
type Build struct {
	Context    string // absolute folder
	Dockerfile string // file name relative to Context
}

// TokenSlot binds EGRESS_TOKEN_<N> to the host variable it is read from.
type TokenSlot struct {
	Slot     string // EGRESS_TOKEN_<N>
	TokenRef string // host variable name
}

// SecretSlot binds PIPELOCK_SECRET_<N> to a value pipelock (and git-gate)
// must never let out: an agent env entry, or an egress route's token.
type SecretSlot struct {
	Slot   string // PIPELOCK_SECRET_<N>
	EnvKey string // the agent's env key; "" for a route token
	// TokenRef is set for a route token: the host variable of its
	// EGRESS_TOKEN_<N>. pipelock blocks the token everywhere except in its
	// own header to its own route host (docs/DESIGN.md "Trust split").
	TokenRef string
}

// EnvVar is one variable of the agent's environment. A FromProcess variable
// is written name-only into the compose file; its value reaches the
// container through the compose process env at up.
type EnvVar struct {
	Key         string
	Value       string
	FromProcess bool
	// Source tells the launcher where a FromProcess value comes from.
	Source manifest.EnvVar
}

// Has reports whether the bottle runs the named daemon.
func (p *Plan) Has(daemon string) bool {
	for _, d := range p.Daemons {
		if d == daemon {
			return true
		}
	}
	return false
}

// PipelockHost is pipelock's name on the internal network.
func (p *Plan) PipelockHost() string { return layout.SidecarContainer(layout.DaemonPipelock, p.Slug) }

// GitGateHost is git-gate's name on the internal network.
func (p *Plan) GitGateHost() string { return layout.SidecarContainer(layout.DaemonGitGate, p.Slug) }

// New builds the plan for an agent in its bottle.
func New(agent *manifest.Agent, bottle *manifest.Bottle, opt Options) (*Plan, error) {
	if agent.Bottle != bottle.Name {
		return nil, fmt.Errorf("%s: key bottle: agent %q names bottle %q, not %q", agent.File, agent.Name, agent.Bottle, bottle.Name)
	}
	slug := opt.Slug
	if slug == "" {
		s, err := NewSlug(agent.Name, opt.Rand)
		if err != nil {
			return nil, err
		}
		slug = s
	} else if err := ValidateSlug(slug); err != nil {
		return nil, err
	}
	if opt.Home == "" {
		return nil, fmt.Errorf("plan: no claude-bottle home given")
	}
	p := &Plan{
		Slug:                slug,
		Project:             layout.ProjectName(slug),
		Agent:               agent,
		Bottle:              bottle,
		Bundle:              opt.Bundle,
		SidecarImage:        opt.SidecarImage,
		SidecarBuildContext: opt.SidecarBuildContext,
		SidecarUser:         opt.SidecarUser,
		Runtime:             opt.Runtime,
		TestUpstream:        opt.TestUpstream,
	}
	if p.SidecarImage == "" {
		p.SidecarImage = DefaultSidecarImage
	}
	if p.SidecarBuildContext == "" {
		p.SidecarBuildContext = "."
	}
	paths := layout.Paths{Root: opt.Home}
	p.StateDir = layout.StateDir(paths.StateDir(slug))
	p.QueueDir = paths.QueueDir(slug)

	// Agent image.
	switch {
	case bottle.Dockerfile != "":
		p.AgentBuild = &Build{Context: filepath.Dir(bottle.Dockerfile), Dockerfile: filepath.Base(bottle.Dockerfile)}
		p.AgentImage = bottle.Image
		if p.AgentImage == "" {
			// The tag names the Dockerfile's content: an approved new
			// Dockerfile is a new image, never an old one under a reused tag.
			df, err := os.ReadFile(bottle.Dockerfile)
			if err != nil {
				return nil, fmt.Errorf("bottle %s: dockerfile: %w", bottle.Name, err)
			}
			p.AgentImage = DockerfileTag("claude-bottle-agent-"+bottle.Name, df)
		}
	case bottle.Image != "":
		p.AgentImage = bottle.Image
	default:
		p.AgentImage = DefaultAgentImage
	}

	p.planModel()

	// Daemons, in canonical order.
	if len(bottle.Routes) > 0 || p.Model != nil {
		p.Daemons = append(p.Daemons, layout.DaemonEgress)
	}
	p.Daemons = append(p.Daemons, layout.DaemonPipelock)
	if len(bottle.Git) > 0 {
		p.Daemons = append(p.Daemons, layout.DaemonGitGate)
	}
	if bottle.Supervise {
		p.Daemons = append(p.Daemons, layout.DaemonSupervise)
	}

	p.planRoutes()
	p.planPipelock()
	p.planGate()
	p.planAgentEnv()
	return p, nil
}

// planRoutes assigns one EGRESS_TOKEN_<N> per distinct token_ref, in
// declaration order, and writes the routes file's content.
func (p *Plan) planRoutes() {
	slotOf := map[string]string{}
	for _, r := range p.Bottle.Routes {
		rt := sidecarconfig.Route{Host: r.Host, PathAllowlist: r.PathAllowlist}
		if r.Auth != nil {
			slot, ok := slotOf[r.Auth.TokenRef]
			if !ok {
				slot = "EGRESS_TOKEN_" + strconv.Itoa(len(p.TokenSlots))
				slotOf[r.Auth.TokenRef] = slot
				p.TokenSlots = append(p.TokenSlots, TokenSlot{Slot: slot, TokenRef: r.Auth.TokenRef})
			}
			rt.Auth = &sidecarconfig.Auth{Scheme: r.Auth.Scheme, Header: r.Auth.Header, TokenSlot: slot}
		}
		p.Routes.Routes = append(p.Routes.Routes, rt)
	}
	if m := p.Model; m != nil {
		// The model route comes last, so p.Routes.Routes[i] is still the
		// bottle's routes[i].
		rt := sidecarconfig.Route{Host: m.Host}
		if m.Credentialed() {
			slot, ok := slotOf[m.TokenRef]
			if !ok {
				slot = "EGRESS_TOKEN_" + strconv.Itoa(len(p.TokenSlots))
				p.TokenSlots = append(p.TokenSlots, TokenSlot{Slot: slot, TokenRef: m.TokenRef})
			}
			rt.Auth = m.auth(slot)
		}
		p.Routes.Routes = append(p.Routes.Routes, rt)
	}
	if p.Routes.Routes == nil {
		p.Routes.Routes = []sidecarconfig.Route{}
	}
}

// planPipelock fills the firewall config: the bottle's allowlist plus every
// route host, and a secret slot per secret agent env entry. The
// injected-credential hashes need token values, so the launcher adds them.
func (p *Plan) planPipelock() {
	seen := map[string]bool{}
	add := func(h string) {
		if !seen[strings.ToLower(h)] {
			seen[strings.ToLower(h)] = true
			p.Pipelock.Allowlist = append(p.Pipelock.Allowlist, h)
		}
	}
	for _, h := range p.Bottle.Allowlist {
		add(h)
	}
	// A passthrough host is allowed, and tunnelled uninspected: only when
	// the bottle says so (egress.passthrough; none by default).
	for _, h := range p.Bottle.Passthrough {
		add(h)
		p.Pipelock.Passthrough = append(p.Pipelock.Passthrough, h)
	}
	for _, r := range p.Routes.Routes {
		add(r.Host)
		if len(r.PathAllowlist) > 0 {
			// pipelock enforces the list too (the agent can reach it
			// directly; docs/DESIGN.md "Path allowlists").
			p.Pipelock.PathAllowlists = append(p.Pipelock.PathAllowlists,
				sidecarconfig.PathAllowlist{Host: r.Host, Paths: r.PathAllowlist})
		}
	}
	if p.Pipelock.Allowlist == nil {
		p.Pipelock.Allowlist = []string{}
	}
	p.Pipelock.DLPOff = p.Bottle.DLPOff
	p.Pipelock.Responses = p.Bottle.Responses
	p.Pipelock.ResponsesOff = p.Bottle.ResponsesOff
	p.Pipelock.ResponsesUnread = []string{p.modelHost()}
	p.Pipelock.MaxBodyBytes = p.Bottle.MaxUpload
	p.Pipelock.AllowIPLiterals = append([]string(nil), p.Bottle.AllowIPLiterals...)
	for _, e := range p.Bottle.Env {
		if e.Secret() {
			slot := "PIPELOCK_SECRET_" + strconv.Itoa(len(p.SecretSlots))
			p.SecretSlots = append(p.SecretSlots, SecretSlot{Slot: slot, EnvKey: e.Key})
			p.Pipelock.KnownSecretEnv = append(p.Pipelock.KnownSecretEnv, slot)
		}
	}
	// Every route token is a known secret too (issue 15 hole 2): had the
	// agent got one, it could not send it on in any form.
	for _, t := range p.TokenSlots {
		slot := "PIPELOCK_SECRET_" + strconv.Itoa(len(p.SecretSlots))
		p.SecretSlots = append(p.SecretSlots, SecretSlot{Slot: slot, TokenRef: t.TokenRef})
		p.Pipelock.KnownSecretEnv = append(p.Pipelock.KnownSecretEnv, slot)
	}
}

func (p *Plan) planGate() {
	for _, g := range p.Bottle.Git {
		p.Gate.Remotes = append(p.Gate.Remotes, sidecarconfig.GateRemote{
			Name:           g.Name,
			Upstream:       g.Upstream,
			IdentityFile:   layout.GitGateConfigDir + "/keys/" + g.Name,
			KnownHostKey:   g.KnownHostKey,
			PushBranches:   g.PushBranches,
			AllowForcePush: g.AllowForcePush,
			AllowDelete:    g.AllowDelete,
		})
	}
	if p.Gate.Remotes == nil {
		p.Gate.Remotes = []sidecarconfig.GateRemote{}
	}
}

// planAgentEnv: the proxy and CA wiring first (DESIGN.md §2.4), then the
// bottle's own entries.
func (p *Plan) planAgentEnv() {
	if p.Has(layout.DaemonEgress) {
		p.ProxyURL = fmt.Sprintf("http://egress:%d", layout.EgressPort)
	} else {
		p.ProxyURL = fmt.Sprintf("http://%s:%d", p.PipelockHost(), layout.PipelockPort)
	}
	p.AgentCA = layout.TrustBundle
	noProxy := "localhost,127.0.0.1,::1,supervise"
	// The system bundle gets the first hop's CA at provisioning; it keeps
	// the public roots for passthrough hosts.
	const systemBundle = "/etc/ssl/certs/ca-certificates.crt"
	env := []EnvVar{
		{Key: "HTTP_PROXY", Value: p.ProxyURL},
		{Key: "HTTPS_PROXY", Value: p.ProxyURL},
		{Key: "http_proxy", Value: p.ProxyURL},
		{Key: "https_proxy", Value: p.ProxyURL},
		{Key: "NO_PROXY", Value: noProxy},
		{Key: "no_proxy", Value: noProxy},
		{Key: "SSL_CERT_FILE", Value: systemBundle},
		{Key: "NODE_EXTRA_CA_CERTS", Value: p.AgentCA},
		{Key: "REQUESTS_CA_BUNDLE", Value: systemBundle},
		{Key: "CURL_CA_BUNDLE", Value: systemBundle},
		{Key: "GIT_SSL_CAINFO", Value: systemBundle},
		{Key: "CLAUDE_BOTTLE_SLUG", Value: p.Slug},
	}
	// Claude Code must not stop to update itself or reach for hosts the
	// bottle has no route to (claudecode.Env).
	for _, kv := range claudecode.Env {
		env = append(env, EnvVar{Key: kv[0], Value: kv[1]})
	}
	if p.Has(layout.DaemonSupervise) {
		// supervise holds a call open (its default hold), then answers
		// "pending, call wait-for-decision"; Claude Code must not cut it
		// shorter.
		env = append(env, EnvVar{Key: agentcontract.MCPToolTimeoutEnv, Value: agentcontract.MCPToolTimeout(0)})
	}
	if m := p.Model; m != nil {
		// A placeholder, never the credential: egress drops what Claude
		// Code sends in its header and injects the real value.
		if m.Credentialed() {
			env = append(env, EnvVar{Key: m.EnvVar, Value: m.Placeholder})
		}
		if m.BaseURL != "" {
			env = append(env, EnvVar{Key: "ANTHROPIC_BASE_URL", Value: m.BaseURL})
		}
	}
	for _, e := range p.Bottle.Env {
		if e.Secret() {
			env = append(env, EnvVar{Key: e.Key, FromProcess: true, Source: e})
		} else {
			env = append(env, EnvVar{Key: e.Key, Value: e.Value, Source: e})
		}
	}
	p.AgentEnv = env
}

// TokenRef is the host variable a token slot is read from ("" if none).
func (p *Plan) TokenRef(slot string) string {
	for _, t := range p.TokenSlots {
		if t.Slot == slot {
			return t.TokenRef
		}
	}
	return ""
}

// TokenRefs lists the host variables the bottle's routes read, sorted.
func (p *Plan) TokenRefs() []string {
	var refs []string
	for _, t := range p.TokenSlots {
		refs = append(refs, t.TokenRef)
	}
	sort.Strings(refs)
	return refs
}

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

// NewSlug makes "<agent>-<5 random base36 chars>".
// DockerfileTag is the tag of the image built from dockerfile for repo:
// "<repo>:df-<first 12 hex digits of its SHA-256>". A new Dockerfile gets
// a new tag, so the image a bottle runs names the Dockerfile it came from.
func DockerfileTag(repo string, dockerfile []byte) string {
	sum := sha256.Sum256(dockerfile)
	return fmt.Sprintf("%s:df-%s", repo, hex.EncodeToString(sum[:6]))
}

func NewSlug(agent string, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [5]byte
	out := make([]byte, 5)
	for i := 0; i < 5; {
		if _, err := io.ReadFull(r, b[:1]); err != nil {
			return "", fmt.Errorf("making a slug: %w", err)
		}
		// Reject the top of the byte range so every char is equally likely.
		if b[0] >= 252 {
			continue
		}
		out[i] = base36[int(b[0])%36]
		i++
	}
	return agent + "-" + string(out), nil
}

// ValidateSlug checks a slug given with --slug.
func ValidateSlug(s string) error {
	if !manifest.ValidName(s) || len(s) > 48 {
		return fmt.Errorf("--slug %q must match [a-z][a-z0-9-]* and be at most 48 characters (it names containers and networks)", s)
	}
	return nil
}
