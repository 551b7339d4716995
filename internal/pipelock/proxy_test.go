package pipelock

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/dlp"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

const secretVal = "Zebra-Quartz-7731-Mango-Sail"

func TestAllowlist(t *testing.T) {
	r := newRig(t, rigOpts{})
	tests := []struct {
		name, url  string
		wantStatus int
		wantBody   string
	}{
		{"https allowed", r.httpsURL("/ok"), 200, "origin ok"},
		{"http allowed", r.httpURL("/ok"), 200, "origin ok"},
		{"https not allowed", "https://evil.example/x", 0, ""}, // CONNECT refused: client error
		{"http not allowed", "http://evil.example/x", 403, "blocked: host not allowed: evil.example"},
		{"http ip literal", r.origin.plain.URL + "/x", 403, "blocked: IP literal not allowed: 127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body, err := r.get(tc.url)
			if tc.wantStatus == 0 {
				if err == nil {
					t.Fatalf("want a refused CONNECT, got %d %q", st, body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st != tc.wantStatus {
				t.Fatalf("status %d (%q), want %d", st, body, tc.wantStatus)
			}
			mustContain(t, body, tc.wantBody)
		})
	}
	// The refused CONNECT carries the 403 and the reason.
	c, resp, err := r.connect("evil.example:443")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || !strings.HasPrefix(string(b), "blocked: host not allowed: evil.example") {
		t.Fatalf("CONNECT refusal %d %q", resp.StatusCode, b)
	}
	// Default allowlist entries are allowed (decided before any DNS).
	p := r.srv.policy.Load()
	for _, h := range DefaultAllowlist {
		if rule, _ := r.srv.checkHost(p, h); rule != "" {
			t.Errorf("default host %s blocked by %s", h, rule)
		}
	}
	// One JSON decision line per request, with the rule for blocks.
	var blocks, allows int
	for _, d := range r.logs.decisions(t) {
		switch d["decision"] {
		case "block":
			blocks++
			if d["rule"] == nil || d["reason"] == nil {
				t.Errorf("block line without rule/reason: %v", d)
			}
		case "allow":
			allows++
		}
	}
	if blocks != 4 || allows != 2 {
		t.Errorf("logged %d blocks and %d allows, want 4 and 2", blocks, allows)
	}
}

func TestIPLiteralAllowed(t *testing.T) {
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, AllowIPLiterals: []string{"127.0.0.1"}}})
	st, body, err := r.get(r.origin.plain.URL + "/lit")
	if err != nil || st != 200 {
		t.Fatalf("listed IP literal: %d %q %v", st, body, err)
	}
	for _, h := range []string{"[::1]", "2130706434", "0x7f.0.0.2", "[::ffff:127.0.0.2]"} {
		st, body, _ = r.get("http://" + h + ":" + portOf(r.origin.plain.URL) + "/")
		if st != 403 || !strings.Contains(body, "IP literal not allowed") || !strings.Contains(body, "(rule: ip-literal)") {
			t.Fatalf("unlisted literal %s: %d %q", h, st, body)
		}
	}
	// A listed literal in another spelling is the same address.
	st, body, err = r.get("http://2130706433:" + portOf(r.origin.plain.URL) + "/dec")
	if err != nil || st != 200 {
		t.Fatalf("listed literal in decimal: %d %q %v", st, body, err)
	}
}

func TestMITMIntercepts(t *testing.T) {
	r := newRig(t, rigOpts{})
	req, _ := http.NewRequest("GET", r.httpsURL("/seen"), nil)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The client saw a certificate issued by the pipelock CA, not the origin's.
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatal("no TLS state")
	}
	if iss := resp.TLS.PeerCertificates[0].Issuer.CommonName; iss != "test pipelock CA" {
		t.Fatalf("leaf issued by %q, want the pipelock CA", iss)
	}
	if got := r.origin.requests(); len(got) != 1 || got[0].Path != "/seen" {
		t.Fatalf("origin saw %v", got)
	}
}

