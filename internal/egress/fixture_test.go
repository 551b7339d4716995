package egress

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/proxykit"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/testca"
	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

// Test hosts. None resolves: only the stand-in upstream proxy knows where
// they are (the origin on loopback), so a request that skips the upstream
// fails.
const (
	hostAPI    = "api.test"    // route with auth and a path allowlist
	hostOpen   = "open.test"   // route without auth or allowlist
	hostOther  = "other.test"  // no route
	hostDenied = "denied.test" // no route, refused by the upstream
	tokenA     = "tok-A-0123456789abcdefSECRET"
	tokenB     = "tok-B-fedcba9876543210SECRET"
)

var testNames = map[string]bool{hostAPI: true, hostOpen: true, hostOther: true}

// seen is one request as the origin received it.
type seen struct {
	Host, Path, Auth string
	Key              string // X-Api-Key
	Upstream         bool   // the stand-in upstream proxy marked it
	Proto            string
}

type origin struct {
	srv       *httptest.Server
	plain     *httptest.Server // same handlers over plain http
	port      string
	plainPort string
	pool      *x509.CertPool // trusts the origin's certificate
	mu        sync.Mutex
	seen      []seen
	hooks     sync.Map // name → chan struct{}: test ↔ handler rendezvous
	caPath    string
}

func (o *origin) record(r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, seen{Host: r.Host, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Key: r.Header.Get("X-Api-Key"),
		Upstream: r.Header.Get("X-Upstream-Saw") == "1", Proto: r.Proto})
}

func (o *origin) requests() []seen {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]seen(nil), o.seen...)
}

// hook returns the rendezvous channel for name, making it on first use.
func (o *origin) hook(name string) chan struct{} {
	c, _ := o.hooks.LoadOrStore(name, make(chan struct{}))
	return c.(chan struct{})
}

type echoReply struct {
	Host, Path, Auth, Key, Proto string
	Upstream                     bool
}

