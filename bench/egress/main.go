// Command egress benchmarks the egress daemon against one local origin:
// added latency per request on a keep-alive connection, 100 MB download
// and upload throughput (through egress vs direct), and the daemon's RSS
// idle and with 200 concurrent connections. Run it with bench/egress.sh.
//
// The daemon runs as its own process (the real binary, --direct: no
// upstream proxy, so the figures are egress's own cost), on a route with
// a credential, so injection and response redaction are on the path.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

func main() {
	bin := flag.String("bin", "", "claude-bottle-sidecar binary (required)")
	n := flag.Int("n", 2000, "requests per latency run")
	mb := flag.Int("mb", 100, "MB per throughput run")
	runs := flag.Int("runs", 3, "throughput runs per mode (best is reported)")
	conns := flag.Int("conns", 200, "concurrent connections for the RSS figure")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "usage: egress -bin path/to/claude-bottle-sidecar")
		os.Exit(2)
	}
	if err := run(*bin, *n, *mb, *runs, *conns); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(bin string, n, mb, runs, conns int) error {
	dir, err := os.MkdirTemp("", "egress-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// Origin: TLS on loopback, certificate for "localhost".
	originCA := mustCA("bench origin CA")
	leaf := mustLeaf(originCA, "localhost")
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i*7 + 3)
	}
	hold := make(chan struct{})
	var holding sync.WaitGroup
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 64))
	})
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(mb<<20))
		for range mb {
			if _, err := w.Write(block); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		nr, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, nr)
	})
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		holding.Done()
		<-hold
	})
	origin := httptest.NewUnstartedServer(mux)
	origin.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	origin.StartTLS()
	defer origin.Close()
	_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
	base := "https://localhost:" + port

	// Egress: its CA, a route with a credential, the real binary.
	caDir := filepath.Join(dir, "egress-ca")
	if err := ca.WriteNew(caDir, "bench egress CA", time.Hour); err != nil {
		return err
	}
	routes := filepath.Join(dir, "routes.json")
	if err := fileio.WriteJSON(routes, &sidecarconfig.Routes{Routes: []sidecarconfig.Route{
		{Host: "localhost", Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}},
	}}, 0o644); err != nil {
		return err
	}
	originPEM := filepath.Join(dir, "origin-ca.pem")
	if err := os.WriteFile(originPEM, originCA.certPEM, 0o644); err != nil {
		return err
	}
	cmd := exec.Command(bin, "egress", "--config", routes, "--listen", "127.0.0.1:0", "--direct",
		"--ca-cert", filepath.Join(caDir, "ca.crt"), "--ca-key", filepath.Join(caDir, "ca.key"),
		"--test-route-ports", "https="+port)
	cmd.Env = []string{"EGRESS_TOKEN_0=bench-token-0123456789abcdef", "SSL_CERT_FILE=" + originPEM}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr, err := listenAddr(out)
	if err != nil {
		return err
	}
	proxyURL, _ := url.Parse("http://" + addr)

	roots := x509.NewCertPool()
	roots.AddCert(originCA.cert)
	egressPEM, err := os.ReadFile(filepath.Join(caDir, "ca.crt"))
	if err != nil {
		return err
	}
	roots.AppendCertsFromPEM(egressPEM)
	client := func(viaEgress bool) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, MaxIdleConnsPerHost: 4,
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}} // HTTP/1.1 both ways
		if viaEgress {
			tr.Proxy = http.ProxyURL(proxyURL)
		}
		return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	}

	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Printf("go: %s\n\n", runtime.Version())

	rssIdle0 := rss(cmd.Process.Pid)
	// Latency: one keep-alive connection each way, warmed up, requests
	// interleaved (direct, egress, direct, ...) so both see the same load
	// from whatever else runs on the machine.
	cd, cv := client(false), client(true)
	for range 200 {
		if err := getSmall(cd, base+"/small"); err != nil {
			return err
		}
		if err := getSmall(cv, base+"/small"); err != nil {
			return err
		}
	}
	dd, dv := make([]time.Duration, n), make([]time.Duration, n)
	for i := range n {
		for _, m := range []struct {
			c *http.Client
			d []time.Duration
		}{{cd, dd}, {cv, dv}} {
			t0 := time.Now()
			if err := getSmall(m.c, base+"/small"); err != nil {
				return err
			}
			m.d[i] = time.Since(t0)
		}
	}
	slices.Sort(dd)
	slices.Sort(dv)
	p := func(d []time.Duration, q int) float64 { return ms(d[len(d)*q/100]) }
	rssIdle := rss(cmd.Process.Pid)
	fmt.Printf("latency, %d GETs of 64 B on one keep-alive HTTP/1.1 connection (interleaved):\n", n)
	fmt.Printf("  direct   p50 %8.3f ms  p99 %8.3f ms\n", p(dd, 50), p(dd, 99))
	fmt.Printf("  egress   p50 %8.3f ms  p99 %8.3f ms\n", p(dv, 50), p(dv, 99))
	fmt.Printf("  added    p50 %8.3f ms  p99 %8.3f ms\n\n", p(dv, 50)-p(dd, 50), p(dv, 99)-p(dd, 99))

	// Throughput: runs alternate direct and egress; best of each.
	once := func(c *http.Client, up bool) (float64, error) {
		t0 := time.Now()
		var err error
		if up {
			err = upload(c, base+"/upload", mb, block)
		} else {
			err = download(c, base+"/download", mb)
		}
		return float64(mb) / time.Since(t0).Seconds(), err
	}
	fmt.Printf("throughput, %d MB over HTTPS (best of %d alternating runs, MB/s):\n", mb, runs)
	for _, up := range []bool{false, true} {
		name := map[bool]string{false: "download", true: "upload"}[up]
		var bd, bv float64
		var ratios []float64 // egress / direct of each adjacent pair
		for range runs {
			d, err := once(cd, up)
			if err != nil {
				return err
			}
			v, err := once(cv, up)
			if err != nil {
				return err
			}
			bd, bv = max(bd, d), max(bv, v)
			ratios = append(ratios, v/d)
		}
		// The best of each side alone swings with the VM's speed between
		// runs; the median of the pairs' ratios is the steadier figure.
		slices.Sort(ratios)
		fmt.Printf("  %-8s direct %7.1f  egress %7.1f  (%3.0f%% of direct; median of the %d pairs' ratios %3.0f%%)\n",
			name, bd, bv, 100*bv/bd, runs, 100*ratios[len(ratios)/2])
	}

	// RSS with concurrent connections: each holds one request in flight
	// on its own intercepted connection.
	holding.Add(conns)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client(true)
			resp, err := c.Get(base + "/hold")
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	done := make(chan struct{})
	go func() { holding.Wait(); close(done) }()
	select {
	case <-done:
	case err := <-errs:
		return err
	case <-time.After(60 * time.Second):
		return fmt.Errorf("the %d connections did not all reach the origin", conns)
	}
	rssConns := rss(cmd.Process.Pid)
	close(hold)
	wg.Wait()
	fmt.Printf("\nRSS of the egress process (VmRSS):\n")
	fmt.Printf("  at start              %6.1f MB\n", rssIdle0)
	fmt.Printf("  idle after the runs   %6.1f MB\n", rssIdle)
	fmt.Printf("  %d connections       %6.1f MB (each with a request in flight)\n", conns, rssConns)
	return nil
}

