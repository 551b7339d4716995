package pipelock

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/egress"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/testca"
	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

// BenchmarkUpload100MB sends a 100 MB upload directly to a TLS origin and
// through the real chain agent → egress (in process, route host
// intercepted) → pipelock (the real binary, its own process) → origin, in
// one run, and reports pipelock's peak RSS (VmHWM, reset before each
// case) while it scans the body as it streams.
//
//	go test -run '^$' -bench BenchmarkUpload100MB -benchtime 1x ./internal/pipelock/
func BenchmarkUpload100MB(b *testing.B) {
	const n = 100_000_000
	g := secrettest.New(71)
	bodies := []struct {
		name string
		body []byte
	}{
		// Prose and code lines (a log or source dump), and random bytes
		// (an archive, a model file).
		{"text", []byte(uploadText(n))},
		{"random-bytes", g.Bytes(n)},
	}
	org := newSinkOrigin(b)
	pl := startPipelockBinary(b, org)
	agent := egressChain(b, pl, org)
	direct := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: org.pool}}}
	for _, c := range bodies {
		for _, via := range []struct {
			name   string
			client *http.Client
		}{{"direct", direct}, {"egress-pipelock", agent}} {
			b.Run(c.name+"/"+via.name, func(b *testing.B) {
				var cpu0 float64
				if via.name != "direct" {
					pl.resetPeak(b)
					cpu0 = pl.cpuSeconds(b)
				}
				b.SetBytes(int64(len(c.body)))
				for b.Loop() {
					req, _ := http.NewRequest("PUT", org.url+"/upload", strings.NewReader(string(c.body)))
					resp, err := via.client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					msg, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || string(msg) != strconv.Itoa(len(c.body)) {
						b.Fatalf("%d %q: the origin did not get the whole body", resp.StatusCode, msg)
					}
				}
				if via.name != "direct" {
					b.ReportMetric(pl.peakMiB(b), "pipelock-peak-RSS-MiB")
					if d := pl.cpuSeconds(b) - cpu0; d > 0 {
						b.ReportMetric(float64(len(c.body))*float64(b.N)/d/1e6, "pipelock-cpu-MB/s")
					}
				}
			})
		}
	}
}

// uploadText is n bytes of varied clean lines: prose, code, log lines.
func uploadText(n int) string {
	lines := []string{
		"2026-12-01T10:%02d:%02d INFO worker %d finished job %d in %d ms\n",
		"func handle%d(w http.ResponseWriter, r *http.Request) { // route %d, retry %d of %d, limit %d\n",
		"The scheduler moved shard %d to node %d after %d failed health checks (%d of %d replicas up).\n",
	}
	var b strings.Builder
	b.Grow(n + 200)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, lines[i%len(lines)], i%60, i%59, i%97, i, i%1000, i%7)
	}
	return b.String()[:n]
}

// sinkOrigin is a TLS origin that reads a body and answers its length; it
// records each body's length and read error.
type sinkOrigin struct {
	url, caFile string
	pool        *x509.CertPool
	got         chan sunk
}

type sunk struct {
	n   int64
	err error
}

func newSinkOrigin(b testing.TB) *sinkOrigin {
	got := make(chan sunk, 64)
	oca := testca.New(b, "upload origin CA")
	leaf := oca.Leaf(b, "localhost", "127.0.0.1")
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		select {
		case got <- sunk{n, err}:
		default:
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		io.WriteString(w, strconv.FormatInt(n, 10))
	}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	s.StartTLS()
	b.Cleanup(s.Close)
	return &sinkOrigin{url: "https://localhost:" + portOf(s.URL), caFile: oca.WriteCert(b, filepath.Join(b.TempDir(), "origin-ca.pem")), pool: oca.Pool, got: got}
}

// pipelockProc is the real pipelock daemon.
type pipelockProc struct {
	cmd    *exec.Cmd
	addr   string
	caCert string
	caKey  string
}

func startPipelockBinary(b testing.TB, org *sinkOrigin) *pipelockProc {
	bin := testkit.Binary(b, "cmd/claude-bottle-sidecar")
	dir := b.TempDir()
	caDir := filepath.Join(dir, "ca")
	if err := ca.WriteNew(caDir, "upload bench pipelock CA", time.Hour); err != nil {
		b.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "pipelock.json")
	cfg := sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, KnownSecretEnv: []string{"PIPELOCK_SECRET_0"}}
	if err := fileio.WriteJSON(cfgPath, cfg, 0o644); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	p := &pipelockProc{addr: addr, caCert: filepath.Join(caDir, "ca.crt"), caKey: filepath.Join(caDir, "ca.key")}
	p.cmd = exec.CommandContext(ctx, bin, "pipelock", "--config", cfgPath, "--listen", addr, "--ca-cert", p.caCert, "--ca-key", p.caKey)
	p.cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+org.caFile, "PIPELOCK_SECRET_0="+secretVal, AllowPrivateEnv+"=127.0.0.0/8")
	out, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); _ = p.cmd.Wait() })
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), `"msg":"listening"`) {
				once = true
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(60 * time.Second):
		b.Fatal("pipelock did not start listening")
	}
	return p
}

// resetPeak resets the process's VmHWM (Linux clear_refs).
func (p *pipelockProc) resetPeak(b *testing.B) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0); err != nil {
		b.Fatalf("resetting pipelock's peak RSS: %v", err)
	}
}

// cpuSeconds is the process's user+system CPU time (/proc/<pid>/stat),
// which the other jobs on a shared machine do not inflate as they do
// wall time.
func (p *pipelockProc) cpuSeconds(b *testing.B) float64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the ")" that ends the command name: utime and stime
	// are the 12th and 13th (clock ticks, 100 a second on Linux).
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	stt, _ := strconv.ParseFloat(f[12], 64)
	return (ut + stt) / 100
}

// peakMiB reads VmHWM from /proc/<pid>/status.
func (p *pipelockProc) peakMiB(b *testing.B) float64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}

// egressChain is an agent client whose proxy is egress, whose upstream is
// the pipelock daemon; localhost is a route host, so egress intercepts it
// too.
func egressChain(b testing.TB, pl *pipelockProc, org *sinkOrigin) *http.Client {
	dir := filepath.Join(b.TempDir(), "egress-ca")
	if err := ca.WriteNew(dir, "upload bench egress CA", time.Hour); err != nil {
		b.Fatal(err)
	}
	ecert, err := ca.Load(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	if err != nil {
		b.Fatal(err)
	}
	epool, _ := ca.CertPool(filepath.Join(dir, "ca.crt"))
	plPool, _ := ca.CertPool(pl.caCert)
	up, _ := url.Parse("http://" + pl.addr)
	eg, err := egress.New(egress.Options{
		CA: ecert, Upstream: up, RootCAs: plPool,
		Logger:     slog.New(slog.NewJSONHandler(io.Discard, nil)),
		RoutePorts: map[string]string{"https": portOf(org.url)},
	}, &sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: "localhost"}}})
	if err != nil {
		b.Fatal(err)
	}
	es := httptest.NewServer(eg.Handler())
	b.Cleanup(func() { es.Close(); eg.Close() })
	eu, _ := url.Parse(es.URL)
	return &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{
		Proxy: http.ProxyURL(eu), TLSClientConfig: &tls.Config{RootCAs: epool}}}
}
