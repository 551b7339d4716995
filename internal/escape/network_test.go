package escape

import (
	"strings"
	"testing"
)

// attackOffAllowlist: attack 1, a host off the allowlist, over HTTP and
// HTTPS, through the proxy and around it. off.escape.test is a real
// listener's name, so a request that got out would be seen.
func (b *bottle) attackOffAllowlist(t *testing.T) {
	b.quiet(t, "http off-allowlist via proxy", func() {
		wantBlocked(t, "http off-allowlist", b.curl(t, "http://"+offHost+"/"), "allowlist")
	})
	b.quiet(t, "https off-allowlist via proxy", func() {
		wantBlocked(t, "https off-allowlist", b.curl(t, "https://"+offHost+"/"), "allowlist")
		b.wantConnectBlocked(t, b.proxy, offHost+":443", "allowlist")
	})
	// Straight to pipelock, skipping the first hop.
	b.quiet(t, "http off-allowlist via pipelock directly", func() {
		wantBlocked(t, "pipelock direct", b.curl(t, "-x", b.pipelock, "http://"+offHost+"/"), "allowlist")
	})
	// Around the proxy: the name does not resolve inside the agent (its
	// DNS answers container names only), so curl fails to resolve.
	for _, u := range []string{"http://" + offHost + "/", "https://" + offHost + "/"} {
		b.quiet(t, "direct "+u, func() {
			// The embedded DNS forwards outside names to 127.0.0.1 in
			// the agent's namespace, where nothing answers: resolving
			// fails (exit 6) or times out (exit 28, "Resolving").
			r := b.curl(t, "--noproxy", "*", "--max-time", "4", u)
			if !(r.RC == 6 || r.RC == 28 && strings.Contains(r.Err, "Resolving timed out")) {
				t.Errorf("direct %s: want a name resolution failure, got %s", u, r)
			}
		})
	}
}

// wantConnectBlocked sends a raw CONNECT to a proxy and asserts the 403
// body names the rule (curl drops a refused CONNECT's body).
func (b *bottle) wantConnectBlocked(t *testing.T, proxy, target, rule string) {
	t.Helper()
	hp := strings.TrimPrefix(proxy, "http://")
	host, port, _ := strings.Cut(hp, ":")
	out, _, _ := b.run(t, `printf 'CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n' "$1" "$1" | nc -w 5 "$2" "$3"`, target, host, port)
	if !strings.HasPrefix(out, "HTTP/1.1 403") || !strings.Contains(out, "blocked: ") || !strings.Contains(out, "(rule: "+rule) {
		t.Errorf("CONNECT %s via %s: want 403 \"blocked: ... (rule: %s)\", got %q", target, proxy, rule, trunc(out))
	}
}

