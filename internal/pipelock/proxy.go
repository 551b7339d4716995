// Package pipelock is the bottle's outbound firewall (DESIGN.md §1, §3, §8):
// a forward proxy (HTTP and CONNECT) that lets through only allowlisted
// hosts, intercepts their TLS with the bottle's pipelock CA (except
// passthrough hosts, whose SNI it checks), blocks secrets in URLs, headers,
// bodies and host names (package dlp), and refuses internal destinations
// (SSRF). Every block is a 403 whose body starts "blocked: <reason>" and
// names the rule; every decision is one JSON log line.
package pipelock

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/claude-bottle/claude-bottle/internal/proxykit"
)

// Options configure a Server.
type Options struct {
	CA *tls.Certificate // the pipelock MITM CA (ca.Load); required
	// RootCAs verifies upstream TLS; nil means the system roots, which Go
	// reads from SSL_CERT_FILE when it is set.
	RootCAs  *x509.CertPool
	Logger   *slog.Logger // decisions; defaults to slog.Default()
	Resolver Resolver     // defaults to net.DefaultResolver
	// AllowPrivateUpstream exempts these ranges from the SSRF guard. TEST
	// ONLY: tests run their origins on loopback.
	AllowPrivateUpstream []netip.Prefix
}

// Server is the pipelock proxy. Its policy can be swapped while it serves.
type Server struct {
	policy atomic.Pointer[Policy]
	proxy  *proxykit.Proxy
	tr     *http.Transport
	guard  *guard
	log    *slog.Logger
}

// New builds a Server enforcing p.
func New(opts Options, p *Policy) (*Server, error) {
	if opts.CA == nil {
		return nil, errors.New("pipelock: no CA given")
	}
	if p == nil {
		return nil, errors.New("pipelock: no policy given")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	s := &Server{
		log:   opts.Logger,
		guard: &guard{resolver: opts.Resolver, allowPrivate: opts.AllowPrivateUpstream},
	}
	s.SetPolicy(p)
	s.tr = &http.Transport{
		Proxy:                 nil, // never an environment proxy: pipelock is the last hop
		DialContext:           s.guard.dialContext,
		TLSClientConfig:       &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		// The client's Accept-Encoding passes as it is; the transport must
		// not add gzip and decode behind the client's back.
		DisableCompression: true,
	}
	s.proxy = &proxykit.Proxy{
		CA:        opts.CA,
		Transport: s.tr,
		Logger:    opts.Logger,
		// ServeHTTP already decided this CONNECT: only MITM ones get here.
		Connect: func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
			h, port, _ := proxykit.SplitHostPort(host, "443")
			ctx.UserData = &proxykit.Target{Host: h, Port: port}
			return s.proxy.Intercept(), host
		},
		Request: s.handleRequest,
		Usage:   "pipelock is a forward proxy; send absolute-URL or CONNECT requests",
	}
	return s, nil
}

// SetPolicy swaps the policy in force; requests already decided keep theirs.
func (s *Server) SetPolicy(p *Policy) {
	for _, w := range p.warnings {
		s.log.Warn("config", "warning", w)
	}
	s.policy.Store(p)
}

// Close drops idle upstream connections.
func (s *Server) Close() { s.tr.CloseIdleConnections() }

// ServeHTTP decides CONNECTs itself (so refusals are proper 403s and
// passthrough tunnels can check the SNI) and hands the rest to goproxy.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		s.proxy.ServeHTTP(w, r)
		return
	}
	d := &decision{Mode: "connect", Method: r.Method, start: time.Now()}
	host, port, err := proxykit.SplitHostPort(r.Host, "443")
	d.Host, d.Port = host, port
	if err != nil {
		s.refuseConnect(w, d, RuleBadRequest, "bad CONNECT target: "+err.Error())
		return
	}
	p := s.policy.Load()
	if rule, reason := s.checkHost(p, host); rule != "" {
		s.refuseConnect(w, d, rule, reason)
		return
	}
	if !p.isPassthrough(host) {
		d.Mode = "mitm"
		s.proxy.ServeHTTP(w, r) // goproxy answers 200 and intercepts
		return
	}
	d.Mode = "passthrough"
	addrs, err := s.guard.resolve(r.Context(), host)
	if err != nil {
		s.refuseDest(w, d, err)
		return
	}
	s.passthrough(w, r, d, addrs)
}