func newOrigin(t *testing.T, dir string) *origin {
	t.Helper()
	o := &origin{}
	oca := testca.New(t, "test origin CA")
	leaf := oca.Leaf(t, hostAPI, hostOpen, hostOther, "127.0.0.1")
	o.pool = oca.Pool
	o.caPath = oca.WriteCert(t, filepath.Join(dir, "origin-ca.pem"))

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		// Echo everything, the credential included, in a header and the
		// body: egress must mask it before the agent sees it.
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Echo-Key", r.Header.Get("X-Api-Key"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoReply{Host: r.Host, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Key: r.Header.Get("X-Api-Key"),
			Proto: r.Proto, Upstream: r.Header.Get("X-Upstream-Saw") == "1"})
	})
	// The token in a gzip body (when the client accepts gzip), and in a
	// body encoded in a way egress cannot read.
	mux.HandleFunc("/v1/gzip", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = io.WriteString(w, "plain "+r.Header.Get("Authorization"))
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, "zipped "+r.Header.Get("Authorization"))
		_ = zw.Close()
	})
	// gzip labelled identity: the label lies, the magic bytes do not.
	mux.HandleFunc("/v1/gzip-as-identity", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		w.Header().Set("Content-Encoding", "identity")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, "zipped "+r.Header.Get("Authorization"))
		_ = zw.Close()
	})
	mux.HandleFunc("/v1/br", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		w.Header().Set("Content-Encoding", "br")
		_, _ = io.WriteString(w, "opaque "+r.Header.Get("Authorization"))
	})
	// SSE: event n+1 is sent only after the client has read event n and said
	// so, so a proxy that buffers the stream deadlocks (and the test fails).
	mux.HandleFunc("/v1/sse", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		id := r.URL.Query().Get("id")
		for i := range 3 {
			_, _ = io.WriteString(w, "data: event "+string(rune('0'+i))+"\n\n")
			w.(http.Flusher).Flush()
			if i < 2 {
				select {
				case <-o.hook(id + "-ack" + string(rune('0'+i))):
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Second):
					return
				}
			}
		}
	})
	// The token split across two flushed writes at offset k.
	mux.HandleFunc("/v1/split", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		auth := r.Header.Get("Authorization")
		k := len(auth) / 2
		_, _ = io.WriteString(w, "before "+auth[:k])
		w.(http.Flusher).Flush()
		time.Sleep(5 * time.Millisecond) // encourage two TCP segments; not asserted
		_, _ = io.WriteString(w, auth[k:]+" after")
	})
	// Download of n bytes; with wait=1 the origin holds the second half
	// until the client has read the first.
	mux.HandleFunc("/v1/download", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		n := atoi(r.URL.Query().Get("n"))
		id := r.URL.Query().Get("id")
		w.Header().Set("Content-Type", "application/octet-stream")
		half := n / 2
		_, _ = w.Write(pattern(0, half))
		w.(http.Flusher).Flush()
		if id != "" {
			select {
			case <-o.hook(id):
			case <-time.After(20 * time.Second):
				return
			}
		}
		_, _ = w.Write(pattern(half, n-half))
	})
	// Upload: counts bytes and hashes; signals after the first byte arrives.
	mux.HandleFunc("/v1/upload", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		id := r.URL.Query().Get("id")
		var n int64
		buf := make([]byte, 64*1024)
		first := true
		var sum uint64
		for {
			m, err := r.Body.Read(buf)
			for _, b := range buf[:m] {
				sum = sum*31 + uint64(b)
			}
			n += int64(m)
			if m > 0 && first && id != "" {
				first = false
				close(o.hook(id))
			}
			if err != nil {
				break
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]uint64{"n": uint64(n), "sum": sum})
	})
	// The token folded into a response header name (h2 lower-cases it,
	// Go's HTTP/1 client canonicalises it: either way not the exact token).
	mux.HandleFunc("/v1/fold", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		w.Header().Set("X-"+tok, "1")
		w.Header().Set("X-Kept", "yes")
		_, _ = io.WriteString(w, "ok")
	})
	// A bare WebSocket echo: 101, then every byte echoed back.
	mux.HandleFunc("/v1/ws", func(w http.ResponseWriter, r *http.Request) {
		o.record(r)
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want upgrade", 400)
			return
		}
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Echo-Auth: " + r.Header.Get("Authorization") + "\r\n\r\n")
		_ = rw.Flush()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		_, _ = io.Copy(c, rw)
	})

	o.srv = httptest.NewUnstartedServer(mux)
	o.srv.EnableHTTP2 = true
	o.srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	o.srv.StartTLS()
	t.Cleanup(o.srv.Close)
	_, o.port, _ = net.SplitHostPort(o.srv.Listener.Addr().String())
	o.plain = httptest.NewServer(mux)
	t.Cleanup(o.plain.Close)
	_, o.plainPort, _ = net.SplitHostPort(o.plain.Listener.Addr().String())
	return o
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// pattern is a deterministic byte stream: byte i is i*7+3 mod 251.
func pattern(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(((off+i)*7 + 3) % 251)
	}
	return b
}

// upstream is the stand-in for pipelock: a goproxy MITM proxy with its own
// CA that resolves the test names to the origin and marks what it sends.
type upstream struct {
	srv      *httptest.Server
	url      *url.URL
	caPath   string
	requests atomic.Int64
	connects atomic.Int64
}

func newUpstream(t *testing.T, dir string, o *origin) *upstream {
	t.Helper()
	u := &upstream{}
	uca := testca.New(t, "test upstream CA")
	u.caPath = uca.WriteCert(t, filepath.Join(dir, "upstream-ca.pem"))
	tlsCA, err := tls.X509KeyPair(uca.CertPEM, uca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tlsCA.Leaf = uca.Cert

	p := goproxy.NewProxyHttpServer()
	p.Verbose = false
	p.Logger = proxykit.GoproxyLogger{Log: slog.New(slog.DiscardHandler)}
	p.AllowHTTP2 = true
	p.CertStore = ca.NewLeafCache(64, time.Hour)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, port, err := net.SplitHostPort(addr)
		if err != nil || !testNames[strings.ToLower(h)] || (port != o.port && port != o.plainPort) {
			return nil, &net.AddrError{Err: "stand-in upstream only knows the test origin", Addr: addr}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, "127.0.0.1:"+port)
	}
	p.Tr = &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: o.pool}, ForceAttemptHTTP2: true}
	p.ConnectDial = nil
	mitm := &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: goproxy.TLSConfigFromCA(&tlsCA)}
	p.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		u.connects.Add(1)
		if strings.HasPrefix(host, hostDenied+":") {
			// What pipelock does for a host off its allowlist.
			ctx.Resp = goproxy.NewResponse(ctx.Req, "text/plain", http.StatusForbidden, "blocked: "+hostDenied+" is not on the allowlist (stand-in)\n")
			return &goproxy.ConnectAction{Action: goproxy.ConnectReject}, host
		}
		return mitm, host
	})
	p.OnRequest().DoFunc(func(r *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		u.requests.Add(1)
		r.Header.Set("X-Upstream-Saw", "1")
		return r, nil
	})
	u.srv = httptest.NewServer(p)
	t.Cleanup(u.srv.Close)
	u.url, _ = url.Parse(u.srv.URL)
	return u
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct{ testkit.SyncBuffer }

