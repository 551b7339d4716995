package dlp_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/andybalholm/brotli"

	"github.com/claude-bottle/claude-bottle/internal/dlp"
	"github.com/claude-bottle/claude-bottle/internal/secretenc"
	"github.com/claude-bottle/claude-bottle/internal/secretscan"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
)

// Shapes gitleaks deliberately lets through (tuned for code review) are
// credentials leaving a bottle all the same: the credential layer names
// the provider.
func TestCredentialShapesGitleaksSkips(t *testing.T) {
	in := inspector(t)
	g := secrettest.New(41)
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	const upd = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	cases := []struct{ rule, s string }{
		{"dlp.aws", "AK" + "IA" + g.Str(upd, 9) + "EXAMPLE"},
		{"dlp.aws", "AK" + "IA" + "ABCDEFGHIJKLMNOP"}, // an alphabet run: a gitleaks stopword
		{"dlp.aws", "AS" + "IA" + g.Str(upd, 14)},
		{"dlp.github", "gh" + "p_" + g.Str(alnum, 34)},
		{"dlp.github", "gh" + "p_" + g.Str(alnum, 35)},
		{"dlp.github", "gh" + "s_" + g.Str(alnum, 36)},
		{"dlp.github", "github" + "_pat_" + g.Str(alnum, 30)},
		{"dlp.gitlab", "gl" + "pat-" + g.Str(alnum, 18)},
		{"dlp.slack", "xo" + "xp-" + g.Str("0123456789", 10) + "-" + g.Str(alnum, 20)},
		{"dlp.anthropic", "sk" + "-ant-api03-" + g.Str(alnum, 40)},
		{"dlp.openai", "sk" + "-proj-" + g.Str(alnum, 48)},
		{"dlp.openai", "sk" + "-" + g.Str(alnum, 20) + "T3Blbk" + "FJ" + g.Str(alnum, 20)},
		{"dlp.stripe", "sk" + "_live_" + g.Str(alnum, 10) + "_" + g.Str(alnum, 10)},
		{"dlp.stripe", "rk" + "_test_" + g.Str(alnum, 30)},
		{"dlp.google", "AI" + "za" + g.Str(alnum, 33)},
		{"dlp.sendgrid", "S" + "G." + g.Str(alnum, 18) + "." + g.Str(alnum, 30)},
		{"dlp.npm", "np" + "m_" + g.Str(alnum, 34)},
		{"dlp.huggingface", "h" + "f_" + g.Str(alnum, 32)},
		{"dlp.digitalocean", "do" + "p_v1_" + g.HexDigest(60)},
		{"dlp.jwt", g.JWT()},
		{"dlp.private-key", "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"},
		{"dlp.private-key", "-----BEGIN " + "PRIVATE KEY-----"},
	}
	for _, c := range cases {
		for _, place := range []string{"body", "header", "query"} {
			var v *dlp.Verdict
			switch place {
			case "body":
				v = in.CheckBody("text/plain", []byte("here: "+c.s+"\n"))
			case "header":
				v = in.CheckHeaders("h.example", http.Header{"X-Note": {c.s}})
			case "query":
				u, _ := url.Parse("https://h.example/x?note=" + url.QueryEscape(c.s))
				v = in.CheckURL(u)
			}
			if v == nil || v.Rule != c.rule {
				t.Errorf("%s in %s (%.12s…): got %v, want %s", c.rule, place, c.s, v, c.rule)
			}
			if v != nil && strings.Contains(v.Reason, c.s) {
				t.Errorf("%s: the reason holds the credential: %s", c.rule, v.Reason)
			}
		}
	}
}

func TestCredentialLookalikesPass(t *testing.T) {
	in := inspector(t)
	for _, s := range []string{
		"pip install sk-learn scikit-learn", "variable ghp_foo is unused", "AKIA is the start of an AWS key id",
		"SG.test.example", "the npm_config_cache setting", "hf_hub_download(repo_id)", "eyJhbGciOi is a JWT header prefix",
		"-----BEGIN CERTIFICATE-----\nMIIB", "-----BEGIN PUBLIC KEY-----", "sk_live_ is Stripe's prefix",
		"dapi is not a token", "xoxo hugs", "AIza", "github_pat_ prefix docs",
	} {
		if v := in.CheckBody("text/plain", []byte(s)); v != nil {
			t.Errorf("%q flagged: %v", s, v)
		}
	}
}

