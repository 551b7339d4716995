package egress

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// TestMain lets a test run the daemon as a real process: the test binary
// re-executed with EGRESS_TEST_MAIN=1 is "claude-bottle-sidecar egress".
func TestMain(m *testing.M) {
	if os.Getenv("EGRESS_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// daemon is a running egress process.
type daemon struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	lines  []string
	stderr strings.Builder
	exited chan struct{}
}

// logged counts the stdout lines whose msg is msg.
func (d *daemon) logged(msg string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, l := range d.lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			n++
		}
	}
	return n
}

func (d *daemon) waitLogged(t *testing.T, msg string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for d.logged(msg) < n {
		if time.Now().After(deadline) {
			d.mu.Lock()
			defer d.mu.Unlock()
			t.Fatalf("waited for %d %q log lines; log:\n%s", n, msg, strings.Join(d.lines, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startDaemon runs bin (the test binary re-executed, or the real sidecar
// binary with "egress" first in args) and waits for "listening".
func startDaemon(t *testing.T, bin string, env []string, args ...string) *daemon {
	t.Helper()
	d := &daemon{exited: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	d.cmd.Stderr = &d.stderr
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			d.mu.Lock()
			d.lines = append(d.lines, line)
			d.mu.Unlock()
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "listening" {
				addr <- m["addr"].(string)
			}
		}
		_ = d.cmd.Wait()
		close(d.exited)
	}()
	select {
	case d.addr = <-addr:
	case <-d.exited:
		t.Fatalf("egress exited before listening: %s", d.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("egress did not start listening")
	}
	return d
}

// processEnv is an env with a routes file on disk, for daemon processes.
func processEnv(t *testing.T, rs *sidecarconfig.Routes) (*env, string, []string) {
	e := newEnv(t, rs)
	if rs == nil {
		rs = defaultRoutes()
	}
	routes := filepath.Join(e.dir, "routes.json")
	if err := fileio.WriteJSON(routes, rs, 0o644); err != nil {
		t.Fatal(err)
	}
	environ := []string{"EGRESS_TOKEN_0=" + tokenA, "EGRESS_TOKEN_1=" + tokenB,
		"EGRESS_UPSTREAM_PROXY=" + e.up.url.String(), "EGRESS_UPSTREAM_CA=" + e.up.caPath, "EGRESS_TEST_MAIN=1",
		// must be ignored: egress's upstream comes from its own settings
		"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1"}
	return e, routes, environ
}

func (e *env) daemonArgs(routes string) []string {
	return []string{"--config", routes, "--listen", "127.0.0.1:0",
		"--ca-cert", filepath.Join(e.caDir, "ca.crt"), "--ca-key", filepath.Join(e.caDir, "ca.key"),
		"--test-route-ports", "https=" + e.origin.port + ",http=" + e.origin.plainPort}
}

// useDaemon points the env's clients at a daemon process.
func (e *env) useDaemon(d *daemon) {
	e.proxyURL, _ = url.Parse("http://" + d.addr)
}

// TestSIGHUPUnderLoad: clients hammer the daemon (bounded) while the routes
// file is rewritten and SIGHUP sent ten times; no request may fail, and
// the new routes take effect (the token slot alternates).
func TestSIGHUPUnderLoad(t *testing.T) {
	e, routes, environ := processEnv(t, nil)
	d := startDaemon(t, os.Args[0], environ, e.daemonArgs(routes)...)
	e.useDaemon(d)

	variant := func(i int) *sidecarconfig.Routes {
		rs := defaultRoutes()
		rs.Routes[0].Auth.TokenSlot = fmt.Sprintf("EGRESS_TOKEN_%d", i%2)
		return rs
	}
	var stop atomic.Bool
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client(t, w%2 == 0)
			for i := 0; i < 2000 && !stop.Load(); i++ { // bounded in count and by the reload loop
				req, _ := http.NewRequestWithContext(context.Background(), "GET", e.url("https", hostAPI, "/v1/load"), nil)
				resp, err := c.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	for i := 1; i <= 10; i++ {
		if err := fileio.WriteJSON(routes, variant(i), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		d.waitLogged(t, "routes reloaded", i)
		time.Sleep(30 * time.Millisecond) // let traffic run on these routes; not asserted
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d requests ok, %d failed (first: %v)", ok.Load(), failed.Load(), firstErr.Load())
	}
	saw := map[string]int{}
	for _, r := range e.origin.requests() {
		saw[r.Auth]++
	}
	if saw["Bearer "+tokenA] == 0 || saw["Bearer "+tokenB] == 0 || len(saw) != 2 {
		t.Errorf("origin saw credentials %v; want both slots used across reloads and nothing else", saw)
	}
	t.Logf("%d requests across 10 reloads, none failed", ok.Load())
}

// TestBadRoutesFile: refused at start with an error naming file, key and
// value; on reload the routes in force stay.
func TestBadRoutesFile(t *testing.T) {
	e, routes, environ := processEnv(t, nil)
	bad := filepath.Join(e.dir, "bad.json")
	for _, tc := range []struct{ content, want string }{
		{`{"routes": [{"host": "api.test", "path_allowlist": ["v1"]}]}`, `routes[0].path_allowlist[0]: "v1" must start with /`},
		{`{"routes": [{"host": "https://api.test"}]}`, `routes[0].host: "https://api.test" is not a host name`},
		{`{"routes": [{"host": "api.test", "auht": {}}]}`, `unknown field "auht"`},
		{`{"routes": [`, "unexpected EOF"},
		{`{"routes": [{"host": "api.test", "auth": {"scheme": "Bearer", "token_slot": "EGRESS_TOKEN_7"}}]}`, "EGRESS_TOKEN_7 is empty or not set"},
	} {
		if err := os.WriteFile(bad, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd := exec.Command(os.Args[0], e.daemonArgs(bad)...)
		cmd.Env = environ
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%s: exit %v; want status 1", tc.content, err)
		}
		if msg := stderr.String(); !strings.Contains(msg, bad) || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: stderr %q; want the file and %q", tc.content, msg, tc.want)
		}
	}

	d := startDaemon(t, os.Args[0], environ, e.daemonArgs(routes)...)
	e.useDaemon(d)
	if err := os.WriteFile(routes, []byte(`{"routes": [{"host": "api.test", "path_allowlist": ["nope"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLogged(t, "routes reload failed; keeping the routes in force", 1)
	resp, body := get(t, e.client(t, false), "GET", e.url("https", hostAPI, "/v1/still"), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"Auth":"Bearer *`) {
		t.Errorf("after a bad reload: %d %q; want the old routes (200, credential injected)", resp.StatusCode, body)
	}
}

// TestStartupErrors: flags and environment problems are clear errors.
func TestStartupErrors(t *testing.T) {
	e, routes, environ := processEnv(t, nil)
	noUpstream := []string{"EGRESS_TEST_MAIN=1", "EGRESS_TOKEN_0=" + tokenA}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"no upstream", noUpstream, nil, 1, "no upstream proxy: set EGRESS_UPSTREAM_PROXY"},
		{"https upstream", environ, []string{"--upstream-proxy", "https://p:1"}, 1, `--upstream-proxy (EGRESS_UPSTREAM_PROXY) "https://p:1" must be http://host:port`},
		{"missing upstream CA", environ, []string{"--upstream-ca", "/nonexistent/ca.pem"}, 1, "--upstream-ca (EGRESS_UPSTREAM_CA) /nonexistent/ca.pem"},
		{"missing CA key", environ, []string{"--ca-key", "/nonexistent/ca.key"}, 1, "--ca-cert/--ca-key"},
		{"bad flag", environ, []string{"--nope"}, 2, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			cmd := exec.Command(os.Args[0], append(e.daemonArgs(routes), tc.args...)...)
			cmd.Env = tc.env
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != tc.code {
				t.Errorf("exit %v; want %d", err, tc.code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.want)
			}
		})
	}
	// --direct is the explicit way to run without an upstream.
	d := startDaemon(t, os.Args[0], noUpstream, append(e.daemonArgs(routes), "--direct")...)
	if d.logged("listening") != 1 {
		t.Error("--direct did not start")
	}
}

// TestRealBinary builds cmd/claude-bottle-sidecar and runs
// "claude-bottle-sidecar egress --config ..." as a process, with curl.
func TestRealBinary(t *testing.T) {
	goTool := needTool(t, "go")
	curl := needTool(t, "curl")
	root, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "claude-bottle-sidecar")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/claude-bottle-sidecar")
	build.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/claude-bottle-sidecar: %v\n%s", err, out)
	}

	help, err := exec.Command(bin, "egress", "--help").Output()
	if err != nil || !strings.Contains(string(help), `"path_allowlist"`) || !strings.Contains(string(help), "-upstream-proxy") {
		t.Errorf("egress --help: %v\n%s", err, help)
	}

	e, routes, environ := processEnv(t, nil)
	d := startDaemon(t, bin, environ, append([]string{"egress"}, e.daemonArgs(routes)...)...)
	out, err := runTool(t, e.dir, nil, curl, "-sS", "--max-time", "30", "--proxy", "http://"+d.addr, "--cacert", e.bundle,
		"-H", "Authorization: Bearer agent-fake", e.url("https", hostAPI, "/v1/binary"))
	if err != nil || !strings.Contains(out, `"Upstream":true`) {
		t.Fatalf("curl through the real binary: %v\n%s", err, out)
	}
	if got := e.origin.requests(); len(got) != 1 || got[0].Auth != "Bearer "+tokenA {
		t.Errorf("origin saw %+v; want the injected token", got)
	}
	d.waitLogged(t, "request", 1)
}