func TestPassthroughSNI(t *testing.T) {
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, Passthrough: []string{"localhost"}}})
	hp := "localhost:" + r.origin.port()
	handshake := func(sni string) error {
		c, resp, err := r.connect(hp)
		if err != nil {
			return err
		}
		defer c.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("CONNECT status %d", resp.StatusCode)
		}
		// Not intercepted: the client must trust the origin's own CA.
		tc := tls.Client(c, &tls.Config{ServerName: sni, RootCAs: r.origin.pool, InsecureSkipVerify: sni != "localhost"})
		if err := tc.Handshake(); err != nil {
			return err
		}
		io.WriteString(tc, "GET /pt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(tc)
		if !bytes.Contains(b, []byte("origin ok")) {
			t.Fatalf("passthrough response %q", b)
		}
		return nil
	}
	if err := handshake("localhost"); err != nil {
		t.Fatalf("matching SNI refused: %v", err)
	}
	n := len(r.origin.requests())
	if err := handshake("fronted.example"); err == nil {
		t.Fatal("mismatched SNI tunnelled")
	}
	if len(r.origin.requests()) != n {
		t.Fatal("origin reached with a mismatched SNI")
	}
	found := false
	for _, d := range r.logs.decisions(t) {
		if d["rule"] == RuleSNI {
			found = true
			mustContain(t, d["reason"].(string), "fronted.example")
		}
	}
	if !found {
		t.Fatal("no sni-mismatch decision logged")
	}
}

func TestPassthroughSSRF(t *testing.T) {
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, Passthrough: []string{"localhost"}}, noLoopback: true})
	c, resp, err := r.connect("localhost:" + r.origin.port())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || !strings.HasPrefix(string(b), "blocked: localhost resolves to") || !strings.Contains(string(b), "(rule: ssrf)") {
		t.Fatalf("passthrough to loopback: %d %q", resp.StatusCode, b)
	}
}

// TestHostMismatchInsideTunnel: a request inside an intercepted tunnel
// goes where its Host header says, so one naming another host, or another
// port of the same host, is refused.
func TestHostMismatchInsideTunnel(t *testing.T) {
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost", "other.example"}}})
	for _, tc := range []struct{ host, want string }{
		{"other.example", "blocked: request for other.example:443 inside a tunnel to localhost:" + r.origin.port()},
		{"localhost:1", "blocked: request for localhost:1 inside a tunnel to localhost:" + r.origin.port()},
		{"localhost", "blocked: request for localhost:443 inside a tunnel to localhost:" + r.origin.port()},
	} {
		c, resp, err := r.connect("localhost:" + r.origin.port())
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %v %v", resp, err)
		}
		tlc := tls.Client(c, &tls.Config{ServerName: "localhost", RootCAs: r.caPool})
		io.WriteString(tlc, "GET / HTTP/1.1\r\nHost: "+tc.host+"\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(tlc)
		c.Close()
		if !bytes.Contains(b, []byte("403")) || !bytes.Contains(b, []byte(tc.want)) || !bytes.Contains(b, []byte("(rule: host-mismatch)")) {
			t.Errorf("Host %s: got %q", tc.host, b)
		}
	}
}

func TestSSRF(t *testing.T) {
	t.Run("loopback name blocked with the test flag off", func(t *testing.T) {
		r := newRig(t, rigOpts{noLoopback: true})
		st, body, err := r.get(r.httpURL("/x"))
		if err != nil || st != 403 {
			t.Fatalf("%d %q %v", st, body, err)
		}
		mustContain(t, body, "blocked: localhost resolves to")
		mustContain(t, body, "(rule: ssrf)")
		// MITM: the CONNECT is accepted, the inner request is refused.
		st, body, err = r.get(r.httpsURL("/x"))
		if err != nil || st != 403 || !strings.Contains(body, "(rule: ssrf)") {
			t.Fatalf("https: %d %q %v", st, body, err)
		}
		if n := len(r.origin.requests()); n != 0 {
			t.Fatalf("origin reached %d times", n)
		}
	})
	t.Run("allowed names resolving internal", func(t *testing.T) {
		res := staticResolver{
			"meta.example":   {netip.MustParseAddr("169.254.169.254")},
			"mapped.example": {netip.MustParseAddr("::ffff:10.1.2.3")},
			"mixed.example":  {netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("192.168.1.1")},
			"v6.example":     {netip.MustParseAddr("fd00::1")},
			"mcast.example":  {netip.MustParseAddr("ff02::1")},
		}
		var hosts []string
		for h := range res {
			hosts = append(hosts, h)
		}
		r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: hosts}, resolver: res, noLoopback: true})
		for _, h := range hosts {
			st, body, _ := r.get("http://" + h + "/latest/meta-data/")
			if st != 403 || !strings.Contains(body, "(rule: ssrf)") {
				t.Errorf("%s: %d %q", h, st, body)
			}
		}
	})
	t.Run("the checked address is the one dialled", func(t *testing.T) {
		res := &rebinder{first: netip.MustParseAddr("127.0.0.1"), then: netip.MustParseAddr("10.9.9.9")}
		r := newRig(t, rigOpts{resolver: res, allowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		st, body, err := r.get(r.httpURL("/pinned"))
		if err != nil || st != 200 {
			t.Fatalf("%d %q %v", st, body, err)
		}
		if n := res.calls.Load(); n != 1 {
			t.Fatalf("resolved %d times, want once (no re-resolution)", n)
		}
	})
}

type staticResolver map[string][]netip.Addr

func (s staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return s[host], nil
}

// rebinder answers a loopback address once, then an internal one.
type rebinder struct {
	first, then netip.Addr
	calls       atomic.Int32
}

func (r *rebinder) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	if r.calls.Add(1) == 1 {
		return []netip.Addr{r.first}, nil
	}
	return []netip.Addr{r.then}, nil
}

