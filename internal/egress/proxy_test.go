package egress

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

func get(t *testing.T, c *http.Client, method, u string, hdr map[string]string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, u, err)
	}
	return resp, string(b)
}

// TestGoClient runs the core behaviours with Go's client over HTTP/1.1 and
// HTTP/2 to egress.
func TestGoClient(t *testing.T) {
	e := newEnv(t, nil)
	for _, h2 := range []bool{false, true} {
		c := e.client(t, h2)
		wantProto := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[h2]
		tests := []struct {
			name       string
			method     string
			url        string
			agentAuth  string
			wantStatus int
			wantBody   string // substring
			wantOrigin string // Authorization the origin must see; "-" = request must not reach it
		}{
			{"injects and drops agent auth", "GET", e.url("https", hostAPI, "/v1/echo"), "Bearer agent-fake", 200, `"Auth":"Bearer ` + strings.Repeat("*", len(tokenA)), "Bearer " + tokenA},
			{"host matched case-insensitively", "GET", e.url("https", "Api.TEST", "/v1/echo"), "", 200, `"Upstream":true`, "Bearer " + tokenA},
			{"path outside allowlist", "GET", e.url("https", hostAPI, "/v2/echo"), "", 403, `blocked: path "/v2/echo" is outside path_allowlist [/v1, /git/] of route "api.test"`, "-"},
			{"prefix is segment-aware", "GET", e.url("https", hostAPI, "/v1evil"), "", 403, "blocked: path", "-"},
			{"dot segments refused", "GET", e.url("https", hostAPI, "/v1/%2e%2e/v2"), "", 403, "blocked: path", "-"},
			{"git push advert blocked", "GET", e.url("https", hostAPI, "/git/org/repo.git/info/refs?service=git-receive-pack"), "", 403, "blocked: git push", "-"},
			{"git push pack blocked on open route", "POST", e.url("https", hostOpen, "/org/repo.git/git-receive-pack"), "", 403, "blocked: git push", "-"},
			{"git fetch allowed", "GET", e.url("https", hostAPI, "/git/org/repo.git/info/refs?service=git-upload-pack"), "", 200, `"Path":"/git/org/repo.git/info/refs"`, "Bearer " + tokenA},
			{"route without auth keeps agent auth", "GET", e.url("https", hostOpen, "/any"), "Bearer agent-own", 200, `"Auth":"Bearer agent-own"`, "Bearer agent-own"},
			{"plain http to credential route refused", "GET", e.url("http", hostAPI, "/v1/echo"), "", 403, "plain http", "-"},
			{"non-route host tunnelled", "GET", e.url("https", hostOther, "/x"), "Bearer agent-own", 200, `"Auth":"Bearer agent-own"`, "Bearer agent-own"},
		}
		for _, tc := range tests {
			t.Run(wantProto+"/"+tc.name, func(t *testing.T) {
				before := len(e.origin.requests())
				hdr := map[string]string{}
				if tc.agentAuth != "" {
					hdr["Authorization"] = tc.agentAuth
				}
				resp, body := get(t, c, tc.method, tc.url, hdr, nil)
				if resp.StatusCode != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
					t.Fatalf("got %d %q; want %d containing %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
				}
				if strings.Contains(body, tokenA) || strings.Contains(fmt.Sprint(resp.Header), tokenA) {
					t.Fatalf("token leaked to the agent: %v %q", resp.Header, body)
				}
				reqs := e.origin.requests()[before:]
				if tc.wantOrigin == "-" {
					if len(reqs) != 0 {
						t.Fatalf("blocked request reached the origin: %+v", reqs)
					}
					return
				}
				if len(reqs) != 1 || reqs[0].Auth != tc.wantOrigin || !reqs[0].Upstream {
					t.Fatalf("origin saw %+v; want one request with Authorization %q via the upstream", reqs, tc.wantOrigin)
				}
				if strings.HasPrefix(tc.url, "https://"+hostOther) {
					return
				}
				if resp.Proto != wantProto {
					t.Errorf("agent spoke %s to egress; want %s", resp.Proto, wantProto)
				}
			})
		}
	}
}

