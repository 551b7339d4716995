package egress

import (
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf16"

	"github.com/claude-bottle/claude-bottle/internal/proxykit"
	"github.com/claude-bottle/claude-bottle/internal/secretenc"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// route is one compiled entry of the routes file.
type route struct {
	host  string   // lower case, no trailing dot
	paths []string // path prefixes; empty = any path
	// slot, header and value are set when the route injects a credential:
	// value is the full header value ("<scheme> <token>" or "<token>").
	slot   string
	header string // canonical header name
	value  string
}

// table is an immutable snapshot of the routes; a reload builds a new one
// and swaps the pointer, so a request sees one table from start to end.
type table struct {
	byHost   map[string]*route
	redactor *redactor // nil when no route injects a credential
	count    int
}

// buildTable compiles routes, reading each token slot through getenv. A
// route naming an unset or unusable slot is an error: starting without the
// credential would fail every request to that host with a confusing 401.
func buildTable(rs *sidecarconfig.Routes, getenv func(string) string) (*table, error) {
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	t := &table{byHost: map[string]*route{}, count: len(rs.Routes)}
	var tokens []string
	seen := map[string]bool{}
	for i, r := range rs.Routes {
		rt := &route{host: hostKey(r.Host), paths: r.PathAllowlist}
		if r.Auth != nil {
			tok := getenv(r.Auth.TokenSlot)
			if tok == "" {
				return nil, fmt.Errorf("routes[%d].auth.token_slot: %s is empty or not set in the egress environment; pass the host variable named by the bottle's auth.token_ref", i, r.Auth.TokenSlot)
			}
			if strings.ContainsFunc(tok, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
				return nil, fmt.Errorf("routes[%d].auth.token_slot: the value of %s contains a space or control character; it cannot go in a header", i, r.Auth.TokenSlot)
			}
			rt.slot = r.Auth.TokenSlot
			rt.header, rt.value = r.Auth.HeaderName(), r.Auth.Value(tok)
			if !seen[tok] {
				seen[tok] = true
				tokens = append(tokens, tok)
			}
		}
		t.byHost[rt.host] = rt
	}
	if len(tokens) > 0 {
		// An origin may echo the credential encoded (base64 of the whole
		// Authorization header, hex): mask those forms too, or the agent
		// could decode the token (found by the escape suite, H3).
		var forms []string
		for _, tok := range tokens {
			forms = append(forms, tokenForms(tok)...)
		}
		t.redactor = newRedactor(forms)
	}
	return t, nil
}

// lookup returns the route for a request to host:port, where routePort
// is the port a route stands for over the request's scheme (443 for https
// and CONNECT, 80 for http). A route is its host on that port only: its
// credential and its path list are for that origin, and another port of
// the same host is another origin (issue 15 hole 8), left to pipelock like
// any host without a route.
func (t *table) lookup(host, port, routePort string) *route {
	if t == nil || port != routePort {
		return nil
	}
	return t.byHost[hostKey(host)]
}

// hostKey is the form hosts are compared in (proxykit.NormHost, brackets
// dropped).
func hostKey(h string) string {
	return proxykit.NormHost(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
}

// checkPath returns "" when p is allowed on the route, else the reason
// (proxykit.CheckPath: pipelock enforces the same list).
func (r *route) checkPath(p string) string { return proxykit.CheckPath(r.paths, r.host, p) }

// isGitPush reports whether u is a git smart-HTTP push (either the ref
// advertisement or the pack upload). git-gate is the only way to push.
func isGitPush(u *url.URL) bool {
	p := strings.ToLower(u.Path)
	if strings.HasSuffix(p, "/git-receive-pack") || p == "git-receive-pack" {
		return true
	}
	for _, v := range u.Query()["service"] {
		if strings.EqualFold(v, "git-receive-pack") {
			return true
		}
	}
	return false
}

// tokenForms are the forms of an injected token egress masks in responses:
// secretenc's (plain, hex, URL, base64 at every alignment), and the ones an
// attack run got through to the agent (issue 15 hole 2): other letter case,
// reversed, ROT13, base32 at every alignment, base64 of base64, UTF-16.
// A form an origin invents for itself (a private cipher) cannot be listed;
// pipelock knowing the token is the check behind this one.
func tokenForms(tok string) []string {
	forms := secretenc.Encodings(tok, 8)
	seen := map[string]bool{}
	for _, f := range forms {
		seen[f] = true
	}
	add := func(f string) {
		if len(f) >= 8 && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, v := range []string{strings.ToUpper(tok), strings.ToLower(tok), secretenc.Reverse(tok), secretenc.ROT13(tok)} {
		add(v)
	}
	b32 := base32.StdEncoding.EncodeToString
	for off := range 5 {
		r := secretenc.AlignedRun(b32, 5, off, tok)
		add(r)
		add(strings.ToLower(r))
	}
	for off := range 3 {
		inner := secretenc.AlignedRun(base64.StdEncoding.EncodeToString, 6, off, tok)
		for off2 := range 3 {
			add(secretenc.AlignedRun(base64.StdEncoding.EncodeToString, 6, off2, inner))
		}
	}
	var le, be []byte
	for _, u := range utf16.Encode([]rune(tok)) {
		le = append(le, byte(u), byte(u>>8))
		be = append(be, byte(u>>8), byte(u))
	}
	add(string(le))
	add(string(be))
	return forms
}
