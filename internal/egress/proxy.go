// Package egress is the credential-injecting, TLS-intercepting forward
// proxy that is the agent's HTTP(S) proxy when its bottle declares routes
// (DESIGN.md §1, §3). Route hosts are intercepted with the bottle's egress
// CA, checked against their path allowlist, and get the route's credential
// injected; every other host is passed, uninspected, to the upstream proxy
// (pipelock), which decides. Real tokens live only in this process.
package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/claude-bottle/claude-bottle/internal/proxykit"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// Options configure a Server.
type Options struct {
	// CA is the egress MITM CA (ca.Load). Required.
	CA *tls.Certificate
	// Upstream is the proxy every outbound connection goes through
	// (pipelock). Nil means direct connections: tests and benchmarks only.
	Upstream *url.URL
	// RootCAs verifies upstream TLS: pipelock's CA plus the system roots.
	RootCAs *x509.CertPool
	// Logger receives one JSON line per request. Defaults to slog.Default().
	Logger *slog.Logger
	// Getenv reads the EGRESS_TOKEN_<N> slots. Defaults to os.Getenv.
	Getenv func(string) string
	// LeafCacheSize bounds the minted leaf certificates kept (default 1024).
	LeafCacheSize int
	// RoutePorts maps a scheme to the port a route stands for (default
	// https 443, http 80). TEST ONLY: test origins listen on other ports.
	RoutePorts map[string]string
}

// Server is the egress proxy. Its routes can be swapped while it serves.
type Server struct {
	routes   atomic.Pointer[table]
	proxy    *proxykit.Proxy
	tr       *http.Transport
	upstream *url.URL
	log      *slog.Logger
	getenv   func(string) string
	ports    map[string]string // scheme → the port a route stands for
}

