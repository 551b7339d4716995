package manifest

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// DefaultModelHost is where Claude Code sends its requests unless a
// gateway is declared.
const DefaultModelHost = "api.anthropic.com"

// ClaudeEnv are the variables through which Claude Code takes its model
// credential and endpoint. The claude: key sets them; an env: entry for
// one would hand the agent the real credential, which is what claude.auth
// exists to avoid.
var ClaudeEnv = []string{"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"}

func (d decoder) claude(n *yaml.Node) (*Claude, error) {
	_, f, err := d.mapping(n, "claude", claudeKeys)
	if err != nil {
		return nil, err
	}
	if len(f) == 0 {
		return nil, d.errf(n, "claude", "is empty; give auth: {kind: oauth, token_ref: CLAUDE_CODE_OAUTH_TOKEN} (a token from `claude setup-token`) or remove claude")
	}
	c := &Claude{}
	if an, ok := f["auth"]; ok {
		_, af, err := d.mapping(an, "claude.auth", claudeAuthKeys)
		if err != nil {
			return nil, err
		}
		var a ClaudeAuth
		kn, ok := af["kind"]
		if !ok {
			return nil, d.errf(an, "claude.auth.kind", "is required: oauth (a token from `claude setup-token`) or api_key (a Console API key)")
		}
		if a.Kind, err = d.nonEmpty(kn, "claude.auth.kind"); err != nil {
			return nil, err
		}
		if !contains(claudeKinds, a.Kind) {
			msg := fmt.Sprintf("%q is not a credential kind; use oauth (a token from `claude setup-token`) or api_key (a Console API key)", a.Kind)
			if s := suggest(a.Kind, claudeKinds); s != "" {
				msg = fmt.Sprintf("%q is not a credential kind; did you mean %q?", a.Kind, s)
			}
			return nil, d.errf(kn, "claude.auth.kind", "%s", msg)
		}
		tn, ok := af["token_ref"]
		if !ok {
			want := "CLAUDE_CODE_OAUTH_TOKEN"
			if a.Kind == ClaudeAPIKey {
				want = "ANTHROPIC_API_KEY"
			}
			return nil, d.errf(an, "claude.auth.token_ref", "is required: the host environment variable holding the credential (e.g. %s)", want)
		}
		if a.TokenRef, err = d.nonEmpty(tn, "claude.auth.token_ref"); err != nil {
			return nil, err
		}
		if !envNameRE.MatchString(a.TokenRef) {
			return nil, d.errf(tn, "claude.auth.token_ref", "%q is not an environment variable name; name the host variable, like CLAUDE_CODE_OAUTH_TOKEN, not its value", a.TokenRef)
		}
		c.Auth = &a
	}
	if un, ok := f["base_url"]; ok {
		if c.BaseURL, err = d.nonEmpty(un, "claude.base_url"); err != nil {
			return nil, err
		}
		if _, _, err := ModelHostPort(c.BaseURL); err != nil {
			return nil, d.errf(un, "claude.base_url", "%v", err)
		}
	}
	return c, nil
}

// claudeConflicts refuses a route of the bottle's own to the model host:
// the claude: key makes that route.
func (d decoder) claudeConflicts(b *Bottle, top map[string]*yaml.Node) error {
	host, _, _ := ModelHostPort(b.Claude.BaseURL)
	for i, r := range b.Routes {
		if strings.EqualFold(r.Host, host) {
			return d.errf(top["egress"], fmt.Sprintf("egress.routes[%d].host", i), "%q is the model host of the claude: key, which makes its route; remove this route", r.Host)
		}
	}
	return nil
}

// ModelHostPort is the host and port Claude Code's requests go to for a
// base URL ("" = the default host). A base URL must be https (egress
// injects credentials over TLS only) with no user info, query or fragment.
func ModelHostPort(baseURL string) (host string, port int, err error) {
	if baseURL == "" {
		return DefaultModelHost, 443, nil
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not a URL: %v", baseURL, err)
	}
	if u.Scheme != "https" {
		return "", 0, fmt.Errorf("%q must be an https:// URL (egress injects the model credential over TLS only)", baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", 0, fmt.Errorf("%q must be scheme, host, optional port and path only (no user, query or fragment)", baseURL)
	}
	host = u.Hostname()
	if err := sidecarconfig.ValidateHost(host); err != nil {
		return "", 0, fmt.Errorf("%q: %v", baseURL, err)
	}
	port = 443
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("%q: port %q is not a number from 1 to 65535", baseURL, p)
		}
		port = n
	}
	return strings.ToLower(host), port, nil
}
