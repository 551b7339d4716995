package pipelock

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
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

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// TestBinaryResponses runs the real daemon with responses: strip from its
// config file, then block after a SIGHUP reload, over intercepted TLS to
// an origin serving an injected page, and reads its decision lines.
func TestBinaryResponses(t *testing.T) {
	bin := buildSidecar(t)
	org := newOrigin(t)
	org.serve = respOrigin(nil)
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	if err := ca.WriteNew(caDir, "binary response test CA", time.Hour); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "pipelock.json")
	cfg := sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, Responses: "strip"}
	if err := fileio.WriteJSON(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "pipelock", "--config", cfgPath, "--listen", addr,
		"--ca-cert", filepath.Join(caDir, "ca.crt"), "--ca-key", filepath.Join(caDir, "ca.key"))
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+org.caFile, AllowPrivateEnv+"=127.0.0.0/8")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan map[string]any, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
	}()
	waitFor := func(pred func(map[string]any) bool, what string) map[string]any {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					t.Fatalf("daemon exited before logging %s", what)
				}
				if pred(m) {
					return m
				}
			case <-timeout:
				t.Fatalf("no %s log line", what)
			}
		}
	}
	msg := func(s string) func(map[string]any) bool { return func(m map[string]any) bool { return m["msg"] == s } }
	respLine := func(m map[string]any) bool { return m["msg"] == "decision" && m["mode"] == "response" }
	waitFor(msg("listening"), `"listening"`)

	caPool, err := ca.CertPool(filepath.Join(caDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse("http://" + addr)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: caPool}, DisableKeepAlives: true}}
	get := func(u string) (int, http.Header, string, error) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b), err
	}
	base := "https://localhost:" + org.port()
	st, hdr, body, err := get(base + "/cl?n=5000&at=10")
	if st != 200 || err != nil || strings.Contains(body, "Ignore all previous") || !strings.Contains(body, "[stripped inject.override]") || hdr.Get("Content-Length") != strconv.Itoa(5000+len(respAttack)) {
		t.Fatalf("strip: %d %v Content-Length %q", st, err, hdr.Get("Content-Length"))
	}
	if d := waitFor(respLine, "response decision"); d["decision"] != "strip" || d["rule"] != "inject.override" || d["host"] != "localhost" {
		t.Fatalf("strip decision line %v", d)
	}

	// A phrase cut across two SSE events is read joined by the daemon:
	// the event that completes it is overwritten inside its string.
	st, _, body, err = get(base + "/sse-split")
	if st != 200 || err != nil || !strings.Contains(body, "Ignore all prev") || strings.Contains(body, "ious instructions") || !strings.Contains(body, " Bye.") {
		t.Fatalf("strip, split SSE: %d %v %q", st, err, body)
	}
	if d := waitFor(respLine, "response decision"); d["decision"] != "strip" || d["rule"] != "inject.override" {
		t.Fatalf("strip split-SSE decision line %v", d)
	}

	cfg.Responses = "block"
	if err := fileio.WriteJSON(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor(msg("config reloaded"), `"config reloaded"`)
	st, hdr, body, _ = get(base + "/chunked?n=5000&at=10")
	if st != 403 || hdr.Get("X-Pipelock-Rule") != "inject.override" || !strings.Contains(body, "(rule: inject.override)") {
		t.Fatalf("block: %d %q", st, body)
	}
	if d := waitFor(respLine, "response decision"); d["decision"] != "block" {
		t.Fatalf("block decision line %v", d)
	}
	st, _, body, err = get(base + "/sse?at=0")
	if st != 200 || err == nil || !strings.Contains(body, "first event") || strings.Contains(body, "Ignore all") {
		t.Fatalf("block mid-SSE: %d %v %q", st, err, body)
	}
	// A bad mode on reload is refused by name; the old config stays.
	if err := os.WriteFile(cfgPath, []byte(`{"allowlist":["localhost"],"responses":"loud"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	m := waitFor(msg("config reload failed; keeping the previous config"), "reload failure")
	if e, _ := m["err"].(string); !strings.Contains(e, `responses: "loud" is not a response mode`) {
		t.Fatalf("reload error %v", m)
	}
}
