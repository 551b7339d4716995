package escape

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/engine"
)

// attackBypasses: attack 6's proxy tricks, crafted requests to the
// sidecars' ports, and the sidecars' secrets.
func (b *bottle) attackBypasses(t *testing.T) {
	// A request inside an intercepted tunnel to an allowed host that names
	// another host: absolute-form, a CONNECT relayed through the tunnel,
	// and a Host header naming the other host.
	b.quiet(t, "relay through an allowed host's tunnel", func() {
		res := b.curlMany(t, [][]string{
			{"-p", "--request-target", "http://" + offHost + "/", "https://" + echoHost + "/"},
			{"-p", "-X", "CONNECT", "--request-target", offHost + ":443", "https://" + echoHost + "/"},
			{"-H", "Host: " + offHost, "https://" + echoHost + "/"},
		})
		wantBlocked(t, "absolute-form for another host inside the tunnel", res[0], "host-mismatch")
		wantBlockedAny(t, "CONNECT relayed inside the tunnel", res[1], "host-mismatch", "bad-request")
		wantBlocked(t, "Host header naming another host inside the tunnel", res[2], "host-mismatch")
	})
	// Plain HTTP: a Host header that is not the URL's host. The proxy
	// forwards by the URL and rewrites Host to it, so the forged name
	// never reaches an upstream (a CDN cannot be fronted through it).
	t.Run("host header fronting over plain HTTP", func(t *testing.T) {
		out0, echo0 := len(hits(t.Context(), b.outName)), len(b.echoHits(t.Context()))
		r := b.curl(t, "-H", "Host: "+offHost, "http://"+echoHost+"/")
		if hs := hits(t.Context(), b.outName); len(hs) > out0 {
			t.Errorf("ESCAPE Host header fronting reached %s: %+v", offHost, hs[out0:])
		}
		got := b.echoHits(t.Context())[echo0:]
		switch {
		case r.Code == "403" && strings.HasPrefix(r.Body, "blocked: "):
		case r.Code == "200" && len(got) == 1 && got[0].Host == echoHost:
		default:
			t.Errorf("ESCAPE? Host: %s on a request for %s: want a block, or the upstream to see Host %s; got %s, upstream saw %+v", offHost, echoHost, echoHost, r, got)
		}
	})
	// Domain fronting: TLS SNI off the allowlist inside a CONNECT to an
	// allowed host, and the reverse.
	b.quiet(t, "SNI differs from the CONNECT host", func() {
		hp := strings.TrimPrefix(b.proxy, "http://")
		out, _, _ := b.run(t, `printf 'GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$3" | timeout 15 openssl s_client -quiet -proxy "$1" -connect "$2" -servername "$3" 2>&1`, hp, echoHost+":443", offHost)
		if strings.Contains(out, "HTTP/1.1 200") {
			t.Errorf("ESCAPE SNI %s inside CONNECT %s got a 200: %q", offHost, echoHost, trunc(out))
		}
		if !strings.Contains(out, "blocked: ") && !strings.Contains(strings.ToLower(out), "alert") && !strings.Contains(out, "verify error") {
			t.Errorf("SNI fronting: want a block or a TLS failure, got %q", trunc(out))
		}
		r := b.curl(t, "--connect-to", offHost+":443:"+echoHost+":443", "https://"+offHost+"/")
		if r.Code == "200" {
			t.Errorf("ESCAPE --connect-to fronting got a 200: %s", r)
		}
	})
	// Crafted requests straight at the proxy ports: userinfo and fragment
	// tricks, and a smuggled second request behind a conflicting
	// Content-Length / Transfer-Encoding.
	for _, proxy := range []string{b.proxy, b.pipelock} {
		b.quiet(t, "crafted requests to "+proxy, func() {
			res := b.curlMany(t, [][]string{
				{"-x", proxy, "http://" + echoHost + "@" + offHost + "/"},
				{"-x", proxy, "--path-as-is", "http://" + offHost + "/#@" + echoHost + "/"},
			})
			wantBlocked(t, "userinfo naming an allowed host", res[0], "allowlist")
			wantBlocked(t, "fragment naming an allowed host", res[1], "allowlist")
			// Not a proxy request at all: an origin-form request to the
			// proxy's own port.
			r := b.curl(t, "--noproxy", "*", "-H", "Host: "+offHost, proxy+"/")
			if r.Code == "200" {
				t.Errorf("ESCAPE origin-form request to %s answered 200: %s", proxy, r)
			}
		})
		// A second request smuggled behind a conflicting Content-Length /
		// Transfer-Encoding. The first (to the allowed echo) may pass; the
		// smuggled one must not reach the host off the allowlist.
		t.Run("smuggling via "+proxy, func(t *testing.T) {
			out0, echo0 := len(hits(t.Context(), b.outName)), len(b.echoHits(t.Context()))
			hp := strings.TrimPrefix(proxy, "http://")
			host, port, _ := strings.Cut(hp, ":")
			out, _, _ := b.run(t, `printf 'POST http://%s/ HTTP/1.1\r\nHost: %s\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n' "$1" "$1" "$2" "$2" | nc -w 5 "$3" "$4"`, echoHost, offHost, host, port)
			time.Sleep(300 * time.Millisecond)
			if hs := hits(t.Context(), b.outName); len(hs) > out0 {
				t.Errorf("ESCAPE the smuggled request reached %s: %+v (proxy said %q)", offHost, hs[out0:], trunc(out))
			}
			for _, h := range b.echoHits(t.Context())[echo0:] {
				if h.Host != echoHost || strings.Contains(h.Body, offHost) {
					t.Errorf("ESCAPE the smuggled request reached the echo as %+v", h)
				}
			}
			if strings.Count(out, "HTTP/1.1 200") > 1 {
				t.Errorf("ESCAPE two 200s for one allowed request: %q", trunc(out))
			}
		})
	}
}

