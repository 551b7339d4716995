package dlp

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
)

const streamKnown = "Velvet-Harbor-4471-Quince-Drum"

func streamInspector(t testing.TB) *Inspector {
	t.Helper()
	return New(mustScanner(t), map[string]string{"PIPELOCK_SECRET_0": streamKnown}, nil)
}

// prose is n bytes of clean text (words and line breaks).
func prose(n int) string {
	words := strings.Fields("the build uses a small cache so that repeated runs of the test suite stay quick and the report lists every package with its time")
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(words[i%len(words)])
		if i%13 == 12 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()[:n]
}

// streamScan writes body in chunks of chunk bytes through a stream with
// the given window and overlap, and checks the release invariant after
// every write: nothing within the overlap of the unscanned tail is
// released, and nothing of a blocked window.
func streamScan(t *testing.T, in *Inspector, ct string, body []byte, window, overlap, chunk int) *Verdict {
	t.Helper()
	s := in.newBodyStream("example.com", ct, window, overlap)
	var prev int64
	for off := 0; off < len(body); off += chunk {
		p := body[off:min(off+chunk, len(body))]
		v := s.Write(p)
		written := int64(off + len(p))
		rel := s.Released()
		if rel < prev || rel > max(0, written-int64(overlap)) {
			t.Fatalf("after %d bytes Released() = %d (was %d): must grow and hold back the %d-byte overlap", written, rel, prev, overlap)
		}
		prev = rel
		if v != nil {
			return v
		}
	}
	v := s.Close()
	if v == nil && s.Released() != int64(len(body)) {
		t.Fatalf("clean body: Released() = %d after Close, want %d", s.Released(), len(body))
	}
	return v
}

// A secret placed across a window boundary, at every offset around it, is
// caught: plain, and inside a decoded layer that is one run spanning
// several windows (so the window starts in the middle of the run).
func TestBodyStreamBoundary(t *testing.T) {
	in := streamInspector(t)
	g := secrettest.New(5)
	pat := "gh" + "p_" + g.Str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36)
	const window, overlap = 4096, 512
	end := window + overlap // the first window ends here
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name   string
		secret string
		rule   string
		// body puts the secret at byte at of the decoded text and encodes
		// the whole body; scale is how many encoded bytes one text byte
		// becomes (to sweep the encoded secret across the boundary).
		body  func(text string) string
		scale float64
	}{
		{"credential in prose", pat, "dlp.github", func(s string) string { return s }, 1},
		{"known secret in prose", streamKnown, RuleKnownSecret, func(s string) string { return s }, 1},
		{"known secret base64 in prose", b64(streamKnown), RuleKnownSecret, func(s string) string { return s }, 1},
		{"credential in one base64 run", pat, "dlp.github", b64, 4.0 / 3},
		{"credential in one hex run", pat, "dlp.github", func(s string) string { return hex.EncodeToString([]byte(s)) }, 2},
		{"known secret in one base64url run", streamKnown, RuleKnownSecret, func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }, 4.0 / 3},
		{"credential in base64 of base64", pat, "dlp.github", func(s string) string { return b64(b64(s)) }, 16.0 / 9},
		{"credential in percent-encoding", pat, "dlp.github", func(s string) string {
			var b strings.Builder
			for i := range len(s) {
				fmt.Fprintf(&b, "%%%02X", s[i])
			}
			return b.String()
		}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			elen := int(float64(len(c.secret))*c.scale) + 4
			// Decoded offsets whose encoded secret starts from well before
			// the boundary to just after it, and the same at the second
			// window's end.
			for _, boundary := range []int{end, end + window} {
				lo := int(float64(boundary-elen-24) / c.scale)
				hi := int(float64(boundary+24) / c.scale)
				for at := lo; at <= hi; at++ {
					text := prose(at) + c.secret + prose(3*window)
					body := []byte(c.body(text))
					for _, chunk := range []int{777, len(body)} {
						v := streamScan(t, in, "text/plain", body, window, overlap, chunk)
						// A known secret cut by the window end is already a
						// long enough piece of it (dlp.known-fragment).
						if v == nil || v.Rule != c.rule && !(c.rule == RuleKnownSecret && v.Rule == RuleKnownFragment) {
							t.Fatalf("secret at text byte %d (encoded %.0f, boundary %d), chunks of %d: verdict %v, want %s", at, float64(at)*c.scale, boundary, chunk, v, c.rule)
						}
					}
				}
			}
		})
	}
}

