package escape

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// The attacks of issue 15 on the two proxies (holes 2, 3, 6, 7, 8 and the
// log-escaping minor). Each fails on the code before its fix.

// attackStatusLine: hole 2. The auth route's origin answers with the
// injected Authorization value as its reason phrase and the token as a
// response header name (which Go's client case-folds: "X-Esctoken-..."),
// so exact masking misses it. Neither may reach the agent: egress
// rebuilds the status line from the code and masks header names.
func (b *bottle) attackStatusLine(t *testing.T) {
	echo0 := len(b.echoHits(t.Context()))
	out, _, _ := b.run(t, `curl -sS -i --suppress-connect-headers --http1.1 --max-time 20 "$1"`, "https://"+authEchoHost+"/reason")
	sent := false
	for _, h := range b.echoHits(t.Context())[echo0:] {
		if h.URI == "/reason" && len(h.Headers["Authorization"]) == 1 && h.Headers["Authorization"][0] == "Bearer "+tokenValue {
			sent = true
		}
	}
	if !sent {
		t.Fatalf("the origin never received the injected token, so it had nothing to hand back; agent saw %q", trunc(out))
	}
	if !strings.HasPrefix(out, "HTTP/1.1 200 ") {
		t.Fatalf("the origin's answer did not reach the agent, so this proves nothing: %q", trunc(out))
	}
	if strings.Contains(strings.ToLower(out), strings.ToLower(tokenValue)) {
		t.Errorf("ESCAPE the injected token reached the agent in the status line or a header name: %q", trunc(out))
	}
	if line, _, _ := strings.Cut(out, "\r\n"); line != "HTTP/1.1 200 OK" {
		t.Errorf("status line %q; want egress's own \"HTTP/1.1 200 OK\"", line)
	}
}

// attackInjectedAsSecret: hole 2, the second half. Had the agent got an
// injected credential anyway, it could not send it on: egress's tokens are
// known secrets of pipelock everywhere except in their own header to their
// own route host, in every encoding pipelock knows.
func (b *bottle) attackInjectedAsSecret(t *testing.T) {
	type tc struct {
		name string
		args []string
	}
	u := "https://" + echoHost
	cases := []tc{{"control", []string{"--data-binary", "harmless-value-0000000", u + "/b"}}}
	for tname, tok := range map[string]string{"bearer token": tokenValue, "api key": keyValue} {
		for enc, v := range encodings(tok) {
			cases = append(cases,
				tc{tname + " " + enc + " in body", []string{"--data-binary", v, u + "/b"}},
				tc{tname + " " + enc + " in header", []string{"-H", "X-Data: " + v, u + "/h"}})
		}
		cases = append(cases,
			tc{tname + " in path", []string{u + "/p/" + tok}},
			tc{tname + " to pipelock directly", []string{"-x", b.pipelock, "-H", "X-Data: " + tok, "http://" + echoHost + "/h"}},
			// Its own header, but to another host: a leak too.
			tc{tname + " as Authorization to another host", []string{"-H", "Authorization: Bearer " + tok, u + "/a"}},
			tc{tname + " as X-Api-Key to another host", []string{"-H", "X-Api-Key: " + tok, u + "/a"}})
	}
	calls := make([][]string, len(cases))
	for i, c := range cases {
		calls[i] = c.args
	}
	echo0 := len(b.echoHits(t.Context()))
	res := b.curlMany(t, calls)
	for i, c := range cases {
		if c.name == "control" {
			if res[i].Code != "200" {
				t.Fatalf("the control request failed, so the attacks prove nothing: %s", res[i])
			}
			continue
		}
		wantBlocked(t, c.name, res[i], "dlp.known-secret")
	}
	for _, h := range b.echoHits(t.Context())[echo0:] {
		all := fmt.Sprint(h.Headers) + h.URI + h.Body
		for _, tok := range []string{tokenValue, keyValue} {
			if containsSecret(all, tok) {
				t.Errorf("ESCAPE an injected credential reached the echo from the agent: %+v", h)
			}
		}
	}
}