func (s *Server) refuseConnect(w http.ResponseWriter, d *decision, rule, reason string) {
	d.Decision, d.Rule, d.Reason, d.Status = decBlock, rule, reason, http.StatusForbidden
	writeBlock(w, rule, reason)
	s.logDecision(d)
}

// refuseDest answers a failed resolution: an SSRF refusal is a block, a DNS
// failure a 502.
func (s *Server) refuseDest(w http.ResponseWriter, d *decision, err error) {
	var se *ssrfError
	if errors.As(err, &se) {
		s.refuseConnect(w, d, RuleSSRF, se.msg)
		return
	}
	d.Decision, d.Reason, d.Status = decError, err.Error(), http.StatusBadGateway
	http.Error(w, "pipelock: "+err.Error(), http.StatusBadGateway)
	s.logDecision(d)
}

// checkHost applies the host rules: IP literals, allowlist, and, for names
// not allowed, the DLP host checks (which give a sharper reason: the name is
// never resolved either way). It returns the rule and reason of a block.
func (s *Server) checkHost(p *Policy, host string) (rule, reason string) {
	if host == "" {
		return RuleBadRequest, "no host"
	}
	if a, ok := parseIPLiteral(host); ok {
		if p.ipLiterals[a] {
			return "", ""
		}
		return RuleIPLiteral, "IP literal not allowed: " + host
	}
	if p.allowed(host) {
		return "", ""
	}
	// A wildcard admits names the agent makes up: the name itself is a
	// channel (data in labels), so host-name DLP applies to every one.
	if p.wildcardAllowed(host) {
		if v := p.inspector.CheckHost(host); v != nil {
			return v.Rule, v.Reason + " (under a wildcard allowlist entry)"
		}
		return "", ""
	}
	if v := p.inspector.CheckHost(host); v != nil {
		return v.Rule, v.Reason
	}
	return RuleAllowlist, "host not allowed: " + host
}

