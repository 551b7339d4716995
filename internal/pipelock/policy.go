package pipelock

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/dlp"
	"github.com/claude-bottle/claude-bottle/internal/proxykit"
	"github.com/claude-bottle/claude-bottle/internal/respscan"
	"github.com/claude-bottle/claude-bottle/internal/secretscan"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// DefaultAllowlist is what the agent itself (Claude Code) needs; a bottle's
// config adds to it.
var DefaultAllowlist = []string{
	"api.anthropic.com",
	"statsig.anthropic.com",
	"sentry.io",
	"claude.ai",
	"platform.claude.com",
	"downloads.claude.ai",
	"raw.githubusercontent.com",
}

// DefaultPassthrough: allowed hosts whose TLS is not intercepted by
// default. None: the model host used to be, and so was a sink nothing
// inspected (issue 15 hole 6). A bottle declares its own
// (egress.passthrough), and a host egress injects a credential for is
// never one.
var DefaultPassthrough []string

// Policy is one compiled config. It is immutable: a reload builds a new one
// and swaps the pointer.
type Policy struct {
	allow map[string]bool
	// wildcards are the suffixes (".githubusercontent.com") of "*." entries.
	wildcards   []string
	passthrough map[string]bool
	ipLiterals  map[netip.Addr]bool
	paths       map[string][]string // route host → path_allowlist
	inspector   *dlp.Inspector
	maxBody     int64 // cap on a request body (raw and decoded); 0: none
	resp        *respscan.Scanner
	respMode    respscan.Mode
	respUnread  map[string]bool // hosts whose responses are not read (the model's)
	warnings    []string        // logged once when the policy is installed
}

// BuildPolicy compiles cfg. getenv reads the known_secret_env variables.
// The error names the key and value at fault.
func BuildPolicy(cfg *sidecarconfig.Pipelock, getenv func(string) string, sc *secretscan.Scanner) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Policy{
		allow:       map[string]bool{},
		passthrough: map[string]bool{},
		ipLiterals:  map[netip.Addr]bool{},
		paths:       map[string][]string{},
		maxBody:     cfg.MaxBodyBytes,
	}
	for _, h := range append(append([]string{}, DefaultAllowlist...), cfg.Allowlist...) {
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			p.wildcards = append(p.wildcards, "."+normHost(rest))
			continue
		}
		p.allow[normHost(h)] = true
	}
	for i, h := range append(append([]string{}, DefaultPassthrough...), cfg.Passthrough...) {
		h = normHost(h)
		if !p.allow[h] {
			p.warnings = append(p.warnings, fmt.Sprintf("passthrough[%d]: %q is not in the allowlist, so it stays blocked; add it to allowlist too", i-len(DefaultPassthrough), h))
		}
		p.passthrough[h] = true
	}
	for i, s := range cfg.AllowIPLiterals {
		a, err := netip.ParseAddr(strings.Trim(s, "[]"))
		if err != nil {
			return nil, fmt.Errorf("allow_ip_literals[%d]: %q is not an IP address; give a bare address like 203.0.113.7 or 2001:db8::1", i, s)
		}
		p.ipLiterals[a.Unmap()] = true
	}
	for _, pa := range cfg.PathAllowlists {
		h := normHost(pa.Host)
		p.paths[h] = append(p.paths[h], pa.Paths...)
	}
	known := map[string]string{}
	for i, name := range cfg.KnownSecretEnv {
		v := getenv(name)
		if v == "" {
			return nil, fmt.Errorf("known_secret_env[%d]: %s is not set in pipelock's environment; pass it to the pipelock process or drop it from the config", i, name)
		}
		if len(v) < dlp.MinKnownSecretLen {
			p.warnings = append(p.warnings, fmt.Sprintf("known_secret_env[%d]: %s is shorter than %d characters and is not matched (it would match ordinary text)", i, name, dlp.MinKnownSecretLen))
			continue
		}
		known[name] = v
	}
	var injected []dlp.Injected
	for i, c := range cfg.InjectedCredentials {
		ic, err := dlp.ParseInjected(c.Host, c.Header, c.SHA256)
		if err != nil {
			return nil, fmt.Errorf("injected_credentials[%d].sha256: %q is not 64 hex digits", i, c.SHA256)
		}
		injected = append(injected, ic)
		// What travels with a credential egress injects is inspected, never
		// tunnelled blind: the model host with claude.auth is the case that
		// matters (docs/DESIGN.md, "The model credential").
		delete(p.passthrough, ic.Host)
	}
	var off dlp.Classes
	for i, c := range cfg.DLPOff {
		if !off.Set(c, true) {
			return nil, fmt.Errorf("dlp_off[%d]: %q is not a DLP class; use one of %s", i, c, strings.Join(dlp.ClassNames, ", "))
		}
	}
	p.inspector = dlp.NewWith(sc, known, injected, dlp.Options{Off: off})
	p.respMode = respscan.Warn
	if cfg.Responses != "" {
		p.respMode = respscan.Mode(cfg.Responses)
		if !slices.Contains(respscan.Modes, p.respMode) {
			return nil, fmt.Errorf("responses: %q is not a response mode; use warn, strip, block or off", cfg.Responses)
		}
	}
	rs, err := respscan.New(cfg.ResponsesOff)
	if err != nil {
		return nil, fmt.Errorf("responses_%w", err)
	}
	p.resp = rs
	p.respUnread = map[string]bool{}
	for _, h := range cfg.ResponsesUnread {
		p.respUnread[normHost(h)] = true
	}
	return p, nil
}

// normHost lower-cases a host name and drops a trailing dot.
func normHost(h string) string { return proxykit.NormHost(h) }

func (p *Policy) allowed(host string) bool { return p.allow[host] }

// wildcardAllowed: host is under one of the "*." entries (one label or
// more in front of the suffix).
func (p *Policy) wildcardAllowed(host string) bool {
	for _, w := range p.wildcards {
		if len(host) > len(w) && strings.HasSuffix(host, w) {
			return true
		}
	}
	return false
}
func (p *Policy) isPassthrough(host string) bool { return p.passthrough[host] && p.allow[host] }
