package fakeclaude_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/demo"
	"github.com/claude-bottle/claude-bottle/internal/demo/upstream"
	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/fakeclaude"
	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

const (
	modelHost = "model.fake.test"
	realToken = "real-model-credential-0123456789abcdef"
	// apiKeyPlaceholder's last 20 characters are what the first-run
	// state approves.
	apiKeyPlaceholder = "sk-ant-api03-placeholder-for-the-stand-in-test"
)

// world is the fake Messages API on loopback TLS (a test CA), and a
// CONNECT proxy that sends every tunnel to it and records the targets.
type world struct {
	dir, caFile, proxyURL string
	logs                  *testkit.SyncBuffer
	mu                    sync.Mutex
	connects              []string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), logs: &testkit.SyncBuffer{}}
	caPEM, leafPEM, keyPEM, err := demo.NewCA([]string{modelHost})
	if err != nil {
		t.Fatal(err)
	}
	w.caFile = filepath.Join(w.dir, "ca.pem")
	if err := os.WriteFile(w.caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(leafPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewUnstartedServer(upstream.ModelHandler(realToken, slog.New(slog.NewJSONHandler(w.logs, nil))))
	api.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	api.StartTLS()
	t.Cleanup(api.Close)
	apiAddr := api.Listener.Addr().String()

	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.connects = append(w.connects, r.Method+" "+r.Host)
		w.mu.Unlock()
		if r.Method != http.MethodConnect || r.Host != modelHost+":443" {
			http.Error(rw, "blocked: the test proxy knows only "+modelHost, http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", apiAddr)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		c, brw, err := rw.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() { _, _ = io.Copy(up, brw); up.Close() }()
		_, _ = io.Copy(c, up)
		c.Close()
	}))
	t.Cleanup(proxy.Close)
	w.proxyURL = proxy.URL
	return w
}

