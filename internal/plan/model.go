package plan

import (
	"fmt"
	"strconv"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// The values the agent's env holds instead of the model credential. They
// are not secrets (they are in this source file): Claude Code needs a
// value in the variable to send requests at all, and egress replaces what
// it sends with the real credential. They have the shape of real ones
// (sk-ant-api03-..., sk-ant-oat01-...) so a client checking the prefix is
// content, and say what they are to anyone who reads them.
const (
	APIKeyPlaceholder = "sk-ant-api03-claude-bottle-placeholder-egress-injects-the-real-key"
	OAuthPlaceholder  = "sk-ant-oat01-claude-bottle-placeholder-egress-injects-the-real-token"
)

// Model is how Claude Code in the bottle reaches its model.
type Model struct {
	// Kind is manifest.ClaudeOAuth, manifest.ClaudeAPIKey, or "" when the
	// bottle declares only a gateway.
	Kind string
	// TokenRef is the host variable holding the credential.
	TokenRef string
	// EnvVar is the agent variable that holds Placeholder
	// (ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN).
	EnvVar, Placeholder string
	// Host and Port are where the requests go: api.anthropic.com:443 or
	// the gateway's.
	Host string
	Port int
	// BaseURL is the gateway's URL (the agent's ANTHROPIC_BASE_URL), "" for
	// the default host.
	BaseURL string
}

// modelHost is where Claude Code's requests go: the gateway's host, or
// api.anthropic.com when the bottle names none.
func (p *Plan) modelHost() string {
	if p.Model != nil && p.Model.Host != "" {
		return p.Model.Host
	}
	return manifest.DefaultModelHost
}

// Credentialed reports whether egress injects a model credential.
func (m *Model) Credentialed() bool { return m != nil && m.Kind != "" }

// planModel turns the bottle's claude: key into the model route: egress
// intercepts the model host, drops what the agent sends as credential and
// injects the real one in the header its kind uses.
func (p *Plan) planModel() {
	c := p.Bottle.Claude
	if c == nil {
		return
	}
	host, port, err := manifest.ModelHostPort(c.BaseURL)
	if err != nil {
		// The manifest checked it; a plan built by hand must not get far.
		panic(fmt.Sprintf("plan: claude.base_url %q: %v", c.BaseURL, err))
	}
	m := &Model{Host: host, Port: port, BaseURL: c.BaseURL}
	if c.Auth != nil {
		m.Kind, m.TokenRef = c.Auth.Kind, c.Auth.TokenRef
		switch m.Kind {
		case manifest.ClaudeAPIKey:
			m.EnvVar, m.Placeholder = "ANTHROPIC_API_KEY", APIKeyPlaceholder
		default:
			m.EnvVar, m.Placeholder = "CLAUDE_CODE_OAUTH_TOKEN", OAuthPlaceholder
		}
	}
	p.Model = m
}

// modelAuth is the model route's credential: x-api-key: <key> for an API
// key, Authorization: Bearer <token> for an OAuth token (Claude Code sends
// each kind so).
func (m *Model) auth(slot string) *sidecarconfig.Auth {
	if !m.Credentialed() {
		return nil
	}
	if m.Kind == manifest.ClaudeAPIKey {
		return &sidecarconfig.Auth{Header: "x-api-key", TokenSlot: slot}
	}
	return &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: slot}
}

// Describe says, for the plan, how the model is reached.
func (m *Model) describe() string {
	where := m.Host
	if m.Port != 443 {
		where += ":" + strconv.Itoa(m.Port)
	}
	if m.BaseURL != "" {
		where = fmt.Sprintf("gateway %s (ANTHROPIC_BASE_URL)", m.BaseURL)
	}
	if !m.Credentialed() {
		return fmt.Sprintf("%s through egress, no credential injected (the gateway needs none from the bottle)", where)
	}
	a := m.auth("")
	return fmt.Sprintf("%s through egress; the %s credential from host ${%s} is injected as %s: %s, the agent holds only the placeholder %s (pipelock inspects the model host)",
		where, m.Kind, m.TokenRef, a.HeaderName(), a.Value("<real value>"), m.EnvVar)
}