// TestCertificates: route hosts get a leaf from the egress CA; other hosts
// are tunnelled, so the agent sees the upstream's certificate.
func TestCertificates(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct{ host, issuer string }{
		{hostAPI, "test egress CA"},
		{hostOther, "test upstream CA"},
	} {
		resp, _ := get(t, e.client(t, false), "GET", e.url("https", tc.host, "/v1/echo"), nil, nil)
		get(t, e.client(t, false), "GET", e.url("https", tc.host, "/v1/again"), nil, nil)
		got := resp.TLS.PeerCertificates[0].Issuer.CommonName
		if got != tc.issuer {
			t.Errorf("%s: certificate issued by %q; want %q", tc.host, got, tc.issuer)
		}
	}
	// One leaf minted for the one intercepted host, reused by the second
	// connection.
	if n := e.egress.proxy.CachedLeaves(); n != 1 {
		t.Errorf("leaf cache holds %d certificates; want 1", n)
	}
	if e.up.connects.Load() < 2 {
		t.Errorf("upstream saw %d CONNECTs; want every host to go through it", e.up.connects.Load())
	}
}

// TestEverythingThroughUpstream: every request the origin got was marked by
// the stand-in upstream, and plain-http forwards go through it too.
func TestEverythingThroughUpstream(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t, true)
	urls := []string{
		e.url("https", hostAPI, "/v1/a"), e.url("https", hostOpen, "/b"),
		e.url("https", hostOther, "/c"), e.url("http", hostOther, "/d"), e.url("http", hostOpen, "/e"),
	}
	for _, u := range urls {
		if resp, body := get(t, c, "GET", u, nil, nil); resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %q", u, resp.StatusCode, body)
		}
	}
	reqs := e.origin.requests()
	if len(reqs) != len(urls) {
		t.Fatalf("origin saw %d requests; want %d", len(reqs), len(urls))
	}
	for _, r := range reqs {
		if !r.Upstream {
			t.Errorf("origin got %s %s without passing the upstream", r.Host, r.Path)
		}
	}
	if got := e.up.requests.Load(); got != int64(len(urls)) {
		t.Errorf("upstream saw %d requests; want %d", got, len(urls))
	}
}

// TestRedactsSplitToken: the origin writes the token in two flushed parts.
func TestRedactsSplitToken(t *testing.T) {
	e := newEnv(t, nil)
	for _, h2 := range []bool{false, true} {
		resp, body := get(t, e.client(t, h2), "GET", e.url("https", hostAPI, "/v1/split"), nil, nil)
		want := "before Bearer " + strings.Repeat("*", len(tokenA)) + " after"
		if resp.StatusCode != 200 || body != want {
			t.Errorf("h2=%v: got %d %q; want %q", h2, resp.StatusCode, body, want)
		}
		if v := resp.Header.Get("X-Echo-Auth"); v != "" {
			t.Errorf("unexpected echo header %q", v)
		}
	}
}

// TestRedactsHeaderNames: a token folded into a response header name, in
// whatever case, does not reach the agent; the other headers do.
func TestRedactsHeaderNames(t *testing.T) {
	e := newEnv(t, nil)
	for _, h2 := range []bool{false, true} {
		resp, _ := get(t, e.client(t, h2), "GET", e.url("https", hostAPI, "/v1/fold"), nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("X-Kept") != "yes" {
			t.Fatalf("h2=%v: got %d %v", h2, resp.StatusCode, resp.Header)
		}
		for k := range resp.Header {
			if strings.Contains(strings.ToLower(k), strings.ToLower(tokenA)) {
				t.Errorf("h2=%v: the token reached the client in header name %q", h2, k)
			}
		}
		if resp.Status != "200 OK" {
			t.Errorf("h2=%v: status %q; want egress's own \"200 OK\"", h2, resp.Status)
		}
	}
}

// TestSSEStreams: each event must reach the client before the origin sends
// the next one.
func TestSSEStreams(t *testing.T) {
	e := newEnv(t, nil)
	for i, h2 := range []bool{false, true} {
		id := fmt.Sprintf("sse%d", i)
		req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url("https", hostAPI, "/v1/sse?id="+id), nil)
		resp, err := e.client(t, h2).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		for n := range 3 {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("h2=%v: event %d: %v", h2, n, err)
			}
			if want := fmt.Sprintf("data: event %d\n", n); line != want {
				t.Fatalf("h2=%v: got %q want %q", h2, line, want)
			}
			_, _ = br.ReadString('\n')
			if n < 2 {
				close(e.origin.hook(fmt.Sprintf("%s-ack%d", id, n)))
			}
		}
		resp.Body.Close()
	}
}

