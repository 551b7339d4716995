package egress

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/testca"
)

// benchChain is client → egress (in process, direct) → TLS origin on
// "localhost". The full figures (latency percentiles, upload, RSS) come
// from bench/egress.sh; these benchmarks exist for profiling.
func benchChain(b *testing.B) (via, direct *http.Client, base string) {
	dir := b.TempDir()
	block := make([]byte, 1<<20)
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, strings.Repeat("x", 64)) })
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(100<<20))
		for range 100 {
			_, _ = w.Write(block)
		}
	})
	originCA := testca.New(b, "bench origin CA")
	origin := httptest.NewUnstartedServer(mux)
	origin.TLS = &tls.Config{Certificates: []tls.Certificate{originCA.Leaf(b, "localhost", "127.0.0.1")}}
	origin.StartTLS()
	b.Cleanup(origin.Close)
	caDir := filepath.Join(dir, "ca")
	if err := ca.WriteNew(caDir, "bench egress CA", time.Hour); err != nil {
		b.Fatal(err)
	}
	egressCA, _ := ca.Load(filepath.Join(caDir, "ca.crt"), filepath.Join(caDir, "ca.key"))
	originPool := origin.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	originPool.AddCert(originCA.Cert)
	_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
	srv, err := New(Options{CA: egressCA, RootCAs: originPool, Logger: slog.New(slog.DiscardHandler),
		Getenv: func(string) string { return "bench-token-0123456789abcdef" }, RoutePorts: map[string]string{"https": port}},
		&sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: "localhost", Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}}}})
	if err != nil {
		b.Fatal(err)
	}
	proxy := httptest.NewServer(srv.Handler())
	b.Cleanup(proxy.Close)
	roots := originPool.Clone()
	roots.AddCert(egressCA.Leaf)
	pu, _ := url.Parse(proxy.URL)
	mk := func(p *url.URL) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
		if p != nil {
			tr.Proxy = http.ProxyURL(p)
		}
		b.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	return mk(pu), mk(nil), "https://localhost:" + port
}

func benchGet(b *testing.B, c *http.Client, u string) {
	resp, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.SetBytes(n)
}

func BenchmarkSmallRequest(b *testing.B) {
	via, direct, base := benchChain(b)
	for _, tc := range []struct {
		name string
		c    *http.Client
	}{{"direct", direct}, {"egress", via}} {
		b.Run(tc.name, func(b *testing.B) {
			benchGet(b, tc.c, base+"/small")
			b.ResetTimer()
			for b.Loop() {
				benchGet(b, tc.c, base+"/small")
			}
		})
	}
}

func BenchmarkDownload100MB(b *testing.B) {
	via, direct, base := benchChain(b)
	for _, tc := range []struct {
		name string
		c    *http.Client
	}{{"direct", direct}, {"egress", via}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				benchGet(b, tc.c, base+"/download")
			}
		})
	}
}