// attackSidecarSecrets: the sidecars' CA keys and the injected token are
// nowhere the agent can read: env, /proc, mounts, files, nor in docker
// inspect of the agent (which a host-side tool could leak back).
func (b *bottle) attackSidecarSecrets(t *testing.T) {
	// The patterns travel base64-encoded into a file outside the searched
	// folders, so neither this shell's nor grep's command line matches.
	pats := base64.StdEncoding.EncodeToString([]byte(tokenValue + "\n" + keyValue + "\nPRIVATE KEY\n"))
	out, _, _ := b.run(t, `
echo "$1" | base64 -d > /dev/shm/esc-pat;
env | grep -F -f /dev/shm/esc-pat;
grep -rlsF -f /dev/shm/esc-pat /etc /home /root /tmp /run /opt /srv /mnt /var/tmp /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null;
rm -f /dev/shm/esc-pat;
grep claude-bottle /proc/mounts;
ls -la /etc/claude-bottle/trust 2>&1`, pats)
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, tokenValue) || strings.Contains(line, keyValue):
			t.Errorf("ESCAPE an injected token is in the agent's env: %q", line)
		case strings.HasPrefix(line, "/") && !strings.HasPrefix(line, "/dev/") && !strings.Contains(line, " /etc/claude-bottle/trust ") && !strings.HasPrefix(line, "/etc/claude-bottle/trust"):
			t.Errorf("ESCAPE a file readable in the agent holds the token or a private key: %q", line)
		case strings.Contains(line, ".key") || strings.Contains(line, "egress-ca") && strings.Contains(line, "key"):
			t.Errorf("ESCAPE a key file is mounted into the agent: %q", line)
		}
	}
	if !strings.Contains(out, ".crt") {
		t.Errorf("the trust folder listing shows no CA certificate, so the search above may have looked in the wrong place: %q", trunc(out))
	}
	insp, err := engine.Docker(t.Context(), "inspect", b.agent)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(insp, tokenValue) || strings.Contains(insp, keyValue) || strings.Contains(insp, "PRIVATE KEY") {
		t.Errorf("ESCAPE docker inspect of the agent holds the token or a private key")
	}
	if !strings.Contains(insp, `"127.0.0.1"`) {
		t.Errorf("the agent's DNS upstream is not 127.0.0.1 (the CVE-2024-29018 mitigation)")
	}
}