// TestLargeStreams: 24 MB each way (100 MB runs in bench/egress), byte-exact, and streamed: the client
// reads the first half of a download before the origin sends the second,
// and the origin reads the first upload bytes before the client sends more.
func TestLargeStreams(t *testing.T) {
	e := newEnv(t, nil)
	const n = 24 << 20
	for i, h2 := range []bool{false, true} {
		c := e.client(t, h2)
		id := fmt.Sprintf("dl%d", i)
		req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url("https", hostAPI, fmt.Sprintf("/v1/download?n=%d&id=%s", n, id)), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		first := make([]byte, n/2)
		if _, err := io.ReadFull(resp.Body, first); err != nil {
			t.Fatalf("h2=%v: first half: %v", h2, err)
		}
		close(e.origin.hook(id))
		rest, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(first) != string(pattern(0, n/2)) || string(rest) != string(pattern(n/2, n-n/2)) {
			t.Fatalf("h2=%v: download corrupted (err %v, %d+%d bytes)", h2, err, len(first), len(rest))
		}

		id = fmt.Sprintf("ul%d", i)
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write(pattern(0, 1<<20))
			select {
			case <-e.origin.hook(id):
			case <-time.After(20 * time.Second):
				pw.CloseWithError(fmt.Errorf("origin never saw the first upload bytes: egress buffers uploads"))
				return
			}
			_, _ = pw.Write(pattern(1<<20, n-(1<<20)))
			pw.Close()
		}()
		resp, body := get(t, c, "POST", e.url("https", hostAPI, "/v1/upload?id="+id), nil, pr)
		var got struct{ N, Sum uint64 }
		_ = json.Unmarshal([]byte(body), &got)
		var sum uint64
		for _, b := range pattern(0, n) {
			sum = sum*31 + uint64(b)
		}
		if resp.StatusCode != 200 || got.N != n || got.Sum != sum {
			t.Fatalf("h2=%v: upload: %d %q; want n=%d sum=%d", h2, resp.StatusCode, body, n, sum)
		}
	}
}

// TestWebSocket: an upgrade on a route without a credential passes; on a
// route that injects one it is refused before anything is sent upstream
// (egress cannot mask a token echoed in a frame).
func TestWebSocket(t *testing.T) {
	e := newEnv(t, nil)
	upgrade := func(host, path string) (*http.Response, *bufio.Reader, io.Writer) {
		t.Helper()
		conn, err := net.DialTimeout("tcp", e.proxyURL.Host, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		target := host + ":" + e.origin.port
		fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %v %v", resp, err)
		}
		tc := tls.Client(conn, &tls.Config{ServerName: host, RootCAs: e.roots, NextProtos: []string{"http/1.1"}})
		fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, target)
		tbr := bufio.NewReader(tc)
		resp, err = http.ReadResponse(tbr, nil)
		if err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		return resp, tbr, tc
	}

	resp, tbr, tc := upgrade(hostOpen, "/v1/ws")
	if resp.StatusCode != 101 {
		t.Fatalf("upgrade on %s: %s", hostOpen, resp.Status)
	}
	if _, err := io.WriteString(tc, "ping-frame"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("ping-frame"))
	if _, err := io.ReadFull(tbr, buf); err != nil || string(buf) != "ping-frame" {
		t.Fatalf("echo: %q %v", buf, err)
	}

	before := len(e.origin.requests())
	resp, _, _ = upgrade(hostAPI, "/v1/ws")
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(string(body), "blocked: ") || !strings.Contains(string(body), "protocol upgrade") {
		t.Fatalf("upgrade on credentialed route %s: %s %q; want 403 blocked: ... protocol upgrade", hostAPI, resp.Status, body)
	}
	if len(e.origin.requests()) != before {
		t.Fatal("the refused upgrade reached the upstream")
	}
}

