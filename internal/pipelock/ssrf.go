package pipelock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// SSRF guard: after resolution every address must be public. A name that
// resolves to any internal address is refused (a DNS answer can mix public
// and internal addresses), and the connection goes to the very address that
// was checked, so a second lookup cannot rebind it.

// blockedPrefixes are ranges that are not reachable "internet" addresses,
// beyond what netip's predicates cover.
var blockedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // carrier-grade NAT
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"240.0.0.0/4",     // reserved, broadcast
		"::/96",           // IPv4-compatible (deprecated; embeds IPv4)
		"::ffff:0:0:0/96", // SIIT IPv4-translated
		"64:ff9b::/96",    // NAT64 (embeds IPv4)
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard-only
		"2001::/32",       // Teredo
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4 (embeds IPv4)
		"fc00::/7",        // unique local
		"fec0::/10",       // deprecated site-local
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// ipClass names why an address is internal, or "" if it is public.
func ipClass(a netip.Addr) string {
	a = a.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return "link-local" // 169.254.0.0/16 (cloud metadata), fe80::/10
	case a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast(), a.IsMulticast():
		return "multicast"
	case a.IsPrivate():
		return "private"
	case a.IsUnspecified():
		return "unspecified"
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return "reserved " + p.String()
		}
	}
	if a.Is6() && !a.IsGlobalUnicast() {
		return "not global unicast"
	}
	return ""
}

// Resolver is the DNS lookup pipelock uses (net.DefaultResolver in the
// daemon).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ssrfError is a refused destination; its message is the block reason.
type ssrfError struct{ msg string }

func (e *ssrfError) Error() string { return e.msg }

// guard resolves and checks destinations.
type guard struct {
	resolver     Resolver
	allowPrivate []netip.Prefix // test-only exemption (--allow-private-upstream)
}

func (g *guard) permitted(a netip.Addr) (bool, string) {
	a = a.Unmap()
	for _, p := range g.allowPrivate {
		if p.Contains(a) {
			return true, ""
		}
	}
	c := ipClass(a)
	return c == "", c
}

// resolve returns the checked addresses of host, or an *ssrfError.
func (g *guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, ok := parseIPLiteral(host); ok {
		if ok, why := g.permitted(a); !ok {
			return nil, &ssrfError{fmt.Sprintf("destination %s is %s", a, why)}
		}
		return []netip.Addr{a}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolving %s: no addresses", host)
	}
	for _, a := range addrs {
		if ok, why := g.permitted(a); !ok {
			return nil, &ssrfError{fmt.Sprintf("%s resolves to %s (%s)", host, a.Unmap(), why)}
		}
	}
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = a.Unmap()
	}
	return out, nil
}

// dialPinned connects to the first reachable of the checked addresses.
func dialPinned(ctx context.Context, addrs []netip.Addr, port string) (net.Conn, error) {
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port %q", port)
	}
	d := net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	var errs []error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(p)).String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// pinKey carries the checked addresses of a request's host from the
// request handler to the transport's dialer.
type pinKey struct{}

type pin struct {
	host  string
	addrs []netip.Addr
}

// dialContext is the upstream transport's dialer: it uses the addresses the
// handler checked, or checks them itself.
func (g *guard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	host = normHost(host)
	if p, ok := ctx.Value(pinKey{}).(*pin); ok && p.host == host {
		return dialPinned(ctx, p.addrs, port)
	}
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	return dialPinned(ctx, addrs, port)
}
