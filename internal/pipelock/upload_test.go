package pipelock

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dlp"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// text is n bytes of clean prose.
func text(n int) string {
	s := strings.Repeat("the build uses a small cache so repeated runs stay quick\n", n/57+1)
	return s[:n]
}

func gzipped(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = io.WriteString(w, s)
	_ = w.Close()
	return b.String()
}

// countingReader counts what the client's transport read of a body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// waitFor returns the recorded requests for path, waiting (up to 20 s) for
// the first: an aborted upload is recorded when the origin's read fails.
func (o *origin) waitFor(t *testing.T, path string) []recorded {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out []recorded
		for _, g := range o.requests() {
			if g.Path == path {
				out = append(out, g)
			}
		}
		if len(out) > 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the origin never saw %s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A secret several windows into a large upload aborts it: the agent gets
// the 403 naming the rule, the decision is logged, and the origin, which
// records what it received, never gets the whole body nor the secret.
func TestStreamedUploadAborted(t *testing.T) {
	gh := secrettest.Kinds()[1].Make(secrettest.New(61))
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, KnownSecretEnv: []string{"S"}},
		env: map[string]string{"S": secretVal}})
	at := 3<<20 + 12345 // well past the first window
	plain := text(at) + "token " + gh + "\n" + text(4<<20)
	known := text(at) + "v=" + secretVal + "\n" + text(4<<20)
	b64 := base64.StdEncoding.EncodeToString([]byte(text(at) + gh + text(3<<20)))
	cases := []struct {
		name, body, rule, leak string
		chunked                bool
		header                 http.Header
	}{
		{name: "credential, Content-Length", body: plain, rule: "dlp.github", leak: gh},
		{name: "credential, chunked", body: plain, rule: "dlp.github", leak: gh, chunked: true},
		{name: "known secret", body: known, rule: dlp.RuleKnownSecret, leak: secretVal},
		{name: "credential inside one base64 run", body: b64, rule: "dlp.github"},
		{name: "gzip Content-Encoding", body: gzipped(plain), rule: "dlp.github", header: http.Header{"Content-Encoding": {"gzip"}}},
	}
	for _, scheme := range []string{"https", "http"} {
		for i, c := range cases {
			t.Run(scheme+"/"+c.name, func(t *testing.T) {
				path := fmt.Sprintf("/upload/%s/%d", scheme, i)
				u := r.httpsURL(path)
				if scheme == "http" {
					u = r.httpURL(path)
				}
				var body io.Reader = strings.NewReader(c.body)
				if c.chunked {
					body = io.MultiReader(body)
				}
				req, _ := http.NewRequest("POST", u, body)
				for k, v := range c.header {
					req.Header[k] = v
				}
				st, rb, err := r.do(req)
				if err != nil {
					t.Fatal(err)
				}
				if st != 403 || !strings.Contains(rb, "(rule: "+c.rule+")") || !strings.Contains(rb, "upload aborted after") {
					t.Fatalf("got %d %q, want the 403 of rule %s", st, rb, c.rule)
				}
				// The origin had the request's start and some of its body;
				// it records once its body read fails.
				for _, g := range r.origin.waitFor(t, path) {
					if g.BodyErr == nil || len(g.Body) >= len(c.body) {
						t.Fatalf("origin received a complete body (%d of %d bytes, read error %v)", len(g.Body), len(c.body), g.BodyErr)
					}
					if c.leak != "" && strings.Contains(g.Body, c.leak) {
						t.Fatal("origin received the secret")
					}
				}
				last := r.logs.decisions(t)
				if d := last[len(last)-1]; d["decision"] != "block" || d["rule"] != c.rule {
					t.Fatalf("last decision %v", d)
				}
			})
		}
	}
}

// Clean bodies of any size pass whole and unchanged, as sent (a gzip body
// stays gzip).
func TestStreamedUploadClean(t *testing.T) {
	r := newRig(t, rigOpts{})
	g := secrettest.New(62)
	bin := string(g.Bytes(2 << 20))
	for name, c := range map[string]struct {
		body string
		ce   string
	}{
		"prose 8 MiB":  {body: text(8 << 20)},
		"random bytes": {body: bin},
		"base64":       {body: base64.StdEncoding.EncodeToString([]byte(bin))},
		"gzip":         {body: gzipped(text(6 << 20)), ce: "gzip"},
	} {
		req, _ := http.NewRequest("PUT", r.httpsURL("/up"), io.MultiReader(strings.NewReader(c.body)))
		if c.ce != "" {
			req.Header.Set("Content-Encoding", c.ce)
		}
		st, rb, err := r.do(req)
		if err != nil || st != 200 {
			t.Fatalf("%s: %d %q %v", name, st, rb, err)
		}
		got := r.origin.requests()
		if o := got[len(got)-1]; o.BodyErr != nil || o.Body != c.body {
			t.Fatalf("%s: origin got %d of %d bytes (%v)", name, len(o.Body), len(c.body), o.BodyErr)
		}
	}
}

