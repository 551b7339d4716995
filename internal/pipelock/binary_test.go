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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

// buildSidecar builds the real claude-bottle-sidecar binary (once).
func buildSidecar(t *testing.T) string {
	t.Helper()
	return testkit.Binary(t, "cmd/claude-bottle-sidecar")
}

// TestBinary runs the real daemon: flags, config, SSL_CERT_FILE, known
// secrets from the env, SIGHUP reload (good and bad), SIGTERM.
func TestBinary(t *testing.T) {
	bin := buildSidecar(t)
	out, err := exec.Command(bin, "pipelock", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "known_secret_env") || !strings.Contains(string(out), "allow-private-upstream") {
		t.Fatalf("--help: %v\n%s", err, out)
	}

	org := newOrigin(t)
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	if err := ca.WriteNew(caDir, "binary test CA", time.Hour); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "pipelock.json")
	cfg := sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, KnownSecretEnv: []string{"PIPELOCK_SECRET_0"}}
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
	// The loopback exemption comes from the env var compose sets for test
	// upstreams (the flag form is covered by the in-process tests).
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+org.caFile, "PIPELOCK_SECRET_0="+secretVal, AllowPrivateEnv+"=127.0.0.0/8, ::1/128")
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
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"msg": "NOT JSON: " + sc.Text()}
			}
			lines <- m
		}
		close(lines)
	}()
	waitFor := func(msg string) map[string]any {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					t.Fatalf("daemon exited before logging %q", msg)
				}
				if s, _ := m["msg"].(string); strings.HasPrefix(s, "NOT JSON") {
					t.Fatalf("non-JSON stdout line: %s", s)
				}
				if m["msg"] == msg {
					return m
				}
			case <-timeout:
				t.Fatalf("no %q log line", msg)
			}
		}
	}
	if m := waitFor("TEST ONLY: SSRF guard relaxed"); !strings.Contains(m["allow_private_upstream"].(string), "127.0.0.0/8") {
		t.Fatalf("exemption not taken from %s: %v", AllowPrivateEnv, m)
	}
	waitFor("listening")

	caPool, err := ca.CertPool(filepath.Join(caDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse("http://" + addr)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: caPool}, DisableKeepAlives: true}}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := "https://localhost:" + org.port()
	if st, body := get(base + "/hello"); st != 200 || body != "origin ok\n" {
		t.Fatalf("allowed request: %d %q", st, body)
	}
	if d := waitFor("decision"); d["decision"] != "allow" || d["mode"] != "mitm" {
		t.Fatalf("decision line %v", d)
	}
	if st, body := get(base + "/p?x=" + url.QueryEscape(secretVal)); st != 403 || !strings.Contains(body, "(rule: dlp.known-secret)") {
		t.Fatalf("known secret from env: %d %q", st, body)
	}
	if d := waitFor("decision"); d["rule"] != "dlp.known-secret" {
		t.Fatalf("decision line %v", d)
	}
	connectStatus := func(hp string) int {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "CONNECT "+hp+" HTTP/1.1\r\nHost: "+hp+"\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"})
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if st := connectStatus("late.example:443"); st != 403 {
		t.Fatalf("late.example before reload: %d", st)
	}
	waitFor("decision")

	// Good reload: late.example becomes allowed.
	cfg.Allowlist = append(cfg.Allowlist, "late.example")
	if err := fileio.WriteJSON(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor("config reloaded")
	if st := connectStatus("late.example:443"); st != 200 {
		t.Fatalf("late.example after reload: %d", st)
	}
	// Bad reload: the old config stays and the error names the key.
	if err := os.WriteFile(cfgPath, []byte(`{"allowlist":["x.example"],"bogus":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	m := waitFor("config reload failed; keeping the previous config")
	if e, _ := m["err"].(string); !strings.Contains(e, "bogus") || !strings.Contains(e, cfgPath) {
		t.Fatalf("reload error does not name file and key: %v", m)
	}
	if st := connectStatus("late.example:443"); st != 200 {
		t.Fatalf("late.example after a bad reload: %d", st)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}