// home writes a HOME with the first-run state (approving approveKey's
// tail when set) unless state is false.
func (w *world) home(t *testing.T, state bool, approveKey string) string {
	t.Helper()
	h := t.TempDir()
	if state {
		cfg := map[string]any{
			"hasCompletedOnboarding":        true,
			"bypassPermissionsModeAccepted": true,
			"projects":                      map[string]any{"/workspace": map[string]any{"hasTrustDialogAccepted": true}},
		}
		if approveKey != "" {
			cfg["customApiKeyResponses"] = map[string]any{"approved": []string{approveKey[len(approveKey)-20:]}, "rejected": []string{}}
		}
		b, _ := json.Marshal(cfg)
		if err := os.WriteFile(filepath.Join(h, ".claude.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs claude.js as an unprivileged user (the real CLI refuses
// --dangerously-skip-permissions as root) with exactly env.
func (w *world) run(t *testing.T, home string, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	node := dockertest.Tool(t, "node")
	script := filepath.Join(w.dir, "claude.js")
	if err := os.WriteFile(script, fakeclaude.Script, 0o755); err != nil {
		t.Fatal(err)
	}
	argv := append([]string{node, script}, args...)
	if os.Geteuid() == 0 {
		setpriv := dockertest.Tool(t, "setpriv")
		argv = append([]string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"}, argv...)
		for _, d := range []string{w.dir, filepath.Dir(w.dir), home, filepath.Dir(home)} {
			_ = os.Chmod(d, 0o777)
		}
		_ = filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error { return os.Chmod(p, 0o777) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = home
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{so.String(), se.String(), code}
}

// modelLog is the fake API's per-request verdicts, in order.
func (w *world) modelLog(t *testing.T) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(w.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("model log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestStandIn: the stand-in refuses what the real CLI refuses, and when
// it runs, reaches the fake Messages API through the proxy with Node's
// TLS, the credential in the header of its kind.
func TestStandIn(t *testing.T) {
	w := newWorld(t)
	base := "https://" + modelHost
	good := func(extra map[string]string) map[string]string {
		env := map[string]string{
			"HTTPS_PROXY": w.proxyURL, "NODE_EXTRA_CA_CERTS": w.caFile, "ANTHROPIC_BASE_URL": base,
			"DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
		}
		for k, v := range extra {
			if v == "" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
		return env
	}
	skip := "--dangerously-skip-permissions"
	for _, tc := range []struct {
		name      string
		state     bool
		approve   string
		env       map[string]string
		args      []string
		code      int
		stdout    string // substring; "" = not checked
		stderr    string
		cred      string // the fake API's verdict on the request; "" = no request
		credHdr   string
		connectTo string // the CONNECT the proxy must have seen
	}{
		{name: "oauth token as Bearer", state: true, env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken}),
			args: []string{skip, "-p", "hello there"}, stdout: "the last one says: hello there", stderr: "fake-claude: args: " + skip + " -p hello there",
			cred: upstream.CredReal, credHdr: "authorization", connectTo: "CONNECT " + modelHost + ":443"},
		{name: "api key as x-api-key, approved", state: true, approve: realToken, env: good(map[string]string{"ANTHROPIC_API_KEY": realToken}),
			args: []string{skip, "--output-format", "json", "-p", "hi"}, stdout: `"type":"result"`, cred: upstream.CredReal, credHdr: "x-api-key"},
		{name: "stream-json streams", state: true, env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken}),
			args: []string{skip, "--verbose", "--output-format", "stream-json", "-p", "stream me"}, stdout: `the last one says: stream me"}]}`, cred: upstream.CredReal},
		{name: "stream-json needs --verbose", state: true, env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken}),
			args: []string{skip, "--output-format", "stream-json", "-p", "x"}, code: 1, stderr: "requires --verbose"},
		{name: "exit code from the prompt", state: true, env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken}),
			args: []string{skip, "-p", "fail with exit:3 please"}, code: 3, stdout: "exit:3", cred: upstream.CredReal},
		{name: "another permission mode will do", state: true, env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken}),
			args:   []string{"--permission-mode", "acceptEdits", "--model", "opus", "--allowedTools", "Read,Grep", "--disallowedTools", "WebFetch", "-p", "x"},
			stderr: "fake-claude: --allowedTools Read,Grep", cred: upstream.CredReal},
		{name: "no permission flag", state: true, env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken}),
			args: []string{"-p", "x"}, code: 1, stderr: "without --dangerously-skip-permissions"},
		{name: "no first-run state", env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken}),
			args: []string{skip, "-p", "x"}, code: 1, stderr: "hasCompletedOnboarding"},
		{name: "api key not approved", state: true, env: good(map[string]string{"ANTHROPIC_API_KEY": realToken}),
			args: []string{skip, "-p", "x"}, code: 1, stderr: "customApiKeyResponses"},
		{name: "auto-updater on", state: true, env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken, "DISABLE_AUTOUPDATER": ""}),
			args: []string{skip, "-p", "x"}, code: 1, stderr: "DISABLE_AUTOUPDATER"},
		{name: "no credential", state: true, env: good(nil), args: []string{skip, "-p", "x"}, code: 1, stderr: "Please run /login"},
		{name: "placeholder is refused by the API", state: true, approve: apiKeyPlaceholder, env: good(map[string]string{"ANTHROPIC_API_KEY": apiKeyPlaceholder}),
			args: []string{skip, "-p", "x"}, code: 1, stderr: "API Error: 401", cred: upstream.CredOther, credHdr: "x-api-key"},
		{name: "without NODE_EXTRA_CA_CERTS the bottle CA is not trusted", state: true, env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken, "NODE_EXTRA_CA_CERTS": ""}),
			args: []string{skip, "-p", "x"}, code: 1, stderr: "Connection error"},
		{name: "default host through the proxy", state: true, env: good(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": realToken, "ANTHROPIC_BASE_URL": ""}),
			args: []string{skip, "-p", "x"}, code: 1, stderr: "refused CONNECT api.anthropic.com:443", connectTo: "CONNECT api.anthropic.com:443"},
		{name: "no model call for tests that are not about it", state: true, env: good(map[string]string{"FAKE_CLAUDE_NO_MODEL": "1"}),
			args: []string{skip, "-p", "fail: exit 5"}, code: 5, stdout: "no model call", stderr: "fake-claude: exiting with 5"},
		{name: "no model call still needs the first-run state", env: good(map[string]string{"FAKE_CLAUDE_NO_MODEL": "1"}),
			args: []string{skip, "-p", "x"}, code: 1, stderr: "first-run state"},
		{name: "unknown flag", state: true, env: good(nil), args: []string{"--frobnicate"}, code: 1, stderr: "unknown option"},
		{name: "version", env: good(nil), args: []string{"--version"}, stdout: "claude-bottle stand-in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(w.modelLog(t))
			w.mu.Lock()
			c0 := len(w.connects)
			w.mu.Unlock()
			r := w.run(t, w.home(t, tc.state, tc.approve), tc.env, "", tc.args...)
			// The stand-in's own lines go to stdout with text output and to
			// stderr with json; tc.stderr may be in either.
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stdout+r.stderr, tc.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, output with %q", r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
			}
			if strings.Contains(strings.Join(tc.args, " "), "json") && r.code == 0 {
				for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
					if !json.Valid([]byte(l)) {
						t.Errorf("with json output, stdout line %q is not JSON", l)
					}
				}
			}
			reqs := w.modelLog(t)[before:]
			if tc.cred == "" {
				if len(reqs) != 0 {
					t.Fatalf("the model API got %d requests; want none", len(reqs))
				}
			} else {
				if len(reqs) != 1 || reqs[0]["credential"] != tc.cred || reqs[0]["anthropic_version"] == "" || reqs[0]["path"] != "/v1/messages" {
					t.Fatalf("model API saw %v; want one POST /v1/messages with anthropic-version, credential %s", reqs, tc.cred)
				}
				if tc.credHdr != "" && reqs[0]["credential_header"] != tc.credHdr {
					t.Errorf("credential came in %v; want %s", reqs[0]["credential_header"], tc.credHdr)
				}
			}
			if tc.connectTo != "" {
				w.mu.Lock()
				got := append([]string(nil), w.connects[c0:]...)
				w.mu.Unlock()
				if len(got) != 1 || got[0] != tc.connectTo {
					t.Errorf("the proxy saw %v; want [%s]", got, tc.connectTo)
				}
			}
		})
	}
}