// Every transform of issue 15 #9 and the DLP issue's decoders, applied to
// the whole known secret in one request.
func TestKnownSecretTransforms(t *testing.T) {
	in := inspector(t)
	v := knownValue
	gz := func(s string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.String()
	}
	zl := func(s string) string {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.String()
	}
	br := func(s string) string {
		var b bytes.Buffer
		w := brotli.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.String()
	}
	delim := func(s, sep string) string {
		var parts []string
		for i := 0; i < len(s); i++ {
			parts = append(parts, fmt.Sprintf("%02x", s[i]))
		}
		return strings.Join(parts, sep)
	}
	pct := func(s string, depth int) string {
		s = percentAll(s)
		for range depth - 1 {
			s = strings.ReplaceAll(s, "%", "%25")
		}
		return s
	}
	entities := func(s string, hexForm bool) string {
		var b strings.Builder
		for _, r := range s {
			if hexForm {
				fmt.Fprintf(&b, "&#x%x;", r)
			} else {
				fmt.Fprintf(&b, "&#%d;", r)
			}
		}
		return b.String()
	}
	utf16s := func(s string, be bool) string {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			if be {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		return string(b)
	}
	var qp strings.Builder
	for i := 0; i < len(v); i++ {
		fmt.Fprintf(&qp, "=%02X", v[i])
	}
	var iis strings.Builder
	for _, r := range v {
		fmt.Fprintf(&iis, "%%u%04x", r)
	}
	var jsonU strings.Builder
	for _, r := range v {
		fmt.Fprintf(&jsonU, `\u%04x`, r)
	}
	zw := strings.Join(strings.Split(v, ""), "\u200b")
	cases := map[string]string{
		"hex-colon":         delim(v, ":"),
		"hex-dash":          delim(v, "-"),
		"hex-space":         delim(v, " "),
		"hex-0x-comma":      "0x" + delim(v, ",0x"),
		"hex-binary-prefix": hex.EncodeToString(append([]byte{0, 1, 2, 0xff, 0xfe, 0x80, 0x81, 0x90}, v...)),
		"percent-5":         pct(v, 5),
		"percent-7":         pct(v, 7),
		"base32":            base32.StdEncoding.EncodeToString([]byte("x:" + v)),
		"base32-lower":      strings.ToLower(base32.StdEncoding.EncodeToString([]byte(v))),
		"json-u":            jsonU.String(),
		"html-dec":          entities(v, false),
		"html-hex":          entities(v, true),
		"quoted-printable":  qp.String(),
		"iis-u":             iis.String(),
		"utf16le":           utf16s(v, false),
		"utf16be":           utf16s(v, true),
		"utf16le-bom":       "\xff\xfe" + utf16s("note: "+v, false),
		"zero-width":        zw,
		"reversed":          secretenc.Reverse(v),
		"rot13":             secretenc.ROT13(v),
		"upper":             strings.ToUpper(v),
		"gzip-no-header":    gz("token=" + v),
		"zlib-no-header":    zl("token=" + v),
		"brotli-no-header":  br("token=" + v + " and some more text to compress"),
		"base64-of-gzip":    base64.StdEncoding.EncodeToString([]byte(gz(v))),
		"base64-of-base64":  base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString([]byte(v)))),
		"binary-then-b64":   base64.StdEncoding.EncodeToString(append([]byte{0x89, 'P', 'N', 'G', 0, 0, 0, 0x0d, 0xde, 0xad, 0xbe, 0xef}, v...)),
	}
	for name, body := range cases {
		got := in.CheckBody("application/octet-stream", []byte(body))
		if got == nil || (got.Rule != dlp.RuleKnownSecret && got.Rule != dlp.RuleKnownFragment) {
			t.Errorf("%s: got %v, want the known secret", name, got)
		}
	}
}

// Content-Encoding: every coding is undone, in order; unknown ones fail.
func TestDecodeContent(t *testing.T) {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte("secret=" + knownValue))
	_ = w.Close()
	for _, ce := range []string{"gzip", "identity, gzip", "x-gzip", " GZIP "} {
		d, err := dlp.DecodeContent(ce, b.Bytes(), 1<<20)
		if err != nil || !bytes.Contains(d, []byte(knownValue)) {
			t.Errorf("%q: %v %q", ce, err, d)
		}
	}
	if _, err := dlp.DecodeContent("compress", b.Bytes(), 1<<20); err == nil {
		t.Error("unknown coding accepted")
	}
	if _, err := dlp.DecodeContent("gzip", b.Bytes(), 8); err == nil {
		t.Error("decoded body over the cap accepted")
	}
}

