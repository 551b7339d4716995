package proxykit

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/claude-bottle/claude-bottle/internal/ca"
)

// Proxy is a forward proxy (plain HTTP and CONNECT) on goproxy, set up the
// one way egress and pipelock need. Like httputil.ReverseProxy it is a
// struct whose fields are its hooks; the zero value of a hook is the safe
// default. Set the fields before the first ServeHTTP and do not change
// them after.
//
// The set-up rules it holds: goproxy never reads HTTP(S)_PROXY from the
// environment (ConnectDial is ours or a plain dial), never uses its
// built-in, publicly known CA (every interception uses CA, through
// Intercept), keeps minted leaves in a bounded cache, logs through slog at
// warning level only, and answers requests addressed to the proxy itself
// with /healthz or a 400.
type Proxy struct {
	// CA signs the leaf certificates of intercepted connections.
	// Required when Connect may return Intercept().
	CA *tls.Certificate
	// Transport sends every request upstream. Required: goproxy's default
	// transport would follow the environment's proxy variables.
	Transport *http.Transport
	// Logger receives goproxy's warnings. Defaults to slog.Default().
	Logger *slog.Logger
	// LeafCacheSize bounds the minted leaf certificates kept, each for a
	// day (default 1024).
	LeafCacheSize int
	// AllowHTTP2 lets intercepted connections negotiate h2.
	AllowHTTP2 bool

	// Connect decides a CONNECT to host ("host:port" as the client sent
	// it): Intercept(), Tunnel, or Reject with ctx.Resp set. It may set
	// ctx.UserData, which every request inside the connection inherits.
	// Nil intercepts every CONNECT.
	Connect func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string)
	// Request decides every request (plain, or inside an intercepted
	// connection): return a response to answer it, or nil to send the
	// (possibly changed) request on through Transport or ctx.RoundTripper.
	Request func(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response)
	// DialTunnel opens the stream of a CONNECT that Connect tunnels. Nil
	// dials addr directly.
	DialTunnel func(req *http.Request, network, addr string) (net.Conn, error)
	// TunnelError answers a CONNECT whose tunnel could not be opened, and
	// hears of errors while relaying one. Nil: goproxy's default (a 502).
	TunnelError func(w io.Writer, ctx *goproxy.ProxyCtx, err error)
	// Usage is the 400 text for a request addressed to the proxy itself
	// rather than through it; /healthz always answers "ok".
	Usage string

	once sync.Once
	gp   *goproxy.ProxyHttpServer
	mitm *goproxy.ConnectAction
}

// Tunnel passes a CONNECT through uninspected (DialTunnel opens it).
var Tunnel = &goproxy.ConnectAction{Action: goproxy.ConnectAccept}

// Reject refuses a CONNECT with ctx.Resp. goproxy's own RejectConnect
// carries its built-in CA; this one carries none.
var Reject = &goproxy.ConnectAction{Action: goproxy.ConnectReject}

// Intercept is the action that intercepts a CONNECT with p.CA.
func (p *Proxy) Intercept() *goproxy.ConnectAction {
	p.once.Do(p.init)
	return p.mitm
}

// ServeHTTP serves one proxy request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.once.Do(p.init)
	p.gp.ServeHTTP(w, r)
}

func (p *Proxy) init() {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	n := p.LeafCacheSize
	if n <= 0 {
		n = 1024
	}
	gp := goproxy.NewProxyHttpServer()
	gp.Verbose = false
	gp.Logger = GoproxyLogger{Log: log}
	gp.AllowHTTP2 = p.AllowHTTP2
	gp.Tr = p.Transport
	// Leaves are minted per host and kept, bounded, for a day (well inside
	// their one-year validity).
	gp.CertStore = ca.NewLeafCache(n, 24*time.Hour)
	// NewProxyHttpServer reads HTTPS_PROXY from the environment: neither
	// proxy ever does.
	gp.ConnectDial = nil
	if p.DialTunnel != nil {
		gp.ConnectDialWithReq = p.DialTunnel
	}
	if p.TunnelError != nil {
		gp.ConnectionErrHandler = p.TunnelError
	}
	usage := p.Usage
	if usage == "" {
		usage = "this is an HTTP(S) proxy; send absolute-URL or CONNECT requests"
	}
	gp.NonproxyHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		http.Error(w, usage, http.StatusBadRequest)
	})
	if p.CA != nil {
		p.mitm = &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: goproxy.TLSConfigFromCA(p.CA)}
	} else {
		// No CA, no interception: a Connect that asks for it gets a refusal
		// instead of goproxy's built-in CA.
		p.mitm = Reject
	}
	connect := p.Connect
	if connect == nil {
		connect = func(host string, _ *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) { return p.mitm, host }
	}
	gp.OnRequest().HandleConnectFunc(connect)
	if p.Request != nil {
		gp.OnRequest().DoFunc(p.Request)
	}
	p.gp = gp
}

// CachedLeaves is how many minted leaf certificates the cache holds.
func (p *Proxy) CachedLeaves() int {
	p.once.Do(p.init)
	if c, ok := p.gp.CertStore.(interface{ Len() int }); ok {
		return c.Len()
	}
	return 0
}

// Target is the CONNECT target of an intercepted connection. Connect
// stores it in ctx.UserData; every request inside the connection inherits
// it, so Request can refuse one that names another host or port.
type Target struct {
	Host string // SplitHostPort form
	Port string
}

// TargetOf returns the CONNECT target a request arrived inside, if any.
func TargetOf(ctx *goproxy.ProxyCtx) (*Target, bool) {
	t, ok := ctx.UserData.(*Target)
	return t, ok
}
