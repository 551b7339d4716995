package egress

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/proxykit"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

var osGetenv = os.Getenv

const helpText = `usage: claude-bottle-sidecar egress [flags]

The bottle's credential-injecting HTTP(S) proxy. The agent's HTTP_PROXY and
HTTPS_PROXY point here when its bottle declares egress routes.

  - CONNECT to a route host is intercepted with the egress CA; each request is
    checked against the route's path_allowlist and, for a route with auth,
    any Authorization the agent sent is dropped and "<scheme> <token>" is
    injected (https only; never over plain http). Tokens the origin echoes
    back are masked ('*') in response headers and bodies.
  - Hosts without a route are passed on untouched: CONNECT is tunnelled
    without interception, plain http is forwarded, both through the upstream
    proxy (pipelock), which decides.
  - Any git push over HTTP(S) (git-receive-pack) is refused: git-gate is the
    only way to push.
  - A refusal is HTTP 403 with a body starting "blocked: <reason>".
  - SIGHUP reloads the routes file; a bad file keeps the routes in force.
  - One JSON log line per request on stdout (token slots named, never values).

Routes file (JSON, unknown keys are errors):

  {"routes": [
    {"host": "api.github.com",
     "path_allowlist": ["/repos/org/demo"],
     "auth": {"scheme": "Bearer", "token_slot": "EGRESS_TOKEN_0"}}
  ]}

  host            bare DNS name, matched case-insensitively, on the
                  scheme's default port (443, 80): another port of the host
                  is not the route (no credential; pipelock decides)
  path_allowlist  path prefixes matched on "/" boundaries ("/a" allows /a
                  and /a/b, not /ab); paths with . or .. segments are
                  refused; absent = any path
  auth            absent = no credential (the agent's own Authorization
                  passes); scheme is one word, token_slot an EGRESS_TOKEN_<N>

The token is the value of the token_slot environment variable of this
process; it never appears in a file.

Environment:
  EGRESS_UPSTREAM_PROXY   default for --upstream-proxy (http://host:port)
  EGRESS_UPSTREAM_CA      default for --upstream-ca (PEM file)
  EGRESS_TOKEN_<N>        credentials named by auth.token_slot
  SSL_CERT_FILE           system roots for upstream TLS, besides --upstream-ca

Flags:
`

// Main runs the egress daemon: claude-bottle-sidecar egress [flags].
func Main(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

type config struct {
	routesFile, listen, caCert, caKey, upstream, upstreamCA string
	direct                                                  bool
	leafCache                                               int
	routePorts                                              string
}

func parseFlags(args []string, stdout, stderr io.Writer) (*config, int) {
	c := &config{}
	fs := flag.NewFlagSet("egress", flag.ContinueOnError)
	fs.StringVar(&c.routesFile, "config", layout.EgressRoutesFile, "routes file (JSON)")
	fs.StringVar(&c.listen, "listen", ":"+strconv.Itoa(layout.EgressPort), "listen address host:port")
	fs.StringVar(&c.caCert, "ca-cert", layout.EgressCACert, "egress CA certificate (PEM)")
	fs.StringVar(&c.caKey, "ca-key", layout.EgressCAKey, "egress CA private key (PEM)")
	fs.StringVar(&c.upstream, "upstream-proxy", os.Getenv("EGRESS_UPSTREAM_PROXY"), "upstream HTTP proxy every connection goes through (http://host:port)")
	fs.StringVar(&c.upstreamCA, "upstream-ca", os.Getenv("EGRESS_UPSTREAM_CA"), "CA certificate (PEM) of the upstream proxy's TLS interception")
	fs.BoolVar(&c.direct, "direct", false, "with no upstream proxy, connect directly (tests and benchmarks only; never in a bottle)")
	fs.IntVar(&c.leafCache, "leaf-cache", 1024, "how many minted leaf certificates to keep")
	fs.StringVar(&c.routePorts, "test-route-ports", "", "TEST ONLY: the ports routes stand for, as https=N,http=M (default 443 and 80); never set in a bottle")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), helpText)
		fs.PrintDefaults()
	}
	if code, done := proxykit.ParseFlags(fs, args, stdout, stderr); done {
		return nil, code
	}
	return c, -1
}