// attackAddresses: attack 2, addresses instead of names.
func (b *bottle) attackAddresses(t *testing.T) {
	egressGW := b.gw[b.p.Project+"_egress"]
	for _, tc := range []struct{ name, url string }{
		{"IPv4 literal (outside listener)", "http://" + b.outIP + "/"},
		{"IPv6 literal (IPv4-mapped outside listener)", "http://[::ffff:" + b.outIP + "]/"},
		{"IPv6 loopback literal", "http://[::1]/"},
		{"egress network gateway (the host)", "http://" + egressGW + "/"},
		{"docker0 gateway (the host)", "http://" + b.gw["docker0"] + "/"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/"},
		{"decimal IPv4", "http://2130706433/"},
	} {
		b.quiet(t, tc.name, func() {
			wantBlocked(t, tc.name+" via proxy", b.curl(t, "-g", "--noproxy", "", "-x", b.proxy, tc.url), "ip-literal")
		})
	}
	b.quiet(t, "https IP literal", func() {
		b.wantConnectBlocked(t, b.proxy, b.outIP+":443", "ip-literal")
	})
	// localhost: a bottle can no longer list it (the manifest refuses
	// loopback names, see manifest.passableHost), so through the proxy it
	// meets the allowlist. pipelock's own tests show the SSRF guard still
	// refuses loopback for a listed name.
	b.quiet(t, "localhost", func() {
		wantBlocked(t, "localhost", b.curl(t, "--noproxy", "", "-x", b.proxy, "http://localhost:"+outsidePort+"/"), "allowlist")
	})
	// An allowlisted name that resolves to a private address that is not
	// the test upstream's: the SSRF guard checks the address it dials.
	b.quiet(t, "allowlisted name -> private address", func() {
		wantBlocked(t, privateHost, b.curl(t, "http://"+privateHost+"/"), "ssrf")
		wantBlocked(t, privateHost+" https", b.curl(t, "https://"+privateHost+"/"), "ssrf")
	})
}

// attackNetwork: attack 6's network part: raw TCP, UDP and ssh straight at
// listeners outside the bottle, and the Docker socket.
func (b *bottle) attackNetwork(t *testing.T) {
	// Direct to the outside listener on the egress network.
	b.quiet(t, "raw TCP to the egress listener", func() {
		if out, _, code := b.run(t, `echo escape-tcp | nc -w 3 "$1" "$2"`, b.outIP, outsidePort); code == 0 {
			t.Errorf("ESCAPE raw TCP to %s:%s: nc exit 0 (%q)", b.outIP, outsidePort, out)
		}
	})
	b.quiet(t, "UDP to the egress listener", func() {
		b.run(t, `echo escape-udp | nc -u -w 1 "$1" "$2"`, b.outIP, outsidePort)
	})
	b.quiet(t, "ssh to the egress listener", func() {
		_, errOut, code := b.run(t, `ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=3 -p 22 "probe@$1" true`, b.outIP)
		if code == 0 || strings.Contains(errOut, "escape-listener") {
			t.Errorf("ESCAPE ssh to %s: exit %d %q", b.outIP, code, errOut)
		}
	})
	b.quiet(t, "DNS straight to the egress listener", func() {
		out, _, _ := b.run(t, `dig +time=1 +tries=1 @"$1" escape-probe.`+offHost+`; dig +tcp +time=2 +tries=1 @"$1" escape-probe.`+offHost, b.outIP)
		if strings.Contains(out, "status: ") {
			t.Errorf("ESCAPE dig @%s got an answer: %s", b.outIP, trunc(out))
		}
	})
	// ssh through the proxy: CONNECT to a host off the allowlist.
	b.quiet(t, "ssh via the proxy's CONNECT", func() {
		hp := strings.TrimPrefix(b.proxy, "http://")
		_, errOut, code := b.run(t, `ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=5 -o "ProxyCommand=nc -X connect -x $1 %h %p" probe@`+offHost+` true`, hp)
		if code == 0 || strings.Contains(errOut, "escape-listener") {
			t.Errorf("ESCAPE ssh via CONNECT: exit %d %q", code, errOut)
		}
	})
	// The host's listeners, on every gateway address it has.
	for netName, ip := range b.gw {
		b.hostAttack(t, netName, ip)
	}
	// The Docker socket is not there, and no DOCKER_HOST points anywhere.
	out, _, _ := b.run(t, `for s in /var/run/docker.sock /run/docker.sock; do test -e "$s" && echo "present $s"; done;
		env | grep -i '^docker_host='; find / -xdev -type s 2>/dev/null | grep -i docker; true`)
	if strings.TrimSpace(out) != "" {
		t.Errorf("ESCAPE a Docker socket or DOCKER_HOST is visible in the agent: %q", out)
	}
	// The route table is H1's evidence: a default route on an internal
	// network (so direct metadata and public addresses are never tried).
	route, _, _ := b.run(t, `awk 'NR>1 && $2=="00000000" {print "default route via " $3 " on " $1}' /proc/net/route`)
	t.Logf("agent routes: %q", strings.TrimSpace(route))
}

// hostAttack sends TCP and UDP to the test's own listeners on one of the
// host's bridge addresses. H1 (found by this suite, fixed): an internal
// network still gives the agent a default route via its bridge, whose
// host-side address answered, so the host's own sockets (INPUT, not
// FORWARD) were reachable on every host address. The renderer now sets
// com.docker.network.bridge.inhibit_ipv4 on the internal network: the
// bridge has no host address, so there is nothing to route to.
func (b *bottle) hostAttack(t *testing.T, netName, ip string) {
	host := b.host
	tcpAddr, udpAddr := host.tcp[ip], host.udp[ip]
	th, tp, _ := strings.Cut(tcpAddr, ":")
	uh, up, _ := strings.Cut(udpAddr, ":")
	t.Run("host-"+netName, func(t *testing.T) {
		leaks := b.leaks(func() {
			b.run(t, `echo escape-tcp | nc -w 3 "$1" "$2"`, th, tp)
			b.run(t, `echo escape-udp | nc -u -w 1 "$1" "$2"`, uh, up)
		})
		if len(leaks) > 0 {
			t.Errorf("ESCAPE (H1): the agent reached the host at %s (%s gateway): %s", ip, netName, strings.Join(leaks, "; "))
		}
	})
}