// New builds a Server serving routes.
func New(opts Options, routes *sidecarconfig.Routes) (*Server, error) {
	if opts.CA == nil {
		return nil, errors.New("egress: no CA given")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Getenv == nil {
		opts.Getenv = osGetenv
	}
	s := &Server{
		upstream: opts.Upstream,
		log:      opts.Logger,
		getenv:   opts.Getenv,
		ports:    map[string]string{"https": "443", "http": "80"},
		tr:       newTransport(opts.Upstream, opts.RootCAs),
	}
	for scheme, port := range opts.RoutePorts {
		s.ports[scheme] = port
	}
	if err := s.SetRoutes(routes); err != nil {
		return nil, err
	}
	// The upstream is set explicitly, in s.tr and in dialTunnel; the kit
	// keeps goproxy from reading it from the environment.
	s.proxy = &proxykit.Proxy{
		CA:            opts.CA,
		Transport:     s.tr,
		Logger:        opts.Logger,
		LeafCacheSize: opts.LeafCacheSize,
		AllowHTTP2:    true,
		Connect:       s.handleConnect,
		Request:       s.handleRequest,
		DialTunnel:    s.dialTunnel,
		TunnelError:   s.tunnelError,
		Usage:         "egress is an HTTP(S) proxy; set HTTP_PROXY/HTTPS_PROXY to it",
	}
	return s, nil
}

// Handler is the proxy's http.Handler.
func (s *Server) Handler() http.Handler { return s.proxy }

// SetRoutes compiles routes and swaps them in atomically. On error the
// routes in force stay.
func (s *Server) SetRoutes(rs *sidecarconfig.Routes) error {
	t, err := buildTable(rs, s.getenv)
	if err != nil {
		return err
	}
	s.routes.Store(t)
	return nil
}

// Close drops idle upstream connections.
func (s *Server) Close() { s.tr.CloseIdleConnections() }

// handleConnect intercepts route hosts and tunnels every other host.
func (s *Server) handleConnect(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
	h, port, err := proxykit.SplitHostPort(host, "443")
	if err != nil {
		l := s.newLog(ctx.Req, "connect", host, "")
		l.decision, l.reason, l.status = decBlock, err.Error(), http.StatusBadRequest
		l.done()
		ctx.Resp = goproxy.NewResponse(ctx.Req, "text/plain; charset=utf-8", http.StatusBadRequest,
			"blocked: bad CONNECT target: "+err.Error()+"\n")
		return proxykit.Reject, host
	}
	if s.routes.Load().lookup(h, port, s.ports["https"]) != nil {
		ctx.UserData = &proxykit.Target{Host: h, Port: port}
		return s.proxy.Intercept(), host
	}
	return proxykit.Tunnel, host
}

// handleRequest decides one request: plain HTTP sent to the proxy, or a
// request inside an intercepted route connection.
func (s *Server) handleRequest(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
	t := s.routes.Load() // one snapshot for the whole request
	host, port, err := proxykit.SplitHostPort(req.URL.Host, proxykit.DefaultPort(req.URL.Scheme))
	l := s.newLog(req, req.URL.Scheme, host, req.URL.Path)
	if err != nil {
		l.host = req.URL.Host
		return nil, s.block(req, l, "bad request host: "+err.Error())
	}

	ci, intercepted := proxykit.TargetOf(ctx)
	switch {
	case intercepted && (host != ci.Host || port != ci.Port):
		return nil, s.block(req, l, fmt.Sprintf("request for %q does not match the CONNECT target %q", net.JoinHostPort(host, port), net.JoinHostPort(ci.Host, ci.Port)))
	case !intercepted && req.Host != "" && !sameHost(req.Host, host, req.URL.Scheme):
		return nil, s.block(req, l, fmt.Sprintf("Host header %q does not match the request URL host %q", req.Host, host))
	case isGitPush(req.URL):
		return nil, s.block(req, l, "git push over HTTP(S) is not allowed; push through git-gate (the bottle's git remote)")
	}

	rt := t.lookup(host, port, s.ports[req.URL.Scheme])
	if rt == nil {
		// Not ours to judge: pipelock decides.
		l.decision = decForward
		return s.forward(req, ctx, l, nil), nil
	}
	l.route = rt.host
	if reason := rt.checkPath(req.URL.Path); reason != "" {
		return nil, s.block(req, l, reason+" (rule: "+proxykit.RulePath+")")
	}
	if rt.header != "" {
		// The agent's own credential never reaches a route with auth: not
		// in the route's header, nor in another credential header where
		// it could present an account of its own beside the bottle's.
		for _, h := range sidecarconfig.CredentialHeaders {
			req.Header.Del(h)
		}
		req.Header.Del(rt.header)
		if isUpgrade(req) {
			// Frames after a 101 are relayed raw: an upstream echoing the
			// injected token in a frame would hand it to the agent. Pipelock
			// refuses upgrades too, but not to its passthrough hosts.
			return nil, s.block(req, l, fmt.Sprintf("route %q injects a credential and this request asks for a protocol upgrade (%s); egress cannot mask credentials in upgraded streams", rt.host, req.Header.Get("Upgrade")))
		}
		if req.URL.Scheme != "https" {
			return nil, s.block(req, l, fmt.Sprintf("route %q injects a credential and this request is plain http; use https", rt.host))
		}
		req.Header.Set(rt.header, rt.value)
		l.slot = rt.slot
	}
	l.decision = decAllow
	// Every response from a route host is masked, intercepted or not (a
	// client may also send "GET https://..." to the proxy in the clear).
	return s.forward(req, ctx, l, t.redactor), nil
}

// forward arranges for req to go out through s.roundTrip with its log.
func (s *Server) forward(req *http.Request, ctx *goproxy.ProxyCtx, l *reqLog, red *redactor) *http.Request {
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0 {
		req.Body = &countBody{ReadCloser: req.Body, n: &l.bytesIn}
	}
	ctx.UserData = &reqState{log: l, red: red}
	ctx.RoundTripper = goproxy.RoundTripperFunc(s.roundTrip)
	return req
}

type reqState struct {
	log *reqLog
	red *redactor
}

// roundTrip sends a request out and prepares the response for the agent:
// tokens masked, bytes counted, the log line written when the body ends.
// An upstream failure becomes a 502 response (goproxy would otherwise drop
// an intercepted connection without an answer).
func (s *Server) roundTrip(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Response, error) {
	st := ctx.UserData.(*reqState)
	l := st.log
	resp, err := s.tr.RoundTrip(req)
	if err != nil {
		l.decision, l.status, l.reason = decError, http.StatusBadGateway, err.Error()
		if st.red != nil {
			l.reason = st.red.string(l.reason)
		}
		l.done()
		return goproxy.NewResponse(req, "text/plain; charset=utf-8", http.StatusBadGateway,
			"egress: upstream request failed: "+l.reason+"\n"), nil
	}
	l.status = resp.StatusCode
	// The status line is rebuilt from the code: an origin's reason phrase
	// ("200 Bearer <token>") would otherwise reach an HTTP/1.1 agent as it
	// is (issue 15, hole 2).
	resp.Status = ""
	if st.red != nil {
		st.red.header(resp.Header)
		if hasBody(req, resp) && !resp.Uncompressed && !identityEncoding(resp.Header) {
			// A body we cannot read is a body we cannot redact.
			enc := resp.Header.Get("Content-Encoding")
			resp.Body.Close()
			return s.block(req, l, fmt.Sprintf("the response from route %q is encoded (%s) and egress cannot redact credentials from it", l.route, enc)), nil
		}
		if hasBody(req, resp) && resp.StatusCode != http.StatusSwitchingProtocols {
			// A compressed body labelled identity (or nothing) would pass
			// the masking unread: the magic bytes decide, not the label
			// (issue 15 hole 2: gzip labelled identity).
			br := bufio.NewReader(resp.Body)
			if kind := compressedMagic(br); kind != "" {
				resp.Body.Close()
				return s.block(req, l, fmt.Sprintf("the response from route %q is %s-compressed whatever its Content-Encoding says, and egress cannot redact credentials from it", l.route, kind)), nil
			}
			resp.Body = struct {
				io.Reader
				io.Closer
			}{br, resp.Body}
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// WebSocket: goproxy needs the raw body to relay frames.
		l.done()
		return resp, nil
	}
	body := resp.Body
	if st.red != nil {
		body = newRedactReader(st.red, body, resp.ContentLength, resp.Trailer)
	}
	resp.Body = &countBody{ReadCloser: body, n: &l.bytesOut, end: l.done}
	return resp, nil
}

// isUpgrade reports whether req asks to switch protocols (WebSocket, h2c).
func isUpgrade(req *http.Request) bool {
	if req.Header.Get("Upgrade") != "" {
		return true
	}
	for _, v := range req.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// block answers 403 "blocked: <reason>" and logs it.
func (s *Server) block(req *http.Request, l *reqLog, reason string) *http.Response {
	l.decision, l.reason, l.status = decBlock, reason, http.StatusForbidden
	l.done()
	resp := goproxy.NewResponse(req, "text/plain; charset=utf-8", http.StatusForbidden, "blocked: "+reason+"\n")
	resp.Header.Set("X-Claude-Bottle-Blocked-By", "egress")
	return resp
}

func (s *Server) newLog(req *http.Request, scheme, host, path string) *reqLog {
	return &reqLog{log: s.log, start: time.Now(), method: req.Method, scheme: scheme, host: host, path: path}
}

// dialTunnel opens the raw stream for a CONNECT to a non-route host.
func (s *Server) dialTunnel(req *http.Request, network, addr string) (net.Conn, error) {
	h, _, _ := proxykit.SplitHostPort(addr, "443")
	l := s.newLog(req, "connect", h, "")
	l.decision = decTunnel
	ctx, cancel := context.WithTimeout(req.Context(), 45*time.Second)
	defer cancel()
	c, err := dialTunnel(ctx, s.upstream, addr)
	if err != nil {
		var ref *upstreamRefused
		if errors.As(err, &ref) {
			l.status = ref.status
		} else {
			l.status = http.StatusBadGateway
		}
		l.decision, l.reason = decError, err.Error()
		l.done()
		return nil, &dialError{err: err}
	}
	l.status = http.StatusOK
	hc, ok := c.(halfCloser)
	if !ok {
		l.done()
		return c, nil
	}
	return &countConn{halfCloser: hc, in: &l.bytesIn, out: &l.bytesOut, end: l.done}, nil
}

// tunnelError answers a CONNECT whose tunnel could not be opened. An
// upstream refusal (pipelock's "blocked: ...") is relayed as it is.
func (s *Server) tunnelError(w io.Writer, ctx *goproxy.ProxyCtx, err error) {
	var de *dialError
	if !errors.As(err, &de) {
		return // an error while relaying: the tunnel is already open
	}
	status, body := http.StatusBadGateway, "egress: cannot open a tunnel: "+err.Error()+"\n"
	var ref *upstreamRefused
	if errors.As(err, &ref) {
		status, body = ref.status, ref.body
	}
	rw, ok := w.(http.ResponseWriter)
	if p, isH2 := w.(interface{ ResponseWriter() http.ResponseWriter }); isH2 {
		rw, ok = p.ResponseWriter(), true
	}
	if ok {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.WriteHeader(status)
		_, _ = io.WriteString(rw, body)
		return
	}
	_, _ = fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}

// hasBody reports whether resp carries a body the agent will read.
func hasBody(req *http.Request, resp *http.Response) bool {
	switch {
	case req.Method == http.MethodHead, resp.ContentLength == 0,
		resp.StatusCode < 200, resp.StatusCode == http.StatusNoContent, resp.StatusCode == http.StatusNotModified:
		return false
	}
	return true
}

func identityEncoding(h http.Header) bool {
	enc := strings.TrimSpace(h.Get("Content-Encoding"))
	return enc == "" || strings.EqualFold(enc, "identity")
}

// sameHost reports whether a Host header names host (any port).
func sameHost(hostHeader, host, scheme string) bool {
	h, _, err := proxykit.SplitHostPort(hostHeader, proxykit.DefaultPort(scheme))
	return err == nil && h == host
}

// compressedMagic names the compression a body starts with (gzip, zlib,
// zstd), or "". Brotli has no magic number; an origin labelling brotli
// as identity is masked as text (and pipelock knows the token).
func compressedMagic(br *bufio.Reader) string {
	b, _ := br.Peek(4)
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return "gzip"
	case len(b) >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd:
		return "zstd"
	case len(b) >= 2 && b[0] == 0x78 && (b[1] == 0x01 || b[1] == 0x9c || b[1] == 0xda):
		// zlib's usual headers; the rarer ones would also match text.
		return "zlib"
	}
	return ""
}
