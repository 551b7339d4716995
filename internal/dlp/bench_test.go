package dlp_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
)

// cleanBody is a 64 KiB JSON request shaped like agent traffic: ids,
// digests, prose and code.
func cleanBody(n int) []byte {
	g := secrettest.New(99)
	var b strings.Builder
	b.WriteString(`{"model":"claude-sonnet","messages":[`)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":"%s","role":"user","content":"Please refactor function parseHeader%d so that it returns an error instead of panicking; see commit %s and the test in parser_test.go."},`, g.UUID(), i, g.HexDigest(40))
	}
	return []byte(b.String()[:n])
}

func BenchmarkCheckBodyClean64KiBJSON(b *testing.B) {
	benchCheckBody(b, cleanBody(64<<10))
}

// benchCheckBody measures CheckBody on a JSON body that must pass.
func benchCheckBody(b *testing.B, body []byte) {
	in := inspector(b)
	if v := in.CheckBody("application/json", body); v != nil {
		b.Fatalf("body blocked: %v", v)
	}
	b.SetBytes(int64(len(body)))
	cpu0 := cpuTime()
	for b.Loop() {
		in.CheckBody("application/json", body)
	}
	reportCPU(b, cpu0, len(body))
}

// The machine is shared: wall-clock MB/s drops when other jobs run, so the
// benchmarks also report throughput per second of this process's CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, cpu0 time.Duration, size int) {
	if d := cpuTime() - cpu0; d > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/d.Seconds()/1e6, "cpu-MB/s")
	}
}

// BenchmarkCheckBodyBase64Upload64KiB is the worst common case: a file
// upload as one base64 run. Every byte is a token character of mixed
// classes, so the prefilter hands all of it to gitleaks' rules.
func BenchmarkCheckBodyBase64Upload64KiB(b *testing.B) {
	raw := secrettest.New(7).Bytes(48 << 10)
	benchCheckBody(b, []byte(`{"name":"diagram.png","data":"`+base64.StdEncoding.EncodeToString(raw)+`"}`))
}
