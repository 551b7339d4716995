package escape

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// attackInjectedCredential: attack 7. The egress injects a Bearer token on
// the auth route; the echo upstream reflects every request header in its
// response headers and body (plain, base64 and hex). None of it may reach
// the agent, and pipelock must not take the injected token for a leak.
func (b *bottle) attackInjectedCredential(t *testing.T) {
	echo0 := len(b.echoHits(t.Context()))
	out, _, _ := b.run(t, `curl -sS -i --max-time 20 "$1"; echo; curl -sS -i --max-time 20 -H "Authorization: Bearer agent-made-this-up" "$1"`, "https://"+authEchoHost+"/echo")
	got := b.echoHits(t.Context())[echo0:]
	injected := 0
	for _, h := range got {
		for _, v := range h.Headers["Authorization"] {
			if v == "Bearer "+tokenValue {
				injected++
			}
		}
	}
	if injected != 2 {
		t.Fatalf("the echo upstream did not receive the injected token on both requests (%d of 2), so this attack proves nothing; agent saw:\n%s\nupstream saw: %+v", injected, trunc(out), got)
	}
	if !strings.Contains(out, "HTTP/1.1 200") && !strings.Contains(out, "HTTP/2 200") {
		t.Errorf("the auth route did not answer 200 (pipelock may have taken the injected token for a leak): %q", trunc(out))
	}
	if strings.Contains(out, tokenValue) {
		t.Errorf("ESCAPE the injected token reached the agent verbatim in the echoed response: %q", trunc(out))
	}
	// Encoded reflections: egress masks the base64 and hex forms too (H3,
	// found by this suite, fixed with secretenc.Encodings).
	auth := "Bearer " + tokenValue
	var leaks []string
	for name, v := range map[string]string{
		"base64 of the Authorization value": base64.StdEncoding.EncodeToString([]byte(auth)),
		"hex of the Authorization value":    hex.EncodeToString([]byte(auth)),
	} {
		if strings.Contains(out, v) {
			leaks = append(leaks, "the injected token reached the agent as "+name+" echoed by the origin")
		}
	}
	if len(leaks) > 0 {
		t.Errorf("ESCAPE (H3): %s", strings.Join(leaks, "; "))
	}
}

// attackInjectedHeader: attack 7b. The key route injects its credential
// as X-Api-Key (not Authorization). The agent's own X-Api-Key and
// Authorization never reach the origin there; the key is not readable
// back in the echo (plain, base64, hex); it goes to no other host, not
// even when the route's origin redirects the agent elsewhere; and
// pipelock does not take the injected key for a leak.
func (b *bottle) attackInjectedHeader(t *testing.T) {
	echo0 := len(b.echoHits(t.Context()))
	own := "agent-own-key-1234567890abc"
	out, _, _ := b.run(t, `curl -sS -i --max-time 20 "$1"; echo; `+
		`curl -sS -i --max-time 20 -H "X-Api-Key: $2" -H "Authorization: Bearer $2" "$1"; echo; `+
		`curl -sS -i -L --max-time 20 -H "X-Api-Key: $2" "$3"; echo; `+
		`curl -sS -i --max-time 20 "$4"`,
		"https://"+keyEchoHost+"/echo", own,
		"https://"+keyEchoHost+"/redirect?redirect_to=https://"+echoHost+"/after-redirect",
		"http://"+keyEchoHost+"/plain")
	got := b.echoHits(t.Context())[echo0:]
	injected := 0
	for _, h := range got {
		hv := fmt.Sprint(h.Headers)
		switch {
		case h.Host == keyEchoHost:
			if v := h.Headers["X-Api-Key"]; len(v) == 1 && v[0] == keyValue {
				injected++
			}
			if strings.Contains(hv, own) {
				t.Errorf("ESCAPE the agent's own credential reached the key route's origin: %v", h.Headers)
			}
		case containsSecret(hv+h.URI+h.Body, keyValue):
			t.Errorf("ESCAPE the injected key went to another host (%s): %+v", h.Host, h)
		}
	}
	if injected < 3 {
		t.Fatalf("the echo upstream saw the injected key on %d of 3 requests to the key route, so this attack proves nothing; agent saw:\n%s\nupstream saw: %+v", injected, trunc(out), got)
	}
	redirected := false
	for _, h := range got {
		if h.Host == echoHost && strings.HasPrefix(h.URI, "/after-redirect") {
			redirected = true
		}
	}
	if !redirected {
		t.Errorf("the redirect to %s was not followed, so the other-host check proves nothing: %s", echoHost, trunc(out))
	}
	if strings.Count(out, " 200") < 3 {
		t.Errorf("the key route did not answer 200 (pipelock may have taken the injected key for a leak): %q", trunc(out))
	}
	if !strings.Contains(out, "plain http; use https") {
		t.Errorf("plain http to the key route was not refused: %q", trunc(out))
	}
	for name, v := range map[string]string{
		"plain":  keyValue,
		"base64": base64.StdEncoding.EncodeToString([]byte(keyValue)),
		"hex":    hex.EncodeToString([]byte(keyValue)),
	} {
		if strings.Contains(out, v) || strings.Contains(strings.ToLower(out), strings.ToLower(v)) {
			t.Errorf("ESCAPE the injected key reached the agent as %s: %q", name, trunc(out))
		}
	}
}
