// Package sidecarconfig defines the live config files the CLI writes into a
// bottle's state dir and the sidecar daemons read: the egress routes file,
// the pipelock firewall config and the git-gate remotes file. Approvals from
// the dashboard rewrite the first two while the bottle runs, so every write
// is atomic and every read validates fully before anything is applied.
//
// The files are JSON: written by programs, decoded strictly (unknown keys are
// errors), and errors name the file, the key and the value at fault.
package sidecarconfig

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
)

// Routes is the egress daemon's routes file (routes.json).
type Routes struct {
	Routes []Route `json:"routes"`
}

// Route lets the agent reach Host (matched case-insensitively) on the listed
// path prefixes, optionally with a credential egress injects.
type Route struct {
	Host string `json:"host"`
	// PathAllowlist holds path prefixes; empty means any path.
	PathAllowlist []string `json:"path_allowlist,omitempty"`
	Auth          *Auth    `json:"auth,omitempty"`
}

// Auth says which credential to inject: "<Scheme> <value of TokenSlot>"
// (or the bare value when Scheme is empty) in the header Header
// (Authorization when empty). TokenSlot names an environment variable of
// the egress process (EGRESS_TOKEN_<N>); the value itself is never in a
// file.
type Auth struct {
	Scheme    string `json:"scheme,omitempty"`
	Header    string `json:"header,omitempty"`
	TokenSlot string `json:"token_slot"`
}

// HeaderName is the canonical name of the header the credential goes in.
func (a *Auth) HeaderName() string {
	if a.Header == "" {
		return "Authorization"
	}
	return http.CanonicalHeaderKey(a.Header)
}

// Value is the header value egress sends for token: "<Scheme> <token>", or
// the token alone when the route names no scheme. Pipelock's
// injected_credentials hash exactly this.
func (a *Auth) Value(token string) string {
	if a.Scheme == "" {
		return token
	}
	return a.Scheme + " " + token
}

// CredentialHeaders are the headers the agent may never send on a route
// that injects a credential, whatever header the route uses: with them it
// could present a credential of its own (another account's key) beside
// the bottle's. The route's own header is dropped as well.
var CredentialHeaders = []string{"Authorization", "Proxy-Authorization", "X-Api-Key"}

// reservedHeaders cannot carry a credential: they frame the request or
// belong to the proxy hop, so egress and the origin would disagree on them.
var reservedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Te", "Trailer", "Expect", "Proxy-Connection", "Content-Encoding", "Content-Type"}

// ValidateHeaderName accepts an HTTP header name (RFC 9110 token) that may
// carry a credential.
func ValidateHeaderName(h string) error {
	if h == "" {
		return errors.New("header name must not be empty")
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return fmt.Errorf("%q is not an HTTP header name (character %q); use a name such as X-Api-Key or PRIVATE-TOKEN", h, c)
		}
	}
	for _, r := range reservedHeaders {
		if strings.EqualFold(h, r) {
			return fmt.Errorf("%q frames the request and cannot carry a credential; name the header the API reads the token from", h)
		}
	}
	return nil
}

// ValidateScheme accepts an Authorization scheme: one word.
func ValidateScheme(s string) error {
	if s == "" || strings.ContainsFunc(s, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return fmt.Errorf("%q must be one word such as Bearer or token", s)
	}
	return nil
}