// TestContinue: --continue sends the earlier conversation along; with none
// it stops, as the real CLI does.
func TestContinue(t *testing.T) {
	w := newWorld(t)
	env := map[string]string{"HTTPS_PROXY": w.proxyURL, "NODE_EXTRA_CA_CERTS": w.caFile, "ANTHROPIC_BASE_URL": "https://" + modelHost,
		"DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "CLAUDE_CODE_OAUTH_TOKEN": realToken}
	h := w.home(t, true, "")
	if r := w.run(t, h, env, "", "--dangerously-skip-permissions", "--continue", "-p", "x"); r.code != 1 || !strings.Contains(r.stderr, "No conversation found to continue") {
		t.Fatalf("continue with no conversation: %+v", r)
	}
	if r := w.run(t, h, env, "", "--dangerously-skip-permissions", "-p", "first"); r.code != 0 {
		t.Fatalf("first run: %+v", r)
	}
	r := w.run(t, h, env, "", "--dangerously-skip-permissions", "--continue", "-p", "second")
	if r.code != 0 || !strings.Contains(r.stdout, "3 message(s) received; the last one says: second") || !strings.Contains(r.stdout, "continuing a conversation of 2 messages") {
		t.Fatalf("continue: %+v", r)
	}
	// Where Claude Code keeps conversations, so claude-bottle attach can
	// tell there is one to continue.
	if files, _ := filepath.Glob(filepath.Join(h, ".claude", "projects", strings.NewReplacer("/", "-", ".", "-", "_", "-").Replace(h), "*.jsonl")); len(files) != 1 {
		t.Errorf("conversation files %v; want one under ~/.claude/projects/<cwd>", files)
	}
	r = w.run(t, h, env, "7\n", "--continue")
	if r.code != 7 || !strings.Contains(r.stdout, "continuing the last conversation") {
		t.Fatalf("interactive continue: %+v", r)
	}
}

// TestInteractive keeps what internal/cli's attach test relies on: the
// arguments, no terminal here, the user and folder, and the exit code read
// from the input.
func TestInteractive(t *testing.T) {
	w := newWorld(t)
	r := w.run(t, w.home(t, true, ""), nil, "7\n", "--append-system-prompt-file", "/x")
	for _, want := range []string{"fake-claude: args: --append-system-prompt-file /x", "fake-claude: no terminal", "fake-claude: user ", "fake-claude: exit code? ", "fake-claude: exiting with 7"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout %q lacks %q", r.stdout, want)
		}
	}
	if r.code != 7 {
		t.Errorf("exit %d; want 7", r.code)
	}
}

// TestMCPAdd: provisioning's `claude mcp add` lands in ~/.claude.json and
// keeps what is there.
func TestMCPAdd(t *testing.T) {
	w := newWorld(t)
	h := w.home(t, true, "")
	r := w.run(t, h, nil, "", "mcp", "add", "--scope", "user", "--transport", "http", "supervise", "http://supervise:9100/mcp")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	b, err := os.ReadFile(filepath.Join(h, ".claude.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	srv, _ := cfg["mcpServers"].(map[string]any)["supervise"].(map[string]any)
	if srv["url"] != "http://supervise:9100/mcp" || cfg["hasCompletedOnboarding"] != true {
		t.Fatalf("~/.claude.json = %s", b)
	}
}
