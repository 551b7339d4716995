package pipelock

import (
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// docsPage is about 1 MB of ordinary documentation HTML: prose, code,
// comments, links and the words the rules start from (instructions,
// system, model, agent, developer, ignore, ...), none of it an attack.
func docsPage() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>Docs</title><!-- Google Tag Manager --></head><body>\n")
	extra := []string{
		"Follow the instructions in the install guide; the system service starts on boot.",
		"The model field names the language model the agent calls; developers set it in agent.yaml.",
		"Set ignore_errors to skip a failed step; previous versions ignored it.",
		`<a href="https://example.com/docs/config?tab=yaml#model">configuration reference</a> and <code>run --dry-run</code>.`,
		"<pre><code>func main() {\n\tif err := run(os.Args); err != nil {\n\t\tlog.Fatal(err)\n\t}\n}</code></pre>",
		"The assistant panel shows the admin settings; see the developer notes for the operator role.",
	}
	for b.Len() < 1_000_000 {
		fmt.Fprintf(&b, "<h2>Section %d</h2>\n<p>%s %s %s</p>\n<p>%s</p>\n", r.IntN(1000), para(r, 2), pick(r, extra...), para(r, 1), pick(r, extra...))
	}
	b.WriteString("</body></html>\n")
	return []byte(b.String())
}

// goSpecPage is the Go language specification's HTML from the Go tree
// that runs the benchmark: real documentation we did not write, dense
// with entities (&lt;, &amp;), code and non-ASCII text, so the decoded
// view is built for nearly every window.
func goSpecPage(b *testing.B) []byte {
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Fatalf("go env GOROOT: %v", err)
	}
	p, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "doc", "go_spec.html"))
	if err != nil {
		b.Fatalf("the Go spec page: %v", err)
	}
	return p
}

// BenchmarkResponseDownload downloads 100 MB through pipelock over
// intercepted TLS with response scanning off, warn, strip and block, in
// one run (issue 16: scanning on may lose at most 15 % against off): a
// binary file (application/octet-stream, sniffed: not text, so not read),
// our documentation HTML and the Go spec (every byte scanned). Also reports MB/s of the
// process's CPU time.
//
//	go test -run '^$' -bench BenchmarkResponseDownload -benchtime 3x ./internal/pipelock/
func BenchmarkResponseDownload(b *testing.B) {
	const n = 100_000_000
	bin := make([]byte, 1<<20)
	rr := rand.New(rand.NewPCG(3, 4))
	for i := range bin {
		bin[i] = byte(rr.Uint32())
	}
	for _, body := range []struct {
		name, ctype string
		page        []byte
	}{{"binary", "application/octet-stream", bin}, {"html", "text/html; charset=utf-8", docsPage()}, {"gospec", "text/html; charset=utf-8", goSpecPage(b)}} {
		serve := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", body.ctype)
			w.Header().Set("Content-Length", strconv.Itoa(n))
			for left := n; left > 0; {
				k := min(left, len(body.page))
				if _, err := w.Write(body.page[:k]); err != nil {
					return
				}
				left -= k
			}
		}
		for _, mode := range []string{"off", "warn", "strip", "block"} {
			b.Run(body.name+"/scan-"+mode, func(b *testing.B) {
				r := newRig(b, rigOpts{cfg: sidecarconfig.Pipelock{Responses: mode}, serve: serve})
				pu, _ := url.Parse(r.proxy.URL)
				tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: r.caPool}}
				defer tr.CloseIdleConnections()
				c := &http.Client{Transport: tr}
				b.SetBytes(n)
				cpu0 := benchCPU()
				for b.Loop() {
					resp, err := c.Get(r.httpsURL("/download"))
					if err != nil {
						b.Fatal(err)
					}
					got, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || got != n {
						b.Fatalf("got %d bytes: %v", got, err)
					}
				}
				if d := benchCPU() - cpu0; d > 0 {
					b.ReportMetric(float64(n)*float64(b.N)/d.Seconds()/1e6, "cpu-MB/s")
				}
				for _, d := range r.logs.decisions(b) {
					if d["mode"] == "response" {
						b.Fatalf("the download was flagged: %v", d)
					}
				}
			})
		}
	}
}

func benchCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
