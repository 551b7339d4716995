package plan

import (
	"bytes"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// TestModelRoute: the claude: key becomes an egress route to the model
// host that injects the credential in the header its kind uses, a
// placeholder in the agent's matching variable, and a host variable
// checked before start. The real value appears nowhere in the plan.
func TestModelRoute(t *testing.T) {
	for _, tc := range []struct {
		name      string
		claude    string
		host      string
		auth      *sidecarconfig.Auth
		env       map[string]string // agent env the plan must hold
		absentEnv []string
	}{
		{"oauth", "claude:\n  auth: { kind: oauth, token_ref: CLAUDE_CODE_OAUTH_TOKEN }\n", "api.anthropic.com",
			&sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_1"},
			map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": OAuthPlaceholder}, []string{"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"}},
		{"api key", "claude:\n  auth: { kind: api_key, token_ref: MY_KEY }\n", "api.anthropic.com",
			&sidecarconfig.Auth{Header: "x-api-key", TokenSlot: "EGRESS_TOKEN_1"},
			map[string]string{"ANTHROPIC_API_KEY": APIKeyPlaceholder}, []string{"CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_BASE_URL"}},
		{"gateway", "claude:\n  auth: { kind: api_key, token_ref: MY_KEY }\n  base_url: https://GW.example.com:8443/anthropic\n", "gw.example.com",
			&sidecarconfig.Auth{Header: "x-api-key", TokenSlot: "EGRESS_TOKEN_1"},
			map[string]string{"ANTHROPIC_API_KEY": APIKeyPlaceholder, "ANTHROPIC_BASE_URL": "https://GW.example.com:8443/anthropic"}, []string{"CLAUDE_CODE_OAUTH_TOKEN"}},
		{"gateway without credential", "claude:\n  base_url: https://gw.example.com\n", "gw.example.com", nil,
			map[string]string{"ANTHROPIC_BASE_URL": "https://gw.example.com"}, []string{"CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"}},
		{"shares a route's slot", "claude:\n  auth: { kind: oauth, token_ref: GH_PAT }\n", "api.anthropic.com",
			&sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"},
			map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": OAuthPlaceholder}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "---\n" + tc.claude + "egress:\n  routes:\n    - host: api.github.com\n      auth: { scheme: Bearer, token_ref: GH_PAT }\n---\n"
			b := mustBottle(t, src)
			p, err := New(&manifest.Agent{Name: "a", Bottle: "b"}, b, Options{Slug: "a-abcde", Home: "/h"})
			if err != nil {
				t.Fatal(err)
			}
			if !p.Has("egress") {
				t.Fatal("no egress daemon for the model route")
			}
			rts := p.Routes.Routes
			if len(rts) != 2 || rts[0].Host != "api.github.com" || rts[1].Host != tc.host {
				t.Fatalf("routes = %+v; want the bottle's, then the model host %s", rts, tc.host)
			}
			got := rts[1].Auth
			if (got == nil) != (tc.auth == nil) || got != nil && *got != *tc.auth {
				t.Fatalf("model route auth = %+v; want %+v", got, tc.auth)
			}
			if !contains(p.Pipelock.Allowlist, tc.host) {
				t.Errorf("pipelock allowlist %v lacks the model host", p.Pipelock.Allowlist)
			}
			env := map[string]string{}
			for _, e := range p.AgentEnv {
				env[e.Key] = e.Value
			}
			for k, v := range tc.env {
				if env[k] != v {
					t.Errorf("agent env %s = %q; want %q", k, env[k], v)
				}
			}
			for _, k := range tc.absentEnv {
				if _, ok := env[k]; ok {
					t.Errorf("agent env has %s; want it absent", k)
				}
			}
			if tc.auth != nil {
				err := p.MissingHostEnv(func(k string) (string, bool) { return "", k == "GH_PAT" })
				if b.Claude.Auth.TokenRef != "GH_PAT" && (err == nil || !strings.Contains(err.Error(), b.Claude.Auth.TokenRef+" (claude.auth.token_ref")) {
					t.Errorf("missing model credential: %v; want it named with its key", err)
				}
			}
			var out bytes.Buffer
			p.Describe(&out)
			if !strings.Contains(out.String(), "model:        ") || !strings.Contains(out.String(), "through egress") {
				t.Errorf("the plan does not say how the model is reached:\n%s", out.String())
			}
			if tc.auth != nil && !strings.Contains(out.String(), "injected as") {
				t.Errorf("the plan does not say the credential is injected:\n%s", out.String())
			}
		})
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