func getSmall(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return err
}

func download(c *http.Client, u string, mb int) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	nr, err := io.Copy(io.Discard, resp.Body)
	if err == nil && nr != int64(mb)<<20 {
		err = fmt.Errorf("download: %d bytes, want %d", nr, mb<<20)
	}
	return err
}

type repeatReader struct {
	block []byte
	left  int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), r.left)], r.block)
	r.left -= int64(n)
	return n, nil
}

func upload(c *http.Client, u string, mb int, block []byte) error {
	req, _ := http.NewRequestWithContext(context.Background(), "POST", u, &repeatReader{block: block, left: int64(mb) << 20})
	req.ContentLength = int64(mb) << 20
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != fmt.Sprint(mb<<20) {
		return fmt.Errorf("upload: origin got %q bytes, want %d", b, mb<<20)
	}
	return nil
}

func listenAddr(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "listening" {
			go func() { _, _ = io.Copy(io.Discard, r) }() // keep the daemon's stdout drained
			return m["addr"].(string), nil
		}
	}
	return "", fmt.Errorf("egress exited before listening")
}

func rss(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%f", &kb)
			return kb / 1024
		}
	}
	return -1
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return "unknown CPU"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// testCA is a CA in PEM (what ca.IssueLeaf signs with) and parsed.
type testCA struct {
	certPEM, keyPEM []byte
	cert            *x509.Certificate
}

func mustCA(cn string) testCA {
	certPEM, keyPEM, err := ca.Generate(cn, time.Hour)
	if err != nil {
		panic(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(c.Certificate[0])
	return testCA{certPEM, keyPEM, leaf}
}

func mustLeaf(c testCA, name string) tls.Certificate {
	certPEM, keyPEM, err := ca.IssueLeaf(c.certPEM, c.keyPEM, []string{name, "127.0.0.1"}, time.Hour)
	if err != nil {
		panic(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		panic(err)
	}
	return pair
}