// Pipelock is the firewall's config (pipelock.json).
type Pipelock struct {
	// Allowlist: hosts the bottle may reach besides the built-in defaults.
	// The CLI puts the bottle's egress.allowlist and every route host here.
	Allowlist []string `json:"allowlist"`
	// Passthrough: allowed hosts whose TLS is not intercepted (SNI checked).
	Passthrough []string `json:"passthrough,omitempty"`
	// InjectedCredentials lets the credential egress injects for a route host
	// pass DLP (DESIGN.md §8.4) without pipelock knowing the token: only a
	// header value whose SHA-256 matches, sent to that host, is exempt.
	InjectedCredentials []InjectedCredential `json:"injected_credentials,omitempty"`
	// PathAllowlists repeats each route's path_allowlist: pipelock enforces
	// it too, so the agent cannot skip it by asking pipelock directly.
	PathAllowlists []PathAllowlist `json:"path_allowlists,omitempty"`
	// KnownSecretEnv names environment variables of the pipelock process
	// (PIPELOCK_SECRET_<N>) whose values are the agent's own secrets: exact
	// matches of them, in any encoding, are exfiltration.
	KnownSecretEnv []string `json:"known_secret_env,omitempty"`
	// AllowIPLiterals lists IP literals the bottle may address directly.
	AllowIPLiterals []string `json:"allow_ip_literals,omitempty"`
	// MaxBodyBytes caps one request body (raw and decoded), from the
	// bottle's egress.max_upload; 0 means no cap (bodies stream, scanned).
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`
	// DLPOff lists DLP rule classes turned off (names in DLPClasses), from
	// the bottle's dlp: key. Known secrets cannot be turned off.
	DLPOff []string `json:"dlp_off,omitempty"`
	// Responses is what pipelock does with prompt injection in a response
	// from an inspected host (ResponseModes); empty means warn. From the
	// bottle's responses: key.
	Responses string `json:"responses,omitempty"`
	// ResponsesOff lists response rule kinds turned off (ResponseKinds).
	ResponsesOff []string `json:"responses_off,omitempty"`
	// ResponsesUnread lists hosts whose responses are not read for prompt
	// injection: the model's host (api.anthropic.com or the gateway). Its
	// answers are the agent's own output, not content for it to obey, and
	// a model explaining prompt injection must not have its stream
	// blocked (docs/DLP.md, "Responses").
	ResponsesUnread []string `json:"responses_unread,omitempty"`
}

// ResponseModes are the values of the bottle's responses: key; warn is
// the default. internal/respscan has the same list (a test keeps them
// equal).
var ResponseModes = []string{"warn", "strip", "block", "off"}

// ResponseKinds are the response rule kinds (inject.<kind>) a bottle can
// turn off; internal/respscan has the same list.
var ResponseKinds = []string{"override", "role", "authority", "hidden-comment", "css-hidden", "invisible", "exfil-link"}

// DLPClasses are the DLP rule classes a bottle can turn off: provider
// credential shapes, gitleaks and credential assignments; cards and
// IBANs; Bitcoin addresses, WIF keys and BIP-39 phrases; bulk e-mail
// addresses and phone numbers; encoded host labels; long random tokens
// in URL paths and query values. internal/dlp has the
// same list (a test keeps them equal).
var DLPClasses = []string{"credentials", "financial", "crypto", "pii", "hostnames", "blobs"}

// PathAllowlist is the path prefixes a route host allows.
type PathAllowlist struct {
	Host  string   `json:"host"`
	Paths []string `json:"paths"`
}

// InjectedCredential identifies one credential egress injects.
type InjectedCredential struct {
	Host   string `json:"host"`
	Header string `json:"header"`
	// SHA256 is the lower-case hex SHA-256 of the full header value
	// ("Bearer <token>").
	SHA256 string `json:"sha256"`
}

// Gate is the git-gate's remotes file (gate.json).
type Gate struct {
	Remotes []GateRemote `json:"remotes"`
}

// GateRemote is one upstream the gate mirrors and pushes to.
type GateRemote struct {
	Name     string `json:"name"`
	Upstream string `json:"upstream"`
	// IdentityFile is the in-container path of the private key (0600).
	IdentityFile string `json:"identity_file"`
	// KnownHostKey is the pinned upstream host key ("ssh-ed25519 AAAA...").
	KnownHostKey   string   `json:"known_host_key"`
	PushBranches   []string `json:"push_branches,omitempty"`
	AllowForcePush bool     `json:"allow_force_push,omitempty"`
	AllowDelete    bool     `json:"allow_delete,omitempty"`
}

// LoadRoutes reads and validates a routes file.
func LoadRoutes(path string) (*Routes, error) {
	var r Routes
	if err := decodeFile(path, &r); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Validate checks every route; the error names the key and value.
func (r *Routes) Validate() error {
	seen := map[string]bool{}
	for i, rt := range r.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		if err := ValidateHost(rt.Host); err != nil {
			return fmt.Errorf("%s.host: %w", key, err)
		}
		h := strings.ToLower(rt.Host)
		if seen[h] {
			return fmt.Errorf("%s.host: %q is declared twice; merge the two routes into one", key, rt.Host)
		}
		seen[h] = true
		for j, p := range rt.PathAllowlist {
			if !strings.HasPrefix(p, "/") {
				return fmt.Errorf("%s.path_allowlist[%d]: %q must start with /", key, j, p)
			}
		}
		if rt.Auth != nil {
			if rt.Auth.Header != "" {
				if err := ValidateHeaderName(rt.Auth.Header); err != nil {
					return fmt.Errorf("%s.auth.header: %w", key, err)
				}
			}
			if rt.Auth.Scheme != "" || rt.Auth.Header == "" {
				if err := ValidateScheme(rt.Auth.Scheme); err != nil {
					return fmt.Errorf("%s.auth.scheme: %w (a route without a header needs a scheme for Authorization)", key, err)
				}
			}
			if !strings.HasPrefix(rt.Auth.TokenSlot, "EGRESS_TOKEN_") {
				return fmt.Errorf("%s.auth.token_slot: %q must be an EGRESS_TOKEN_<N> variable", key, rt.Auth.TokenSlot)
			}
		}
	}
	return nil
}

// LoadPipelock reads and validates a pipelock config.
func LoadPipelock(path string) (*Pipelock, error) {
	var p Pipelock
	if err := decodeFile(path, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// Validate checks the pipelock config; the error names the key and value.
func (p *Pipelock) Validate() error {
	for i, h := range p.Allowlist {
		if err := ValidateAllowHost(h); err != nil {
			return fmt.Errorf("allowlist[%d]: %w", i, err)
		}
	}
	for i, h := range p.Passthrough {
		if err := ValidateHost(h); err != nil {
			return fmt.Errorf("passthrough[%d]: %w", i, err)
		}
	}
	for i, c := range p.InjectedCredentials {
		if err := ValidateHost(c.Host); err != nil {
			return fmt.Errorf("injected_credentials[%d].host: %w", i, err)
		}
		if c.Header == "" {
			return fmt.Errorf("injected_credentials[%d].header: must name a header such as Authorization", i)
		}
		if len(c.SHA256) != 64 || strings.Trim(strings.ToLower(c.SHA256), "0123456789abcdef") != "" {
			return fmt.Errorf("injected_credentials[%d].sha256: %q is not 64 hex digits", i, c.SHA256)
		}
	}
	for i, pa := range p.PathAllowlists {
		if err := ValidateHost(pa.Host); err != nil {
			return fmt.Errorf("path_allowlists[%d].host: %w", i, err)
		}
		if len(pa.Paths) == 0 {
			return fmt.Errorf("path_allowlists[%d].paths: empty; drop the entry to allow any path", i)
		}
		for j, pp := range pa.Paths {
			if !strings.HasPrefix(pp, "/") {
				return fmt.Errorf("path_allowlists[%d].paths[%d]: %q must start with /", i, j, pp)
			}
		}
	}
	for i, h := range p.ResponsesUnread {
		if err := ValidateHost(h); err != nil {
			return fmt.Errorf("responses_unread[%d]: %w", i, err)
		}
	}
	if p.MaxBodyBytes < 0 {
		return fmt.Errorf("max_body_bytes: %d must not be negative", p.MaxBodyBytes)
	}
	return nil
}

// LoadGate reads and validates a gate file.
func LoadGate(path string) (*Gate, error) {
	var g Gate
	if err := decodeFile(path, &g); err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &g, nil
}

// Validate checks the gate file; the error names the key and value.
func (g *Gate) Validate() error {
	seen := map[string]bool{}
	for i, r := range g.Remotes {
		key := fmt.Sprintf("remotes[%d]", i)
		if !ValidName(r.Name) {
			return fmt.Errorf("%s.name: %q must match [a-z][a-z0-9-]*", key, r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("%s.name: %q is declared twice", key, r.Name)
		}
		seen[r.Name] = true
		if r.Upstream == "" {
			return fmt.Errorf("%s.upstream: must be set", key)
		}
		if strings.TrimSpace(r.KnownHostKey) == "" {
			return fmt.Errorf("%s.known_host_key: must be set; the gate never trusts a host key on first use", key)
		}
	}
	return nil
}

// ValidName reports whether s matches [a-z][a-z0-9-]*.
func ValidName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateHost accepts a DNS name (no scheme, port, path or wildcard).
// ValidateAllowHost checks an allowlist entry: a host name, or a wildcard
// "*.example.com" that admits every name under it (not the name itself).
// A wildcard needs at least two labels after "*." ("*.com" would admit a
// whole top-level domain).
func ValidateAllowHost(h string) error {
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		if strings.Count(rest, ".") < 1 {
			return fmt.Errorf("%q admits a whole top-level domain; a wildcard needs two labels after \"*.\", like *.githubusercontent.com", h)
		}
		if err := ValidateHost(rest); err != nil {
			return fmt.Errorf("wildcard %q: %w", h, err)
		}
		return nil
	}
	if strings.Contains(h, "*") {
		return fmt.Errorf("%q: a wildcard may only be a leading \"*.\", like *.githubusercontent.com", h)
	}
	return ValidateHost(h)
}

func ValidateHost(h string) error {
	if h == "" {
		return errors.New("host must not be empty")
	}
	if len(h) > 253 {
		return fmt.Errorf("%q is longer than 253 characters", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q is not a host name (empty or over-long label); give a bare name like api.example.com", h)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%q is not a host name (character %q); give a bare name like api.example.com, no scheme, port or path", h, c)
			}
		}
	}
	return nil
}

func decodeFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return fileio.DecodeJSON(path, data, v)
}