// lines decodes the JSON log lines written so far.
func (s *syncBuffer) lines(t testing.TB) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// env is a whole chain on loopback: client → egress → upstream → origin.
type env struct {
	dir      string
	origin   *origin
	up       *upstream
	egress   *Server
	proxy    *httptest.Server
	proxyURL *url.URL
	logs     *syncBuffer
	caDir    string
	bundle   string         // PEM: egress CA + upstream CA (what the agent trusts)
	roots    *x509.CertPool // same, as a pool
	tokens   map[string]string
}

func defaultRoutes() *sidecarconfig.Routes {
	return &sidecarconfig.Routes{Routes: []sidecarconfig.Route{
		{Host: "API.test", PathAllowlist: []string{"/v1", "/git/"}, Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}},
		{Host: hostOpen},
	}}
}

func newEnv(t *testing.T, routes *sidecarconfig.Routes) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), logs: &syncBuffer{}}
	e.tokens = map[string]string{"EGRESS_TOKEN_0": tokenA, "EGRESS_TOKEN_1": tokenB}
	e.origin = newOrigin(t, e.dir)
	e.up = newUpstream(t, e.dir, e.origin)
	e.caDir = filepath.Join(e.dir, "egress-ca")
	if err := ca.WriteNew(e.caDir, "test egress CA", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	egressCA, err := ca.Load(filepath.Join(e.caDir, "ca.crt"), filepath.Join(e.caDir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	upPool, err := ca.CertPool(e.up.caPath)
	if err != nil {
		t.Fatal(err)
	}
	if routes == nil {
		routes = defaultRoutes()
	}
	e.egress, err = New(Options{
		CA: egressCA, Upstream: e.up.url, RootCAs: upPool,
		Logger:     slog.New(slog.NewJSONHandler(e.logs, nil)),
		Getenv:     func(k string) string { return e.tokens[k] },
		RoutePorts: map[string]string{"https": e.origin.port, "http": e.origin.plainPort},
	}, routes)
	if err != nil {
		t.Fatal(err)
	}
	e.proxy = httptest.NewUnstartedServer(e.egress.Handler())
	e.proxy.Start()
	t.Cleanup(func() { e.proxy.Close(); e.egress.Close() })
	e.proxyURL, _ = url.Parse(e.proxy.URL)

	egressPEM, _ := os.ReadFile(filepath.Join(e.caDir, "ca.crt"))
	upPEM, _ := os.ReadFile(e.up.caPath)
	e.bundle = filepath.Join(e.dir, "agent-bundle.pem")
	if err := os.WriteFile(e.bundle, append(egressPEM, upPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	e.roots = x509.NewCertPool()
	e.roots.AppendCertsFromPEM(egressPEM)
	e.roots.AppendCertsFromPEM(upPEM)
	return e
}

// url of the origin under a test host name.
func (e *env) url(scheme, host, path string) string {
	port := e.origin.port
	if scheme == "http" {
		port = e.origin.plainPort
	}
	return scheme + "://" + host + ":" + port + path
}

// client is the agent's Go client; h2 picks HTTP/2 or HTTP/1.1 to egress.
func (e *env) client(t testing.TB, h2 bool) *http.Client {
	tr := &http.Transport{
		Proxy:             http.ProxyURL(e.proxyURL),
		TLSClientConfig:   &tls.Config{RootCAs: e.roots},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// needTool skips when a tool is missing, except under CI=true.
func needTool(t testing.TB, name string) string { return dockertest.Tool(t, name) }
