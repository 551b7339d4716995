package proxykit

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// SplitHostPort parses a CONNECT target or a URL's host ("host",
// "host:port", "[v6]", "[v6]:port"), using defPort when no port is given.
// The host comes back in NormHost form, the port in canonical decimal.
//
// It is the one parser of host names and ports in both proxies: two
// parsers in one chain that disagree are a bypass seed (a target one of
// them reads differently from the other). Where egress's and pipelock's
// old parsers disagreed, it refuses: an empty port ("h:"), a port with a
// leading zero ("h:0443"), an IPv4 address in brackets ("[1.2.3.4]"), an
// empty label ("a..b"). Host names are ASCII letters, digits, '-' and '_'
// in labels of 1 to 63 characters, at most 253 in all (IDNs arrive as
// punycode).
func SplitHostPort(hostport, defPort string) (host, port string, err error) {
	if hostport == "" {
		return "", "", errors.New("empty host")
	}
	h, p := hostport, ""
	hasPort := false
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", "", fmt.Errorf("%q: missing ']'", hostport)
		}
		h, p = hostport[1:end], hostport[end+1:]
		if p != "" {
			if p[0] != ':' {
				return "", "", fmt.Errorf("%q is not a host[:port]", hostport)
			}
			p, hasPort = p[1:], true
		}
		if !strings.Contains(h, ":") || net.ParseIP(h) == nil {
			return "", "", fmt.Errorf("%q: only IPv6 addresses go in brackets", hostport)
		}
		h = strings.ToLower(h)
	} else {
		if i := strings.IndexByte(hostport, ':'); i >= 0 {
			h, p, hasPort = hostport[:i], hostport[i+1:], true
			if strings.Contains(p, ":") {
				return "", "", fmt.Errorf("%q: an IPv6 address goes in brackets ([::1]:443)", hostport)
			}
		}
		h, err = ParseHost(h)
		if err != nil {
			return "", "", err
		}
	}
	if !hasPort {
		p = defPort
	}
	if !validPort(p) {
		return "", "", fmt.Errorf("%q: bad port %q: not a number from 1 to 65535 without leading zeros", hostport, p)
	}
	return h, p, nil
}

// ParseHost validates a bare host name or IPv4 address (no port, no
// brackets) and returns it in NormHost form.
func ParseHost(h string) (string, error) {
	n := NormHost(h)
	if n == "" {
		return "", fmt.Errorf("%q has an empty host", h)
	}
	if a, err := netip.ParseAddr(n); err == nil && a.Is4() {
		return n, nil
	}
	if len(n) > 253 {
		return "", fmt.Errorf("bad host name %q: over 253 characters", h)
	}
	for label := range strings.SplitSeq(n, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("bad host name %q: empty or over-long label", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("bad host name %q: %q is not a letter, digit, '-' or '_'", h, c)
			}
		}
	}
	return n, nil
}

// NormHost is the form hosts are compared in: lower case, no trailing dot
// (DNS treats "a.com." and "a.com" alike). It does not validate.
func NormHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// DefaultPort is the port of a URL scheme with none given.
func DefaultPort(scheme string) string {
	if strings.EqualFold(scheme, "https") {
		return "443"
	}
	return "80"
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}
