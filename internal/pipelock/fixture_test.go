package pipelock

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/secretscan"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/testca"
	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

// origin is a real TLS (and plain HTTP) server on loopback that records
// what reached it.
type origin struct {
	tls, plain *httptest.Server
	caFile     string // PEM of the CA that signed its certificate
	pool       *x509.CertPool
	mu         sync.Mutex
	got        []recorded
	// serve, when set, answers instead of the default handler (after the
	// request is recorded): tests that need their own responses.
	serve http.HandlerFunc
}

type recorded struct {
	Host, Path string
	Header     http.Header
	Body       string
	BodyErr    error // reading the body failed (an upload pipelock aborted)
}

func (o *origin) requests() []recorded {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]recorded(nil), o.got...)
}

func (o *origin) port() string { return portOf(o.tls.URL) }

func portOf(u string) string {
	p, _ := url.Parse(u)
	return p.Port()
}

func newOrigin(t testing.TB) *origin {
	t.Helper()
	oca := testca.New(t, "test origin CA")
	leaf := oca.Leaf(t, "localhost", "127.0.0.1", "::1")
	o := &origin{pool: oca.Pool}
	o.caFile = oca.WriteCert(t, filepath.Join(t.TempDir(), "origin-ca.pem"))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		o.mu.Lock()
		o.got = append(o.got, recorded{Host: r.Host, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: string(body), BodyErr: err})
		o.mu.Unlock()
		if o.serve != nil {
			o.serve(w, r)
			return
		}
		if r.URL.Path == "/big" {
			serveBig(w, r)
			return
		}
		io.WriteString(w, "origin ok\n")
	})
	o.tls = httptest.NewUnstartedServer(h)
	o.tls.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	o.tls.StartTLS()
	o.plain = httptest.NewServer(h)
	t.Cleanup(func() { o.tls.Close(); o.plain.Close() })

	return o
}

// serveBig streams ?n bytes (default 1 MiB) of zeros.
func serveBig(w http.ResponseWriter, r *http.Request) {
	n := int64(1 << 20)
	if s := r.URL.Query().Get("n"); s != "" {
		var v int64
		for _, c := range s {
			v = v*10 + int64(c-'0')
		}
		n = v
	}
	w.Header().Set("Content-Length", itoa64(n))
	buf := make([]byte, 64<<10)
	for n > 0 {
		k := min(int64(len(buf)), n)
		if _, err := w.Write(buf[:k]); err != nil {
			return
		}
		n -= k
	}
}

func itoa64(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// logBuf collects the proxy's JSON log lines.
type logBuf struct{ testkit.SyncBuffer }

// decisions returns every "decision" log line.
func (l *logBuf) decisions(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		if m["msg"] == "decision" {
			out = append(out, m)
		}
	}
	return out
}

// rig is a pipelock server in front of an origin, plus a client.
type rig struct {
	t      testing.TB
	origin *origin
	srv    *Server
	proxy  *httptest.Server
	caPool *x509.CertPool // pipelock CA
	caPath string         // its PEM file, for external clients (curl)
	logs   *logBuf
	client *http.Client
}

type rigOpts struct {
	cfg          sidecarconfig.Pipelock
	env          map[string]string
	allowPrivate []netip.Prefix
	resolver     Resolver
	noLoopback   bool             // keep the SSRF guard fully on
	serve        http.HandlerFunc // the origin's handler (origin.serve)
}

func newRig(t testing.TB, o rigOpts) *rig {
	t.Helper()
	sc, err := secretscan.Default()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pipelock-ca")
	if err := ca.WriteNew(dir, "test pipelock CA", time.Hour); err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Load(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	caPool, err := ca.CertPool(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	org := newOrigin(t)
	org.serve = o.serve
	if o.cfg.Allowlist == nil {
		o.cfg.Allowlist = []string{"localhost"}
	}
	pol, err := BuildPolicy(&o.cfg, func(k string) string { return o.env[k] }, sc)
	if err != nil {
		t.Fatal(err)
	}
	allow := o.allowPrivate
	if allow == nil && !o.noLoopback {
		allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	logs := &logBuf{}
	srv, err := New(Options{
		CA: cert, RootCAs: org.pool, Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Resolver: o.resolver, AllowPrivateUpstream: allow,
	}, pol)
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(srv)
	pu, _ := url.Parse(ps.URL)
	tr := &http.Transport{
		Proxy:             http.ProxyURL(pu),
		TLSClientConfig:   &tls.Config{RootCAs: caPool},
		DisableKeepAlives: true,
	}
	r := &rig{t: t, origin: org, srv: srv, proxy: ps, caPool: caPool, caPath: filepath.Join(dir, "ca.crt"), logs: logs,
		client: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
	t.Cleanup(func() { ps.Close(); srv.Close(); tr.CloseIdleConnections() })
	return r
}

// httpsURL is the origin's TLS URL under the name "localhost".
func (r *rig) httpsURL(path string) string { return "https://localhost:" + r.origin.port() + path }
func (r *rig) httpURL(path string) string {
	return "http://localhost:" + portOf(r.origin.plain.URL) + path
}

// do sends req and returns status and body.
func (r *rig) do(req *http.Request) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := r.client.Do(req.WithContext(ctx))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func (r *rig) get(u string) (int, string, error) {
	req, _ := http.NewRequest("GET", u, nil)
	return r.do(req)
}

// connect opens a raw CONNECT to hostport and returns the conn and the
// proxy's status line and body (for a refusal).
func (r *rig) connect(hostport string) (net.Conn, *http.Response, error) {
	c, err := net.DialTimeout("tcp", r.proxy.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "CONNECT "+hostport+" HTTP/1.1\r\nHost: "+hostport+"\r\n\r\n"); err != nil {
		c.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if resp.StatusCode == 200 && br.Buffered() > 0 {
		c.Close()
		return nil, nil, io.ErrUnexpectedEOF
	}
	return c, resp, nil
}

func mustContain(t testing.TB, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("got %q, want it to contain %q", got, want)
	}
}
