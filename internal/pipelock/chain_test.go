package pipelock

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/egress"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// TestEgressChain runs the real chain agent → egress → pipelock → origin
// (DESIGN.md §8.4): the credential egress injects for its route host passes
// pipelock's DLP; the same token sent by the agent anywhere else is blocked.
func TestEgressChain(t *testing.T) {
	tok := secrettest.Kinds()[1].Make(secrettest.New(51)) // GitHub PAT shape
	sum := sha256.Sum256([]byte("Bearer " + tok))
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{
		Allowlist:           []string{"localhost"},
		InjectedCredentials: []sidecarconfig.InjectedCredential{{Host: "localhost", Header: "Authorization", SHA256: hex.EncodeToString(sum[:])}},
	}})

	dir := filepath.Join(t.TempDir(), "egress-ca")
	if err := ca.WriteNew(dir, "test egress CA", time.Hour); err != nil {
		t.Fatal(err)
	}
	ecert, err := ca.Load(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	epool, _ := ca.CertPool(filepath.Join(dir, "ca.crt"))
	up, _ := url.Parse(r.proxy.URL)
	eg, err := egress.New(egress.Options{
		CA: ecert, Upstream: up, RootCAs: r.caPool,
		Logger:     slog.New(slog.NewJSONHandler(io.Discard, nil)),
		RoutePorts: map[string]string{"https": r.origin.port()},
		Getenv: func(k string) string {
			if k == "EGRESS_TOKEN_0" {
				return tok
			}
			return ""
		},
	}, &sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: "localhost", Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}}}})
	if err != nil {
		t.Fatal(err)
	}
	es := httptest.NewServer(eg.Handler())
	t.Cleanup(func() { es.Close(); eg.Close() })
	eu, _ := url.Parse(es.URL)
	agent := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(eu), TLSClientConfig: &tls.Config{RootCAs: epool}, DisableKeepAlives: true}}
	send := func(h http.Header) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", r.httpsURL("/repos"), nil)
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := agent.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The injected credential reaches the origin.
	if st, body := send(nil); st != 200 {
		t.Fatalf("route request through egress and pipelock: %d %q", st, body)
	}
	got := r.origin.requests()
	if len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer "+tok {
		t.Fatalf("origin did not get the injected credential: %v", got)
	}
	// The agent copying the token into another header is caught.
	st, body := send(http.Header{"X-Copy": {tok}})
	if st != 403 || !strings.Contains(body, "(rule: dlp.github)") {
		t.Fatalf("token in another header: %d %q", st, body)
	}
	if len(r.origin.requests()) != 1 {
		t.Fatal("the leaking request reached the origin")
	}
}
