package dlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// The decoders must never panic, must stay within their budget, and a
// value hidden under one layer of encoding must come out in some layer.
func FuzzLayers(f *testing.F) {
	for _, s := range []string{
		"plain text", "%41%42%zz%", `\u0041\x41\/\u12`, "aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ=",
		"68656c6c6f20776f726c642068657820", "----", strings.Repeat("A", 100), "eyJhIjoxfQ.eyJiIjoyfQ.sig",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ls := Layers(b)
		if len(ls) == 0 || !bytes.Equal(ls[0], b) {
			t.Fatal("first layer must be the input")
		}
		total := 0
		for _, l := range ls[1:] {
			total += len(l)
		}
		if total > max(MaxLayerBytes, 3*len(b)) {
			t.Fatalf("layers hold %d bytes, over the budget", total)
		}
	})
}

func FuzzLayersRoundTrip(f *testing.F) {
	f.Add("Zebra-Quartz-7731-Mango", uint8(0))
	f.Add("some secret value here", uint8(1))
	f.Add("another-one_with_underscores", uint8(2))
	f.Fuzz(func(t *testing.T, secret string, enc uint8) {
		// Only printable secrets of a useful length are guaranteed.
		if len(secret) < 16 || len(secret) > 200 || !printable(secret) {
			return
		}
		var wrapped string
		switch enc % 3 {
		case 0:
			wrapped = base64.StdEncoding.EncodeToString([]byte(secret))
		case 1:
			wrapped = hex.EncodeToString([]byte(secret))
		case 2:
			wrapped = url.PathEscape(secret)
			if wrapped == secret {
				return
			}
		}
		found := false
		for _, l := range Layers([]byte("data: " + wrapped + " end")) {
			if bytes.Contains(l, []byte(secret)) {
				found = true
			}
		}
		if !found {
			t.Fatalf("%q under encoding %d not recovered", secret, enc%3)
		}
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func FuzzBodyParts(f *testing.F) {
	f.Add("application/json", []byte(`{"a":"\u0041","b":[1,"x"]}`))
	f.Add("application/x-www-form-urlencoded", []byte("a=1&b=%41&c"))
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"f\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--XX--\r\n"))
	f.Add("text/plain", []byte("hello"))
	f.Add("multipart/mixed; boundary=\"\"", []byte("--\r\n"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		parts := BodyParts(ct, body)
		if len(parts) == 0 || !bytes.Equal(parts[0], body) {
			t.Fatal("the raw body must always be scanned")
		}
	})
}

func FuzzCheckHostAndURL(f *testing.F) {
	f.Add("api.github.com", "/repos/x?y=1")
	f.Add("6869.evil.example", "/%zz/%41")
	f.Add("xn--bcher-kva.example", "/a;b=c#frag")
	in := New(mustScanner(f), map[string]string{"S": "Zebra-Quartz-7731-Mango"}, nil)
	f.Fuzz(func(t *testing.T, host, rawURL string) {
		_ = in.CheckHost(host)
		if u, err := url.Parse(rawURL); err == nil {
			_ = in.CheckURL(u)
		}
		if strings.Contains(host, "zebra-quartz-7731-mango") {
			if v := in.CheckHost(host); v == nil {
				t.Fatalf("known secret in host %q not flagged", host)
			}
		}
	})
}

// The data validators and the transform decoders take attacker bytes: they
// must never panic, whatever they are given.
func FuzzCheckData(f *testing.F) {
	for _, s := range []string{"4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "+44 20 7946 0958, (555) 123-4567",
		"a@b.test c@d.test", "0x41,0x42,0x43", "de:ad:be:ef:de:ad:be:ef:00", "=41=42=43", "&#x41;&amp;", "%u0041%25%32%35"} {
		f.Add([]byte(s))
	}
	in := New(mustScanner(f), map[string]string{"S": "Zebra-Quartz-7731-Mango"}, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = in.checkData(b, "body")
		_ = in.CheckBody("application/octet-stream", b)
		_, _ = DecodeContent("gzip, br", b, 1<<20)
		_, _ = DecodeContent("deflate", b, 1<<20)
	})
}

// A piece of the secret found must always be inside the secret.
func FuzzFragments(f *testing.F) {
	f.Add([]byte("xx Quartz-7731-Ma yy"))
	f.Add([]byte("ognaM-1377-ztrauQ"))
	in := New(mustScanner(f), map[string]string{"S": "Zebra-Quartz-7731-Mango"}, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		in.frags.find(b, func(p piece) {
			if p.lo < 0 || p.hi > len("Zebra-Quartz-7731-Mango") || p.hi-p.lo < gramLen {
				t.Fatalf("bad piece %+v", p)
			}
		})
	})
}