func TestIPClass(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1": "loopback", "::1": "loopback", "10.0.0.1": "private", "172.16.5.4": "private",
		"192.168.0.1": "private", "169.254.169.254": "link-local", "fe80::1": "link-local",
		"224.0.0.1": "multicast", "ff02::1": "multicast", "0.0.0.0": "unspecified", "::": "unspecified",
		"::ffff:127.0.0.1": "loopback", "::ffff:169.254.169.254": "link-local", "fd12::1": "private",
		"100.64.1.1": "reserved 100.64.0.0/10", "::7f00:1": "reserved ::/96", "255.255.255.255": "reserved 240.0.0.0/4",
		"8.8.8.8": "", "2606:4700::1111": "", "1.1.1.1": "",
	}
	for in, want := range tests {
		if got := ipClass(netip.MustParseAddr(in)); got != want {
			t.Errorf("ipClass(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestDLPRules(t *testing.T) {
	g := secrettest.New(41)
	gh := secrettest.Kinds()[1].Make(g)
	injected := "Bearer " + secrettest.Kinds()[2].Make(g)
	sum := sha256.Sum256([]byte(injected))
	r := newRig(t, rigOpts{
		cfg: sidecarconfig.Pipelock{
			Allowlist:           []string{"localhost"},
			KnownSecretEnv:      []string{"PIPELOCK_SECRET_0"},
			InjectedCredentials: []sidecarconfig.InjectedCredential{{Host: "localhost", Header: "Authorization", SHA256: hex.EncodeToString(sum[:])}},
			MaxBodyBytes:        1 << 20,
		},
		env: map[string]string{"PIPELOCK_SECRET_0": secretVal},
	})
	type tc struct {
		name     string
		method   string
		path     string
		header   http.Header
		body     string
		ctype    string
		chunked  bool   // send the body without a Content-Length
		wantRule string // "" = allowed
	}
	gz := func(s string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	tests := []tc{
		{name: "clean get", method: "GET", path: "/v1/items?page=2"},
		{name: "clean json post", method: "POST", path: "/v1/items", body: `{"name":"demo","id":"` + g.UUID() + `"}`, ctype: "application/json"},
		{name: "known secret in query", method: "GET", path: "/x?q=" + secretVal, wantRule: dlp.RuleKnownSecret},
		{name: "known secret base64 in path", method: "GET", path: "/x/" + base64.URLEncoding.EncodeToString([]byte(secretVal)), wantRule: dlp.RuleKnownSecret},
		{name: "known secret hex in header", method: "GET", path: "/", header: http.Header{"X-Trace": {hex.EncodeToString([]byte(secretVal))}}, wantRule: dlp.RuleKnownSecret},
		{name: "known secret in json body", method: "POST", path: "/", body: `{"v":"` + secretVal + `"}`, ctype: "application/json", wantRule: dlp.RuleKnownSecret},
		{name: "github pat in query", method: "GET", path: "/x?token=" + gh, wantRule: "dlp.github"},
		{name: "github pat in header", method: "GET", path: "/", header: http.Header{"X-Api": {gh}}, wantRule: "dlp.github"},
		{name: "github pat in form body", method: "POST", path: "/", body: "a=1&t=" + gh, ctype: "application/x-www-form-urlencoded", wantRule: "dlp.github"},
		{name: "injected credential to its host", method: "GET", path: "/", header: http.Header{"Authorization": {injected}}},
		{name: "injected credential in another header", method: "GET", path: "/", header: http.Header{"X-Copy": {injected}}, wantRule: "dlp.github"},
		{name: "gzip body clean", method: "POST", path: "/", body: gz("hello"), header: http.Header{"Content-Encoding": {"gzip"}}},
		{name: "gzip body with the known secret", method: "POST", path: "/", body: gz("v=" + secretVal), header: http.Header{"Content-Encoding": {"gzip"}}, wantRule: dlp.RuleKnownSecret},
		{name: "identity, gzip body", method: "POST", path: "/", body: gz("v=" + secretVal), header: http.Header{"Content-Encoding": {"identity", "gzip"}}, wantRule: dlp.RuleKnownSecret},
		{name: "gzip body labelled identity", method: "POST", path: "/", body: gz("v=" + secretVal), header: http.Header{"Content-Encoding": {"identity"}}, wantRule: dlp.RuleKnownSecret},
		{name: "gzip body with no header", method: "POST", path: "/", body: gz("v=" + secretVal), wantRule: dlp.RuleKnownSecret},
		{name: "unknown coding", method: "POST", path: "/", body: "abc", header: http.Header{"Content-Encoding": {"compress"}}, wantRule: RuleCompressed},
		{name: "known secret as the method", method: secretVal, path: "/", wantRule: dlp.RuleKnownSecret},
		{name: "identity encoding", method: "POST", path: "/", body: "plain", header: http.Header{"Content-Encoding": {"identity"}}},
		{name: "body over cap", method: "POST", path: "/", body: strings.Repeat("a", 1<<20+1), wantRule: RuleBodyTooLarge},
		// Far over the cap: the client is still sending when the answer is
		// ready; it must get the 403, not a reset.
		{name: "body 8x over cap", method: "POST", path: "/", body: strings.Repeat("a", 8<<20), wantRule: RuleBodyTooLarge},
		{name: "chunked body 8x over cap", method: "POST", path: "/", body: strings.Repeat("a", 8<<20), chunked: true, wantRule: RuleBodyTooLarge},
		{name: "body at cap", method: "POST", path: "/", body: strings.Repeat("a ", 1<<19)},
		{name: "websocket upgrade", method: "GET", path: "/ws", header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}}, wantRule: RuleUpgrade},
	}
	for _, scheme := range []string{"https", "http"} {
		for _, c := range tests {
			t.Run(scheme+"/"+c.name, func(t *testing.T) {
				u := r.httpsURL(c.path)
				if scheme == "http" {
					u = r.httpURL(c.path)
				}
				var body io.Reader
				if c.body != "" {
					body = strings.NewReader(c.body)
					if c.chunked {
						body = io.MultiReader(body) // hides the length
					}
				}
				req, err := http.NewRequest(c.method, u, body)
				if err != nil {
					t.Fatal(err)
				}
				for k, vs := range c.header {
					req.Header[k] = vs
				}
				if c.ctype != "" {
					req.Header.Set("Content-Type", c.ctype)
				}
				before := len(r.origin.requests())
				st, rb, err := r.do(req)
				if err != nil {
					t.Fatal(err)
				}
				reached := len(r.origin.requests()) > before
				if c.wantRule == "" {
					if st != 200 || !reached {
						t.Fatalf("want allowed, got %d %q", st, rb)
					}
					got := r.origin.requests()[before]
					if got.Body != c.body {
						t.Fatalf("origin got a body of %d bytes, want %d", len(got.Body), len(c.body))
					}
					return
				}
				if st != 403 || reached {
					t.Fatalf("want blocked by %s, got %d %q (origin reached: %v)", c.wantRule, st, rb, reached)
				}
				if !strings.HasPrefix(rb, "blocked: ") || !strings.Contains(rb, "(rule: "+c.wantRule+")") {
					t.Fatalf("block body %q does not name rule %s", rb, c.wantRule)
				}
				if strings.Contains(rb, secretVal) || strings.Contains(rb, gh) {
					t.Fatalf("block body leaks the secret: %q", rb)
				}
			})
		}
	}
}

func TestTrailerScanned(t *testing.T) {
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, KnownSecretEnv: []string{"S"}},
		env: map[string]string{"S": secretVal}})
	for _, tc := range []struct {
		val  string
		want int
	}{{"fine", 200}, {secretVal, 403}} {
		pr, pw := io.Pipe()
		go func() { pw.Write([]byte("chunked body")); pw.Close() }()
		req, _ := http.NewRequest("POST", r.httpsURL("/t"), pr)
		req.Trailer = http.Header{"X-Checksum": {tc.val}}
		st, body, err := r.do(req)
		if err != nil || st != tc.want {
			t.Fatalf("trailer %q: %d %q %v, want %d", tc.val, st, body, err, tc.want)
		}
	}
}