// With a cap set, a body announced over it with Expect: 100-continue is
// refused before the client sends a byte; a chunked one is cut off where
// it crosses the cap, mid-stream. A gzip bomb stops at the cap on its
// decoded size.
func TestUploadCap(t *testing.T) {
	const capBytes = 3 << 20
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, MaxBodyBytes: capBytes}})
	tr := r.client.Transport.(*http.Transport).Clone()
	tr.ExpectContinueTimeout = 30 * time.Second
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	for _, scheme := range []string{"https", "http"} {
		u := r.httpsURL("/up")
		if scheme == "http" {
			u = r.httpURL("/up")
		}
		t.Run(scheme+"/expect over cap", func(t *testing.T) {
			body := &countingReader{r: strings.NewReader(text(capBytes + 1))}
			req, _ := http.NewRequest("PUT", u, body)
			req.ContentLength = capBytes + 1
			req.Header.Set("Expect", "100-continue")
			before := len(r.origin.requests())
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			rb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 403 || !strings.Contains(string(rb), "(rule: "+RuleBodyTooLarge+")") || !strings.Contains(string(rb), "egress.max_upload") {
				t.Fatalf("got %d %q", resp.StatusCode, rb)
			}
			if n := body.n.Load(); n != 0 {
				t.Fatalf("the client sent %d body bytes before the refusal", n)
			}
			if len(r.origin.requests()) != before {
				t.Fatal("the refused request reached the origin")
			}
		})
		t.Run(scheme+"/expect at cap", func(t *testing.T) {
			req, _ := http.NewRequest("PUT", u, strings.NewReader(text(capBytes)))
			req.Header.Set("Expect", "100-continue")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("body at the cap: %d", resp.StatusCode)
			}
		})
		for name, c := range map[string]struct{ body, ce string }{
			"chunked over cap": {body: text(8 << 20)},
			"gzip bomb":        {body: gzipped(strings.Repeat("\x00", 64<<20)), ce: "gzip"},
		} {
			t.Run(scheme+"/"+name, func(t *testing.T) {
				u := strings.Replace(u, "/up", "/up/"+scheme+"/"+strings.ReplaceAll(name, " ", "-"), 1)
				req, _ := http.NewRequest("PUT", u, io.MultiReader(strings.NewReader(c.body)))
				if c.ce != "" {
					req.Header.Set("Content-Encoding", c.ce)
				}
				st, rb, err := r.do(req)
				if err != nil {
					t.Fatal(err)
				}
				if st != 403 || !strings.Contains(rb, "(rule: "+RuleBodyTooLarge+")") {
					t.Fatalf("got %d %q", st, rb)
				}
				for _, g := range r.origin.waitFor(t, "/up/"+scheme+"/"+strings.ReplaceAll(name, " ", "-")) {
					if g.BodyErr == nil {
						t.Fatalf("origin got a complete body of %d bytes", len(g.Body))
					}
				}
			})
		}
	}
}

// The decision line of a streamed block names the rule, like any block.
func TestStreamedUploadReason(t *testing.T) {
	gh := secrettest.Kinds()[1].Make(secrettest.New(63))
	r := newRig(t, rigOpts{})
	body := text(2<<20) + gh + text(1<<20)
	req, _ := http.NewRequest("POST", r.httpsURL("/x"), strings.NewReader(body))
	st, rb, err := r.do(req)
	if err != nil || st != 403 {
		t.Fatalf("%d %q %v", st, rb, err)
	}
	if strings.Contains(rb, gh) {
		t.Fatal("block message holds the secret")
	}
	ds := r.logs.decisions(t)
	d := ds[len(ds)-1]
	if d["rule"] != "dlp.github" || !strings.Contains(fmt.Sprint(d["reason"]), "upload aborted after") {
		t.Fatalf("decision %v", d)
	}
}

// Through the real chain (egress in process, the pipelock binary): a
// secret 4 MiB into a 6 MiB upload aborts it; the agent gets the 403
// naming the rule and the origin's read of the body fails short of its
// end. A clean upload of the same size passes whole.
func TestBinaryStreamedUpload(t *testing.T) {
	org := newSinkOrigin(t)
	pl := startPipelockBinary(t, org)
	agent := egressChain(t, pl, org)
	gh := secrettest.Kinds()[1].Make(secrettest.New(64))
	clean := text(6 << 20)
	leak := text(4<<20) + "token " + gh + "\n" + text(2<<20)
	for _, c := range []struct {
		name, body, rule string
	}{{"clean", clean, ""}, {"credential at 4 MiB", leak, "dlp.github"}, {"known secret at 4 MiB", text(4<<20) + secretVal + text(2<<20), dlp.RuleKnownSecret}} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("PUT", org.url+"/upload", strings.NewReader(c.body))
			resp, err := agent.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			rb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			select {
			case got := <-org.got:
				if c.rule == "" && (got.err != nil || got.n != int64(len(c.body))) {
					t.Fatalf("clean upload: origin read %d of %d bytes (%v)", got.n, len(c.body), got.err)
				}
				if c.rule != "" && (got.err == nil || got.n >= int64(len(c.body))) {
					t.Fatalf("origin read %d of %d bytes, error %v: want the body cut short", got.n, len(c.body), got.err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the origin never saw the request")
			}
			if c.rule == "" {
				if resp.StatusCode != 200 {
					t.Fatalf("clean upload: %d %q", resp.StatusCode, rb)
				}
				return
			}
			if resp.StatusCode != 403 || !strings.Contains(string(rb), "(rule: "+c.rule+")") {
				t.Fatalf("got %d %q, want the 403 of %s", resp.StatusCode, rb, c.rule)
			}
		})
	}
}
