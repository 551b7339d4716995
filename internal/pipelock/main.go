package pipelock

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/proxykit"
	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

const helpText = `usage: claude-bottle-sidecar pipelock [flags]

The bottle's outbound firewall: a forward proxy (HTTP and CONNECT) that
every HTTP(S) request leaving the bottle goes through.

Rules, in order (a block is HTTP 403, body "blocked: <reason> (rule: <rule>)"):
  method           a request method not in the IANA registry (GET, POST,
                   PUT, PATCH, DELETE, HEAD, OPTIONS, WebDAV's, ...)
  ip-literal       an IP address as host, unless listed in allow_ip_literals
  dlp.*            (host not allowed) secrets or encoded data in the host name
  allowlist        a host not in the built-in list or the config's allowlist
  host-mismatch    a request inside an intercepted tunnel naming another host
                   or port
  path-allowlist   a path outside a route host's path_allowlists entry
                   (prefixes on "/" boundaries; . and .. segments refused)
  dlp.known-secret one of the bottle's own secrets (known_secret_env), in the
                   method, URL, headers or body, under any decoder below,
                   also reversed, ROT13, upper-cased or UTF-16
  dlp.known-fragment
                   a piece of a known secret (floor from its entropy), or
                   pieces to one host within 10 minutes that add up
  dlp.<provider>   a credential shape (dlp.aws, dlp.github, dlp.openai, ...;
                   docs/DLP.md lists them), any length, no docs-example pass
  dlp.secret       a gitleaks rule match in URL, headers or body
  dlp.credential-assignment
                   a credential-named key (secret, token, password, api_key,
                   ...) assigned a random-looking value, in the query,
                   headers, cookies or body
                   Decoders: percent (any depth, IIS %%uXXXX), base64, base32,
                   hex (also delimited), JSON and HTML escapes, quoted-
                   printable, UTF-16, zero-width stripped, gzip/zlib/brotli
                   whatever the headers say, form and multipart
  protocol-upgrade a WebSocket / h2c upgrade (frames are not inspectable)
  compressed-body  a request body with a Content-Encoding pipelock cannot
                   undo (gzip, deflate, br and identity are read, all values)
  body-too-large   a request body over max_body_bytes (no cap unless set:
                   bodies are scanned as they stream, in 1 MiB windows
                   overlapping by 64 KiB; docs/DLP.md "Large uploads")
  ssrf             a destination (after DNS) that is loopback, private,
                   link-local (169.254.169.254), multicast, reserved, or the
                   IPv6 / IPv4-mapped forms of those; the checked address is
                   the one dialled (no DNS rebinding)
  sni-mismatch     on a passthrough tunnel, a TLS SNI other than the CONNECT
                   host (the tunnel is closed: the 200 was already sent)

Responses from inspected hosts are read for prompt injection as they
stream (docs/DLP.md): inject.override, inject.role, inject.authority,
inject.hidden-comment, inject.css-hidden, inject.invisible,
inject.exfil-link. "responses" says what a finding does: warn (default:
logged), strip (overwritten, same length) or block (a 403, or the stream
cut); off reads none. response-encoding: in block mode, a response whose
Content-Encoding cannot be undone.

Built-in allowlist: %s
Built-in passthrough (not intercepted): %s
Every other allowed host is intercepted with the pipelock CA.

Config (--config, JSON, unknown keys are errors):
  {
    "allowlist": ["pypi.org"],            // hosts besides the built-in ones
    "passthrough": ["example.org"],       // allowed hosts not intercepted
    "injected_credentials": [             // what egress injects is no leak:
      {"host": "api.github.com",          //   that header, with a value whose
       "header": "Authorization",         //   SHA-256 is this, to that host
       "sha256": "<64 hex digits>"}],
    "path_allowlists": [                  // a route's path_allowlist,
      {"host": "api.github.com",          //   enforced here too
       "paths": ["/repos/org/demo"]}],
    "known_secret_env": ["PIPELOCK_SECRET_0"],  // env vars holding the
                                          //   bottle's own secrets
    "allow_ip_literals": ["1.1.1.1"],     // IP hosts the bottle may name
                                          //   (internal ones stay blocked: ssrf)
    "max_body_bytes": 104857600,          // request body cap (default none);
                                          //   with Content-Length over it the
                                          //   body is refused before it is read
    "responses": "warn",                  // warn, strip, block or off
    "responses_off": ["css-hidden"]       // response rule kinds turned off
  }

Upstream TLS is verified against the system roots, or SSL_CERT_FILE.
TEST ONLY: PIPELOCK_ALLOW_PRIVATE_UPSTREAM=<cidr,...> (or the flag below)
exempts those ranges from the ssrf rule, for fake upstreams in tests.
SIGHUP reloads the config in place; a bad config is logged and the old one
stays. Logs: one JSON object per line on stdout.

Flags:
`