func TestSubdomainSmuggling(t *testing.T) {
	r := newRig(t, rigOpts{
		cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, KnownSecretEnv: []string{"S"}},
		env: map[string]string{"S": secretVal},
	})
	for host, rule := range map[string]string{
		hex.EncodeToString([]byte(secretVal)) + ".evil.example": dlp.RuleKnownSecret,
		"x7k2m9q4w1z6c5v0b3n8p2.evil.example":                   dlp.RuleSubdomain,
		"plain-words-only.evil.example":                         RuleAllowlist,
	} {
		c, resp, err := r.connect(host + ":443")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(b), "(rule: "+rule+")") {
			t.Errorf("%s: %d %q, want rule %s", host, resp.StatusCode, b, rule)
		}
	}
}

func TestBigDownloadAndUpload(t *testing.T) {
	r := newRig(t, rigOpts{})
	st, body, err := r.get(r.httpsURL("/big?n=5000000"))
	if err != nil || st != 200 || len(body) != 5000000 {
		t.Fatalf("download: %d, %d bytes, %v", st, len(body), err)
	}
	up := strings.Repeat("lorem ipsum dolor sit amet ", 100000) // 2.7 MB
	req, _ := http.NewRequest("PUT", r.httpsURL("/up"), strings.NewReader(up))
	st, _, err = r.do(req)
	if err != nil || st != 200 {
		t.Fatalf("upload: %d %v", st, err)
	}
	got := r.origin.requests()
	if got[len(got)-1].Body != up {
		t.Fatal("upload body changed on the way")
	}
}

