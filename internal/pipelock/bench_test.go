package pipelock

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// BenchmarkPath compares a client talking to the origin directly with one
// going through pipelock (TLS intercepted, full DLP), in one run:
// small-request latency (p50/p99), a 64 KiB JSON POST, and a 100 MB
// download.
//
//	go test -run '^$' -bench BenchmarkPath -benchtime 2000x ./internal/pipelock/
func BenchmarkPath(b *testing.B) {
	r := newRig(b, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, KnownSecretEnv: []string{"S"}},
		env: map[string]string{"S": secretVal}})
	direct := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.origin.pool}, MaxIdleConnsPerHost: 4}}
	pu, _ := url.Parse(r.proxy.URL)
	via := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: r.caPool}, MaxIdleConnsPerHost: 4}}
	b.Cleanup(func() {
		direct.CloseIdleConnections()
		via.CloseIdleConnections()
	})
	body := benchJSON(64 << 10)
	for _, c := range []struct {
		name   string
		client *http.Client
	}{{"direct", direct}, {"pipelock", via}} {
		b.Run(c.name+"/get", func(b *testing.B) { latency(b, c.client, "GET", r.httpsURL("/small"), "") })
		b.Run(c.name+"/post-64KiB-json", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			latency(b, c.client, "POST", r.httpsURL("/post"), body)
		})
		b.Run(c.name+"/download-100MB", func(b *testing.B) {
			const n = 100_000_000
			b.SetBytes(n)
			for b.Loop() {
				resp, err := c.client.Get(r.httpsURL(fmt.Sprintf("/big?n=%d", n)))
				if err != nil {
					b.Fatal(err)
				}
				got, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if got != n {
					b.Fatalf("got %d bytes", got)
				}
			}
		})
	}
}

func latency(b *testing.B, c *http.Client, method, u, body string) {
	var ds []time.Duration
	for b.Loop() {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, u, rd)
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ds = append(ds, time.Since(t0))
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	if len(ds) > 0 {
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), "p99-µs")
	}
}

// benchJSON is a clean request body shaped like agent traffic.
func benchJSON(n int) string {
	g := secrettest.New(7)
	var sb strings.Builder
	sb.WriteString(`{"model":"claude","messages":[`)
	for i := 0; sb.Len() < n; i++ {
		fmt.Fprintf(&sb, `{"id":"%s","role":"user","content":"Refactor parseHeader%d to return errors; see commit %s."},`, g.UUID(), i, g.HexDigest(40))
	}
	return sb.String()[:n-2] + "]}"
}