// Halves and pieces of a known secret, in one request and across several.
func TestKnownFragments(t *testing.T) {
	sc := mustScannerT(t)
	secret := secrettest.New(51).Str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32)
	mk := func() *dlp.Inspector { return dlp.New(sc, map[string]string{"S": secret}, nil) }
	half1, half2 := secret[:16], secret[16:]
	t.Run("two headers", func(t *testing.T) {
		v := mk().CheckHeaders("h.example", http.Header{"X-A": {half1}, "X-B": {half2}})
		if v == nil || v.Rule != dlp.RuleKnownFragment {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("two path segments", func(t *testing.T) {
		u, _ := url.Parse("https://h.example/a/" + half2 + "/b/" + half1)
		if v := mk().CheckURL(u); v == nil || v.Rule != dlp.RuleKnownFragment {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("two multipart parts base64", func(t *testing.T) {
		body := "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(half1)) +
			"\r\n--XX\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n" + hex.EncodeToString([]byte(half2)) + "\r\n--XX--\r\n"
		if v := mk().CheckBodyTo("h.example", "multipart/form-data; boundary=XX", []byte(body)); v == nil || v.Rule != dlp.RuleKnownFragment {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("four requests", func(t *testing.T) {
		in := mk()
		var last *dlp.Verdict
		for i := range 4 {
			p := secret[i*8 : i*8+8]
			u, _ := url.Parse("https://h.example/q?v=" + p + "&i=" + fmt.Sprint(i))
			last = in.CheckURL(u)
			if last != nil && i == 0 {
				t.Fatalf("the first 8-character piece alone blocked: %v", last)
			}
		}
		if last == nil || last.Rule != dlp.RuleKnownFragment {
			t.Fatalf("pieces over four requests: %v", last)
		}
	})
	t.Run("other hosts do not add up", func(t *testing.T) {
		in := mk()
		for i := range 4 {
			p := secret[i*8 : i*8+8]
			u, _ := url.Parse(fmt.Sprintf("https://h%d.example/q?v=%s", i, p))
			if v := in.CheckURL(u); v != nil {
				t.Fatalf("piece %d to its own host blocked: %v", i, v)
			}
		}
	})
	t.Run("reversed upper-case piece", func(t *testing.T) {
		p := []byte(strings.ToUpper(secret[3:17]))
		for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
			p[i], p[j] = p[j], p[i]
		}
		if v := mk().CheckBody("text/plain", p); v == nil || v.Rule != dlp.RuleKnownFragment {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("floor", func(t *testing.T) {
		if f := dlp.FragmentFloor(secret); f < 11 || f > 16 {
			t.Fatalf("floor of a 32-character random secret = %d, want 11..16", f)
		}
		if f := dlp.FragmentFloor("aaaaaaaaaaaaaaaa"); f != 16 {
			t.Fatalf("floor of a repetitive secret = %d, want the whole secret", f)
		}
	})
}

func mustScannerT(t testing.TB) *secretscan.Scanner {
	t.Helper()
	sc, err := secretscan.Default()
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// A Google key stands as its own token; "AIza" and 30 token characters
// inside a long random base64 run (an image upload) are chance, not a key:
// 100 MB of random base64 held about six of them.
func TestGoogleKeyBoundaries(t *testing.T) {
	in := inspector(t)
	g := secrettest.New(43)
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	key := "AI" + "za" + g.Str(alnum, 35)
	for _, tc := range []struct {
		name, s string
		want    bool
	}{
		{"alone", key, true},
		{"in JSON", `{"key":"` + key + `"}`, true},
		{"in a URL path", "https://maps.example/api/" + key + "/tile", true},
		{"glued inside a base64 run", g.Str(alnum, 200) + key + g.Str(alnum, 200), false},
		{"run on far past a key's length", key + g.Str(alnum, 40), false},
	} {
		v := in.CheckBody("text/plain", []byte(tc.s))
		if got := v != nil && v.Rule == "dlp.google"; got != tc.want {
			t.Errorf("%s: dlp.google=%v, want %v (%v)", tc.name, got, tc.want, v)
		}
	}
}
