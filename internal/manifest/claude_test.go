package manifest

import (
	"strings"
	"testing"
)

func TestClaudeKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want Claude
	}{
		{"oauth", "claude:\n  auth: { kind: oauth, token_ref: CLAUDE_CODE_OAUTH_TOKEN }\n", Claude{Auth: &ClaudeAuth{Kind: ClaudeOAuth, TokenRef: "CLAUDE_CODE_OAUTH_TOKEN"}}},
		{"api key and gateway", "claude:\n  auth: { kind: api_key, token_ref: MY_KEY }\n  base_url: https://gw.example.com:8443/anthropic\n", Claude{Auth: &ClaudeAuth{Kind: ClaudeAPIKey, TokenRef: "MY_KEY"}, BaseURL: "https://gw.example.com:8443/anthropic"}},
		{"gateway only", "claude:\n  base_url: https://gw.example.com\n", Claude{BaseURL: "https://gw.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseBottle("b", "/h/b.md", []byte("---\n"+tc.src+"---\n"))
			if err != nil {
				t.Fatal(err)
			}
			got := b.Claude
			if got == nil || got.BaseURL != tc.want.BaseURL || (got.Auth == nil) != (tc.want.Auth == nil) || got.Auth != nil && *got.Auth != *tc.want.Auth {
				t.Fatalf("claude = %+v (auth %+v); want %+v", got, got.Auth, tc.want)
			}
		})
	}
}

// TestBadClaudeKey: errors name the file, the line and the key, and say
// what to write instead.
func TestBadClaudeKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"kind typo", "claude:\n  auth: { kind: oath, token_ref: T }\n", []string{"b.md:3", "key claude.auth.kind", `did you mean "oauth"`}},
		{"kind unknown", "claude:\n  auth: { kind: password, token_ref: T }\n", []string{"claude.auth.kind", "use oauth", "api_key"}},
		{"no kind", "claude:\n  auth: { token_ref: T }\n", []string{"b.md:3", "claude.auth.kind", "is required"}},
		{"no token_ref", "claude:\n  auth: { kind: api_key }\n", []string{"claude.auth.token_ref", "ANTHROPIC_API_KEY"}},
		{"token value not a name", "claude:\n  auth: { kind: oauth, token_ref: sk-ant-oat01-xyz }\n", []string{"claude.auth.token_ref", "not an environment variable name"}},
		{"key typo", "claude:\n  auht: { kind: oauth, token_ref: T }\n", []string{"b.md:3", "claude.auht", `did you mean "auth"`}},
		{"token typo", "claude:\n  auth: { kind: oauth, tokenref: T }\n", []string{"claude.auth.tokenref", `did you mean "token_ref"`}},
		{"top typo", "claud:\n  auth: { kind: oauth, token_ref: T }\n", []string{"b.md:2", `did you mean "claude"`}},
		{"empty", "claude: {}\n", []string{"key claude", "is empty"}},
		{"http base", "claude:\n  base_url: http://gw.example.com\n", []string{"b.md:3", "claude.base_url", "https://"}},
		{"base with query", "claude:\n  base_url: https://gw.example.com/?k=v\n", []string{"claude.base_url", "no user, query"}},
		{"base with user", "claude:\n  base_url: https://u:p@gw.example.com/\n", []string{"claude.base_url", "no user"}},
		{"base bad port", "claude:\n  base_url: https://gw.example.com:99999/\n", []string{"claude.base_url", "port"}},
		{"base IP", "claude:\n  base_url: https://[::1]/\n", []string{"claude.base_url", "not a host name"}},
		{"route to the model host", "claude:\n  auth: { kind: oauth, token_ref: T }\negress:\n  routes: [{host: API.anthropic.com}]\n", []string{"egress.routes[0].host", "model host"}},
		{"route to the gateway", "claude:\n  base_url: https://gw.example.com\negress:\n  routes: [{host: gw.example.com}]\n", []string{"egress.routes[0].host", "model host"}},
		{"credential in env", "env:\n  ANTHROPIC_API_KEY: ${ANTHROPIC_API_KEY}\n", []string{"b.md:3", "env.ANTHROPIC_API_KEY", "claude: {auth:"}},
		{"oauth token in env", "env:\n  CLAUDE_CODE_OAUTH_TOKEN: x\nclaude:\n  auth: { kind: oauth, token_ref: T }\n", []string{"env.CLAUDE_CODE_OAUTH_TOKEN", "placeholder"}},
		{"base url in env", "env:\n  ANTHROPIC_BASE_URL: https://x.example.com\n", []string{"env.ANTHROPIC_BASE_URL", "base_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const file = "/h/.claude-bottle/bottles/b.md"
			_, err := ParseBottle("b", file, []byte("---\n"+tc.src+"---\n"))
			if err == nil {
				t.Fatalf("no error for %q", tc.src)
			}
			for _, w := range append(tc.want, file) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func FuzzModelHostPort(f *testing.F) {
	for _, s := range []string{"", "https://api.anthropic.com", "https://gw.example.com:8443/x", "http://a", "https://[::1]:1/", "https://a:0", "https://a.b./", "https://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, p, err := ModelHostPort(in)
		if err != nil {
			return
		}
		if h == "" || h != strings.ToLower(h) || p < 1 || p > 65535 || strings.ContainsAny(h, ":/[]@ ") {
			t.Fatalf("ModelHostPort(%q) = %q, %d", in, h, p)
		}
	})
}