func run(args []string, stdout, stderr io.Writer) int {
	c, code := parseFlags(args, stdout, stderr)
	if c == nil {
		return code
	}
	log := daemonlog.New(stdout, layout.DaemonEgress)
	fail := func(err error) int {
		fmt.Fprintf(stderr, "egress: %v\n", err)
		log.Error("egress stopped", daemonlog.KeyErr, err.Error())
		return 1
	}
	opts, err := c.options(log)
	if err != nil {
		return fail(err)
	}
	routes, err := sidecarconfig.LoadRoutes(c.routesFile)
	if err != nil {
		return fail(fmt.Errorf("routes file: %w; fix the file and start again", err))
	}
	srv, err := New(*opts, routes)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", c.routesFile, err))
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fail(fmt.Errorf("--listen %s: %w", c.listen, err))
	}
	upstream := "direct"
	if opts.Upstream != nil {
		upstream = opts.Upstream.String()
	}
	reload := func() { _ = srv.Reload(c.routesFile) }
	if err := proxykit.Serve(log, ln, srv.Handler(), reload,
		"routes", len(routes.Routes), daemonlog.KeyConfig, c.routesFile, "upstream", upstream); err != nil {
		return fail(err)
	}
	return 0
}

// options turns flags into Options; every error names the flag and value.
func (c *config) options(log *slog.Logger) (*Options, error) {
	caCert, err := ca.Load(c.caCert, c.caKey)
	if err != nil {
		return nil, fmt.Errorf("--ca-cert/--ca-key: %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if c.upstreamCA != "" {
		pem, err := os.ReadFile(c.upstreamCA)
		if err != nil {
			return nil, fmt.Errorf("--upstream-ca (EGRESS_UPSTREAM_CA) %s: %w", c.upstreamCA, err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--upstream-ca (EGRESS_UPSTREAM_CA) %s holds no PEM certificate", c.upstreamCA)
		}
	}
	opts := &Options{CA: caCert, RootCAs: roots, Logger: log, LeafCacheSize: c.leafCache}
	if c.routePorts != "" {
		opts.RoutePorts = map[string]string{}
		for _, kv := range strings.Split(c.routePorts, ",") {
			scheme, port, _ := strings.Cut(kv, "=")
			if _, p, err := proxykit.SplitHostPort("x:"+port, ""); err != nil || p != port || (scheme != "https" && scheme != "http") {
				return nil, fmt.Errorf("--test-route-ports %q: want https=N,http=M with ports from 1 to 65535", c.routePorts)
			}
			opts.RoutePorts[scheme] = port
		}
		log.Warn("TEST ONLY: routes stand for other ports", "route_ports", c.routePorts)
	}
	switch {
	case c.upstream != "":
		u, err := url.Parse(c.upstream)
		if err != nil || u.Scheme != "http" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
			return nil, fmt.Errorf("--upstream-proxy (EGRESS_UPSTREAM_PROXY) %q must be http://host:port (pipelock)", c.upstream)
		}
		opts.Upstream = u
		if c.upstreamCA == "" {
			log.Warn("no --upstream-ca (EGRESS_UPSTREAM_CA): TLS the upstream proxy intercepts will only verify against the system roots")
		}
	case c.direct:
		log.Warn("no upstream proxy: connecting directly (--direct); never run a bottle like this")
	default:
		return nil, errors.New("no upstream proxy: set EGRESS_UPSTREAM_PROXY or --upstream-proxy to pipelock's http://host:port (or pass --direct for tests and benchmarks)")
	}
	return opts, nil
}
