package dlp_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/dlp"
	"github.com/claude-bottle/claude-bottle/internal/secretscan"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
)

const knownValue = "hunter2-Correct-Horse-Battery"

func inspector(t testing.TB, injected ...dlp.Injected) *dlp.Inspector {
	t.Helper()
	sc, err := secretscan.Default()
	if err != nil {
		t.Fatal(err)
	}
	return dlp.New(sc, map[string]string{"PIPELOCK_SECRET_0": knownValue, "PIPELOCK_SECRET_1": "short"}, injected)
}

func TestKnownSecretEncodings(t *testing.T) {
	in := inspector(t)
	if in.KnownCount() != 1 {
		t.Fatalf("KnownCount = %d, want 1 (the short one is skipped)", in.KnownCount())
	}
	v := knownValue
	cases := map[string]string{
		"plain":        "x=" + v,
		"base64":       base64.StdEncoding.EncodeToString([]byte("prefix:" + v + ":suffix")),
		"base64-off1":  base64.StdEncoding.EncodeToString([]byte("p" + v)),
		"base64-off2":  base64.URLEncoding.EncodeToString([]byte("pq" + v)),
		"hex":          hex.EncodeToString([]byte(v)),
		"hex-upper":    strings.ToUpper(hex.EncodeToString([]byte("zz" + v))),
		"url":          url.QueryEscape(v),
		"url-all":      percentAll(v),
		"b64-of-hex":   base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString([]byte(v)))),
		"json-escaped": strings.ReplaceAll(v, "-", `\u002d`),
		"upper-cased":  strings.ToUpper(v),
		"b64-wrapped":  wrap76(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 50) + v + strings.Repeat("y", 50)))),
	}
	for name, body := range cases {
		got := in.CheckBody("text/plain", []byte("data: "+body+"\n"))
		if got == nil || got.Rule != dlp.RuleKnownSecret {
			t.Errorf("%s: got %v, want %s", name, got, dlp.RuleKnownSecret)
		}
		if got != nil && strings.Contains(got.Reason, v) {
			t.Errorf("%s: reason leaks the secret: %s", name, got.Reason)
		}
	}
	if got := in.CheckBody("text/plain", []byte("hunter2 is a famous password")); got != nil {
		t.Errorf("partial match blocked: %v", got)
	}
}

func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func TestPlacements(t *testing.T) {
	in := inspector(t)
	g := secrettest.New(21)
	for _, k := range secrettest.Kinds() {
		sec := k.Make(g)
		oneLine := strings.ReplaceAll(sec, "\n", "")
		t.Run(k.Name, func(t *testing.T) {
			if k.Name != "private-key" {
				u, _ := url.Parse("https://h.example/api?q=" + url.QueryEscape(sec) + "&page=1")
				if v := in.CheckURL(u); v == nil {
					t.Error("query: not blocked")
				}
				h := http.Header{"X-Debug": {"token " + sec}}
				if v := in.CheckHeaders("h.example", h); v == nil {
					t.Error("header: not blocked")
				}
			}
			if v := in.CheckBody("application/json", []byte(`{"a":1,"note":"`+strings.ReplaceAll(sec, "\n", `\n`)+`"}`)); v == nil {
				t.Error("json body: not blocked")
			}
			form := url.Values{"comment": {sec}}.Encode()
			if v := in.CheckBody("application/x-www-form-urlencoded", []byte(form)); v == nil {
				t.Error("form body: not blocked")
			}
			b64 := base64.StdEncoding.EncodeToString([]byte(sec))
			if v := in.CheckBody("text/plain", []byte("blob="+b64)); v == nil {
				t.Error("base64 body: not blocked")
			}
			hx := hex.EncodeToString([]byte(oneLine))
			if len(hx) < 400 {
				if v := in.CheckBody("text/plain", []byte("blob "+hx+" end")); v == nil {
					t.Error("hex body: not blocked")
				}
			}
		})
	}
}

// Padding a body must not push an encoded secret out of the decoders' reach.
func TestPaddedEncodedSecret(t *testing.T) {
	in := inspector(t)
	pad := strings.Repeat("lorem ipsum dolor sit amet, ", 200000) // 5.6 MB
	body := pad + percentAll(knownValue) + pad
	if v := in.CheckBody("text/plain", []byte(body)); v == nil || v.Rule != dlp.RuleKnownSecret {
		t.Fatalf("percent-encoded secret in a padded body: %v", v)
	}
}

func TestURLUserinfo(t *testing.T) {
	in := inspector(t)
	u, _ := url.Parse("http://deploy:" + url.QueryEscape(knownValue) + "@h.example/x")
	if v := in.CheckURL(u); v == nil || v.Rule != dlp.RuleKnownSecret {
		t.Fatalf("secret in userinfo: %v", v)
	}
	u, _ = url.Parse("http://h.example/a:b@c")
	if v := in.CheckURL(u); v != nil {
		t.Fatalf("plain path flagged: %v", v)
	}
}

func TestInjectedExempt(t *testing.T) {
	tok := "Bearer " + secrettest.Kinds()[1].Make(secrettest.New(22))
	sum := sha256.Sum256([]byte(tok))
	c, err := dlp.ParseInjected("api.github.com", "authorization", hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	in := inspector(t, c)
	h := http.Header{"Authorization": {tok}}
	if v := in.CheckHeaders("API.github.com", h); v != nil {
		t.Fatalf("injected credential to its host blocked: %v", v)
	}
	if v := in.CheckHeaders("evil.example", h); v == nil {
		t.Fatal("injected credential to another host passed")
	}
	if v := in.CheckHeaders("api.github.com", http.Header{"X-Other": {tok}}); v == nil {
		t.Fatal("injected credential in another header passed")
	}
}

func TestHost(t *testing.T) {
	in := inspector(t)
	g := secrettest.New(23)
	bad := []string{
		hex.EncodeToString([]byte(knownValue))[:40] + ".evil.example",
		strings.ToLower(secrettest.Kinds()[0].Make(g)) + ".evil.example",
		"a8f3k2m9x7q4w1z6c5v0b3n8.evil.example",
		hex.EncodeToString([]byte("some smuggled data")) + ".evil.example",
		"iffusqksg5cemvcogvjfmnruivbfonko.evil.example",
		"akiayoheodivac4apgkvx.evil.example",
	}
	for _, h := range bad {
		if v := in.CheckHost(h); v == nil {
			t.Errorf("%s: not flagged", h)
		}
	}
	good := []string{"api.github.com", "files.pythonhosted.org", "d1a2b3c4d5e6f7.cloudfront.net",
		"prod-us-east-1-starport-layer-bucket.s3.amazonaws.com", "xn--bcher-kva.example", "objects.githubusercontent.com",
		"thequickbrownfoxjumps.example", "internationalization-service.example", "my-loadbalancer-1234567890.elb.example"}
	for _, h := range good {
		if v := in.CheckHost(h); v != nil {
			t.Errorf("%s: flagged %v", h, v)
		}
	}
}

// wrap76 wraps s at 76 columns, as base64(1) does.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}
