package escape

import (
	"encoding/base64"
	"encoding/hex"
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