// AllowPrivateEnv is the environment form of --allow-private-upstream
// (comma-separated CIDRs). TEST ONLY, like the flag.
const AllowPrivateEnv = "PIPELOCK_ALLOW_PRIVATE_UPSTREAM"

// Main runs the daemon: claude-bottle-sidecar pipelock [flags].
func Main(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pipelock", flag.ContinueOnError)
	cfgPath := fs.String("config", layout.PipelockConfigFile, "firewall config file (JSON)")
	listen := fs.String("listen", fmt.Sprintf(":%d", layout.PipelockPort), "address to listen on")
	caCert := fs.String("ca-cert", layout.PipelockCACert, "pipelock MITM CA certificate (PEM)")
	caKey := fs.String("ca-key", layout.PipelockCAKey, "pipelock MITM CA key (PEM)")
	var allowPrivate prefixList
	fs.Var(&allowPrivate, "allow-private-upstream", "TEST ONLY: exempt this CIDR from the SSRF guard (repeatable); never set in a bottle")
	fs.Usage = func() {
		pt := strings.Join(DefaultPassthrough, ", ")
		if pt == "" {
			pt = "none"
		}
		fmt.Fprintf(fs.Output(), helpText, strings.Join(DefaultAllowlist, ", "), pt)
		fs.PrintDefaults()
	}
	if code, done := proxykit.ParseFlags(fs, args, stdout, stderr); done {
		return code
	}
	// The bundle and compose pass the test-only exemption as an env var
	// (docs/DESIGN.md "Test upstreams"); the flag adds to it.
	if v := strings.TrimSpace(os.Getenv(AllowPrivateEnv)); v != "" {
		if err := allowPrivate.Set(v); err != nil {
			fmt.Fprintf(stderr, "pipelock: %s=%q: %v\n", AllowPrivateEnv, v, err)
			return 2
		}
	}
	log := daemonlog.New(stdout, layout.DaemonPipelock)
	if err := serve(log, *cfgPath, *listen, *caCert, *caKey, allowPrivate); err != nil {
		fmt.Fprintf(stderr, "pipelock: %v\n", err)
		log.Error("pipelock stopped", daemonlog.KeyErr, err.Error())
		return 1
	}
	return 0
}

func serve(log *slog.Logger, cfgPath, listen, caCert, caKey string, allowPrivate []netip.Prefix) error {
	sc, err := secretscan.Default()
	if err != nil {
		return err
	}
	cert, err := ca.Load(caCert, caKey)
	if err != nil {
		return err
	}
	pol, err := loadPolicy(cfgPath, sc)
	if err != nil {
		return err
	}
	if len(allowPrivate) > 0 {
		log.Warn("TEST ONLY: SSRF guard relaxed", "allow_private_upstream", (*prefixList)(&allowPrivate).String())
	}
	srv, err := New(Options{CA: cert, Logger: log, AllowPrivateUpstream: allowPrivate}, pol)
	if err != nil {
		return err
	}
	defer srv.Close()
	// Building the rules leaves ~10 MB of garbage (gitleaks' config parse).
	// Hand it back to the OS now: the runtime would otherwise keep it
	// resident for minutes, and every bottle runs its own pipelock.
	debug.FreeOSMemory()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", listen, err)
	}
	return proxykit.Serve(log, ln, srv, func() { reload(log, srv, cfgPath, sc) },
		daemonlog.KeyConfig, cfgPath, "allowlist", len(pol.allow), "passthrough", len(pol.passthrough),
		"known_secrets", pol.inspector.KnownCount())
}

// prefixList is a repeatable CIDR flag.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	var s []string
	for _, x := range *p {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		x, err := netip.ParsePrefix(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("--allow-private-upstream / %s: %q is not a CIDR like 127.0.0.0/8", AllowPrivateEnv, part)
		}
		*p = append(*p, x.Masked())
	}
	return nil
}
