package egress

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runTool executes a real client with a bounded time and a clean environment
// (no proxy variables leak in from the machine).
func runTool(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C"}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCurl(t *testing.T) {
	curl := needTool(t, "curl")
	e := newEnv(t, nil)
	masked := "Bearer " + strings.Repeat("*", len(tokenA))
	upload := filepath.Join(e.dir, "upload.bin")
	uploadData := pattern(0, 3<<20)
	if err := os.WriteFile(upload, uploadData, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		want  []string // substrings of the output
		avoid []string
	}{
		{"h1 inject", []string{"--http1.1", "-H", "Authorization: Bearer agent-fake", e.url("https", hostAPI, "/v1/curl")},
			[]string{`"Auth":"` + masked + `"`, `"Upstream":true`, "HTTP/1.1 200"}, []string{"agent-fake"}},
		{"h2 inject", []string{"--http2", e.url("https", hostAPI, "/v1/curl")},
			[]string{`"Auth":"` + masked + `"`, "HTTP/2 200", "x-echo-auth: " + masked}, nil},
		{"blocked path", []string{e.url("https", hostAPI, "/admin")},
			[]string{" 403", `blocked: path "/admin" is outside path_allowlist`}, nil},
		{"non-route tunnel", []string{e.url("https", hostOther, "/curl")}, []string{"HTTP/2 200", `"Upstream":true`}, nil},
		{"upload with Expect: 100-continue", []string{"--http1.1", "-H", "Expect: 100-continue", "--data-binary", "@" + upload, e.url("https", hostAPI, "/v1/upload")},
			[]string{"HTTP/1.1 100 Continue", "HTTP/1.1 200", fmt.Sprintf(`{"n":%d,`, len(uploadData))}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sS", "-i", "--max-time", "30", "--proxy", e.proxyURL.String(), "--cacert", e.bundle}, tc.args...)
			out, err := runTool(t, e.dir, nil, curl, args...)
			if err != nil {
				t.Fatalf("curl: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range append(tc.avoid, tokenA) {
				if strings.Contains(out, a) {
					t.Errorf("output contains %q:\n%s", a, out)
				}
			}
		})
	}
	// The upstream's refusal of a CONNECT reaches curl as the upstream's 403.
	out, err := runTool(t, e.dir, nil, curl, "-sS", "-i", "--max-time", "30", "--proxy", e.proxyURL.String(), "--cacert", e.bundle, e.url("https", hostDenied, "/x"))
	if err == nil || !strings.Contains(out, "CONNECT tunnel failed, response 403") {
		t.Errorf("curl to a host the upstream refuses: %v\n%s", err, out)
	}
	for _, r := range e.origin.requests() {
		if r.Host == hostAPI+":"+e.origin.port && r.Auth != "Bearer "+tokenA {
			t.Errorf("origin got Authorization %q on the route; want the injected token", r.Auth)
		}
	}
}

func TestPython(t *testing.T) {
	py := needTool(t, "python3")
	e := newEnv(t, nil)
	script := `
import json, ssl, sys, urllib.request, urllib.error
proxy, url, cafile = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=cafile)
op = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy, "http": proxy}), urllib.request.HTTPSHandler(context=ctx))
req = urllib.request.Request(url, headers={"Authorization": "Bearer agent-fake"})
try:
    with op.open(req, timeout=30) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as err:
    print(err.code, err.read().decode())
`
	for _, tc := range []struct{ path, want string }{
		{"/v1/py", `200 {"Host":"api.test:` + e.origin.port + `","Path":"/v1/py","Auth":"Bearer ` + strings.Repeat("*", len(tokenA)) + `"`},
		{"/v9/py", `403 blocked: path "/v9/py" is outside`},
	} {
		out, err := runTool(t, e.dir, nil, py, "-c", script, e.proxyURL.String(), e.url("https", hostAPI, tc.path), e.bundle)
		if err != nil || !strings.HasPrefix(out, tc.want) {
			t.Errorf("python %s: %v\n%s\nwant prefix %s", tc.path, err, out, tc.want)
		}
	}
	got := e.origin.requests()
	if len(got) != 1 || got[0].Auth != "Bearer "+tokenA {
		t.Errorf("origin saw %+v; want one request with the injected token", got)
	}
}

// TestGitPushBlocked pushes with the real git client, to a route with
// credentials and to one without: both are refused before the origin.
func TestGitPushBlocked(t *testing.T) {
	git := needTool(t, "git")
	e := newEnv(t, nil)
	repo := filepath.Join(e.dir, "repo")
	env := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t"}
	for _, args := range [][]string{{"init", "-q", repo}, {"-C", repo, "commit", "-q", "--allow-empty", "-m", "x"}} {
		if out, err := runTool(t, e.dir, env, git, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	for _, remote := range []string{e.url("https", hostAPI, "/git/org/repo.git"), e.url("https", hostOpen, "/org/repo.git")} {
		before := len(e.origin.requests())
		out, err := runTool(t, e.dir, env, git, "-C", repo, "-c", "http.proxy="+e.proxyURL.String(), "-c", "http.sslCAInfo="+e.bundle,
			"push", remote, "HEAD:refs/heads/main")
		if err == nil {
			t.Fatalf("git push to %s succeeded:\n%s", remote, out)
		}
		if !strings.Contains(out, "error: 403") {
			t.Errorf("git push to %s: want a 403 in the output:\n%s", remote, out)
		}
		if n := len(e.origin.requests()) - before; n != 0 {
			t.Errorf("git push to %s reached the origin %d times", remote, n)
		}
	}
	// Fetching stays possible (the origin is not a git server: a non-403
	// answer from it is what we check for).
	out, _ := runTool(t, e.dir, env, git, "-c", "http.proxy="+e.proxyURL.String(), "-c", "http.sslCAInfo="+e.bundle,
		"ls-remote", e.url("https", hostAPI, "/git/org/repo.git"))
	// "error: 403", not "403": the origin's random port may hold those digits.
	if strings.Contains(out, "error: 403") {
		t.Errorf("git ls-remote (fetch) was blocked:\n%s", out)
	}
}

// TestCurlRefusedLargeBody: curl uploading 8 MiB to a refused path (inside
// the intercepted tunnel, and as a plain-http proxy request to a credentialed
// route) sees egress's 403, not a reset or an empty reply.
func TestCurlRefusedLargeBody(t *testing.T) {
	curl := needTool(t, "curl")
	e := newEnv(t, nil)
	data := filepath.Join(e.dir, "upload.bin")
	if err := os.WriteFile(data, bytes.Repeat([]byte("x"), 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{e.url("https", hostAPI, "/nope"), e.url("http", hostAPI, "/v1/ok")} {
		// -H "Expect:": curl would otherwise wait for 100-continue and never
		// send the body, which is not the case under test.
		out, err := runTool(t, e.dir, nil, curl, "-sS", "-i", "--http1.1", "--max-time", "60", "-H", "Expect:",
			"--proxy", e.proxyURL.String(), "--cacert", e.bundle, "--data-binary", "@"+data, u)
		if err != nil || !strings.Contains(out, " 403") || !strings.Contains(out, "blocked: ") {
			t.Errorf("curl POST 8 MiB to %s: %v\n%.2000s", u, err, out)
		}
	}
}
