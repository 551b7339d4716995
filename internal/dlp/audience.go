package dlp

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
)

// A JWT in a query value whose audience ("aud") is the very host the
// request goes to is the host's own ticket, not a credential leaving:
// GitHub redirects every release download to
// release-assets.githubusercontent.com with ?jwt=<token for that host>,
// and dlp.jwt (and gitleaks' rule) would refuse the redirect. Sending a
// token to its own audience is how it is used; a stolen one addressed to
// another service still trips the rules. The token's payload is still
// read by every other rule (a known secret or a provider key inside it
// is caught), and only query values are spared: a JWT in a header or a
// body is judged as before.

// audienceJWTs returns u's raw query with the values of such JWTs
// blanked, and what to scan in their place: each one's decoded claims
// and its segments one per line.
func audienceJWTs(u *url.URL) (query string, payloads [][]byte) {
	if !strings.Contains(u.RawQuery, "eyJ") {
		return u.RawQuery, nil
	}
	host := strings.ToLower(u.Hostname())
	parts := strings.Split(u.RawQuery, "&")
	for i, kv := range parts {
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		v, err := url.QueryUnescape(val)
		if err != nil {
			continue
		}
		if p, ok := jwtPayloadFor(v, host); ok {
			parts[i] = name + "="
			// The decoded claims, and the three segments apart (no longer
			// a JWT's shape): every other rule still reads all of it, so
			// a known secret in the claims or packed into a forged
			// "signature" is still found.
			payloads = append(payloads, p, []byte(strings.ReplaceAll(v, ".", "\n")))
		}
	}
	return strings.Join(parts, "&"), payloads
}

// jwtPayloadFor returns tok's decoded payload when tok is a JWT (a JSON
// header with "alg", a JSON object payload, a signature) whose "aud" (a
// string or a list, a host or a URL) names host.
func jwtPayloadFor(tok, host string) ([]byte, bool) {
	seg := strings.Split(tok, ".")
	if host == "" || len(seg) != 3 || len(seg[2]) < 16 {
		return nil, false
	}
	h, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg[0], "="))
	if err != nil {
		return nil, false
	}
	var head struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(h, &head) != nil || head.Alg == "" {
		return nil, false
	}
	p, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg[1], "="))
	if err != nil {
		return nil, false
	}
	var claims struct {
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(p, &claims) != nil || len(claims.Aud) == 0 {
		return nil, false
	}
	var auds []string
	var one string
	if json.Unmarshal(claims.Aud, &one) == nil {
		auds = []string{one}
	} else if json.Unmarshal(claims.Aud, &auds) != nil {
		return nil, false
	}
	for _, a := range auds {
		a = strings.ToLower(a)
		if pu, err := url.Parse(a); err == nil && pu.Host != "" {
			a = pu.Hostname()
		}
		if a == host {
			return p, true
		}
	}
	return nil, false
}
