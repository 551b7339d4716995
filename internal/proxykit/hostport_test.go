package proxykit

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		in, def, host, port string
		ok                  bool
		why                 string
	}{
		{"example.com", "443", "example.com", "443", true, ""},
		{"Example.COM.:8443", "443", "example.com", "8443", true, ""},
		{"[::1]:80", "443", "::1", "80", true, ""},
		{"[::1]", "443", "::1", "443", true, ""},
		{"[::FFFF:1.2.3.4]:1", "443", "::ffff:1.2.3.4", "1", true, ""},
		{"127.0.0.1:65535", "443", "127.0.0.1", "65535", true, ""},
		{"under_score.test", "80", "under_score.test", "80", true, ""},
		// The inputs on which egress and pipelock used to disagree
		// (issue 13): each is refused now.
		{"example.com:", "443", "", "", false, "egress refused, pipelock took the default port"},
		{"example.com:0443", "443", "", "", false, "egress refused, pipelock read 443"},
		{"[1.2.3.4]", "443", "", "", false, "egress refused, pipelock stripped the brackets"},
		{"[1.2.3.4]:443", "443", "", "", false, "the same with a port"},
		{"example..com", "443", "", "", false, "egress accepted, pipelock refused the empty label"},
		{"[::1]:", "443", "", "", false, "egress refused, pipelock took the default port"},
		{"example.com..", "443", "", "", false, "egress accepted"},
		{"ex%41mple.com", "443", "", "", false, "egress accepted"},
		{"bücher.de", "443", "", "", false, "egress accepted; IDNs come as punycode"},
		{strings.Repeat("a", 64) + ".test", "443", "", "", false, "egress accepted"},
		{"[fe80::1%eth0]:443", "443", "", "", false, "pipelock accepted the zone"},
		// Refused by both before, and now.
		{"", "443", "", "", false, ""},
		{":443", "443", "", "", false, ""},
		{"h:0", "443", "", "", false, ""},
		{"h:65536", "443", "", "", false, ""},
		{"h:+80", "443", "", "", false, ""},
		{"::1", "443", "", "", false, ""},
		{"a b:80", "443", "", "", false, ""},
		{"user@h:80", "443", "", "", false, ""},
		{"h/x:80", "443", "", "", false, ""},
		{"[h]:80", "443", "", "", false, ""},
		{"[::1]x", "443", "", "", false, ""},
		{"evil.com%00.good.com:443", "443", "", "", false, ""},
		{"..", "443", "", "", false, ""},
	}
	for _, tc := range tests {
		h, p, err := SplitHostPort(tc.in, tc.def)
		if (err == nil) != tc.ok || h != tc.host || p != tc.port {
			t.Errorf("SplitHostPort(%q) = %q, %q, %v; want %q, %q, ok=%v (%s)", tc.in, h, p, err, tc.host, tc.port, tc.ok, tc.why)
		}
	}
}

// FuzzSplitHostPort checks the one parser against the two it replaced:
// where egress's and pipelock's old parsers both accepted an input with
// the same result, it gives that result; everywhere else (either refused,
// or they read it differently) it refuses. What it accepts round-trips.
func FuzzSplitHostPort(f *testing.F) {
	for _, s := range []string{"api.github.com:443", "API.github.com", "[::1]:8080", "[::1]", "1.2.3.4:80", "h:0",
		"h:99999", ":80", "[h]:1", "a.b.:443", "x@y:1", "[fe80::1%eth0]:443", "example.com:", "example.com:0443",
		"[1.2.3.4]", "example..com", "ex%41mple.com", "::1", "a_b.c:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, p, err := SplitHostPort(in, "443")
		eh, ep, eerr := oldEgressSplit(in, "443")
		ph, pp, perr := oldPipelockSplit(in, "443")
		agreed := eerr == nil && perr == nil && eh == ph && ep == pp
		if agreed != (err == nil) {
			t.Fatalf("SplitHostPort(%q) = %q %q %v; old egress %q %q %v, old pipelock %q %q %v", in, h, p, err, eh, ep, eerr, ph, pp, perr)
		}
		if err != nil {
			return
		}
		if h != eh || p != ep {
			t.Fatalf("SplitHostPort(%q) = %q %q; both old parsers said %q %q", in, h, p, eh, ep)
		}
		h2, p2, err := SplitHostPort(net.JoinHostPort(h, p), "1")
		if err != nil || h2 != h || p2 != p {
			t.Fatalf("round trip of %q: %q %q %v; want %q %q", in, h2, p2, err, h, p)
		}
	})
}

// oldEgressSplit is egress's splitHostPort before the kit (for the fuzz
// comparison only).
func oldEgressSplit(hostport, defPort string) (host, port string, err error) {
	hostKey := func(h string) string {
		h = strings.TrimPrefix(h, "[")
		h = strings.TrimSuffix(h, "]")
		h = strings.TrimSuffix(h, ".")
		return strings.ToLower(h)
	}
	if hostport == "" {
		return "", "", errors.New("empty host")
	}
	if strings.ContainsFunc(hostport, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '/' || c == '@' }) {
		return "", "", fmt.Errorf("%q is not a host[:port]", hostport)
	}
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
			h = hostport[1 : len(hostport)-1]
		} else if strings.Contains(hostport, ":") || strings.ContainsAny(hostport, "[]") {
			return "", "", fmt.Errorf("%q is not a host[:port]", hostport)
		} else {
			h = hostport
		}
		p = defPort
	}
	if strings.HasPrefix(hostport, "[") && (!strings.Contains(h, ":") || net.ParseIP(h) == nil) {
		return "", "", fmt.Errorf("%q: only IPv6 addresses go in brackets", hostport)
	}
	if strings.ContainsAny(h, "[]") {
		return "", "", fmt.Errorf("%q is not a host[:port]", hostport)
	}
	if strings.Contains(h, ":") && net.ParseIP(h) == nil {
		return "", "", fmt.Errorf("%q: %q is not an IPv6 address", hostport, h)
	}
	h = hostKey(h)
	if h == "" {
		return "", "", fmt.Errorf("%q has an empty host", hostport)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
		return "", "", fmt.Errorf("%q: port %q is not a number from 1 to 65535", hostport, p)
	}
	return h, p, nil
}

// oldPipelockSplit is pipelock's splitHostPort before the kit.
func oldPipelockSplit(hp, defPort string) (host, port string, err error) {
	host, port = hp, defPort
	if h, p, e := net.SplitHostPort(hp); e == nil {
		host, port = h, p
	} else if strings.HasPrefix(hp, "[") && strings.HasSuffix(hp, "]") {
		host = hp[1 : len(hp)-1]
	}
	host = NormHost(host)
	if host == "" {
		return "", "", errors.New("empty host")
	}
	if port == "" {
		port = defPort
	}
	n := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return "", "", fmt.Errorf("bad port %q", port)
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return "", "", fmt.Errorf("bad port %q", port)
		}
	}
	if n == 0 {
		return "", "", fmt.Errorf("bad port %q", port)
	}
	if _, e := netip.ParseAddr(host); e == nil {
		return host, port, nil
	}
	if len(host) > 253 {
		return "", "", fmt.Errorf("bad host name %q: over 253 characters", host)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return "", "", fmt.Errorf("bad host name %q: empty or over-long label", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", "", fmt.Errorf("bad host name %q", host)
			}
		}
	}
	return host, port, nil
}
