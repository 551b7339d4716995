package egress

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// TestInjectAnyHeader: a route may put its credential in a header of its
// own (x-api-key APIs, GitLab's PRIVATE-TOKEN), with or without a scheme.
// The agent's value of that header, and any credential header of its own,
// never reach the origin; the token never comes back to the agent.
func TestInjectAnyHeader(t *testing.T) {
	for _, tc := range []struct {
		name      string
		auth      sidecarconfig.Auth
		wantKey   string // X-Api-Key the origin must see
		wantAuth  string // Authorization the origin must see
		maskedKey string // what the agent reads back in the echo
	}{
		{"bare token in x-api-key", sidecarconfig.Auth{Header: "x-api-key", TokenSlot: "EGRESS_TOKEN_0"}, tokenA, "", strings.Repeat("*", len(tokenA))},
		{"scheme in a custom header", sidecarconfig.Auth{Header: "X-Api-Key", Scheme: "Token", TokenSlot: "EGRESS_TOKEN_0"}, "Token " + tokenA, "", "Token " + strings.Repeat("*", len(tokenA))},
		{"oauth in Authorization drops the agent's x-api-key", sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}, "", "Bearer " + tokenA, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, &sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: hostAPI, Auth: &tc.auth}}})
			for _, h2 := range []bool{false, true} {
				c := e.client(t, h2)
				before := len(e.origin.requests())
				resp, body := get(t, c, "GET", e.url("https", hostAPI, "/v1/echo"), map[string]string{
					"X-Api-Key":           "agent-own-key-0123456789",
					"Authorization":       "Bearer agent-own-oauth",
					"Proxy-Authorization": "Basic YWdlbnQ6b3du",
				}, nil)
				if resp.StatusCode != 200 {
					t.Fatalf("h2=%v: got %d %q", h2, resp.StatusCode, body)
				}
				reqs := e.origin.requests()[before:]
				if len(reqs) != 1 || reqs[0].Key != tc.wantKey || reqs[0].Auth != tc.wantAuth {
					t.Fatalf("h2=%v: origin saw %+v; want X-Api-Key %q, Authorization %q", h2, reqs, tc.wantKey, tc.wantAuth)
				}
				if tc.maskedKey != "" && !strings.Contains(body, fmt.Sprintf(`"Key":%q`, tc.maskedKey)) {
					t.Errorf("h2=%v: agent read %q; want the key masked as %q", h2, body, tc.maskedKey)
				}
				all := body + fmt.Sprint(resp.Header)
				for _, form := range []string{tokenA, base64.StdEncoding.EncodeToString([]byte(tokenA)), hex.EncodeToString([]byte(tokenA))} {
					if strings.Contains(all, form) {
						t.Errorf("h2=%v: the token reached the agent as %q: %s", h2, form, all)
					}
				}
				if strings.Contains(all, "agent-own") {
					t.Errorf("h2=%v: the agent's own credential reached the origin: %s", h2, all)
				}
			}
		})
	}
}

// TestHeaderRouteLeavesOtherHosts: the header credential is injected on
// its route only; a host without a route gets the agent's headers as sent.
func TestHeaderRouteLeavesOtherHosts(t *testing.T) {
	e := newEnv(t, &sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: hostAPI, Auth: &sidecarconfig.Auth{Header: "X-Api-Key", TokenSlot: "EGRESS_TOKEN_0"}}}})
	before := len(e.origin.requests())
	resp, body := get(t, e.client(t, false), "GET", e.url("https", hostOther, "/x"), map[string]string{"X-Api-Key": "agent-own"}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if reqs := e.origin.requests()[before:]; len(reqs) != 1 || reqs[0].Key != "agent-own" {
		t.Fatalf("origin saw %+v; want the agent's own X-Api-Key and no token", reqs)
	}
}