func TestSetPolicySwap(t *testing.T) {
	r := newRig(t, rigOpts{})
	st, _, _ := r.get("http://late.example/")
	if st != 403 {
		t.Fatalf("status %d before reload", st)
	}
	p, err := BuildPolicy(&sidecarconfig.Pipelock{Allowlist: []string{"localhost", "late.example"}}, func(string) string { return "" }, mustScanner(t))
	if err != nil {
		t.Fatal(err)
	}
	r.srv.SetPolicy(p)
	if rule, _ := r.srv.checkHost(r.srv.policy.Load(), "late.example"); rule != "" {
		t.Fatalf("after swap still blocked by %s", rule)
	}
}

// TestMethods: only registered methods pass (issue 15 hole 3: a known
// secret as the method); the block does not echo the method.
func TestMethods(t *testing.T) {
	r := newRig(t, rigOpts{})
	for _, tc := range []struct {
		method string
		ok     bool
	}{
		{"GET", true}, {"PATCH", true}, {"PROPFIND", true},
		{"escSecretLike-7f3a9c21b8d4", false}, {"get", false}, {"PRI", false}, {"X-CUSTOM", false},
	} {
		for _, u := range []string{r.httpURL("/m"), r.httpsURL("/m")} {
			req, _ := http.NewRequest(tc.method, u, nil)
			code, body, err := r.do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, u, err)
			}
			blocked := code == 403 && strings.Contains(body, "(rule: method)")
			if blocked == tc.ok || strings.Contains(body, tc.method) && !tc.ok {
				t.Errorf("%s %s: %d %q; want ok=%v", tc.method, u, code, body, tc.ok)
			}
		}
	}
}

// TestPathAllowlist: a route host's path list holds at pipelock too, for
// an agent that skips egress (issue 15 hole 7); other hosts are unaffected.
func TestPathAllowlist(t *testing.T) {
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"},
		PathAllowlists: []sidecarconfig.PathAllowlist{{Host: "LocalHost", Paths: []string{"/allowed"}}}}})
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/allowed", true}, {"/allowed/x", true}, {"/denied", false}, {"/allowedx", false}, {"/allowed/../denied", false}, {"/", false},
	} {
		for _, u := range []string{r.httpURL(tc.path), r.httpsURL(tc.path)} {
			req, _ := http.NewRequest("GET", u, nil)
			req.URL.Opaque = "//" + req.URL.Host + tc.path // keep dot segments as sent
			code, body, err := r.do(req)
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			blocked := code == 403 && strings.Contains(body, "(rule: path-allowlist)")
			if blocked == tc.ok {
				t.Errorf("%s: %d %q; want ok=%v", u, code, body, tc.ok)
			}
		}
	}
}