// handleRequest decides one HTTP request: plain, or inside an intercepted
// connection.
func (s *Server) handleRequest(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
	p := s.policy.Load() // one snapshot for the whole request
	d := &decision{Mode: "http", Method: req.Method, start: time.Now(), PathLen: len(req.URL.RequestURI())}
	host, port, err := proxykit.SplitHostPort(req.URL.Host, proxykit.DefaultPort(req.URL.Scheme))
	d.Host, d.Port = host, port
	block := func(rule, reason string) (*http.Request, *http.Response) {
		d.Decision, d.Rule, d.Reason, d.Status = decBlock, rule, reason, http.StatusForbidden
		s.logDecision(d)
		drained := drainRefused(req)
		resp := blockResponse(req, rule, reason)
		resp.Close = !drained
		return req, resp
	}
	if err != nil {
		return block(RuleBadRequest, "bad host: "+err.Error())
	}
	if ci, ok := proxykit.TargetOf(ctx); ok {
		d.Mode = "mitm"
		if host != ci.Host || port != ci.Port {
			return block(RuleHostMismatch, fmt.Sprintf("request for %s inside a tunnel to %s", net.JoinHostPort(host, port), net.JoinHostPort(ci.Host, ci.Port)))
		}
	}
	if rule, reason := s.checkHost(p, host); rule != "" {
		return block(rule, reason)
	}
	if reason := proxykit.CheckPath(p.paths[host], host, req.URL.Path); reason != "" {
		// A route host's path list holds on every way in: egress checks
		// it, and so does pipelock for an agent that asks it directly
		// (issue 15 hole 7).
		return block(RulePath, reason)
	}
	if up := req.Header.Get("Upgrade"); up != "" {
		// WebSocket (or h2c) frames after the upgrade are not inspected, so
		// the upgrade is refused like a compressed body.
		return block(RuleUpgrade, "protocol upgrade to "+quoteOrNone(up)+" cannot be inspected")
	}
	in := p.inspector
	if v := in.CheckMethod(host, req.Method); v != nil {
		return block(v.Rule, v.Reason)
	}
	if !registeredMethods[req.Method] {
		// Any token is a valid method to Go's server, so the method is one
		// more field the agent writes (curl -X "$SECRET", issue 15 hole
		// 3). The known-secret scan above names a known secret; beyond it
		// only registered methods pass, so no private encoding rides in
		// the method either. The name itself is not echoed or logged.
		d.Method = fmt.Sprintf("(%d bytes)", len(req.Method))
		return block(RuleMethod, fmt.Sprintf("request method of %d bytes is not a registered HTTP method", len(req.Method)))
	}
	if v := in.CheckURL(req.URL); v != nil {
		return block(v.Rule, v.Reason)
	}
	if v := in.CheckHeaders(host, req.Header); v != nil {
		return block(v.Rule, v.Reason)
	}
	// The body (and its trailers) is scanned whole or as it streams
	// (upload.go).
	up, rule, reason := s.inspectBody(p, req)
	if rule != "" {
		return block(rule, reason)
	}
	addrs, err := s.guard.resolve(req.Context(), host)
	if err != nil {
		var se *ssrfError
		if errors.As(err, &se) {
			return block(RuleSSRF, se.msg)
		}
		d.Decision, d.Reason, d.Status = decError, err.Error(), http.StatusBadGateway
		s.logDecision(d)
		return req, goproxy.NewResponse(req, "text/plain; charset=utf-8", http.StatusBadGateway, "pipelock: "+err.Error()+"\n")
	}
	d.Decision = decAllow
	s.logDecision(d)
	s.scanResponses(p, ctx, d)
	if up != nil {
		s.streamUpload(ctx, up, d) // wraps the response side's round trip
	}
	return req.WithContext(context.WithValue(req.Context(), pinKey{}, &pin{host: host, addrs: addrs})), nil
}

// drainLimit bounds how much of a refused request's body pipelock reads and
// discards before answering. Closing a connection the client is still
// writing its body into resets it, and the client sees "connection reset"
// instead of the 403 that says why (a body over the cap is the common case).
const drainLimit = 64 << 20

// drainRefused discards what is left of a refused request's body, up to
// drainLimit, closes it, and reports whether all of it was read (so the
// connection can carry another request; if not, the answer closes it). A
// client waiting for "100 Continue" has sent nothing yet: it is not asked
// for a body only to have it thrown away.
func drainRefused(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	defer req.Body.Close()
	if strings.EqualFold(strings.TrimSpace(req.Header.Get("Expect")), "100-continue") {
		return false
	}
	n, err := io.Copy(io.Discard, io.LimitReader(req.Body, drainLimit+1))
	return err == nil && n <= drainLimit
}

// registeredMethods are the methods of the IANA HTTP Method Registry
// (RFC 9110, WebDAV and its extensions, PATCH, QUERY), case-sensitive as
// methods are. PRI is left out: it is only HTTP/2's connection preface.
var registeredMethods = map[string]bool{}

func init() {
	for _, m := range strings.Fields(`ACL BASELINE-CONTROL BIND CHECKIN CHECKOUT CONNECT COPY DELETE GET HEAD
		LABEL LINK LOCK MERGE MKACTIVITY MKCALENDAR MKCOL MKREDIRECTREF MKWORKSPACE MOVE OPTIONS
		ORDERPATCH PATCH POST PROPFIND PROPPATCH PUT QUERY REBIND REPORT SEARCH TRACE UNBIND
		UNCHECKOUT UNLINK UNLOCK UPDATE UPDATEREDIRECTREF VERSION-CONTROL`) {
		registeredMethods[m] = true
	}
}