// attackMethod: hole 3. A known secret as the HTTP method (curl -X
// "$SECRET") is blocked as one; any other unregistered method too.
func (b *bottle) attackMethod(t *testing.T) {
	cases := []struct {
		name string
		args []string
		ok   bool
		rule string
	}{
		{"control PATCH", []string{"-X", "PATCH", "https://" + echoHost + "/m"}, true, ""},
		{"secret as method, https", []string{"-X", secretValue, "https://" + echoHost + "/m"}, false, "dlp.known-secret"},
		{"secret as method, http", []string{"-X", secretValue, "http://" + echoHost + "/m"}, false, "dlp.known-secret"},
		{"secret as method, pipelock directly", []string{"-x", b.pipelock, "-X", secretValue, "http://" + echoHost + "/m"}, false, "dlp.known-secret"},
		{"hex of the secret as method", []string{"-X", hex.EncodeToString([]byte(secretValue)), "https://" + echoHost + "/m"}, false, "dlp.known-secret"},
		// A private encoding pipelock cannot know: no method but a
		// registered one passes.
		{"unregistered method", []string{"-X", "ZZZ-" + strings.ToUpper(hex.EncodeToString([]byte("private"))), "https://" + echoHost + "/m"}, false, "method"},
	}
	calls := make([][]string, len(cases))
	for i, c := range cases {
		calls[i] = c.args
	}
	echo0 := len(b.echoHits(t.Context()))
	res := b.curlMany(t, calls)
	for i, c := range cases {
		if c.ok {
			if res[i].Code != "200" {
				t.Fatalf("%s: the control request failed, so the attacks prove nothing: %s", c.name, res[i])
			}
			continue
		}
		wantBlocked(t, c.name, res[i], c.rule)
	}
	for _, h := range b.echoHits(t.Context())[echo0:] {
		if h.Method != "PATCH" {
			t.Errorf("ESCAPE a request with method %q reached the echo", h.Method)
		}
	}
}

// attackRoutePort: hole 8. The route credential is for the route's host
// on its port (443): a request to another port of that host, asked for
// directly or switched to inside the tunnel (--connect-to: CONNECT to
// :443, Host naming :8443), never carries it.
func (b *bottle) attackRoutePort(t *testing.T) {
	echo0 := len(b.echoHits(t.Context()))
	res := b.curlMany(t, [][]string{
		{"https://" + authEchoHost + "/control"},
		{"https://" + authEchoHost + ":8443/other-port"},
		{"--connect-to", authEchoHost + ":8443:" + authEchoHost + ":443", "https://" + authEchoHost + ":8443/port-switch"},
	})
	if res[0].Code != "200" {
		t.Fatalf("the control request to the route failed, so the attacks prove nothing: %s", res[0])
	}
	if res[2].Code == "200" {
		t.Errorf("a request for :8443 inside a tunnel to :443 got through: %s", res[2])
	}
	reached := false
	for _, h := range b.echoHits(t.Context())[echo0:] {
		if strings.HasSuffix(h.Host, ":8443") {
			reached = reached || h.URI == "/other-port"
			if containsSecret(fmt.Sprint(h.Headers)+h.URI, tokenValue) {
				t.Errorf("ESCAPE the route credential went to another port of the route host: %+v", h)
			}
		}
	}
	if !reached {
		t.Errorf("the request to %s:8443 never reached the echo, so the credential check proves nothing: %s", authEchoHost, res[1])
	}
}