// Clean bodies over many windows pass: the cut runs decoded at every
// phase do not make noise out of random data, prose or digests.
func TestBodyStreamClean(t *testing.T) {
	in := streamInspector(t)
	g := secrettest.New(9)
	var ids strings.Builder
	for ids.Len() < 40000 {
		fmt.Fprintf(&ids, `{"id":"%s","sha":"%s"},`, g.UUID(), g.HexDigest(40))
	}
	for name, body := range map[string]string{
		"prose":        prose(40000),
		"base64 image": base64.StdEncoding.EncodeToString(g.Bytes(30000)),
		"hex blob":     hex.EncodeToString(g.Bytes(20000)),
		"ids":          ids.String(),
	} {
		if v := streamScan(t, in, "application/octet-stream", []byte(body), 4096, 512, 1000); v != nil {
			t.Errorf("%s: blocked: %v", name, v)
		}
	}
}

// A body that fits in one window gets exactly the whole-body verdict.
func TestBodyStreamOneWindowIsWholeBody(t *testing.T) {
	in := streamInspector(t)
	g := secrettest.New(3)
	pat := "gh" + "p_" + g.Str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36)
	mp := "--XB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString([]byte("token "+pat)) + "\r\n--XB--\r\n"
	cases := []struct{ ct, body string }{
		{"application/json", prose(60000)},
		{"application/json", `{"a":"` + strings.Repeat("x", 1000) + `","k":"` + pat + `"}`},
		{"application/json", `{"k":"\u0067hp_` + pat[4:] + `"}`},
		{"multipart/form-data; boundary=XB", mp},
		{"application/x-www-form-urlencoded", "a=1&password=" + g.Str("abcdefghijklmnop0123456789", 24)},
		{"text/plain", "x=" + base64.StdEncoding.EncodeToString([]byte(streamKnown))},
		{"text/plain", ""},
	}
	for i, c := range cases {
		in := New(in.scanner, map[string]string{"PIPELOCK_SECRET_0": streamKnown}, nil)
		want := in.CheckBodyTo("example.com", c.ct, []byte(c.body))
		in = New(in.scanner, map[string]string{"PIPELOCK_SECRET_0": streamKnown}, nil)
		s := in.NewBodyStream("example.com", c.ct)
		got := s.Write([]byte(c.body))
		if got == nil {
			got = s.Close()
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("case %d: stream %v, whole body %v", i, got, want)
		}
	}
}

// FuzzBodyStream: any body that fits in one window, written in any
// chunks, gets the whole-body verdict; longer bodies never panic.
func FuzzBodyStream(f *testing.F) {
	sc := mustScanner(f)
	f.Add([]byte("token="+streamKnown), uint16(3))
	f.Add([]byte(base64.StdEncoding.EncodeToString([]byte(prose(3000)+streamKnown))), uint16(100))
	f.Fuzz(func(t *testing.T, body []byte, chunk uint16) {
		// A fresh inspector each time: pieces of the known secret are
		// remembered per host across requests.
		in := New(sc, map[string]string{"PIPELOCK_SECRET_0": streamKnown}, nil)
		c := int(chunk%2048) + 1
		s := in.newBodyStream("", "text/plain", 1024, 128)
		var v *Verdict
		for off := 0; off < len(body) && v == nil; off += c {
			v = s.Write(body[off:min(off+c, len(body))])
		}
		if v == nil {
			v = s.Close()
		}
		if len(body) <= 1024+128 {
			in := New(sc, map[string]string{"PIPELOCK_SECRET_0": streamKnown}, nil)
			if want := in.CheckBody("text/plain", body); fmt.Sprint(v) != fmt.Sprint(want) {
				t.Fatalf("stream %v, whole body %v", v, want)
			}
		}
	})
}

// Binary input skips the text-only decoders on the whole (they would copy
// random bytes into layers of noise) but not on its text runs: an escaped
// credential between control bytes is still found, and random bytes stay
// clean.
func TestBinaryInputKeepsItsText(t *testing.T) {
	in := streamInspector(t)
	g := secrettest.New(8)
	pat := "gh" + "p_" + g.Str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36)
	var pct strings.Builder
	for i := range len(pat) {
		fmt.Fprintf(&pct, "%%%02X", pat[i])
	}
	junk := string(g.Bytes(20000))
	ctrl := strings.Repeat("\x00\x01\x02\x03", 2000)
	for name, c := range map[string]struct {
		body string
		want string
	}{
		"percent-encoded after control bytes": {ctrl + "k=" + pct.String() + "\x00" + ctrl, "dlp.github"},
		"JSON-escaped in random bytes":        {junk + `"\u0067hp_` + pat[4:] + `"` + junk, "dlp.github"},
		"random bytes":                        {junk + junk, ""},
	} {
		v := in.CheckBody("application/octet-stream", []byte(c.body))
		if c.want == "" && v != nil || c.want != "" && (v == nil || v.Rule != c.want) {
			t.Errorf("%s: verdict %v, want %q", name, v, c.want)
		}
	}
}