// TestRequestLog: one JSON line per request, naming the slot, never the token.
func TestRequestLog(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t, false)
	get(t, c, "GET", e.url("https", hostAPI, "/v1/logme"), nil, strings.NewReader(""))
	get(t, c, "GET", e.url("https", hostAPI, "/nope"), nil, nil)
	get(t, c, "GET", e.url("https", hostOther, "/tunnel"), nil, nil)
	c.Transport.(*http.Transport).CloseIdleConnections() // ends the tunnel: its line is written on close
	if strings.Contains(e.logs.String(), tokenA) {
		t.Fatal("token value in the log")
	}
	want := map[string]map[string]any{
		"/v1/logme": {"decision": "allow", "route": "api.test", "injected_slot": "EGRESS_TOKEN_0", "status": 200.0},
		"/nope":     {"decision": "block", "route": "api.test", "status": 403.0},
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := map[string]bool{}
		for _, l := range e.logs.lines(t) {
			if l["msg"] != "request" {
				continue
			}
			for _, k := range []string{"host", "path", "route", "decision", "bytes_in", "bytes_out", "duration_ms"} {
				if _, ok := l[k]; !ok {
					t.Fatalf("log line lacks %q: %v", k, l)
				}
			}
			if w, ok := want[l["path"].(string)]; ok {
				for k, v := range w {
					if l[k] != v {
						t.Errorf("log for %s: %s = %v; want %v", l["path"], k, l[k], v)
					}
				}
				found[l["path"].(string)] = true
			}
			if l["decision"] == "tunnel" && l["host"] == hostOther && l["bytes_out"].(float64) > 0 {
				found["tunnel"] = true
			}
		}
		if len(found) == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("missing log lines: found %v in\n%s", found, e.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEncodedResponses: a gzip body is decoded so the token can be masked;
// an encoding egress cannot read is refused rather than passed unmasked.
func TestEncodedResponses(t *testing.T) {
	e := newEnv(t, nil)
	masked := "Bearer " + strings.Repeat("*", len(tokenA))
	for _, tc := range []struct {
		path, acceptEnc string
		status          int
		body            string
	}{
		{"/v1/gzip", "gzip", 200, "zipped " + masked},
		{"/v1/gzip", "", 200, "zipped " + masked}, // egress asks for gzip itself and decodes it
		{"/v1/br", "br", 403, "blocked: the response from route \"api.test\" is encoded (br)"},
		{"/v1/gzip-as-identity", "", 403, "blocked: the response from route \"api.test\" is gzip-compressed whatever its Content-Encoding says"},
	} {
		c := e.client(t, false)
		c.Transport.(*http.Transport).DisableCompression = true // show the agent's view as sent
		hdr := map[string]string{}
		if tc.acceptEnc != "" {
			hdr["Accept-Encoding"] = tc.acceptEnc
		}
		resp, body := get(t, c, "GET", e.url("https", hostAPI, tc.path), hdr, nil)
		if resp.StatusCode != tc.status || !strings.HasPrefix(body, tc.body) {
			t.Errorf("%s (Accept-Encoding %q): %d %q; want %d %q", tc.path, tc.acceptEnc, resp.StatusCode, body, tc.status, tc.body)
		}
	}
	// HEAD of an encoded resource has no body to redact: not refused.
	resp, _ := get(t, e.client(t, false), "HEAD", e.url("https", hostAPI, "/v1/br"), nil, nil)
	if resp.StatusCode != 200 {
		t.Errorf("HEAD /v1/br: %d; want 200", resp.StatusCode)
	}
}

// TestAbsoluteHTTPSForm: "GET https://route/..." sent to the proxy in the
// clear (no CONNECT) still gets the credential over TLS, masked in reply.
func TestAbsoluteHTTPSForm(t *testing.T) {
	e := newEnv(t, nil)
	conn, err := net.DialTimeout("tcp", e.proxyURL.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	u := e.url("https", hostAPI, "/v1/abs")
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer agent-fake\r\nConnection: close\r\n\r\n", u, hostAPI, e.origin.port)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.Contains(string(body), tokenA) || !strings.Contains(string(body), `"Auth":"Bearer ***`) {
		t.Errorf("got %d %q; want 200 with the credential masked", resp.StatusCode, body)
	}
	if got := e.origin.requests(); len(got) != 1 || got[0].Auth != "Bearer "+tokenA || !got[0].Upstream {
		t.Errorf("origin saw %+v; want the injected token via the upstream", got)
	}
}

// TestUpstreamRefusalRelayed: when the upstream (pipelock) refuses a
// CONNECT, the agent gets its status and "blocked: ..." body.
func TestUpstreamRefusalRelayed(t *testing.T) {
	e := newEnv(t, nil)
	conn, err := net.DialTimeout("tcp", e.proxyURL.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n", hostDenied, hostDenied)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || !strings.HasPrefix(string(body), "blocked: denied.test is not on the allowlist") {
		t.Errorf("got %d %q; want the upstream's 403 relayed", resp.StatusCode, body)
	}
}

// TestReloadKeepsInFlight: a stream open across a reload finishes on the
// routes it started with; the next request sees the new routes.
func TestReloadKeepsInFlight(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t, true)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url("https", hostAPI, "/v1/sse?id=reload"), nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: event 0\n" {
		t.Fatalf("first event: %q %v", line, err)
	}

	// New routes: api.test loses its credential and its allowlist.
	file := filepath.Join(e.dir, "routes.json")
	if err := fileio.WriteJSON(file, &sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: hostAPI}}}, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.egress.Reload(file); err != nil {
		t.Fatal(err)
	}
	// A bad file afterwards changes nothing.
	if err := os.WriteFile(file, []byte(`{"routes": [{"host": ""}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.egress.Reload(file); err == nil || !strings.Contains(err.Error(), "routes[0].host") {
		t.Fatalf("bad reload: %v; want an error naming routes[0].host", err)
	}

	close(e.origin.hook("reload-ack0"))
	close(e.origin.hook("reload-ack1"))
	rest, err := io.ReadAll(br)
	if err != nil || !strings.Contains(string(rest), "data: event 2\n") {
		t.Fatalf("stream across the reload: %q %v", rest, err)
	}
	if r := e.origin.requests()[0]; r.Auth != "Bearer "+tokenA {
		t.Errorf("the in-flight request carried %q; want the credential it started with", r.Auth)
	}
	_, body := get(t, c, "GET", e.url("https", hostAPI, "/v2/after"), nil, nil)
	if !strings.Contains(body, `"Path":"/v2/after","Auth":""`) {
		t.Errorf("after reload: %q; want the new routes (any path, no credential)", body)
	}
}

// TestRouteIsItsPort: a route is its host on its port only (issue 15 hole
// 8). Another port of the route host is tunnelled like any host without a
// route, so it gets no credential; and a request inside an intercepted
// tunnel naming another port is refused.
func TestRouteIsItsPort(t *testing.T) {
	e := newEnv(t, nil)
	// Inside the tunnel to the route's port, a Host naming another port.
	c, err := net.Dial("tcp", e.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	target := hostAPI + ":" + e.origin.port
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %v %v", target, resp, err)
	}
	tc := tls.Client(c, &tls.Config{ServerName: hostAPI, RootCAs: e.roots})
	fmt.Fprintf(tc, "GET /v1/x HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n", hostAPI, e.origin.plainPort)
	b, _ := io.ReadAll(tc)
	if !bytes.Contains(b, []byte("403 Forbidden")) || !bytes.Contains(b, []byte("does not match the CONNECT target")) {
		t.Errorf("a request for another port inside the route's tunnel: %q", b)
	}

	// The route stands for another port now: the origin's port is just a
	// host without a route.
	e.egress.ports["https"] = "1"
	resp, _ := get(t, e.client(t, false), "GET", e.url("https", hostAPI, "/v1/other-port"), nil, nil)
	if got := resp.TLS.PeerCertificates[0].Issuer.CommonName; got != "test upstream CA" {
		t.Errorf("another port of the route host was intercepted by egress (certificate from %q)", got)
	}
	for _, r := range e.origin.requests() {
		if r.Path == "/v1/other-port" && r.Auth != "" {
			t.Errorf("the route credential went to another port of the route host: %+v", r)
		}
	}
}