// attackPathAllowlistDirect: hole 7. A route's path_allowlist holds when
// the agent skips egress and asks pipelock directly.
func (b *bottle) attackPathAllowlistDirect(t *testing.T) {
	cases := []struct {
		name string
		args []string
		ok   bool
	}{
		{"control via egress", []string{"https://" + pathEchoHost + "/allowed/x"}, true},
		{"control via pipelock", []string{"-x", b.pipelock, "https://" + pathEchoHost + "/allowed/x"}, true},
		{"other path via egress", []string{"https://" + pathEchoHost + "/denied"}, false},
		{"other path via pipelock, https", []string{"-x", b.pipelock, "https://" + pathEchoHost + "/denied"}, false},
		{"other path via pipelock, http", []string{"-x", b.pipelock, "http://" + pathEchoHost + "/denied"}, false},
		{"dot segments via pipelock", []string{"-x", b.pipelock, "--path-as-is", "https://" + pathEchoHost + "/allowed/../denied"}, false},
		{"prefix without a segment boundary via pipelock", []string{"-x", b.pipelock, "https://" + pathEchoHost + "/allowedx"}, false},
	}
	calls := make([][]string, len(cases))
	for i, c := range cases {
		calls[i] = c.args
	}
	echo0 := len(b.echoHits(t.Context()))
	res := b.curlMany(t, calls)
	for i, c := range cases {
		if c.ok {
			if res[i].Code != "200" {
				t.Errorf("%s: the control request failed, so the attacks prove nothing: %s", c.name, res[i])
			}
			continue
		}
		wantBlocked(t, c.name, res[i], "path-allowlist")
	}
	for _, h := range b.echoHits(t.Context())[echo0:] {
		if h.Host == pathEchoHost && !strings.HasPrefix(h.URI, "/allowed/") {
			t.Errorf("ESCAPE a path outside the route's path_allowlist reached its host: %+v", h)
		}
	}
}

// attackModelHost: hole 6. Without a declared model credential the model
// host is intercepted and scanned like any other host: a known secret
// sent there (say with the attacker's own API key, to read it back later
// through the Files API) is blocked. modelHost resolves to the echo inside
// pipelock (a network alias), so nothing leaves the machine; -k stands for
// an agent that ignores certificate errors.
func (b *bottle) attackModelHost(t *testing.T) {
	u := "https://" + modelHost
	res := b.curlMany(t, [][]string{
		{u + "/v1/control"},
		{"-k", "-H", "x-api-key: sk-ant-attacker-own-key", "--data-binary", secretValue, u + "/v1/files"},
		{"-k", "-H", "X-Data: " + base64.StdEncoding.EncodeToString([]byte(secretValue)), u + "/v1/messages"},
	})
	if res[0].Code != "200" {
		t.Errorf("the model host is not intercepted with the bottle's CA (a passthrough tunnel shows the origin's own certificate): %s", res[0])
	}
	wantBlocked(t, "secret in a body to the model host", res[1], "dlp.known-secret")
	wantBlocked(t, "base64 secret in a header to the model host", res[2], "dlp.known-secret")
	for _, h := range b.echoHits(t.Context()) {
		if h.Host == modelHost && containsSecret(fmt.Sprint(h.Headers)+h.URI+h.Body, secretValue) {
			t.Errorf("ESCAPE the secret reached the model host: %+v", h)
		}
	}
}

// attackLogEscape: issue 15's minor. What the agent writes (here a path
// with an 8-bit CSI, a bidi override and an OSC title sequence) lands in
// the sidecars' logs, and so in compose.log and the operator's terminal,
// only escaped.
func (b *bottle) attackLogEscape(t *testing.T) {
	path := "/log/%C2%9B2J%E2%80%AEevil%1B%5D0%3Bpwned%07"
	res := b.curlMany(t, [][]string{
		{"http://" + echoHost + path},
		{"https://" + authEchoHost + path},
		{"-x", b.pipelock, "http://" + echoHost + path},
	})
	if res[0].Code != "200" {
		t.Fatalf("the request did not get through, so its log lines prove nothing: %s", res[0])
	}
	containers := []string{layout.SidecarContainer("sidecars", b.p.Slug)}
	if !b.p.Bundle {
		containers = containers[:0]
		for _, d := range b.p.Daemons {
			containers = append(containers, layout.SidecarContainer(d, b.p.Slug))
		}
	}
	logged := false
	for _, c := range containers {
		s, err := engine.Logs(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		logged = logged || strings.Contains(s, "/log/")
		for name, raw := range map[string]string{"8-bit CSI": "\u009b", "bidi override": "\u202e", "ESC": "\x1b", "BEL": "\x07"} {
			if strings.Contains(s, raw) {
				t.Errorf("ESCAPE a raw %s from the agent reached %s's log", name, c)
			}
		}
	}
	if !logged {
		t.Errorf("no sidecar logged the request's path, so the check proves nothing")
	}
}
